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

const version1 =
  '{"v":1,"runId":"r","seq":4,"events":[{"type":"run.started","at":1,"flowId":"f","flowName":"F","input":{"id":"req-1","amount":12.5},"nodes":[]},{"type":"node.started","at":2,"nodeId":"in","inputs":{}},{"type":"node.succeeded","at":2,"nodeId":"in","outputs":{"id":"req-1","value":0},"attempts":1,"ms":0.25},{"type":"node.started","at":3,"nodeId":"a","inputs":{"data":0,"also":0}},{"type":"node.succeeded","at":3,"nodeId":"a","outputs":{"result":{"score":3,"reasons":["x"]}},"attempts":1,"ms":1},{"type":"node.started","at":3,"nodeId":"b","inputs":{"data":0,"n":2}},{"type":"node.logged","at":3,"nodeId":"b","level":"info","message":"hi","data":{"shared":{"score":3,"reasons":["x"]}}},{"type":"run.finished","at":4,"status":"succeeded","outputs":{"out":0},"ms":3}],"refs":[2,1,"value",0,2,"input",3,0,"data",0,2,"input",3,0,"also",0,2,"input",5,0,"data",4,1,"result",7,1,"out",4,1,"result"]}';

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

  it('still reads rows of events written one by one, and records of version 1', () => {
    const live = events();
    expect(decodeEventRow(JSON.stringify(live))).toEqual(live);
    // As round 2 stored this run (each value once, no tuples, six entries a reference).
    expect(decodeEventRow(version1)).toEqual(live);
  });

  it('writes a merge step as its input and the difference, and the timings as small integers', () => {
    const base = { id: 'req-1', a: 12.5, nested: { deep: [1, 2] } };
    const merged = { ...base, a: 13, f1: 1 };
    const again = { ...merged, f2: 4 };
    const run: RunEvent[] = [
      {
        type: 'node.started',
        runId: 'r',
        seq: 0,
        at: 1_796_663_600_343,
        nodeId: 's1',
        inputs: { data: base },
      },
      {
        type: 'node.succeeded',
        runId: 'r',
        seq: 1,
        at: 1_796_663_600_345,
        nodeId: 's1',
        outputs: { result: merged },
        attempts: 1,
        ms: 0.353,
      },
      {
        type: 'node.started',
        runId: 'r',
        seq: 2,
        at: 1_796_663_600_345,
        nodeId: 's2',
        inputs: { data: merged },
      },
      {
        type: 'node.succeeded',
        runId: 'r',
        seq: 3,
        at: 1_796_663_600_346,
        nodeId: 's2',
        // A duration the executor did not round: kept as it was.
        outputs: { result: again, also: { unrelated: true } },
        attempts: 2,
        ms: 0.8905790000000025,
      },
    ];
    const record = encodeRunRecord(run) as string;
    const back = decodeEventRow(record);
    expect(back).toEqual(run);
    // Key order too: the rebuilt events print as the live ones do.
    expect(JSON.stringify(back)).toBe(JSON.stringify(run));
    expect(record.split('"deep"')).toHaveLength(2);
    expect(record.split('"id"')).toHaveLength(2);
    expect(record).toContain(',353]');
    expect(record).toContain('0.8905790000000025');
  });

  it('writes in full what a difference could not rebuild exactly', () => {
    const base = { b: 1, a: 2 };
    const cases: Record<string, unknown>[] = [
      { a: 2, b: 1, c: 3 }, // reordered
      { b: 1 }, // a key dropped
      { b: 1, a: 2, 1: 'x' }, // an index key enumerates first
      JSON.parse('{"b": 1, "a": 2, "__proto__": {"polluted": true}}') as Record<string, unknown>,
    ];
    for (const result of cases) {
      const run: RunEvent[] = [
        { type: 'node.started', runId: 'r', seq: 0, at: 5, nodeId: 's', inputs: { data: base } },
        {
          type: 'node.succeeded',
          runId: 'r',
          seq: 1,
          at: 6,
          nodeId: 's',
          outputs: { result },
          attempts: 1,
          ms: 1,
        },
      ];
      const back = decodeEventRow(encodeRunRecord(run) as string);
      expect(back).toEqual(run);
      expect(JSON.stringify(back)).toBe(JSON.stringify(run));
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
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
    expect(() => decodeEventRow('{"v":3,"runId":"r","seq":0,"events":[],"refs":[]}')).toThrow(RunRecordError);
    const v2 = (events: string, refs: string) =>
      `{"v":2,"runId":"r","seq":0,"at":1,"ids":["s"],"types":[],"events":${events},"refs":${refs}}`;
    expect(() => decodeEventRow(v2('[[0,0,7,{}]]', '[]'))).toThrow(RunRecordError);
    expect(() => decodeEventRow(v2('[[5,0,0,{}]]', '[]'))).toThrow(RunRecordError);
    expect(() => decodeEventRow(v2('[{"type":"run.started","nodes":{"t":[9]}}]', '[]'))).toThrow(
      RunRecordError,
    );
    // A difference that would set a prototype, or apply to a value that is not an object.
    const twoSteps = '[[0,0,0,{"data":{"a":1}}],[1,0,0,{"result":0},1,5]]';
    expect(() => decodeEventRow(v2(twoSteps, '[1,1,"result",0,0,"data",{"__proto__":{"x":1}}]'))).toThrow(
      RunRecordError,
    );
    expect(() => decodeEventRow(v2(twoSteps, '[1,1,"result",0,0,"data",[1]]'))).toThrow(RunRecordError);
    expect(decodeEventRow(v2(twoSteps, '[1,1,"result",0,0,"data",{"b":2}]'))[1]).toMatchObject({
      outputs: { result: { a: 1, b: 2 } },
      ms: 0.005,
    });
    expect(() => decodeEventRow('{"v":1,"runId":"r","seq":"0","events":[],"refs":[]}')).toThrow(
      RunRecordError,
    );
    expect(() =>
      decodeEventRow('{"v":1,"runId":"r","seq":0,"events":[{}],"refs":[0,0,"x",5,1,"y"]}'),
    ).toThrow(RunRecordError);
    expect(() => decodeEventRow('7')).toThrow(RunRecordError);
  });
});
