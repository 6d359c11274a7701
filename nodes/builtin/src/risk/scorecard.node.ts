/**
 * risk.scorecard: a logistic-regression credit scorecard. `train` fits a model artefact on a table with a
 * good/bad target (optionally on reviewed coarse classes with logical trends, and with stratified
 * cross-validation); `score` gives each applicant a probability of the bad outcome, scorecard points, a decision
 * band, exact per-column attributions and specific adverse reasons in English and Chinese.
 */
import { defineNode, NodeError, onFirstRun, port, z } from '@finflow/sdk';
import { labelsSchema, modelLabels } from './ml/explain-text.js';
import { classingSpecSchema } from './ml/coarse-classing.js';
import type { Row } from './ml/encoding.js';
import type { DecisionBands } from './ml/scorecard.js';

/** The scorecard maths load on the node's first run; the definition (catalog, validation) does not need them. */
const engine = onFirstRun(() => import('./ml/scorecard.js'));

const columnList = z.array(z.string().min(1));

const labelsConfig = labelsSchema.meta({
  title: 'Labels',
  description:
    'Readable names for columns and category codes (in English, and in Chinese under `zh`), used in reasons. Given at training they are stored in the model; given at scoring they override it.',
  widget: 'json',
  zh: {
    title: '显示名称',
    description:
      '列和类别代码的可读名称（英文；中文写在 `zh` 下），用于原因说明。训练时提供则保存在模型中；评分时提供则覆盖模型中的名称。',
  },
});

