/**
 * The DAG executor. Scheduling comes from in-degrees: a node becomes ready when every edge into it has been
 * settled (taken with a value, or not taken because its source skipped it), runs at most once, and independent
 * branches run concurrently up to the limit. A node whose required input was not taken is skipped, and so,
 * transitively, is everything that depended only on it. The run is the event log it emits.
 */
import { ErrorCodes, NodeError, serializeError, toNodeError, type SerializedError } from './errors.js';
import { foldRun, type RunEvent, type RunEventPayload, type RunState, type SkipReason } from './events.js';
import { evaluateExpression, resolveConfig } from './expressions.js';
import { invokeWithRetries, type AttemptOutcome } from './invoke.js';
import { validateJsonSchema, type FieldError } from './json-schema.js';
import type {
  AnyNodeDefinition,
  ExpressionScope,
  LogLevel,
  NodeContext,
  Services,
  SubflowEngine,
} from './node.js';
import { coerceValue, resolvePorts } from './ports.js';
import type { Problem } from './problems.js';
import { formatProblem } from './problems.js';
import { resolveNodeVersion, type NodeRegistry } from './registry.js';
import { nullRunStore, type RunStore } from './store.js';
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
}

export interface NodeSummary {
  status: string;
  ms?: number;
  attempts: number;
  error?: SerializedError;
}

export interface RunResult {
  runId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  outputs: Record<string, unknown>;
  error?: SerializedError & { nodeId?: string };
  ms: number;
  nodes: Record<string, NodeSummary>;
}

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
  status: 'succeeded' | 'failed';
  outputs?: Record<string, unknown>;
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
  /** Runs one node alone, config and inputs validated as in a flow. */
  runNode(
    spec: {
      type: string;
      version?: number | undefined;
      config?: unknown;
      timeoutMs?: number;
      retry?: Partial<RetryPolicy>;
    },
    inputs: Record<string, unknown>,
    options?: { signal?: AbortSignal; services?: Partial<Services> },
  ): Promise<SingleNodeResult>;
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

  function subflowEngine(parentServices: Services, parentSignal: AbortSignal): SubflowEngine {
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
        }).result;
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
        });
        if (r.status === 'failed')
          throw new NodeError(r.error?.message ?? 'node failed', r.error?.code ?? ErrorCodes.INTERNAL);
        return r.outputs ?? {};
      },
    };
  }

  async function runNodeImpl(
    spec: {
      type: string;
      version?: number | undefined;
      config?: unknown;
      timeoutMs?: number;
      retry?: Partial<RetryPolicy>;
    },
    inputs: Record<string, unknown>,
    opts: { signal?: AbortSignal; services?: Partial<Services> } = {},
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
    const services: Services = { ...baseServices, ...opts.services };
    const parent = opts.signal ?? new AbortController().signal;
    const secrets = new Set<string>();
    const runId = `node-${newRunId()}`;
    const { outcome, attempts } = await invokeWithRetries({
      def,
      outputs: ports.outputs,
      timeoutMs: spec.timeoutMs ?? def.timeoutMs,
      retry: mergeRetryPolicy(def.retry, spec.retry),
      parent,
      inputs: inputValues,
      config: () => parsed.value,
      makeContext: (signal, attempt) =>
        makeContext({
          runId,
          nodeId: def.type,
          nodeType: def.type,
          attempt,
          signal,
          services,
          secrets,
          scope: { input: {}, nodes: {} },
          engine: subflowEngine(services, signal),
          log: (level, message, data) => {
            const d = redactData(data, secrets);
            logs.push(
              d
                ? { level, message: redact(message, secrets), data: d }
                : { level, message: redact(message, secrets) },
            );
          },
          stream: (chunk) => streamed.push(chunk),
        }),
    });
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
    runNode: runNodeImpl,
  };
}

interface ContextParts {
  runId: string;
  nodeId: string;
  nodeType: string;
  attempt: number;
  signal: AbortSignal;
  services: Services;
  secrets: Set<string>;
  scope: ExpressionScope | (() => ExpressionScope);
  engine: SubflowEngine;
  log(level: LogLevel, message: string, data?: Record<string, unknown>): void;
  stream(chunk: unknown): void;
}

