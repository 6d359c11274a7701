/**
 * Run events and run state. A run is its event log; its state is the fold of `reduceRun` over the events. The
 * same events drive live views, reconnect replay, audit and inspection of past runs.
 */
import type { SerializedError } from './errors.js';

export type { SerializedError };

/** `waiting`: the run's execution ended with nodes waiting for a decision; it goes on when they are resumed. */
export type RunStatus = 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type NodeStatus = 'pending' | 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';
export type SkipReason = 'branch-not-taken' | 'upstream-failed' | 'run-failed' | 'run-cancelled';

interface EventBase {
  runId: string;
  /** Position in the run's log, from 0. */
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface RunStartedEvent extends EventBase {
  type: 'run.started';
  flowId: string;
  flowName: string;
  input: unknown;
  nodes: { id: string; type: string }[];
  /** Caller-supplied context (flow version, endpoint, user), recorded with the run. */
  meta?: Record<string, unknown>;
}
export interface NodeQueuedEvent extends EventBase {
  type: 'node.queued';
  nodeId: string;
}
export interface NodeStartedEvent extends EventBase {
  type: 'node.started';
  nodeId: string;
  inputs: Record<string, unknown>;
}
export interface NodeStreamedEvent extends EventBase {
  type: 'node.streamed';
  nodeId: string;
  chunk: unknown;
}
export interface NodeLoggedEvent extends EventBase {
  type: 'node.logged';
  nodeId: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  data?: Record<string, unknown>;
}
export interface NodeRetryingEvent extends EventBase {
  type: 'node.retrying';
  nodeId: string;
  /** The attempt that failed. */
  attempt: number;
  error: SerializedError;
  delayMs: number;
}
export interface NodeSucceededEvent extends EventBase {
  type: 'node.succeeded';
  nodeId: string;
  outputs: Record<string, unknown>;
  attempts: number;
  /** Wall time from start to finish, retries included. */
  ms: number;
}
export interface NodeFailedEvent extends EventBase {
  type: 'node.failed';
  nodeId: string;
  error: SerializedError;
  attempts: number;
  ms: number;
  /** `continue` or `route`: the failure was handled by the node's onError and the run goes on. */
  handled?: 'continue' | 'route';
  /** Outputs handed on despite the failure (the fallback, or the routed error). */
  outputs?: Record<string, unknown>;
}
export interface NodeSkippedEvent extends EventBase {
  type: 'node.skipped';
  nodeId: string;
  reason: SkipReason;
}
export interface RunFinishedEvent extends EventBase {
  type: 'run.finished';
  status: 'succeeded' | 'failed' | 'cancelled';
  outputs: Record<string, unknown>;
  error?: SerializedError & { nodeId?: string };
  ms: number;
}
/** The node cannot finish until someone decides; `task` is what the node gave the decider (see NodeWaiting). */
export interface NodeWaitingEvent extends EventBase {
  type: 'node.waiting';
  nodeId: string;
  task: Record<string, unknown>;
}
/** Nothing else could run: this execution of the run ended with these nodes waiting. */
export interface RunSuspendedEvent extends EventBase {
  type: 'run.suspended';
  waiting: string[];
  /** The flow outputs already produced (by branches that did not wait). */
  outputs: Record<string, unknown>;
  /** Wall time of the execution that ends here. */
  ms: number;
}
/** A new execution of a waiting run: these nodes run again with these decisions; recorded outputs are reused. */
export interface RunResumedEvent extends EventBase {
  type: 'run.resumed';
  decisions: Record<string, unknown>;
}
/** Written by a server that restarted while the run was in flight. */
export interface RunInterruptedEvent extends EventBase {
  type: 'run.interrupted';
  reason: string;
}

export type RunEvent =
  | RunStartedEvent
  | NodeQueuedEvent
  | NodeStartedEvent
  | NodeStreamedEvent
  | NodeLoggedEvent
  | NodeRetryingEvent
  | NodeSucceededEvent
  | NodeFailedEvent
  | NodeSkippedEvent
  | RunFinishedEvent
  | RunInterruptedEvent
  | NodeWaitingEvent
  | RunSuspendedEvent
  | RunResumedEvent;

export type RunEventType = RunEvent['type'];

/** Distributes Omit over the union, so each member keeps its own fields. */
export type RunEventPayload = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'runId' | 'seq' | 'at'>
    : never
  : never;

export interface NodeRunState {
  id: string;
  type: string;
  status: NodeStatus;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  ms?: number;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  error?: SerializedError;
  handled?: 'continue' | 'route';
  skipReason?: SkipReason;
  /** What a waiting node asked its decider (kept after it is resumed). */
  task?: Record<string, unknown>;
  /** Streamed text (string chunks concatenated). */
  streamed: string;
  logs: { at: number; level: string; message: string; data?: Record<string, unknown> }[];
}

export interface RunState {
  runId: string;
  flowId: string;
  flowName: string;
  status: RunStatus;
  input: unknown;
  meta?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  error?: SerializedError & { nodeId?: string };
  startedAt: number;
  finishedAt?: number;
  ms?: number;
  /** When the run last became waiting, and when it last went on. */
  suspendedAt?: number;
  resumedAt?: number;
  /** Seq of the last event folded in. */
  lastSeq: number;
  nodes: Record<string, NodeRunState>;
  /** Node ids in document order. */
  order: string[];
}

function emptyNode(id: string, type: string): NodeRunState {
  return { id, type, status: 'pending', attempts: 0, streamed: '', logs: [] };
}

/** Applies one event to a state that the caller owns (mutating it). */
function apply(state: RunState, e: RunEvent): RunState {
  state.lastSeq = e.seq;
  switch (e.type) {
    case 'run.started': {
      state.flowId = e.flowId;
      state.flowName = e.flowName;
      state.input = e.input;
      state.startedAt = e.at;
      state.status = 'running';
      if (e.meta) state.meta = e.meta;
      state.order = e.nodes.map((n) => n.id);
      state.nodes = {};
      for (const n of e.nodes) state.nodes[n.id] = emptyNode(n.id, n.type);
      return state;
    }
    case 'run.finished':
      state.status = e.status;
      state.outputs = e.outputs;
      if (e.error) state.error = e.error;
      state.finishedAt = e.at;
      state.ms = e.ms;
      return state;
    case 'run.interrupted':
      state.status = 'interrupted';
      state.error = { message: e.reason, code: 'INTERRUPTED' };
      state.finishedAt = e.at;
      return state;
    case 'run.suspended':
      state.status = 'waiting';
      state.suspendedAt = e.at;
      state.outputs = e.outputs;
      return state;
    case 'run.resumed':
      // Node states change with the events that follow (node.started of each resumed node), so this event
      // touches no node and the reducer stays a shallow copy.
      state.status = 'running';
      state.resumedAt = e.at;
      return state;
    default:
      break;
  }
  const node = state.nodes[e.nodeId] ?? (state.nodes[e.nodeId] = emptyNode(e.nodeId, 'unknown'));
  switch (e.type) {
    case 'node.queued':
      node.status = 'queued';
      break;
    case 'node.started':
      node.status = 'running';
      node.startedAt = e.at;
      node.attempts = 1;
      node.inputs = e.inputs;
      break;
    case 'node.streamed':
      node.streamed += typeof e.chunk === 'string' ? e.chunk : `${JSON.stringify(e.chunk)}\n`;
      break;
    case 'node.logged':
      node.logs.push(
        e.data
          ? { at: e.at, level: e.level, message: e.message, data: e.data }
          : { at: e.at, level: e.level, message: e.message },
      );
      break;
    case 'node.retrying':
      node.attempts = e.attempt + 1;
      node.error = e.error;
      break;
    case 'node.succeeded':
      node.status = 'succeeded';
      node.outputs = e.outputs;
      node.attempts = e.attempts;
      node.finishedAt = e.at;
      node.ms = e.ms;
      delete node.error;
      break;
    case 'node.failed':
      node.status = 'failed';
      node.error = e.error;
      node.attempts = e.attempts;
      node.finishedAt = e.at;
      node.ms = e.ms;
      if (e.handled) node.handled = e.handled;
      if (e.outputs) node.outputs = e.outputs;
      break;
    case 'node.skipped':
      node.status = 'skipped';
      node.skipReason = e.reason;
      node.finishedAt = e.at;
      break;
    case 'node.waiting':
      node.status = 'waiting';
      node.task = e.task;
      break;
  }
  return state;
}

export function initialRunState(runId: string): RunState {
  return {
    runId,
    flowId: '',
    flowName: '',
    status: 'running',
    input: undefined,
    startedAt: 0,
    lastSeq: -1,
    nodes: {},
    order: [],
  };
}

function cloneFor(state: RunState, e: RunEvent): RunState {
  const next: RunState = { ...state };
  if ('nodeId' in e) {
    const node = state.nodes[e.nodeId];
    next.nodes = { ...state.nodes };
    if (node) next.nodes[e.nodeId] = { ...node, logs: e.type === 'node.logged' ? [...node.logs] : node.logs };
  }
  return next;
}

/**
 * The pure reducer: returns a new state and leaves `state` untouched (for UI stores). An event already folded
 * in (a replay after a reconnect repeats some) returns the same state.
 */
export function reduceRun(state: RunState, event: RunEvent): RunState {
  if (event.seq <= state.lastSeq) return state;
  return apply(cloneFor(state, event), event);
}

/** Folds a whole log into a state in linear time. */
export function foldRun(events: Iterable<RunEvent>, runId?: string): RunState {
  let state: RunState | undefined;
  for (const e of events) {
    state ??= initialRunState(runId ?? e.runId);
    if (e.seq > state.lastSeq) apply(state, e);
  }
  return state ?? initialRunState(runId ?? '');
}

/** The run will not change any more. A waiting run is not terminal: it goes on once it is resumed. */
export function isTerminal(status: RunStatus): boolean {
  return status !== 'running' && status !== 'waiting';
}

/** Ids of the nodes a run waits on (in document order). */
export function waitingNodes(state: RunState): string[] {
  return state.order.filter((id) => state.nodes[id]?.status === 'waiting');
}
