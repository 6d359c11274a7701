/**
 * A dense convex quadratic-programming solver: the Goldfarb-Idnani dual active-set method (Math. Programming
 * 27, 1983), the algorithm behind R's quadprog. It solves
 *
 *   minimise ½ x'Hx + c'x   subject to   nᵢ'x = bᵢ (equalities),   nᵢ'x ≥ bᵢ (inequalities)
 *
 * for a symmetric positive definite H. It starts from the unconstrained minimum and adds violated constraints
 * one at a time, keeping the dual variables feasible, so it needs no feasible starting point and proves
 * infeasibility when a constraint cannot be satisfied. Every step is exact linear algebra on a QR-updated
 * factorisation (Givens rotations), so the answer is the true optimum to rounding error, with its Lagrange
 * multipliers (KKT: Hx + c = Σ λᵢnᵢ, λᵢ ≥ 0 on inequalities, λᵢ = 0 when slack).
 */
import { cholesky, dot, quadForm, solveLowerTransposed, type Matrix } from './linalg.js';

export interface LinearConstraint {
  normal: ArrayLike<number>;
  rhs: number;
  /** `eq`: normal·x = rhs; `ge`: normal·x ≥ rhs. */
  kind: 'eq' | 'ge';
  /** Shown in infeasibility reports ("weight of MA ≤ 0.4"). */
  label?: string;
}

export interface QuadraticProgram {
  /** H, symmetric positive definite (n × n). */
  hessian: Matrix;
  /** c (length n); omitted means zero. */
  linear?: ArrayLike<number>;
  constraints: readonly LinearConstraint[];
}

export interface QpSolution {
  x: Float64Array;
  /** ½ x'Hx + c'x at the solution. */
  objective: number;
  /** One Lagrange multiplier per constraint (0 for inactive ones; any sign for equalities). */
  multipliers: Float64Array;
  /** Indices of the constraints active at the solution. */
  active: number[];
  iterations: number;
}

export class QpInfeasibleError extends Error {
  override readonly name = 'QpInfeasibleError';
  constructor(
    /** The constraint that could not be added without violating those already active. */
    readonly constraint: number,
    readonly label: string | undefined,
  ) {
    super(`the constraints cannot all hold${label ? ` (stopped at: ${label})` : ''}`);
  }
}

export class QpNumericalError extends Error {
  override readonly name = 'QpNumericalError';
}

export interface QpOptions {
  /** Feasibility tolerance on constraint residuals, scaled by the constraint's norm. */
  tolerance?: number;
  maxIterations?: number;
}

const EPS = 2.220446049250313e-16;

