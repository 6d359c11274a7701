// The report built from row results: quality for classes, scores and text, paired comparisons, the pilot gate
// and the Markdown export, on rows whose figures can be counted by hand.
import { describe, expect, it } from 'vitest';
import {
  challengerHolds,
  compareVersions,
  evaluationSpecSchema,
  performanceOf,
  qualityOf,
  reportToMarkdown,
  type EvaluationReport,
  type RowResult,
} from './report.js';

function row(
  index: number,
  label: string,
  predicted: string | null,
  score: number | null,
  extra: Partial<RowResult> = {},
): RowResult {
  return {
    index,
    status: 'succeeded',
    label,
    predicted,
    score,
    correct: predicted === null ? null : predicted === label,
    ms: 10 + index,
    cpuMs: 1,
    nodeMs: { a: 1, b: index },
    tokens: 0,
    ...extra,
  };
}

const spec = evaluationSpecSchema.parse({
  label: 'y',
  prediction: 'p',
  score: 's',
  positive: 'bad',
  cost: { falseNegative: 5, falsePositive: 1 },
  bootstrap: 200,
});

describe('qualityOf', () => {
  it('counts classes, the binary figures, the cost and the scores of a version', () => {
    const rows = [
      row(0, 'bad', 'bad', 0.9),
      row(1, 'bad', 'good', 0.4),
      row(2, 'good', 'good', 0.1),
      row(3, 'good', 'bad', 0.6),
      row(4, 'good', 'good', 0.2),
    ];
    const q = qualityOf(rows, spec);
    expect(q.accuracy).toBe(0.6);
    expect(q.binary).toMatchObject({
      truePositives: 1,
      falseNegatives: 1,
      falsePositives: 1,
      trueNegatives: 2,
    });
    // (1 FN x 5 + 1 FP x 1) / 5
    expect(q.cost?.perRow).toBeCloseTo(6 / 5, 12);
    // Positives 0.9, 0.4 against negatives 0.1, 0.6, 0.2: 5 of 6 pairs ordered right.
    expect(q.scores?.auc).toBeCloseTo(5 / 6, 12);
    expect(q.classification?.confusion.classes).toEqual(['bad', 'good']);
    expect(q.accuracyInterval?.lo).toBeLessThanOrEqual(0.6);
    expect(q.accuracyInterval?.hi).toBeGreaterThanOrEqual(0.6);
  });

  it('counts a failed run as wrong and leaves unlabelled rows out', () => {
    const rows = [
      row(0, 'bad', 'bad', 0.9),
      { ...row(1, 'good', null, null), status: 'failed' as const, correct: false, error: 'TIMEOUT' },
      { ...row(2, 'good', 'good', 0.1), label: null },
    ];
    const q = qualityOf(rows, spec);
    expect(q.labelled).toBe(2);
    expect(q.accuracy).toBe(0.5);
  });

  it('thresholds scores by the cost matrix when there is no prediction', () => {
    const s = evaluationSpecSchema.parse({
      label: 'y',
      score: 's',
      positive: 'bad',
      cost: { falseNegative: 5, falsePositive: 1 },
      bootstrap: 0,
    });
    // Bayes threshold 1/6: 0.2 is predicted bad, 0.1 good.
    const q = qualityOf([row(0, 'bad', null, 0.2), row(1, 'good', null, 0.1), row(2, 'good', null, 0.3)], s);
    expect(q.binary).toMatchObject({
      truePositives: 1,
      trueNegatives: 1,
      falsePositives: 1,
      threshold: 1 / 6,
    });
    expect(q.accuracy).toBeCloseTo(2 / 3, 12);
  });

  it('checks text answers with the row verdicts and reports adverse impact by group', () => {
    const t = evaluationSpecSchema.parse({ label: 'y', prediction: 'p', kind: 'text', bootstrap: 0 });
    const q = qualityOf(
      [
        { ...row(0, 'x', 'x y', null), correct: true },
        { ...row(1, 'x', 'z', null), correct: false },
      ],
      t,
    );
    expect(q.accuracy).toBe(0.5);
    expect(q.classification).toBeUndefined();
    const g = evaluationSpecSchema.parse({
      label: 'y',
      prediction: 'p',
      group: 'g',
      favourable: 'good',
      bootstrap: 0,
    });
    const rows = [
      ...Array.from({ length: 10 }, (_, i) => row(i, 'good', i < 8 ? 'good' : 'bad', null, { group: 'A' })),
      ...Array.from({ length: 10 }, (_, i) =>
        row(10 + i, 'good', i < 4 ? 'good' : 'bad', null, { group: 'B' }),
      ),
    ];
    const ai = qualityOf(rows, g).adverseImpact;
    expect(ai).toMatchObject({ reference: 'A', minRatio: 0.5, fourFifths: 'flag', favourable: 'good' });
  });
});

