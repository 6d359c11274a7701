/**
 * The credit scorecard: training (encoders, or reviewed coarse classes with logical trends encoded by weight of
 * evidence, + L2 logistic regression, optional stratified cross-validation and a cost-based threshold) and
 * scoring (probability, scorecard points, decision band, exact SHAP attributions per column and adverse-action
 * reasons in English and Chinese). The model is a plain, versioned JSON artefact.
 */
import { NodeError, z } from '@finflow/sdk';
import { stratifiedFolds } from './cross-validation.js';
import {
  encodedWidth,
  encoderWidth,
  encodeRow,
  encodeRows,
  featureMeans,
  featureNames,
  fitEncoders,
  inferColumnTypes,
  MISSING_LEVEL,
  readNumeric,
  categoryOf,
  classIndex,
  type ClassedEncoder,
  type ColumnEncoder,
  type EncodeIssue,
  type Row,
  encoderSchema,
  finite,
} from './encoding.js';
import {
  columnLabel,
  columnLabelZh,
  formatNumber,
  labelsSchema,
  valueLabel,
  valueLabelZh,
  type Labels,
} from './explain-text.js';
import { classedEncoderSchema, fitClasses, rangeLabel, type ClassingSpec } from './coarse-classing.js';
import { linearAttributions, linearBaseValue, linearPredictor } from './linear-explain.js';
import { fitLogistic, sigmoid } from './logistic.js';
import {
  averageCost,
  bayesThreshold,
  confusionAt,
  costOptimalThreshold,
  rocAuc,
  type CostMatrix,
} from './metrics.js';
import { binaryLabels, columnsOf, requireColumns, requireRows } from './table.js';
import { artifactReader } from './artifact.js';

export const SCORECARD_KIND = 'scorecard';
export const SCORECARD_FORMAT_VERSION = 2;

export interface FoldMetrics {
  fold: number;
  rows: number;
  positives: number;
  auc: number;
  accuracy: number;
  cost: number;
}

export interface CrossValidationMetrics {
  k: number;
  seed: number;
  /** Mean of the per-fold AUCs. */
  auc: number;
  /** AUC of all out-of-fold probabilities pooled. */
  pooledAuc: number;
  /** Out-of-fold accuracy at `threshold`. */
  accuracy: number;
  /** Out-of-fold average cost per applicant at `threshold` under the cost matrix. */
  cost: number;
  /** The cost-matrix (Bayes) threshold the figures above use; it is fixed before seeing any fold. */
  threshold: number;
  /** The threshold minimising cost on the pooled out-of-fold probabilities, and that cost (chosen in hindsight). */
  costOptimal: { threshold: number; cost: number };
  folds: FoldMetrics[];
}

export interface ScorecardModel {
  kind: typeof SCORECARD_KIND;
  formatVersion: typeof SCORECARD_FORMAT_VERSION;
  target: string;
  positiveClass: string;
  encoders: ColumnEncoder[];
  featureNames: string[];
  coefficients: number[];
  intercept: number;
  featureMeans: number[];
  /** Log-odds of the average training applicant: intercept + coefficients . featureMeans. */
  baseValue: number;
  /** Probability of the positive ("bad") class above which the model predicts it. */
  threshold: number;
  thresholdSource: 'costMatrix' | 'crossValidation';
  costMatrix: CostMatrix;
  l2: number;
  labels: Labels;
  training: {
    rows: number;
    positives: number;
    trainedAt?: string | undefined;
    iterations: number;
    converged: boolean;
    /** In-sample AUC (optimistic; see crossValidation for an honest figure). */
    auc: number;
    crossValidation?: CrossValidationMetrics | undefined;
    notes: string[];
  };
}

export interface ScorecardTrainOptions {
  target: string;
  positiveClass: string;
  features?: readonly string[] | undefined;
  exclude: readonly string[];
  numeric: readonly string[];
  categorical: readonly string[];
  l2: number;
  costMatrix: CostMatrix;
  crossValidate?: number | undefined;
  seed: number;
  thresholdFrom: 'costMatrix' | 'crossValidation';
  labels?: Labels | undefined;
  /** Reviewed coarse classes per column (see coarse-classing.ts); other columns are encoded as they are. */
  classes?: Readonly<Record<string, ClassingSpec>> | undefined;
  trainedAt?: string | undefined;
  signal?: AbortSignal | undefined;
}

