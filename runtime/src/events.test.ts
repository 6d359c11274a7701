import { describe, expect, it } from 'vitest';
import { foldRun, initialRunState, isTerminal, reduceRun, waitingNodes, type RunEvent } from './events.js';

const events: RunEvent[] = [
  {
    type: 'run.started',
    runId: 'r',
    seq: 0,
    at: 1,
    flowId: 'f',
    flowName: 'F',
    input: { x: 1 },
    nodes: [
      { id: 'a', type: 't.a' },
      { id: 'b', type: 't.b' },
    ],
  },
  { type: 'node.started', runId: 'r', seq: 1, at: 2, nodeId: 'a', inputs: {} },
  { type: 'node.streamed', runId: 'r', seq: 2, at: 3, nodeId: 'a', chunk: 'Hel' },
  { type: 'node.streamed', runId: 'r', seq: 3, at: 3, nodeId: 'a', chunk: 'lo' },
  {
    type: 'node.retrying',
    runId: 'r',
    seq: 4,
    at: 4,
    nodeId: 'a',
    attempt: 1,
    error: { message: 'x', code: 'X' },
    delayMs: 5,
  },
  { type: 'node.succeeded', runId: 'r', seq: 5, at: 9, nodeId: 'a', outputs: { out: 1 }, attempts: 2, ms: 7 },
  { type: 'node.skipped', runId: 'r', seq: 6, at: 9, nodeId: 'b', reason: 'branch-not-taken' },
  { type: 'run.finished', runId: 'r', seq: 7, at: 10, status: 'succeeded', outputs: { y: 1 }, ms: 9 },
];

describe('run state', () => {
  it('is the fold of the events', () => {
    const s = foldRun(events);
    expect(s).toMatchObject({ status: 'succeeded', outputs: { y: 1 }, lastSeq: 7, order: ['a', 'b'] });
    expect(s.nodes['a']).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      streamed: 'Hello',
      outputs: { out: 1 },
      ms: 7,
    });
    expect(s.nodes['a']?.error).toBeUndefined();
    expect(s.nodes['b']).toMatchObject({ status: 'skipped', skipReason: 'branch-not-taken' });
  });

  it('reduceRun is pure and agrees with foldRun', () => {
    let s = initialRunState('r');
    const snapshots = [];
    for (const e of events) {
      const next = reduceRun(s, e);
      snapshots.push(s);
      s = next;
    }
    expect(s).toEqual(foldRun(events));
    // Earlier states were not changed by later events.
    expect(snapshots[2]?.nodes['a']?.streamed).toBe('');
    expect(snapshots[3]?.nodes['a']?.streamed).toBe('Hel');
  });

  it('marks interrupted runs', () => {
    const s = foldRun([
      ...events.slice(0, 3),
      { type: 'run.interrupted', runId: 'r', seq: 3, at: 5, reason: 'server restarted' },
    ]);
    expect(s.status).toBe('interrupted');
    expect(s.error).toEqual({ message: 'server restarted', code: 'INTERRUPTED' });
  });

  it('follows a run that waits for a decision and goes on after it, purely', () => {
    const waiting: RunEvent[] = [
      ...events.slice(0, 2),
      { type: 'node.waiting', runId: 'r', seq: 2, at: 3, nodeId: 'a', task: { queue: 'credit' } },
      { type: 'node.skipped', runId: 'r', seq: 3, at: 3, nodeId: 'b', reason: 'branch-not-taken' },
      { type: 'run.suspended', runId: 'r', seq: 4, at: 4, waiting: ['a'], outputs: { early: 1 }, ms: 3 },
    ];
    const paused = foldRun(waiting);
    expect(paused).toMatchObject({ status: 'waiting', suspendedAt: 4, outputs: { early: 1 } });
    expect(paused.nodes['a']).toMatchObject({ status: 'waiting', task: { queue: 'credit' } });
    expect(waitingNodes(paused)).toEqual(['a']);
    expect(isTerminal(paused.status)).toBe(false);

    const resumed: RunEvent[] = [
      ...waiting,
      { type: 'run.resumed', runId: 'r', seq: 5, at: 100, decisions: { a: { outcome: 'approve' } } },
      { type: 'node.started', runId: 'r', seq: 6, at: 100, nodeId: 'a', inputs: {} },
      {
        type: 'node.succeeded',
        runId: 'r',
        seq: 7,
        at: 101,
        nodeId: 'a',
        outputs: { out: 1 },
        attempts: 1,
        ms: 1,
      },
      { type: 'run.finished', runId: 'r', seq: 8, at: 102, status: 'succeeded', outputs: { y: 1 }, ms: 101 },
    ];
    let s = initialRunState('r');
    const states = [];
    for (const e of resumed) states.push((s = reduceRun(s, e)));
    expect(s).toEqual(foldRun(resumed));
    expect(states[4]?.status).toBe('waiting');
    expect(states[5]).toMatchObject({ status: 'running', resumedAt: 100 });
    // The state at the suspension was not changed by the events after it.
    expect(states[4]?.nodes['a']?.status).toBe('waiting');
    expect(s.nodes['a']).toMatchObject({ status: 'succeeded', task: { queue: 'credit' } });
    expect(isTerminal(s.status)).toBe(true);
  });
});
