/**
 * Human-readable names and reason statements. Adverse-action reasons must be specific (US Regulation B,
 * 12 CFR 1002.9(b)(2): "insufficient" to say the applicant failed to reach a qualifying score) and automated
 * decisions must be explainable on request (PRC PIPL art. 24), so each reason names the factor and the value.
 */

/** Display names for columns and for the category codes of each column. */
export interface Labels {
  columns?: Record<string, string> | undefined;
  values?: Record<string, Record<string, string>> | undefined;
}

export function columnLabel(labels: Labels | undefined, column: string): string {
  return labels?.columns?.[column] ?? column;
}

export function valueLabel(labels: Labels | undefined, column: string, value: string): string {
  return labels?.values?.[column]?.[value] ?? value;
}

/** Merges label maps; later ones win per entry. */
export function mergeLabels(...maps: (Labels | undefined)[]): Labels {
  const columns: Record<string, string> = {};
  const values: Record<string, Record<string, string>> = {};
  for (const m of maps) {
    if (!m) continue;
    Object.assign(columns, m.columns);
    for (const [c, v] of Object.entries(m.values ?? {})) values[c] = { ...values[c], ...v };
  }
  return { columns, values };
}

const merged = new WeakMap<Labels, WeakMap<Labels, Labels>>();
const NONE: Labels = {};

/**
 * A model's labels merged with a node's: the same two objects on every call of a published flow, so the merge
 * is made once per pair (the result must not be changed).
 */
export function modelLabels(model: Labels, overrides: Labels | undefined): Labels {
  let byOverride = merged.get(model);
  if (!byOverride) merged.set(model, (byOverride = new WeakMap()));
  let labels = byOverride.get(overrides ?? NONE);
  if (!labels) byOverride.set(overrides ?? NONE, (labels = mergeLabels(model, overrides)));
  return labels;
}

// Building an Intl.NumberFormat costs tens of microseconds; scoring one transaction must not pay that per number.
const formats = [0, 1, 2, 3].map(
  (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }),
);

/** A number for a sentence: at most two decimals (three below 1), grouped thousands, no trailing zeros. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 1 ? 2 : 3;
  return (formats[digits] as Intl.NumberFormat).format(v);
}
