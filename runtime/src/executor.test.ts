import { describe, expect, it } from 'vitest';
import { createRuntime, FlowInputError, FlowValidationError } from './executor.js';
import type { RunEvent } from './events.js';
import { MemoryRunStore } from './store.js';
import { flow, testRegistry, Trace } from './test-helpers/nodes.js';

const input = (props: Record<string, unknown> = { x: { type: 'number' } }) => ({
  id: 'in',
  type: 'io.input',
  config: { schema: { type: 'object', properties: props } },
});
const out = (id: string, name = id) => ({ id, type: 'io.output', config: { name } });
const step = (id: string, config: Record<string, unknown> = {}) => ({ id, type: 'test.step', config });

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const e of events) all.push(e);
  return all;
}

describe('scheduler', () => {
  it('runs a diamond: both middle nodes after the top, the join after both', async () => {
    const trace = new Trace();
    const runtime = createRuntime({ registry: testRegistry(trace) });
    const doc = flow(
      [
        input(),
        step('a', { add: 1 }),
        step('b', { add: 10, delayMs: 20 }),
        step('c', { add: 100 }),
        { id: 'j', type: 'test.sum' },
        out('o', 'total'),
      ],
      ['in.x->a.in', 'a.out->b.in', 'a.out->c.in', 'b.out->j.a', 'c.out->j.b', 'j.out->o.value'],
    );
    const r = await runtime.run(doc, { x: 1 });
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toEqual({ total: 12 + 102 });
    expect(trace.started.indexOf('a')).toBeLessThan(trace.started.indexOf('b'));
    expect(trace.started.indexOf('a')).toBeLessThan(trace.started.indexOf('c'));
    expect(trace.started.indexOf('j')).toBeGreaterThan(trace.finished.indexOf('b'));
    expect(trace.started.indexOf('j')).toBeGreaterThan(trace.finished.indexOf('c'));
    // b is slow and c is not: they overlapped, so c finished first.
    expect(trace.finished.indexOf('c')).toBeLessThan(trace.finished.indexOf('b'));
  });

  it('fans out to independent branches concurrently up to the limit, then fans in', async () => {
    const trace = new Trace();
    const runtime = createRuntime({ registry: testRegistry(trace), concurrency: 3 });
    const branches = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    const doc = flow(
      [
        input(),
        ...branches.map((b) => step(b, { delayMs: 15 })),
        { id: 'j1', type: 'test.sum' },
        { id: 'j2', type: 'test.sum' },
        { id: 'j3', type: 'test.sum' },
        out('o'),
      ],
      [
        ...branches.map((b) => `in.x->${b}.in`),
        'b1.out->j1.a',
        'b2.out->j1.b',
        'b3.out->j1.c',
        'b4.out->j1.d',
        'b5.out->j2.a',
        'b6.out->j2.b',
        'j1.out->j3.a',
        'j2.out->j3.b',
        'j3.out->o.value',
      ],
    );
    const handle = runtime.start(doc, { x: 0 });
    const events = await collect(handle.events());
    const r = await handle.result;
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toEqual({ o: 6 });
    expect(trace.maxActive).toBe(3);
    expect(
      events.filter((e) => e.type === 'node.queued').map((e) => (e as { nodeId: string }).nodeId),
    ).toEqual(['b4', 'b5', 'b6']);
    // Every node ran exactly once.
    const started = events
      .filter((e) => e.type === 'node.started')
      .map((e) => (e as { nodeId: string }).nodeId);
    expect(new Set(started).size).toBe(started.length);
    expect(started).toHaveLength(11);
  });

  it('skips the branch not taken, transitively, and merges the branch that ran', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [
        input(),
        { id: 'if', type: 'test.if', config: { take: false } },
        step('yes1', { add: 1 }),
        step('yes2', { add: 1 }),
        step('no1', { add: 100 }),
        { id: 'm', type: 'test.merge' },
        out('o', 'result'),
        out('y', 'yesOnly'),
      ],
      [
        'in.x->if.in',
        'if.yes->yes1.in',
        'yes1.out->yes2.in',
        'if.no->no1.in',
        'yes2.out->m.a',
        'no1.out->m.b',
        'm.out->o.value',
        'yes2.out->y.value',
      ],
    );
    const handle = runtime.start(doc, { x: 1 });
    const events = await collect(handle.events());
    const r = await handle.result;
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toEqual({ result: 101 });
    const skipped = events.filter((e) => e.type === 'node.skipped') as Extract<
      RunEvent,
      { type: 'node.skipped' }
    >[];
    expect(skipped.map((e) => [e.nodeId, e.reason]).sort()).toEqual([
      ['y', 'branch-not-taken'],
      ['yes1', 'branch-not-taken'],
      ['yes2', 'branch-not-taken'],
    ]);
    expect(r.nodes['m']?.status).toBe('succeeded');
    expect(handle.state().nodes['yes2']?.skipReason).toBe('branch-not-taken');
  });

  it('skips a join whose every input was not taken', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [
        input(),
        { id: 'if', type: 'test.if', config: { take: true } },
        step('n1'),
        step('n2'),
        { id: 'm', type: 'test.merge' },
        step('after'),
        out('o'),
        out('p'),
      ],
      [
        'in.x->if.in',
        'if.no->n1.in',
        'if.no->n2.in',
        'n1.out->m.a',
        'n2.out->m.b',
        'm.out->after.in',
        'after.out->o.value',
        'if.yes->p.value',
      ],
    );
    const r = await runtime.run(doc, { x: 5 });
    expect(r.status).toBe('succeeded');
    expect(r.nodes['m']?.status).toBe('skipped');
    expect(r.nodes['after']?.status).toBe('skipped');
    expect(r.outputs).toEqual({ p: 5 });
  });

  it('retries with backoff and counts attempts; non-retryable codes fail at once', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const ok = flow(
      [
        input(),
        {
          id: 'f',
          type: 'test.flaky',
          config: { failures: 2 },
          retry: { maxAttempts: 3, initialDelayMs: 5 },
        },
        out('o'),
      ],
      ['in.x->f.in', 'f.out->o.value'],
    );
    const handle = runtime.start(ok, { x: 1 });
    const events = await collect(handle.events());
    const r = await handle.result;
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toEqual({ o: 3 });
    expect(r.nodes['f']?.attempts).toBe(3);
    const retries = events.filter((e) => e.type === 'node.retrying') as Extract<
      RunEvent,
      { type: 'node.retrying' }
    >[];
    expect(retries.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 5],
      [2, 10],
    ]);

    const exhausted = flow(
      [
        input(),
        {
          id: 'f',
          type: 'test.flaky',
          config: { failures: 5 },
          retry: { maxAttempts: 2, initialDelayMs: 1 },
        },
        out('o'),
      ],
      ['in.x->f.in', 'f.out->o.value'],
    );
    const r2 = await runtime.run(exhausted, { x: 1 });
    expect(r2.status).toBe('failed');
    expect(r2.nodes['f']).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'UPSTREAM_DOWN' } });
    expect(r2.error).toMatchObject({ code: 'UPSTREAM_DOWN', nodeId: 'f' });
    expect(r2.nodes['o']?.status).toBe('skipped');

    const nonRetryable = flow(
      [
        input(),
        {
          id: 'f',
          type: 'test.flaky',
          config: { failures: 1, code: 'BAD_REQUEST' },
          retry: { maxAttempts: 5, initialDelayMs: 1, nonRetryable: ['BAD_REQUEST'] },
        },
        out('o'),
      ],
      ['in.x->f.in', 'f.out->o.value'],
    );
    const r3 = await runtime.run(nonRetryable, { x: 1 });
    expect(r3.nodes['f']).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'BAD_REQUEST' } });
  });

  it('times out a node that ignores its signal, and retries a timeout', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [
        input(),
        { id: 'h', type: 'test.hang', timeoutMs: 30, retry: { maxAttempts: 2, initialDelayMs: 1 } },
        out('o'),
      ],
      ['in.x->h.in', 'h.out->o.value'],
    );
    const r = await runtime.run(doc, { x: 1 });
    expect(r.status).toBe('failed');
    expect(r.nodes['h']).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'TIMEOUT' } });
  });

  it('cancels mid-run: the running node sees its signal abort and nothing else starts', async () => {
    const trace = new Trace();
    const runtime = createRuntime({ registry: testRegistry(trace) });
    const doc = flow(
      [input(), step('slow', { delayMs: 5_000 }), step('next'), out('o')],
      ['in.x->slow.in', 'slow.out->next.in', 'next.out->o.value'],
    );
    const controller = new AbortController();
    const handle = runtime.start(doc, { x: 1 }, { signal: controller.signal });
    for await (const e of handle.events()) {
      if (e.type === 'node.started' && e.nodeId === 'slow') controller.abort();
    }
    const r = await handle.result;
    expect(r.status).toBe('cancelled');
    expect(r.nodes['slow']).toMatchObject({ status: 'failed', error: { code: 'CANCELLED' } });
    expect(r.nodes['next']?.status).toBe('skipped');
    expect(trace.finished).toContain('slow'); // its finally ran: the abort reached the node
    expect(trace.started).not.toContain('next');
    expect(r.ms).toBeLessThan(5_000);
    expect(handle.state().nodes['next']?.skipReason).toBe('run-cancelled');
  });

  it('cancels through the handle and fails on the run deadline', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [input(), { id: 'h', type: 'test.hang', timeoutMs: 60_000 }, out('o')],
      ['in.x->h.in', 'h.out->o.value'],
    );
    const handle = runtime.start(doc, { x: 1 });
    setTimeout(() => handle.cancel('operator stopped it'), 10);
    const r = await handle.result;
    expect(r.status).toBe('cancelled');
    expect(r.error?.message).toBe('cancelled: operator stopped it');

    const late = await runtime.run(doc, { x: 1 }, { deadlineMs: 20 });
    expect(late.status).toBe('failed');
    expect(late.error?.code).toBe('RUN_DEADLINE');
  });

  it('yields to the event loop during long synchronous stretches, so a deadline can stop them', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    // 2,000 synchronous nodes of 50 µs each: 100 ms of work no node can interrupt.
    const n = 2_000;
    const nodes = [
      input(),
      ...Array.from({ length: n }, (_, i) => ({ id: `s${i}`, type: 'test.spin', config: { us: 50 } })),
      out('o'),
    ];
    const edges = [
      'in.x->s0.in',
      ...Array.from({ length: n - 1 }, (_, i) => `s${i}.out->s${i + 1}.in`),
      `s${n - 1}.out->o.value`,
    ];
    const cut = await runtime.run(flow(nodes, edges), { x: 0 }, { deadlineMs: 10 });
    expect(cut.status).toBe('failed');
    expect(cut.error?.code).toBe('RUN_DEADLINE');
    const ran = Object.values(cut.nodes).filter((s) => s.status === 'succeeded').length;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(n);
  });

  it('fails fast: a failing node aborts its running siblings', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [
        input(),
        { id: 'bad', type: 'test.flaky', config: { failures: 9 } },
        step('slow', { delayMs: 5_000 }),
        out('o'),
        out('p'),
      ],
      ['in.x->slow.in', 'in.x->bad.in', 'bad.out->o.value', 'slow.out->p.value'],
    );
    const r = await runtime.run(doc, { x: 1 });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ nodeId: 'bad' });
    expect(r.nodes['slow']).toMatchObject({ status: 'failed', error: { code: 'CANCELLED' } });
    expect(r.ms).toBeLessThan(5_000);
  });

  it('onError continue hands on the fallback; route sends the error down the error output', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const cont = flow(
      [
        input(),
        {
          id: 'f',
          type: 'test.flaky',
          config: { failures: 9 },
          onError: { action: 'continue', fallback: { out: -1 } },
        },
        out('o'),
      ],
      ['in.x->f.in', 'f.out->o.value'],
    );
    const r1 = await runtime.run(cont, { x: 1 });
    expect(r1.status).toBe('succeeded');
    expect(r1.outputs).toEqual({ o: -1 });
    expect(r1.nodes['f']?.status).toBe('failed');

    const noFallback = flow(
      [
        input(),
        { id: 'f', type: 'test.flaky', config: { failures: 9 }, onError: { action: 'continue' } },
        out('o'),
        out('p'),
      ],
      ['in.x->f.in', 'f.out->o.value', 'in.x->p.value'],
    );
    const h = runtime.start(noFallback, { x: 7 });
    const r2 = await h.result;
    expect(r2.outputs).toEqual({ p: 7 });
    expect(h.state().nodes['o']?.skipReason).toBe('upstream-failed');

    const route = flow(
      [
        input(),
        { id: 'f', type: 'test.flaky', config: { failures: 9 }, onError: { action: 'route' } },
        out('o'),
        out('err'),
      ],
      ['in.x->f.in', 'f.out->o.value', 'f.error->err.value'],
    );
    const r3 = await runtime.run(route, { x: 1 });
    expect(r3.status).toBe('succeeded');
    expect(r3.outputs).toEqual({
      err: { message: 'attempt 1 failed', code: 'UPSTREAM_DOWN', nodeId: 'f', attempts: 1 },
    });
  });

  it('evaluates config expressions over the input and upstream results', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const doc = flow(
      [
        input(),
        step('a', { add: 5 }),
        { id: 'e', type: 'test.echo', config: { value: '=input.x * 100 + nodes.a.out' } },
        out('o'),
      ],
      ['in.x->a.in', 'a.out->e.in', 'e.out->o.value'],
    );
    const r = await runtime.run(doc, { x: 2 });
    expect(r.outputs).toEqual({ o: 207 });

    const wrongType = flow(
      [input(), { id: 'e', type: 'test.echo', config: { value: '="text"' } }, out('o')],
      ['in.x->e.in', 'e.out->o.value'],
    );
    const r2 = await runtime.run(wrongType, { x: 2 });
    expect(r2.nodes['e']).toMatchObject({ status: 'failed', error: { code: 'INVALID_CONFIG' } });
  });

  it('coerces values along edges and validates outputs against their ports', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    const coerced = flow(
      [
        input(),
        { id: 'n', type: 'test.emit', config: { value: { number: 42 } } },
        { id: 't', type: 'test.text' },
        out('o'),
      ],
      ['in.x->n.in', 'n.number->t.text', 't.out->o.value'],
    );
    expect((await runtime.run(coerced, { x: 1 })).outputs).toEqual({ o: '42' });

    const checked = flow(
      [
        input(),
        { id: 'n', type: 'test.emit', config: { value: { any: [1, 2] } } },
        { id: 't', type: 'test.table' },
        out('o'),
      ],
      ['in.x->n.in', 'n.any->t.rows', 't.count->o.value'],
    );
    const r = await runtime.run(checked, { x: 1 });
    expect(r.nodes['t']).toMatchObject({ status: 'failed', error: { code: 'INVALID_INPUT' } });
    expect(r.nodes['t']?.error?.message).toContain('not a valid table');

    const badOutput = flow(
      [input(), { id: 'n', type: 'test.emit', config: { value: { number: 'NaN?' } } }, out('o')],
      ['in.x->n.in', 'n.number->o.value'],
    );
    const r2 = await runtime.run(badOutput, { x: 1 });
    expect(r2.nodes['n']).toMatchObject({ status: 'failed', error: { code: 'INVALID_OUTPUT' } });
  });

  it('refuses invalid flows and inputs before recording anything', () => {
    const store = new MemoryRunStore();
    const runtime = createRuntime({ registry: testRegistry(), store });
    expect(() => runtime.start(flow([input()], []), {})).toThrow(FlowValidationError);
    const doc = flow(
      [
        {
          ...input(),
          config: { schema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
        },
        out('o'),
      ],
      ['in.x->o.value'],
    );
    try {
      runtime.start(doc, { x: 'one' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FlowInputError);
      expect((err as FlowInputError).errors).toEqual([
        { path: 'x', message: expect.stringContaining('number') },
      ]);
    }
    expect(store.runIds()).toEqual([]);
  });

  it('records every event in the store; the fold of the log is the run state', async () => {
    const store = new MemoryRunStore();
    const runtime = createRuntime({
      registry: testRegistry(),
      store,
      services: { secrets: { get: async (n) => (n === 'api' ? 'sk-very-secret-value' : undefined) } },
    });
    const doc = flow(
      [input(), { id: 's', type: 'test.secret', config: { name: 'api' } }, out('o')],
      ['in.x->s.in', 's.length->o.value'],
    );
    const handle = runtime.start(doc, { x: 1 }, { meta: { version: 3 } });
    const r = await handle.result;
    expect(r.outputs).toEqual({ o: 20 });
    const events = store.events(r.runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ type: 'run.started', meta: { version: 3 } });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const state = store.get(r.runId);
    expect(state?.status).toBe('succeeded');
    expect(state?.nodes['s']?.streamed).toBe('token-1 ');
    // The secret never reaches the log.
    const log = state?.nodes['s']?.logs[0];
    expect(log?.message).toBe('connecting with key [secret]');
    expect(log?.data).toEqual({ key: '[secret]' });
    expect(JSON.stringify(events)).not.toContain('sk-very-secret-value');

    const missing = flow(
      [input(), { id: 's', type: 'test.secret', config: { name: 'nope' } }, out('o')],
      ['in.x->s.in', 's.length->o.value'],
    );
    expect((await runtime.run(missing, { x: 1 })).nodes['s']?.error?.code).toBe('SECRET_NOT_FOUND');
  });

  it('with keepLog false records every event in the store, and its handle keeps none', async () => {
    const store = new MemoryRunStore();
    const runtime = createRuntime({ registry: testRegistry(), store });
    const doc = flow(
      [input(), step('a'), step('b'), out('o')],
      ['in.x->a.in', 'a.out->b.in', 'b.out->o.value'],
    );
    const kept = runtime.start(doc, { x: 1 });
    const bare = runtime.start(doc, { x: 1 }, { keepLog: false });
    const [r1, r2] = await Promise.all([kept.result, bare.result]);
    expect(r2.outputs).toEqual(r1.outputs);
    const types = (id: string) => store.events(id).map((e) => e.type);
    expect(types(r2.runId)).toEqual(types(r1.runId));
    expect(store.get(r2.runId)?.status).toBe('succeeded');
    expect(kept.state().status).toBe('succeeded');
    expect(() => bare.state()).toThrow(/keeps no event log/);
    expect(() => bare.events()).toThrow(/keeps no event log/);
  });

  it('fails the run when the store cannot record it', async () => {
    const runtime = createRuntime({
      registry: testRegistry(),
      store: {
        append(e) {
          if (e.type === 'node.succeeded') throw new Error('disk full');
        },
      },
    });
    const r = await runtime.run(flow([input(), step('a'), out('o')], ['in.x->a.in', 'a.out->o.value']), {
      x: 1,
    });
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ code: 'STORE_FAILED' });
  });

  it('fails the run, with no outputs, when its last events cannot be recorded', async () => {
    // A store that groups writes: the group holding run.finished fails to commit after the run computed its answer.
    const runtime = createRuntime({
      registry: testRegistry(),
      store: {
        append(e) {
          if (e.type === 'run.finished') return Promise.reject(new Error('database unavailable'));
          return undefined;
        },
      },
    });
    const r = await runtime.run(flow([input(), step('a'), out('o')], ['in.x->a.in', 'a.out->o.value']), {
      x: 1,
    });
    expect(r.status).toBe('failed');
    expect(r.outputs).toEqual({});
    expect(r.error).toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringContaining('database unavailable'),
    });
  });

  it('runs a single node alone with config and inputs validated', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    expect(await runtime.runNode({ type: 'test.step', config: { add: 2 } }, { in: 40 })).toMatchObject({
      status: 'succeeded',
      outputs: { out: 42 },
      attempts: 1,
    });
    expect(await runtime.runNode({ type: 'test.step', config: { add: 'x' } }, {})).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_CONFIG' },
    });
    expect(await runtime.runNode({ type: 'test.step', config: {} }, { in: 'x' })).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_INPUT' },
    });
    expect(await runtime.runNode({ type: 'test.step', config: {} }, { nope: 1 })).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_INPUT' },
    });
    expect(await runtime.runNode({ type: 'test.unknown', config: {} }, {})).toMatchObject({
      status: 'failed',
      error: { code: 'UNKNOWN_NODE_TYPE' },
    });
  });
});
