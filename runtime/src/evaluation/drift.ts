/**
 * Population stability: how far the values a model sees now have moved from those it was trained on. A baseline
 * profile bins each feature (deciles of the training values for numbers, the most frequent categories for the
 * rest, missing values apart); the population stability index compares the shares of new values in the same bins:
 * PSI = Σ (actual − expected) · ln(actual / expected). Usual reading: below 0.1 stable, 0.1 to 0.25 a moderate
 * shift worth a look, above 0.25 a significant shift (the model may need retraining).
 */

export interface FeatureProfile {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Numeric: ascending inner cut points; bin i holds edges[i-1] < x <= edges[i] (open at both ends). */
  edges?: number[];
  /** Categorical: the categories kept; anything else counts in a final "other" bin. */
  categories?: string[];
  /** Rows per bin (numeric: edges.length + 1 bins; categorical: categories.length + 1, the last "other"). */
  counts: number[];
  /** Rows without a value. */
  missing: number;
  total: number;
}

export interface DriftThresholds {
  /** PSI at or above which a feature is reported as a moderate shift. */
  warn: number;
  /** PSI at or above which it raises an alert. */
  alert: number;
}

export const defaultDriftThresholds: DriftThresholds = { warn: 0.1, alert: 0.25 };

/** Share given to an empty bin, so the logarithm stays finite (the usual practice: a small floor). */
const FLOOR = 1e-4;

const isMissing = (v: unknown) => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/**
 * Profiles one feature from baseline values: numeric when every present value reads as a number and there are
 * more distinct values than `bins`; otherwise categorical (the `maxCategories` most frequent kept).
 */
export function profileFeature(
  name: string,
  values: readonly unknown[],
  options: { bins?: number; maxCategories?: number; kind?: 'numeric' | 'categorical' } = {},
): FeatureProfile {
  const bins = options.bins ?? 10;
  const present = values.filter((v) => !isMissing(v));
  const missing = values.length - present.length;
  const nums = present.map(numeric);
  const allNumeric = nums.every((x) => x !== undefined);
  const distinct = new Set(present.map((v) => String(v))).size;
  const kind = options.kind ?? (allNumeric && distinct > bins ? 'numeric' : 'categorical');
  if (kind === 'numeric' && allNumeric) {
    const xs = (nums as number[]).slice().sort((a, b) => a - b);
    const edges: number[] = [];
    for (let i = 1; i < bins; i++) {
      // The decile by nearest rank (the smallest value with at least i/bins of the values at or below it); duplicate cut points (many equal values) collapse.
      const cut = xs[Math.max(0, Math.ceil((i * xs.length) / bins) - 1)];
      if (cut !== undefined && (edges.length === 0 || cut > (edges[edges.length - 1] as number)))
        edges.push(cut);
    }
    const profile: FeatureProfile = {
      name,
      kind,
      edges,
      counts: new Array(edges.length + 1).fill(0),
      missing,
      total: values.length,
    };
    for (const x of xs) profile.counts[binOf(edges, x)]!++;
    return profile;
  }
  const freq = new Map<string, number>();
  for (const v of present) freq.set(String(v), (freq.get(String(v)) ?? 0) + 1);
  const categories = [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, options.maxCategories ?? 20)
    .map(([c]) => c);
  const counts = categories.map((c) => freq.get(c) ?? 0);
  counts.push(present.length - counts.reduce((s, c) => s + c, 0));
  return { name, kind: 'categorical', categories, counts, missing, total: values.length };
}

