/**
 * The compact run record: consecutive events of one run stored as one JSON text from which the events are rebuilt
 * exactly (issue 18). A run's log repeats itself: every event names its run and its position, and a value that
 * flows from node to node appears in the `node.succeeded` that made it, in the `node.started` of every node that
 * receives it and in `run.finished` (chain20: the growing object twice a step). The record writes the run id and the
 * first position once and each value once; a later appearance of the same value (the same object, as the executor
 * hands it on) is a reference to its first. A node's output that is one of its inputs with a few values replaced or
 * added at its end (what `$merge([data, {...}])` makes) is written as that input and the difference.
 *
 * Exactness rests on the values not changing between their events and the encoding: the server encodes a record
 * when the events' batch is committed (the end of the event-loop turn), and only for flows whose every node is
 * declared `pure` (it never changes a value it is given or returned; see `NodeDefinition.pure`). Other flows keep
 * one JSON text per event, written as the event happens.
 *
 * Shape (version 2): `{"v":2,"runId":…,"seq":first,"at":first event's time,"ids":[…],"types":[…],"events":[…],
 * "refs":[…]}`.
 * - `events`: `node.started` and `node.succeeded` as tuples, `[0, at − record's at, node, inputs]` and
 *   `[1, at − record's at, node, outputs, attempts, time]`, where `node` indexes `ids` and `time` is the duration in
 *   whole microseconds when it has no finer part (the executor rounds to them), else the milliseconds as they were;
 *   every other event as itself without `runId` and `seq` (`run.started`'s node list as `{"t":[…]}`, indexes into
 *   `types`, the ids being the first entries of `ids`). Numbers that small print without the cost of a double.
 * - a port value that is a reference is written as `0` in place; `refs` holds seven entries per reference: event,
 *   field (0 inputs, 1 outputs), port, then the event, field and port it repeats (field 2 is `run.started`'s input,
 *   port `input`), then `0`, or the keys whose values differ from the repeated value's (replaced in place or added
 *   at the end) and their values. References are resolved in order, so a difference may build on a difference.
 * Version 1 records (before the tuples and differences: no `at`, `ids`, `types`, six entries a reference) and rows
 * of events written one by one (a JSON array) still read.
 */
import type { RunEvent } from './events.js';

export const RUN_RECORD_VERSION = 2;

const FIELDS = ['inputs', 'outputs'] as const;
/** The field code of `run.started`'s input (a source of references only: the event itself holds it). */
const INPUT = 2;
const STARTED = 0;
const SUCCEEDED = 1;
/** The keys, in order, of the events written as tuples: anything else is written as itself. */
const STARTED_KEYS = ['type', 'runId', 'seq', 'at', 'nodeId', 'inputs'];
const SUCCEEDED_KEYS = ['type', 'runId', 'seq', 'at', 'nodeId', 'outputs', 'attempts', 'ms'];

function hasKeys(e: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const k in e) if (keys[i++] !== k) return false;
  return i === keys.length;
}

/** A duration as written: whole microseconds when that is exact, else the milliseconds (never whole then). */
function timeCode(ms: unknown): number | undefined {
  if (typeof ms !== 'number' || Object.is(ms, -0)) return undefined;
  const us = Math.round(ms * 1000);
  if (us / 1000 === ms && Number.isSafeInteger(us)) return us;
  return Number.isInteger(ms) || !Number.isFinite(ms) ? undefined : ms;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * What `value` holds beyond `base` when it is `base` with some values replaced and keys added after base's keys,
 * in base's key order (a shallow merge's result); undefined when it is not, or when rebuilding it by assignment
 * could differ (a `__proto__` key, an undefined member).
 */
