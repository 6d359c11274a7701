/**
 * Node plugins: modules named in FINFLOW_PLUGINS (package names or paths) that export `plugin` from the SDK's
 * `definePlugin({ id, nodes })`. Shared by the server and the CLI, and light to import (no HTTP stack).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyNodeDefinition } from '@finflow/runtime';

/** The plugin modules named in a comma-separated list (FINFLOW_PLUGINS). */
export function pluginSpecs(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Loads plugin modules: each exports `plugin` (from `definePlugin`) with its nodes. */
export async function loadPlugins(
  specs: readonly string[],
  cwd = process.cwd(),
): Promise<AnyNodeDefinition[]> {
  const nodes: AnyNodeDefinition[] = [];
  for (const spec of specs) {
    const target = spec.startsWith('.') || isAbsolute(spec) ? pathToFileURL(resolve(cwd, spec)).href : spec;
    const mod = (await import(target)) as {
      plugin?: { id: string; nodes: AnyNodeDefinition[] };
      default?: unknown;
    };
    const plugin = mod.plugin ?? (mod.default as { id: string; nodes: AnyNodeDefinition[] } | undefined);
    if (!plugin || !Array.isArray(plugin.nodes)) {
      throw new Error(`plugin ${spec} exports no \`plugin\` (definePlugin({ id, nodes }))`);
    }
    nodes.push(...plugin.nodes);
  }
  return nodes;
}
