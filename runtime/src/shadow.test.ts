/**
 * Shadow runs: a challenger answering a copy of a request must not act on the world. Nodes that declare side
 * effects give their stand-in outputs (recorded as simulated) or are skipped with what needs their outputs; a
 * node that would wait for a person is skipped too; everything else runs exactly as in a normal run.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime } from './executor.js';
import { foldRun } from './events.js';
import { catalogEntry } from './catalog.js';
import { MemoryRunStore } from './store.js';
import { flow, testNodes, testRegistry, Trace } from './test-helpers/nodes.js';

const input = {
  id: 'in',
  type: 'io.input',
  config: { schema: { type: 'object', properties: { x: { type: 'number' } } } },
};
const out = (id: string) => ({ id, type: 'io.output', config: { name: id } });

/** in -> a (+1) -> send (side effect, stand-in) -> receipt; a -> write (no stand-in) -> b (+10) -> written; a -> score. */
const doc = flow(
  [
    input,
    { id: 'a', type: 'test.step', config: { add: 1 } },
    { id: 'send', type: 'test.send' },
    out('receipt'),
    { id: 'write', type: 'test.write' },
    { id: 'b', type: 'test.step', config: { add: 10 } },
    out('written'),
    out('score'),
  ],
  [
    'in.x->a.in',
    'a.out->send.in',
    'send.receipt->receipt.value',
    'a.out->write.in',
    'write.out->b.in',
    'b.out->written.value',
    'a.out->score.value',
  ],
);

describe('a shadow run', () => {
  it('computes what does not act, and nodes with side effects never act', async () => {
    const trace = new Trace();
    const store = new MemoryRunStore();
    const runtime = createRuntime({ registry: testRegistry(trace), store });

    const normal = await runtime.run(doc, { x: 1 });
    expect(normal.status).toBe('succeeded');
    expect(normal.outputs).toEqual({ receipt: 'sent:2', written: 12, score: 2 });
    expect(trace.sent).toEqual([2, 2]);

    const shadow = await runtime.run(doc, { x: 5 }, { shadow: true });
    expect(shadow.status).toBe('succeeded');
    // Nothing more was sent: the stand-in answered for `send`, and `write` was skipped with what needs it.
    expect(trace.sent).toEqual([2, 2]);
    expect(shadow.outputs).toEqual({ receipt: 'simulated:6', score: 6 });
    const events = store.events(shadow.runId);
    expect(events[0]).toMatchObject({ type: 'run.started', shadow: true });
    const state = foldRun(events);
    expect(state.shadow).toBe(true);
    expect(state.nodes['send']).toMatchObject({ status: 'succeeded', simulated: true, attempts: 0 });
    expect(state.nodes['write']).toMatchObject({ status: 'skipped', skipReason: 'side-effect' });
    expect(state.nodes['b']).toMatchObject({ status: 'skipped', skipReason: 'side-effect' });
    expect(state.nodes['a']?.status).toBe('succeeded');
  });

  it('skips a node that would wait for a person instead of suspending', async () => {
    const trace = new Trace();
    const runtime = createRuntime({ registry: testRegistry(trace) });
    const waiting = flow(
      [input, { id: 'w', type: 'test.wait' }, out('decided'), { id: 'a', type: 'test.step' }, out('score')],
      ['in.x->w.in', 'w.out->decided.value', 'in.x->a.in', 'a.out->score.value'],
    );
    expect((await runtime.run(waiting, { x: 1 })).status).toBe('waiting');
    const shadow = await runtime.run(waiting, { x: 1 }, { shadow: true });
    expect(shadow.status).toBe('succeeded');
    expect(shadow.outputs).toEqual({ score: 2 });
    expect(shadow.nodes['w']?.status).toBe('skipped');
  });

  it('does not act inside a single-node run made from a shadow run either', async () => {
    const trace = new Trace();
    const runtime = createRuntime({ registry: testRegistry(trace) });
    const r = await runtime.runNode({ type: 'test.write' }, { in: 3 }, { shadow: true });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('SHADOW_SKIPPED');
    const s = await runtime.runNode({ type: 'test.send' }, { in: 3 }, { shadow: true });
    expect(s).toMatchObject({ status: 'succeeded', outputs: { receipt: 'simulated:3' } });
    expect(trace.sent).toEqual([]);
  });

  it('is shown in the catalog', () => {
    const send = testNodes().find((d) => d.type === 'test.send');
    expect(send && catalogEntry(send).sideEffects).toBe(true);
    const step = testNodes().find((d) => d.type === 'test.step');
    expect(step && catalogEntry(step).sideEffects).toBeUndefined();
  });
});
