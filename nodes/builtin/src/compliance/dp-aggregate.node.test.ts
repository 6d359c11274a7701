import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { dpAggregateNode } from './dp-aggregate.node.js';
import { laplace, seededUniform } from './lib/laplace.js';
import { readDataset } from './test-helpers/datasets.js';

/** German Credit (UCI Statlog), one row per applicant: duration, credit amount, age, purpose, class. */
const table = readDataset('german-credit/german.data')
  .trim()
  .split('\n')
  .map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      duration: Number(f[1]),
      amount: Number(f[4]),
      purpose: f[3],
      age: Number(f[12]),
      risk: f[20] === '2' ? 'bad' : 'good',
    };
  });

async function dp(config: Record<string, unknown>, rows: Record<string, unknown>[] = table) {
  const out = await runNodeOk(dpAggregateNode, { inputs: { table: rows }, config });
  return {
    results: out['results'] as ({ value: number } & Record<string, unknown>)[],
    budget: out['budget'] as Record<string, unknown>,
  };
}

const trueSum = (f: (r: (typeof table)[number]) => number) => table.reduce((s, r) => s + f(r), 0);

describe('Laplace noise', () => {
  it('has the scale sensitivity / epsilon (mean absolute deviation of 20,000 seeded draws)', () => {
    const u = seededUniform(7);
    const n = 20_000;
    for (const scale of [0.5, 2, 10]) {
      let abs = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const x = laplace(u, scale);
        abs += Math.abs(x);
        sum += x;
      }
      // E|X| = b for Laplace(0, b); the standard error of the mean is b / sqrt(n) (< 1%).
      expect(Math.abs(abs / n - scale) / scale).toBeLessThan(0.03);
      expect(Math.abs(sum / n)).toBeLessThan((5 * scale * Math.SQRT2) / Math.sqrt(n));
    }
  });

  it('matches sensitivity / epsilon end to end: a count with epsilon 0.5 over 800 seeded runs', async () => {
    const noise: number[] = [];
    for (let seed = 1; seed <= 800; seed++) {
      const { results } = await dp({ aggregates: [{ op: 'count', epsilon: 0.5 }], seed });
      noise.push(results[0]!.value - table.length);
    }
    const meanAbs = noise.reduce((s, x) => s + Math.abs(x), 0) / noise.length;
    // b = 1 / 0.5 = 2; the standard error of the mean absolute deviation is 2 / sqrt(800) ≈ 0.07.
    expect(meanAbs).toBeGreaterThan(1.75);
    expect(meanAbs).toBeLessThan(2.25);
    // Roughly symmetric: about half the draws above the truth.
    const above = noise.filter((x) => x > 0).length / noise.length;
    expect(above).toBeGreaterThan(0.44);
    expect(above).toBeLessThan(0.56);
  });
});

