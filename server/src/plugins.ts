/**
 * Node plugins: packages of third-party nodes that export `plugin` from the SDK's `definePlugin({ id, nodes })`.
 * Found in three places, in this order: the modules named in FINFLOW_PLUGINS (package names or paths), the
 * packages in node_modules whose package.json declares `"finflow": { "plugin": "./dist/index.js" }`, and the
 * plugins folder of the data directory (a package folder each, or a single `.mjs` file). Shared by the server
 * and the CLI, and light to import (no HTTP stack).
 *
 * Loading a plugin runs its code in this process: plugins are trusted code that an administrator installs
 * (SECURITY.md). A plugin that fails to load (it throws, exports no plugin, clashes with a node type already
 * registered, or takes too long) is reported as a failure and left out; the others load.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { catalogEntry, type AnyNodeDefinition } from '@finflow/runtime';

export type PluginSourceKind = 'env' | 'package' | 'folder' | 'dev';

/** Where a plugin's nodes came from, as the catalog shows it. */
export interface NodeOrigin {
  package: string;
  version: string;
  plugin?: string;
  source?: PluginSourceKind | 'builtin';
}

export interface LoadedPlugin {
  id: string;
  package: string;
  version: string;
  source: PluginSourceKind;
  /** The folder of the package (for reloading), or the module file. */
  location: string;
  nodes: AnyNodeDefinition[];
  loadedAt: number;
}

export interface PluginFailure {
  /** What was named or found: a package name, a path. */
  spec: string;
  source: PluginSourceKind;
  message: string;
}

export interface PluginLoadResult {
  plugins: LoadedPlugin[];
  failures: PluginFailure[];
}

export const PLUGIN_IMPORT_TIMEOUT_MS = 30_000;

/** The plugin modules named in a comma-separated list (FINFLOW_PLUGINS). */
export function pluginSpecs(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

interface PackageJson {
  name?: unknown;
  version?: unknown;
  finflow?: { plugin?: unknown };
}

function readPackageJson(dir: string): PackageJson | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as PackageJson) : undefined;
  } catch {
    return undefined;
  }
}

/** The nearest folder with a package.json at or above a file. */
function packageDirOf(file: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The module a package folder names as its plugin (`finflow.plugin`), as an absolute path. */
export function pluginEntryOf(dir: string): { entry: string; name: string; version: string } | undefined {
  const pkg = readPackageJson(dir);
  const entry = pkg?.finflow?.plugin;
  if (typeof entry !== 'string' || !entry) return undefined;
  const file = resolve(dir, entry);
  // The entry stays inside its package: a package.json cannot point the server at an arbitrary file.
  if (!file.startsWith(resolve(dir) + '/')) return undefined;
  return {
    entry: file,
    name: typeof pkg?.name === 'string' ? pkg.name : dir,
    version: typeof pkg?.version === 'string' ? pkg.version : '0.0.0',
  };
}

interface Candidate {
  spec: string;
  source: PluginSourceKind;
  /** A module URL or bare specifier to import. */
  target: string;
  package: string | undefined;
  version: string | undefined;
  location: string;
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec);
}