/** The bin of x: the number of edges below it (edges[i-1] < x <= edges[i]). */
function binOf(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x > (edges[mid] as number)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of new values in a profile's bins (and missing ones), without changing the profile. */
export function binValues(
  profile: FeatureProfile,
  values: readonly unknown[],
): { counts: number[]; missing: number } {
  const counts = new Array<number>(profile.counts.length).fill(0);
  let missing = 0;
  const index = profile.categories ? new Map(profile.categories.map((c, i) => [c, i])) : undefined;
  for (const v of values) {
    if (isMissing(v)) {
      missing++;
      continue;
    }
    if (profile.kind === 'numeric') {
      const x = numeric(v);
      // A value that is no longer a number counts as missing: the model cannot read it either.
      if (x === undefined) missing++;
      else counts[binOf(profile.edges ?? [], x)]!++;
    } else {
      const i = index?.get(String(v));
      counts[i === undefined ? counts.length - 1 : i]!++;
    }
  }
  return { counts, missing };
}

export interface BinShare {
  /** "≤ 12", "12 – 24", "> 48", "A14", "(other)", "(missing)". */
  bin: string;
  expected: number;
  actual: number;
}

export interface FeatureDrift {
  name: string;
  psi: number;
  level: 'stable' | 'warn' | 'alert';
  rows: number;
  bins: BinShare[];
}

function binLabels(profile: FeatureProfile): string[] {
  if (profile.kind === 'categorical') return [...(profile.categories ?? []), '(other)'];
  const e = profile.edges ?? [];
  if (!e.length) return ['(all)'];
  const fmt = (x: number) =>
    Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x * 100) / 100) : x.toPrecision(3);
  return Array.from({ length: e.length + 1 }, (_, i) =>
    i === 0
      ? `≤ ${fmt(e[0] as number)}`
      : i === e.length
        ? `> ${fmt(e[i - 1] as number)}`
        : `${fmt(e[i - 1] as number)} – ${fmt(e[i] as number)}`,
  );
}

/** PSI of expected and actual counts over the same bins (each turned into shares, empty bins floored). */
export function psiOfCounts(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError('the bins differ');
  const e = expected.reduce((s, x) => s + x, 0);
  const a = actual.reduce((s, x) => s + x, 0);
  if (e === 0 || a === 0) return NaN;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const p = Math.max((expected[i] as number) / e, FLOOR);
    const q = Math.max((actual[i] as number) / a, FLOOR);
    psi += (q - p) * Math.log(q / p);
  }
  return psi;
}

/** The drift of one feature: PSI of new values against its baseline profile, with the shares bin by bin. */
export function featureDrift(
  profile: FeatureProfile,
  values: readonly unknown[],
  thresholds: DriftThresholds = defaultDriftThresholds,
): FeatureDrift {
  const { counts, missing } = binValues(profile, values);
  // Missing values are a bin of their own when either side has any.
  const withMissing = profile.missing > 0 || missing > 0;
  const exp = withMissing ? [...profile.counts, profile.missing] : profile.counts;
  const act = withMissing ? [...counts, missing] : counts;
  const labels = withMissing ? [...binLabels(profile), '(missing)'] : binLabels(profile);
  const psi = psiOfCounts(exp, act);
  const eTotal = exp.reduce((s, x) => s + x, 0);
  const aTotal = act.reduce((s, x) => s + x, 0);
  return {
    name: profile.name,
    psi,
    level: !(psi >= thresholds.warn) ? 'stable' : psi >= thresholds.alert ? 'alert' : 'warn',
    rows: values.length,
    bins: labels.map((bin, i) => ({
      bin,
      expected: eTotal ? (exp[i] as number) / eTotal : 0,
      actual: aTotal ? (act[i] as number) / aTotal : 0,
    })),
  };
}

/**
 * The drift of every column of `current` against the same column of `baseline` (the training data, or a reference
 * window): each profiled on the baseline, ordered by PSI, highest first. Columns absent from the baseline are left
 * out; `columns` limits the comparison to the model's features.
 */
export function datasetDrift(
  baseline: readonly Record<string, unknown>[],
  current: readonly Record<string, unknown>[],
  options: { columns?: readonly string[]; thresholds?: DriftThresholds; bins?: number } = {},
): FeatureDrift[] {
  const names = options.columns ?? [...new Set(baseline.flatMap((r) => Object.keys(r)))];
  return names
    .map((name) => {
      const profile = profileFeature(
        name,
        baseline.map((r) => r[name]),
        options.bins === undefined ? {} : { bins: options.bins },
      );
      return featureDrift(
        profile,
        current.map((r) => r[name]),
        options.thresholds ?? defaultDriftThresholds,
      );
    })
    .sort((a, b) => (Number.isNaN(b.psi) ? -1 : b.psi) - (Number.isNaN(a.psi) ? -1 : a.psi));
}
