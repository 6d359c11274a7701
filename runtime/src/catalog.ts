/**
 * The node catalog: what the editor and the CLI know of each node type (meta, ports and the config JSON Schema),
 * generated from the definitions. The editor renders forms from it and never sees node code.
 */
import { z } from 'zod';
import type { RetryPolicy } from './document.js';
import type { AnyNodeDefinition, NodeMeta } from './node.js';
import type { NamedPort, PortLayout } from './ports.js';
import type { NodeRegistry } from './registry.js';

export interface CatalogEntry extends PortLayout {
  type: string;
  version: number;
  meta: NodeMeta;
  /** JSON Schema (draft 2020-12) of the config as written in a flow (defaults not yet applied). */
  configSchema: Record<string, unknown>;
  /** The config a new node starts with: the schema's defaults. */
  defaultConfig: Record<string, unknown>;
  timeoutMs: number;
  retry: RetryPolicy;
  /** The node acts outside its run; it does not act in shadow runs (see NodeDefinition.sideEffects). */
  sideEffects?: true;
}

function namedPorts(ports: AnyNodeDefinition['inputs']): NamedPort[] {
  return Object.entries(ports as Record<string, NamedPort>).map(([name, p]) => {
    const port: NamedPort = { name, type: p.type, required: p.required };
    if (p.title) port.title = p.title;
    if (p.description) port.description = p.description;
    if (p.zh) port.zh = p.zh;
    return port;
  });
}

const layouts = new WeakMap<AnyNodeDefinition, PortLayout>();

/** A definition's declared ports as lists (cached per definition). */
export function definitionLayout(def: AnyNodeDefinition): PortLayout {
  let layout = layouts.get(def);
  if (!layout) {
    layout = { inputs: namedPorts(def.inputs), outputs: namedPorts(def.outputs) };
    if (def.dynamicInputs) layout.dynamicInputs = def.dynamicInputs;
    if (def.dynamicOutputs) layout.dynamicOutputs = def.dynamicOutputs;
    layouts.set(def, layout);
  }
  return layout;
}

export function catalogEntry(def: AnyNodeDefinition): CatalogEntry {
  const schema = def.config as z.ZodType;
  const configSchema = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  const defaults = schema.safeParse({});
  const entry: CatalogEntry = {
    type: def.type,
    version: def.version,
    meta: def.meta,
    configSchema,
    defaultConfig:
      defaults.success && defaults.data && typeof defaults.data === 'object'
        ? (defaults.data as Record<string, unknown>)
        : {},
    ...definitionLayout(def),
    timeoutMs: def.timeoutMs,
    retry: def.retry,
  };
  if (def.sideEffects) entry.sideEffects = true;
  return entry;
}

export function buildCatalog(registry: NodeRegistry): CatalogEntry[] {
  return registry.list().map(catalogEntry);
}
