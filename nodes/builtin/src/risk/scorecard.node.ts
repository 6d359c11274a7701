/**
 * risk.scorecard: a logistic-regression credit scorecard. `train` fits a model artefact on a table with a
 * good/bad target (with optional stratified cross-validation); `score` gives each applicant a probability of the
 * bad outcome, scorecard points, a decision band, exact per-column attributions and specific adverse reasons.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { mergeLabels } from './ml/explain-text.js';
import type { Row } from './ml/encoding.js';
import {
  defaultBands,
  readScorecardModel,
  scoreScorecard,
  trainScorecard,
  type DecisionBands,
} from './ml/scorecard.js';

const columnList = z.array(z.string().min(1));

const labelsConfig = z
  .object({
    columns: z.record(z.string(), z.string()).optional().meta({
      title: 'Column names',
      description: 'Column → readable name, e.g. "checking_status": "Checking account"',
    }),
    values: z.record(z.string(), z.record(z.string(), z.string())).optional().meta({
      title: 'Category names',
      description: 'Column → code → readable name, e.g. "A11": "below 0 DM"',
    }),
  })
  .meta({
    title: 'Labels',
    description:
      'Readable names for columns and category codes, used in reasons. Given at training they are stored in the model; given at scoring they override it.',
    widget: 'json',
  });

export const scorecardNode = defineNode({
  type: 'risk.scorecard',
  version: 1,
  meta: {
    title: 'Credit scorecard',
    category: 'risk',
    description:
      'Logistic-regression credit scorecard. Train: learns a model from a table with a good/bad column (categorical columns one-hot, numbers standardised, L2), optionally cross-validated. Score: probability of the bad outcome, points, approve/review/decline, per-column attributions and specific adverse-action reasons.',
    zh: {
      title: '信用评分卡',
      description:
        '逻辑回归信用评分卡。训练：从带好/坏标签的表学习模型（类别独热编码、数值标准化、L2 正则），可做分层交叉验证。评分：违约概率、分数、通过/复核/拒绝、逐列归因和具体的拒绝理由。',
    },
    icon: 'gauge',
    tags: ['credit', 'scorecard', 'logistic regression', 'explainable'],
  },
  config: z.object({
    mode: z.enum(['train', 'score']).default('score').meta({
      title: 'Mode',
      description: 'train: fit a model from `table`; score: score `table` with `model`',
    }),
    target: z.string().min(1).optional().meta({
      title: 'Target column',
      description: 'The column holding the outcome (train)',
      group: 'Training',
    }),
    positiveClass: z
      .union([z.string().min(1), z.number(), z.boolean()])
      .optional()
      .meta({
        title: 'Bad outcome value',
        description: 'The target value that means "bad" (defaulted, charged off), e.g. 2 in German Credit',
        group: 'Training',
      }),
    features: columnList.optional().meta({
      title: 'Feature columns',
      description: 'Columns to learn from; empty means every column except the target and the excluded ones',
      group: 'Training',
    }),
    exclude: columnList.default([]).meta({
      title: 'Excluded columns',
      description: 'Columns never used, e.g. ids, or attributes the law forbids in credit decisions',
      group: 'Training',
    }),
    categorical: columnList.default([]).meta({
      title: 'Categorical columns',
      description: 'Columns to one-hot encode even if their values look like numbers (e.g. coded grades)',
      group: 'Training',
    }),
    numeric: columnList.default([]).meta({
      title: 'Numeric columns',
      description: 'Columns that must be numbers; any other value is an error',
      group: 'Training',
    }),
    l2: z.number().min(0).default(1).meta({
      title: 'L2 penalty',
      description: 'Ridge penalty on the standardised coefficients',
      group: 'Training',
    }),
    crossValidate: z.number().int().min(2).max(50).optional().meta({
      title: 'Cross-validation folds',
      description: 'Stratified k-fold cross-validation; reports AUC, accuracy and cost on `metrics`',
      group: 'Training',
    }),
    seed: z
      .number()
      .int()
      .default(1)
      .meta({ title: 'Seed', description: 'Seed of the fold assignment', group: 'Training' }),
    costMatrix: z
      .object({
        falseNegative: z.number().positive().meta({ title: 'Cost of approving a bad applicant' }),
        falsePositive: z.number().positive().meta({ title: 'Cost of declining a good applicant' }),
      })
      .default({ falseNegative: 1, falsePositive: 1 })
      .meta({
        title: 'Cost matrix',
        description: 'Sets the threshold: predict bad when P(bad) > c_fp / (c_fp + c_fn)',
        group: 'Training',
      }),
    thresholdFrom: z.enum(['costMatrix', 'crossValidation']).default('costMatrix').meta({
      title: 'Threshold from',
      description:
        'costMatrix: the Bayes threshold of the cost matrix; crossValidation: the threshold with the lowest cost on out-of-fold probabilities',
      group: 'Training',
    }),
    labels: labelsConfig.optional(),
    scaling: z
      .object({
        basePoints: z.number().default(600).meta({ title: 'Base points' }),
        baseOdds: z.number().positive().default(50).meta({ title: 'Base odds (good:bad)' }),
        pdo: z.number().positive().default(20).meta({ title: 'Points to double the odds' }),
      })
      .prefault({})
      .meta({ title: 'Points scaling', description: 'Standard scorecard scaling', group: 'Scoring' }),
    decisionBands: z
      .object({
        basis: z.enum(['probability', 'points']).default('probability').meta({ title: 'Basis' }),
        approve: z.number().optional().meta({
          title: 'Approve at',
          description:
            'probability: approve when P(bad) <= this (default: the model threshold); points: approve at or above',
        }),
        decline: z.number().optional().meta({
          title: 'Decline at',
          description: 'probability: decline when P(bad) > this (default 0.5); points: decline below',
        }),
      })
      .optional()
      .meta({
        title: 'Decision bands',
        description: 'Between the two bands the decision is "review"',
        group: 'Scoring',
      }),
    model: z
      .looseObject({ kind: z.string().min(1) })
      .optional()
      .meta({
        title: 'Stored model',
        description:
          'A scorecard from train mode kept in the flow (JSON), so a published flow scores without a training step; a model on the `model` input takes precedence',
        widget: 'json',
        group: 'Scoring',
      }),
    maxReasons: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(4)
      .meta({ title: 'Reasons per applicant', description: 'Top adverse factors listed', group: 'Scoring' }),
    keepColumns: columnList.default([]).meta({
      title: 'Columns to keep',
      description: 'Input columns copied to each score row (e.g. an application id)',
      group: 'Scoring',
    }),
  }),
  inputs: {
    table: port('table', { title: 'Table', description: 'Training rows (train) or applicants (score)' }),
    model: port('artifact', { title: 'Model', description: 'A scorecard from train mode', required: false }),
  },
  outputs: {
    model: port('artifact', { title: 'Model', required: false }),
    metrics: port('record', { title: 'Cross-validation metrics', required: false }),
    scores: port('table', { title: 'Scores', required: false }),
  },
  timeoutMs: 120_000,
  validate(config, helpers) {
    if (config.mode === 'train') {
      if (!config.target) helpers.problem('training needs the target column', ['target']);
      if (config.positiveClass === undefined)
        helpers.problem('training needs the bad outcome value', ['positiveClass']);
      if (config.thresholdFrom === 'crossValidation' && !config.crossValidate)
        helpers.problem('a threshold from cross-validation needs cross-validation folds', ['thresholdFrom']);
    }
    const b = config.decisionBands;
    if (b?.basis === 'points' && (b.approve === undefined || b.decline === undefined))
      helpers.problem('points bands need both approve and decline points', ['decisionBands']);
    if (b?.basis === 'probability') {
      for (const key of ['approve', 'decline'] as const) {
        const v = b[key];
        if (v !== undefined && (v < 0 || v > 1))
          helpers.problem('a probability lies in [0, 1]', ['decisionBands', key]);
      }
    }
    if (b && b.approve !== undefined && b.decline !== undefined) {
      const ordered = b.basis === 'points' ? b.approve >= b.decline : b.approve <= b.decline;
      if (!ordered)
        helpers.problem('the approve band must be safer than the decline band', ['decisionBands']);
    }
  },
  run(ctx, { table, model }, config) {
    const rows = table as Row[];
    if (config.mode === 'train') {
      if (!config.target || config.positiveClass === undefined)
        throw new NodeError('training needs `target` and `positiveClass`', 'INVALID_CONFIG');
      const trained = trainScorecard(rows, {
        target: config.target,
        positiveClass: String(config.positiveClass).trim(),
        features: config.features?.length ? config.features : undefined,
        exclude: config.exclude,
        numeric: config.numeric,
        categorical: config.categorical,
        l2: config.l2,
        costMatrix: config.costMatrix,
        crossValidate: config.crossValidate,
        seed: config.seed,
        thresholdFrom: config.thresholdFrom,
        labels: config.labels,
        trainedAt: new Date(ctx.services.clock.now()).toISOString(),
        signal: ctx.signal,
      });
      const cv = trained.training.crossValidation;
      ctx.log.info('scorecard trained', {
        rows: trained.training.rows,
        features: trained.encoders.length,
        ...(cv ? { cvAuc: cv.auc, cvCost: cv.cost } : {}),
      });
      return cv ? { model: { ...trained }, metrics: { ...cv } } : { model: { ...trained } };
    }
    const artefact = model ?? config.model;
    if (!artefact)
      throw new NodeError(
        'score mode needs a model on the `model` input or a stored model in the config',
        'MODEL_REQUIRED',
      );
    const scorecard = readScorecardModel(artefact);
    const b = config.decisionBands;
    const defaults = defaultBands(scorecard);
    const bands: DecisionBands =
      b?.basis === 'points'
        ? { basis: 'points', approve: b.approve as number, decline: b.decline as number }
        : {
            basis: 'probability',
            approve: b?.approve ?? defaults.approve,
            decline: b?.decline ?? Math.max(defaults.decline, b?.approve ?? 0),
          };
    const scores = scoreScorecard(scorecard, rows, {
      scaling: config.scaling,
      bands,
      maxReasons: config.maxReasons,
      keepColumns: config.keepColumns,
      labels: mergeLabels(scorecard.labels, config.labels),
    });
    return { scores };
  },
});
