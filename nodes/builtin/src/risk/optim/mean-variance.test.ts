import { describe, expect, it } from 'vitest';
import { dot, solveSpd, toMatrix, type Matrix } from './linalg.js';
import {
  efficientReturn,
  efficientRisk,
  maxReturn,
  maxSharpe,
  minVolatility,
  portfolioPerformance,
  type MeanVarianceProblem,
} from './mean-variance.js';

const assets = ['A', 'B', 'C', 'D'];
const covariance = toMatrix([
  [0.04, 0.006, 0.012, 0.0],
  [0.006, 0.09, 0.018, 0.01],
  [0.012, 0.018, 0.16, 0.02],
  [0.0, 0.01, 0.02, 0.0225],
]);
const expectedReturns = Float64Array.from([0.06, 0.1, 0.14, 0.05]);
const problem = (
  lo: number,
  hi: number,
  groups: MeanVarianceProblem['groups'] = [],
): MeanVarianceProblem => ({
  assets,
  expectedReturns,
  covariance,
  lower: new Float64Array(4).fill(lo),
  upper: new Float64Array(4).fill(hi),
  groups,
});
const unbounded = problem(-Infinity, Infinity);
const longOnly = problem(0, 1);

/** Deterministic pseudo-random long-only portfolios (for "nothing beats the optimum" checks). */
function* randomPortfolios(count: number, ok: (w: number[]) => boolean = () => true) {
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < count; k++) {
    const raw = assets.map(() => -Math.log(rnd() + 1e-12) * (rnd() < 0.3 ? 0 : 1));
    const total = raw.reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    const w = raw.map((v) => v / total);
    if (ok(w)) yield w;
  }
}

const sharpe = (w: ArrayLike<number>, rf: number) => portfolioPerformance(longOnly, w, rf).sharpe;
const vol = (w: ArrayLike<number>) => portfolioPerformance(longOnly, w, 0).volatility;

describe('mean-variance problems', () => {
  it('minimum volatility without bounds is Σ⁻¹1 / 1ᵀΣ⁻¹1', () => {
    const raw = solveSpd(covariance as Matrix, [1, 1, 1, 1]);
    const total = raw.reduce((a, b) => a + b, 0);
    const w = minVolatility(unbounded).weights;
    raw.forEach((v, i) => expect(w[i]).toBeCloseTo(v / total, 13));
  });

  it('maximum Sharpe without bounds is the tangency portfolio Σ⁻¹(μ - r_f), normalised', () => {
    const rf = 0.03;
    const raw = solveSpd(
      covariance as Matrix,
      Array.from(expectedReturns, (m) => m - rf),
    );
    const total = raw.reduce((a, b) => a + b, 0);
    const w = maxSharpe(unbounded, rf).weights;
    raw.forEach((v, i) => expect(w[i]).toBeCloseTo(v / total, 12));
  });

  it('long-only optima beat every sampled portfolio', () => {
    const ms = maxSharpe(longOnly, 0.02).weights;
    const mv = minVolatility(longOnly).weights;
    for (const w of randomPortfolios(3000)) {
      expect(sharpe(ms, 0.02)).toBeGreaterThanOrEqual(sharpe(w, 0.02) - 1e-12);
      expect(vol(mv)).toBeLessThanOrEqual(vol(w) + 1e-12);
    }
  });

  it('efficient risk earns the most of any portfolio within the volatility, and sits on it', () => {
    const target = 0.2;
    const er = efficientRisk(longOnly, target).weights;
    expect(vol(er)).toBeCloseTo(target, 13);
    for (const w of randomPortfolios(3000, (x) => vol(x) <= target))
      expect(dot(expectedReturns, er)).toBeGreaterThanOrEqual(dot(expectedReturns, w) - 1e-12);
  });

  it('efficient return and efficient risk are the same frontier', () => {
    const er = efficientRisk(longOnly, 0.18).weights;
    const back = efficientReturn(longOnly, dot(expectedReturns, er)).weights;
    er.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 8));
  });

  it('the highest attainable return respects caps and groups (a linear programme)', () => {
    expect(maxReturn(longOnly).value).toBeCloseTo(0.14, 14);
    // At most 50% each: C then B.
    expect(maxReturn(problem(0, 0.5)).value).toBeCloseTo(0.5 * 0.14 + 0.5 * 0.1, 14);
    // B + C at most 60%: 60% C, then 40% A.
    const capped = maxReturn(problem(0, 1, [{ name: 'growth', members: [1, 2], max: 0.6 }]));
    expect(capped.value).toBeCloseTo(0.6 * 0.14 + 0.4 * 0.06, 12);
    expect(maxReturn(unbounded).value).toBe(Infinity);
  });

  it('a group limit binds and is reported', () => {
    const r = maxSharpe(problem(0, 1, [{ name: 'growth', members: [1, 2], max: 0.3 }]), 0.02);
    expect((r.weights[1] as number) + (r.weights[2] as number)).toBeCloseTo(0.3, 12);
    expect(r.binding).toContain('growth ≤ 30%');
  });
});
