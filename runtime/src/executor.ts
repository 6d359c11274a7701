/**
 * The DAG executor. Scheduling comes from in-degrees: a node becomes ready when every edge into it has been
 * settled (taken with a value, or not taken because its source skipped it), runs at most once, and independent
 * branches run concurrently up to the limit. A node whose required input was not taken is skipped, and so,
 * transitively, is everything that depended only on it. The run is the event log it emits.
 */
import {
  ErrorCodes,
  NodeError,
  NodeWaiting,
  serializeError,
  toNodeError,
  type SerializedError,
} from './errors.js';
import {
  foldRun,
  type NodeRunState,
  type RunEvent,
  type RunEventPayload,
  type RunState,
  type SkipReason,
} from './events.js';
import {
  configReadsNodes,
  evaluateExpressionNow,
  expressionReadsNodes,
  resolveConfigNow,
} from './expressions.js';
import {
  AttemptSignal,
  invokeWithRetries,
  type AbortSource,
  type InvokeResult,
  type InvokeSpec,
} from './invoke.js';
import { validateJsonSchema, type FieldError } from './json-schema.js';
import type { z } from 'zod';
import type { ExpressionScope, LogLevel, NodeContext, NodeLogger, Services, SubflowEngine } from './node.js';
import { coerceValue, resolvePorts } from './ports.js';
import type { Problem } from './problems.js';
import { formatProblem } from './problems.js';
import { resolveNodeVersion, type NodeRegistry } from './registry.js';
import { nullRunStore, RunStoreConflictError, type RunStore } from './store.js';
import {
  ancestorsOf,
  parseConfig,
  prepareFlow,
  validateNodeSpec,
  type PlanEdge,
  type PlanNode,
  type PreparedFlow,
} from './validate.js';
import { findExpressions } from './expressions.js';
import type { RetryPolicy } from './document.js';
import { definitionLayout } from './catalog.js';
import { mergeRetryPolicy } from './validate.js';

export class FlowValidationError extends Error {
  override readonly name = 'FlowValidationError';
  constructor(readonly problems: Problem[]) {
    super(`the flow is not valid: ${problems.map(formatProblem).join('; ')}`);
  }
}

export class FlowInputError extends Error {
  override readonly name = 'FlowInputError';
  constructor(readonly errors: FieldError[]) {
    super(
      `the input does not match the flow's input schema: ${errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ')}`,
    );
  }
}

export interface RuntimeOptions {
  registry: NodeRegistry;
  store?: RunStore;
  /** Nodes of one run executing at once (a flow's `settings.concurrency` overrides it). Default 8. */
  concurrency?: number;
  services?: Partial<Services>;
  /** Run id generator (default: random UUID). */
  newRunId?: () => string;
}

export interface StartOptions {
  signal?: AbortSignal;
  /** Whole-run deadline (a flow's `settings.deadlineMs` applies when this is not given). */
  deadlineMs?: number;
  runId?: string;
  /** Recorded with `run.started` (flow version, endpoint, user). */
  meta?: Record<string, unknown>;
  /** Per-run services (a workspace's secrets, for example), over the runtime's. */
  services?: Partial<Services>;
  store?: RunStore;
  /**
   * A shadow (dry) run: nodes with side effects do not act (their `shadow` stand-in runs, or they are skipped with
   * reason `side-effect`), and a node that would wait for a person is skipped the same way. Recorded on
   * `run.started`.
   */
  shadow?: boolean;
  /**
   * False: the handle keeps no copy of the run's events (its `events()` and `state()` throw); the store has them.
   * A server that records every event and never reads them back from the handle sets it, so a finished run's
   * events and values are not kept alive while its last write becomes durable (issue 18, round 5: under 10 calls
   * in flight, whole runs outlived the young generation that way and were promoted). Default true.
   */
  keepLog?: boolean;
}

export interface NodeSummary {
  status: string;
  ms?: number;
  attempts: number;
  error?: SerializedError;
}

/** A node the run waits on, with what it asked its decider. */
export interface WaitingNode {
  nodeId: string;
  task: Record<string, unknown>;
}

/**
 * How one execution of a run ended. `waiting`: nodes wait for decisions (`waiting` lists them) and the run goes on
 * with `Runtime.resume`; `outputs` then holds the outputs produced so far (by branches that did not wait).
 */
export interface RunResult {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled' | 'waiting';
  outputs: Record<string, unknown>;
  error?: SerializedError & { nodeId?: string };
  ms: number;
  nodes: Record<string, NodeSummary>;
  waiting?: WaitingNode[];
}

export class ResumeError extends Error {
  override readonly name = 'ResumeError';
  constructor(
    message: string,
    /** NOT_WAITING, NOT_A_WAITING_NODE, FLOW_CHANGED, or CONFLICT (another resume was recorded first). */
    readonly code: 'NOT_WAITING' | 'NOT_A_WAITING_NODE' | 'FLOW_CHANGED' | 'CONFLICT',
  ) {
    super(message);
  }
}

export type ResumeOptions = Omit<StartOptions, 'runId' | 'meta'> & {
  /**
   * Takes over a run whose execution stopped mid-flight (its worker process died): the run may be `running`, not
   * only `waiting`. Recorded outcomes are reused as in any resume; nodes that had started but not finished run
   * again. A queue worker uses this once the previous worker's lease on the run expired.
   */
  takeover?: boolean;
};

export interface RunHandle {
  readonly runId: string;
  /** Every event of the run, from the first, live until the run finishes. */
  events(): AsyncIterable<RunEvent>;
  readonly result: Promise<RunResult>;
  cancel(reason?: string): void;
  /** The fold of the events so far. */
  state(): RunState;
}

export interface SingleNodeResult {
  /** `waiting`: the node asked for a decision (`task`); run it again with `resumedWith` to finish it. */
  status: 'succeeded' | 'failed' | 'waiting';
  outputs?: Record<string, unknown>;
  task?: Record<string, unknown>;
  error?: SerializedError;
  ms: number;
  attempts: number;
  logs: { level: LogLevel; message: string; data?: Record<string, unknown> }[];
  streamed: unknown[];
}

