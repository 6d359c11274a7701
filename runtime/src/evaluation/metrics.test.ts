// The metric maths against published values: scikit-learn's documented examples, statsmodels' McNemar on
// Agresti's table, NumPy's percentile, the EEOC's four-fifths example, and hand-computed cases. Every figure from
// scikit-learn or statsmodels here was recomputed with them (Debian bookworm: scikit-learn 1.2.1, statsmodels
// 0.13.5), and fixtures/sklearn-reference.json holds their answers on 300 random rows with ties.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adverseImpact,
  bayesThreshold,
  binaryMetrics,
  brierScore,
  classificationMetrics,
  confusionMatrix,
  costWeightedError,
  expectedCalibrationError,
  reliabilityCurve,
  rocAuc,
  rocCurve,
  thinCurve,
} from './metrics.js';
import {
  binomialTwoSided,
  bootstrapInterval,
  chiSquare1Survival,
  histogram,
  mcnemar,
  mcnemarCounts,
  quantileSorted,
  summarise,
  wilsonInterval,
} from './stats.js';

describe('classification metrics (scikit-learn documented examples)', () => {
  it('confusion_matrix([2,0,2,2,0,1], [0,0,2,2,0,2])', () => {
    const m = confusionMatrix(['2', '0', '2', '2', '0', '1'], ['0', '0', '2', '2', '0', '2']);
    expect(m.classes).toEqual(['0', '1', '2']);
    expect(m.matrix).toEqual([
      [2, 0, 0],
      [0, 0, 1],
      [1, 0, 2],
    ]);
  });

  it('precision_recall_fscore_support on cat/dog/pig', () => {
    const r = classificationMetrics(
      ['cat', 'dog', 'pig', 'cat', 'dog', 'pig'],
      ['cat', 'pig', 'dog', 'cat', 'cat', 'dog'],
    );
    // sklearn: macro (0.2222, 0.3333, 0.2666); weighted the same here (equal supports).
    expect(r.macro.precision).toBeCloseTo(0.2222, 4);
    expect(r.macro.recall).toBeCloseTo(0.3333, 4);
    expect(r.macro.f1).toBeCloseTo(0.2667, 4);
    expect(r.weighted.f1).toBeCloseTo(0.2667, 4);
    expect(r.perClass.map((c) => c.label)).toEqual(['cat', 'dog', 'pig']);
    expect(r.perClass[0]).toMatchObject({ precision: 2 / 3, recall: 1, f1: 0.8, support: 2 });
    expect(r.accuracy).toBeCloseTo(2 / 6, 12);
  });

  it('f1_score average=macro on [0,1,2,0,1,2] / [0,2,1,0,0,1] is 0.2666...', () => {
    const r = classificationMetrics(['0', '1', '2', '0', '1', '2'], ['0', '2', '1', '0', '0', '1']);
    expect(r.macro.f1).toBeCloseTo(0.26666666, 7);
    expect(r.accuracy).toBeCloseTo(1 / 3, 12);
  });

  it('binary counts, precision, recall, specificity and the cost under a 5:1 matrix', () => {
    const labels = [1, 1, 1, 0, 0, 0, 0, 0];
    const predicted = [1, 0, 0, 1, 0, 0, 0, 0];
    const b = binaryMetrics(labels, predicted);
    expect(b).toMatchObject({ truePositives: 1, falseNegatives: 2, falsePositives: 1, trueNegatives: 4 });
    expect(b.precision).toBe(0.5);
    expect(b.recall).toBeCloseTo(1 / 3, 12);
    expect(b.specificity).toBe(0.8);
    // (2 FN x 5 + 1 FP x 1) / 8 rows
    expect(costWeightedError(b, { falseNegative: 5, falsePositive: 1 })).toBe(11 / 8);
    expect(bayesThreshold({ falseNegative: 5, falsePositive: 1 })).toBeCloseTo(1 / 6, 15);
  });
});

