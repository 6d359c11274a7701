/**
 * Mean-variance portfolio optimisation (Markowitz) on top of the active-set QP solver, with the same problem
 * statements as PyPortfolioOpt's EfficientFrontier so its results can be reproduced:
 * - minimum volatility: min w'Σw, Σw = 1, bounds;
 * - maximum Sharpe: the Cornuejols-Tütüncü transformation y = k·w, min y'Σy s.t. (μ - r_f)'y = 1, with the
 *   budget and bounds homogenised (Σy = k ≥ 0, lᵢk ≤ yᵢ ≤ uᵢk), then w = y / k: one convex QP, no search;
 * - efficient return: min w'Σw with μ'w ≥ target;
 * - efficient risk: max μ'w with w'Σw ≤ σ²: the frontier's variance V(r) = min{w'Σw : μ'w ≥ r} is convex and
 *   increasing beyond the minimum-variance return, with V'(r) = 2λ (λ the return constraint's multiplier),
 *   so a bracketed Newton iteration on V(r) = σ² gives the exact frontier point in a handful of QPs;
 * - maximum quadratic utility: max μ'w - ½δ w'Σw.
 * Weight bounds are per asset (±Infinity for none), plus linear limits on groups of assets (asset classes).
 */
import { cholesky, dot, matVec, NotPositiveDefiniteError, quadForm, scale, type Matrix } from './linalg.js';
import {
  QpInfeasibleError,
  QpNumericalError,
  solveQP,
  type LinearConstraint,
  type QpSolution,
} from './qp.js';

export interface AssetGroup {
  name: string;
  /** Indices into the asset list. */
  members: number[];
  min?: number;
  max?: number;
}

export interface MeanVarianceProblem {
  assets: readonly string[];
  expectedReturns: Float64Array;
  covariance: Matrix;
  /** Per-asset lower bounds (-Infinity: unbounded). */
  lower: Float64Array;
  /** Per-asset upper bounds (Infinity: unbounded). */
  upper: Float64Array;
  groups: readonly AssetGroup[];
}

export interface Performance {
  expectedReturn: number;
  volatility: number;
  sharpe: number;
}

export interface OptimisedPortfolio {
  weights: Float64Array;
  /** Labels of the constraints that bind at the optimum (beyond the budget). */
  binding: string[];
  /** QP solver steps used in total. */
  iterations: number;
  /** Set when the requested target did not bind (e.g. a volatility above the highest-return portfolio's). */
  note?: string;
}

export type OptimErrorCode =
  | 'SINGULAR_COVARIANCE'
  | 'INVALID_COVARIANCE'
  | 'INFEASIBLE_CONSTRAINTS'
  | 'INFEASIBLE_TARGET_RETURN'
  | 'INFEASIBLE_TARGET_VOLATILITY'
  | 'NO_EXCESS_RETURN'
  | 'UNBOUNDED_PORTFOLIO'
  | 'SOLVER_FAILED';

export class OptimError extends Error {
  override readonly name = 'OptimError';
  constructor(
    message: string,
    readonly code: OptimErrorCode,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v));
const pct = (v: number) => `${Number((v * 100).toPrecision(4))}%`;

