import { describe, expect, it } from 'vitest';
import { choleskySolve } from './linalg.js';
import { fitLogistic, logit, sigmoid } from './logistic.js';
import { seededRandom } from './random.js';

describe('choleskySolve', () => {
  it('solves a symmetric positive-definite system and refuses an indefinite one', () => {
    const a = Float64Array.from([4, 2, 2, 3]);
    const x = choleskySolve(a, Float64Array.from([2, 1]), 2) as Float64Array;
    expect(x[0]).toBeCloseTo(0.5, 14);
    expect(x[1]).toBeCloseTo(0, 14);
    expect(choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2)).toBeUndefined();
  });
});

describe('fitLogistic', () => {
  it('reproduces the closed-form maximum-likelihood solution of a 2x2 table', () => {
    // One binary feature: 3 of 10 positives when x = 0, 8 of 10 when x = 1. Without a penalty the MLE is
    // intercept = logit(0.3) and slope = logit(0.8) - logit(0.3).
    const x = new Float64Array(20);
    const y = new Uint8Array(20);
    for (let i = 0; i < 10; i++) y[i] = i < 3 ? 1 : 0;
    for (let i = 10; i < 20; i++) {
      x[i] = 1;
      y[i] = i < 18 ? 1 : 0;
    }
    const fit = fitLogistic(x, y, 20, 1, { l2: 0 });
    expect(fit.converged).toBe(true);
    expect(fit.intercept).toBeCloseTo(logit(0.3), 10);
    expect(fit.coefficients[0]).toBeCloseTo(logit(0.8) - logit(0.3), 10);
  });

  it('reaches the penalised optimum: the gradient of the objective vanishes', () => {
    const random = seededRandom(3);
    const n = 400;
    const p = 5;
    const truth = [1.5, -2, 0.5, 0, 1];
    const x = new Float64Array(n * p);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let z = -0.5;
      for (let j = 0; j < p; j++) {
        const v = random() * 2 - 1;
        x[i * p + j] = v;
        z += (truth[j] as number) * v;
      }
      y[i] = random() < sigmoid(z) ? 1 : 0;
    }
    const l2 = 2.5;
    const fit = fitLogistic(x, y, n, p, { l2 });
    expect(fit.converged).toBe(true);
    // Stationarity of  sum log-loss + l2/2 |beta|^2  (intercept unpenalised), recomputed independently.
    const grad = new Array<number>(p + 1).fill(0);
    for (let i = 0; i < n; i++) {
      let z = fit.intercept;
      for (let j = 0; j < p; j++) z += (fit.coefficients[j] as number) * (x[i * p + j] as number);
      const r = sigmoid(z) - (y[i] as number);
      grad[0] = (grad[0] as number) + r;
      for (let j = 0; j < p; j++) grad[j + 1] = (grad[j + 1] as number) + r * (x[i * p + j] as number);
    }
    for (let j = 0; j < p; j++) grad[j + 1] = (grad[j + 1] as number) + l2 * (fit.coefficients[j] as number);
    for (const g of grad) expect(Math.abs(g)).toBeLessThan(1e-8);
    // The penalty shrinks: a larger l2 gives a smaller coefficient norm.
    const heavier = fitLogistic(x, y, n, p, { l2: 50 });
    const norm = (c: number[]) => Math.hypot(...c);
    expect(norm(heavier.coefficients)).toBeLessThan(norm(fit.coefficients));
  });

  it('stays finite on separable data when penalised', () => {
    const x = Float64Array.from([-2, -1, 1, 2]);
    const y = Uint8Array.from([0, 0, 1, 1]);
    const fit = fitLogistic(x, y, 4, 1, { l2: 0.1 });
    expect(fit.converged).toBe(true);
    expect(Number.isFinite(fit.coefficients[0])).toBe(true);
    expect(fit.coefficients[0]).toBeGreaterThan(1);
  });
});
