import { describe, expect, it } from 'vitest';
import { stratifiedFolds } from './cross-validation.js';
import { averageCost, bayesThreshold, costOptimalThreshold, recallAtFpr, rocAuc } from './metrics.js';
import { seededRandom } from './random.js';

/** AUC by its definition: the share of (positive, negative) pairs ranked correctly, ties counting half. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('rocAuc', () => {
  it('matches hand-computed cases', () => {
    // 0.35 beats 0.1 but not 0.4; 0.8 beats both: 3 of 4 pairs.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // The tie 0.5 vs 0.5 counts half: (0.5 + 1 + 1 + 1) / 4.
    expect(rocAuc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1])).toBe(0.875);
    expect(rocAuc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(rocAuc([3, 2, 1], [0, 1, 1])).toBe(0);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });

  it('equals the pairwise definition on random scores with many ties', () => {
    const random = seededRandom(7);
    const scores = Array.from({ length: 300 }, () => Math.round(random() * 20) / 20);
    const labels = scores.map((s) => (random() < 0.3 + 0.4 * s ? 1 : 0));
    expect(rocAuc(scores, labels)).toBeCloseTo(pairwiseAuc(scores, labels), 12);
  });
});

describe('costs and thresholds', () => {
  it('puts the Bayes threshold of the German Credit cost matrix at 1/6', () => {
    expect(bayesThreshold({ falseNegative: 5, falsePositive: 1 })).toBeCloseTo(1 / 6, 15);
  });

  it('counts the average cost per case', () => {
    // Above 0.5: predicted positive. One missed positive (cost 5) and one false alarm (cost 1) over 4 cases.
    expect(averageCost([0.9, 0.2, 0.7, 0.1], [1, 1, 0, 0], 0.5, { falseNegative: 5, falsePositive: 1 })).toBe(
      1.5,
    );
  });

  it('finds the threshold with the lowest cost', () => {
    const scores = [0.9, 0.8, 0.6, 0.4, 0.3, 0.1];
    const labels = [1, 0, 1, 0, 1, 0];
    // Flagging down to 0.3 catches every positive at the price of two false alarms: cost 2/6, the minimum.
    const best = costOptimalThreshold(scores, labels, { falseNegative: 5, falsePositive: 1 });
    expect(best.cost).toBeCloseTo(2 / 6, 15);
    expect(best.threshold).toBeCloseTo(0.2, 15);
    expect(averageCost(scores, labels, best.threshold, { falseNegative: 5, falsePositive: 1 })).toBeCloseTo(
      2 / 6,
      15,
    );
  });

  it('gives recall at a fixed false-positive rate without exceeding it', () => {
    const negatives = Array.from({ length: 100 }, (_, i) => i / 100); // 0.00 .. 0.99
    const positives = [0.995, 0.985, 0.975, 0.5, 0.2];
    const scores = [...negatives, ...positives];
    const labels = [...negatives.map(() => 0), ...positives.map(() => 1)];
    // 1 % of 100 negatives: one may score above the threshold (0.99), so the threshold is 0.98.
    const r = recallAtFpr(scores, labels, 0.01);
    expect(r.threshold).toBe(0.98);
    expect(r.falsePositiveRate).toBe(0.01);
    expect(r.recall).toBe(2 / 5);
  });
});

describe('stratifiedFolds', () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));

  it('keeps the class balance in every fold', () => {
    const folds = stratifiedFolds(labels, 10, 1);
    for (let f = 0; f < 10; f++) {
      const members = labels.filter((_, i) => folds[i] === f);
      expect(members.length).toBe(100);
      expect(members.filter((y) => y === 1).length).toBe(30);
    }
  });

  it('is reproducible from its seed and changes with it', () => {
    expect(Array.from(stratifiedFolds(labels, 5, 42))).toEqual(Array.from(stratifiedFolds(labels, 5, 42)));
    expect(Array.from(stratifiedFolds(labels, 5, 42))).not.toEqual(
      Array.from(stratifiedFolds(labels, 5, 43)),
    );
  });
});