/** Checks the covariance (finite, symmetric, positive definite) and the bounds before any solve. */
export function checkProblem(p: MeanVarianceProblem): void {
  const n = p.assets.length;
  if (n === 0) throw new OptimError('there are no assets to allocate', 'INFEASIBLE_CONSTRAINTS');
  if (p.expectedReturns.length !== n || p.covariance.length !== n)
    throw new OptimError(`expected ${n} returns and a ${n}×${n} covariance`, 'INVALID_COVARIANCE');
  for (let i = 0; i < n; i++) {
    const mu = p.expectedReturns[i] as number;
    if (!Number.isFinite(mu))
      throw new OptimError(`expected return of ${p.assets[i]} is not a finite number`, 'INVALID_COVARIANCE');
    const row = p.covariance[i] as Float64Array;
    if (row.length !== n)
      throw new OptimError(
        `covariance row ${p.assets[i]} has ${row.length} entries, expected ${n}`,
        'INVALID_COVARIANCE',
      );
    for (let j = 0; j < n; j++) {
      const v = row[j] as number;
      if (!Number.isFinite(v))
        throw new OptimError(
          `covariance of ${p.assets[i]} and ${p.assets[j]} is missing or not finite`,
          'INVALID_COVARIANCE',
        );
      const w = (p.covariance[j] as Float64Array)[i] as number;
      if (Math.abs(v - w) > 1e-10 * Math.max(1, Math.abs(v), Math.abs(w)))
        throw new OptimError(
          `covariance is not symmetric: (${p.assets[i]}, ${p.assets[j]}) = ${fmt(v)} but (${p.assets[j]}, ${p.assets[i]}) = ${fmt(w)}`,
          'INVALID_COVARIANCE',
        );
    }
  }
  try {
    cholesky(p.covariance);
  } catch (err) {
    if (!(err instanceof NotPositiveDefiniteError)) throw err;
    const asset = p.assets[err.index] as string;
    const diag = (p.covariance[err.index] as Float64Array)[err.index] as number;
    const why =
      diag <= 0
        ? `${asset} has ${diag === 0 ? 'zero' : 'negative'} variance`
        : err.relativePivot < 0
          ? `the matrix is not positive semi-definite (an estimate from gappy data can be inconsistent); ${asset} is where it fails`
          : `${asset} is (almost) a linear combination of the assets before it, so some portfolio has zero risk`;
    throw new OptimError(
      `the covariance matrix is singular: ${why}. Remove duplicate or constant assets, or give a longer common history`,
      'SINGULAR_COVARIANCE',
      { asset },
    );
  }
  for (let i = 0; i < n; i++) {
    const lo = p.lower[i] as number;
    const hi = p.upper[i] as number;
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi)
      throw new OptimError(
        `bounds of ${p.assets[i]} are empty: [${fmt(lo)}, ${fmt(hi)}]`,
        'INFEASIBLE_CONSTRAINTS',
      );
  }
  const sumLo = p.lower.reduce((s, v) => s + v, 0);
  const sumHi = p.upper.reduce((s, v) => s + v, 0);
  if (sumLo > 1 + 1e-12)
    throw new OptimError(
      `the lower bounds add up to ${fmt(sumLo)}, more than the whole portfolio (1)`,
      'INFEASIBLE_CONSTRAINTS',
    );
  if (sumHi < 1 - 1e-12)
    throw new OptimError(
      `the upper bounds add up to ${fmt(sumHi)}, less than the whole portfolio (1)`,
      'INFEASIBLE_CONSTRAINTS',
    );
  for (const g of p.groups) {
    const lo = g.members.reduce((s, i) => s + (p.lower[i] as number), 0);
    const hi = g.members.reduce((s, i) => s + (p.upper[i] as number), 0);
    if (g.min !== undefined && g.max !== undefined && g.min > g.max)
      throw new OptimError(
        `group ${g.name}: minimum ${fmt(g.min)} is above its maximum ${fmt(g.max)}`,
        'INFEASIBLE_CONSTRAINTS',
      );
    if (g.min !== undefined && hi < g.min - 1e-12)
      throw new OptimError(
        `group ${g.name} must hold at least ${fmt(g.min)}, but its assets' upper bounds add up to ${fmt(hi)}`,
        'INFEASIBLE_CONSTRAINTS',
      );
    if (g.max !== undefined && lo > g.max + 1e-12)
      throw new OptimError(
        `group ${g.name} may hold at most ${fmt(g.max)}, but its assets' lower bounds add up to ${fmt(lo)}`,
        'INFEASIBLE_CONSTRAINTS',
      );
  }
}

const indicator = (n: number, members: readonly number[], k = 1) => {
  const v = new Float64Array(n);
  for (const i of members) v[i] = (v[i] as number) + k;
  return v;
};

