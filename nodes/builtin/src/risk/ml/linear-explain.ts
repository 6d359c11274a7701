/**
 * Exact SHAP values of a linear model in log-odds, grouped by original column. For f(x) = b + sum_j beta_j x_j
 * with (interventional) feature independence, feature j's Shapley value is beta_j (x_j - E[x_j]); a column's
 * value is the sum over its encoded features (one number, or the indicators of a category). The values add up
 * exactly to f(x) minus the base value b + sum_j beta_j E[x_j], the log-odds of the average training row.
 */
import { encoderWidth, type ColumnEncoder } from './encoding.js';

export function linearBaseValue(
  intercept: number,
  coefficients: readonly number[],
  means: readonly number[],
): number {
  let base = intercept;
  for (let j = 0; j < coefficients.length; j++) base += (coefficients[j] as number) * (means[j] as number);
  return base;
}

/** Attribution per encoder (same order as `encoders`) for the encoded row at `offset` of `x`. */
export function linearAttributions(
  x: Float64Array,
  offset: number,
  coefficients: readonly number[],
  means: readonly number[],
  encoders: readonly ColumnEncoder[],
): number[] {
  const out = new Array<number>(encoders.length);
  let j = 0;
  for (let c = 0; c < encoders.length; c++) {
    const e = encoders[c] as ColumnEncoder;
    const width = encoderWidth(e);
    let phi = 0;
    for (let k = 0; k < width; k++, j++)
      phi += (coefficients[j] as number) * ((x[offset + j] as number) - (means[j] as number));
    out[c] = phi;
  }
  return out;
}

/** The model's log-odds for the encoded row at `offset`. */
export function linearPredictor(
  x: Float64Array,
  offset: number,
  intercept: number,
  coefficients: readonly number[],
): number {
  let z = intercept;
  for (let j = 0; j < coefficients.length; j++) z += (coefficients[j] as number) * (x[offset + j] as number);
  return z;
}
