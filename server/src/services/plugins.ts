/**
 * The node types the server offers: the built-ins, the plugins found at start (plugins.ts), and, on a developer's
 * server, plugins reloaded while it runs (`finflow dev`). It owns the live registry that the runtime reads, the
 * origin (package and version) of every node type for the catalog, and the list of plugins that failed to load.
 *
 * What a reload means: the plugin's new node definitions replace its old ones for everything that starts
 * afterwards (validation, the catalog, new runs and endpoint calls, whose cached plans are dropped). Runs already
 * in flight keep the definitions they were planned with and finish on the old code. A node type the new version
 * no longer has makes the flows that use it invalid until they change, and the reload answer lists it.
 */
import { createRequire, register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRegistry, type AnyNodeDefinition, type NodeRegistry } from '@finflow/runtime';
import { HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  checkPluginExport,
  discoverPlugins,
  packageOf,
  pluginEntryOf,
  type LoadedPlugin,
  type NodeOrigin,
  type PluginFailure,
} from '../plugins.js';

/** A registry whose definitions can be replaced as a whole; the runtime holds it and reads through it. */
export class LiveRegistry implements NodeRegistry {
  private current: NodeRegistry;

  constructor(definitions: readonly AnyNodeDefinition[]) {
    this.current = createRegistry(definitions);
  }

  get(type: string, version?: number) {
    return this.current.get(type, version);
  }
  list() {
    return this.current.list();
  }
  versions(type: string) {
    return this.current.versions(type);
  }
  /** Builds the new registry first: a clash leaves the current one in place. */
  replace(definitions: readonly AnyNodeDefinition[]): void {
    this.current = createRegistry(definitions);
  }
}

export interface PluginView {
  id: string;
  package: string;
  version: string;
  source: LoadedPlugin['source'];
  nodes: { type: string; version: number }[];
  loadedAt: number;
}

export interface ReloadResult {
  plugin: PluginView;
  added: string[];
  removed: string[];
  replaced: string[];
}

export interface PluginServiceOptions {
  builtins: readonly AnyNodeDefinition[];
  /** Node types from the embedding program or tests (no package). */
  extra?: readonly AnyNodeDefinition[];
  specs: readonly string[];
  cwd?: string;
  nodeModules: boolean;
  pluginsDir: string | undefined;
  devReload: boolean;
  logger: Logger;
}

/** The package of the built-in nodes, for their origin in the catalog. */
function builtinPackageOf(): { name: string; version: string } {
  try {
    const entry = createRequire(import.meta.url).resolve('@finflow/nodes');
    return packageOf(pathToFileURL(entry).href) ?? { name: '@finflow/nodes', version: '0.0.0' };
  } catch {
    return { name: '@finflow/nodes', version: '0.0.0' };
  }
}
const builtinPackage = builtinPackageOf();

let hooksRegistered = false;

export class PluginService {
  readonly registry: LiveRegistry;
  private plugins: LoadedPlugin[];
  readonly failures: PluginFailure[];
  private readonly listeners = new Set<() => void>();
  private reloads = 0;

  private constructor(
    private readonly options: PluginServiceOptions,
    loaded: { plugins: LoadedPlugin[]; failures: PluginFailure[] },
  ) {
    this.plugins = loaded.plugins;
    this.failures = loaded.failures;
    this.registry = new LiveRegistry(this.definitions());
  }

  /** Loads every plugin it finds; a plugin that fails is logged and listed, and the server starts without it. */
  static async start(options: PluginServiceOptions): Promise<PluginService> {
    if (options.devReload && !hooksRegistered) {
      register(new URL('../../src/plugin-reload-hooks.mjs', import.meta.url));
      hooksRegistered = true;
    }
    const loaded = await discoverPlugins({
      specs: options.specs,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      nodeModules: options.nodeModules,
      pluginsDir: options.pluginsDir,
      taken: [...options.builtins, ...(options.extra ?? [])],
    });
    for (const f of loaded.failures)
      options.logger.error(
        { plugin: f.spec, source: f.source, err: f.message },
        'a node plugin failed to load and is left out',
      );
    for (const p of loaded.plugins)
      options.logger.info(
        { plugin: p.id, package: p.package, version: p.version, nodes: p.nodes.length },
        'node plugin loaded',
      );
    return new PluginService(options, loaded);
  }

  private definitions(): AnyNodeDefinition[] {
    return [...this.options.builtins, ...(this.options.extra ?? []), ...this.plugins.flatMap((p) => p.nodes)];
  }

