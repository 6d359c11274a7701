/**
 * Quality metrics of a flow's answers against labels: for classes, the confusion matrix, accuracy, precision,
 * recall and F1 per class and averaged, binary figures for a positive class with a cost-weighted error under a
 * cost matrix; for scores (probabilities of the positive class), the ROC curve and its area, the Brier score and
 * the reliability curve; and the adverse-impact ratio of a favourable outcome across groups (the four-fifths
 * rule). Definitions follow scikit-learn's where one exists, and the tests check them against its documented
 * examples.
 */

export interface ConfusionMatrix {
  /** Class labels, in the order of rows (true) and columns (predicted). */
  classes: string[];
  /** matrix[i][j]: rows whose true class is classes[i] and predicted class classes[j]. */
  matrix: number[][];
}

/** Classes in a stable order: the given ones first, then any others seen, sorted (numbers numerically). */
export function classesOf(
  labels: readonly string[],
  predictions: readonly string[],
  given: readonly string[] = [],
) {
  const seen = new Set<string>(given);
  const extra = new Set<string>();
  for (const v of [...labels, ...predictions]) if (!seen.has(v)) extra.add(v);
  const numeric = [...extra].every((v) => v !== '' && Number.isFinite(Number(v)));
  const sorted = [...extra].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => a.localeCompare(b));
  return [...given, ...sorted];
}

export function confusionMatrix(
  labels: readonly string[],
  predictions: readonly string[],
  classes: readonly string[] = classesOf(labels, predictions),
): ConfusionMatrix {
  if (labels.length !== predictions.length) throw new RangeError('labels and predictions differ in length');
  const index = new Map(classes.map((c, i) => [c, i]));
  const matrix = classes.map(() => classes.map(() => 0));
  for (let i = 0; i < labels.length; i++) {
    const t = index.get(labels[i] as string);
    const p = index.get(predictions[i] as string);
    if (t !== undefined && p !== undefined) (matrix[t] as number[])[p]!++;
  }
  return { classes: [...classes], matrix };
}

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true class this is. */
  support: number;
}

export interface ClassificationMetrics {
  rows: number;
  correct: number;
  accuracy: number;
  perClass: ClassScores[];
  /** Unweighted mean over classes that occur among the labels (scikit-learn's `average='macro'` over `labels`). */
  macro: { precision: number; recall: number; f1: number };
  /** Mean weighted by support (`average='weighted'`). */
  weighted: { precision: number; recall: number; f1: number };
  confusion: ConfusionMatrix;
}

/** 0 where a ratio's denominator is 0, as scikit-learn's default `zero_division` warns and answers. */
const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

/** Multi-class (or binary, both classes reported) metrics of predicted against true classes. */
export function classificationMetrics(
  labels: readonly string[],
  predictions: readonly string[],
  classes?: readonly string[],
): ClassificationMetrics {
  const confusion = confusionMatrix(labels, predictions, classes ?? classesOf(labels, predictions));
  const k = confusion.classes.length;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predictions[i]) correct++;
  const perClass: ClassScores[] = [];
  for (let c = 0; c < k; c++) {
    const row = confusion.matrix[c] as number[];
    const tp = row[c] as number;
    const support = row.reduce((s, x) => s + x, 0);
    let predicted = 0;
    for (let r = 0; r < k; r++) predicted += (confusion.matrix[r] as number[])[c] as number;
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    perClass.push({
      label: confusion.classes[c] as string,
      precision,
      recall,
      f1: f1Of(precision, recall),
      support,
    });
  }
  // Averages over the classes present among the labels, so a class only ever predicted does not dilute them.
  const present = perClass.filter((c) => c.support > 0);
  const mean = (f: (c: ClassScores) => number) =>
    ratio(
      present.reduce((s, c) => s + f(c), 0),
      present.length,
    );
  const total = present.reduce((s, c) => s + c.support, 0);
  const wmean = (f: (c: ClassScores) => number) =>
    ratio(
      present.reduce((s, c) => s + f(c) * c.support, 0),
      total,
    );
  return {
    rows: labels.length,
    correct,
    accuracy: ratio(correct, labels.length),
    perClass,
    macro: { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1) },
    weighted: {
      precision: wmean((c) => c.precision),
      recall: wmean((c) => c.recall),
      f1: wmean((c) => c.f1),
    },
    confusion,
  };
}

