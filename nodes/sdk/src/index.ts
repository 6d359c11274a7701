/**
 * @finflow/sdk: the contract for writing FinFlow nodes. One `defineNode` declaration gives the TypeScript
 * types, the runtime validation, the editor's form (from the config's JSON Schema) and the palette entry.
 */
import { z } from 'zod';
import {
  defaultNonRetryable,
  nodeCategories,
  nodeTypePattern,
  portNamePattern,
  portTypes,
  type DynamicPortsSpec,
  type NodeContext,
  type NodeDefinition,
  type NodeMeta,
  type Port,
  type PortMap,
  type PortType,
  type PortValues,
  type RetryPolicy,
  type ValidateHelpers,
  type AnyNodeDefinition,
  type ConnectionUse,
} from '@finflow/runtime';

export { z };
export {
  NodeError,
  NodeWaiting,
  ErrorCodes,
  canConnect,
  coercionPairs,
  portSchemas,
  portTypes,
  portColors,
  catalogEntry,
  buildCatalog,
  createRegistry,
} from '@finflow/runtime';
export type {
  AnyNodeDefinition,
  CatalogEntry,
  NodeContext,
  NodeDefinition,
  NodeMeta,
  NodeCategory,
  Port,
  PortMap,
  PortType,
  PortValue,
  PortValues,
  RetryPolicy,
  Services,
  ValidateHelpers,
  ConnectionUse,
  ConnectionInfo,
  ConnectionEvent,
  ConnectionResolver,
  ConnectionSpecInput,
  DataClass,
} from '@finflow/runtime';

export interface PortOptions {
  title?: string;
  description?: string;
  /** Chinese title and description, shown by the zh-CN editor on the canvas, in the inspector and the run form. */
  zh?: { title: string; description?: string };
}

/** Declares a port. Inputs are required unless `required: false`; outputs are always produced unless `required: false`. */
export function port<T extends PortType>(type: T, options?: PortOptions & { required?: true }): Port<T, true>;
export function port<T extends PortType>(type: T, options: PortOptions & { required: false }): Port<T, false>;
export function port<T extends PortType>(
  type: T,
  options: PortOptions & { required?: boolean } = {},
): Port<T, boolean> {
  if (!portTypes.includes(type)) throw new TypeError(`unknown port type ${String(type)}`);
  const p: Port<T, boolean> = { type, required: options.required ?? true };
  if (options.title) p.title = options.title;
  if (options.description) p.description = options.description;
  if (options.zh) p.zh = options.zh;
  return p;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 1,
  initialDelayMs: 500,
  backoff: 2,
  maxDelayMs: 30_000,
  nonRetryable: [],
};

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface NodeSpec<C extends z.ZodType, I extends PortMap, O extends PortMap> {
  type: string;
  version: number;
  meta: NodeMeta;
  config: C;
  inputs?: I;
  outputs?: O;
  dynamicInputs?: DynamicPortsSpec;
  dynamicOutputs?: DynamicPortsSpec;
  /** Per-attempt time limit (default 30 s). */
  timeoutMs?: number;
  /** Default retry policy; a node in a flow may override any field. */
  retry?: Partial<RetryPolicy>;
  migrations?: Readonly<Record<number, (config: Record<string, unknown>) => Record<string, unknown>>>;
  validate?: (config: z.output<C>, helpers: ValidateHelpers) => void;
  /** The connections a config calls (see `ConnectionUse`), checked against the workspace's at validation. */
  connections?: (config: z.output<C>) => ConnectionUse[];
  /**
   * The node acts outside its run (asks a person, sends a message, writes to another system). In a shadow run
   * (a challenger version answering a copy of a request) it does not act: `shadow` gives its outputs instead, or
   * without one it is skipped with the nodes that need its outputs.
   */
  sideEffects?: boolean;
  /**
   * Returns plain JSON and never changes a value it is given, nor one it returned after returning: its runs can
   * be recorded compactly (each value handed on stored once). Declare it only when both hold.
   */
  pure?: boolean;
  /** Stand-in outputs for a shadow run (pure and synchronous; only with `sideEffects`). */
  shadow?: (
    inputs: PortValues<I> & Readonly<Record<string, unknown>>,
    config: z.output<C>,
  ) => PortValues<O> & Record<string, unknown>;
  run(
    ctx: NodeContext,
    inputs: PortValues<I> & Readonly<Record<string, unknown>>,
    config: z.output<C>,
  ): Promise<PortValues<O> & Record<string, unknown>> | (PortValues<O> & Record<string, unknown>);
}