/** Budget, bounds and group limits on the weights themselves. */
function weightConstraints(p: MeanVarianceProblem): LinearConstraint[] {
  const n = p.assets.length;
  const out: LinearConstraint[] = [
    { normal: new Float64Array(n).fill(1), rhs: 1, kind: 'eq', label: 'weights sum to 1' },
  ];
  for (let i = 0; i < n; i++) {
    const lo = p.lower[i] as number;
    const hi = p.upper[i] as number;
    if (lo === hi && Number.isFinite(lo)) {
      out.push({
        normal: indicator(n, [i]),
        rhs: lo,
        kind: 'eq',
        label: `weight of ${p.assets[i]} = ${fmt(lo)}`,
      });
      continue;
    }
    if (Number.isFinite(lo))
      out.push({
        normal: indicator(n, [i]),
        rhs: lo,
        kind: 'ge',
        label: `weight of ${p.assets[i]} ≥ ${fmt(lo)}`,
      });
    if (Number.isFinite(hi))
      out.push({
        normal: indicator(n, [i], -1),
        rhs: -hi,
        kind: 'ge',
        label: `weight of ${p.assets[i]} ≤ ${fmt(hi)}`,
      });
  }
  for (const g of p.groups) {
    if (g.min !== undefined)
      out.push({
        normal: indicator(n, g.members),
        rhs: g.min,
        kind: 'ge',
        label: `${g.name} ≥ ${pct(g.min)}`,
      });
    if (g.max !== undefined)
      out.push({
        normal: indicator(n, g.members, -1),
        rhs: -g.max,
        kind: 'ge',
        label: `${g.name} ≤ ${pct(g.max)}`,
      });
  }
  return out;
}

function solve(
  hessian: Matrix,
  linear: Float64Array | undefined,
  constraints: LinearConstraint[],
): QpSolution {
  try {
    return solveQP({ hessian, ...(linear ? { linear } : {}), constraints });
  } catch (err) {
    if (err instanceof QpNumericalError)
      throw new OptimError(`the solver did not converge: ${err.message}`, 'SOLVER_FAILED');
    throw err;
  }
}

const bindingLabels = (sol: QpSolution, constraints: LinearConstraint[]) =>
  sol.active.map((i) => constraints[i]?.label ?? '').filter((l) => l && l !== 'weights sum to 1');

/** Snaps weights that sit on a bound to it exactly, so "0" reads as 0 and not 3e-17. */
function tidy(p: MeanVarianceProblem, w: Float64Array): Float64Array {
  return w.map((v, i) => {
    const lo = p.lower[i] as number;
    const hi = p.upper[i] as number;
    if (Math.abs(v - lo) < 1e-12) return lo;
    if (Math.abs(v - hi) < 1e-12) return hi;
    return Math.abs(v) < 1e-15 ? 0 : v;
  });
}

function infeasible(err: unknown): never {
  if (err instanceof QpInfeasibleError)
    throw new OptimError(
      `no portfolio satisfies the weight bounds and group limits together (conflict at: ${err.label ?? 'a constraint'})`,
      'INFEASIBLE_CONSTRAINTS',
    );
  throw err;
}

export function minVolatility(p: MeanVarianceProblem): OptimisedPortfolio {
  checkProblem(p);
  const constraints = weightConstraints(p);
  let sol: QpSolution;
  try {
    sol = solve(p.covariance, undefined, constraints);
  } catch (err) {
    infeasible(err);
  }
  return { weights: tidy(p, sol.x), binding: bindingLabels(sol, constraints), iterations: sol.iterations };
}