function difference(
  value: object,
  base: Record<string, unknown>,
  baseKeys: readonly string[] = Object.keys(base),
): Record<string, unknown> | undefined {
  if (Array.isArray(value)) return undefined;
  // Own enumerable keys in enumeration order (V8 copies them from the hidden class's cache; Object.values measured
  // slower than a load per key). Kept for the next step, whose base this value is (see `keysOf`).
  const keys = Object.keys(value);
  lastKeys = keys;
  const n = baseKeys.length;
  if (n === 0 || keys.length < n) return undefined;
  const v = value as Record<string, unknown>;
  let diff: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const item = v[k];
    if (item === undefined || k === '__proto__') return undefined;
    if (i < n) {
      if (baseKeys[i] !== k) return undefined;
      if (item === base[k]) continue;
    }
    (diff ??= {})[k] = item;
  }
  return diff ?? {};
}

/** The keys `difference` last read of its value (a chain's output is the next step's base: read once). */
let lastKeys: string[] | undefined;

/** What `encodeRunRecord` gives: the record, or undefined when a value cannot be written as JSON. */
export function encodeRunRecord(events: readonly RunEvent[]): string | undefined {
  const first = events[0];
  if (!first) return undefined;
  const at0 = first.at;
  const tuples = Number.isSafeInteger(at0);
  const seen = new Map<object, number>();
  const sources: (string | number)[] = [];
  /** The keys of a source value, by source (index in `sources` / 3), when `difference` read them. */
  const keysOf: (string[] | undefined)[] = [];
  const refs: unknown[] = [];
  const ids: string[] = [];
  const idIndex = new Map<string, number>();
  const types: string[] = [];
  /** The inputs of each node's latest `node.started`: the values its output may be a difference from. */
  const startedWith = new Map<string, Record<string, unknown>>();
  const out: unknown[] = new Array(events.length);
  const idOf = (id: string): number => {
    let k = idIndex.get(id);
    if (k === undefined) {
      k = ids.length;
      ids.push(id);
      idIndex.set(id, k);
    }
    return k;
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as RunEvent & Record<string, unknown>;
    // Records are consecutive: a gap would be renumbered on the way back.
    if (e.seq !== first.seq + i || e.runId !== first.runId) return undefined;
    const kind =
      !tuples || !Number.isSafeInteger(e.at) || typeof e.nodeId !== 'string'
        ? -1
        : e.type === 'node.started' && hasKeys(e, STARTED_KEYS) && isRecord(e.inputs)
          ? STARTED
          : e.type === 'node.succeeded' &&
              hasKeys(e, SUCCEEDED_KEYS) &&
              isRecord(e.outputs) &&
              Number.isSafeInteger(e.attempts) &&
              timeCode(e.ms) !== undefined
            ? SUCCEEDED
            : -1;
    let rest: Record<string, unknown> | undefined;
    if (kind < 0) {
      const { runId: _r, seq: _s, ...others } = e;
      rest = others;
    }
    if (e.type === 'run.started') {
      // The run's input is what io.input hands on: its first appearance.
      if (e.input !== null && typeof e.input === 'object' && !seen.has(e.input)) {
        seen.set(e.input, sources.length);
        sources.push(i, INPUT, 'input');
      }
      const nodes = compactNodes(e.nodes, ids, idIndex, types);
      if (nodes && rest) rest['nodes'] = nodes;
    }
    let ports: Record<string, unknown> | undefined;
    for (let f = 0; f < FIELDS.length; f++) {
      const field = FIELDS[f] as (typeof FIELDS)[number];
      const fieldPorts = e[field];
      if (fieldPorts === null || typeof fieldPorts !== 'object') continue;
      const bases = f === 1 && kind === SUCCEEDED ? startedWith.get(e.nodeId as string) : undefined;
      let copy: Record<string, unknown> | undefined;
      for (const port in fieldPorts) {
        if (!Object.hasOwn(fieldPorts, port)) continue;
        const value = (fieldPorts as Record<string, unknown>)[port];
        if (value === null || typeof value !== 'object' || port === '__proto__') continue;
        const source = seen.get(value);
        if (source !== undefined) {
          copy ??= { ...(fieldPorts as Record<string, unknown>) };
          copy[port] = 0;
          refs.push(i, f, port, sources[source], sources[source + 1], sources[source + 2], 0);
          continue;
        }
        const added = sources.length;
        seen.set(value, added);
        sources.push(i, f, port);
        if (!bases) continue;
        for (const basePort in bases) {
          const base = bases[basePort];
          const from = isRecord(base) ? seen.get(base) : undefined;
          if (from === undefined) continue;
          lastKeys = undefined;
          const diff = difference(value, base as Record<string, unknown>, keysOf[from / 3]);
          if (lastKeys) keysOf[added / 3] = lastKeys;
          if (!diff) continue;
          copy ??= { ...(fieldPorts as Record<string, unknown>) };
          copy[port] = 0;
          refs.push(i, f, port, sources[from], sources[from + 1], sources[from + 2], diff);
          break;
        }
      }
      if (kind === STARTED) startedWith.set(e.nodeId as string, fieldPorts as Record<string, unknown>);
      if (copy) {
        if (rest) rest[field] = copy;
        else ports = copy;
      } else if (!rest) ports = fieldPorts as Record<string, unknown>;
    }
    out[i] =
      kind === STARTED
        ? [STARTED, e.at - at0, idOf(e.nodeId as string), ports]
        : kind === SUCCEEDED
          ? [SUCCEEDED, e.at - at0, idOf(e.nodeId as string), ports, e.attempts, timeCode(e.ms)]
          : rest;
  }
  try {
    return JSON.stringify({
      v: RUN_RECORD_VERSION,
      runId: first.runId,
      seq: first.seq,
      at: at0,
      ids,
      types,
      events: out,
      refs,
    });
  } catch {
    // Cycles and BigInts: the caller writes the events one by one, cutting what JSON cannot hold.
    return undefined;
  }
}

