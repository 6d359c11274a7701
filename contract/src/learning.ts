/**
 * Continuous learning of a published endpoint (`/api/endpoints/:id/learning`, `/retrain`, `/drift`) and the
 * evaluation progress pushed over socket.io: what to retrain from the endpoint's feedback and when, the retrain
 * jobs with their evaluation against the champion and their proposal, and the drift of the model's inputs and
 * score against its training baseline.
 */
import { z } from 'zod';
import { timestamp } from './common.js';

const expression = z.string().min(1).max(4_000);

/** An endpoint's learning settings, as PUT /api/endpoints/:id/learning takes them. */
export const learningConfigSchema = z
  .strictObject({
    /** The trainable node (risk.scorecard, risk.fraudScore, model.classify) of the endpoint's flow. */
    nodeId: z
      .string()
      .min(1)
      .max(200)
      .meta({
        title: 'Node to retrain',
        description: 'The scorecard, fraud model or text classifier of the version the endpoint serves.',
        zh: { title: '重新训练的节点', description: '接口当前版本中的评分卡、欺诈模型或文本分类节点。' },
      }),
    /**
     * The trainer's settings (the node's train mode: target or label column, positive class, classes, ...;
     * model.classify: textColumn and labelColumn of model.trainClassifier). Checked by the node when it trains.
     */
    train: z
      .record(z.string().max(200), z.unknown())
      .default({})
      .meta({
        title: 'Training settings',
        widget: 'json',
        description:
          'The node\'s training mode settings as JSON: a scorecard or fraud model takes its target column and positive class (e.g. {"mode": "train", "target": "class", "positiveClass": 2}); a text classifier its textColumn and labelColumn.',
        zh: {
          title: '训练参数',
          description:
            '节点训练模式的参数（JSON）：评分卡与欺诈模型需给出目标列与正类（如 {"mode": "train", "target": "class", "positiveClass": 2}）；文本分类需给出 textColumn 与 labelColumn。',
        },
      }),
    /** JSONata over a feedback label giving the training target; the label itself when absent. */
    label: expression.optional().meta({
      title: 'Training target',
      widget: 'expression',
      description: 'JSONata over a feedback label giving the target; empty uses the label itself.',
      zh: { title: '训练目标', description: '从反馈标签取目标值的 JSONata 表达式；留空则直接使用标签。' },
    }),
    /** How the holdout evaluation reads a run's outputs (as an evaluation spec: prediction, score, ...). */
    evaluation: z
      .strictObject({
        prediction: expression.optional().meta({
          title: 'Prediction',
          widget: 'expression',
          description: "JSONata over a run's outputs giving the predicted class.",
          zh: { title: '预测值', description: '从运行输出取预测类别的 JSONata 表达式。' },
        }),
        score: expression.optional().meta({
          title: 'Score',
          widget: 'expression',
          description: "JSONata over a run's outputs giving the probability of the positive class (for AUC).",
          zh: { title: '分数', description: '从运行输出取正类概率的 JSONata 表达式（用于 AUC）。' },
        }),
        positive: z
          .union([z.string().max(200), z.number()])
          .optional()
          .meta({ title: 'Positive class', zh: { title: '正类' } }),
        threshold: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .meta({ title: 'Score threshold', zh: { title: '分数阈值' } }),
        cost: z
          .strictObject({
            falseNegative: z
              .number()
              .nonnegative()
              .meta({ title: 'Cost of a missed positive', zh: { title: '漏判一个正类的代价' } }),
            falsePositive: z
              .number()
              .nonnegative()
              .meta({ title: 'Cost of a false alarm', zh: { title: '误报一个正类的代价' } }),
          })
          .optional()
          .meta({ title: 'Cost matrix', zh: { title: '代价矩阵' } }),
      })
      .default({})
      .meta({
        title: 'Holdout evaluation',
        description: "How the comparison with the champion reads a run's outputs.",
        zh: { title: '留出集评估', description: '与冠军版本对比时如何读取运行输出。' },
      }),
    /** Share of the labelled calls kept out of training to compare the new model with the champion. */
    holdout: z
      .number()
      .min(0.05)
      .max(0.5)
      .default(0.2)
      .meta({
        title: 'Holdout share',
        description:
          'Share of the labelled calls kept out of training to compare the new model with the champion.',
        zh: { title: '留出比例', description: '不参与训练、用于与冠军版本对比的带标签调用所占比例。' },
      }),
    /** Labelled calls needed before a retraining starts at all. */
    minLabels: z
      .int()
      .min(20)
      .max(20_000)
      .default(100)
      .meta({
        title: 'Labels needed',
        description: 'Labelled calls needed before a retraining starts at all.',
        zh: { title: '所需标签数', description: '开始重新训练前至少需要的带标签调用数。' },
      }),
    /** The largest accuracy or cost loss against the champion on the holdout that still allows a proposal. */
    margin: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .meta({
        title: 'Allowed loss',
        description:
          'The largest accuracy or cost loss against the champion on the holdout that still allows a proposal.',
        zh: { title: '允许的退步', description: '留出集上相对冠军版本仍可提议上线的最大准确率或代价损失。' },
      }),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31)
      .default(1)
      .meta({ title: 'Random seed', zh: { title: '随机种子' } }),
    /** Retrain every `everyHours` when at least `minNewLabels` labels arrived since the last retraining. */
    schedule: z
      .strictObject({
        everyHours: z
          .number()
          .min(0.25)
          .max(24 * 365)
          .meta({ title: 'Every (hours)', zh: { title: '间隔（小时）' } }),
        minNewLabels: z
          .int()
          .min(1)
          .max(1_000_000)
          .meta({ title: 'New labels needed', zh: { title: '所需新标签数' } }),
      })
      .nullable()
      .default(null)
      .meta({
        title: 'Schedule',
        description: 'Retrain on a schedule when enough new labels arrived; empty retrains only on request.',
        zh: { title: '定时训练', description: '新标签足够时按周期重新训练；留空则只在手动触发时训练。' },
      }),
    /** PSI thresholds (watch, alert) and how many recent calls the drift is computed over. */
    drift: z
      .strictObject({
        watch: z
          .number()
          .min(0)
          .max(10)
          .default(0.1)
          .meta({ title: 'Watch at PSI', zh: { title: '关注阈值（PSI）' } }),
        alert: z
          .number()
          .min(0)
          .max(10)
          .default(0.25)
          .meta({ title: 'Alert at PSI', zh: { title: '告警阈值（PSI）' } }),
        calls: z
          .int()
          .min(20)
          .max(5_000)
          .default(500)
          .meta({ title: 'Recent calls compared', zh: { title: '参与比较的近期调用数' } }),
      })
      .refine((d) => d.watch <= d.alert, {
        message: 'the watch threshold must not be above the alert threshold',
      })
      .default({ watch: 0.1, alert: 0.25, calls: 500 })
      .meta({ title: 'Drift', zh: { title: '漂移监测' } }),
  })
  .strict();