export function maxQuadraticUtility(p: MeanVarianceProblem, riskAversion: number): OptimisedPortfolio {
  checkProblem(p);
  if (!(riskAversion > 0)) throw new OptimError('risk aversion must be positive', 'INFEASIBLE_CONSTRAINTS');
  const constraints = weightConstraints(p);
  let sol: QpSolution;
  try {
    sol = solve(
      scale(p.covariance, riskAversion),
      p.expectedReturns.map((v) => -v),
      constraints,
    );
  } catch (err) {
    infeasible(err);
  }
  return { weights: tidy(p, sol.x), binding: bindingLabels(sol, constraints), iterations: sol.iterations };
}

/**
 * The highest expected return any feasible portfolio reaches (a linear programme), with its weights, or
 * Infinity when unbounded (short positions without limits). Solved by the proximal-point method, each step a
 * strictly convex QP (x ← argmax μ'x - ½ε‖x - x_k‖²); on a polyhedron it reaches an optimal face exactly after
 * finitely many steps (Ferris 1991), usually one or two here.
 */
export function maxReturn(p: MeanVarianceProblem): {
  value: number;
  weights: Float64Array | undefined;
  iterations: number;
} {
  checkProblem(p);
  const n = p.assets.length;
  const constraints = weightConstraints(p);
  const mu = p.expectedReturns;
  const muScale = Math.max(1e-12, ...Array.from(mu, Math.abs));
  let width = 0;
  for (let i = 0; i < n; i++) width += Math.min(2, (p.upper[i] as number) - (p.lower[i] as number));
  let eps = muScale / (10 * Math.max(1, width));
  let x: Float64Array;
  let iterations = 0;
  try {
    x = solve(p.covariance, undefined, constraints).x;
  } catch (err) {
    infeasible(err);
  }
  for (let k = 0; k < 200; k++) {
    const hessian: Matrix = Array.from({ length: n }, (_, i) => {
      const row = new Float64Array(n);
      row[i] = eps;
      return row;
    });
    const linear = Float64Array.from(mu, (m, i) => -m - eps * (x[i] as number));
    const sol = solve(hessian, linear, constraints);
    iterations += sol.iterations;
    let step = 0;
    let size = 0;
    for (let i = 0; i < n; i++) {
      step = Math.max(step, Math.abs((sol.x[i] as number) - (x[i] as number)));
      size = Math.max(size, Math.abs(sol.x[i] as number));
    }
    x = sol.x;
    if (size > 1e9) return { value: Infinity, weights: undefined, iterations };
    // A fixed point is optimal; what is left of the step is rounding, about machine precision times |μ|/ε.
    if (step <= 1e-10 * (1 + size)) return { value: dot(mu, x), weights: tidy(p, x), iterations };
    // Still travelling far: lengthen the steps, which also exposes an unbounded problem quickly.
    if (step > 1) eps /= 4;
  }
  throw new OptimError('the highest attainable return could not be determined', 'SOLVER_FAILED');
}

