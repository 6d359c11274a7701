import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRuntime } from './executor.js';
import type { RunEvent } from './events.js';
import { flow, testRegistry, Trace } from './test-helpers/nodes.js';

/** A random DAG over n nodes: edges only from lower to higher index, at most 4 inputs per node (test.sum a..d). */
const dag = fc
  .integer({ min: 1, max: 40 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: n * 3 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
      fc.integer({ min: 1, max: 6 }),
    ),
  )
  .map(([n, pairs, delays, concurrency]) => {
    const preds = Array.from({ length: n }, () => new Set<number>());
    for (const [a, b] of pairs) {
      const from = a % n;
      const to = b % n;
      if (from < to && preds[to]!.size < 4) preds[to]!.add(from);
    }
    return { n, preds: preds.map((s) => [...s]), delays, concurrency };
  });

describe('scheduler on random DAGs', () => {
  it('runs every node exactly once, after all of its predecessors, within the concurrency limit', async () => {
    await fc.assert(
      fc.asyncProperty(dag, async ({ n, preds, delays, concurrency }) => {
        const trace = new Trace();
        const runtime = createRuntime({ registry: testRegistry(trace), concurrency });
        const ports = ['a', 'b', 'c', 'd'];
        const nodes: { id: string; type: string; config?: Record<string, unknown> }[] = [
          {
            id: 'in',
            type: 'io.input',
            config: { schema: { type: 'object', properties: { x: { type: 'number' } } } },
          },
          { id: 'out', type: 'io.output', config: { name: 'r' } },
        ];
        const edges: string[] = [];
        for (let i = 0; i < n; i++) {
          const p = preds[i]!;
          // Roots and single-input nodes are steps; multi-input nodes are sums (a and b required).
          if (p.length >= 2) {
            nodes.push({ id: `n${i}`, type: 'test.sum' });
            p.forEach((from, k) => edges.push(`n${from}.out->n${i}.${ports[k]}`));
          } else {
            nodes.push({ id: `n${i}`, type: 'test.step', config: { delayMs: delays[i] } });
            edges.push(p.length === 1 ? `n${p[0]}.out->n${i}.in` : `in.x->n${i}.in`);
          }
        }
        edges.push(`n${n - 1}.out->out.value`);
        const handle = runtime.start(flow(nodes, edges), { x: 1 });
        const events: RunEvent[] = [];
        for await (const e of handle.events()) events.push(e);
        const result = await handle.result;
        expect(result.status).toBe('succeeded');
        const started = events
          .filter((e) => e.type === 'node.started')
          .map((e) => (e as { nodeId: string }).nodeId);
        const finishedAt = new Map<string, number>();
        events.forEach((e, i) => {
          if (e.type === 'node.succeeded') finishedAt.set(e.nodeId, i);
        });
        expect(started.length).toBe(n + 2);
        expect(new Set(started).size).toBe(n + 2);
        events.forEach((e, i) => {
          if (e.type !== 'node.started' || !e.nodeId.startsWith('n')) return;
          for (const from of preds[Number(e.nodeId.slice(1))]!)
            expect(finishedAt.get(`n${from}`)!).toBeLessThan(i);
        });
        expect(trace.maxActive).toBeLessThanOrEqual(concurrency);
      }),
      { numRuns: 60, seed: 20261129 },
    );
  });
});