export type LearningConfig = z.output<typeof learningConfigSchema>;
export type LearningConfigInput = z.input<typeof learningConfigSchema>;

export const putLearningBody = z.strictObject({ config: learningConfigSchema });

export const learningSchema = z.object({
  endpointId: z.string(),
  config: learningConfigSchema.nullable(),
  /** Versions with a training baseline (for drift). */
  baselines: z.array(z.object({ version: z.number(), rows: z.number(), createdAt: timestamp })),
  lastRetrainAt: timestamp.nullable(),
  lastRetrainLabels: z.number(),
  /** Labelled calls of the endpoint now. */
  labels: z.number(),
  /** The trainable nodes of the version the endpoint serves: what `config.nodeId` may name. */
  trainableNodes: z.array(z.object({ id: z.string(), type: z.string(), label: z.string().optional() })),
  /** When the schedule next looks (null without one). */
  nextCheckAt: timestamp.nullable(),
});
export type Learning = z.output<typeof learningSchema>;

export const startRetrainBody = z.strictObject({ reason: z.string().max(2_000).optional() });

/** A column left out of training, and why. */
export const excludedColumnSchema = z.object({
  column: z.string(),
  reason: z.enum(['masked', 'copies-masked-input']),
  /** The masked input path it copies (copies-masked-input). */
  path: z.string().optional(),
});

