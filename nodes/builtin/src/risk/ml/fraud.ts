/**
 * Transaction fraud scoring: training (gradient-boosted trees or L2 logistic regression on the transaction's
 * columns, plus velocity and amount features when the table carries customer ids and times), cross-validated
 * review/block thresholds at chosen false-positive rates, and scoring with exact per-column attributions
 * (TreeSHAP or linear SHAP) turned into reasons. The model is a plain, versioned JSON artefact.
 */
import { NodeError, z } from '@finflow/sdk';
import { stratifiedFolds } from './cross-validation.js';
import {
  categoryOf,
  encodedWidth,
  encoderWidth,
  encodeRow,
  encodeRows,
  featureMeans,
  fitEncoders,
  inferColumnTypes,
  readNumeric,
  type ColumnEncoder,
  type EncodeIssue,
  type Row,
  encoderSchema,
  finite,
} from './encoding.js';
import { artifactReader } from './artifact.js';
import {
  columnLabelZh,
  formatNumber,
  labelsSchema,
  valueLabel,
  valueLabelZh,
  type Labels,
} from './explain-text.js';
import {
  defaultGbtOptions,
  fitGbt,
  gbtExpectedValue,
  gbtMargin,
  gbtShap,
  type GbtModel,
  type GbtOptions,
} from './gbt.js';
import { linearAttributions, linearBaseValue, linearPredictor } from './linear-explain.js';
import { fitLogistic, sigmoid } from './logistic.js';
import { recallAtFpr, rocAuc, thresholdAtFpr } from './metrics.js';
import { selectFeatures } from './scorecard.js';
import { binaryLabels, requireColumns, requireRows } from './table.js';
import {
  velocityFeatureLabels,
  velocityFeatureLabelsZh,
  velocityFeatureNames,
  velocityFeatures,
  type VelocityConfig,
  type VelocityFeature,
} from './velocity.js';

export const FRAUD_KIND = 'fraud-model';
export const FRAUD_FORMAT_VERSION = 1;

export type FraudAlgorithm = 'gbt' | 'logistic';

export interface FraudModel {
  kind: typeof FRAUD_KIND;
  formatVersion: typeof FRAUD_FORMAT_VERSION;
  label: string;
  positiveClass: string;
  algorithm: FraudAlgorithm;
  /** Encoders of the model's inputs: the transaction's columns, then the velocity features if any. */
  encoders: ColumnEncoder[];
  velocity?: VelocityConfig | undefined;
  logistic?: { intercept: number; coefficients: number[]; featureMeans: number[] } | undefined;
  gbt?: GbtModel | undefined;
  /** Expected log-odds over the training data: what the attributions are measured from. */
  baseValue: number;
  /** P(fraud) above which a transaction is reviewed / blocked. */
  thresholds: {
    review: number;
    block: number;
    reviewFpr: number;
    blockFpr: number;
    source: 'crossValidation' | 'training';
  };
  /** Median (numbers) or most common value (categories) among legitimate training transactions, for reasons. */
  typical: Record<string, number | string>;
  labels: Labels;
  training: {
    rows: number;
    positives: number;
    trainedAt?: string | undefined;
    crossValidation?: FraudCrossValidation | undefined;
    notes: string[];
  };
}

export interface FraudFoldMetrics {
  fold: number;
  rows: number;
  positives: number;
  auc: number;
  recall: number;
}

export interface FraudCrossValidation {
  k: number;
  seed: number;
  algorithm: FraudAlgorithm;
  /** Mean of the per-fold AUCs. */
  auc: number;
  pooledAuc: number;
  /** Recall at the given false-positive rate, as the mean over folds (each fold's threshold set on its own negatives). */
  recallAtFpr: { fpr: number; recall: number; pooledRecall: number };
  folds: FraudFoldMetrics[];
}

