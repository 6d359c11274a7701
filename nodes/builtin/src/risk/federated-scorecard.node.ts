/**
 * risk.federatedScorecard: trains the credit scorecard's logistic model across several data holders (other
 * FinFlow servers, each reached through a workspace connection of kind `finflow`) without any row leaving its
 * holder. Each holder computes its update on its own rows; the updates are summed by secure aggregation, so
 * this node sees only totals; with privacy on, the totals carry Gaussian noise and the report gives the epsilon
 * spent. The model it outputs is a scorecard that risk.scorecard scores as any other.
 */
import { connectionNamePattern } from '@finflow/runtime';
import { defineNode, NodeError, onFirstRun, port, z } from '@finflow/sdk';
import { openConnection } from '../net/connections.js';
import type { HolderClient, TranscriptEntry } from './federated/coordinator.js';
import { datasetNamePattern, federatedLimits, holderIdPattern } from '@finflow/contract';

/** The coordinator (secure aggregation, the scorecard maths) loads on the node's first run. */
const engine = onFirstRun(async () => ({
  ...(await import('./federated/coordinator.js')),
  ...(await import('./federated/http-holder.js')),
}));

const columnList = z.array(z.string().min(1).max(200)).max(federatedLimits.features);

const holderSchema = z.strictObject({
  id: z.string().regex(holderIdPattern, 'a holder id: a letter, then letters, digits, _ . -'),
  connection: z.string().regex(connectionNamePattern, 'a connection name'),
  dataset: z.string().regex(datasetNamePattern, 'a dataset name'),
});