export const scorecardNode = defineNode({
  type: 'risk.scorecard',
  version: 1,
  meta: {
    title: 'Credit scorecard',
    category: 'risk',
    description:
      'Logistic-regression credit scorecard. Train: learns a model from a table with a good/bad column (categorical columns one-hot, numbers standardised, or reviewed coarse classes with logical trends as weights of evidence; L2), optionally cross-validated. Score: probability of the bad outcome, points, approve/review/decline, per-column attributions and specific adverse-action reasons in English and Chinese.',
    zh: {
      title: '信用评分卡',
      description:
        '逻辑回归信用评分卡。训练：从带好/坏标签的表学习模型（类别独热编码、数值标准化，或经审核、趋势合乎逻辑的粗分类以证据权重进入模型；L2 正则），可做分层交叉验证。评分：违约概率、分数、通过/复核/拒绝、逐列归因和具体的中英文拒绝理由。',
    },
    icon: 'gauge',
    tags: ['credit', 'scorecard', 'logistic regression', 'explainable'],
  },
  config: z.object({
    mode: z
      .enum(['train', 'score'])
      .default('score')
      .meta({
        title: 'Mode',
        description: 'train: fit a model from `table`; score: score `table` with `model`',
        zh: {
          title: '模式',
          description: '训练：用 `table` 训练模型；评分：用 `model` 对 `table` 评分',
          options: { train: '训练', score: '评分' },
        },
      }),
    target: z
      .string()
      .min(1)
      .optional()
      .meta({
        title: 'Target column',
        description: 'The column holding the outcome (train)',
        group: 'Training',
        zh: { title: '目标列', description: '存放结果（好/坏）的列（训练用）' },
      }),
    positiveClass: z
      .union([z.string().min(1), z.number(), z.boolean()])
      .optional()
      .meta({
        title: 'Bad outcome value',
        description: 'The target value that means "bad" (defaulted, charged off), e.g. 2 in German Credit',
        group: 'Training',
        zh: { title: '坏样本取值', description: '表示“坏”（违约、核销）的目标值，例如 German Credit 中的 2' },
      }),
    features: columnList.optional().meta({
      title: 'Feature columns',
      description: 'Columns to learn from; empty means every column except the target and the excluded ones',
      group: 'Training',
      zh: { title: '特征列', description: '用于学习的列；留空表示除目标列和排除列外的所有列' },
    }),
    exclude: columnList.default([]).meta({
      title: 'Excluded columns',
      description: 'Columns never used, e.g. ids, or attributes the law forbids in credit decisions',
      group: 'Training',
      zh: { title: '排除列', description: '始终不使用的列，例如编号，或法律禁止用于信贷决策的属性' },
    }),
    categorical: columnList.default([]).meta({
      title: 'Categorical columns',
      description: 'Columns to one-hot encode even if their values look like numbers (e.g. coded grades)',
      group: 'Training',
      zh: { title: '类别型列', description: '即使取值看起来是数字也做独热编码的列（例如编码后的等级）' },
    }),
    numeric: columnList.default([]).meta({
      title: 'Numeric columns',
      description: 'Columns that must be numbers; any other value is an error',
      group: 'Training',
      zh: { title: '数值型列', description: '必须为数字的列；出现其他取值即报错' },
    }),
    classes: z
      .record(z.string(), classingSpecSchema)
      .optional()
      .meta({
        title: 'Coarse classes',
        description:
          'Reviewed classes per column, with the trend business logic expects: { "groups": [["A11"], ["A12"]], "apart": [["A14"]], "trend": "decreasing" } (risk falls along the groups, worst first) or { "cuts": [12, 24, 36], "trend": "increasing" } (risk rises with the number). Classes whose bad rates run against the trend are pooled; each column enters as its class’s weight of evidence, and only a class riskier than the population can be a reason.',
        widget: 'json',
        group: 'Training',
        zh: {
          title: '粗分类',
          description:
            '按列给出经审核的分组及业务逻辑预期的趋势：{ "groups": [["A11"], ["A12"]], "apart": [["A14"]], "trend": "decreasing" }（风险沿分组由高到低）或 { "cuts": [12, 24, 36], "trend": "increasing" }（风险随数值上升）。坏账率与趋势相反的相邻分组会被合并；每列以所在分组的证据权重（WoE）进入模型，只有风险高于总体的分组才会成为拒绝理由。',
        },
      }),
    l2: z
      .number()
      .min(0)
      .default(1)
      .meta({
        title: 'L2 penalty',
        description: 'Ridge penalty on the standardised coefficients',
        group: 'Training',
        zh: { title: 'L2 正则化系数', description: '对标准化系数施加的岭回归惩罚' },
      }),
    crossValidate: z
      .number()
      .int()
      .min(2)
      .max(50)
      .optional()
      .meta({
        title: 'Cross-validation folds',
        description: 'Stratified k-fold cross-validation; reports AUC, accuracy and cost on `metrics`',
        group: 'Training',
        zh: {
          title: '交叉验证折数',
          description: '分层 k 折交叉验证；在 `metrics` 上报告 AUC、准确率和成本',
        },
      }),
    seed: z
      .number()
      .int()
      .default(1)
      .meta({
        title: 'Seed',
        description: 'Seed of the fold assignment',
        group: 'Training',
        zh: { title: '随机种子', description: '分折所用的随机种子' },
      }),
    costMatrix: z
      .object({
        falseNegative: z
          .number()
          .positive()
          .meta({ title: 'Cost of approving a bad applicant', zh: { title: '批准坏客户的成本' } }),
        falsePositive: z
          .number()
          .positive()
          .meta({ title: 'Cost of declining a good applicant', zh: { title: '拒绝好客户的成本' } }),
      })
      .default({ falseNegative: 1, falsePositive: 1 })
      .meta({
        title: 'Cost matrix',
        description: 'Sets the threshold: predict bad when P(bad) > c_fp / (c_fp + c_fn)',
        group: 'Training',
        zh: { title: '误判成本矩阵', description: '据此设定阈值：当 P(bad) > c_fp / (c_fp + c_fn) 时判为坏' },
      }),
    thresholdFrom: z
      .enum(['costMatrix', 'crossValidation'])
      .default('costMatrix')
      .meta({
        title: 'Threshold from',
        description:
          'costMatrix: the Bayes threshold of the cost matrix; crossValidation: the threshold with the lowest cost on out-of-fold probabilities',
        group: 'Training',
        zh: {
          title: '阈值来源',
          description: '误判成本矩阵：取该矩阵对应的贝叶斯阈值；交叉验证：取折外概率上成本最低的阈值',
          options: { costMatrix: '误判成本矩阵', crossValidation: '交叉验证' },
        },
      }),
    labels: labelsConfig.optional(),
    scaling: z
      .object({
        basePoints: z
          .number()
          .default(600)
          .meta({ title: 'Base points', zh: { title: '基准分' } }),
        baseOdds: z
          .number()
          .positive()
          .default(50)
          .meta({ title: 'Base odds (good:bad)', zh: { title: '基准好坏比（好:坏）' } }),
        pdo: z
          .number()
          .positive()
          .default(20)
          .meta({ title: 'Points to double the odds', zh: { title: '好坏比翻倍分值（PDO）' } }),
      })
      .prefault({})
      .meta({
        title: 'Points scaling',
        description: 'Standard scorecard scaling',
        group: 'Scoring',
        zh: { title: '分数刻度', description: '标准评分卡刻度' },
      }),
    decisionBands: z
      .object({
        basis: z
          .enum(['probability', 'points'])
          .default('probability')
          .meta({
            title: 'Basis',
            zh: { title: '依据', options: { probability: '违约概率', points: '分数' } },
          }),
        approve: z
          .number()
          .optional()
          .meta({
            title: 'Approve at',
            description:
              'probability: approve when P(bad) <= this (default: the model threshold); points: approve at or above',
            zh: {
              title: '批准线',
              description: '违约概率：P(bad) <= 该值时批准（默认：模型阈值）；分数：达到或高于该分数时批准',
            },
          }),
        decline: z
          .number()
          .optional()
          .meta({
            title: 'Decline at',
            description: 'probability: decline when P(bad) > this (default 0.5); points: decline below',
            zh: {
              title: '拒绝线',
              description: '违约概率：P(bad) > 该值时拒绝（默认 0.5）；分数：低于该分数时拒绝',
            },
          }),
      })
      .optional()
      .meta({
        title: 'Decision bands',
        description: 'Between the two bands the decision is "review"',
        group: 'Scoring',
        zh: { title: '决策区间', description: '介于批准线与拒绝线之间的决策为 "review"（人工复核）' },
      }),
    model: z
      .looseObject({ kind: z.string().min(1) })
      .optional()
      .meta({
        // A trained model: flow versions store it as a content-addressed artefact (server/src/services/artefacts.ts).
        artefact: true,
        title: 'Stored model',
        description:
          'A scorecard from train mode kept in the flow (JSON), so a published flow scores without a training step; a model on the `model` input takes precedence',
        widget: 'json',
        group: 'Scoring',
        zh: {
          title: '已存模型',
          description:
            '训练模式产出并保存在流程中的评分卡（JSON），发布后的流程无需训练步骤即可评分；`model` 输入上的模型优先',
        },
      }),
    maxReasons: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(4)
      .meta({
        title: 'Reasons per applicant',
        description: 'Top adverse factors listed',
        group: 'Scoring',
        zh: { title: '每位申请人的原因条数', description: '列出的主要不利因素' },
      }),
    keepColumns: columnList.default([]).meta({
      title: 'Columns to keep',
      description: 'Input columns copied to each score row (e.g. an application id)',
      group: 'Scoring',
      zh: { title: '保留列', description: '复制到每条评分结果中的输入列（例如申请编号）' },
    }),
  }),
  inputs: {
    table: port('table', {
      title: 'Table',
      zh: { title: '表格', description: '训练数据行（训练模式）或申请人（评分模式）' },
      description: 'Training rows (train) or applicants (score)',
    }),
    model: port('artifact', {
      title: 'Model',
      zh: { title: '模型', description: '训练模式得到的评分卡' },
      description: 'A scorecard from train mode',
      required: false,
    }),
  },
  outputs: {
    model: port('artifact', { title: 'Model', zh: { title: '模型' }, required: false }),
    metrics: port('record', {
      title: 'Cross-validation metrics',
      zh: { title: '交叉验证指标' },
      required: false,
    }),
    scores: port('table', { title: 'Scores', zh: { title: '评分表' }, required: false }),
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
  async run(ctx, { table, model }, config) {
    const { defaultBands, readScorecardModel, scoreScorecard, trainScorecard } = await engine();
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
        classes: config.classes,
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
      labels: modelLabels(scorecard.labels, config.labels),
    });
    return { scores };
  },
});