export function maxSharpe(p: MeanVarianceProblem, riskFreeRate: number): OptimisedPortfolio {
  checkProblem(p);
  const n = p.assets.length;
  const best = maxReturn(p);
  if (best.value <= riskFreeRate)
    throw new OptimError(
      `no portfolio within the bounds earns more than the risk-free rate ${fmt(riskFreeRate)} (the highest expected return is ${fmt(best.value)}), so the Sharpe ratio cannot be positive; lower riskFreeRate or use minVolatility`,
      'NO_EXCESS_RETURN',
      { maxReturn: best.value },
    );
  const ones = new Float64Array(n).fill(1);
  const excess = p.expectedReturns.map((m) => m - riskFreeRate);
  const constraints: LinearConstraint[] = [
    { normal: excess, rhs: 1, kind: 'eq', label: 'excess return = 1 (scaled)' },
  ];
  const homogeneous = (v: Float64Array, k: number) => v.map((x, i) => x - k * (ones[i] as number));
  for (let i = 0; i < n; i++) {
    const lo = p.lower[i] as number;
    const hi = p.upper[i] as number;
    if (Number.isFinite(lo))
      constraints.push({
        normal: homogeneous(indicator(n, [i]), lo),
        rhs: 0,
        kind: lo === hi ? 'eq' : 'ge',
        label: `weight of ${p.assets[i]} ≥ ${fmt(lo)}`,
      });
    if (Number.isFinite(hi) && lo !== hi)
      constraints.push({
        normal: homogeneous(indicator(n, [i], -1), -hi),
        rhs: 0,
        kind: 'ge',
        label: `weight of ${p.assets[i]} ≤ ${fmt(hi)}`,
      });
  }
  for (const g of p.groups) {
    if (g.min !== undefined)
      constraints.push({
        normal: homogeneous(indicator(n, g.members), g.min),
        rhs: 0,
        kind: 'ge',
        label: `${g.name} ≥ ${pct(g.min)}`,
      });
    if (g.max !== undefined)
      constraints.push({
        normal: homogeneous(indicator(n, g.members, -1), -g.max),
        rhs: 0,
        kind: 'ge',
        label: `${g.name} ≤ ${pct(g.max)}`,
      });
  }
  constraints.push({ normal: ones, rhs: 0, kind: 'ge', label: 'net investment ≥ 0' });
  let sol: QpSolution;
  try {
    sol = solve(p.covariance, undefined, constraints);
  } catch (err) {
    if (err instanceof QpInfeasibleError)
      throw new OptimError(
        `no portfolio with a positive excess return satisfies the bounds (conflict at: ${err.label ?? 'a constraint'})`,
        'NO_EXCESS_RETURN',
      );
    throw err;
  }
  const k = dot(ones, sol.x);
  const yScale = Math.max(...Array.from(sol.x, Math.abs));
  if (!(k > 1e-9 * yScale))
    throw new OptimError(
      'the maximum Sharpe ratio is unbounded: a zero-net-investment long/short position earns a positive excess return; set finite weight bounds',
      'UNBOUNDED_PORTFOLIO',
    );
  return {
    weights: tidy(
      p,
      sol.x.map((v) => v / k),
    ),
    binding: bindingLabels(sol, constraints).filter((l) => !l.startsWith('excess return')),
    iterations: best.iterations + sol.iterations,
  };
}

interface FrontierPoint {
  sol: QpSolution;
  constraints: LinearConstraint[];
  variance: number;
  /** d(variance)/d(target return). */
  slope: number;
}

function frontierAt(p: MeanVarianceProblem, base: LinearConstraint[], target: number): FrontierPoint {
  const constraints = [
    ...base,
    {
      normal: p.expectedReturns,
      rhs: target,
      kind: 'ge' as const,
      label: `expected return ≥ ${fmt(target)}`,
    },
  ];
  const sol = solve(p.covariance, undefined, constraints);
  return {
    sol,
    constraints,
    variance: quadForm(p.covariance, sol.x),
    slope: 2 * (sol.multipliers[base.length] as number),
  };
}

export function efficientReturn(p: MeanVarianceProblem, targetReturn: number): OptimisedPortfolio {
  checkProblem(p);
  const base = weightConstraints(p);
  try {
    solve(p.covariance, undefined, base);
  } catch (err) {
    infeasible(err);
  }
  let point: FrontierPoint;
  try {
    point = frontierAt(p, base, targetReturn);
  } catch (err) {
    if (!(err instanceof QpInfeasibleError)) throw err;
    const best = maxReturn(p);
    throw new OptimError(
      `target return ${fmt(targetReturn)} is not reachable: the highest expected return within the bounds is ${fmt(best.value)}; choose a target at or below it`,
      'INFEASIBLE_TARGET_RETURN',
      { maxReturn: best.value },
    );
  }
  return {
    weights: tidy(p, point.sol.x),
    binding: bindingLabels(point.sol, point.constraints),
    iterations: point.sol.iterations,
  };
}

