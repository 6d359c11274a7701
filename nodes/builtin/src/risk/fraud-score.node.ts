/**
 * risk.fraudScore: card-transaction fraud scoring. `train` fits a model artefact (gradient-boosted trees by
 * default, or logistic regression) with cross-validated review/block thresholds; `score` scores one transaction
 * or a table, adding velocity and amount features from the customer's history when the model uses them, and
 * says which features pushed the score up.
 */
import { defineNode, NodeError, onFirstRun, port, z } from '@finflow/sdk';
import type { Row } from './ml/encoding.js';
import { labelsSchema, modelLabels } from './ml/explain-text.js';
import { defaultGbtOptions } from './ml/gbt-defaults.js';

/** The trainer and scorer load on the node's first run; the definition (catalog, validation) needs neither. */
const engine = onFirstRun(() => import('./ml/fraud.js'));

const columnList = z.array(z.string().min(1));
const rate = z.number().min(0).max(1);

export const fraudScoreNode = defineNode({
  type: 'risk.fraudScore',
  version: 1,
  meta: {
    title: 'Fraud score',
    category: 'risk',
    description:
      'Transaction fraud scoring with a trainable model (gradient-boosted trees or logistic regression) and velocity/amount features from the customer’s history. Score: probability, approve/review/block, and the features that pushed the score up.',
    zh: {
      title: '欺诈评分',
      description:
        '可训练的交易反欺诈评分（梯度提升树或逻辑回归），可利用客户历史交易的频次与金额特征。评分输出欺诈概率、通过/复核/拦截，以及推高分数的特征。',
    },
    icon: 'shield-alert',
    tags: ['fraud', 'transactions', 'gradient boosting', 'explainable'],
  },
  config: z.object({
    mode: z
      .enum(['train', 'score'])
      .default('score')
      .meta({
        title: 'Mode',
        description: 'train: fit a model from `table`; score: score `transaction` or `table`',
        zh: {
          title: '模式',
          description: '训练：用 `table` 训练模型；评分：对 `transaction` 或 `table` 评分',
          options: { train: '训练', score: '评分' },
        },
      }),
    label: z
      .string()
      .min(1)
      .optional()
      .meta({
        title: 'Label column',
        description: 'The column marking fraud (train)',
        group: 'Training',
        zh: { title: '标签列', description: '标记欺诈的列（训练用）' },
      }),
    positiveClass: z
      .union([z.string().min(1), z.number(), z.boolean()])
      .optional()
      .meta({
        title: 'Fraud value',
        description: 'The label value meaning fraud, e.g. 1',
        group: 'Training',
        zh: { title: '欺诈取值', description: '表示欺诈的标签值，例如 1' },
      }),
    features: columnList.optional().meta({
      title: 'Feature columns',
      description: 'Columns to learn from; empty means every column except the label and the excluded ones',
      group: 'Training',
      zh: { title: '特征列', description: '用于学习的列；留空表示除标签列和排除列外的所有列' },
    }),
    exclude: columnList.default([]).meta({
      title: 'Excluded columns',
      description:
        'Columns never used: ids, and anything that leaks the label (e.g. a time column that sorts frauds apart)',
      group: 'Training',
      zh: {
        title: '排除列',
        description:
          '始终不使用的列：编号类字段，以及任何泄露标签的列（例如能把欺诈交易单独排序出来的时间列）',
      },
    }),
    categorical: columnList
      .default([])
      .meta({ title: 'Categorical columns', group: 'Training', zh: { title: '类别型列' } }),
    numeric: columnList
      .default([])
      .meta({ title: 'Numeric columns', group: 'Training', zh: { title: '数值型列' } }),
    algorithm: z
      .enum(['gbt', 'logistic'])
      .default('gbt')
      .meta({
        title: 'Algorithm',
        description:
          'gbt: gradient-boosted trees (higher recall at a low false-positive rate on card data); logistic: L2 logistic regression',
        group: 'Model',
        zh: {
          title: '算法',
          description: '梯度提升树：在银行卡数据上，低误报率下召回率更高；逻辑回归：L2 正则化逻辑回归',
          options: { gbt: '梯度提升树', logistic: '逻辑回归' },
        },
      }),
    trees: z
      .number()
      .int()
      .min(1)
      .max(5000)
      .default(200)
      .meta({ title: 'Trees', group: 'Model', zh: { title: '树的数量' } }),
    learningRate: z
      .number()
      .positive()
      .max(1)
      .default(0.1)
      .meta({ title: 'Learning rate', group: 'Model', zh: { title: '学习率' } }),
    maxDepth: z
      .number()
      .int()
      .min(1)
      .max(12)
      .default(defaultGbtOptions.maxDepth)
      .meta({ title: 'Tree depth', group: 'Model', zh: { title: '树深度' } }),
    l2: z
      .number()
      .min(0)
      .default(1)
      .meta({
        title: 'L2 penalty',
        description: 'On leaf values (gbt) or coefficients (logistic)',
        group: 'Model',
        zh: { title: 'L2 正则化系数', description: '作用于叶节点值（梯度提升树）或回归系数（逻辑回归）' },
      }),
    crossValidate: z
      .number()
      .int()
      .min(0)
      .max(20)
      .default(5)
      .meta({
        title: 'Cross-validation folds',
        description:
          'Stratified k-fold cross-validation; reports AUC and recall on `metrics` and sets the thresholds from out-of-fold scores. 0 skips it (thresholds then come from training scores, which is optimistic).',
        group: 'Training',
        zh: {
          title: '交叉验证折数',
          description:
            '分层 k 折交叉验证；在 `metrics` 上报告 AUC 和召回率，并按折外评分设定阈值。0 表示跳过（此时阈值取自训练集评分，结果偏乐观）。',
        },
      }),
    seed: z
      .number()
      .int()
      .default(1)
      .meta({ title: 'Seed', group: 'Training', zh: { title: '随机种子' } }),
    reviewFpr: rate.default(0.01).meta({
      title: 'Review false-positive rate',
      description: 'Share of legitimate transactions sent to review (sets the review threshold)',
      group: 'Training',
      zh: { title: '复核误报率', description: '被送人工复核的正常交易占比（据此设定复核阈值）' },
    }),
    blockFpr: rate.default(0.001).meta({
      title: 'Block false-positive rate',
      description: 'Share of legitimate transactions blocked (sets the block threshold)',
      group: 'Training',
      zh: { title: '拦截误报率', description: '被拦截的正常交易占比（据此设定拦截阈值）' },
    }),
    amountColumn: z
      .string()
      .min(1)
      .optional()
      .meta({
        title: 'Amount column',
        description: 'Log-scaled for logistic regression',
        group: 'Training',
        zh: { title: '金额列', description: '逻辑回归中取对数缩放' },
      }),
    velocity: z
      .object({
        customerColumn: z
          .string()
          .min(1)
          .meta({ title: 'Customer id column', zh: { title: '客户编号列' } }),
        timeColumn: z
          .string()
          .min(1)
          .meta({ title: 'Time column', zh: { title: '时间列' } }),
        amountColumn: z
          .string()
          .min(1)
          .meta({ title: 'Amount column', zh: { title: '金额列' } }),
        timeUnit: z
          .enum(['milliseconds', 'seconds'])
          .default('milliseconds')
          .meta({
            title: 'Numeric time unit',
            zh: { title: '数值时间单位', options: { milliseconds: '毫秒', seconds: '秒' } },
          }),
      })
      .optional()
      .meta({
        title: 'Velocity features',
        description:
          'Learn from each customer’s earlier transactions: count and amount in the last 1 h and 24 h, amount vs the customer’s mean and max, hours since the last one',
        group: 'Training',
        zh: {
          title: '交易频度特征',
          description:
            '从每位客户此前的交易中学习：近 1 小时和 24 小时内的笔数与金额、金额相对该客户均值和最大值的比例、距上一笔交易的小时数',
        },
      }),
    labels: labelsSchema.optional().meta({
      title: 'Labels',
      description:
        'Readable names of columns and category codes, in English and in Chinese under `zh` (e.g. "V12": "Anonymised card-processor signal V12"), for the reasons',
      widget: 'json',
      zh: {
        title: '显示名称',
        description: '列和类别代码的可读名称（英文；中文写在 `zh` 下），用于原因说明',
      },
    }),
    thresholds: z
      .object({
        review: rate.optional().meta({ title: 'Review above', zh: { title: '复核阈值' } }),
        block: rate.optional().meta({ title: 'Block above', zh: { title: '拦截阈值' } }),
      })
      .optional()
      .meta({
        title: 'Thresholds',
        description: 'Fraud probabilities above which to review / block; default: the model’s',
        group: 'Scoring',
        zh: { title: '阈值', description: '欺诈概率高于该值时转人工复核 / 拦截；默认采用模型自带阈值' },
      }),
    model: z
      .looseObject({ kind: z.string().min(1) })
      .optional()
      .meta({
        // A trained model: flow versions store it as a content-addressed artefact (server/src/services/artefacts.ts).
        artefact: true,
        title: 'Stored model',
        description:
          'A model from train mode kept in the flow (JSON), so a published flow scores without a training step; a model on the `model` input takes precedence',
        widget: 'json',
        group: 'Scoring',
        zh: {
          title: '已存模型',
          description:
            '训练模式产出并保存在流程中的模型（JSON），发布后的流程无需训练步骤即可评分；`model` 输入上的模型优先',
        },
      }),
    maxReasons: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .meta({ title: 'Reasons', group: 'Scoring', zh: { title: '原因条数' } }),
    keepColumns: columnList.default([]).meta({
      title: 'Columns to keep',
      description: 'Input columns copied to each score row (e.g. a transaction id)',
      group: 'Scoring',
      zh: { title: '保留列', description: '复制到每条评分结果中的输入列（例如交易编号）' },
    }),
  }),
  inputs: {
    transaction: port('record', {
      title: 'Transaction',
      zh: { title: '交易', description: '要评分的一笔交易' },
      description: 'One transaction to score',
      required: false,
    }),
    table: port('table', {
      title: 'Table',
      zh: { title: '表格', description: '训练数据行，或要评分的交易' },
      description: 'Training rows, or transactions to score',
      required: false,
    }),
    history: port('table', {
      title: 'History',
      zh: { title: '历史记录', description: '客户此前的交易，用于计算交易频率特征' },
      description: 'Earlier transactions of the customer(s), for velocity features',
      required: false,
    }),
    model: port('artifact', {
      title: 'Model',
      zh: { title: '模型', description: '训练模式得到的欺诈模型' },
      description: 'A fraud model from train mode',
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
    score: port('score', { title: 'Score', zh: { title: '评分' }, required: false }),
    decision: port('decision', { title: 'Decision', zh: { title: '决策' }, required: false }),
    reasons: port('list', { title: 'Reasons', zh: { title: '原因' }, required: false }),
    scores: port('table', { title: 'Scores', zh: { title: '评分表' }, required: false }),
  },
  timeoutMs: 300_000,
  validate(config, helpers) {
    if (config.mode === 'train') {
      if (!config.label) helpers.problem('training needs the label column', ['label']);
      if (config.positiveClass === undefined)
        helpers.problem('training needs the fraud value', ['positiveClass']);
      if (config.blockFpr > config.reviewFpr)
        helpers.problem('blocking must flag fewer legitimate transactions than review', ['blockFpr']);
    }
    const t = config.thresholds;
    if (t?.review !== undefined && t.block !== undefined && t.block < t.review)
      helpers.problem('the block threshold must not be below the review threshold', ['thresholds', 'block']);
  },
  async run(ctx, { transaction, table, history, model }, config) {
    const { readFraudModel, scoreFraud, trainFraudModel } = await engine();
    if (config.mode === 'train') {
      if (!table) throw new NodeError('training needs a table on the `table` input', 'TABLE_REQUIRED');
      if (!config.label || config.positiveClass === undefined)
        throw new NodeError('training needs `label` and `positiveClass`', 'INVALID_CONFIG');
      const trained = trainFraudModel(table as Row[], {
        label: config.label,
        positiveClass: String(config.positiveClass).trim(),
        features: config.features?.length ? config.features : undefined,
        exclude: config.exclude,
        numeric: config.numeric,
        categorical: config.categorical,
        algorithm: config.algorithm,
        gbt: {
          ...defaultGbtOptions,
          trees: config.trees,
          learningRate: config.learningRate,
          maxDepth: config.maxDepth,
          l2: config.l2,
        },
        l2: config.l2,
        crossValidate: config.crossValidate,
        seed: config.seed,
        reviewFpr: config.reviewFpr,
        blockFpr: config.blockFpr,
        amountColumn: config.amountColumn ?? config.velocity?.amountColumn,
        velocity: config.velocity,
        labels: config.labels,
        trainedAt: new Date(ctx.services.clock.now()).toISOString(),
        signal: ctx.signal,
      });
      const cv = trained.training.crossValidation;
      ctx.log.info('fraud model trained', {
        rows: trained.training.rows,
        algorithm: trained.algorithm,
        ...(cv ? { cvAuc: cv.auc, cvRecall: cv.recallAtFpr.recall } : {}),
      });
      return cv ? { model: { ...trained }, metrics: { ...cv } } : { model: { ...trained } };
    }

    const artefact = model ?? config.model;
    if (!artefact)
      throw new NodeError(
        'score mode needs a model on the `model` input or a stored model in the config',
        'MODEL_REQUIRED',
      );
    if ((transaction === undefined) === (table === undefined))
      throw new NodeError('give either one `transaction` or a `table` to score', 'INPUT_REQUIRED');
    const fraud = readFraudModel(artefact);
    const thresholds = {
      review: config.thresholds?.review ?? fraud.thresholds.review,
      block: config.thresholds?.block ?? Math.max(fraud.thresholds.block, config.thresholds?.review ?? 0),
    };
    const single = transaction !== undefined;
    const results = scoreFraud(
      fraud,
      single ? [transaction as Row] : (table as Row[]),
      history as Row[] | undefined,
      {
        maxReasons: config.maxReasons,
        thresholds,
        labels: modelLabels(fraud.labels, config.labels),
        single,
      },
    );
    if (single) {
      const r = results[0] as (typeof results)[number];
      return {
        score: {
          value: r.probability,
          logOdds: r.logOdds,
          baseValue: fraud.baseValue,
          algorithm: fraud.algorithm,
          thresholds,
          attributions: r.attributions,
          ...(r.velocity ? { velocity: r.velocity } : {}),
          ...(r.notes.length ? { notes: r.notes } : {}),
        },
        decision: {
          outcome: r.decision,
          reasons: r.reasons.map((x) => x.text),
          reasonsZh: r.reasons.map((x) => x.textZh),
          score: r.probability,
        },
        reasons: r.reasons,
      };
    }
    const rows = table as Row[];
    const scores = results.map((r, i) => {
      const out: Record<string, unknown> = {};
      for (const c of config.keepColumns) if (rows[i]?.[c] !== undefined) out[c] = rows[i]?.[c];
      out['probability'] = r.probability;
      out['decision'] = r.decision;
      out['reasons'] = r.reasons.map((x) => x.text);
      out['reasonsZh'] = r.reasons.map((x) => x.textZh);
      out['attributions'] = r.attributions;
      if (r.velocity) out['velocity'] = r.velocity;
      if (r.notes.length) out['notes'] = r.notes;
      return out;
    });
    return { scores };
  },
});