  /** Called after the registry changed (the catalog and cached plans must be rebuilt). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The package a node type comes from. */
  origin(type: string, version: number): NodeOrigin | undefined {
    for (const p of this.plugins) {
      if (p.nodes.some((n) => n.type === type && n.version === version))
        return { package: p.package, version: p.version, plugin: p.id, source: p.source };
    }
    if (this.options.builtins.some((n) => n.type === type && n.version === version))
      return { package: builtinPackage.name, version: builtinPackage.version, source: 'builtin' };
    return undefined;
  }

  list(): PluginView[] {
    return this.plugins.map(view);
  }

  get devReload(): boolean {
    return this.options.devReload;
  }

  /**
   * Loads the package in `dir` again (or for the first time) and puts its nodes in place of its previous
   * version's. Only on a server started with FINFLOW_DEV_RELOAD. The package must declare its plugin module in
   * package.json; a package that fails to load leaves the previous version in place.
   */
  async reload(dir: string): Promise<ReloadResult> {
    if (!this.options.devReload)
      throw new HttpError(
        403,
        'DEV_RELOAD_DISABLED',
        'this server does not reload plugins; start it with FINFLOW_DEV_RELOAD=true (development only)',
      );
    if (!isAbsolute(dir))
      throw new HttpError(400, 'INVALID_REQUEST', 'the package folder must be an absolute path');
    const root = resolve(dir);
    const entry = pluginEntryOf(root);
    if (!entry)
      throw new HttpError(
        422,
        'NOT_A_PLUGIN',
        `${root} has no package.json declaring "finflow": { "plugin": "<module inside the package>" }`,
      );
    const n = ++this.reloads;
    const tag = `finflow-dev=${n}:${Buffer.from(root).toString('base64url')}`;
    let loaded: { id: string; nodes: AnyNodeDefinition[] };
    try {
      loaded = checkPluginExport(await import(`${pathToFileURL(entry.entry).href}?${tag}`), entry.name);
    } catch (err) {
      throw new HttpError(422, 'PLUGIN_LOAD_FAILED', `${entry.name} did not load: ${(err as Error).message}`);
    }
    const previous = this.plugins.find((p) => p.location === root || p.id === loaded.id);
    const others = this.plugins.filter((p) => p !== previous);
    const taken = new Set(
      [...this.options.builtins, ...(this.options.extra ?? []), ...others.flatMap((p) => p.nodes)].map(
        (d) => `${d.type}@${d.version}`,
      ),
    );
    const clash = loaded.nodes.find((d) => taken.has(`${d.type}@${d.version}`));
    if (clash)
      throw new HttpError(
        409,
        'NODE_TYPE_TAKEN',
        `node type ${clash.type} version ${clash.version} is already registered by another package`,
      );
    const plugin: LoadedPlugin = {
      id: loaded.id,
      package: entry.name,
      version: entry.version,
      source: previous?.source ?? 'dev',
      location: root,
      nodes: loaded.nodes,
      loadedAt: Date.now(),
    };
    const before = new Set((previous?.nodes ?? []).map((d) => `${d.type}@${d.version}`));
    const after = new Set(plugin.nodes.map((d) => `${d.type}@${d.version}`));
    const next = [...others, plugin];
    try {
      this.registry.replace([
        ...this.options.builtins,
        ...(this.options.extra ?? []),
        ...next.flatMap((p) => p.nodes),
      ]);
    } catch (err) {
      throw new HttpError(409, 'NODE_TYPE_TAKEN', (err as Error).message);
    }
    this.plugins = next;
    for (let i = this.failures.length - 1; i >= 0; i--)
      if (resolve(this.failures[i]?.spec ?? '') === root || this.failures[i]?.spec === entry.name)
        this.failures.splice(i, 1);
    this.options.logger.info(
      { plugin: plugin.id, package: plugin.package, version: plugin.version, reload: n },
      'node plugin reloaded',
    );
    for (const listener of this.listeners) listener();
    return {
      plugin: view(plugin),
      added: [...after].filter((k) => !before.has(k)),
      removed: [...before].filter((k) => !after.has(k)),
      replaced: [...after].filter((k) => before.has(k)),
    };
  }
}

function view(p: LoadedPlugin): PluginView {
  return {
    id: p.id,
    package: p.package,
    version: p.version,
    source: p.source,
    nodes: p.nodes.map((d) => ({ type: d.type, version: d.version })),
    loadedAt: p.loadedAt,
  };
}
