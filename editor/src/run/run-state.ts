/**
 * Run state in the editor: the runtime's own pure reducer over the events the server sends (replays after a
 * reconnect may repeat events; the reducer ignores those), plus the timeline layout for the Gantt view.
 */
import { foldRun as foldEvents, initialRunState, isTerminal, reduceRun } from '@finflow/runtime/events';
import type { NodeRunState, RunEvent, RunState } from '../api/types.js';

export { initialRunState, isTerminal, reduceRun };

/** Folds events that may arrive out of order or twice (a replay overlapping live events). */
export function foldRun(events: readonly RunEvent[], runId: string): RunState {
  return foldEvents(
    [...events].sort((a, b) => a.seq - b.seq),
    runId,
  );
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
