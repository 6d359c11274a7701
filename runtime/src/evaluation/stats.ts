/**
 * The statistics an evaluation report rests on: seeded resampling, percentiles, summaries and histograms, and the
 * tests that say whether a difference between two versions means something (paired bootstrap intervals, McNemar's
 * test). Pure functions over arrays; no I/O, so the figures are the same wherever a report is built.
 */

/** SplitMix32-seeded Mulberry32: small, fast, and the same sequence in every JavaScript engine. */
export function seededRandom(seed: number): () => number {
  let state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x6d2b79f5) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The q-quantile (0..1) of ascending values by linear interpolation between closest ranks (NumPy's default
 * `percentile(..., method='linear')`): position q·(n−1). NaN for no values.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0] as number;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export interface Summary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Count, mean, min, max and the 50th, 95th and 99th percentiles (linear interpolation) of finite values. */
export function summarise(values: Iterable<number>): Summary {
  const xs = Float64Array.from([...values].filter((v) => Number.isFinite(v))).sort();
  const n = xs.length;
  let sum = 0;
  for (const x of xs) sum += x;
  return {
    n,
    mean: n ? sum / n : NaN,
    min: n ? (xs[0] as number) : NaN,
    p50: quantileSorted(xs, 0.5),
    p95: quantileSorted(xs, 0.95),
    p99: quantileSorted(xs, 0.99),
    max: n ? (xs[n - 1] as number) : NaN,
  };
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/**
 * Equal-width bins from the smallest to the largest value (the last bin includes its right edge), or from 0 to
 * the `upTo` quantile with the rest counted in a final open bin, so one slow outlier does not squash the chart.
 */
export function histogram(values: readonly number[], bins = 20, upTo = 0.99): HistogramBin[] {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (!xs.length) return [];
  const lo = xs[0] as number;
  const cap = quantileSorted(xs, upTo);
  const hi = cap > lo ? cap : (xs[xs.length - 1] as number);
  if (hi === lo) return [{ from: lo, to: hi, count: xs.length }];
  const width = (hi - lo) / bins;
  const out: HistogramBin[] = Array.from({ length: bins }, (_, i) => ({
    from: lo + i * width,
    to: i === bins - 1 ? hi : lo + (i + 1) * width,
    count: 0,
  }));
  let over = 0;
  for (const x of xs) {
    if (x > hi) over++;
    else (out[Math.min(bins - 1, Math.floor((x - lo) / width))] as HistogramBin).count++;
  }
  if (over) out.push({ from: hi, to: xs[xs.length - 1] as number, count: over });
  return out;
}

/**
 * The complementary error function by the Chebyshev fit of Numerical Recipes' `erfcc` (fractional error below
 * 1.2e-7 everywhere): enough for p-values.
 */
const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  // Horner's rule from the highest coefficient down.
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = (ERFC_COEFFICIENTS[i] as number) + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** P(X ≥ x) for a chi-square variable with one degree of freedom. */
export function chiSquare1Survival(x: number): number {
  if (!(x > 0)) return 1;
  return erfc(Math.sqrt(x / 2));
}

/** Two-sided exact binomial test of k successes in n trials at p = 1/2 (the smaller tail doubled, capped at 1). */
export function binomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  const m = Math.min(k, n - k);
  // Sum C(n, i) / 2^n for i <= m in log space, so large n does not overflow.
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= m; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface McNemarResult {
  /** Rows the first (baseline) version got right and the second got wrong. */
  b: number;
  /** Rows the first got wrong and the second got right. */
  c: number;
  /** Paired rows compared. */
  n: number;
  /** The chi-square statistic with continuity correction (or b + c for the exact test). */
  statistic: number;
  pValue: number;
  /** exact: the binomial test, used when b + c < 25; chi2: chi-square with Edwards' continuity correction. */
  method: 'exact' | 'chi2';
}

/**
 * McNemar's test for paired accuracy: do two versions err on different rows more often one way than the other?
 * Only discordant pairs count. With fewer than 25 of them the exact binomial test is used (as statsmodels'
 * `mcnemar(exact=True)` and the usual advice), otherwise the chi-square statistic (|b − c| − 1)² / (b + c).
 */
export function mcnemar(firstCorrect: readonly boolean[], secondCorrect: readonly boolean[]): McNemarResult {
  if (firstCorrect.length !== secondCorrect.length) throw new RangeError('the versions differ in row count');
  let b = 0;
  let c = 0;
  for (let i = 0; i < firstCorrect.length; i++) {
    if (firstCorrect[i] && !secondCorrect[i]) b++;
    else if (!firstCorrect[i] && secondCorrect[i]) c++;
  }
  return mcnemarCounts(b, c, firstCorrect.length);
}

export function mcnemarCounts(b: number, c: number, n = b + c): McNemarResult {
  if (b + c < 25)
    return { b, c, n, statistic: Math.min(b, c), pValue: binomialTwoSided(b, b + c), method: 'exact' };
  const statistic = (Math.abs(b - c) - 1) ** 2 / (b + c);
  return { b, c, n, statistic, pValue: chiSquare1Survival(statistic), method: 'chi2' };
}

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

export interface BootstrapOptions {
  iterations?: number;
  seed?: number;
  /** Two-sided coverage, default 0.95. */
  confidence?: number;
}

/**
 * A percentile bootstrap interval of a statistic of n rows: `statistic(indices)` is computed on the rows as they
 * are (the estimate) and on `iterations` resamples drawn with replacement from a seeded generator. Resamples where
 * the statistic is undefined (NaN: an AUC with one class missing) are left out. For two versions evaluated on the
 * same rows, a statistic that returns the difference between them gives the paired bootstrap: each resample keeps
 * both versions' answers on the same rows together.
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Int32Array) => number,
  options: BootstrapOptions = {},
): Interval & { iterations: number } {
  const iterations = options.iterations ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const estimate = statistic(identity);
  if (n === 0 || iterations <= 0) return { estimate, lo: NaN, hi: NaN, iterations: 0 };
  const random = seededRandom(options.seed ?? 1);
  const draws: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < iterations; r++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(random() * n);
    const v = statistic(idx);
    if (Number.isFinite(v)) draws.push(v);
  }
  draws.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return {
    estimate,
    lo: quantileSorted(draws, alpha),
    hi: quantileSorted(draws, 1 - alpha),
    iterations: draws.length,
  };
}

/** The Wilson score interval of a proportion (95% by default): sound at small n and near 0 or 1. */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): Interval {
  if (n === 0) return { estimate: NaN, lo: NaN, hi: NaN };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}