export interface BinaryCounts {
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

export interface BinaryMetrics extends BinaryCounts {
  precision: number;
  recall: number;
  f1: number;
  specificity: number;
  accuracy: number;
}

/** Counts and rates for the positive class, from 0/1 labels and 0/1 predictions. */
export function binaryMetrics(labels: ArrayLike<number>, predicted: ArrayLike<number>): BinaryMetrics {
  if (labels.length !== predicted.length) throw new RangeError('labels and predictions differ in length');
  const c: BinaryCounts = { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 };
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) {
      if (predicted[i] === 1) c.truePositives++;
      else c.falseNegatives++;
    } else if (predicted[i] === 1) c.falsePositives++;
    else c.trueNegatives++;
  }
  const precision = ratio(c.truePositives, c.truePositives + c.falsePositives);
  const recall = ratio(c.truePositives, c.truePositives + c.falseNegatives);
  return {
    ...c,
    precision,
    recall,
    f1: f1Of(precision, recall),
    specificity: ratio(c.trueNegatives, c.trueNegatives + c.falsePositives),
    accuracy: ratio(c.truePositives + c.trueNegatives, labels.length),
  };
}

export interface CostMatrix {
  /** Cost of predicting negative for a positive row (approving a bad loan, passing a fraud). */
  falseNegative: number;
  /** Cost of predicting positive for a negative row (declining a good applicant, blocking a customer). */
  falsePositive: number;
}

/** Average cost per row: (FN · c_fn + FP · c_fp) / rows. */
export function costWeightedError(counts: BinaryCounts, cost: CostMatrix): number {
  const n = counts.truePositives + counts.falsePositives + counts.trueNegatives + counts.falseNegatives;
  return ratio(counts.falseNegatives * cost.falseNegative + counts.falsePositives * cost.falsePositive, n);
}

/** The Bayes threshold for calibrated probabilities: positive when p > c_fp / (c_fp + c_fn). */
export function bayesThreshold(cost: CostMatrix): number {
  return cost.falsePositive / (cost.falsePositive + cost.falseNegative);
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score at or above which a row is predicted positive for each point; the first is +Infinity. */
  thresholds: number[];
}

/**
 * The ROC curve at every distinct score (scikit-learn's `roc_curve(..., drop_intermediate=False)`): starting at
 * (0, 0) with threshold +Infinity, each point predicts positive for scores >= its threshold.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocCurve {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) positives++;
  const negatives = n - positives;
  const out: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n;) {
    const s = scores[order[i] as number] as number;
    while (i < n && scores[order[i] as number] === s) {
      if (labels[order[i] as number] === 1) tp++;
      else fp++;
      i++;
    }
    out.fpr.push(ratio(fp, negatives));
    out.tpr.push(ratio(tp, positives));
    out.thresholds.push(s);
  }
  return out;
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative, ties
 * counting one half (the Mann-Whitney statistic; equal to the trapezoidal area under `rocCurve`). NaN when
 * either class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Keeps at most `max` points of a curve (always the first and the last), for charts and stored reports. */
export function thinCurve(curve: RocCurve, max = 200): RocCurve {
  const n = curve.fpr.length;
  if (n <= max) return curve;
  const keep = new Set<number>([0, n - 1]);
  for (let i = 1; i < max - 1; i++) keep.add(Math.round((i * (n - 1)) / (max - 1)));
  const idx = [...keep].sort((a, b) => a - b);
  return {
    fpr: idx.map((i) => curve.fpr[i] as number),
    tpr: idx.map((i) => curve.tpr[i] as number),
    thresholds: idx.map((i) => curve.thresholds[i] as number),
  };
}