const figure = z.object({
  champion: z.number().nullable(),
  challenger: z.number().nullable(),
  difference: z.object({ estimate: z.number(), lo: z.number(), hi: z.number() }).nullable(),
});

/**
 * Why a retrained version is (or is not) proposed, as a code and the figures it is made of, so the editor words it
 * in the UI language (`learning.reason_<CODE>`); `message` is the same in English, for API users. The measure is
 * the one the proposal was judged on; `estimate`, `lo`, `hi` are the challenger-minus-champion difference on the
 * holdout and its 95 % interval. A job stored before reasons had codes reads back as code `TEXT` (message only).
 */
export const proposalReasonCodes = [
  'NO_COMPARISON',
  'BETTER_THAN_CHAMPION',
  'WORSE_THAN_CHAMPION',
  'NOT_SHOWN_DIFFERENT',
  'TEXT',
] as const;
export type ProposalReasonCode = (typeof proposalReasonCodes)[number];
export const proposalMeasures = ['accuracy', 'auc', 'cost'] as const;
export const proposalReasonSchema = z.object({
  code: z.enum(proposalReasonCodes),
  params: z.object({
    measure: z.enum(proposalMeasures).optional(),
    estimate: z.number().optional(),
    lo: z.number().optional(),
    hi: z.number().optional(),
  }),
  message: z.string(),
});
export type ProposalReason = z.output<typeof proposalReasonSchema>;

export const retrainJobSchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'interrupted']),
  trigger: z.enum(['manual', 'schedule']),
  flowId: z.string().optional(),
  nodeId: z.string().optional(),
  championVersion: z.number().optional(),
  /** The retrained flow: a new draft version, never published by the job. */
  newVersion: z.number().optional(),
  labels: z.number().optional(),
  trainingRows: z.number().optional(),
  holdoutRows: z.number().optional(),
  excluded: z.array(excludedColumnSchema).optional(),
  /** The stored evaluation report of champion and challenger on the holdout. */
  evaluationId: z.string().optional(),
  comparison: z.object({ accuracy: figure, auc: figure.optional(), cost: figure.optional() }).optional(),
  /** The stage the new version is proposed for; null when it is not proposed (reasons say why). */
  proposal: z
    .object({ stage: z.enum(['shadow', 'pilot']).nullable(), reasons: z.array(proposalReasonSchema) })
    .optional(),
  /** What the report says, in one paragraph (English). */
  summary: z.string().optional(),
  error: z.string().optional(),
  createdBy: z.string(),
  createdAt: timestamp,
  finishedAt: timestamp.nullable(),
});
export type RetrainJob = z.output<typeof retrainJobSchema>;

export const driftLevels = ['stable', 'watch', 'alert'] as const;
export const featureDriftSchema = z.object({
  name: z.string(),
  psi: z.number().nullable(),
  level: z.enum(driftLevels),
  bins: z.array(z.object({ bin: z.string(), expected: z.number(), actual: z.number() })),
});
export const driftSchema = z.object({
  endpointId: z.string(),
  version: z.number(),
  calls: z.number(),
  thresholds: z.object({ watch: z.number(), alert: z.number() }),
  baseline: z.object({ version: z.number(), rows: z.number(), createdAt: timestamp }),
  score: featureDriftSchema.nullable(),
  features: z.array(featureDriftSchema),
});
export type Drift = z.output<typeof driftSchema>;

export const driftAlertSchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  feature: z.string(),
  psi: z.number(),
  level: z.enum(['watch', 'alert']),
  calls: z.number(),
  createdAt: timestamp,
});
export const driftAlertListSchema = z.array(driftAlertSchema);

export const putBaselineBody = z.strictObject({
  version: z.int().min(1),
  dataset: z.strictObject({
    name: z.string().min(1).max(200),
    format: z.enum(['csv', 'jsonl']),
    // The body limit bounds it first; the dataset limits then bound rows and shape.
    content: z.string().min(1),
  }),
});

/** socket.io: `evaluations:subscribe` (ack { ok }) joins the session workspace's evaluation progress. */
export const evaluationProgressEvent = z.object({
  id: z.string(),
  flowId: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']),
  progress: z.object({ done: z.number(), total: z.number() }),
});
export type EvaluationProgress = z.output<typeof evaluationProgressEvent>;
