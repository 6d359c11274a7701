/**
 * The text of a `run_events` row, for both repositories: a chunk of a run's events written as they happened (one
 * JSON text per event, joined as an array) or, for runs of pure nodes, encoded once as a compact run record when
 * the batch is committed (runtime's run-record.ts). Reading accepts both, so rows written before the record
 * existed still replay.
 */
import { decodeEventRow, encodeRunRecord, type RunEvent } from '@finflow/runtime';
import { safeStringify } from '../security/safe-json.js';
import type { EventChunk } from './types.js';

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
