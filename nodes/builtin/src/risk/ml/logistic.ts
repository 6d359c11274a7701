/**
 * Binary logistic regression with an L2 penalty, fitted by Newton's method (iteratively reweighted least squares)
 * with a backtracking line search. The objective is convex, so the optimum is unique and found to machine
 * precision in a handful of steps; no learning rate, no epochs, and the same answer on every run.
 *
 *   minimise  sum_i w_i [log(1 + e^{z_i}) - y_i z_i] + (l2 / 2) sum_j beta_j^2,   z_i = b + x_i . beta
 *
 * The intercept b is not penalised (penalising it would shrink the base rate towards 50 %).
 */
import { choleskySolve } from './linalg.js';

export interface LogisticFit {
  intercept: number;
  coefficients: number[];
  iterations: number;
  converged: boolean;
  /** The penalised objective at the solution. */
  objective: number;
  /** Largest absolute component of the objective's gradient at the solution. */
  gradientNorm: number;
}

export interface LogisticOptions {
  l2: number;
  /** Per-row weights (default 1). */
  weights?: Float64Array;
  maxIterations?: number;
  /** Stop when every gradient component is below this. */
  tolerance?: number;
}

/** log(1 + e^z) without overflow. */
export function log1pExp(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** 1 / (1 + e^-z) without overflow. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/**
 * Fits the model on a row-major design matrix `x` (n rows, p columns) and labels `y` (0 or 1).
 * Throws when the system is singular even after the penalty (only possible with l2 = 0).
 */
export function fitLogistic(
  x: Float64Array,
  y: Uint8Array,
  n: number,
  p: number,
  options: LogisticOptions,
): LogisticFit {
  const { l2, weights } = options;
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-10;
  const m = p + 1; // parameter 0 is the intercept
  const theta = new Float64Array(m);
  let wSum = 0;
  let wPos = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? (weights[i] as number) : 1;
    wSum += w;
    wPos += w * (y[i] as number);
  }
  // Starting at the base rate makes the first Newton step small and well-conditioned.
  const base = Math.min(Math.max(wPos / wSum, 1e-6), 1 - 1e-6);
  theta[0] = logit(base);

  const z = new Float64Array(n);
  const linear = (params: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = params[0] as number;
      const row = i * p;
      for (let j = 0; j < p; j++) s += (x[row + j] as number) * (params[j + 1] as number);
      out[i] = s;
    }
  };
  const objectiveAt = (params: Float64Array, zs: Float64Array): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const w = weights ? (weights[i] as number) : 1;
      const zi = zs[i] as number;
      f += w * (log1pExp(zi) - (y[i] as number) * zi);
    }
    let penalty = 0;
    for (let j = 1; j < m; j++) penalty += (params[j] as number) ** 2;
    return f + 0.5 * l2 * penalty;
  };

  const grad = new Float64Array(m);
  const hess = new Float64Array(m * m);
  const trial = new Float64Array(m);
  const zTrial = new Float64Array(n);
  linear(theta, z);
  let f = objectiveAt(theta, z);
  let iterations = 0;
  let converged = false;
  let gradientNorm = Infinity;

  for (; iterations <= maxIterations; iterations++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      const w = weights ? (weights[i] as number) : 1;
      const pi = sigmoid(z[i] as number);
      const r = w * (pi - (y[i] as number));
      const h = w * pi * (1 - pi);
      const row = i * p;
      grad[0] = (grad[0] as number) + r;
      hess[0] = (hess[0] as number) + h;
      for (let j = 0; j < p; j++) {
        const xij = x[row + j] as number;
        if (xij === 0) continue; // one-hot columns are mostly zero
        grad[j + 1] = (grad[j + 1] as number) + r * xij;
        const hx = h * xij;
        const hrow = (j + 1) * m;
        hess[hrow] = (hess[hrow] as number) + hx;
        for (let k = 0; k <= j; k++) {
          const xik = x[row + k] as number;
          if (xik !== 0) hess[hrow + k + 1] = (hess[hrow + k + 1] as number) + hx * xik;
        }
      }
    }
    for (let j = 1; j < m; j++) {
      grad[j] = (grad[j] as number) + l2 * (theta[j] as number);
      hess[j * m + j] = (hess[j * m + j] as number) + l2;
    }
    gradientNorm = 0;
    for (let j = 0; j < m; j++) gradientNorm = Math.max(gradientNorm, Math.abs(grad[j] as number));
    if (gradientNorm <= tolerance) {
      converged = true;
      break;
    }
    if (iterations === maxIterations) break;

    let step = choleskySolve(hess, grad, m);
    if (!step) {
      // Only reachable without a penalty on collinear columns: a tiny ridge makes the step defined.
      let trace = 0;
      for (let j = 0; j < m; j++) trace += hess[j * m + j] as number;
      for (let j = 0; j < m; j++) hess[j * m + j] = (hess[j * m + j] as number) + 1e-10 * (trace / m + 1);
      step = choleskySolve(hess, grad, m);
      if (!step)
        throw new Error(
          'logistic regression: the Hessian is singular (collinear features and no L2 penalty)',
        );
    }
    let decrement = 0;
    for (let j = 0; j < m; j++) decrement += (step[j] as number) * (grad[j] as number);
    // Backtracking line search (Armijo): a full Newton step is taken whenever it decreases the objective enough.
    // Close to the optimum the decrease falls below what doubles resolve in the objective; the full step is
    // then taken as long as the objective does not visibly rise (Newton converges quadratically there).
    const nearOptimum = decrement < 1e-10 * (1 + Math.abs(f));
    let t = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 60; halvings++) {
      for (let j = 0; j < m; j++) trial[j] = (theta[j] as number) - t * (step[j] as number);
      linear(trial, zTrial);
      const fTrial = objectiveAt(trial, zTrial);
      if (
        fTrial <= f - 1e-4 * t * decrement ||
        (nearOptimum && t === 1 && fTrial <= f + 1e-12 * (1 + Math.abs(f)))
      ) {
        accepted = true;
        f = fTrial;
        break;
      }
      t /= 2;
    }
    if (!accepted) {
      // No decrease is possible at working precision: the gradient is as small as doubles allow.
      converged = gradientNorm <= Math.max(tolerance, 1e-6 * (1 + Math.abs(f)));
      break;
    }
    theta.set(trial);
    z.set(zTrial);
  }
  return {
    intercept: theta[0] as number,
    coefficients: Array.from(theta.subarray(1)),
    iterations,
    converged,
    objective: f,
    gradientNorm,
  };
}