export interface FraudTrainOptions {
  label: string;
  positiveClass: string;
  features?: readonly string[] | undefined;
  exclude: readonly string[];
  numeric: readonly string[];
  categorical: readonly string[];
  algorithm: FraudAlgorithm;
  gbt: Omit<GbtOptions, 'signal' | 'seed'>;
  l2: number;
  crossValidate: number;
  seed: number;
  reviewFpr: number;
  blockFpr: number;
  amountColumn?: string | undefined;
  velocity?: VelocityConfig | undefined;
  labels?: Labels | undefined;
  trainedAt?: string | undefined;
  signal?: AbortSignal | undefined;
}

interface Fitted {
  encoders: ColumnEncoder[];
  logistic?: { intercept: number; coefficients: number[]; featureMeans: number[] };
  gbt?: GbtModel;
}

/** Log-odds of one encoded row. */
function margin(f: Fitted, x: Float64Array): number {
  if (f.gbt) return gbtMargin(f.gbt, x);
  const l = f.logistic as NonNullable<Fitted['logistic']>;
  return linearPredictor(x, 0, l.intercept, l.coefficients);
}

function fit(
  rows: readonly Row[],
  y: Uint8Array,
  columns: readonly string[],
  types: ReadonlyMap<string, 'numeric' | 'categorical'>,
  options: FraudTrainOptions,
): Fitted {
  // Heavy-tailed money amounts are log-scaled for the linear model; trees are indifferent to monotone scaling.
  const logColumns =
    options.algorithm === 'logistic'
      ? columns.filter(
          (c) =>
            types.get(c) === 'numeric' &&
            (c === options.amountColumn || c === 'txAmount1h' || c === 'txAmount24h'),
        )
      : [];
  const encoders = fitEncoders(rows, columns, types, logColumns);
  const p = encodedWidth(encoders);
  const x = encodeRows(rows, encoders);
  if (options.algorithm === 'gbt') {
    return {
      encoders,
      gbt: fitGbt(x, y, rows.length, p, {
        ...options.gbt,
        seed: options.seed,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    };
  }
  const r = fitLogistic(x, y, rows.length, p, { l2: options.l2 });
  return {
    encoders,
    logistic: { intercept: r.intercept, coefficients: r.coefficients, featureMeans: featureMeans(encoders) },
  };
}

function margins(rows: readonly Row[], f: Fitted): Float64Array {
  const x = new Float64Array(encodedWidth(f.encoders));
  const out = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    encodeRow(row, f.encoders, x, 0, i);
    out[i] = margin(f, x);
  });
  return out;
}