export interface Runtime {
  readonly registry: NodeRegistry;
  prepare(flow: unknown): PreparedFlow;
  validate(flow: unknown): Problem[];
  /** Checks an input against the flow's input schema; an empty list means it fits. */
  checkInput(flow: PreparedFlow, input: unknown): FieldError[];
  /** Starts a run. Throws FlowValidationError or FlowInputError before anything is recorded. */
  start(flow: unknown, input: unknown, options?: StartOptions): RunHandle;
  run(flow: unknown, input: unknown, options?: StartOptions): Promise<RunResult>;
  /**
   * Goes on with a waiting run (n8n-style partial execution): `events` is the run's log so far (at least its
   * `run.started` and every node's last state), `decisions` the values for waiting nodes by node id. Nodes that
   * succeeded, failed or were skipped keep their recorded outputs and never run again; each decided node runs
   * again with its decision as `ctx.resumedWith`; nodes still without a decision keep waiting. The log goes on
   * under the same run id from the next seq, starting with `run.resumed`. Throws ResumeError before anything
   * runs when the run is not waiting, a decision names a node that does not wait, the flow is not the one the
   * run was started with, or the store refuses `run.resumed` (CONFLICT: another resume was recorded first).
   */
  resume(
    flow: unknown,
    events: Iterable<RunEvent>,
    decisions: Readonly<Record<string, unknown>>,
    options?: ResumeOptions,
  ): RunHandle;
  /** Runs one node alone, config and inputs validated as in a flow. */
  runNode(
    spec: SingleNodeSpec,
    inputs: Record<string, unknown>,
    options?: { signal?: AbortSignal; services?: Partial<Services>; resumedWith?: unknown; shadow?: boolean },
  ): Promise<SingleNodeResult>;
}

