/**
 * Where run events go. The runtime appends every event of every run; a store may answer synchronously (the
 * embedded SQLite store) or with a promise (a network database), and the runtime keeps each run's appends in
 * order and finishes a run only after its last event is stored.
 */
import { foldRun, type RunEvent, type RunState } from './events.js';

export interface RunStore {
  append(event: RunEvent): void | Promise<void>;
}

/** Keeps runs in memory: for tests, the CLI and single-process tools. */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunEvent[]>();

  append(event: RunEvent): void {
    let log = this.runs.get(event.runId);
    if (!log) this.runs.set(event.runId, (log = []));
    log.push(event);
  }

  events(runId: string, afterSeq = -1): RunEvent[] {
    return (this.runs.get(runId) ?? []).filter((e) => e.seq > afterSeq);
  }

  get(runId: string): RunState | undefined {
    const log = this.runs.get(runId);
    return log ? foldRun(log, runId) : undefined;
  }

  runIds(): string[] {
    return [...this.runs.keys()];
  }
}

/** Discards events (benchmarks of the engine alone). */
export const nullRunStore: RunStore = { append() {} };
