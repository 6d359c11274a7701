/**
 * The node contract as the runtime sees it: what a node type declares (config schema, ports, policies) and the
 * context it runs with. The SDK's `defineNode` builds these; the runtime only reads them.
 */
import type { z } from 'zod';
import type { RetryPolicy } from './document.js';
import type { DynamicPortsSpec, NamedPort, PortSpec, PortType, PortValue } from './ports.js';
import type { FlowDocumentInput } from './document.js';
import type { Problem } from './problems.js';
import type { ConnectionResolver, ConnectionUse } from './connections.js';

export const nodeCategories = [
  'io',
  'logic',
  'data',
  'model',
  'risk',
  'compliance',
  'multimodal',
  'human',
  'custom',
] as const;
export type NodeCategory = (typeof nodeCategories)[number];

export interface NodeMeta {
  title: string;
  category: NodeCategory;
  description: string;
  /** Chinese title and description for the zh-CN editor. */
  zh?: { title: string; description?: string };
  /** An icon name from the editor's icon set. */
  icon?: string;
  tags?: string[];
  /** Marks nodes whose results come from heuristics rather than a model (shown in the palette). */
  badge?: string;
}

/** A port declaration with its literal type and requiredness preserved for inference. */
export interface Port<T extends PortType = PortType, R extends boolean = boolean> extends PortSpec {
  type: T;
  required: R;
}

export type PortMap = Record<string, Port>;

type RequiredKeys<P extends PortMap> = {
  [K in keyof P]: P[K]['required'] extends false ? never : K;
}[keyof P];
type OptionalKeys<P extends PortMap> = Exclude<keyof P, RequiredKeys<P>>;

/** Values on a node's ports: required ports always present, optional ports possibly absent. */
export type PortValues<P extends PortMap> = { [K in RequiredKeys<P>]: PortValue<P[K]['type']> } & {
  [K in OptionalKeys<P>]?: PortValue<P[K]['type']>;
};

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface SecretResolver {
  /** The secret's value, or undefined when no credential of that name exists for this run. */
  get(name: string): Promise<string | undefined>;
}

/**
 * Services injected into every node's context. Node packages add their own members by declaration merging:
 * `declare module '@finflow/runtime' { interface Services { chatModels?: ChatModelProvider } }`.
 */
export interface Services {
  clock: Clock;
  secrets?: SecretResolver;
  /** The workspace's connections (outbound providers); a node naming one fails with CONNECTION_NOT_FOUND without. */
  connections?: ConnectionResolver;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface NodeLogger {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** What JSONata expressions in config see: the flow input and the outputs of the node's ancestors. */
export interface ExpressionScope {
  input: unknown;
  nodes: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface SubflowOptions {
  signal?: AbortSignal;
}

/** Lets a node run other nodes or whole flows (used by `logic.map`). */
export interface SubflowEngine {
  runNode(
    spec: { type: string; version?: number | undefined; config: Record<string, unknown> },
    inputs: Record<string, unknown>,
    options?: SubflowOptions,
  ): Promise<Record<string, unknown>>;
  runFlow(
    flow: FlowDocumentInput,
    input: unknown,
    options?: SubflowOptions,
  ): Promise<Record<string, unknown>>;
  /** The ports a node type has with a given config. */
  ports(spec: { type: string; version?: number | undefined; config: Record<string, unknown> }): {
    inputs: NamedPort[];
    outputs: NamedPort[];
  };
}

export interface NodeContext {
  readonly runId: string;
  readonly nodeId: string;
  readonly nodeType: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * The decision this node is resumed with after it waited (threw NodeWaiting); undefined when it runs for the
   * first time. See `Runtime.resume`.
   */
  readonly resumedWith: unknown;
  /** Aborted on timeout, cancellation, run deadline, or the run failing elsewhere. */
  readonly signal: AbortSignal;
  readonly log: NodeLogger;
  /** Partial output (LLM tokens, progress) shown live; strings are concatenated by viewers. */
  stream(chunk: unknown): void;
  /** A credential's value from the credential store; throws SECRET_NOT_FOUND. Values are redacted from logs. */
  secret(name: string): Promise<string>;
  readonly services: Services;
  readonly scope: ExpressionScope;
  /**
   * The scope as an expression can see it: `scope` itself, or, when the expression cannot read `nodes` (decided
   * once from its syntax), the flow input with no ancestors' outputs, which costs no walk of the ancestors.
   */
  scopeFor(expression: string): ExpressionScope;
  /**
   * Evaluates a JSONata expression over `data` (no JavaScript evaluation): the value itself when the inline
   * evaluator answers, else a promise of the isolated pool's answer (`await` covers both). Fails with
   * EXPRESSION_FAILED.
   */
  evaluate(expression: string, data: unknown, bindings?: Record<string, unknown>): unknown;
  readonly engine: SubflowEngine;
}

/** Static checks a node type adds to flow validation beyond its config schema. */
export interface ValidateHelpers {
  /** Reports an INVALID_CONFIG problem at a path inside the node's config. */
  problem(message: string, path?: (string | number)[], code?: 'INVALID_CONFIG' | 'INVALID_EXPRESSION'): void;
  /** Parses a JSONata expression (without the leading `=`) and reports INVALID_EXPRESSION if it does not parse. */
  expression(source: string, path: (string | number)[]): void;
  /** Validates a nested flow document (for sub-flows) and returns its problems. */
  validateFlow(flow: unknown): Problem[];
  /** Validates a node spec (type, version, config) as it would be inside a flow. */
  validateNode(spec: { type: string; version?: number | undefined; config?: unknown }): Problem[];
}

export interface NodeDefinition<
  C extends z.ZodType = z.ZodType,
  I extends PortMap = PortMap,
  O extends PortMap = PortMap,
> {
  type: string;
  version: number;
  meta: NodeMeta;
  config: C;
  inputs: I;
  outputs: O;
  dynamicInputs?: DynamicPortsSpec;
  dynamicOutputs?: DynamicPortsSpec;
  /** Per-attempt time limit unless the flow node overrides it. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Config migrations keyed by the version they migrate from (n -> n + 1). */
  migrations?: Readonly<Record<number, (config: Record<string, unknown>) => Record<string, unknown>>>;
  validate?: (config: z.output<C>, helpers: ValidateHelpers) => void;
  /** The connections a config calls, so validation can check them against the workspace's. */
  connections?: (config: z.output<C>) => ConnectionUse[];
  /**
   * The node acts outside its run (asks a person, sends a message, writes to another system). A shadow run (a
   * challenger answering a copy of a request whose answer is never returned) must not act: such a node is replaced
   * by its `shadow` stand-in, or skipped (reason `side-effect`) with the nodes that need its outputs.
   */
  sideEffects?: boolean;
  /**
   * The node returns plain JSON values and never changes a value it is given (inputs, config, scope) nor, once it
   * has returned, a value it returned. A run whose nodes are all pure is recorded compactly: its events are
   * encoded when their batch is committed, and a value handed from node to node is stored once (see
   * run-record.ts), which is exact only if nothing changed the value in between.
   */
  pure?: boolean;
  /**
   * What a node with side effects gives in a shadow run instead of acting (recorded as a simulated success); pure,
   * synchronous, from its inputs and its static config. Without it the node is skipped in shadow.
   */
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

// Definitions are stored together whatever their generic parameters; `run` is contravariant in them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyNodeDefinition = NodeDefinition<any, any, any>;