interface Fitted {
  encoders: ColumnEncoder[];
  coefficients: number[];
  intercept: number;
  iterations: number;
  converged: boolean;
  /** What coarse classing did: classes pooled against the data, characteristics left out. */
  notes: string[];
}

function fitModel(rows: readonly Row[], y: Uint8Array, encoders: ColumnEncoder[], l2: number) {
  const p = encodedWidth(encoders);
  try {
    return fitLogistic(encodeRows(rows, encoders), y, rows.length, p, { l2 });
  } catch (err) {
    throw new NodeError(
      `the scorecard could not be fitted: ${(err as Error).message}. Set l2 above 0.`,
      'FIT_FAILED',
    );
  }
}

/**
 * Encoders and coefficients. A coarse-classed characteristic enters as its class's weight of evidence and must
 * keep a positive coefficient: a negative one would turn its reviewed trend around (favourable classes would
 * cost points), so the characteristic with the most negative one is left out and the model refitted, until
 * every trend holds. The same procedure runs inside each cross-validation fold.
 */
function fit(
  rows: readonly Row[],
  y: Uint8Array,
  features: readonly string[],
  types: ReadonlyMap<string, 'numeric' | 'categorical'>,
  l2: number,
  classes: Readonly<Record<string, ClassingSpec>> = {},
): Fitted {
  const notes: string[] = [];
  const plain = fitEncoders(
    rows,
    features.filter((f) => !classes[f]),
    types,
  );
  let encoders: ColumnEncoder[] = features.flatMap((column): ColumnEncoder[] => {
    const spec = classes[column];
    if (!spec) return plain.filter((e) => e.column === column);
    const classed = fitClasses(rows, y, column, spec);
    notes.push(...classed.notes);
    return classed.encoder ? [classed.encoder] : [];
  });
  if (!encoders.length)
    throw new NodeError('no characteristic is left to learn from after coarse classing', 'NO_FEATURES');
  for (;;) {
    const r = fitModel(rows, y, encoders, l2);
    let worst = -1;
    let worstBeta = 0;
    for (
      let c = 0, offset = 0;
      c < encoders.length;
      offset += encoderWidth(encoders[c] as ColumnEncoder), c++
    ) {
      const beta = r.coefficients[offset] as number;
      if ((encoders[c] as ColumnEncoder).type === 'classed' && beta < worstBeta)
        [worst, worstBeta] = [c, beta];
    }
    if (worst < 0 || encoders.length === 1) return { encoders, ...r, notes };
    const dropped = encoders[worst] as ColumnEncoder;
    notes.push(
      `${dropped.column}: left out; next to the other characteristics its coefficient turned negative, which would reverse its reviewed trend`,
    );
    encoders = encoders.filter((_, c) => c !== worst);
  }
}

function probabilities(rows: readonly Row[], f: Fitted): Float64Array {
  const p = encodedWidth(f.encoders);
  const x = new Float64Array(p);
  const out = new Float64Array(rows.length);
  rows.forEach((row, i) => {
    encodeRow(row, f.encoders, x, 0, i);
    out[i] = sigmoid(linearPredictor(x, 0, f.intercept, f.coefficients));
  });
  return out;
}

/** The feature columns: the listed ones, or every column but the target and the excluded ones. */
export function selectFeatures(
  rows: readonly Row[],
  target: string,
  features: readonly string[] | undefined,
  exclude: readonly string[],
): string[] {
  const chosen = (features ?? columnsOf(rows)).filter((c) => c !== target && !exclude.includes(c));
  if (features) requireColumns(rows, chosen, chosen.length > 1 ? 'feature columns' : 'feature column');
  if (!chosen.length) throw new NodeError('no feature columns are left to learn from', 'NO_FEATURES');
  return chosen;
}