/**
 * `run.started`'s node list as type indexes, its ids becoming the first entries of the record's id table; undefined
 * (written as it is) unless every entry is exactly `{id, type}` and the table is still empty.
 */
function compactNodes(
  nodes: unknown,
  ids: string[],
  idIndex: Map<string, number>,
  types: string[],
): { t: number[] } | undefined {
  if (!Array.isArray(nodes) || ids.length > 0) return undefined;
  const typeIndex = new Map<string, number>();
  const t: number[] = [];
  for (const n of nodes as unknown[]) {
    if (!isRecord(n) || !hasKeys(n, ['id', 'type'])) return undefined;
    const { id, type } = n;
    if (typeof id !== 'string' || typeof type !== 'string' || idIndex.has(id)) return undefined;
    let k = typeIndex.get(type);
    if (k === undefined) {
      k = types.length;
      types.push(type);
      typeIndex.set(type, k);
    }
    t.push(k);
    idIndex.set(id, ids.length);
    ids.push(id);
  }
  return { t };
}

/** Thrown for a stored text that is neither a record nor an event array. */
export class RunRecordError extends Error {
  override readonly name = 'RunRecordError';
}

interface StoredRecord {
  v?: unknown;
  runId?: unknown;
  seq?: unknown;
  at?: unknown;
  ids?: unknown;
  types?: unknown;
  events?: unknown;
  refs?: unknown;
}

/**
 * The events of one stored row: a compact record (`{"v":2,…}`, or `{"v":1,…}` as rows were written before the
 * tuples) or, as rows were written before the record and still are for flows with nodes not declared pure, a JSON
 * array of events.
 */