export const federatedScorecardNode = defineNode({
  type: 'risk.federatedScorecard',
  version: 1,
  meta: {
    title: 'Federated scorecard',
    category: 'risk',
    description:
      'Trains the credit scorecard across several data holders (FinFlow servers reached through connections) without any row leaving its holder: each holder computes its update, secure aggregation with pairwise masks shows this node only the total, and optional differential privacy adds calibrated noise and reports epsilon. A holder that drops out is named and the round redone without it.',
    zh: {
      title: '联邦评分卡',
      description:
        '在多个数据持有方（通过连接访问的 FinFlow 服务器）之间训练信用评分卡，任何数据行都不离开持有方：各持有方在本地计算更新，成对掩码的安全聚合使本节点只能看到总和；可选差分隐私加入校准噪声并报告 ε。中途掉线的持有方会被记录，该轮在没有它的情况下重做。',
    },
    icon: 'network',
    tags: ['federated learning', 'secure aggregation', 'differential privacy', 'credit', 'scorecard'],
  },
  config: z.object({
    holders: z
      .array(holderSchema)
      .min(2)
      .max(federatedLimits.participants)
      .meta({
        title: 'Data holders',
        description:
          'Each holder: an id (how it appears in the report), a connection of kind finflow (its base URL and API key) and the dataset name on that server',
        widget: 'json',
        zh: {
          title: '数据持有方',
          description:
            '每个持有方：编号（报告中的名称）、类型为 finflow 的连接（地址和 API 密钥）以及该服务器上的数据集名称',
        },
      }),
    target: z
      .string()
      .min(1)
      .max(200)
      .meta({ title: 'Target column', zh: { title: '目标列' } }),
    positiveClass: z.union([z.string().min(1).max(200), z.number()]).meta({
      title: 'Bad outcome value',
      description: 'The target value that means "bad", e.g. 2 in German Credit',
      zh: { title: '坏样本取值', description: '表示“坏”的目标值，例如 German Credit 中的 2' },
    }),
    features: columnList.min(1).meta({
      title: 'Feature columns',
      description: 'Columns every holder has; the model learns from these only',
      zh: { title: '特征列', description: '每个持有方都有的列；模型只从这些列学习' },
    }),
    categorical: columnList.default([]).meta({
      title: 'Categorical columns',
      group: 'Training',
      zh: { title: '类别型列' },
    }),
    numeric: columnList.default([]).meta({
      title: 'Numeric columns',
      group: 'Training',
      zh: { title: '数值型列' },
    }),
    l2: z
      .number()
      .min(0)
      .max(1e6)
      .default(1)
      .meta({ title: 'L2 penalty', group: 'Training', zh: { title: 'L2 正则化系数' } }),
    maxRounds: z
      .number()
      .int()
      .min(1)
      .max(200)
      .default(25)
      .meta({
        title: 'Most rounds',
        description: 'Newton rounds at most; training stops earlier once converged',
        group: 'Training',
        zh: { title: '最多轮数', description: '牛顿法最多轮数；收敛后提前停止' },
      }),
    tolerance: z
      .number()
      .positive()
      .max(1)
      .default(1e-8)
      .meta({
        title: 'Convergence tolerance',
        description: 'Stop when every component of the penalised gradient is below this',
        group: 'Training',
        zh: { title: '收敛阈值', description: '带惩罚梯度的每个分量都低于该值时停止' },
      }),
    minHolders: z
      .number()
      .int()
      .min(2)
      .max(federatedLimits.participants)
      .default(2)
      .meta({
        title: 'Fewest holders',
        description: 'Training fails rather than continue with fewer holders than this after dropouts',
        group: 'Holders',
        zh: { title: '最少持有方数', description: '掉线后剩余持有方少于该数时训练失败，而不是继续' },
      }),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(federatedLimits.attempts)
      .default(3)
      .meta({ title: 'Attempts per stage', group: 'Holders', zh: { title: '每阶段尝试次数' } }),
    holderTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .meta({
        title: 'Holder timeout (ms)',
        description: 'A holder that does not answer within this drops out',
        group: 'Holders',
        zh: { title: '持有方超时（毫秒）', description: '在此时间内未应答的持有方视为掉线' },
      }),
    costMatrix: z
      .strictObject({ falseNegative: z.number().positive(), falsePositive: z.number().positive() })
      .default({ falseNegative: 1, falsePositive: 1 })
      .meta({ title: 'Cost matrix', group: 'Training', zh: { title: '误判成本矩阵' } }),
    privacy: z
      .strictObject({
        enabled: z.boolean().default(false),
        epsilon: z.number().positive().max(100).default(3),
        delta: z.number().positive().max(0.01).default(1e-5),
        clipNorm: z.number().positive().max(1000).default(1),
        rounds: z.number().int().min(1).max(1000).default(40),
        learningRate: z.number().positive().max(100).default(2),
      })
      .prefault({})
      .meta({
        title: 'Differential privacy',
        description:
          'enabled: gradient descent on per-row gradients clipped to clipNorm, with Gaussian noise calibrated so that all rounds and the evaluation together spend at most epsilon (zCDP accounting, at delta)',
        widget: 'json',
        group: 'Privacy',
        zh: {
          title: '差分隐私',
          description:
            '启用后：对裁剪到 clipNorm 的逐行梯度做梯度下降，加入校准的高斯噪声，使所有轮次和评估合计花费不超过 ε（按 zCDP 记账，在 δ 下）',
        },
      }),
    evaluate: z
      .boolean()
      .default(true)
      .meta({
        title: 'Federated AUC',
        description: 'Aggregates a histogram of predicted probabilities to report the AUC over all holders',
        group: 'Training',
        zh: { title: '联邦 AUC', description: '聚合预测概率直方图，报告所有持有方数据上的 AUC' },
      }),
    recordTranscript: z
      .boolean()
      .default(false)
      .meta({
        title: 'Record messages',
        description:
          'Outputs every message this node sent and received (masked vectors and totals), for audit',
        group: 'Holders',
        zh: { title: '记录消息', description: '输出本节点收发的每条消息（掩码向量和总和），供审计' },
      }),
  }),
  inputs: {},
  outputs: {
    model: port('artifact', {
      title: 'Model',
      zh: { title: '模型', description: '供 risk.scorecard 评分模式使用的评分卡' },
      description: 'A scorecard for risk.scorecard score mode',
    }),
    report: port('record', {
      title: 'Report',
      zh: {
        title: '报告',
        description: '参与方、掉线方、轮次、收敛情况、联邦 AUC；启用隐私保护时另含 epsilon 和 delta',
      },
      description:
        'holders, dropouts, rounds, convergence, federated AUC and, with privacy, epsilon and delta',
    }),
    transcript: port('table', { title: 'Messages', zh: { title: '消息' }, required: false }),
  },
  timeoutMs: 30 * 60_000,
  retry: { maxAttempts: 1 },
  connections(config) {
    return config.holders.map((h, i) => ({
      path: ['holders', i, 'connection'],
      name: h.connection,
      kinds: ['finflow'] as const,
    }));
  },
  validate(config, helpers) {
    const ids = config.holders.map((h) => h.id);
    if (new Set(ids).size !== ids.length) helpers.problem('two holders have the same id', ['holders']);
    if (config.minHolders > config.holders.length)
      helpers.problem('more holders are required than are listed', ['minHolders']);
    if (config.features.includes(config.target))
      helpers.problem('the target cannot also be a feature', ['features']);
  },
  async run(ctx, _inputs, config) {
    const { HolderUnavailable, httpHolder, trainFederated } = await engine();
    const holders: HolderClient[] = [];
    for (const h of config.holders) {
      // Only the model and the encoding travel: the call carries internal data whatever the flow holds.
      const opened = await openConnection(ctx, {
        name: h.connection,
        kinds: ['finflow'],
        dataClass: 'internal',
      });
      holders.push(
        httpHolder({
          id: h.id,
          baseUrl: opened.info.baseUrl,
          dataset: h.dataset,
          apiKey: opened.apiKey,
          fetch: opened.fetch,
        }),
      );
    }
    const transcript: TranscriptEntry[] = [];
    const privacy = config.privacy;
    try {
      const { model, report } = await trainFederated(holders, {
        spec: {
          target: config.target,
          positiveClass: String(config.positiveClass).trim(),
          features: config.features,
          categorical: config.categorical,
          numeric: config.numeric,
        },
        l2: config.l2,
        maxRounds: config.maxRounds,
        tolerance: config.tolerance,
        minHolders: config.minHolders,
        maxAttempts: config.maxAttempts,
        holderTimeoutMs: config.holderTimeoutMs,
        costMatrix: config.costMatrix,
        dp: privacy.enabled
          ? {
              epsilon: privacy.epsilon,
              delta: privacy.delta,
              clipNorm: privacy.clipNorm,
              rounds: privacy.rounds,
              learningRate: privacy.learningRate,
            }
          : undefined,
        // Fewer bins under privacy: each bin's noise is fixed, so wide bins keep the estimate useful.
        evaluationBins: config.evaluate ? (privacy.enabled ? 20 : 1000) : 0,
        signal: ctx.signal,
        trainedAt: new Date(ctx.services.clock.now()).toISOString(),
        ...(config.recordTranscript ? { record: (e: TranscriptEntry) => transcript.push(e) } : {}),
      });
      for (const d of report.dropouts)
        ctx.log.warn('holder dropped out', {
          holder: d.holder,
          stage: d.stage,
          round: d.round,
          reason: d.reason,
        });
      ctx.log.info('federated scorecard trained', {
        holders: report.finalHolders.length,
        rounds: report.rounds,
        ...(report.auc === undefined ? {} : { auc: report.auc }),
        ...(report.privacy ? { epsilon: report.privacy.epsilon } : {}),
      });
      return {
        model: { ...model },
        report: { ...report },
        ...(config.recordTranscript ? { transcript: transcript.map((e) => ({ ...e })) } : {}),
      };
    } catch (err) {
      if (err instanceof HolderUnavailable) throw new NodeError(err.message, 'FEDERATED_HOLDER_UNAVAILABLE');
      throw err;
    }
  },
});
