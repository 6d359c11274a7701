/**
 * Small dense linear algebra for the portfolio optimiser: symmetric matrices as arrays of Float64Array rows,
 * Cholesky factorisation with a relative pivot test (so a singular covariance is reported, not inverted),
 * and triangular solves. Sizes are tens to a few hundred assets, so plain O(n^3) loops are the right tool.
 */

export type Matrix = Float64Array[];

export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Float64Array(cols));
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function matVec(m: Matrix, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = dot(m[i] as Float64Array, v);
  return out;
}

/** x'Mx for a square matrix M. */
export function quadForm(m: Matrix, x: ArrayLike<number>): number {
  return dot(x, matVec(m, x));
}

export function toMatrix(rows: readonly (readonly number[])[]): Matrix {
  return rows.map((r) => Float64Array.from(r));
}

export function scale(m: Matrix, k: number): Matrix {
  return m.map((r) => r.map((v) => v * k));
}

/** Why a Cholesky factorisation failed: the first pivot that was not clearly positive. */
export class NotPositiveDefiniteError extends Error {
  override readonly name = 'NotPositiveDefiniteError';
  constructor(
    /** Index of the row whose pivot failed: that variable is (nearly) a combination of the earlier ones. */
    readonly index: number,
    /** The pivot relative to the diagonal entry (<= 0: indefinite; tiny: singular). */
    readonly relativePivot: number,
  ) {
    super(
      `matrix is not positive definite at row ${index} (relative pivot ${relativePivot.toExponential(2)})`,
    );
  }
}

/**
 * Lower-triangular L with A = L L'. A pivot below `relTol` times its diagonal entry means the matrix is singular
 * to working precision (the variable adds no variance of its own), which we refuse rather than amplify.
 */
export function cholesky(a: Matrix, relTol = 1e-10): Matrix {
  const n = a.length;
  const l = zeros(n, n);
  for (let j = 0; j < n; j++) {
    const lj = l[j] as Float64Array;
    const ajj = (a[j] as Float64Array)[j] as number;
    let d = ajj;
    for (let k = 0; k < j; k++) d -= (lj[k] as number) ** 2;
    if (!(ajj > 0) || !(d > relTol * ajj)) throw new NotPositiveDefiniteError(j, ajj > 0 ? d / ajj : -1);
    const ljj = Math.sqrt(d);
    lj[j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const li = l[i] as Float64Array;
      let s = (a[i] as Float64Array)[j] as number;
      for (let k = 0; k < j; k++) s -= (li[k] as number) * (lj[k] as number);
      li[j] = s / ljj;
    }
  }
  return l;
}

/** Solves L x = b for lower-triangular L. */
export function solveLower(l: Matrix, b: ArrayLike<number>): Float64Array {
  const n = l.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const li = l[i] as Float64Array;
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (li[k] as number) * (x[k] as number);
    x[i] = s / (li[i] as number);
  }
  return x;
}

/** Solves L' x = b for lower-triangular L. */
export function solveLowerTransposed(l: Matrix, b: ArrayLike<number>): Float64Array {
  const n = l.length;
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= ((l[k] as Float64Array)[i] as number) * (x[k] as number);
    x[i] = s / ((l[i] as Float64Array)[i] as number);
  }
  return x;
}

/** Solves A x = b for symmetric positive definite A. */
export function solveSpd(a: Matrix, b: ArrayLike<number>): Float64Array {
  const l = cholesky(a);
  return solveLowerTransposed(l, solveLower(l, b));
}
