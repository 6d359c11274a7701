/**
 * Waiting and resuming: a node that waits for a decision ends the run's execution in status `waiting` once
 * nothing else can run; `Runtime.resume` goes on from the recorded outcomes with the decision, running nothing
 * upstream again, and exactly once even when several decisions arrive together.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime, ResumeError, type RunResult } from './executor.js';
import { foldRun, isTerminal, waitingNodes, type RunEvent } from './events.js';
import { MemoryRunStore, RunStoreConflictError, type RunStore } from './store.js';
import { flow, testRegistry, Trace } from './test-helpers/nodes.js';

const input = {
  id: 'in',
  type: 'io.input',
  config: { schema: { type: 'object', properties: { x: { type: 'number' } } } },
};
const out = (id: string, name = id) => ({ id, type: 'io.output', config: { name } });
const step = (id: string, config: Record<string, unknown> = {}) => ({ id, type: 'test.step', config });
const wait = (id: string, config: Record<string, unknown> = {}) => ({ id, type: 'test.wait', config });

/** in -> a -> w (waits) -> b -> result; and in -> c (slow, in parallel) -> side. */
const reviewFlow = flow(
  [
    input,
    step('a', { add: 1 }),
    wait('w'),
    step('b', { add: 100 }),
    out('result'),
    step('c', { delayMs: 40 }),
    out('side'),
  ],
  ['in.x->a.in', 'a.out->w.in', 'w.out->b.in', 'b.out->result.value', 'in.x->c.in', 'c.out->side.value'],
);

const count = (trace: Trace, id: string) => trace.started.filter((s) => s === id).length;
const types = (events: RunEvent[]) => events.map((e) => ('nodeId' in e ? `${e.type}:${e.nodeId}` : e.type));
/** The log as a server stores and reads it back (JSON). */
const stored = (store: MemoryRunStore, runId: string) =>
  JSON.parse(JSON.stringify(store.events(runId))) as RunEvent[];

async function waitingRun(trace = new Trace(), doc: unknown = reviewFlow) {
  const store = new MemoryRunStore();
  const runtime = createRuntime({ registry: testRegistry(trace), store });
  const result = await runtime.run(doc, { x: 1 });
  return { store, runtime, result, trace };
}

