import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../api/types.js';
import { foldRun, ganttBars, initialRunState, reduceRun } from './run-state.js';

const base = { runId: 'r1' };
const events: RunEvent[] = [
  {
    ...base,
    seq: 0,
    at: 1000,
    type: 'run.started',
    flowId: 'f',
    flowName: 'F',
    input: { a: 1 },
    nodes: [
      { id: 'in', type: 'io.input' },
      { id: 'a', type: 'x.a' },
      { id: 'b', type: 'x.b' },
      { id: 'out', type: 'io.output' },
    ],
  },
  { ...base, seq: 1, at: 1001, type: 'node.started', nodeId: 'in', inputs: {} },
  {
    ...base,
    seq: 2,
    at: 1005,
    type: 'node.succeeded',
    nodeId: 'in',
    outputs: { value: { a: 1 } },
    attempts: 1,
    ms: 4,
  },
  { ...base, seq: 3, at: 1006, type: 'node.started', nodeId: 'a', inputs: {} },
  { ...base, seq: 4, at: 1006, type: 'node.started', nodeId: 'b', inputs: {} },
  { ...base, seq: 5, at: 1010, type: 'node.streamed', nodeId: 'b', chunk: 'Hel' },
  { ...base, seq: 6, at: 1011, type: 'node.streamed', nodeId: 'b', chunk: 'lo' },
  { ...base, seq: 7, at: 1050, type: 'node.succeeded', nodeId: 'a', outputs: { x: 1 }, attempts: 1, ms: 44 },
  {
    ...base,
    seq: 8,
    at: 1080,
    type: 'node.failed',
    nodeId: 'b',
    error: { message: 'boom', code: 'MODEL_FAILED' },
    attempts: 2,
    ms: 74,
  },
  { ...base, seq: 9, at: 1081, type: 'node.skipped', nodeId: 'out', reason: 'upstream-failed' },
  {
    ...base,
    seq: 10,
    at: 1082,
    type: 'run.finished',
    status: 'failed',
    outputs: {},
    ms: 82,
    error: { message: 'boom', code: 'MODEL_FAILED', nodeId: 'b' },
  },
];

describe('run state', () => {
  it('folds events into node statuses, streamed text and the run result', () => {
    const s = foldRun(events, 'r1');
    expect(s.status).toBe('failed');
    expect(s.nodes['in']?.status).toBe('succeeded');
    expect(s.nodes['b']).toMatchObject({ status: 'failed', streamed: 'Hello', attempts: 2 });
    expect(s.nodes['out']).toMatchObject({ status: 'skipped', skipReason: 'upstream-failed' });
    expect(s.error?.nodeId).toBe('b');
  });

  it('ignores events replayed after a reconnect and keeps untouched nodes shared', () => {
    const s1 = foldRun(events.slice(0, 6), 'r1');
    const again = reduceRun(s1, events[5]!);
    expect(again).toBe(s1);
    const s2 = reduceRun(s1, events[6]!);
    expect(s2.nodes['b']?.streamed).toBe('Hello');
    expect(s2.nodes['a']).toBe(s1.nodes['a']);
  });

  it('puts nodes that ran at the same time on separate timeline lanes', () => {
    const { bars, total } = ganttBars(foldRun(events, 'r1'), 2000);
    expect(bars.map((b) => [b.nodeId, b.lane])).toEqual([
      ['in', 0],
      ['a', 0],
      ['b', 1],
    ]);
    expect(bars.find((b) => b.nodeId === 'b')).toMatchObject({ start: 6, end: 80 });
    expect(total).toBe(82);
    expect(ganttBars(initialRunState('x'), 0).bars).toEqual([]);
  });
});
