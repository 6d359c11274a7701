// Population stability: hand-computed PSI, the bins a baseline keeps, and the levels the thresholds give.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDataset } from './dataset.js';
import { datasetDrift, featureDrift, profileFeature, psiOfCounts } from './drift.js';

describe('population stability index', () => {
  it('is Σ (a − e) ln(a / e) over the bins', () => {
    // Shares 0.5/0.5 against 0.4/0.6: (0.4-0.5) ln(0.8) + (0.6-0.5) ln(1.2)
    const expected = -0.1 * Math.log(0.8) + 0.1 * Math.log(1.2);
    expect(psiOfCounts([50, 50], [40, 60])).toBeCloseTo(expected, 12);
    expect(psiOfCounts([10, 20, 30], [10, 20, 30])).toBe(0);
    // An empty bin is floored at 1e-4 rather than giving an infinite index.
    expect(Number.isFinite(psiOfCounts([50, 50], [100, 0]))).toBe(true);
  });

  it('bins numbers at the baseline deciles and finds no drift in the same distribution', () => {
    const base = Array.from({ length: 1000 }, (_, i) => i);
    const p = profileFeature('amount', base);
    expect(p.kind).toBe('numeric');
    expect(p.edges).toHaveLength(9);
    expect(p.counts.every((c) => c === 100)).toBe(true);
    const same = featureDrift(
      p,
      Array.from({ length: 500 }, (_, i) => i * 2),
    );
    expect(same.psi).toBeLessThan(0.01);
    expect(same.level).toBe('stable');
  });

  it('raises an alert for a shifted population and a warning for a moderate one', () => {
    const base = Array.from({ length: 1000 }, (_, i) => i);
    const p = profileFeature('amount', base);
    const shifted = featureDrift(
      p,
      Array.from({ length: 1000 }, (_, i) => i + 500),
    );
    expect(shifted.psi).toBeGreaterThan(0.25);
    expect(shifted.level).toBe('alert');
    // Deciles 1-2 at half their share, 9-10 at one and a half: 2 x (-0.05 ln 0.5) + 2 x (0.05 ln 1.5) = 0.1099.
    const moderateValues = [
      ...Array.from({ length: 50 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 100 + i),
      ...Array.from({ length: 600 }, (_, i) => 200 + i),
      ...Array.from({ length: 300 }, (_, i) => 800 + Math.floor((i * 2) / 3)),
    ];
    const moderate = featureDrift(p, moderateValues);
    expect(moderate.psi).toBeCloseTo(2 * -0.05 * Math.log(0.5) + 2 * 0.05 * Math.log(1.5), 12);
    expect(moderate.level).toBe('warn');
    expect(moderate.bins[0]).toMatchObject({ bin: '≤ 99', expected: 0.1, actual: 0.05 });
  });

  it('profiles categories with an "other" bin and missing values apart', () => {
    const base = ['A11', 'A11', 'A12', 'A14', null, 'A13'];
    const p = profileFeature('checking_status', base);
    expect(p.kind).toBe('categorical');
    expect(p.categories).toEqual(['A11', 'A12', 'A13', 'A14']);
    expect(p.missing).toBe(1);
    const d = featureDrift(p, ['A11', 'A99', '', 'A12']);
    expect(d.bins.map((b) => b.bin)).toEqual(['A11', 'A12', 'A13', 'A14', '(other)', '(missing)']);
    expect(d.bins[4]?.actual).toBe(0.25);
  });
});

describe('datasetDrift on German Credit', () => {
  it('finds no drift between two halves drawn alike, and flags the column a selection shifted', () => {
    const rows = parseDataset(
      readFileSync(new URL('../../../datasets/german-credit/german-credit.csv', import.meta.url), 'utf8'),
      'csv',
    );
    const even = rows.filter((_, i) => i % 2 === 0);
    const odd = rows.filter((_, i) => i % 2 === 1);
    const same = datasetDrift(even, odd, {
      columns: ['duration', 'credit_amount', 'age', 'checking_status'],
    });
    expect(same.every((d) => d.level === 'stable')).toBe(true);
    // A population of younger applicants: age drifts, the rest barely.
    const young = rows.filter((r) => (r['age'] as number) < 30);
    const shifted = datasetDrift(rows, young, { columns: ['age', 'checking_status', 'purpose'] });
    expect(shifted[0]).toMatchObject({ name: 'age', level: 'alert' });
    expect(shifted[0]?.psi).toBeGreaterThan(1);
  });
});