export function trainScorecard(rows: readonly Row[], options: ScorecardTrainOptions): ScorecardModel {
  requireRows(rows);
  requireColumns(rows, [options.target], 'the target column');
  const features = selectFeatures(rows, options.target, options.features, options.exclude);
  const unused = Object.keys(options.classes ?? {}).filter((c) => !features.includes(c));
  if (unused.length)
    throw new NodeError(
      `coarse classes are given for ${unused.map((c) => `"${c}"`).join(', ')}, which ${unused.length > 1 ? 'are not feature columns' : 'is not a feature column'}`,
      'INVALID_CONFIG',
    );
  const y = binaryLabels(rows, options.target, options.positiveClass);
  const types = inferColumnTypes(rows, features, {
    numeric: options.numeric,
    categorical: options.categorical,
  });
  const bayes = bayesThreshold(options.costMatrix);
  const notes: string[] = [];

  let crossValidation: CrossValidationMetrics | undefined;
  if (options.crossValidate) {
    crossValidation = crossValidate(rows, y, features, types, options, bayes);
  }
  if (options.signal?.aborted) throw options.signal.reason;

  const final = fit(rows, y, features, types, options.l2, options.classes);
  notes.push(...final.notes);
  if (!final.converged) notes.push('the optimiser stopped before full convergence; consider a larger l2');
  for (const e of final.encoders) {
    if (e.type === 'numeric' && e.missing)
      notes.push(`${e.column}: ${e.missing} missing values were replaced by the mean`);
    if (e.type === 'categorical' && e.levels.includes(MISSING_LEVEL))
      notes.push(`${e.column}: missing values are treated as their own category`);
  }
  const means = featureMeans(final.encoders);
  const threshold =
    options.thresholdFrom === 'crossValidation' && crossValidation
      ? crossValidation.costOptimal.threshold
      : bayes;
  const positives = y.reduce((s, v) => s + v, 0);
  return {
    kind: SCORECARD_KIND,
    formatVersion: SCORECARD_FORMAT_VERSION,
    target: options.target,
    positiveClass: options.positiveClass,
    encoders: final.encoders,
    featureNames: featureNames(final.encoders),
    coefficients: final.coefficients,
    intercept: final.intercept,
    featureMeans: means,
    baseValue: linearBaseValue(final.intercept, final.coefficients, means),
    threshold,
    thresholdSource:
      options.thresholdFrom === 'crossValidation' && crossValidation ? 'crossValidation' : 'costMatrix',
    costMatrix: { ...options.costMatrix },
    l2: options.l2,
    labels: options.labels ?? {},
    training: {
      rows: rows.length,
      positives,
      ...(options.trainedAt ? { trainedAt: options.trainedAt } : {}),
      iterations: final.iterations,
      converged: final.converged,
      auc: rocAuc(probabilities(rows, final), y),
      ...(crossValidation ? { crossValidation } : {}),
      notes,
    },
  };
}