export function decodeEventRow(text: string): RunEvent[] {
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed)) return parsed as RunEvent[];
  if (parsed === null || typeof parsed !== 'object') throw new RunRecordError('not a run record');
  const r = parsed as StoredRecord;
  if (r.v !== 1 && r.v !== RUN_RECORD_VERSION)
    throw new RunRecordError(`unknown run record version ${String(r.v)}`);
  if (
    typeof r.runId !== 'string' ||
    typeof r.seq !== 'number' ||
    !Array.isArray(r.events) ||
    !Array.isArray(r.refs)
  )
    throw new RunRecordError('malformed run record');
  const events = r.v === 1 ? version1Events(r) : version2Events(r);
  const refs = r.refs as unknown[];
  const width = r.v === 1 ? 6 : 7;
  const at = (i: unknown, f: unknown, port: unknown): Record<string, unknown> => {
    const event = events[i as number] as unknown as Record<string, unknown> | undefined;
    const ports = f === INPUT ? event : event?.[FIELDS[f as number] ?? ''];
    if (typeof port !== 'string' || ports === null || typeof ports !== 'object')
      throw new RunRecordError('malformed run record reference');
    return ports as Record<string, unknown>;
  };
  for (let k = 0; k + width - 1 < refs.length; k += width) {
    const source = at(refs[k + 3], refs[k + 4], refs[k + 5])[refs[k + 5] as string];
    const diff = width === 7 ? refs[k + 6] : 0;
    let value = source;
    if (diff !== 0) {
      if (!isRecord(diff) || !isRecord(source)) throw new RunRecordError('malformed run record difference');
      const rebuilt = { ...source };
      for (const key of Object.keys(diff)) {
        if (key === '__proto__') throw new RunRecordError('malformed run record difference');
        rebuilt[key] = diff[key];
      }
      value = rebuilt;
    }
    at(refs[k], refs[k + 1], refs[k + 2])[refs[k + 2] as string] = value;
  }
  return events;
}

function version1Events(r: StoredRecord): RunEvent[] {
  const runId = r.runId as string;
  const seq = r.seq as number;
  return (r.events as Record<string, unknown>[]).map(
    (e, i) => ({ type: e['type'], runId, seq: seq + i, ...e }) as unknown as RunEvent,
  );
}

function version2Events(r: StoredRecord): RunEvent[] {
  const runId = r.runId as string;
  const seq = r.seq as number;
  const at0 = r.at;
  const ids = r.ids;
  const types = r.types;
  if (typeof at0 !== 'number' || !Array.isArray(ids) || !Array.isArray(types))
    throw new RunRecordError('malformed run record');
  const idAt = (k: unknown): string => {
    const id: unknown = ids[k as number];
    if (typeof id !== 'string') throw new RunRecordError('malformed run record node');
    return id;
  };
  return (r.events as unknown[]).map((e, i): RunEvent => {
    if (Array.isArray(e)) {
      const [kind, dt, node, ports, attempts, time] = e as unknown[];
      if (typeof dt !== 'number' || !isRecord(ports)) throw new RunRecordError('malformed run record event');
      if (kind === STARTED)
        return { type: 'node.started', runId, seq: seq + i, at: at0 + dt, nodeId: idAt(node), inputs: ports };
      if (kind === SUCCEEDED && typeof attempts === 'number' && typeof time === 'number')
        return {
          type: 'node.succeeded',
          runId,
          seq: seq + i,
          at: at0 + dt,
          nodeId: idAt(node),
          outputs: ports,
          attempts,
          ms: Number.isInteger(time) ? time / 1000 : time,
        };
      throw new RunRecordError('malformed run record event');
    }
    if (!isRecord(e)) throw new RunRecordError('malformed run record event');
    const event = { type: e['type'], runId, seq: seq + i, ...e } as Record<string, unknown>;
    const nodes = e['nodes'];
    if (e['type'] === 'run.started' && isRecord(nodes)) {
      const t = nodes['t'];
      if (!Array.isArray(t)) throw new RunRecordError('malformed run record node list');
      event['nodes'] = t.map((k: unknown, n) => {
        const type: unknown = types[k as number];
        if (typeof type !== 'string') throw new RunRecordError('malformed run record node list');
        return { id: idAt(n), type };
      });
    }
    return event as unknown as RunEvent;
  });
}