function makeContext(p: ContextParts): NodeContext {
  let scope: ExpressionScope | undefined = typeof p.scope === 'function' ? undefined : p.scope;
  const scopeOf = p.scope;
  return {
    runId: p.runId,
    nodeId: p.nodeId,
    nodeType: p.nodeType,
    attempt: p.attempt,
    signal: p.signal,
    services: p.services,
    engine: p.engine,
    log: {
      debug: (m, d) => p.log('debug', m, d),
      info: (m, d) => p.log('info', m, d),
      warn: (m, d) => p.log('warn', m, d),
      error: (m, d) => p.log('error', m, d),
    },
    stream: p.stream,
    async secret(name) {
      const value = await p.services.secrets?.get(name);
      if (value === undefined) {
        throw new NodeError(
          `no credential named "${name}" is available to this flow`,
          ErrorCodes.SECRET_NOT_FOUND,
        );
      }
      p.secrets.add(value);
      return value;
    },
    get scope() {
      scope ??= (scopeOf as () => ExpressionScope)();
      return scope;
    },
    evaluate: (expression, data, bindings) => evaluateExpression(expression, data, bindings),
  };
}

interface ExecutionOptions {
  runId: string;
  store: RunStore;
  concurrency: number;
  deadlineMs: number | undefined;
  services: Services;
  meta: Record<string, unknown> | undefined;
  signal: AbortSignal | undefined;
  subflowEngine(services: Services, signal: AbortSignal): SubflowEngine;
}

type Stop = { status: 'failed' | 'cancelled'; error: SerializedError & { nodeId?: string } };

class RunExecution {
  private readonly nodes: PlanNode[];
  private readonly log: RunEvent[] = [];
  private seq = 0;
  private waiters: (() => void)[] = [];
  private readonly controller = new AbortController();
  private readonly remaining: Int32Array;
  private readonly takenCount: Int32Array;
  private readonly inputs: (Record<string, unknown> | undefined)[];
  private readonly inputErrors: (string | undefined)[];
  private readonly blocked: (SkipReason | undefined)[];
  private readonly lastUntaken: (SkipReason | undefined)[];
  private readonly done: Uint8Array;
  /** Outputs of finished nodes by id (the expression scope and the run's results read them). */
  private readonly outputs: Record<string, Record<string, unknown>> = {};
  private readonly ready: number[] = [];
  private readyHead = 0;
  /** Ready-queue positions below this have been started or announced as queued. */
  private queuedUpTo = 0;
  private running = 0;
  private settled = 0;
  private stop: Stop | undefined;
  private finished = false;
  private readonly t0 = performance.now();
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly secrets = new Set<string>();
  private storeError: unknown;
  private pendingWrites: Promise<void>[] = [];
  private resolveResult!: (r: RunResult) => void;
  readonly result: Promise<RunResult>;

  constructor(
    private readonly prepared: PreparedFlow,
    private readonly input: unknown,
    private readonly opts: ExecutionOptions,
  ) {
    const n = prepared.nodes.length;
    this.nodes = prepared.nodes;
    this.remaining = new Int32Array(n);
    this.takenCount = new Int32Array(n);
    this.inputs = new Array(n);
    this.inputErrors = new Array(n);
    this.blocked = new Array(n);
    this.lastUntaken = new Array(n);
    this.done = new Uint8Array(n);
    for (const node of this.nodes) this.remaining[node.index] = node.inEdges.length;
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
  }

  handle(): RunHandle {
    return {
      runId: this.opts.runId,
      result: this.result,
      cancel: (reason) =>
        this.abort({
          status: 'cancelled',
          error: { message: reason ? `cancelled: ${reason}` : 'cancelled', code: ErrorCodes.CANCELLED },
        }),
      state: () => foldRun(this.log, this.opts.runId),
      events: () => this.iterate(),
    };
  }