function envCandidate(spec: string, cwd: string): Candidate {
  if (isPathSpec(spec)) {
    const path = resolve(cwd, spec);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // Reported when the import fails.
    }
    if (isDir) {
      const entry = pluginEntryOf(path);
      return {
        spec,
        source: 'env',
        target: pathToFileURL(entry?.entry ?? join(path, 'index.js')).href,
        package: entry?.name,
        version: entry?.version,
        location: path,
      };
    }
    const dir = packageDirOf(path);
    const pkg = dir ? readPackageJson(dir) : undefined;
    return {
      spec,
      source: 'env',
      target: pathToFileURL(path).href,
      package: typeof pkg?.name === 'string' ? pkg.name : undefined,
      version: typeof pkg?.version === 'string' ? pkg.version : undefined,
      location: path,
    };
  }
  // A package name: resolved from the working folder, as `npm install <name>` there would place it.
  let location = spec;
  let name: string | undefined;
  let version: string | undefined;
  let target = spec;
  try {
    const resolved = createRequire(join(cwd, 'package.json')).resolve(spec);
    const dir = packageDirOf(resolved);
    const pkg = dir ? readPackageJson(dir) : undefined;
    if (dir) location = dir;
    name = typeof pkg?.name === 'string' ? pkg.name : undefined;
    version = typeof pkg?.version === 'string' ? pkg.version : undefined;
    const entry = dir ? pluginEntryOf(dir) : undefined;
    target = pathToFileURL(entry?.entry ?? resolved).href;
  } catch {
    // ESM-only packages without a CommonJS entry: import the name and let Node resolve it.
  }
  return { spec, source: 'env', target, package: name ?? spec, version, location };
}

/** Packages in `<cwd>/node_modules` (scoped ones included) whose package.json declares a FinFlow plugin. */
function packageCandidates(cwd: string): Candidate[] {
  const root = join(cwd, 'node_modules');
  const dirs: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  for (const name of entries) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      try {
        for (const sub of readdirSync(join(root, name))) dirs.push(join(root, name, sub));
      } catch {
        // Not a folder.
      }
    } else dirs.push(join(root, name));
  }
  const out: Candidate[] = [];
  for (const dir of dirs) {
    const entry = pluginEntryOf(dir);
    if (!entry) continue;
    out.push({
      spec: entry.name,
      source: 'package',
      target: pathToFileURL(entry.entry).href,
      package: entry.name,
      version: entry.version,
      location: dir,
    });
  }
  return out.sort((a, b) => a.spec.localeCompare(b.spec));
}

