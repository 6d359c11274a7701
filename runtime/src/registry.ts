/** The node registry: node types by `type` and integer `version`, built from one array of definitions. */
import type { AnyNodeDefinition } from './node.js';

export interface NodeRegistry {
  /** The definition for an exact version, or the newest one when `version` is omitted. */
  get(type: string, version?: number): AnyNodeDefinition | undefined;
  /** The newest version of each node type. */
  list(): AnyNodeDefinition[];
  /** Every registered version of a type, oldest first. */
  versions(type: string): number[];
}

export function createRegistry(definitions: readonly AnyNodeDefinition[]): NodeRegistry {
  const byType = new Map<string, Map<number, AnyNodeDefinition>>();
  for (const def of definitions) {
    let versions = byType.get(def.type);
    if (!versions) byType.set(def.type, (versions = new Map()));
    if (versions.has(def.version)) {
      throw new Error(`node type ${def.type} version ${def.version} is registered twice`);
    }
    versions.set(def.version, def);
  }
  const newest = new Map<string, AnyNodeDefinition>();
  for (const [type, versions] of byType) {
    const max = Math.max(...versions.keys());
    newest.set(type, versions.get(max) as AnyNodeDefinition);
  }
  return {
    get(type, version) {
      return version === undefined ? newest.get(type) : byType.get(type)?.get(version);
    },
    list() {
      return [...newest.values()].sort((a, b) => a.type.localeCompare(b.type));
    },
    versions(type) {
      return [...(byType.get(type)?.keys() ?? [])].sort((a, b) => a - b);
    },
  };
}

/** Resolves a node spec to a definition, migrating its config from an older version where migrations exist. */
export function resolveNodeVersion(
  registry: NodeRegistry,
  type: string,
  version: number | undefined,
  config: Record<string, unknown>,
): { def: AnyNodeDefinition; config: Record<string, unknown> } | { error: string } {
  const exact = registry.get(type, version);
  if (exact) return { def: exact, config };
  const newest = registry.get(type);
  if (!newest) return { error: `unknown node type ${type}` };
  if (version === undefined || version > newest.version) {
    return { error: `${type} version ${version} is newer than this FinFlow knows (${newest.version})` };
  }
  let cfg = config;
  for (let v = version; v < newest.version; v++) {
    const step = newest.migrations?.[v];
    if (!step) return { error: `${type} has no config migration from version ${v} to ${v + 1}` };
    cfg = step(cfg);
  }
  return { def: newest, config: cfg };
}

/**
 * A flow document with its nodes at the newest version of their type, their configs migrated: what a save stores
 * and the editor shows, so a node written before a version change is edited in today's form. Nodes of unknown
 * types or without a migration path stay as they are (validation reports them).
 */
export function upgradeNodes<D>(doc: D, registry: NodeRegistry): D {
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { nodes?: unknown }).nodes)) return doc;
  let changed = false;
  const nodes = ((doc as unknown as { nodes: unknown[] }).nodes as unknown[]).map((raw) => {
    if (!raw || typeof raw !== 'object') return raw;
    const node = raw as { type?: unknown; version?: unknown; config?: unknown };
    if (typeof node.type !== 'string' || typeof node.version !== 'number') return raw;
    const newest = registry.get(node.type);
    if (!newest || node.version >= newest.version) return raw;
    const config =
      node.config && typeof node.config === 'object' ? (node.config as Record<string, unknown>) : {};
    const r = resolveNodeVersion(registry, node.type, node.version, config);
    if ('error' in r) return raw;
    changed = true;
    return { ...node, version: r.def.version, config: r.config };
  });
  return changed ? { ...doc, nodes } : doc;
}