  private async *iterate(): AsyncGenerator<RunEvent> {
    let i = 0;
    for (;;) {
      while (i < this.log.length) yield this.log[i++] as RunEvent;
      if (this.finished) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private emit(payload: RunEventPayload): void {
    const event = { ...payload, runId: this.opts.runId, seq: this.seq++, at: Date.now() } as RunEvent;
    this.log.push(event);
    if (this.storeError === undefined) {
      try {
        const w = this.opts.store.append(event);
        if (w) this.pendingWrites.push(w.catch((err: unknown) => this.onStoreError(err)));
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

  private onStoreError(err: unknown): void {
    if (this.storeError !== undefined) return;
    this.storeError = err ?? new Error('store failed');
    this.abort({
      status: 'failed',
      error: { message: `the run could not be recorded: ${toNodeError(err).message}`, code: 'STORE_FAILED' },
    });
  }

  begin(): void {
    const { signal, deadlineMs } = this.opts;
    this.emit({
      type: 'run.started',
      flowId: this.prepared.flow.id,
      flowName: this.prepared.flow.name,
      input: this.input,
      nodes: this.nodes.map((n) => ({ id: n.id, type: n.type })),
      ...(this.opts.meta ? { meta: this.opts.meta } : {}),
    });
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
    for (const node of this.nodes) if (node.inEdges.length === 0) this.ready.push(node.index);
    this.pump();
    this.maybeFinish();
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
    const error =
      stop.status === 'failed' && stop.error.code === ErrorCodes.RUN_DEADLINE
        ? new NodeError(stop.error.message, ErrorCodes.RUN_DEADLINE)
        : new NodeError(stop.error.message, ErrorCodes.CANCELLED);
    this.controller.abort(error);
    this.maybeFinish();
  }

  /** Starts ready nodes while there is room. */
  private pump(): void {
    while (!this.stop && this.running < this.opts.concurrency && this.readyHead < this.ready.length) {
      const index = this.ready[this.readyHead++] as number;
      void this.execute(this.nodes[index] as PlanNode);
    }
    // Ready nodes left waiting for a slot are announced once, so viewers can show them as queued.
    for (let i = Math.max(this.readyHead, this.queuedUpTo); i < this.ready.length; i++) {
      this.emit({ type: 'node.queued', nodeId: (this.nodes[this.ready[i] as number] as PlanNode).id });
    }
    this.queuedUpTo = this.ready.length;
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.queuedUpTo -= this.readyHead;
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  private enqueue(index: number): void {
    this.ready.push(index);
    if (this.running >= this.opts.concurrency)
      this.emit({ type: 'node.queued', nodeId: (this.nodes[index] as PlanNode).id });
  }

  /** Settles the edges out of a finished node; nodes whose inputs are all settled become ready or are skipped. */
  private propagate(
    from: PlanNode,
    outputs: Record<string, unknown> | undefined,
    untakenReason: SkipReason,
  ): void {
    const work: { node: PlanNode; outputs: Record<string, unknown> | undefined; reason: SkipReason }[] = [
      { node: from, outputs, reason: untakenReason },
    ];
    while (work.length) {
      const item = work.pop() as (typeof work)[number];
      for (const edge of item.node.outEdges) {
        const value = item.outputs?.[edge.fromPort];
        const to = edge.to;
        if (value !== undefined) this.take(edge, value);
        else {
          this.lastUntaken[to] = item.reason;
          if (edge.toRequired && this.blocked[to] === undefined) this.blocked[to] = item.reason;
        }
        if (--(this.remaining[to] as number) === 0) {
          const target = this.nodes[to] as PlanNode;
          const skip = this.blocked[to] ?? (this.takenCount[to] === 0 ? this.lastUntaken[to] : undefined);
          if (skip !== undefined) {
            this.markSkipped(target, skip);
            work.push({
              node: target,
              outputs: undefined,
              reason: skip === 'upstream-failed' ? 'upstream-failed' : 'branch-not-taken',
            });
          } else this.enqueue(to);
        }
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
    this.emit({ type: 'node.skipped', nodeId: node.id, reason });
  }

  private scopeFor(node: PlanNode): ExpressionScope {
    const nodes: Record<string, Record<string, unknown>> = {};
    for (const id of ancestorsOf(this.prepared, node)) {
      const out = this.outputs[id];
      if (out) nodes[id] = out;
    }
    return { input: this.input, nodes };
  }

  private async execute(node: PlanNode): Promise<void> {
    this.running++;
    const t0 = performance.now();
    const inputs = this.inputs[node.index] ?? {};
    this.emit({ type: 'node.started', nodeId: node.id, inputs });
    let result: { outcome: AttemptOutcome; attempts: number };
    const inputError = this.inputErrors[node.index];
    if (inputError !== undefined) {
      result = {
        outcome: { ok: false, error: new NodeError(inputError, ErrorCodes.INVALID_INPUT) },
        attempts: 1,
      };
    } else {
      result = await invokeWithRetries({
        def: node.def as AnyNodeDefinition,
        outputs: node.outputs,
        timeoutMs: node.timeoutMs,
        retry: node.retry,
        parent: this.controller.signal,
        inputs,
        config: node.dynamic ? () => this.resolveDynamicConfig(node) : () => node.config,
        makeContext: (signal, attempt) =>
          makeContext({
            runId: this.opts.runId,
            nodeId: node.id,
            nodeType: node.type,
            attempt,
            signal,
            services: this.opts.services,
            secrets: this.secrets,
            scope: () => this.scopeFor(node),
            engine: this.opts.subflowEngine(this.opts.services, signal),
            log: (level, message, data) => {
              if (this.finished) return;
              const d = redactData(data, this.secrets);
              this.emit(
                d
                  ? {
                      type: 'node.logged',
                      nodeId: node.id,
                      level,
                      message: redact(message, this.secrets),
                      data: d,
                    }
                  : { type: 'node.logged', nodeId: node.id, level, message: redact(message, this.secrets) },
              );
            },
            stream: (chunk) => {
              if (!this.finished) this.emit({ type: 'node.streamed', nodeId: node.id, chunk });
            },
          }),
        onRetry: (attempt, error, delayMs) =>
          this.emit({
            type: 'node.retrying',
            nodeId: node.id,
            attempt,
            error: serializeError(error),
            delayMs,
          }),
      });
    }
    this.running--;
    this.finishNode(node, result, performance.now() - t0);
    this.pump();
    this.maybeFinish();
  }

  private async resolveDynamicConfig(node: PlanNode): Promise<unknown> {
    const resolved = await resolveConfig(node.rawConfig, this.scopeFor(node));
    const r = (
      node.def.config as {
        safeParse(v: unknown): {
          success: boolean;
          data?: unknown;
          error?: { issues: { path: PropertyKey[]; message: string }[] };
        };
      }
    ).safeParse(resolved);
    if (!r.success) {
      const issue = r.error?.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
      throw new NodeError(
        `config${where} after evaluating expressions: ${issue?.message ?? 'invalid'}`,
        ErrorCodes.INVALID_CONFIG,
      );
    }
    return r.data;
  }

  private finishNode(
    node: PlanNode,
    { outcome, attempts }: { outcome: AttemptOutcome; attempts: number },
    ms: number,
  ): void {
    this.done[node.index] = 1;
    this.settled++;
    if (outcome.ok) {
      this.outputs[node.id] = outcome.outputs;
      this.emit({ type: 'node.succeeded', nodeId: node.id, outputs: outcome.outputs, attempts, ms });
      if (!this.stop) this.propagate(node, outcome.outputs, 'branch-not-taken');
      return;
    }
    const error = serializeError(outcome.error);
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
    this.outputs[node.id] = outputs;
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
    if (this.finished) return;
    if (this.stop) {
      if (this.running > 0) return;
      const reason: SkipReason = this.stop.status === 'cancelled' ? 'run-cancelled' : 'run-failed';
      for (const node of this.nodes) if (!this.done[node.index]) this.markSkipped(node, reason);
      this.finish(this.stop.status, this.stop.error);
      return;
    }
    if (this.settled === this.nodes.length) this.finish('succeeded');
  }

  private finish(status: RunResult['status'], error?: SerializedError & { nodeId?: string }): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const outputs: Record<string, unknown> = {};
    if (status === 'succeeded') {
      for (const { node, name } of this.prepared.outputNodes) {
        const value = this.inputs[node.index]?.['value'];
        if (this.outputs[node.id] && value !== undefined) outputs[name] = value;
      }
    }
    const ms = performance.now() - this.t0;
    this.emit(
      error
        ? { type: 'run.finished', status, outputs, error, ms }
        : { type: 'run.finished', status, outputs, ms },
    );
    this.finished = true;
    const nodes: Record<string, NodeSummary> = {};
    const state = foldRun(this.log, this.opts.runId);
    for (const id of state.order) {
      const n = state.nodes[id];
      if (!n) continue;
      const summary: NodeSummary = { status: n.status, attempts: n.attempts };
      if (n.ms !== undefined) summary.ms = n.ms;
      if (n.error && n.status === 'failed') summary.error = n.error;
      nodes[id] = summary;
    }
    const result: RunResult = error
      ? { runId: this.opts.runId, status, outputs, error, ms, nodes }
      : { runId: this.opts.runId, status, outputs, ms, nodes };
    const writes = this.pendingWrites;
    this.pendingWrites = [];
    if (writes.length) void Promise.all(writes).then(() => this.resolveResult(result));
    else this.resolveResult(result);
    for (const w of this.waiters) w();
    this.waiters = [];
  }
}