describe('a node that waits for a decision', () => {
  it('ends the execution in status waiting once the parallel branches have finished', async () => {
    const { store, result, trace } = await waitingRun();
    expect(result.status).toBe('waiting');
    expect(result.waiting).toEqual([{ nodeId: 'w', task: { queue: 'q', value: 2 } }]);
    // The branch that did not wait already gave its output.
    expect(result.outputs).toEqual({ side: 2 });
    expect(result.nodes['c']?.status).toBe('succeeded');
    expect(result.nodes['b']?.status).toBe('pending');
    const events = store.events(result.runId);
    // The slow branch c finished after w began waiting, and the run was suspended only then.
    const order = types(events);
    expect(order.indexOf('node.waiting:w')).toBeLessThan(order.indexOf('node.succeeded:c'));
    expect(events.at(-1)).toMatchObject({ type: 'run.suspended', waiting: ['w'] });
    const state = foldRun(events);
    expect(state.status).toBe('waiting');
    expect(isTerminal(state.status)).toBe(false);
    expect(waitingNodes(state)).toEqual(['w']);
    expect(state.nodes['w']).toMatchObject({ status: 'waiting', task: { queue: 'q', value: 2 } });
    expect(count(trace, 'w')).toBe(1);
  });

  it('is resumed with the decision from the recorded log, by another runtime (a restart), nothing upstream re-run', async () => {
    const { store, result, trace } = await waitingRun();
    const suspendedAt = store.events(result.runId).at(-1)?.seq ?? -1;
    // A new runtime, as after a restart, with the log as it was stored.
    const restarted = createRuntime({ registry: testRegistry(trace), store });
    const handle = restarted.resume(reviewFlow, stored(store, result.runId), { w: { add: 5 } });
    expect(handle.runId).toBe(result.runId);
    const done = await handle.result;
    expect(done.status).toBe('succeeded');
    expect(done.outputs).toEqual({ result: 2 + 5 + 100, side: 2 });
    expect(count(trace, 'a')).toBe(1);
    expect(count(trace, 'c')).toBe(1);
    expect(count(trace, 'w')).toBe(2);
    expect(count(trace, 'b')).toBe(1);
    const events = store.events(result.runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const after = events.filter((e) => e.seq > suspendedAt);
    expect(types(after)).toEqual([
      'run.resumed',
      'node.started:w',
      'node.succeeded:w',
      'node.started:b',
      'node.succeeded:b',
      'node.started:result',
      'node.succeeded:result',
      'run.finished',
    ]);
    expect(after[0]).toMatchObject({ type: 'run.resumed', decisions: { w: { add: 5 } } });
    const state = foldRun(events);
    expect(state.status).toBe('succeeded');
    expect(state.nodes['w']).toMatchObject({ status: 'succeeded', outputs: { out: 7 }, task: { value: 2 } });
    // The handle's own log and state cover the whole run.
    expect(handle.state().status).toBe('succeeded');
    const seen: RunEvent[] = [];
    for await (const e of handle.events()) seen.push(e);
    expect(seen.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
  });

  it('keeps branch choices and skips from the first execution without recording them twice', async () => {
    const doc = flow(
      [
        input,
        { id: 'pick', type: 'test.if', config: { take: false } },
        step('yes1'),
        step('yes2'),
        wait('w'),
        step('after'),
        out('result'),
      ],
      [
        'in.x->pick.in',
        'pick.yes->yes1.in',
        'yes1.out->yes2.in',
        'pick.no->w.in',
        'w.out->after.in',
        'after.out->result.value',
      ],
    );
    const { store, result, runtime, trace } = await waitingRun(new Trace(), doc);
    expect(result.status).toBe('waiting');
    const done = await runtime.resume(doc, stored(store, result.runId), { w: { add: 1 } }).result;
    expect(done).toMatchObject({ status: 'succeeded', outputs: { result: 1 + 1 + 1 } });
    const events = store.events(result.runId);
    expect(events.filter((e) => e.type === 'node.skipped').map((e) => 'nodeId' in e && e.nodeId)).toEqual([
      'yes1',
      'yes2',
    ]);
    expect(count(trace, 'yes1')).toBe(0);
    expect(done.nodes['yes2']?.status).toBe('skipped');
  });

  it('with two reviews in parallel, goes on with the one decided and waits again for the other', async () => {
    const doc = flow(
      [input, wait('w1'), wait('w2'), step('after1'), { id: 'join', type: 'test.sum' }, out('total')],
      [
        'in.x->w1.in',
        'in.x->w2.in',
        'w1.out->after1.in',
        'after1.out->join.a',
        'w2.out->join.b',
        'join.out->total.value',
      ],
    );
    const { store, result, runtime, trace } = await waitingRun(new Trace(), doc);
    expect(result.waiting?.map((w) => w.nodeId)).toEqual(['w1', 'w2']);
    const second = await runtime.resume(doc, stored(store, result.runId), { w1: { add: 10 } }).result;
    expect(second.status).toBe('waiting');
    expect(second.waiting).toEqual([{ nodeId: 'w2', task: { queue: 'q', value: 1 } }]);
    expect(second.nodes['after1']?.status).toBe('succeeded');
    expect(store.events(result.runId).at(-1)).toMatchObject({ type: 'run.suspended', waiting: ['w2'] });
    const last = await runtime.resume(doc, stored(store, result.runId), { w2: { add: 100 } }).result;
    expect(last).toMatchObject({ status: 'succeeded', outputs: { total: 1 + 10 + 1 + (1 + 100) } });
    expect([count(trace, 'w1'), count(trace, 'w2'), count(trace, 'after1'), count(trace, 'join')]).toEqual([
      2, 2, 1, 1,
    ]);
    expect(foldRun(store.events(result.runId)).status).toBe('succeeded');
  });

  it('resumes exactly once when several decisions arrive together (the store takes one run.resumed)', async () => {
    const { store, result, trace } = await waitingRun();
    const log = stored(store, result.runId);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        Promise.resolve().then(() => {
          const runtime = createRuntime({ registry: testRegistry(trace), store });
          return runtime.resume(reviewFlow, log, { w: { add: i } }).result;
        }),
      ),
    );
    const won = outcomes.filter((o): o is PromiseFulfilledResult<RunResult> => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const l of lost) expect(l.reason).toMatchObject({ name: 'ResumeError', code: 'CONFLICT' });
    expect(won[0]?.value.status).toBe('succeeded');
    expect(count(trace, 'w')).toBe(2);
    expect(count(trace, 'b')).toBe(1);
    expect(store.events(result.runId).filter((e) => e.type === 'run.resumed')).toHaveLength(1);
  });

  it('runs nothing when an asynchronous store refuses the run.resumed of a losing resume', async () => {
    const { store, result, trace } = await waitingRun();
    // A database with a unique (run, seq) key that answers later: the first resume's write wins.
    const taken = new Set<string>();
    const slowStore: RunStore = {
      append: (e) =>
        new Promise<void>((resolve, reject) =>
          setTimeout(() => {
            const key = `${e.runId}:${e.seq}`;
            if (taken.has(key)) reject(new RunStoreConflictError(e.runId, e.seq));
            else {
              taken.add(key);
              resolve();
            }
          }, 5),
        ),
    };
    const log = stored(store, result.runId);
    const runtime = createRuntime({ registry: testRegistry(trace), store: slowStore });
    const [a, b] = await Promise.all([
      runtime.resume(reviewFlow, log, { w: { add: 1 } }).result,
      runtime.resume(reviewFlow, log, { w: { add: 2 } }).result,
    ]);
    expect(a.status).toBe('succeeded');
    expect(b).toMatchObject({ status: 'failed', error: { code: 'RESUME_CONFLICT' } });
    expect(count(trace, 'w')).toBe(2);
    expect(count(trace, 'b')).toBe(1);
  });

  it('refuses to resume a run that does not wait, a node that does not wait, or another flow', async () => {
    const { store, result, runtime } = await waitingRun();
    const log = stored(store, result.runId);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ResumeError);
        return (err as ResumeError).code;
      }
      return 'no error';
    };
    expect(code(() => runtime.resume(reviewFlow, log, { a: { add: 1 } }))).toBe('NOT_A_WAITING_NODE');
    const other = {
      ...reviewFlow,
      nodes: reviewFlow.nodes.filter((n) => n.id !== 'side'),
      edges: reviewFlow.edges.slice(0, -1),
    };
    expect(code(() => runtime.resume(other, log, { w: { add: 1 } }))).toBe('FLOW_CHANGED');
    await runtime.resume(reviewFlow, log, { w: { add: 1 } }).result;
    expect(code(() => runtime.resume(reviewFlow, stored(store, result.runId), { w: { add: 1 } }))).toBe(
      'NOT_WAITING',
    );
  });

  it('takes the expiry path a decision gives: the node fails, or routes the error with onError', async () => {
    const { store, result, runtime, trace } = await waitingRun();
    const failed = await runtime.resume(reviewFlow, stored(store, result.runId), { w: { expire: true } })
      .result;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'REVIEW_EXPIRED', nodeId: 'w' } });
    expect(failed.nodes['b']?.status).toBe('skipped');
    expect(count(trace, 'b')).toBe(0);
    expect(foldRun(store.events(result.runId)).status).toBe('failed');

    const routed = flow(
      [
        input,
        { ...wait('w'), onError: { action: 'route' } },
        { id: 'expired', type: 'test.merge' },
        out('escalation'),
      ],
      ['in.x->w.in', 'w.error->expired.a', 'expired.out->escalation.value'],
    );
    const second = await waitingRun(new Trace(), routed);
    const done = await second.runtime.resume(routed, stored(second.store, second.result.runId), {
      w: { expire: true },
    }).result;
    expect(done).toMatchObject({
      status: 'succeeded',
      outputs: { escalation: { code: 'REVIEW_EXPIRED', nodeId: 'w' } },
    });
  });

  it('is cancelled by resuming with no decision and an aborted signal, recording the waiting node as skipped', async () => {
    const { store, result, runtime, trace } = await waitingRun();
    const controller = new AbortController();
    controller.abort(new Error('withdrawn by the applicant'));
    const done = await runtime.resume(
      reviewFlow,
      stored(store, result.runId),
      {},
      { signal: controller.signal },
    ).result;
    expect(done).toMatchObject({
      status: 'cancelled',
      error: { message: 'cancelled: withdrawn by the applicant' },
    });
    const events = store.events(result.runId);
    const suspended = events.find((e) => e.type === 'run.suspended')?.seq ?? -1;
    expect(types(events.filter((e) => e.seq > suspended && e.type === 'node.skipped'))).toEqual([
      'node.skipped:w',
      'node.skipped:b',
      'node.skipped:result',
    ]);
    expect(count(trace, 'w')).toBe(1);
    expect(foldRun(events).status).toBe('cancelled');
  });

  it('applies the run deadline to each execution, not to the time spent waiting', async () => {
    const doc = { ...reviewFlow, settings: { deadlineMs: 200 } };
    const { store, result, runtime } = await waitingRun(new Trace(), doc);
    expect(result.status).toBe('waiting');
    await new Promise((r) => setTimeout(r, 300));
    const done = await runtime.resume(doc, stored(store, result.runId), { w: { add: 0 } }).result;
    expect(done.status).toBe('succeeded');
    expect(done.ms).toBeGreaterThanOrEqual(300);
  });

  it('alone (runNode) reports what it waits for, and finishes with a decision', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const first = await runtime.runNode({ type: 'test.wait' }, { in: 3 });
    expect(first).toMatchObject({ status: 'waiting', task: { queue: 'q', value: 3 } });
    const second = await runtime.runNode({ type: 'test.wait' }, { in: 3 }, { resumedWith: { add: 4 } });
    expect(second).toMatchObject({ status: 'succeeded', outputs: { out: 7 } });
  });

  it('never retries a waiting node, and a deadline or failure elsewhere still ends a run that has one', async () => {
    const doc = flow(
      [
        input,
        { ...wait('w'), retry: { maxAttempts: 3 } },
        step('slow', { delayMs: 5_000 }),
        out('a'),
        out('b'),
      ],
      ['in.x->w.in', 'w.out->a.value', 'in.x->slow.in', 'slow.out->b.value'],
      { settings: { deadlineMs: 50 } },
    );
    const { result, trace, store } = await waitingRun(new Trace(), doc);
    expect(count(trace, 'w')).toBe(1);
    expect(result).toMatchObject({ status: 'failed', error: { code: 'RUN_DEADLINE' } });
    expect(result.nodes['w']?.status).toBe('skipped');
    expect(foldRun(store.events(result.runId)).status).toBe('failed');
  });
});
