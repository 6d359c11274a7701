/**
 * Estimating the inputs of mean-variance optimisation from a price history, following PyPortfolioOpt's
 * conventions exactly so its published results can be reproduced: simple returns with gaps left as gaps
 * (pandas `pct_change(fill_method=None)`), rows where every asset is missing dropped, compounded annual returns
 * per asset over its own observations, and the pairwise-complete sample covariance (ddof 1) annualised.
 */
import type { Matrix } from './linalg.js';

/** Daily (or other periodic) simple returns; NaN where an asset has no return that period. */
export interface ReturnSeries {
  assets: string[];
  /** returns[t][a]. */
  returns: Float64Array[];
  /** Non-missing returns per asset. */
  counts: number[];
}

/** A price history: rows in time order, prices[t][a], NaN where an asset was not (yet) listed. */
export interface PriceHistory {
  assets: string[];
  prices: Float64Array[];
}

/** Simple returns p_t / p_{t-1} - 1, NaN unless both prices exist; periods where no asset has a return are dropped. */
export function simpleReturns({ assets, prices }: PriceHistory): ReturnSeries {
  const k = assets.length;
  const returns: Float64Array[] = [];
  const counts = new Array<number>(k).fill(0);
  for (let t = 1; t < prices.length; t++) {
    const prev = prices[t - 1] as Float64Array;
    const cur = prices[t] as Float64Array;
    const row = new Float64Array(k);
    let any = false;
    for (let a = 0; a < k; a++) {
      const r = (cur[a] as number) / (prev[a] as number) - 1;
      row[a] = r;
      if (!Number.isNaN(r)) {
        any = true;
        counts[a] = (counts[a] as number) + 1;
      }
    }
    if (any) returns.push(row);
  }
  return { assets, returns, counts };
}

/** Compounded annual growth per asset over its own returns: prod(1 + r)^(frequency / count) - 1. */
export function meanHistoricalReturn({ assets, returns }: ReturnSeries, frequency: number): Float64Array {
  const out = new Float64Array(assets.length);
  for (let a = 0; a < assets.length; a++) {
    let prod = 1;
    let count = 0;
    for (const row of returns) {
      const r = row[a] as number;
      if (Number.isNaN(r)) continue;
      prod *= 1 + r;
      count++;
    }
    out[a] = count ? prod ** (frequency / count) - 1 : NaN;
  }
  return out;
}

export interface CovarianceEstimate {
  covariance: Matrix;
  /** Periods both assets have a return in (the diagonal holds each asset's own count). */
  overlap: number[][];
}

/**
 * Pairwise-complete sample covariance × frequency. As in pandas, each pair uses only the periods where both
 * assets have returns, with means taken over those same periods.
 */
export function sampleCovariance({ assets, returns }: ReturnSeries, frequency: number): CovarianceEstimate {
  const k = assets.length;
  const covariance: Matrix = Array.from({ length: k }, () => new Float64Array(k));
  const overlap = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  // Column-major, centred on each asset's own mean, with missing returns as 0 and a 0/1 mask: every pairwise
  // sum is then one branch-free pass, and centring keeps the one-pass formula free of cancellation.
  const t = returns.length;
  const cols: Float64Array[] = [];
  const masks: Float64Array[] = [];
  for (let a = 0; a < k; a++) {
    const col = new Float64Array(t);
    const mask = new Float64Array(t);
    let sum = 0;
    let n = 0;
    for (let s = 0; s < t; s++) {
      const v = (returns[s] as Float64Array)[a] as number;
      if (Number.isNaN(v)) continue;
      col[s] = v;
      mask[s] = 1;
      sum += v;
      n++;
    }
    const mean = n ? sum / n : 0;
    for (let s = 0; s < t; s++) if (mask[s]) col[s] = (col[s] as number) - mean;
    cols.push(col);
    masks.push(mask);
  }
  for (let i = 0; i < k; i++) {
    const ci = cols[i] as Float64Array;
    const mi = masks[i] as Float64Array;
    for (let j = i; j < k; j++) {
      const cj = cols[j] as Float64Array;
      const mj = masks[j] as Float64Array;
      let n = 0;
      let si = 0;
      let sj = 0;
      let sij = 0;
      for (let s = 0; s < t; s++) {
        const xi = ci[s] as number;
        const xj = cj[s] as number;
        const wi = mi[s] as number;
        const wj = mj[s] as number;
        n += wi * wj;
        si += xi * wj;
        sj += xj * wi;
        sij += xi * xj;
      }
      // Σ(x - x̄)(y - ȳ) over the common periods, with x̄, ȳ the means over those same periods.
      const v = n >= 2 ? ((sij - (si * sj) / n) / (n - 1)) * frequency : NaN;
      (covariance[i] as Float64Array)[j] = v;
      (covariance[j] as Float64Array)[i] = v;
      (overlap[i] as number[])[j] = n;
      (overlap[j] as number[])[i] = n;
    }
  }
  return { covariance, overlap };
}