export function efficientRisk(p: MeanVarianceProblem, targetVolatility: number): OptimisedPortfolio {
  checkProblem(p);
  const base = weightConstraints(p);
  let minVar: QpSolution;
  try {
    minVar = solve(p.covariance, undefined, base);
  } catch (err) {
    infeasible(err);
  }
  const target = targetVolatility ** 2;
  const vMin = quadForm(p.covariance, minVar.x);
  let iterations = minVar.iterations;
  if (target < vMin * (1 - 1e-12)) {
    throw new OptimError(
      `target volatility ${fmt(targetVolatility)} is below the lowest achievable volatility ${fmt(Math.sqrt(vMin))} within the bounds; choose a target at or above it`,
      'INFEASIBLE_TARGET_VOLATILITY',
      { minVolatility: Math.sqrt(vMin) },
    );
  }
  if (target <= vMin) return { weights: tidy(p, minVar.x), binding: bindingLabels(minVar, base), iterations };
  const rLow = dot(p.expectedReturns, minVar.x);
  let lo = rLow;
  let hi: number;
  let point: FrontierPoint;
  const best = maxReturn(p);
  iterations += best.iterations;
  if (Number.isFinite(best.value)) {
    // A hair below the maximum, so rounding in the maximum cannot make the top of the frontier infeasible.
    let top: FrontierPoint | undefined;
    hi = lo;
    for (const gap of [1e-14, 1e-12, 1e-10, 1e-8]) {
      hi = Math.max(lo, best.value - gap * (1 + Math.abs(best.value)));
      try {
        top = frontierAt(p, base, hi);
        break;
      } catch (err) {
        if (!(err instanceof QpInfeasibleError)) throw err;
      }
    }
    if (!top)
      throw new OptimError('could not solve for the highest-return end of the frontier', 'SOLVER_FAILED');
    point = top;
    iterations += point.sol.iterations;
    if (point.variance <= target) {
      return {
        weights: tidy(p, point.sol.x),
        binding: bindingLabels(point.sol, point.constraints),
        iterations,
        note: `the volatility limit does not bind: the highest-return portfolio has volatility ${fmt(Math.sqrt(point.variance))}`,
      };
    }
  } else {
    // Unlimited short positions: walk out along the frontier until the variance passes the target.
    let step = Math.max(Math.abs(rLow), 0.1);
    for (;;) {
      hi = rLow + step;
      point = frontierAt(p, base, hi);
      iterations += point.sol.iterations;
      if (point.variance >= target) break;
      step *= 2;
      if (step > 1e12)
        throw new OptimError('the frontier did not reach the target volatility', 'SOLVER_FAILED');
    }
  }
  // Newton on the convex increasing V(r) - σ², started from the right end so it approaches monotonically;
  // bisection steps in if rounding ever throws an iterate out of the bracket.
  let r = hi;
  for (let k = 0; k < 100; k++) {
    const g = point.variance - target;
    if (Math.abs(g) <= 1e-15 * target) break;
    if (g > 0) hi = r;
    else lo = r;
    if (hi - lo <= 1e-15 * (1 + Math.abs(hi))) break;
    let next = point.slope > 0 ? r - g / point.slope : NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    r = next;
    point = frontierAt(p, base, r);
    iterations += point.sol.iterations;
  }
  return { weights: tidy(p, point.sol.x), binding: bindingLabels(point.sol, point.constraints), iterations };
}

export function portfolioPerformance(
  p: MeanVarianceProblem,
  w: ArrayLike<number>,
  riskFreeRate: number,
): Performance {
  const expectedReturn = dot(p.expectedReturns, w);
  const volatility = Math.sqrt(quadForm(p.covariance, w));
  return { expectedReturn, volatility, sharpe: (expectedReturn - riskFreeRate) / volatility };
}

/** Each asset's share of the portfolio variance: wᵢ(Σw)ᵢ / w'Σw (they add up to 1). */
export function riskContributions(p: MeanVarianceProblem, w: ArrayLike<number>): Float64Array {
  const sw = matVec(p.covariance, w);
  const v = dot(w, sw);
  return Float64Array.from(sw, (s, i) => ((w[i] as number) * s) / v);
}