function crossValidate(
  rows: readonly Row[],
  y: Uint8Array,
  features: readonly string[],
  types: ReadonlyMap<string, 'numeric' | 'categorical'>,
  options: ScorecardTrainOptions,
  threshold: number,
): CrossValidationMetrics {
  const k = options.crossValidate as number;
  const positives = y.reduce((s, v) => s + v, 0);
  const smallest = Math.min(positives, rows.length - positives);
  if (k > smallest)
    throw new NodeError(
      `${k}-fold cross-validation needs at least ${k} rows of each outcome; the rarer one has ${smallest}`,
      'TOO_FEW_ROWS',
    );
  const fold = stratifiedFolds(y, k, options.seed);
  const oof = new Float64Array(rows.length);
  const folds: FoldMetrics[] = [];
  for (let f = 0; f < k; f++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    for (let i = 0; i < rows.length; i++) (fold[i] === f ? testIdx : trainIdx).push(i);
    const trainRows = trainIdx.map((i) => rows[i] as Row);
    const testRows = testIdx.map((i) => rows[i] as Row);
    // Encoders are refitted inside each fold so the held-out rows never shape the means or the levels.
    const fitted = fit(
      trainRows,
      Uint8Array.from(trainIdx, (i) => y[i] as number),
      features,
      types,
      options.l2,
      options.classes,
    );
    const p = probabilities(testRows, fitted);
    const yTest = Uint8Array.from(testIdx, (i) => y[i] as number);
    testIdx.forEach((i, r) => (oof[i] = p[r] as number));
    const c = confusionAt(p, yTest, threshold);
    folds.push({
      fold: f + 1,
      rows: testIdx.length,
      positives: yTest.reduce((s, v) => s + v, 0),
      auc: rocAuc(p, yTest),
      accuracy: (c.truePositives + c.trueNegatives) / testIdx.length,
      cost: averageCost(p, yTest, threshold, options.costMatrix),
    });
  }
  const c = confusionAt(oof, y, threshold);
  return {
    k,
    seed: options.seed,
    auc: folds.reduce((s, f) => s + f.auc, 0) / k,
    pooledAuc: rocAuc(oof, y),
    accuracy: (c.truePositives + c.trueNegatives) / rows.length,
    cost: averageCost(oof, y, threshold, options.costMatrix),
    threshold,
    costOptimal: costOptimalThreshold(oof, y, options.costMatrix),
    folds,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scoring

export interface PointsScaling {
  /** Points at the base odds. */
  basePoints: number;
  /** Good:bad odds that earn the base points. */
  baseOdds: number;
  /** Points that double the odds. */
  pdo: number;
}

export interface DecisionBands {
  basis: 'probability' | 'points';
  /** probability basis: approve when P(bad) <= approve; points basis: approve when points >= approve. */
  approve: number;
  /** probability basis: decline when P(bad) > decline; points basis: decline when points < decline. */
  decline: number;
}

export interface ScoreOptions {
  scaling: PointsScaling;
  bands: DecisionBands;
  maxReasons: number;
  keepColumns: readonly string[];
  labels: Labels;
}

export interface ScoredRow {
  [key: string]: unknown;
  probability: number;
  /** log(P(bad) / P(good)): the model's linear predictor. */
  logOdds: number;
  points: number;
  decision: 'approve' | 'review' | 'decline';
  /** Log-odds contribution of each feature column; they sum exactly to logOdds - baseValue. */
  attributions: Record<string, number>;
  /** The characteristics that counted most against the applicant, in English and in Chinese. */
  reasons: string[];
  reasonsZh: string[];
  notes?: string[];
}

export function defaultBands(model: ScorecardModel): DecisionBands {
  return { basis: 'probability', approve: model.threshold, decline: Math.max(0.5, model.threshold) };
}

/** PDO scaling: points = offset + factor * ln(good:bad odds), factor = pdo / ln 2. */
export function pointsFor(logOddsBad: number, s: PointsScaling): number {
  const factor = s.pdo / Math.LN2;
  return s.basePoints - factor * Math.log(s.baseOdds) - factor * logOddsBad;
}

interface Reason {
  text: string;
  textZh: string;
}

/**
 * A reason names the characteristic and the applicant's own value: "Checking account: below 0 DM", "Loan
 * duration (months): 48 (36 or more)", in English and, from the labels' Chinese names, in Chinese.
 */
function reasonFor(e: ColumnEncoder, row: Row, rowIndex: number, labels: Labels): Reason {
  const name = columnLabel(labels, e.column);
  const nameZh = columnLabelZh(labels, e.column) ?? name;
  if (e.type === 'categorical' || (e.type === 'classed' && e.values === 'categorical')) {
    const level = categoryOf(row[e.column], e.column, rowIndex);
    const value = valueLabel(labels, e.column, level);
    return {
      text: `${name}: ${value}`,
      textZh: `${nameZh}：${valueLabelZh(labels, e.column, level) ?? value}`,
    };
  }
  const v = readNumeric(row[e.column], e.column, rowIndex) as number;
  if (e.type === 'classed') {
    const c = e.classes[classIndex(e, v, rowIndex)] as ClassedEncoder['classes'][number];
    return {
      text: `${name}: ${formatNumber(v)} (${rangeLabel(e, c, 'en')})`,
      textZh: `${nameZh}：${formatNumber(v)}（${rangeLabel(e, c, 'zh')}）`,
    };
  }
  const mean = e.transform === 'log1p' ? Math.expm1(e.mean) : e.rawMean;
  const above = v > mean;
  return {
    text: `${name}: ${formatNumber(v)}, ${above ? 'above' : 'below'} the average of ${formatNumber(mean)}`,
    textZh: `${nameZh}：${formatNumber(v)}，${above ? '高于' : '低于'}平均值 ${formatNumber(mean)}`,
  };
}

/**
 * Whether a characteristic may be cited against the applicant: it lowered the score against the average
 * applicant, and, when coarse-classed, the applicant's class is riskier than the population (positive weight of
 * evidence). With reviewed, monotone classes the cited class is then on the unfavourable side of a trend that
 * makes business sense; a favourable attribute is never a reason for decline.
 */
function adverse(e: ColumnEncoder, phi: number, row: Row, rowIndex: number): boolean {
  if (phi <= 1e-12) return false;
  if (e.type !== 'classed') return true;
  const k = classIndex(e, row[e.column], rowIndex);
  return k >= 0 && (e.classes[k] as ClassedEncoder['classes'][number]).woe > 0;
}

function describeIssue(issue: EncodeIssue, labels: Labels): string {
  const name = columnLabel(labels, issue.column);
  return issue.kind === 'missing'
    ? `${name}: no value given; treated as the training average (no effect on the score)`
    : `${name}: "${issue.value}" was not seen in training; treated as the training average (no effect on the score)`;
}

export function scoreScorecard(
  model: ScorecardModel,
  rows: readonly Row[],
  options: ScoreOptions,
): ScoredRow[] {
  requireRows(rows);
  requireColumns(
    rows,
    model.encoders.map((e) => e.column),
    'the model needs the column(s)',
  );
  const p = model.coefficients.length;
  const x = new Float64Array(p);
  const { bands, scaling } = options;
  return rows.map((row, i) => {
    const issues: EncodeIssue[] = [];
    encodeRow(row, model.encoders, x, 0, i, issues);
    const z = linearPredictor(x, 0, model.intercept, model.coefficients);
    const probability = sigmoid(z);
    const points = Math.round(pointsFor(z, scaling));
    const phi = linearAttributions(x, 0, model.coefficients, model.featureMeans, model.encoders);
    const attributions: Record<string, number> = {};
    model.encoders.forEach((e, c) => (attributions[e.column] = phi[c] as number));
    const cited = model.encoders
      .map((e, c) => ({ e, phi: phi[c] as number }))
      .filter((a) => adverse(a.e, a.phi, row, i))
      .sort((a, b) => b.phi - a.phi)
      .slice(0, options.maxReasons)
      .map((a) => reasonFor(a.e, row, i, options.labels));
    let decision: ScoredRow['decision'];
    if (bands.basis === 'probability')
      decision =
        probability <= bands.approve ? 'approve' : probability > bands.decline ? 'decline' : 'review';
    else decision = points >= bands.approve ? 'approve' : points < bands.decline ? 'decline' : 'review';
    // Kept input columns come first, so they can never overwrite the scores.
    const kept: Record<string, unknown> = {};
    for (const c of options.keepColumns) if (row[c] !== undefined) kept[c] = row[c];
    const out: ScoredRow = {
      ...kept,
      probability,
      logOdds: z,
      points,
      decision,
      attributions,
      reasons: cited.map((r) => r.text),
      reasonsZh: cited.map((r) => r.textZh),
    };
    if (issues.length) out.notes = issues.map((issue) => describeIssue(issue, options.labels));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------
// The artefact: validated on the way in, so a stored or hand-edited model fails with a clear message.

const scorecardModelSchema = z.object({
  kind: z.literal(SCORECARD_KIND),
  formatVersion: z.literal(SCORECARD_FORMAT_VERSION),
  target: z.string(),
  positiveClass: z.string(),
  encoders: z.array(z.union([encoderSchema, classedEncoderSchema])).min(1),
  featureNames: z.array(z.string()),
  coefficients: z.array(finite),
  intercept: finite,
  featureMeans: z.array(finite),
  baseValue: finite,
  threshold: z.number().min(0).max(1),
  thresholdSource: z.enum(['costMatrix', 'crossValidation']),
  costMatrix: z.object({ falseNegative: finite, falsePositive: finite }),
  l2: z.number().min(0),
  labels: labelsSchema,
  training: z.looseObject({
    rows: z.number(),
    positives: z.number(),
    trainedAt: z.string().optional(),
    iterations: z.number(),
    converged: z.boolean(),
    auc: z.number(),
    notes: z.array(z.string()),
  }),
});

/**
 * Checks an artefact is a scorecard this version can score, upgrading older formats. Memoised per artefact
 * object: a flow scoring applicant after applicant with the same model validates it once.
 */
export const readScorecardModel = artifactReader<ScorecardModel>({
  kind: SCORECARD_KIND,
  label: 'the scorecard',
  trainedBy: 'risk.scorecard',
  formatVersion: SCORECARD_FORMAT_VERSION,
  // Version 2 added coarse-classed characteristics; a version 1 scorecard has none and reads as it is.
  migrations: { 1: (m) => ({ ...m, formatVersion: 2 }) },
  schema: scorecardModelSchema,
  check(m) {
    const width = encodedWidth(m.encoders);
    const shapes =
      m.coefficients.length === width &&
      m.featureMeans.length === width &&
      m.featureNames.length === width &&
      m.encoders.every((e) => e.type !== 'categorical' || e.frequencies.length === e.levels.length);
    return shapes ? undefined : 'coefficients and encoders do not match in size';
  },
});
