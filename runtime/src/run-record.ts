/**
 * The compact run record: consecutive events of one run stored as one JSON text from which the events are rebuilt
 * exactly (issue 18). A run's log repeats itself: every event names its run and its position, and a value that
 * flows from node to node appears in the `node.succeeded` that made it, in the `node.started` of every node that
 * receives it and in `run.finished` (chain20: the growing object twice a step). The record writes the run id and the
 * first position once and each value once; a later appearance of the same value (the same object, as the executor
 * hands it on) is a reference to its first.
 *
 * Exactness rests on the values not changing between their events and the encoding: the server encodes a record
 * when the events' batch is committed (the end of the event-loop turn), and only for flows whose every node is
 * declared `pure` (it never changes a value it is given or returned; see `NodeDefinition.pure`). Other flows keep
 * one JSON text per event, written as the event happens.
 *
 * Shape: `{"v":1,"runId":…,"seq":first,"events":[…],"refs":[…]}`. `events` are the events without `runId` and
 * `seq`; a port value that is a reference is written as `0` in place, and `refs` holds six numbers or strings per
 * reference: event, field (0 inputs, 1 outputs), port, then the event, field and port it repeats (field 2 is
 * `run.started`'s input, port `input`).
 */
import type { RunEvent } from './events.js';

export const RUN_RECORD_VERSION = 1;

const FIELDS = ['inputs', 'outputs'] as const;
/** The field code of `run.started`'s input (a source of references only: the event itself holds it). */
const INPUT = 2;

/** What `encodeRunRecord` gives: the record, or undefined when a value cannot be written as JSON. */
export function encodeRunRecord(events: readonly RunEvent[]): string | undefined {
  const first = events[0];
  if (!first) return undefined;
  const seen = new Map<object, number>();
  const sources: (string | number)[] = [];
  const refs: (string | number)[] = [];
  const out: Record<string, unknown>[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as RunEvent & Record<string, unknown>;
    // Records are consecutive: a gap would be renumbered on the way back.
    if (e.seq !== first.seq + i || e.runId !== first.runId) return undefined;
    const { runId: _r, seq: _s, ...rest } = e;
    // The run's input is what io.input hands on: its first appearance.
    if (e.type === 'run.started' && e.input !== null && typeof e.input === 'object' && !seen.has(e.input)) {
      seen.set(e.input, sources.length);
      sources.push(i, INPUT, 'input');
    }
    for (let f = 0; f < FIELDS.length; f++) {
      const field = FIELDS[f] as (typeof FIELDS)[number];
      const ports = e[field];
      if (ports === null || typeof ports !== 'object') continue;
      let copy: Record<string, unknown> | undefined;
      for (const port of Object.keys(ports)) {
        const value = (ports as Record<string, unknown>)[port];
        if (value === null || typeof value !== 'object' || port === '__proto__') continue;
        const source = seen.get(value);
        if (source === undefined) {
          seen.set(value, sources.length);
          sources.push(i, f, port);
          continue;
        }
        copy ??= { ...(ports as Record<string, unknown>) };
        copy[port] = 0;
        refs.push(
          i,
          f,
          port,
          sources[source] as number,
          sources[source + 1] as number,
          sources[source + 2] as string,
        );
      }
      if (copy) rest[field] = copy;
    }
    out[i] = rest;
  }
  try {
    return JSON.stringify({ v: RUN_RECORD_VERSION, runId: first.runId, seq: first.seq, events: out, refs });
  } catch {
    // Cycles and BigInts: the caller writes the events one by one, cutting what JSON cannot hold.
    return undefined;
  }
}

/** Thrown for a stored text that is neither a record nor an event array. */
export class RunRecordError extends Error {
  override readonly name = 'RunRecordError';
}

/**
 * The events of one stored row: a compact record (`{"v":1,…}`) or, as rows were written before it and still are
 * for flows with nodes not declared pure, a JSON array of events.
 */
export function decodeEventRow(text: string): RunEvent[] {
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed)) return parsed as RunEvent[];
  if (parsed === null || typeof parsed !== 'object') throw new RunRecordError('not a run record');
  const r = parsed as { v?: unknown; runId?: unknown; seq?: unknown; events?: unknown; refs?: unknown };
  if (r.v !== RUN_RECORD_VERSION) throw new RunRecordError(`unknown run record version ${String(r.v)}`);
  if (
    typeof r.runId !== 'string' ||
    typeof r.seq !== 'number' ||
    !Array.isArray(r.events) ||
    !Array.isArray(r.refs)
  )
    throw new RunRecordError('malformed run record');
  const runId = r.runId;
  const seq = r.seq;
  const events = (r.events as Record<string, unknown>[]).map(
    (e, i) => ({ type: e['type'], runId, seq: seq + i, ...e }) as unknown as RunEvent,
  );
  const refs = r.refs as unknown[];
  const at = (i: unknown, f: unknown, port: unknown): Record<string, unknown> => {
    const event = events[i as number] as unknown as Record<string, unknown> | undefined;
    const ports = f === INPUT ? event : event?.[FIELDS[f as number] ?? ''];
    if (typeof port !== 'string' || ports === null || typeof ports !== 'object')
      throw new RunRecordError('malformed run record reference');
    return ports as Record<string, unknown>;
  };
  for (let k = 0; k + 5 < refs.length; k += 6) {
    const source = at(refs[k + 3], refs[k + 4], refs[k + 5]);
    at(refs[k], refs[k + 1], refs[k + 2])[refs[k + 2] as string] = source[refs[k + 5] as string];
  }
  return events;
}