describe('compareVersions', () => {
  const labels = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 'bad' : 'good'));
  // The baseline is right on rows not divisible by 4, the challenger on rows not divisible by 10.
  const base = labels.map((y, i) => row(i, y, i % 4 === 0 ? (y === 'bad' ? 'good' : 'bad') : y, null));
  const chal = labels.map((y, i) => row(i, y, i % 10 === 0 ? (y === 'bad' ? 'good' : 'bad') : y, null));

  it('gives the paired difference, its interval and McNemar on the discordant rows', () => {
    const c = compareVersions({ version: 'v1', rows: base }, { version: 'v2', rows: chal }, spec);
    // Baseline 150 right, challenger 180: +0.15. Discordant: rows divisible by 4 and not 10 (40) against rows
    // divisible by 10 and not 4 (10, 30, ..., 190: 10).
    expect(c.accuracy.estimate).toBeCloseTo(0.15, 12);
    expect(c.accuracy.lo).toBeGreaterThan(0.08);
    expect(c.mcnemar).toMatchObject({ b: 10, c: 40, method: 'chi2' });
    // (|10 − 40| − 1)² / 50
    expect(c.mcnemar.statistic).toBeCloseTo(841 / 50, 12);
    expect(c.mcnemar.pValue).toBeLessThan(1e-4);
    expect(c.cost?.estimate).toBeLessThan(0);
    expect(challengerHolds(c, 0.01).holds).toBe(true);
    const back = compareVersions({ version: 'v2', rows: chal }, { version: 'v1', rows: base }, spec);
    const gate = challengerHolds(back, 0.01);
    expect(gate.holds).toBe(false);
    expect(gate.reasons[0]).toMatch(/^accuracy may be 0\.\d+ lower/);
  });

  it('finds no difference between a version and itself', () => {
    const c = compareVersions({ version: 'a', rows: base }, { version: 'b', rows: base }, spec);
    expect([c.accuracy.lo, c.accuracy.estimate, c.accuracy.hi]).toEqual([0, 0, 0]);
    expect(c.mcnemar.pValue).toBe(1);
  });
});

describe('performanceOf and the Markdown export', () => {
  it('summarises latency and time per node, and writes every section', () => {
    const rows = Array.from({ length: 101 }, (_, i) => row(i, 'good', 'good', 0.1, { tokens: 3 }));
    const p = performanceOf(rows, {
      cpuMsTotal: 202,
      peakRssMiB: 100,
      peakHeapGrowthMiB: 5,
      wallMs: 1000,
      concurrency: 2,
    });
    expect(p.latencyMs.p50).toBe(60);
    expect(p.latencyMs.p99).toBe(109);
    expect(p.nodes[0]).toMatchObject({ node: 'b' });
    expect(p.cpuMsPerRun).toBe(2);
    expect(p.tokens).toEqual({ total: 303, perRun: 3 });
    const report: EvaluationReport = {
      formatVersion: 1,
      createdAt: '2026-12-07T00:00:00.000Z',
      dataset: { name: 'd.csv', rows: 101 },
      spec,
      versions: [{ version: 'v1', quality: qualityOf(rows, spec), performance: p }],
      comparisons: [compareVersions({ version: 'v1', rows }, { version: 'v1b', rows }, spec)],
    };
    const md = reportToMarkdown(report);
    expect(md).toContain('# Evaluation on d.csv (101 rows)');
    expect(md).toContain('| v1 | 101 | 100.0%');
    expect(md).toContain('### Confusion matrix, v1');
    expect(md).toContain('| v1 | v1b | 0 [0, 0] |');
    expect(md).toContain('| b | 50 |');
  });
});