/** Mean squared difference between the probability of the positive class and the 0/1 outcome. */
export function brierScore(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += ((scores[i] as number) - (labels[i] as number)) ** 2;
  return ratio(sum, scores.length);
}

export interface ReliabilityBin {
  from: number;
  to: number;
  count: number;
  /** Mean predicted probability in the bin. */
  meanScore: number;
  /** Share of positives among the bin's rows. */
  observedRate: number;
}

/**
 * The reliability (calibration) curve on `bins` equal-width bins of [0, 1], empty bins left out, as
 * scikit-learn's `calibration_curve(strategy='uniform')` (a score on an inner edge falls in the lower bin).
 */
export function reliabilityCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): ReliabilityBin[] {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  const sums = new Float64Array(bins);
  const pos = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    // The number of inner edges strictly below s (np.searchsorted(edges[1:-1], s, side='left')), the edges
    // computed as np.linspace does (k · 1/bins), so a score on an edge lands where scikit-learn puts it.
    const step = 1 / bins;
    let b = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    while (b > 0 && !(b * step < s)) b--;
    while (b < bins - 1 && (b + 1) * step < s) b++;
    sums[b]! += s;
    pos[b]! += labels[i] as number;
    counts[b]!++;
  }
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = counts[b] as number;
    if (!count) continue;
    out.push({
      from: b / bins,
      to: (b + 1) / bins,
      count,
      meanScore: (sums[b] as number) / count,
      observedRate: (pos[b] as number) / count,
    });
  }
  return out;
}

/** Expected calibration error: the count-weighted mean gap between predicted and observed rates over the bins. */
export function expectedCalibrationError(curve: readonly ReliabilityBin[]): number {
  const n = curve.reduce((s, b) => s + b.count, 0);
  return ratio(
    curve.reduce((s, b) => s + b.count * Math.abs(b.meanScore - b.observedRate), 0),
    n,
  );
}

export interface GroupSelection {
  group: string;
  count: number;
  /** Rows of the group given the favourable outcome. */
  selected: number;
  rate: number;
  /** The group's rate over the highest group's rate. */
  ratio: number;
}

export interface AdverseImpact {
  groups: GroupSelection[];
  /** The group with the highest selection rate. */
  reference: string;
  /** The smallest ratio; below 0.8 the four-fifths rule flags adverse impact. */
  minRatio: number;
  fourFifths: 'pass' | 'flag';
}

/**
 * The adverse-impact ratio (the EEOC's four-fifths rule, 29 CFR § 1607.4(D)): each group's rate of favourable
 * outcomes over the highest group's rate; a ratio below 0.8 is evidence of adverse impact.
 */
export function adverseImpact(groups: readonly string[], favourable: readonly boolean[]): AdverseImpact {
  if (groups.length !== favourable.length) throw new RangeError('groups and outcomes differ in length');
  const by = new Map<string, { count: number; selected: number }>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    let e = by.get(g);
    if (!e) by.set(g, (e = { count: 0, selected: 0 }));
    e.count++;
    if (favourable[i]) e.selected++;
  }
  const rows = [...by.entries()].map(([group, e]) => ({ group, ...e, rate: ratio(e.selected, e.count) }));
  rows.sort((a, b) => b.rate - a.rate || a.group.localeCompare(b.group));
  const top = rows[0];
  const best = top?.rate ?? 0;
  const out = rows.map((r) => ({ ...r, ratio: best === 0 ? 1 : r.rate / best }));
  const minRatio = out.reduce((m, r) => Math.min(m, r.ratio), 1);
  return { groups: out, reference: top?.group ?? '', minRatio, fourFifths: minRatio < 0.8 ? 'flag' : 'pass' };
}