/** The plugins folder: a package folder each (with `finflow.plugin`), or a single `.mjs` / `.js` module. */
function folderCandidates(pluginsDir: string): Candidate[] {
  let entries;
  try {
    entries = readdirSync(pluginsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: Candidate[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const path = join(pluginsDir, e.name);
    if (e.isDirectory()) {
      const entry = pluginEntryOf(path);
      if (!entry) {
        out.push({
          spec: path,
          source: 'folder',
          target: '',
          package: undefined,
          version: undefined,
          location: path,
        });
        continue;
      }
      out.push({
        spec: path,
        source: 'folder',
        target: pathToFileURL(entry.entry).href,
        package: entry.name,
        version: entry.version,
        location: path,
      });
    } else if (e.isFile() && /\.m?js$/.test(e.name)) {
      out.push({
        spec: path,
        source: 'folder',
        target: pathToFileURL(path).href,
        package: e.name.replace(/\.m?js$/, ''),
        version: '0.0.0',
        location: path,
      });
    }
  }
  return out;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not load within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Checks what a plugin module exports: a plugin object whose nodes look like definitions and describe themselves. */
export function checkPluginExport(mod: unknown, spec: string): { id: string; nodes: AnyNodeDefinition[] } {
  const m = mod as { plugin?: unknown; default?: unknown } | undefined;
  const plugin = (m?.plugin ?? m?.default) as { id?: unknown; nodes?: unknown } | undefined;
  if (!plugin || typeof plugin !== 'object' || !Array.isArray(plugin.nodes))
    throw new Error(`${spec} exports no \`plugin\` (definePlugin({ id, nodes }))`);
  const id = typeof plugin.id === 'string' && plugin.id ? plugin.id : spec;
  const nodes = plugin.nodes as AnyNodeDefinition[];
  for (const [i, def] of nodes.entries()) {
    if (!def || typeof def !== 'object' || typeof def.type !== 'string' || typeof def.run !== 'function')
      throw new Error(`node ${i} of plugin ${id} is not a node definition (use defineNode)`);
    try {
      catalogEntry(def);
    } catch (err) {
      throw new Error(`node ${def.type} of plugin ${id} cannot describe itself: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return { id, nodes };
}

/** Imports one candidate, with a bound on how long its module may take. */
async function importCandidate(c: Candidate, importer: (target: string) => Promise<unknown>) {
  if (!c.target) throw new Error('the folder has no package.json declaring "finflow": { "plugin": ... }');
  const mod = await withTimeout(importer(c.target), PLUGIN_IMPORT_TIMEOUT_MS, c.spec);
  return checkPluginExport(mod, c.spec);
}

export interface DiscoverOptions {
  /** FINFLOW_PLUGINS entries. */
  specs?: readonly string[];
  cwd?: string;
  /** Scan `<cwd>/node_modules` for packages declaring a plugin (default true). */
  nodeModules?: boolean;
  /** The data directory's plugins folder. */
  pluginsDir?: string | undefined;
  /** Node types that are already taken (the built-ins): a plugin redefining one fails. */
  taken?: Iterable<{ type: string; version: number }>;
  /** How a module is imported (the server passes one that can reload). */
  importer?: (target: string) => Promise<unknown>;
}

const nativeImport = (target: string) => import(target) as Promise<unknown>;

/** Finds and loads every plugin; failures are collected, never thrown. */
export async function discoverPlugins(options: DiscoverOptions = {}): Promise<PluginLoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const candidates = [
    ...(options.specs ?? []).map((s) => envCandidate(s, cwd)),
    ...(options.nodeModules === false ? [] : packageCandidates(cwd)),
    ...(options.pluginsDir ? folderCandidates(options.pluginsDir) : []),
  ];
  const taken = new Set([...(options.taken ?? [])].map((d) => `${d.type}@${d.version}`));
  const seenLocations = new Set<string>();
  const plugins: LoadedPlugin[] = [];
  const failures: PluginFailure[] = [];
  for (const c of candidates) {
    // The same package named in FINFLOW_PLUGINS and found in node_modules loads once.
    if (seenLocations.has(c.location)) continue;
    seenLocations.add(c.location);
    try {
      const { id, nodes } = await importCandidate(c, options.importer ?? nativeImport);
      const clash = nodes.find((n) => taken.has(`${n.type}@${n.version}`));
      if (clash) throw new Error(`node type ${clash.type} version ${clash.version} is already registered`);
      if (plugins.some((p) => p.id === id)) throw new Error(`a plugin with the id ${id} is already loaded`);
      for (const n of nodes) taken.add(`${n.type}@${n.version}`);
      plugins.push({
        id,
        package: c.package ?? id,
        version: c.version ?? '0.0.0',
        source: c.source,
        location: c.location,
        nodes,
        loadedAt: Date.now(),
      });
    } catch (err) {
      failures.push({ spec: c.spec, source: c.source, message: (err as Error).message ?? String(err) });
    }
  }
  return { plugins, failures };
}

/**
 * Loads the plugin modules named in FINFLOW_PLUGINS and returns their nodes; throws on the first that fails
 * (the CLI's `finflow node`, where a named plugin that does not load is a usage error).
 */
export async function loadPlugins(
  specs: readonly string[],
  cwd = process.cwd(),
): Promise<AnyNodeDefinition[]> {
  const { plugins, failures } = await discoverPlugins({ specs, cwd, nodeModules: false });
  if (failures[0]) throw new Error(`plugin ${failures[0].spec}: ${failures[0].message}`);
  return plugins.flatMap((p) => p.nodes);
}

/** The package a module file belongs to (name and version), for the built-in nodes' origin. */
export function packageOf(moduleUrl: string): { name: string; version: string } | undefined {
  const dir = packageDirOf(fileURLToPath(moduleUrl));
  const pkg = dir ? readPackageJson(dir) : undefined;
  if (typeof pkg?.name !== 'string') return undefined;
  return { name: pkg.name, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
}
