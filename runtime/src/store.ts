/**
 * Where run events go. The runtime appends every event of every run; a store may answer synchronously (the
 * embedded SQLite store) or with a promise (a network database), and the runtime keeps each run's appends in
 * order and finishes a run only after its last event is stored.
 */
import { foldRun, type RunEvent, type RunState } from './events.js';

export interface RunStore {
  append(event: RunEvent): void | Promise<void>;
}

/**
 * A store refused an event because the run's log already has one at its seq (another execution of the run wrote
 * first). A store that can tell throws or rejects with this; `Runtime.resume` turns it into ResumeError CONFLICT.
 */
export class RunStoreConflictError extends Error {
  override readonly name = 'RunStoreConflictError';
  constructor(
    readonly runId: string,
    readonly seq: number,
  ) {
    super(`run ${runId} already has an event at seq ${seq}`);
  }
}

/**
 * Keeps runs in memory: for tests, the CLI and single-process tools. A log only grows by its next seq, so two
 * executions of one run (two resumes of a waiting run) cannot both append: the second gets RunStoreConflictError.
 */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunEvent[]>();

  append(event: RunEvent): void {
    let log = this.runs.get(event.runId);
    if (!log) this.runs.set(event.runId, (log = []));
    if (event.seq !== log.length) throw new RunStoreConflictError(event.runId, event.seq);
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