/** Declares a node type. Checks the declaration itself, so a malformed node fails at import, not in a run. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export function defineNode<C extends z.ZodType, I extends PortMap = {}, O extends PortMap = {}>(
  spec: NodeSpec<C, I, O>,
): NodeDefinition<C, I, O> {
  const where = `defineNode(${spec.type})`;
  if (!nodeTypePattern.test(spec.type))
    throw new TypeError(`${where}: type must look like category.camelName`);
  if (!Number.isInteger(spec.version) || spec.version < 1)
    throw new TypeError(`${where}: version must be a positive integer`);
  if (!nodeCategories.includes(spec.meta.category))
    throw new TypeError(`${where}: unknown category ${spec.meta.category}`);
  if (!(spec.config instanceof z.ZodObject)) throw new TypeError(`${where}: config must be a z.object(...)`);
  for (const [kind, ports] of [
    ['input', spec.inputs],
    ['output', spec.outputs],
  ] as const) {
    for (const name of Object.keys(ports ?? {})) {
      if (!portNamePattern.test(name)) throw new TypeError(`${where}: invalid ${kind} port name ${name}`);
    }
  }
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new TypeError(`${where}: timeoutMs must be a positive integer`);
  const retry: RetryPolicy = { ...defaultRetryPolicy, ...spec.retry };
  const def: NodeDefinition<C, I, O> = {
    type: spec.type,
    version: spec.version,
    meta: spec.meta,
    config: spec.config,
    inputs: (spec.inputs ?? {}) as I,
    outputs: (spec.outputs ?? {}) as O,
    timeoutMs,
    retry,
    run: spec.run,
  };
  if (spec.dynamicInputs) def.dynamicInputs = spec.dynamicInputs;
  if (spec.dynamicOutputs) def.dynamicOutputs = spec.dynamicOutputs;
  if (spec.migrations) def.migrations = spec.migrations;
  if (spec.validate) def.validate = spec.validate;
  if (spec.connections) def.connections = spec.connections;
  if (spec.shadow && !spec.sideEffects)
    throw new TypeError(`${where}: a shadow stand-in is for nodes with sideEffects`);
  if (spec.sideEffects) def.sideEffects = true;
  if (spec.pure) def.pure = true;
  if (spec.shadow) def.shadow = spec.shadow;
  return Object.freeze(def);
}

/**
 * A node's implementation loaded on its first run rather than with its definition. The catalog, validation and
 * the editor need only the definition (type, ports, config schema, texts); engines (risk maths, model clients,
 * OCR) need not sit in a server's memory until a flow uses them. The module is imported once and kept; a failed
 * import is tried again on the next run.
 *
 * ```ts
 * const engine = onFirstRun(() => import('./engine.js'));
 * export const myNode = defineNode({ ..., async run(ctx, inputs, config) { return (await engine()).run(inputs); } });
 * ```
 */
export function onFirstRun<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () =>
    (loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    }));
}

export interface Plugin {
  id: string;
  nodes: readonly AnyNodeDefinition[];
}

/**
 * A package of third-party nodes. The module exports the plugin as `plugin`, has `@finflow/sdk` as a peer
 * dependency, and is loaded by the server and the CLI when named in FINFLOW_PLUGINS (a package name or a path).
 */
export function definePlugin(plugin: Plugin): Plugin {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(plugin.id))
    throw new TypeError(`definePlugin: id must be kebab-case (${plugin.id})`);
  if (!plugin.nodes.length) throw new TypeError(`definePlugin(${plugin.id}): a plugin has at least one node`);
  return Object.freeze({ id: plugin.id, nodes: [...plugin.nodes] });
}

/** Codes the runtime never retries, whatever a policy says. */
export const alwaysNonRetryable = defaultNonRetryable;
