/**
 * The text of a run's stored events, for both repositories: a chunk of a run's events written as they happened
 * (one JSON text per event, joined as an array) or, for runs of pure nodes, encoded once as a compact run record
 * when the batch is committed (runtime's run-record.ts). Reading accepts both, so rows written before the record
 * existed still replay. A chunk is a `run_events` row, or (migration 14) the run's own row when the run started
 * and finished within one batch: see `foldedChunks`.
 */
import { decodeEventRow, encodeRunRecord, type RunEvent } from '@finflow/runtime';
import { safeStringify } from '../security/safe-json.js';
import type { EventChunk, StoredRunStatus, WriteBatch } from './types.js';

export function chunkText(chunk: EventChunk): string {
  const objects = chunk.objects;
  if (objects?.length) {
    const record = encodeRunRecord(objects);
    if (record !== undefined) return record;
    // A value JSON cannot hold (a node broke its `pure` promise): each event as the per-event path writes it.
    return `[${objects.map((e) => safeStringify(e).json).join(',')}]`;
  }
  return `[${chunk.events.join(',')}]`;
}

/** The events of a row whose first event is `seq`, from `afterSeq` on. */
export function rowEvents(text: string, seq: number, afterSeq: number, out: RunEvent[]): void {
  const events = decodeEventRow(text);
  // Events are numbered consecutively within a row.
  for (let i = Math.max(0, afterSeq + 1 - seq); i < events.length; i++) out.push(events[i] as RunEvent);
}

const finalStatuses: ReadonlySet<StoredRunStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
]);

/**
 * The chunks of a batch that go into their run's row rather than `run_events` (by run id): those of runs the
 * batch inserts already finished, when the batch holds exactly one chunk of the run and it starts at seq 0 (so
 * it is the run's whole log: a run inserted finished gets no later events, and none can precede its row). That is
 * an endpoint run of pure nodes, started and finished within one event-loop turn; its commit then writes one row
 * fewer. Any other chunk (a run inserted while running, a second chunk) keeps its `run_events` row, and reads
 * take a run's row chunk first, then its rows, so either way a run's events read the same.
 */
export function foldedChunks(b: WriteBatch): Map<string, EventChunk> | undefined {
  if (!b.runs.length || !b.events.length) return undefined;
  let finished: Set<string> | undefined;
  for (const r of b.runs) if (finalStatuses.has(r.status)) (finished ??= new Set()).add(r.id);
  if (!finished) return undefined;
  let out: Map<string, EventChunk> | undefined;
  for (const e of b.events) {
    if (!finished.has(e.runId)) continue;
    if (e.seq === 0 && !out?.has(e.runId)) (out ??= new Map()).set(e.runId, e);
    else {
      // More than one chunk of the run: all of them stay rows of their own.
      finished.delete(e.runId);
      out?.delete(e.runId);
    }
  }
  return out?.size ? out : undefined;
}