/** A node to run alone: its type, version (newest when omitted), config and reliability overrides. */
export interface SingleNodeSpec {
  type: string;
  version?: number | undefined;
  config?: unknown;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

const systemClock = { now: () => Date.now() };

function isPrepared(flow: unknown): flow is PreparedFlow {
  return (
    !!flow &&
    typeof flow === 'object' &&
    'nodes' in flow &&
    'byId' in flow &&
    (flow as PreparedFlow).byId instanceof Map
  );
}

/** Values fetched through ctx.secret are replaced by this in logs. */
const REDACTED = '[secret]';

function redact(value: string, secrets: Set<string>): string {
  let out = value;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

function redactData(
  data: Record<string, unknown> | undefined,
  secrets: Set<string>,
): Record<string, unknown> | undefined {
  if (!data || secrets.size === 0) return data;
  return JSON.parse(redact(JSON.stringify(data), secrets)) as Record<string, unknown>;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const { registry } = options;
  const defaultStore = options.store ?? nullRunStore;
  const baseServices: Services = { clock: systemClock, ...options.services };
  const newRunId = options.newRunId ?? (() => crypto.randomUUID());
  const preparedCache = new WeakMap<object, PreparedFlow>();

  function prepare(flow: unknown): PreparedFlow {
    if (isPrepared(flow)) return flow;
    if (flow && typeof flow === 'object') {
      const hit = preparedCache.get(flow);
      if (hit) return hit;
    }
    const r = prepareFlow(flow, registry);
    if (!r.ok) throw new FlowValidationError(r.problems);
    if (flow && typeof flow === 'object') preparedCache.set(flow, r.prepared);
    return r.prepared;
  }

  function checkInput(prepared: PreparedFlow, input: unknown): FieldError[] {
    if (!prepared.inputSchema) {
      return input !== null && typeof input === 'object' && !Array.isArray(input)
        ? []
        : [{ path: '', message: 'the flow input must be a JSON object' }];
    }
    return validateJsonSchema(prepared.inputSchema, input);
  }

  function subflowEngine(parentServices: Services, parentSignal: AbortSignal, shadow = false): SubflowEngine {
    const signalOf = (s?: AbortSignal) => (s ? AbortSignal.any([s, parentSignal]) : parentSignal);
    return {
      async runFlow(flow, input, opts) {
        const prepared = prepare(flow);
        const errors = checkInput(prepared, input);
        if (errors.length) throw new NodeError(new FlowInputError(errors).message, ErrorCodes.INVALID_INPUT);
        const result = await start(prepared, input, {
          signal: signalOf(opts?.signal),
          services: parentServices,
          store: nullRunStore,
          ...(shadow ? { shadow } : {}),
        }).result;
        if (result.status === 'waiting') {
          // A sub-flow has no record of its own to resume from, so it cannot wait.
          throw new NodeError(
            `sub-flow ${prepared.flow.id} waits for a decision (${(result.waiting ?? []).map((w) => w.nodeId).join(', ')}); a sub-flow cannot wait`,
            'SUBFLOW_WAITING',
          );
        }
        if (result.status !== 'succeeded') {
          const e = result.error;
          throw new NodeError(
            `sub-flow ${prepared.flow.id} ${result.status}${e ? `: ${e.message}` : ''}`,
            e?.code ?? 'SUBFLOW_FAILED',
            {
              details: e?.nodeId ? { nodeId: e.nodeId } : {},
            },
          );
        }
        return result.outputs;
      },
      ports(spec) {
        const resolved = resolveNodeVersion(registry, spec.type, spec.version, spec.config);
        if ('error' in resolved) throw new NodeError(resolved.error, 'UNKNOWN_NODE_TYPE');
        const parsed = (
          resolved.def.config as { safeParse(v: unknown): { success: boolean; data?: unknown } }
        ).safeParse(resolved.config);
        return resolvePorts(definitionLayout(resolved.def), parsed.success ? parsed.data : resolved.config);
      },
      async runNode(spec, inputs, opts) {
        const r = await runNodeImpl(spec, inputs, {
          signal: signalOf(opts?.signal),
          services: parentServices,
          ...(shadow ? { shadow } : {}),
        });
        if (r.status === 'failed')
          throw new NodeError(r.error?.message ?? 'node failed', r.error?.code ?? ErrorCodes.INTERNAL);
        if (r.status === 'waiting')
          throw new NodeError(
            `${spec.type} waits for a decision, which it cannot do here`,
            'WAIT_NOT_SUPPORTED',
          );
        return r.outputs ?? {};
      },
    };
  }

  async function runNodeImpl(
    spec: SingleNodeSpec,
    inputs: Record<string, unknown>,
    opts: {
      signal?: AbortSignal;
      services?: Partial<Services>;
      resumedWith?: unknown;
      shadow?: boolean;
    } = {},
  ): Promise<SingleNodeResult> {
    const t0 = performance.now();
    const logs: SingleNodeResult['logs'] = [];
    const streamed: unknown[] = [];
    const fail = (error: NodeError, attempts = 0): SingleNodeResult => ({
      status: 'failed',
      error: serializeError(error),
      ms: performance.now() - t0,
      attempts,
      logs,
      streamed,
    });
    const problems = validateNodeSpec(registry, {
      type: spec.type,
      ...(spec.version === undefined ? {} : { version: spec.version }),
      config: spec.config ?? {},
    });
    if (problems.some((p) => p.code === 'UNKNOWN_NODE_TYPE')) {
      return fail(new NodeError(problems.map((p) => p.message).join('; '), 'UNKNOWN_NODE_TYPE'));
    }
    const resolved = resolveNodeVersion(
      registry,
      spec.type,
      spec.version,
      (spec.config ?? {}) as Record<string, unknown>,
    );
    if ('error' in resolved) return fail(new NodeError(resolved.error, 'UNKNOWN_NODE_TYPE'));
    const { def, config: rawConfig } = resolved;
    const parsed = parseConfig(def, rawConfig, findExpressions(rawConfig));
    if (problems.length || !parsed.ok) {
      return fail(
        new NodeError(
          `invalid config: ${problems.map(formatProblem).join('; ')}`,
          ErrorCodes.INVALID_CONFIG,
          { details: { problems } },
        ),
      );
    }
    const ports = resolvePorts(definitionLayout(def), parsed.value);
    const inputValues: Record<string, unknown> = {};
    for (const port of ports.inputs) {
      const v = inputs[port.name];
      if (v === undefined) {
        if (port.required)
          return fail(new NodeError(`input "${port.name}" is required`, ErrorCodes.INVALID_INPUT));
        continue;
      }
      const c = coerceValue(v, 'checked', port.type);
      if (!c.ok) return fail(new NodeError(`input "${port.name}" is ${c.message}`, ErrorCodes.INVALID_INPUT));
      inputValues[port.name] = c.value;
    }
    for (const key of Object.keys(inputs)) {
      if (!ports.inputs.some((p) => p.name === key))
        return fail(new NodeError(`${def.type} has no input "${key}"`, ErrorCodes.INVALID_INPUT));
    }
    if (opts.shadow && def.sideEffects) {
      // A node run inside a shadow run does not act either.
      if (!def.shadow)
        return fail(
          new NodeError(`${def.type} has side effects and does not run in shadow`, 'SHADOW_SKIPPED'),
        );
      return {
        status: 'succeeded',
        outputs: def.shadow(inputValues, parsed.value),
        ms: performance.now() - t0,
        attempts: 0,
        logs,
        streamed,
      };
    }
    const services: Services = { ...baseServices, ...opts.services };
    const parent = opts.signal ?? new AbortController().signal;
    const host: ContextHost = {
      runId: `node-${newRunId()}`,
      services,
      secrets: new Set<string>(),
      logEvent(_nodeId, level, message, data) {
        const d = redactData(data, host.secrets);
        const m = redact(message, host.secrets);
        logs.push(d ? { level, message: m, data: d } : { level, message: m });
      },
      streamEvent: (_nodeId, chunk) => streamed.push(chunk),
      scopeOf: () => ({ input: {}, nodes: {} }),
      inputScope: () => ({ input: {}, nodes: {} }),
      engineFor: (signal) => subflowEngine(services, signal),
      resumeValueOf: () => opts.resumedWith,
    };
    const { outcome, attempts } = await invokeWithRetries({
      def,
      outputs: ports.outputs,
      timeoutMs: spec.timeoutMs ?? def.timeoutMs,
      retry: mergeRetryPolicy(def.retry, spec.retry),
      parent,
      inputs: inputValues,
      config: () => parsed.value,
      makeContext: (attempt) => new NodeAttemptContext(host, def.type, def.type, attempt),
    });
    if (!outcome.ok && outcome.error instanceof NodeWaiting) {
      return {
        status: 'waiting',
        task: outcome.error.task,
        ms: performance.now() - t0,
        attempts,
        logs,
        streamed,
      };
    }
    if (!outcome.ok) return fail(outcome.error, attempts);
    return {
      status: 'succeeded',
      outputs: outcome.outputs,
      ms: performance.now() - t0,
      attempts,
      logs,
      streamed,
    };
  }

  function start(flow: unknown, input: unknown, opts: StartOptions = {}): RunHandle {
    const prepared = prepare(flow);
    const errors = checkInput(prepared, input);
    if (errors.length) throw new FlowInputError(errors);
    const services: Services = opts.services ? { ...baseServices, ...opts.services } : baseServices;
    const execution = new RunExecution(prepared, input, {
      runId: opts.runId ?? newRunId(),
      store: opts.store ?? defaultStore,
      concurrency: prepared.flow.settings?.concurrency ?? options.concurrency ?? 8,
      deadlineMs: opts.deadlineMs ?? prepared.flow.settings?.deadlineMs,
      services,
      meta: opts.meta,
      signal: opts.signal,
      subflowEngine,
      shadow: opts.shadow === true,
      keepLog: opts.keepLog !== false,
    });
    execution.begin();
    return execution.handle();
  }

  function resume(
    flow: unknown,
    events: Iterable<RunEvent>,
    decisions: Readonly<Record<string, unknown>>,
    opts: ResumeOptions = {},
  ): RunHandle {
    const prepared = prepare(flow);
    const log = [...events].sort((a, b) => a.seq - b.seq);
    const state = foldRun(log);
    if (state.status !== 'waiting' && !(opts.takeover && state.status === 'running'))
      throw new ResumeError(
        `run ${state.runId || '(unknown)'} is ${state.status}, not waiting`,
        'NOT_WAITING',
      );
    const same =
      state.flowId === prepared.flow.id &&
      state.order.length === prepared.nodes.length &&
      prepared.nodes.every((n, i) => state.order[i] === n.id && state.nodes[n.id]?.type === n.type);
    if (!same) throw new ResumeError(`run ${state.runId} was not started with this flow`, 'FLOW_CHANGED');
    const decided = new Map<string, unknown>();
    for (const [nodeId, value] of Object.entries(decisions)) {
      if (value === undefined) continue;
      if (state.nodes[nodeId]?.status !== 'waiting')
        throw new ResumeError(`node ${nodeId} of run ${state.runId} does not wait`, 'NOT_A_WAITING_NODE');
      decided.set(nodeId, value);
    }
    const services: Services = opts.services ? { ...baseServices, ...opts.services } : baseServices;
    const execution = new RunExecution(prepared, state.input, {
      runId: state.runId,
      store: opts.store ?? defaultStore,
      concurrency: prepared.flow.settings?.concurrency ?? options.concurrency ?? 8,
      deadlineMs: opts.deadlineMs ?? prepared.flow.settings?.deadlineMs,
      services,
      meta: undefined,
      signal: opts.signal,
      subflowEngine,
      shadow: state.shadow === true,
      keepLog: opts.keepLog !== false,
      resume: { log, state, decisions: decided },
    });
    execution.begin();
    return execution.handle();
  }

  return {
    registry,
    prepare,
    validate: (flow) => {
      try {
        prepare(flow);
        return [];
      } catch (err) {
        if (err instanceof FlowValidationError) return err.problems;
        throw err;
      }
    },
    checkInput,
    start,
    run: (flow, input, opts) => start(flow, input, opts).result,
    resume,
    runNode: runNodeImpl,
  };
}

/** What a node context needs from whoever runs the node (a run, or a single-node invocation). */
interface ContextHost {
  readonly runId: string;
  readonly services: Services;
  /** Values fetched through ctx.secret, redacted from logs. */
  readonly secrets: Set<string>;
  logEvent(nodeId: string, level: LogLevel, message: string, data?: Record<string, unknown>): void;
  streamEvent(nodeId: string, chunk: unknown): void;
  scopeOf(nodeId: string): ExpressionScope;
  /** The flow input with no ancestors' outputs: the scope of an expression that cannot read `nodes`. */
  inputScope(): ExpressionScope;
  engineFor(signal: AbortSignal): SubflowEngine;
  /** The decision a waiting node is resumed with (undefined on a first run). */
  resumeValueOf(nodeId: string): unknown;
}

/**
 * The context of one attempt, which is also that attempt's abort state (AttemptSignal): a trivial node costs one
 * small object.
 */
class NodeAttemptContext extends AttemptSignal implements NodeContext {
  private scopeValue: ExpressionScope | undefined;
  private logger: NodeLogger | undefined;

  constructor(
    private readonly host: ContextHost,
    readonly nodeId: string,
    readonly nodeType: string,
    readonly attempt: number,
  ) {
    super();
  }

  get runId(): string {
    return this.host.runId;
  }
  get services(): Services {
    return this.host.services;
  }
  get scope(): ExpressionScope {
    return (this.scopeValue ??= this.host.scopeOf(this.nodeId));
  }
  scopeFor(expression: string): ExpressionScope {
    return this.scopeValue ?? (expressionReadsNodes(expression) ? this.scope : this.host.inputScope());
  }
  get engine(): SubflowEngine {
    return this.host.engineFor(this.signal);
  }
  get resumedWith(): unknown {
    return this.host.resumeValueOf(this.nodeId);
  }
  get log(): NodeLogger {
    const log = (level: LogLevel) => (message: string, data?: Record<string, unknown>) =>
      this.host.logEvent(this.nodeId, level, message, data);
    return (this.logger ??= {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    });
  }
  stream(chunk: unknown): void {
    this.host.streamEvent(this.nodeId, chunk);
  }
  async secret(name: string): Promise<string> {
    const value = await this.host.services.secrets?.get(name);
    if (value === undefined) {
      throw new NodeError(
        `no credential named "${name}" is available to this flow`,
        ErrorCodes.SECRET_NOT_FOUND,
      );
    }
    this.host.secrets.add(value);
    return value;
  }
  evaluate(expression: string, data: unknown, bindings?: Record<string, unknown>): unknown {
    // The attempt's signal (made only if the pool is needed): an attempt that times out frees its pool process.
    return evaluateExpressionNow(expression, data, bindings, this);
  }
  /** EvaluateOptions: the attempt's signal, made only when an expression goes to the pool. */
  poolSignal(): AbortSignal {
    return this.signal;
  }
}

interface ExecutionOptions {
  runId: string;
  store: RunStore;
  concurrency: number;
  deadlineMs: number | undefined;
  services: Services;
  meta: Record<string, unknown> | undefined;
  signal: AbortSignal | undefined;
  subflowEngine(services: Services, signal: AbortSignal, shadow: boolean): SubflowEngine;
  /** A shadow run: nodes with side effects do not act. */
  shadow: boolean;
  /** Whether the handle keeps the events (see StartOptions.keepLog). */
  keepLog: boolean;
  /** Set when this execution resumes a waiting run: its log so far, its fold, and decisions by node id. */
  resume?: { log: RunEvent[]; state: RunState; decisions: ReadonlyMap<string, unknown> };
}

type Stop = { status: 'failed' | 'cancelled'; error: SerializedError & { nodeId?: string } };

/**
 * An array of n empty slots in V8's fast (packed) representation. `new Array(n)` makes a holey array, and a
 * dictionary (a hash table) from about 100,000 slots, which made very large runs slower per node.
 */
function slots<T>(n: number): (T | undefined)[] {
  if (n < 50_000) return new Array<T | undefined>(n).fill(undefined);
  const a: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}

/**
 * Milliseconds since `t0` in whole microseconds (finer is below the clock's use and noise): a duration the run
 * record then writes as a small integer instead of printing a double with 17 digits (run-record.ts).
 */
function elapsedMs(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1000;
}

/**
 * The `nodes` of a scope whose expressions cannot read them (see expressionReadsNodes): one frozen object for all
 * runs, so no run's expression could leave anything in it for another's.
 */
const NO_NODES: ExpressionScope['nodes'] = Object.freeze({});

/** Longest stretch of synchronous node work before the run yields to the event loop. */
const SLICE_MS = 8;

/**
 * A run's cancellation as its attempts see it: an AbortSignal's interface without the cost of an AbortController
 * per run and of EventTarget listeners per asynchronous attempt. (A node gets a real AbortSignal of its own.)
 */
class RunAbort implements AbortSource {
  aborted = false;
  reason: unknown;
  private listeners: Set<() => void> | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted) (this.listeners ??= new Set()).add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners?.delete(listener);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) {
      try {
        listener();
      } catch (err) {
        // As EventTarget does: a failing listener is reported, and the others still run.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** One node's invocation within a run: what the retry loop needs, as methods rather than per-node closures. */
class NodeInvocation implements InvokeSpec {
  constructor(
    private readonly run: RunExecution,
    private readonly node: PlanNode,
    readonly inputs: Record<string, unknown>,
  ) {}

  get def() {
    return this.node.def;
  }
  get outputs() {
    return this.node.outputs;
  }
  get timeoutMs() {
    return this.node.timeoutMs;
  }
  get retry() {
    return this.node.retry;
  }
  get parent(): AbortSource {
    return this.run.abortSource;
  }
  config(): unknown {
    return this.node.dynamic ? this.run.resolveDynamicConfig(this.node) : this.node.config;
  }
  makeContext(attempt: number): NodeAttemptContext {
    return new NodeAttemptContext(this.run, this.node.id, this.node.type, attempt);
  }
  onRetry(attempt: number, error: NodeError, delayMs: number): void {
    this.run.retrying(this.node, attempt, error, delayMs);
  }
}

class RunExecution implements ContextHost {
  readonly runId: string;
  readonly services: Services;
  readonly secrets = new Set<string>();
  readonly result: Promise<RunResult>;
  private readonly nodes: PlanNode[];
  private readonly log: RunEvent[] = [];
  private seq = 0;
  private waiters: (() => void)[] = [];
  private readonly controller = new RunAbort();
  private readonly remaining: Int32Array;
  private readonly takenCount: Int32Array;
  private readonly inputs: (Record<string, unknown> | undefined)[];
  private readonly inputErrors: (string | undefined)[];
  private readonly blocked: (SkipReason | undefined)[];
  private readonly lastUntaken: (SkipReason | undefined)[];
  private readonly done: Uint8Array;
  private readonly summaries: (NodeSummary | undefined)[];
  /** Outputs of finished nodes by node index (the expression scope and the results read them). */
  private readonly outputs: (Record<string, unknown> | undefined)[];
  private readonly ready: number[] = [];
  private readonly skipStack: number[] = [];
  private readyHead = 0;
  /** Ready-queue positions below this have been started or announced as queued. */
  private queuedUpTo = 0;
  private running = 0;
  private settled = 0;
  private pumping = false;
  private yieldScheduled = false;
  private stop: Stop | undefined;
  private finished = false;
  private readonly t0 = performance.now();
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private storeError: unknown;
  private pendingWrites: Promise<void>[] = [];
  private lastWrite: Promise<void> | undefined;
  private resolveResult!: (r: RunResult) => void;
  /** Nodes waiting for a decision, and what each asked (by node index). */
  private waitingCount = 0;
  private readonly tasks: (Record<string, unknown> | undefined)[];
  /** While recorded outcomes are replayed (resume): skips already in the log are not recorded again. */
  private replaying: RunState | undefined;
  /** A resume's `run.resumed` write that must be stored before any node runs. */
  private resumeGate: Promise<void> | undefined;
  /** See inputScope. */
  private bareScope: ExpressionScope | undefined;

  constructor(
    private readonly prepared: PreparedFlow,
    private readonly input: unknown,
    private readonly opts: ExecutionOptions,
  ) {
    const n = prepared.nodes.length;
    this.runId = opts.runId;
    this.services = opts.services;
    this.nodes = prepared.nodes;
    this.remaining = new Int32Array(n);
    this.takenCount = new Int32Array(n);
    this.inputs = slots(n);
    this.inputErrors = slots(n);
    this.blocked = slots(n);
    this.lastUntaken = slots(n);
    this.done = new Uint8Array(n);
    this.summaries = slots(n);
    this.outputs = slots(n);
    this.tasks = slots(n);
    for (const node of this.nodes) this.remaining[node.index] = node.inEdges.length;
    if (opts.resume && opts.keepLog) {
      // The handle's log and state cover the whole run, not only this execution.
      this.log.push(...opts.resume.log);
      this.seq = opts.resume.state.lastSeq + 1;
    }
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
  }

  handle(): RunHandle {
    return {
      runId: this.runId,
      result: this.result,
      cancel: (reason) =>
        this.abort({
          status: 'cancelled',
          error: { message: reason ? `cancelled: ${reason}` : 'cancelled', code: ErrorCodes.CANCELLED },
        }),
      state: () => foldRun(this.keptLog(), this.runId),
      events: () => {
        this.keptLog();
        return this.iterate();
      },
    };
  }

  private keptLog(): RunEvent[] {
    if (!this.opts.keepLog)
      throw new Error(`run ${this.runId} keeps no event log (keepLog: false): read its store`);
    return this.log;
  }

  private async *iterate(): AsyncGenerator<RunEvent> {
    let i = 0;
    for (;;) {
      while (i < this.log.length) yield this.log[i++] as RunEvent;
      if (this.finished) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Records an event built by the caller (runId, seq and at come from `meta()`). */
  private push(event: RunEvent): void {
    if (this.opts.keepLog) this.log.push(event);
    if (this.storeError === undefined) {
      try {
        const w = this.opts.store.append(event);
        // A store that groups writes hands out one promise per group: wait for each once.
        if (w && w !== this.lastWrite) {
          this.lastWrite = w;
          this.pendingWrites.push(w.catch((err: unknown) => this.onStoreError(err)));
        }
      } catch (err) {
        this.onStoreError(err);
      }
    }
    if (this.waiters.length) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }

  /** Completes an event built by the caller (a fresh object literal, so it is completed in place, not copied). */
  private emit(payload: RunEventPayload): void {
    const event = payload as RunEvent;
    event.runId = this.runId;
    event.seq = this.seq++;
    event.at = Date.now();
    this.push(event);
  }

  private onStoreError(err: unknown): void {
    if (this.storeError !== undefined) return;
    this.storeError = err ?? new Error('store failed');
    this.abort({
      status: 'failed',
      error: {
        message: `the run could not be recorded: ${toNodeError(err).message}`,
        code: err instanceof RunStoreConflictError ? 'RESUME_CONFLICT' : 'STORE_FAILED',
      },
    });
  }

  // ContextHost: what the nodes' contexts call back into.
  logEvent(nodeId: string, level: LogLevel, message: string, data?: Record<string, unknown>): void {
    if (this.finished) return;
    const d = redactData(data, this.secrets);
    const m = redact(message, this.secrets);
    this.emit(
      d
        ? { type: 'node.logged', nodeId, level, message: m, data: d }
        : { type: 'node.logged', nodeId, level, message: m },
    );
  }

  streamEvent(nodeId: string, chunk: unknown): void {
    if (!this.finished) this.emit({ type: 'node.streamed', nodeId, chunk });
  }

  scopeOf(nodeId: string): ExpressionScope {
    const node = this.prepared.byId.get(nodeId);
    const nodes: Record<string, Record<string, unknown>> = {};
    if (node) {
      for (const id of ancestorsOf(this.prepared, node)) {
        const out = this.outputs[(this.prepared.byId.get(id) as PlanNode).index];
        if (out) nodes[id] = out;
      }
    }
    return { input: this.input, nodes };
  }

  inputScope(): ExpressionScope {
    return (this.bareScope ??= { input: this.input, nodes: NO_NODES });
  }

  engineFor(signal: AbortSignal): SubflowEngine {
    return this.opts.subflowEngine(this.services, signal, this.opts.shadow);
  }

  resumeValueOf(nodeId: string): unknown {
    return this.opts.resume?.decisions.get(nodeId);
  }

  begin(): void {
    const { signal, deadlineMs, resume } = this.opts;
    if (resume) this.recordResumed(resume.decisions);
    else {
      this.emit({
        type: 'run.started',
        flowId: this.prepared.flow.id,
        flowName: this.prepared.flow.name,
        input: this.input,
        nodes: this.nodes.map((n) => ({ id: n.id, type: n.type })),
        ...(this.opts.meta ? { meta: this.opts.meta } : {}),
        ...(this.opts.shadow ? { shadow: true as const } : {}),
      });
    }
    for (const node of this.nodes) if (node.inEdges.length === 0) this.ready.push(node.index);
    // Before a cancellation can be seen: what already happened must not be recorded as skipped.
    if (resume) this.replay(resume.state);
    if (signal) {
      if (signal.aborted) this.abortFromSignal(signal);
      else signal.addEventListener('abort', () => this.abortFromSignal(signal), { once: true });
    }
    if (deadlineMs !== undefined) {
      this.deadlineTimer = setTimeout(
        () =>
          this.abort({
            status: 'failed',
            error: { message: `the run passed its ${deadlineMs} ms deadline`, code: ErrorCodes.RUN_DEADLINE },
          }),
        deadlineMs,
      );
    }
    if (this.resumeGate) void this.resumeGate.then(() => this.pump());
    else this.pump();
  }

  /**
   * Records `run.resumed` first and alone: a store that already holds an event at its seq (another resume of this
   * run won) refuses it, and then nothing runs. A synchronous refusal throws ResumeError from `Runtime.resume`;
   * an asynchronous store is waited for before the first node starts.
   */
  private recordResumed(decisions: ReadonlyMap<string, unknown>): void {
    const event: RunEvent = {
      type: 'run.resumed',
      runId: this.runId,
      seq: this.seq++,
      at: Date.now(),
      decisions: Object.fromEntries(decisions),
    };
    let write: void | Promise<void>;
    try {
      write = this.opts.store.append(event);
    } catch (err) {
      if (err instanceof RunStoreConflictError)
        throw new ResumeError(`run ${this.runId} was already resumed`, 'CONFLICT');
      throw err;
    }
    if (this.opts.keepLog) this.log.push(event);
    if (write) {
      this.lastWrite = write;
      const stored = write.catch((err: unknown) => this.onStoreError(err));
      this.pendingWrites.push(stored);
      this.resumeGate = stored;
    }
  }

  /**
   * Replays a waiting run's recorded outcomes through the scheduler without running anything: settled nodes give
   * their recorded outputs to their successors (so branch choices and skips come out as they did), decided
   * waiting nodes and nodes that never ran are left ready to run, and undecided ones wait again.
   */
  private replay(state: RunState): void {
    this.replaying = state;
    const fresh: number[] = [];
    while (this.readyHead < this.ready.length) {
      const index = this.ready[this.readyHead++] as number;
      const node = this.nodes[index] as PlanNode;
      const rec = state.nodes[node.id];
      if (rec?.status === 'succeeded' || (rec?.status === 'failed' && rec.handled)) {
        const outputs = rec.outputs ?? {};
        this.restoreSettled(node, rec, outputs);
        this.propagate(node, outputs, rec.status === 'succeeded' ? 'branch-not-taken' : 'upstream-failed');
      } else if (rec?.status === 'waiting' && !this.opts.resume?.decisions.has(node.id)) {
        this.markWaiting(node, rec.task ?? {}, rec.attempts, false);
      } else fresh.push(index);
    }
    this.ready.length = 0;
    this.ready.push(...fresh);
    this.readyHead = 0;
    this.queuedUpTo = 0;
    this.replaying = undefined;
  }

  private restoreSettled(node: PlanNode, rec: NodeRunState, outputs: Record<string, unknown>): void {
    this.done[node.index] = 1;
    this.settled++;
    this.outputs[node.index] = outputs;
    const summary: NodeSummary = { status: rec.status, attempts: rec.attempts };
    if (rec.ms !== undefined) summary.ms = rec.ms;
    if (rec.error) summary.error = rec.error;
    this.summaries[node.index] = summary;
  }

  private markWaiting(
    node: PlanNode,
    task: Record<string, unknown>,
    attempts: number,
    record: boolean,
  ): void {
    this.waitingCount++;
    this.tasks[node.index] = task;
    this.summaries[node.index] = { status: 'waiting', attempts };
    if (record) this.emit({ type: 'node.waiting', nodeId: node.id, task });
  }

  private abortFromSignal(signal: AbortSignal): void {
    const reason: unknown = signal.reason;
    const message =
      reason instanceof Error && reason.message && reason.name !== 'AbortError'
        ? `cancelled: ${reason.message}`
        : 'cancelled';
    this.abort({ status: 'cancelled', error: { message, code: ErrorCodes.CANCELLED } });
  }

  private abort(stop: Stop): void {
    if (this.stop || this.finished) return;
    this.stop = stop;
    const code = stop.error.code === ErrorCodes.RUN_DEADLINE ? ErrorCodes.RUN_DEADLINE : ErrorCodes.CANCELLED;
    this.controller.abort(new NodeError(stop.error.message, code));
    if (!this.pumping) this.maybeFinish();
  }

  /**
   * Starts ready nodes while there is room. Synchronous nodes complete inside `execute`, which adds their
   * successors to the queue; this loop picks them up (no recursion, so a 10,000-node chain is a loop). After
   * SLICE_MS of continuous work the run yields to the event loop and resumes on the next turn.
   */
  private pump(): void {
    if (this.pumping || this.finished) return;
    this.pumping = true;
    const sliceStart = performance.now();
    let started = 0;
    while (!this.stop && this.running < this.opts.concurrency && this.readyHead < this.ready.length) {
      if (++started % 64 === 0 && performance.now() - sliceStart > SLICE_MS) {
        if (!this.yieldScheduled) {
          this.yieldScheduled = true;
          setImmediate(() => {
            this.yieldScheduled = false;
            this.pump();
          });
        }
        break;
      }
      const index = this.ready[this.readyHead++] as number;
      this.execute(this.nodes[index] as PlanNode);
    }
    // Ready nodes left waiting for a slot are announced once, so viewers can show them as queued.
    if (!this.yieldScheduled && !this.stop) {
      for (let i = Math.max(this.readyHead, this.queuedUpTo); i < this.ready.length; i++) {
        this.emit({ type: 'node.queued', nodeId: (this.nodes[this.ready[i] as number] as PlanNode).id });
      }
      this.queuedUpTo = this.ready.length;
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.queuedUpTo = Math.max(0, this.queuedUpTo - this.readyHead);
      this.readyHead = 0;
    }
    this.pumping = false;
    this.maybeFinish();
  }

  /** Settles the edges out of a finished node; nodes whose inputs are all settled become ready or are skipped. */
  private propagate(
    from: PlanNode,
    outputs: Record<string, unknown> | undefined,
    untakenReason: SkipReason,
  ): void {
    this.settleEdges(from, outputs, untakenReason);
    // Skipped nodes settle their own edges as not taken; a stack of indices (reused) instead of recursion.
    const stack = this.skipStack;
    while (stack.length) {
      const index = stack.pop() as number;
      const skip = this.blocked[index] ?? (this.lastUntaken[index] as SkipReason);
      this.settleEdges(
        this.nodes[index] as PlanNode,
        undefined,
        skip === 'upstream-failed' || skip === 'side-effect' ? skip : 'branch-not-taken',
      );
    }
  }

  private settleEdges(
    from: PlanNode,
    outputs: Record<string, unknown> | undefined,
    untakenReason: SkipReason,
  ): void {
    for (const edge of from.outEdges) {
      const value = outputs?.[edge.fromPort];
      const to = edge.to;
      if (value !== undefined) this.take(edge, value);
      else {
        this.lastUntaken[to] = untakenReason;
        if (edge.toRequired && this.blocked[to] === undefined) this.blocked[to] = untakenReason;
      }
      if (--(this.remaining[to] as number) === 0) {
        const skip = this.blocked[to] ?? (this.takenCount[to] === 0 ? this.lastUntaken[to] : undefined);
        if (skip !== undefined) {
          this.markSkipped(this.nodes[to] as PlanNode, skip);
          this.skipStack.push(to);
        } else this.ready.push(to);
      }
    }
  }

  private take(edge: PlanEdge, value: unknown): void {
    const to = edge.to;
    const c = coerceValue(value, edge.coercion, edge.toType);
    let inputs = this.inputs[to];
    if (!inputs) this.inputs[to] = inputs = {};
    if (c.ok) inputs[edge.toPort] = c.value;
    else
      this.inputErrors[to] ??=
        `input "${edge.toPort}" (from ${(this.nodes[edge.from] as PlanNode).id}.${edge.fromPort}) is ${c.message}`;
    this.takenCount[to] = (this.takenCount[to] as number) + 1;
  }

  private markSkipped(node: PlanNode, reason: SkipReason): void {
    this.done[node.index] = 1;
    this.settled++;
    this.summaries[node.index] = { status: 'skipped', attempts: 0 };
    if (this.replaying?.nodes[node.id]?.status === 'skipped') return;
    this.push({
      type: 'node.skipped',
      runId: this.runId,
      seq: this.seq++,
      at: Date.now(),
      nodeId: node.id,
      reason,
    });
  }

  private execute(node: PlanNode): void {
    if (this.opts.shadow && node.def.sideEffects) {
      this.standIn(node);
      return;
    }
    this.running++;
    const t0 = performance.now();
    const inputs = this.inputs[node.index] ?? {};
    this.push({
      type: 'node.started',
      runId: this.runId,
      seq: this.seq++,
      at: Date.now(),
      nodeId: node.id,
      inputs,
    });
    const inputError = this.inputErrors[node.index];
    if (inputError !== undefined) {
      this.complete(
        node,
        { outcome: { ok: false, error: new NodeError(inputError, ErrorCodes.INVALID_INPUT) }, attempts: 1 },
        t0,
      );
      return;
    }
    const result = invokeWithRetries(new NodeInvocation(this, node, inputs));
    if (result instanceof Promise) {
      void result.then((r) => {
        this.complete(node, r, t0);
        this.pump();
      });
    } else this.complete(node, result, t0);
  }

  /**
   * A node with side effects in a shadow run: its declared stand-in gives its outputs (recorded as simulated), or
   * it is skipped and so is what needs its outputs. It never acts.
   */
  private standIn(node: PlanNode): void {
    const shadow = node.def.shadow;
    const inputs = this.inputs[node.index] ?? {};
    if (!shadow || this.inputErrors[node.index] !== undefined || node.dynamic) {
      this.skipForShadow(node);
      return;
    }
    let outputs: Record<string, unknown>;
    try {
      outputs = shadow(inputs, node.config);
    } catch {
      // A stand-in that cannot answer is a node that did not act: skipped like one without a stand-in.
      this.skipForShadow(node);
      return;
    }
    this.emit({ type: 'node.started', nodeId: node.id, inputs });
    this.done[node.index] = 1;
    this.settled++;
    this.outputs[node.index] = outputs;
    this.summaries[node.index] = { status: 'succeeded', attempts: 0, ms: 0 };
    this.emit({
      type: 'node.succeeded',
      nodeId: node.id,
      outputs,
      attempts: 0,
      ms: 0,
      simulated: true,
    });
    this.propagate(node, outputs, 'branch-not-taken');
  }

  private skipForShadow(node: PlanNode): void {
    this.markSkipped(node, 'side-effect');
    this.propagate(node, undefined, 'side-effect');
  }

  private complete(node: PlanNode, result: InvokeResult, t0: number): void {
    this.running--;
    this.finishNode(node, result, elapsedMs(t0));
  }

  get abortSource(): AbortSource {
    return this.controller;
  }

  retrying(node: PlanNode, attempt: number, error: NodeError, delayMs: number): void {
    this.emit({ type: 'node.retrying', nodeId: node.id, attempt, error: serializeError(error), delayMs });
  }

  /** The node's config with its expressions evaluated: synchronously when the inline evaluator answered them all. */
  resolveDynamicConfig(node: PlanNode): unknown {
    node.configReadsNodes ??= configReadsNodes(node.rawConfig);
    const scope = node.configReadsNodes ? this.scopeOf(node.id) : this.inputScope();
    const resolved = resolveConfigNow(node.rawConfig, scope, undefined, {
      // Made only when an expression goes to the pool: the run stopping frees its pool process.
      poolSignal: () => {
        const c = new AbortController();
        if (this.controller.aborted) c.abort(this.controller.reason);
        else this.controller.addEventListener('abort', () => c.abort(this.controller.reason));
        return c.signal;
      },
    });
    return resolved instanceof Promise
      ? resolved.then((config) => this.parseResolvedConfig(node, config))
      : this.parseResolvedConfig(node, resolved);
  }

  private parseResolvedConfig(node: PlanNode, resolved: unknown): unknown {
    const r = (node.def.config as z.ZodType).safeParse(resolved);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
      throw new NodeError(
        `config${where} after evaluating expressions: ${issue?.message ?? 'invalid'}`,
        ErrorCodes.INVALID_CONFIG,
      );
    }
    return r.data;
  }

  private finishNode(node: PlanNode, { outcome, attempts }: InvokeResult, ms: number): void {
    if (!outcome.ok && outcome.error instanceof NodeWaiting && !this.stop) {
      // A shadow run never asks a person: the node is skipped as one with side effects.
      if (this.opts.shadow) {
        this.skipForShadow(node);
        return;
      }
      // Not settled: its successors stay pending, and other branches go on as far as they can.
      this.markWaiting(node, outcome.error.task, attempts, true);
      return;
    }
    this.done[node.index] = 1;
    this.settled++;
    if (outcome.ok) {
      this.outputs[node.index] = outcome.outputs;
      this.summaries[node.index] = { status: 'succeeded', attempts, ms };
      this.push({
        type: 'node.succeeded',
        runId: this.runId,
        seq: this.seq++,
        at: Date.now(),
        nodeId: node.id,
        outputs: outcome.outputs,
        attempts,
        ms,
      });
      if (!this.stop) this.propagate(node, outcome.outputs, 'branch-not-taken');
      return;
    }
    const error = serializeError(outcome.error);
    this.summaries[node.index] = { status: 'failed', attempts, ms, error };
    const handling = node.onError;
    if (this.stop || handling.action === 'fail' || outcome.error.code === ErrorCodes.CANCELLED) {
      this.emit({ type: 'node.failed', nodeId: node.id, error, attempts, ms });
      this.abort({ status: 'failed', error: { ...error, nodeId: node.id } });
      return;
    }
    const outputs: Record<string, unknown> =
      handling.action === 'route'
        ? { error: { message: error.message, code: error.code, nodeId: node.id, attempts } }
        : { ...(handling.fallback ?? {}) };
    this.outputs[node.index] = outputs;
    this.emit({
      type: 'node.failed',
      nodeId: node.id,
      error,
      attempts,
      ms,
      handled: handling.action,
      outputs,
    });
    this.propagate(node, outputs, 'upstream-failed');
  }

  private maybeFinish(): void {
    if (this.finished || this.pumping) return;
    if (this.stop) {
      if (this.running > 0) return;
      const reason: SkipReason = this.stop.status === 'cancelled' ? 'run-cancelled' : 'run-failed';
      for (const node of this.nodes) if (!this.done[node.index]) this.markSkipped(node, reason);
      this.finish(this.stop.status, this.stop.error);
      return;
    }
    if (this.settled === this.nodes.length) this.finish('succeeded');
    // Nothing runs and nothing is ready: what is left hangs on waiting nodes.
    else if (
      this.waitingCount > 0 &&
      this.running === 0 &&
      this.readyHead >= this.ready.length &&
      !this.yieldScheduled
    )
      this.suspend();
  }

  private nodeSummaries(): Record<string, NodeSummary> {
    const nodes: Record<string, NodeSummary> = {};
    for (const node of this.nodes)
      nodes[node.id] = this.summaries[node.index] ?? { status: 'pending', attempts: 0 };
    return nodes;
  }

  /** Ends this execution with nodes waiting; the run goes on with `Runtime.resume`. */
  private suspend(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const waiting: WaitingNode[] = [];
    for (const node of this.nodes) {
      const task = this.tasks[node.index];
      if (task && !this.done[node.index]) waiting.push({ nodeId: node.id, task });
    }
    const ms = elapsedMs(this.t0);
    const outputs = this.flowOutputs();
    this.emit({ type: 'run.suspended', waiting: waiting.map((w) => w.nodeId), outputs, ms });
    this.finished = true;
    this.settle({
      runId: this.runId,
      status: 'waiting',
      outputs,
      ms,
      nodes: this.nodeSummaries(),
      waiting,
    });
  }

  private recorded(result: RunResult): RunResult {
    // A run that already failed keeps its own error (a store failure or a losing resume names itself).
    if (this.storeError === undefined || result.status === 'failed') return result;
    const { waiting: _waiting, ...rest } = result;
    return {
      ...rest,
      status: 'failed',
      outputs: {},
      error: {
        message: `the run could not be recorded: ${toNodeError(this.storeError).message}`,
        code: 'STORE_FAILED',
      },
    };
  }

  /** The flow outputs whose output nodes have run. */
  private flowOutputs(): Record<string, unknown> {
    const outputs: Record<string, unknown> = {};
    for (const { node, name } of this.prepared.outputNodes) {
      const value = this.inputs[node.index]?.['value'];
      if (this.outputs[node.index] && value !== undefined) outputs[name] = value;
    }
    return outputs;
  }

  private finish(
    status: 'succeeded' | 'failed' | 'cancelled',
    error?: SerializedError & { nodeId?: string },
  ): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const outputs: Record<string, unknown> = status === 'succeeded' ? this.flowOutputs() : {};
    // A resumed run's time counts from its start, waiting included (as its record's start and finish times do).
    const resumed = this.opts.resume?.state;
    const ms = resumed ? Math.max(0, Date.now() - resumed.startedAt) : elapsedMs(this.t0);
    this.emit(
      error
        ? { type: 'run.finished', status, outputs, error, ms }
        : { type: 'run.finished', status, outputs, ms },
    );
    this.finished = true;
    const nodes = this.nodeSummaries();
    this.settle(
      error
        ? { runId: this.runId, status, outputs, error, ms, nodes }
        : { runId: this.runId, status, outputs, ms, nodes },
    );
  }

  private settle(result: RunResult): void {
    const writes = this.pendingWrites;
    this.pendingWrites = [];
    // Nothing reads the nodes' inputs and outputs after this (the result holds what the caller gets): they are let go
    // now rather than when the last write is durable, which under load is later than a young generation lives.
    this.inputs.fill(undefined);
    this.outputs.fill(undefined);
    // A run whose last events could not be recorded did not happen as far as anyone relying on the record knows:
    // it ends failed (STORE_FAILED) with no outputs, whatever it computed, so no caller acts on an unrecorded result.
    if (writes.length) void Promise.all(writes).then(() => this.resolveResult(this.recorded(result)));
    else this.resolveResult(this.recorded(result));
    for (const w of this.waiters) w();
    this.waiters = [];
  }
}