describe('scores: ROC, AUC, Brier, reliability', () => {
  it('roc_curve and roc_auc_score on [0,0,1,1] / [0.1,0.4,0.35,0.8]', () => {
    const labels = [0, 0, 1, 1];
    const scores = [0.1, 0.4, 0.35, 0.8];
    const roc = rocCurve(scores, labels);
    expect(roc.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(roc.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(roc.thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(rocAuc(scores, labels)).toBe(0.75);
  });

  it('counts ties one half, is NaN with one class, and thins a long curve keeping both ends', () => {
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(rocAuc([0.2, 0.9], [1, 1])).toBeNaN();
    const n = 5000;
    const scores = Array.from({ length: n }, (_, i) => i / n);
    const roc = rocCurve(
      scores,
      scores.map((s) => (s > 0.3 ? 1 : 0)),
    );
    const thin = thinCurve(roc, 200);
    expect(thin.fpr).toHaveLength(200);
    expect(thin.fpr[0]).toBe(0);
    expect(thin.tpr[199]).toBe(1);
  });

  it('brier_score_loss([0,1,1,0], [0.1,0.9,0.8,0.3]) = 0.0375', () => {
    expect(brierScore([0.1, 0.9, 0.8, 0.3], [0, 1, 1, 0])).toBeCloseTo(0.0375, 12);
  });

  it('calibration_curve(..., n_bins=3) of the scikit-learn example', () => {
    const labels = [0, 0, 0, 0, 1, 1, 1, 1, 1];
    const scores = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1];
    const curve = reliabilityCurve(scores, labels, 3);
    expect(curve.map((b) => b.observedRate)).toEqual([0, 0.5, 1]);
    expect(curve.map((b) => b.meanScore)).toEqual([0.2, 0.525, 0.85].map((x) => expect.closeTo(x, 12)));
    expect(curve.map((b) => b.count)).toEqual([3, 2, 4]);
    // Each bin's gap weighted by its rows: (3 x 0.2 + 2 x 0.025 + 4 x 0.15) / 9.
    expect(expectedCalibrationError(curve)).toBeCloseTo((0.6 + 0.05 + 0.6) / 9, 12);
  });

  it('puts a score on an inner edge in the lower bin, as numpy.searchsorted does', () => {
    const curve = reliabilityCurve([0.3, 0.7], [0, 1], 10);
    expect(curve.map((b) => [b.from, b.to])).toEqual([
      [0.2, 0.3],
      [0.6, 0.7],
    ]);
  });
});

describe('adverse impact (four-fifths rule)', () => {
  it('the EEOC example: 48 of 80 against 12 of 40 is a ratio of 0.5, flagged', () => {
    const groups = [...Array(80).fill('A'), ...Array(40).fill('B')] as string[];
    const selected = [...Array(80).keys()]
      .map((i) => i < 48)
      .concat([...Array(40).keys()].map((i) => i < 12));
    const r = adverseImpact(groups, selected);
    expect(r.reference).toBe('A');
    expect(r.groups.find((g) => g.group === 'B')).toMatchObject({
      count: 40,
      selected: 12,
      rate: 0.3,
      ratio: 0.5,
    });
    expect(r.minRatio).toBe(0.5);
    expect(r.fourFifths).toBe('flag');
  });

  it('passes at 0.8 and above', () => {
    const r = adverseImpact(
      ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b'],
      [true, true, true, true, true, true, true, true, true, false],
    );
    expect(r.minRatio).toBeCloseTo(0.8, 12);
    expect(r.fourFifths).toBe('pass');
  });
});

describe('statistics', () => {
  it('percentiles match numpy.percentile (linear)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12);
    // np.percentile(np.arange(1, 101), 99) = 99.01
    expect(
      quantileSorted(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.99,
      ),
    ).toBeCloseTo(99.01, 10);
    const s = summarise([5, 1, 4, 2, 3, NaN]);
    expect(s).toMatchObject({ n: 5, mean: 3, min: 1, p50: 3, max: 5 });
  });

  it('histograms cap at the 99th percentile and count the tail in an open bin', () => {
    const values = [...Array.from({ length: 99 }, (_, i) => i / 10), 1000];
    const h = histogram(values, 10, 0.99);
    expect(h.reduce((s, b) => s + b.count, 0)).toBe(100);
    expect(h[h.length - 1]).toMatchObject({ to: 1000, count: 1 });
  });

  it('McNemar on Agresti’s table [[794, 86], [150, 570]]: statsmodels gives 16.8178, p 4.115e-05', () => {
    const r = mcnemarCounts(86, 150, 1600);
    expect(r.method).toBe('chi2');
    expect(r.statistic).toBeCloseTo(16.8178, 4);
    expect(r.pValue).toBeCloseTo(4.115e-5, 7);
  });

  it('McNemar uses the exact binomial test below 25 discordant pairs', () => {
    // b = 1, c = 6: 2 x P(X <= 1 | n = 7) = 2 x 8 / 128
    expect(binomialTwoSided(1, 7)).toBeCloseTo(0.125, 12);
    const first = [true, false, false, false, false, false, false, true];
    const second = [false, true, true, true, true, true, true, true];
    const r = mcnemar(first, second);
    expect(r).toMatchObject({ b: 1, c: 6, n: 8, method: 'exact' });
    expect(r.pValue).toBeCloseTo(0.125, 12);
    expect(chiSquare1Survival(3.841458820694124)).toBeCloseTo(0.05, 6);
  });

  it('Wilson interval of 81 of 263 (Newcombe 1998: 0.2553 to 0.3662)', () => {
    const w = wilsonInterval(81, 263);
    expect(w.lo).toBeCloseTo(0.2553, 4);
    expect(w.hi).toBeCloseTo(0.3662, 4);
  });

  it('a paired bootstrap of identical versions is [0, 0]; of different ones covers the true difference', () => {
    const n = 400;
    const a = Array.from({ length: n }, (_, i) => i % 4 !== 0); // 75% right
    const b = Array.from({ length: n }, (_, i) => i % 5 !== 0); // 80% right
    const same = bootstrapInterval(
      n,
      (idx) => idx.reduce((s, i) => s + (a[i] ? 1 : 0) - (a[i] ? 1 : 0), 0) / n,
    );
    expect([same.lo, same.hi]).toEqual([0, 0]);
    const diff = bootstrapInterval(
      n,
      (idx) => idx.reduce((s, i) => s + (b[i] ? 1 : 0) - (a[i] ? 1 : 0), 0) / idx.length,
      {
        iterations: 2000,
        seed: 7,
      },
    );
    expect(diff.estimate).toBeCloseTo(0.05, 12);
    expect(diff.lo).toBeLessThan(0.05);
    expect(diff.hi).toBeGreaterThan(0.05);
    expect(diff.iterations).toBe(2000);
    // The same seed gives the same interval.
    const again = bootstrapInterval(
      n,
      (idx) => idx.reduce((s, i) => s + (b[i] ? 1 : 0) - (a[i] ? 1 : 0), 0) / idx.length,
      {
        iterations: 2000,
        seed: 7,
      },
    );
    expect(again).toEqual(diff);
  });
});

describe('against scikit-learn and statsmodels on 300 random rows (fixtures/sklearn-reference.json)', () => {
  const ref = JSON.parse(
    readFileSync(new URL('./fixtures/sklearn-reference.json', import.meta.url), 'utf8'),
  ) as {
    labels: number[];
    scores: number[];
    predA: number[];
    predB: number[];
    classes3: number[];
    pred3: number[];
    auc: number;
    brier: number;
    accuracyA: number;
    confusion3: number[][];
    perClass3: { precision: number[]; recall: number[]; f1: number[] };
    macro3: number[];
    weighted3: number[];
    calibration: { observed: number[]; meanScore: number[] };
    mcnemar: { table: number[][]; statistic: number; pValue: number };
  };

  it('gives the same AUC (with tied scores), Brier score, accuracy and reliability curve', () => {
    expect(rocAuc(ref.scores, ref.labels)).toBeCloseTo(ref.auc, 12);
    expect(brierScore(ref.scores, ref.labels)).toBeCloseTo(ref.brier, 12);
    expect(binaryMetrics(ref.labels, ref.predA).accuracy).toBeCloseTo(ref.accuracyA, 12);
    const curve = reliabilityCurve(ref.scores, ref.labels, 10);
    expect(curve.map((b) => b.observedRate)).toEqual(
      ref.calibration.observed.map((x) => expect.closeTo(x, 12)),
    );
    expect(curve.map((b) => b.meanScore)).toEqual(
      ref.calibration.meanScore.map((x) => expect.closeTo(x, 12)),
    );
  });

  it('gives the same confusion matrix and per-class, macro and weighted precision, recall and F1', () => {
    const r = classificationMetrics(ref.classes3.map(String), ref.pred3.map(String));
    expect(r.confusion.matrix).toEqual(ref.confusion3);
    r.perClass.forEach((c, i) => {
      expect(c.precision).toBeCloseTo(ref.perClass3.precision[i] as number, 12);
      expect(c.recall).toBeCloseTo(ref.perClass3.recall[i] as number, 12);
      expect(c.f1).toBeCloseTo(ref.perClass3.f1[i] as number, 12);
    });
    expect([r.macro.precision, r.macro.recall, r.macro.f1]).toEqual(
      ref.macro3.map((x) => expect.closeTo(x, 12)),
    );
    expect([r.weighted.precision, r.weighted.recall, r.weighted.f1]).toEqual(
      ref.weighted3.map((x) => expect.closeTo(x, 12)),
    );
  });

  it('gives the same McNemar statistic and p-value', () => {
    const a = ref.predA.map((p, i) => p === ref.labels[i]);
    const b = ref.predB.map((p, i) => p === ref.labels[i]);
    const r = mcnemar(a, b);
    expect([r.b, r.c]).toEqual([ref.mcnemar.table[0]?.[1], ref.mcnemar.table[1]?.[0]]);
    expect(r.method).toBe('chi2');
    expect(r.statistic).toBeCloseTo(ref.mcnemar.statistic, 12);
    expect(r.pValue).toBeCloseTo(ref.mcnemar.pValue, 6);
  });
});