function median(values: number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function trainFraudModel(input: readonly Row[], options: FraudTrainOptions): FraudModel {
  requireRows(input);
  requireColumns(input, [options.label], 'the label column');
  const notes: string[] = [];
  const velocity = options.velocity;
  const reserved = velocity ? [velocity.customerColumn, velocity.timeColumn] : [];
  if (velocity)
    requireColumns(
      input,
      [velocity.customerColumn, velocity.timeColumn, velocity.amountColumn],
      'velocity needs the column(s)',
    );
  let columns = selectFeatures(input, options.label, options.features, [...options.exclude, ...reserved]);
  let rows = input;
  if (velocity) {
    const v = velocityFeatures(input, [], velocity);
    rows = input.map((row, i) => ({ ...row, ...v[i] }));
    columns = [
      ...columns.filter((c) => !(velocityFeatureNames as readonly string[]).includes(c)),
      ...velocityFeatureNames,
    ];
  }
  const y = binaryLabels(rows, options.label, options.positiveClass);
  const types = inferColumnTypes(rows, columns, {
    numeric: options.numeric,
    categorical: options.categorical,
  });
  const positives = y.reduce((s, v) => s + v, 0);

  let crossValidation: FraudCrossValidation | undefined;
  let thresholdScores: Float64Array;
  if (options.crossValidate >= 2) {
    const cv = crossValidate(rows, y, columns, types, options);
    crossValidation = cv.metrics;
    thresholdScores = cv.oof;
  } else {
    thresholdScores = new Float64Array(0);
    notes.push('thresholds come from the training scores (optimistic); cross-validate for honest thresholds');
  }
  if (options.signal?.aborted) throw options.signal.reason;
  const final = fit(rows, y, columns, types, options);
  if (!crossValidation) thresholdScores = margins(rows, final);

  const negatives: number[] = [];
  for (let i = 0; i < rows.length; i++) if (y[i] === 0) negatives.push(thresholdScores[i] as number);
  const review = sigmoid(thresholdAtFpr(negatives, options.reviewFpr));
  const block = Math.max(review, sigmoid(thresholdAtFpr(negatives, options.blockFpr)));

  const typical: Record<string, number | string> = {};
  for (const e of final.encoders) {
    if (e.type === 'numeric') {
      const vals: number[] = [];
      rows.forEach((row, i) => {
        if (y[i] === 0) {
          const v = readNumeric(row[e.column], e.column, i);
          if (v !== undefined) vals.push(v);
        }
      });
      typical[e.column] = median(vals);
    } else {
      const counts = new Map<string, number>();
      rows.forEach((row, i) => {
        if (y[i] === 0) {
          const level = categoryOf(row[e.column], e.column, i);
          counts.set(level, (counts.get(level) ?? 0) + 1);
        }
      });
      typical[e.column] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    }
  }
  const baseValue = final.gbt
    ? gbtExpectedValue(final.gbt)
    : linearBaseValue(
        (final.logistic as NonNullable<Fitted['logistic']>).intercept,
        (final.logistic as NonNullable<Fitted['logistic']>).coefficients,
        (final.logistic as NonNullable<Fitted['logistic']>).featureMeans,
      );
  return {
    kind: FRAUD_KIND,
    formatVersion: FRAUD_FORMAT_VERSION,
    label: options.label,
    positiveClass: options.positiveClass,
    algorithm: options.algorithm,
    encoders: final.encoders,
    ...(velocity ? { velocity: { ...velocity } } : {}),
    ...(final.logistic ? { logistic: final.logistic } : {}),
    ...(final.gbt ? { gbt: final.gbt } : {}),
    baseValue,
    thresholds: {
      review,
      block,
      reviewFpr: options.reviewFpr,
      blockFpr: options.blockFpr,
      source: crossValidation ? 'crossValidation' : 'training',
    },
    typical,
    labels: options.labels ?? {},
    training: {
      rows: rows.length,
      positives,
      ...(options.trainedAt ? { trainedAt: options.trainedAt } : {}),
      ...(crossValidation ? { crossValidation } : {}),
      notes,
    },
  };
}

function crossValidate(
  rows: readonly Row[],
  y: Uint8Array,
  columns: readonly string[],
  types: ReadonlyMap<string, 'numeric' | 'categorical'>,
  options: FraudTrainOptions,
): { metrics: FraudCrossValidation; oof: Float64Array } {
  const k = options.crossValidate;
  const positives = y.reduce((s, v) => s + v, 0);
  const smallest = Math.min(positives, rows.length - positives);
  if (k > smallest)
    throw new NodeError(
      `${k}-fold cross-validation needs at least ${k} rows of each outcome; the rarer one has ${smallest} (lower crossValidate, or 0 to skip it)`,
      'TOO_FEW_ROWS',
    );
  const fold = stratifiedFolds(y, k, options.seed);
  const oof = new Float64Array(rows.length);
  const folds: FraudFoldMetrics[] = [];
  for (let f = 0; f < k; f++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    for (let i = 0; i < rows.length; i++) (fold[i] === f ? testIdx : trainIdx).push(i);
    const fitted = fit(
      trainIdx.map((i) => rows[i] as Row),
      Uint8Array.from(trainIdx, (i) => y[i] as number),
      columns,
      types,
      options,
    );
    const s = margins(
      testIdx.map((i) => rows[i] as Row),
      fitted,
    );
    const yTest = Uint8Array.from(testIdx, (i) => y[i] as number);
    testIdx.forEach((i, r) => (oof[i] = s[r] as number));
    folds.push({
      fold: f + 1,
      rows: testIdx.length,
      positives: yTest.reduce((a, v) => a + v, 0),
      auc: rocAuc(s, yTest),
      recall: recallAtFpr(s, yTest, options.reviewFpr).recall,
    });
  }
  return {
    oof,
    metrics: {
      k,
      seed: options.seed,
      algorithm: options.algorithm,
      auc: folds.reduce((a, f) => a + f.auc, 0) / k,
      pooledAuc: rocAuc(oof, y),
      recallAtFpr: {
        fpr: options.reviewFpr,
        recall: folds.reduce((a, f) => a + f.recall, 0) / k,
        pooledRecall: recallAtFpr(oof, y, options.reviewFpr).recall,
      },
      folds,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scoring

export interface FraudReason {
  column: string;
  value: number | string;
  typical: number | string;
  /** Log-odds the column added to the score. */
  contribution: number;
  /** How the value departs from the typical one: a number above or below it, or another category. */
  direction: 'high' | 'low' | 'other';
  /** "Amount (EUR) unusually high: 571.48 (typical 22)". */
  text: string;
  /** The same in Chinese: "金额（欧元）异常偏高：571.48（通常为 22）". */
  textZh: string;
}

export interface FraudScore {
  /** Probability of fraud. */
  probability: number;
  /** The same in log-odds. */
  logOdds: number;
  decision: 'approve' | 'review' | 'block';
  /** Log-odds contribution of each input column; they sum to logOdds - baseValue. */
  attributions: Record<string, number>;
  reasons: FraudReason[];
  velocity?: Record<VelocityFeature, number>;
  notes: string[];
}

export interface FraudScoreOptions {
  maxReasons: number;
  thresholds: { review: number; block: number };
  labels: Labels;
  /** One transaction rather than a table (changes only the wording of a note). */
  single: boolean;
}

const ratioFeatures = new Set<string>(['amountToCustomerMean', 'amountToCustomerMax']);

function nameOf(column: string, labels: Labels): string {
  return (
    labels.columns?.[column] ??
    (velocityFeatureLabels as Record<string, string | undefined>)[column] ??
    column
  );
}

function nameOfZh(column: string, labels: Labels): string {
  return (
    columnLabelZh(labels, column) ??
    (velocityFeatureLabelsZh as Record<string, string | undefined>)[column] ??
    nameOf(column, labels)
  );
}

/**
 * A reason in words: which input, which way it departs from a legitimate transaction's typical value, and both
 * values ("Anonymised card-processor signal V12 unusually low: -2.82 (typical 0.301)"), in English and Chinese.
 */
function describeReason(
  column: string,
  value: number | string,
  typical: number | string,
  labels: Labels,
  categorical: boolean,
): Pick<FraudReason, 'direction' | 'text' | 'textZh'> {
  const name = nameOf(column, labels);
  const nameZh = nameOfZh(column, labels);
  if (categorical) {
    const v = String(value);
    const t = String(typical);
    return {
      direction: 'other',
      text: `${name}: ${valueLabel(labels, column, v)} (usually ${valueLabel(labels, column, t)})`,
      textZh: `${nameZh}：${valueLabelZh(labels, column, v) ?? valueLabel(labels, column, v)}（通常为 ${valueLabelZh(labels, column, t) ?? valueLabel(labels, column, t)}）`,
    };
  }
  const unit = ratioFeatures.has(column) ? '×' : '';
  const shown = `${formatNumber(value as number)}${unit}`;
  const usual = `${formatNumber(typical as number)}${unit}`;
  const direction = (value as number) >= (typical as number) ? 'high' : 'low';
  return {
    direction,
    text: `${name} unusually ${direction}: ${shown} (typical ${usual})`,
    // A space after a Latin name ("信号 V12 异常偏低"), none after Chinese ("金额异常偏高").
    textZh: `${nameZh}${/[\x21-\x7e]$/.test(nameZh) ? ' ' : ''}异常偏${direction === 'high' ? '高' : '低'}：${shown}（通常为 ${usual}）`,
  };
}

/** Reusable buffers per model, so scoring one transaction allocates little. */
const buffers = new WeakMap<FraudModel, { x: Float64Array; phi: Float64Array }>();

export function scoreFraud(
  model: FraudModel,
  rows: readonly Row[],
  history: readonly Row[] | undefined,
  options: FraudScoreOptions,
): FraudScore[] {
  requireRows(rows, options.single ? 'transaction' : 'table');
  const velocity = model.velocity;
  const inputColumns = model.encoders
    .map((e) => e.column)
    .filter((c) => !velocity || !(velocityFeatureNames as readonly string[]).includes(c));
  requireColumns(rows, inputColumns, 'the model needs the column(s)');
  const sharedNotes: string[] = [];
  let features: Record<VelocityFeature, number>[] | undefined;
  if (velocity) {
    requireColumns(
      rows,
      [velocity.customerColumn, velocity.timeColumn],
      'velocity features need the column(s)',
    );
    features = velocityFeatures(rows, history ?? [], velocity);
    if (!history)
      sharedNotes.push(
        options.single
          ? 'no history given: velocity features assume the customer has no earlier transactions'
          : 'no history given: velocity features count only earlier rows of this table',
      );
  } else if (history) {
    sharedNotes.push('history ignored: this model was trained without velocity features');
  }
  let buf = buffers.get(model);
  if (!buf) {
    const width = encodedWidth(model.encoders);
    buf = { x: new Float64Array(width), phi: new Float64Array(width) };
    buffers.set(model, buf);
  }
  const { x, phi } = buf;
  const { review, block } = options.thresholds;
  return rows.map((input, i) => {
    const v = features?.[i];
    const row = v ? { ...input, ...v } : input;
    const issues: EncodeIssue[] = [];
    encodeRow(row, model.encoders, x, 0, i, issues);
    let logOdds: number;
    let byColumn: number[];
    if (model.gbt) {
      logOdds = gbtMargin(model.gbt, x);
      gbtShap(model.gbt, x, phi);
      byColumn = [];
      let j = 0;
      for (const e of model.encoders) {
        const width = encoderWidth(e);
        let s = 0;
        for (let k = 0; k < width; k++) s += phi[j++] as number;
        byColumn.push(s);
      }
    } else {
      const l = model.logistic as NonNullable<FraudModel['logistic']>;
      logOdds = linearPredictor(x, 0, l.intercept, l.coefficients);
      byColumn = linearAttributions(x, 0, l.coefficients, l.featureMeans, model.encoders);
    }
    const probability = sigmoid(logOdds);
    const attributions: Record<string, number> = {};
    model.encoders.forEach((e, c) => (attributions[e.column] = byColumn[c] as number));
    const reasons = model.encoders
      .map((e, c) => ({ e, phi: byColumn[c] as number }))
      .filter((a) => a.phi > 1e-12 && !issues.some((s) => s.column === a.e.column))
      .sort((a, b) => b.phi - a.phi)
      .slice(0, options.maxReasons)
      .map(({ e, phi: contribution }): FraudReason => {
        const categorical = e.type === 'categorical';
        const value = categorical
          ? categoryOf(row[e.column], e.column, i)
          : (readNumeric(row[e.column], e.column, i) as number);
        const typical = model.typical[e.column] ?? '';
        return {
          column: e.column,
          value,
          typical,
          contribution,
          ...describeReason(e.column, value, typical, options.labels, categorical),
        };
      });
    const notes = [
      ...sharedNotes,
      ...issues.map((s) =>
        s.kind === 'missing'
          ? `${nameOf(s.column, options.labels)}: no value given; treated as the training average`
          : `${nameOf(s.column, options.labels)}: "${s.value}" was not seen in training; treated as the training average`,
      ),
    ];
    const out: FraudScore = {
      probability,
      logOdds,
      decision: probability > block ? 'block' : probability > review ? 'review' : 'approve',
      attributions,
      reasons,
      notes,
    };
    if (v) out.velocity = v;
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------
// The artefact

const probability = z.number().min(0).max(1);
const fraudModelSchema = z.object({
  kind: z.literal(FRAUD_KIND),
  formatVersion: z.literal(FRAUD_FORMAT_VERSION),
  label: z.string(),
  positiveClass: z.string(),
  algorithm: z.enum(['gbt', 'logistic']),
  encoders: z.array(encoderSchema).min(1),
  velocity: z
    .object({
      customerColumn: z.string().min(1),
      timeColumn: z.string().min(1),
      amountColumn: z.string().min(1),
      timeUnit: z.enum(['milliseconds', 'seconds']),
    })
    .optional(),
  logistic: z
    .object({ intercept: finite, coefficients: z.array(finite), featureMeans: z.array(finite) })
    .optional(),
  // Trees are checked by hand below: a schema pass over thousands of numbers per transaction would cost more than
  // scoring itself.
  gbt: z
    .object({
      baseScore: finite,
      maxDepth: z.number().int().min(0).max(32),
      trees: z.array(z.looseObject({})),
    })
    .optional(),
  baseValue: finite,
  thresholds: z.object({
    review: probability,
    block: probability,
    reviewFpr: probability,
    blockFpr: probability,
    source: z.enum(['crossValidation', 'training']),
  }),
  typical: z.record(z.string(), z.union([finite, z.string()])),
  labels: labelsSchema,
  training: z.looseObject({ rows: z.number(), positives: z.number(), notes: z.array(z.string()) }),
});

function checkTrees(model: GbtModel, width: number): string | undefined {
  for (let t = 0; t < model.trees.length; t++) {
    const tree = model.trees[t] as unknown as Record<string, unknown>;
    const keys = ['feature', 'threshold', 'left', 'right', 'value', 'cover'] as const;
    const arrays = keys.map((k) => tree[k]);
    if (!arrays.every((a) => Array.isArray(a))) return `trees.${t}: missing node arrays`;
    const [feature, threshold, left, right, value, cover] = arrays as number[][];
    const n = (feature as number[]).length;
    if (!n || !arrays.every((a) => (a as unknown[]).length === n))
      return `trees.${t}: node arrays differ in length`;
    for (let i = 0; i < n; i++) {
      const f = (feature as number[])[i];
      if (!Number.isInteger(f) || (f as number) < -1 || (f as number) >= width)
        return `trees.${t}.feature.${i}`;
      if (!Number.isFinite((value as number[])[i]) || !((cover as number[])[i]! >= 0))
        return `trees.${t}.value.${i}`;
      if ((f as number) >= 0) {
        const l = (left as number[])[i] as number;
        const r = (right as number[])[i] as number;
        // Children after their parent: no cycles, so a damaged model cannot loop forever.
        if (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= n || r >= n)
          return `trees.${t}.left/right.${i}`;
        if (typeof (threshold as number[])[i] !== 'number' || Number.isNaN((threshold as number[])[i]))
          return `trees.${t}.threshold.${i}`;
        if (!((cover as number[])[i]! > 0)) return `trees.${t}.cover.${i}`;
      }
    }
  }
  return undefined;
}

/** Checks an artefact is a fraud model this version can score (memoised per artefact object). */
export const readFraudModel = artifactReader<FraudModel>({
  kind: FRAUD_KIND,
  label: 'the fraud model',
  trainedBy: 'risk.fraudScore',
  formatVersion: FRAUD_FORMAT_VERSION,
  // Format version 1 is the first; an upgrade is added here with the next format.
  migrations: {},
  schema: fraudModelSchema,
  check(m) {
    // Parsing copies the outer object but keeps the tree objects; the result is what scoring uses.
    const width = encodedWidth(m.encoders);
    if (m.algorithm === 'gbt') return m.gbt ? checkTrees(m.gbt, width) : 'gbt: missing';
    if (!m.logistic) return 'logistic: missing';
    if (m.logistic.coefficients.length !== width || m.logistic.featureMeans.length !== width)
      return 'logistic: coefficients and encoders differ in size';
    if (m.encoders.some((e) => e.type === 'categorical' && e.frequencies.length !== e.levels.length))
      return 'encoders: levels and frequencies differ in size';
    return undefined;
  },
});

export { defaultGbtOptions };