export function solveQP(problem: QuadraticProgram, options: QpOptions = {}): QpSolution {
  const h = problem.hessian;
  const n = h.length;
  const m = problem.constraints.length;
  const tol = options.tolerance ?? 1e-12;
  const maxIterations = options.maxIterations ?? 50 * (n + m) + 100;
  const c = problem.linear ?? new Float64Array(n);
  if (c.length !== n) throw new RangeError(`linear term has length ${c.length}, expected ${n}`);

  const normals = problem.constraints.map((k, i) => {
    if (k.normal.length !== n)
      throw new RangeError(`constraint ${i} has length ${k.normal.length}, expected ${n}`);
    return Float64Array.from(k.normal);
  });
  const rhs = Float64Array.from(problem.constraints, (k) => k.rhs);
  const norms = normals.map((v) => Math.sqrt(dot(v, v)) || 1);
  const isEq = problem.constraints.map((k) => k.kind === 'eq');
  // Equalities whose residual was positive when added are enforced as -n·x ≥ -b; their multiplier flips back.
  const sign = new Float64Array(m).fill(1);

  // J = L^{-T} (H = LL'), so J'HJ = I; kept as columns. JJ' = H^{-1}.
  const l = cholesky(h, 1e-14);
  const jCols: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const e = new Float64Array(n);
    e[j] = 1;
    jCols.push(solveLowerTransposed(l, e));
  }
  // Unconstrained minimum x = -H^{-1}c = -J(J'c).
  const x = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const col = jCols[j] as Float64Array;
    const coef = -dot(col, c);
    for (let i = 0; i < n; i++) x[i] = (x[i] as number) + coef * (col[i] as number);
  }

  // R: upper-triangular factor of J'N over the active normals, stored by columns (column k has k+1 entries).
  const rCols: Float64Array[] = [];
  const active: number[] = [];
  const u: number[] = [];
  const inActive = new Uint8Array(m);
  const skipped = new Uint8Array(m); // redundant equalities (dependent and already satisfied)
  let iterations = 0;

  const residual = (p: number) => sign[p]! * (dot(normals[p]!, x) - rhs[p]!);

  const rotateJ = (i: number, k: number, cs: number, sn: number) => {
    const a = jCols[i] as Float64Array;
    const b = jCols[k] as Float64Array;
    for (let r = 0; r < n; r++) {
      const ar = a[r] as number;
      const br = b[r] as number;
      a[r] = cs * ar + sn * br;
      b[r] = -sn * ar + cs * br;
    }
  };

  const drop = (k: number) => {
    inActive[active[k] as number] = 0;
    active.splice(k, 1);
    u.splice(k, 1);
    rCols.splice(k, 1);
    const q = active.length;
    // Columns k..q-1 now carry one sub-diagonal entry each; rotate rows i, i+1 to clear it.
    for (let i = k; i < q; i++) {
      const col = rCols[i] as Float64Array;
      const a = col[i] as number;
      const b = col[i + 1] as number;
      if (b === 0) continue;
      const hyp = Math.hypot(a, b);
      const cs = a / hyp;
      const sn = b / hyp;
      for (let cIdx = i; cIdx < q; cIdx++) {
        const cc = rCols[cIdx] as Float64Array;
        const ri = cc[i] as number;
        const ri1 = cc[i + 1] as number;
        cc[i] = cs * ri + sn * ri1;
        cc[i + 1] = -sn * ri + cs * ri1;
      }
      rotateJ(i, i + 1, cs, sn);
    }
    for (let cIdx = k; cIdx < q; cIdx++) (rCols[cIdx] as Float64Array)[cIdx + 1] = 0;
  };

  const add = (p: number, d: Float64Array, uPlus: number) => {
    const q = active.length;
    for (let j = n - 1; j > q; j--) {
      const a = d[j - 1] as number;
      const b = d[j] as number;
      if (b === 0) continue;
      const hyp = Math.hypot(a, b);
      const cs = a / hyp;
      const sn = b / hyp;
      d[j - 1] = hyp;
      d[j] = 0;
      rotateJ(j - 1, j, cs, sn);
    }
    const col = new Float64Array(n);
    for (let i = 0; i <= q; i++) col[i] = d[i] as number;
    rCols.push(col);
    active.push(p);
    u.push(uPlus);
    inActive[p] = 1;
  };

  // Equalities first, in order; then the most violated inequality (residual scaled by the normal's length).
  const pickConstraint = (): number => {
    for (let i = 0; i < m; i++) if (isEq[i] && !inActive[i] && !skipped[i]) return i;
    let best = -1;
    let worst = -tol;
    for (let i = 0; i < m; i++) {
      if (isEq[i] || inActive[i]) continue;
      const s = (dot(normals[i]!, x) - rhs[i]!) / norms[i]!;
      if (s < worst) {
        worst = s;
        best = i;
      }
    }
    return best;
  };

  for (;;) {
    const p = pickConstraint();
    if (p < 0) break;
    const np = normals[p] as Float64Array;
    if (isEq[p] && dot(np, x) - rhs[p]! > 0) sign[p] = -1;
    const sp = sign[p] as number;
    let uPlus = 0;
    for (;;) {
      if (++iterations > maxIterations)
        throw new QpNumericalError(`no convergence after ${maxIterations} steps`);
      const q = active.length;
      const s = residual(p);
      // d = J'n_p; the primal step z = J2 d2 moves within the active constraints' null space.
      const d = new Float64Array(n);
      for (let j = 0; j < n; j++) d[j] = sp * dot(jCols[j] as Float64Array, np);
      const z = new Float64Array(n);
      let dd = 0;
      let d2 = 0;
      for (let j = 0; j < n; j++) {
        const dj = d[j] as number;
        dd += dj * dj;
        if (j < q) continue;
        d2 += dj * dj;
        const col = jCols[j] as Float64Array;
        for (let i = 0; i < n; i++) z[i] = (z[i] as number) + dj * (col[i] as number);
      }
      // The dual step r = R^{-1} d1: how the active multipliers change per unit of the new one.
      const r = new Float64Array(q);
      for (let i = q - 1; i >= 0; i--) {
        let v = d[i] as number;
        for (let k = i + 1; k < q; k++) v -= ((rCols[k] as Float64Array)[i] as number) * (r[k] as number);
        r[i] = v / ((rCols[i] as Float64Array)[i] as number);
      }
      let t1 = Infinity;
      let kDrop = -1;
      let rMax = 0;
      for (let i = 0; i < q; i++) rMax = Math.max(rMax, Math.abs(r[i] as number));
      for (let i = 0; i < q; i++) {
        const ri = r[i] as number;
        if (isEq[active[i] as number] || ri <= 64 * EPS * rMax) continue;
        const ratio = (u[i] as number) / ri;
        if (ratio < t1) {
          t1 = ratio;
          kDrop = i;
        }
      }
      const dependent = d2 <= 1e-20 * dd;
      if (dependent && isEq[p] && Math.abs(s) <= tol * norms[p]! * (1 + Math.abs(rhs[p]!))) {
        skipped[p] = 1; // a repeated equality: nothing to enforce
        break;
      }
      const t2 = dependent ? Infinity : -s / d2;
      const t = Math.min(t1, t2);
      if (t === Infinity) throw new QpInfeasibleError(p, problem.constraints[p]?.label);
      for (let i = 0; i < q; i++) u[i] = (u[i] as number) - t * (r[i] as number);
      uPlus += t;
      if (t2 === Infinity) {
        drop(kDrop);
        continue;
      }
      for (let i = 0; i < n; i++) x[i] = (x[i] as number) + t * (z[i] as number);
      if (t2 <= t1) {
        add(p, d, uPlus);
        break;
      }
      drop(kDrop);
    }
  }

  const multipliers = new Float64Array(m);
  active.forEach((idx, i) => {
    const ui = u[i] as number;
    multipliers[idx] = isEq[idx] ? (sign[idx] as number) * ui : Math.max(0, ui);
  });
  const objective = 0.5 * quadForm(h, x) + dot(c, x);
  return { x, objective, multipliers, active: [...active], iterations };
}
