/**
 * The run state as the fold of its events, mirrored from the runtime's `reduceRun` (the editor may not import
 * the runtime's executor modules). The reducer is pure: each event returns a new state that shares the nodes
 * it did not touch, so a node component re-renders only when its own entry changes.
 */
import type { NodeRunState, RunEvent, RunState } from '../api/types.js';

function emptyNode(id: string, type: string): NodeRunState {
  return { id, type, status: 'pending', attempts: 0, streamed: '', logs: [] };
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

export function reduceRun(state: RunState, e: RunEvent): RunState {
  // Replays after a reconnect may repeat events already folded in.
  if (e.seq <= state.lastSeq) return state;
  const next: RunState = { ...state, lastSeq: e.seq };
  switch (e.type) {
    case 'run.started': {
      next.flowId = e.flowId;
      next.flowName = e.flowName;
      next.input = e.input;
      next.startedAt = e.at;
      next.status = 'running';
      if (e.meta) next.meta = e.meta;
      next.order = e.nodes.map((n) => n.id);
      next.nodes = {};
      for (const n of e.nodes) next.nodes[n.id] = emptyNode(n.id, n.type);
      return next;
    }
    case 'run.finished':
      next.status = e.status;
      next.outputs = e.outputs;
      if (e.error) next.error = e.error;
      next.finishedAt = e.at;
      next.ms = e.ms;
      return next;
    case 'run.interrupted':
      next.status = 'interrupted';
      next.error = { message: e.reason, code: 'INTERRUPTED' };
      next.finishedAt = e.at;
      return next;
    default:
      break;
  }
  const prev = state.nodes[e.nodeId] ?? emptyNode(e.nodeId, 'unknown');
  const node: NodeRunState = { ...prev };
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
      node.logs = [
        ...prev.logs,
        e.data
          ? { at: e.at, level: e.level, message: e.message, data: e.data }
          : { at: e.at, level: e.level, message: e.message },
      ];
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
  }
  next.nodes = { ...state.nodes, [e.nodeId]: node };
  return next;
}

export function foldRun(events: readonly RunEvent[], runId: string): RunState {
  let state = initialRunState(runId);
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) state = reduceRun(state, e);
  return state;
}

export function isTerminal(status: RunState['status']): boolean {
  return status !== 'running';
}

export interface GanttBar {
  nodeId: string;
  status: NodeRunState['status'];
  start: number;
  end: number;
  /** Lane index: bars that overlap in time get different lanes, so parallel work is visible. */
  lane: number;
}

/**
 * Bars for a run timeline, in start order, relative to the run start. Nodes that never started are left out;
 * a node still running ends at `now`.
 */
export function ganttBars(run: RunState, now: number): { bars: GanttBar[]; total: number } {
  const origin = run.startedAt;
  const started = Object.values(run.nodes)
    .filter((n) => n.startedAt !== undefined)
    .sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  const laneEnds: number[] = [];
  const bars: GanttBar[] = [];
  for (const n of started) {
    const start = (n.startedAt ?? origin) - origin;
    const end = Math.max(
      start,
      (n.finishedAt ?? (n.status === 'running' ? now : (n.startedAt ?? origin))) - origin,
    );
    let lane = laneEnds.findIndex((e) => e <= start);
    if (lane === -1) {
      lane = laneEnds.length;
      laneEnds.push(end);
    } else laneEnds[lane] = end;
    bars.push({ nodeId: n.id, status: n.status, start, end, lane });
  }
  const total = Math.max(
    1,
    run.ms ?? 0,
    ...bars.map((b) => b.end),
    run.finishedAt !== undefined ? run.finishedAt - origin : 0,
  );
  return { bars, total };
}