describe('compliance.dpAggregate on German Credit', () => {
  it('reports count, clamped sum and mean, each with its budget, sensitivity and noise scale', async () => {
    const { results, budget } = await dp({
      aggregates: [
        { name: 'applicants', op: 'count', epsilon: 1 },
        { name: 'total_amount', op: 'sum', column: 'amount', lower: 0, upper: 20_000, epsilon: 1 },
        { name: 'mean_age', op: 'mean', column: 'age', lower: 18, upper: 80, epsilon: 1 },
      ],
      seed: 42,
    });
    const [count, sum, mean] = results;
    expect(count).toMatchObject({ name: 'applicants', sensitivity: 1, noiseScale: 1, epsilon: 1 });
    expect(Math.abs(count!.value - 1000)).toBeLessThan(15);
    expect(sum).toMatchObject({ sensitivity: 20_000, noiseScale: 20_000 });
    expect(Math.abs(sum!.value - trueSum((r) => Math.min(r.amount, 20_000)))).toBeLessThan(15 * 20_000);
    const trueMeanAge = trueSum((r) => r.age) / 1000;
    expect(mean).toMatchObject({ sensitivity: 31, noiseScale: 62, countNoiseScale: 2 });
    expect(Math.abs(mean!.value - trueMeanAge)).toBeLessThan(1.5);
    expect(budget).toMatchObject({ epsilonSpent: 3, delta: 0, mechanism: 'laplace', seeded: true });
  });

  it('clamps values to the bounds before adding noise', async () => {
    // Amounts above 5,000 DM count as 5,000: the released sum sits near the clamped total, far from the raw one.
    const { results } = await dp({
      aggregates: [{ op: 'sum', column: 'amount', lower: 0, upper: 5_000, epsilon: 10 }],
      seed: 3,
    });
    const clamped = trueSum((r) => Math.min(r.amount, 5_000));
    const raw = trueSum((r) => r.amount);
    expect(raw - clamped).toBeGreaterThan(500_000);
    expect(Math.abs(results[0]!.value - clamped)).toBeLessThan(10 * 500);
    // A mean stays inside its bounds even when every value lies outside them.
    const { results: means } = await dp({
      aggregates: [{ op: 'mean', column: 'age', lower: 0, upper: 10, epsilon: 0.1 }],
      seed: 5,
    });
    expect(means[0]!.value).toBeGreaterThanOrEqual(0);
    expect(means[0]!.value).toBeLessThanOrEqual(10);
  });

  it('groups by declared keys only, spending the budget once across disjoint groups', async () => {
    const { results, budget } = await dp({
      aggregates: [{ op: 'count', epsilon: 0.5 }],
      groupBy: 'risk',
      groups: ['good', 'bad', 'unknown'],
      seed: 11,
    });
    expect(results.map((r) => r['group'])).toEqual(['good', 'bad', 'unknown']);
    expect(Math.abs(results[0]!.value - 700)).toBeLessThan(20);
    expect(Math.abs(results[1]!.value - 300)).toBeLessThan(20);
    expect(Math.abs(results[2]!.value)).toBeLessThan(20);
    expect(budget['epsilonSpent']).toBe(0.5);
  });

  it('is reproducible with a seed and unpredictable without one', async () => {
    const config = { aggregates: [{ op: 'count', epsilon: 1 }] };
    expect(await dp({ ...config, seed: 9 })).toEqual(await dp({ ...config, seed: 9 }));
    expect((await dp({ ...config, seed: 9 })).results[0]!.value).not.toBe(
      (await dp({ ...config, seed: 10 })).results[0]!.value,
    );
    const a = (await dp(config)).results[0]!.value;
    const b = (await dp(config)).results[0]!.value;
    expect(a).not.toBe(b);
  });
});

describe('bad input', () => {
  it('refuses a non-numeric column, an unknown column and missing bounds', async () => {
    const sum = (column: string) => ({
      aggregates: [{ op: 'sum', column, lower: 0, upper: 10, epsilon: 1 }],
    });
    expect((await runNode(dpAggregateNode, { inputs: { table }, config: sum('purpose') })).error?.code).toBe(
      'COLUMN_NOT_NUMERIC',
    );
    expect((await runNode(dpAggregateNode, { inputs: { table }, config: sum('salary') })).error?.code).toBe(
      'UNKNOWN_COLUMN',
    );
    const noBounds = { aggregates: [{ op: 'mean', column: 'age', epsilon: 1 }] };
    expect((await runNode(dpAggregateNode, { inputs: { table }, config: noBounds })).error?.code).toBe(
      'INVALID_CONFIG',
    );
  });

  it('refuses to spend more than the budget limit', async () => {
    const config = {
      aggregates: [
        { op: 'count', epsilon: 1 },
        { op: 'sum', column: 'age', lower: 0, upper: 100, epsilon: 1 },
      ],
      maxEpsilon: 1.5,
    };
    const r = await runNode(dpAggregateNode, { inputs: { table }, config });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('INVALID_CONFIG');
  });

  it('answers an empty table with noise rather than an error, since an error would reveal emptiness', async () => {
    const { results } = await dp({ aggregates: [{ op: 'count', epsilon: 1 }], seed: 1 }, []);
    expect(Number.isFinite(results[0]!.value)).toBe(true);
  });
});
