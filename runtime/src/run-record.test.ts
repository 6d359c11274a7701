import { describe, expect, it } from 'vitest';
import type { RunEvent } from './events.js';
import { decodeEventRow, encodeRunRecord, RunRecordError } from './run-record.js';

// A run as the executor logs it: the input handed to `in`, `in`'s output to `a` and `b`, `b`'s to the run's end.
const input = { id: 'req-1', amount: 12.5 };
const shared = { score: 3, reasons: ['x'] };
const events = (): RunEvent[] => [
  { type: 'run.started', runId: 'r', seq: 4, at: 1, flowId: 'f', flowName: 'F', input, nodes: [] },
  { type: 'node.started', runId: 'r', seq: 5, at: 2, nodeId: 'in', inputs: {} },
  {
    type: 'node.succeeded',
    runId: 'r',
    seq: 6,
    at: 2,
    nodeId: 'in',
    outputs: { id: 'req-1', value: input },
    attempts: 1,
    ms: 0.25,
  },
  { type: 'node.started', runId: 'r', seq: 7, at: 3, nodeId: 'a', inputs: { data: input, also: input } },
  {
    type: 'node.succeeded',
    runId: 'r',
    seq: 8,
    at: 3,
    nodeId: 'a',
    outputs: { result: shared },
    attempts: 1,
    ms: 1,
  },
  { type: 'node.started', runId: 'r', seq: 9, at: 3, nodeId: 'b', inputs: { data: shared, n: 2 } },
  {
    type: 'node.logged',
    runId: 'r',
    seq: 10,
    at: 3,
    nodeId: 'b',
    level: 'info',
    message: 'hi',
    data: { shared },
  },
  { type: 'run.finished', runId: 'r', seq: 11, at: 4, status: 'succeeded', outputs: { out: shared }, ms: 3 },
];

describe('the compact run record', () => {
  it('rebuilds the events exactly, each value handed on written once', () => {
    const live = events();
    const record = encodeRunRecord(live) as string;
    expect(decodeEventRow(record)).toEqual(live);
    expect(record.split('"amount"')).toHaveLength(2);
    // node.logged's data is not a port map: written in full, as it was.
    expect(record.split('"reasons"')).toHaveLength(3);
    expect(record.length).toBeLessThan(JSON.stringify(live).length);
    // The live events were not touched by the encoding.
    expect(live).toEqual(events());
  });

  it('still reads rows of events written one by one', () => {
    const live = events();
    expect(decodeEventRow(JSON.stringify(live))).toEqual(live);
  });

  it('gives nothing to encode for what it could not rebuild, so the caller writes events one by one', () => {
    const gap = events();
    gap.splice(3, 1);
    expect(encodeRunRecord(gap)).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const withCycle = events();
    (withCycle[2] as { outputs: Record<string, unknown> }).outputs['bad'] = cyclic;
    expect(encodeRunRecord(withCycle)).toBeUndefined();
    expect(encodeRunRecord([])).toBeUndefined();
  });

  it('keeps a port named __proto__ as data, never as a prototype', () => {
    const hostile = events();
    const outputs = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    (hostile[2] as { outputs: Record<string, unknown> }).outputs = outputs;
    (hostile[3] as { inputs: Record<string, unknown> }).inputs = outputs;
    const back = decodeEventRow(encodeRunRecord(hostile) as string);
    expect(back).toEqual(hostile);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses rows that are neither', () => {
    expect(() => decodeEventRow('{"v":2,"runId":"r","seq":0,"events":[],"refs":[]}')).toThrow(RunRecordError);
    expect(() => decodeEventRow('{"v":1,"runId":"r","seq":"0","events":[],"refs":[]}')).toThrow(
      RunRecordError,
    );
    expect(() =>
      decodeEventRow('{"v":1,"runId":"r","seq":0,"events":[{}],"refs":[0,0,"x",5,1,"y"]}'),
    ).toThrow(RunRecordError);
    expect(() => decodeEventRow('7')).toThrow(RunRecordError);
  });
});
