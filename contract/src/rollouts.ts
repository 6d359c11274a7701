/**
 * Phased rollouts (`/api/rollouts`, `/api/endpoints/:id/rollout(s)`): the plan a rollout starts with, its
 * transitions, and the status the rollout dashboard draws (gates, charts, history). The gates' statistics and the
 * traffic split are the server's (services/rollout-gates.ts, rollout-split.ts); their names and defaults are here.
 */
import { z } from 'zod';
import { auditActorSchema, roles, timestamp } from './common.js';

export const gateMetrics = [
  'errorRate',
  'p95LatencyMs',
  'outcomeAgreement',
  'reviewAgreement',
  'shadowDisagreement',
  'approvalRateDrift',
  'cpuMsPerCall',
  'reviewOverrideRate',
  // PSI against the version's training baseline (server/src/services/learning.ts): the score's, and the largest
  // feature's.
  'scoreDrift',
  'featureDrift',
] as const;
export const gateMetricSchema = z.enum(gateMetrics);
export const gateActions = ['block', 'rollback'] as const;
export const gateStatuses = ['pass', 'uncertain', 'breach', 'insufficient'] as const;
export const gateStatusSchema = z.enum(gateStatuses);
export type GateStatus = z.output<typeof gateStatusSchema>;

export const rolloutStages = ['shadow', 'pilot', 'expansion', 'optimisation'] as const;
export const rolloutStageSchema = z.enum(rolloutStages);
export type RolloutStage = z.output<typeof rolloutStageSchema>;
/** `active` and `paused` rollouts route traffic; the other states are final. */
export const rolloutStates = ['active', 'paused', 'rolled-back', 'killed', 'superseded'] as const;
export const rolloutStateSchema = z.enum(rolloutStates);
export type RolloutState = z.output<typeof rolloutStateSchema>;

const pathSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path of property names');
const scalar = z.union([z.string().max(200), z.number(), z.boolean()]);

const gateFields = {
  metric: gateMetricSchema,
  /** A rate in 0..1 (the drift gate: the largest allowed absolute difference), or milliseconds for latency and CPU. */
  threshold: z.number().min(0).max(3_600_000),
  minSamples: z.number().int().min(1).max(1_000_000),
  action: z.enum(gateActions),
  /** cpuMsPerCall: judge the 95th percentile (the default) or the mean. */
  statistic: z.enum(['p95', 'mean']).optional(),
};
export const gateSchema = z
  .strictObject(gateFields)
  .refine((g) => g.statistic === undefined || g.metric === 'cpuMsPerCall', {
    message: 'only the cpuMsPerCall gate takes a statistic',
    path: ['statistic'],
  });
export type Gate = z.output<typeof gateSchema>;

/** Stages an evaluation report may be required for (entering them needs it). */
export const evaluationStages = ['pilot', 'expansion', 'optimisation'] as const;

/**
 * A stored evaluation report (see evaluations.ts) a stage needs: on a dataset of this name, with the champion as
 * the baseline, in which the challenger does not lose beyond `margin` (the runtime's `challengerHolds`).
 */
export const evaluationRequirementSchema = z.strictObject({
  dataset: z.string().trim().min(1).max(200),
  margin: z.number().min(0).max(1).default(0.02),
  stages: z
    .array(z.enum(evaluationStages))
    .min(1)
    .max(3)
    .default(['pilot'])
    .refine((s) => new Set(s).size === s.length, 'stages differ'),
});
export type EvaluationRequirement = z.output<typeof evaluationRequirementSchema>;

const queueName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -');
const outcomeName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^"`\\]+$/, 'an outcome holds no quotes or backslashes');

/** Human review of the challenger's pilot decisions (the plan's `review`). */
export const rolloutReviewSchema = z.strictObject({
  /** Every challenger decision in the pilot waits for a reviewer before the caller gets it. */
  beforeRelease: z.boolean().default(false),
  /** Share (0..1) of the challenger's answered pilot calls reviewed after the answer went out. */
  sampleAfterRelease: z.number().min(0).max(1).default(0),
  queue: queueName.default('rollout-review'),
  roles: z
    .array(z.enum(roles))
    .min(1)
    .max(roles.length)
    .default(['approver'])
    .refine((r) => new Set(r).size === r.length, 'roles differ'),
  /** Outcomes a reviewer may choose when overriding; the first is an approval's, the last a rejection's. */
  outcomes: z
    .array(outcomeName)
    .min(2)
    .max(20)
    .default(['approve', 'review', 'decline'])
    .refine((o) => new Set(o).size === o.length, 'outcomes differ'),
});
export type RolloutReview = z.output<typeof rolloutReviewSchema>;

/** Default gates of a stage: errors and outcome agreement roll back, the rest hold the stage. */
export function defaultGates(): Gate[] {
  return [
    { metric: 'errorRate', threshold: 0.05, minSamples: 50, action: 'rollback' },
    { metric: 'p95LatencyMs', threshold: 2_000, minSamples: 50, action: 'block' },
    { metric: 'shadowDisagreement', threshold: 0.2, minSamples: 50, action: 'block' },
    { metric: 'outcomeAgreement', threshold: 0.6, minSamples: 30, action: 'rollback' },
  ];
}

/** What a rollout is configured with (the body's `plan`, every field optional). */
export const rolloutPlanSchema = z
  .strictObject({
    /** Input path of the subject (a customer id) the split is sticky on; the API key when absent. */
    subjectPath: pathSchema.optional(),
    /** Pilot cohort: these API key ids, or inputs with one of `values` at `path`. */
    cohort: z
      .strictObject({
        keys: z.array(z.string().min(1).max(100)).max(1000).optional(),
        path: pathSchema.optional(),
        values: z
          .array(z.union([z.string().max(200), z.number()]))
          .max(1000)
          .optional(),
      })
      .optional(),
    /** Percent of other subjects in the pilot. */
    pilotShare: z.number().min(0).max(100).default(5),
    /** Expansion steps in percent, rising, the last 100. */
    steps: z
      .array(z.number().gt(0).max(100))
      .min(1)
      .max(20)
      .default([5, 25, 50, 100])
      .refine((s) => s.every((v, i) => i === 0 || v > (s[i - 1] as number)), 'steps rise')
      .refine((s) => s[s.length - 1] === 100, 'the last step is 100'),
    /** The least time a stage holds before it may advance. */
    minStageMs: z
      .number()
      .int()
      .min(0)
      .max(90 * 86_400_000)
      .default(15 * 60_000),
    /** The gates' sliding window. */
    windowMs: z
      .number()
      .int()
      .min(1_000)
      .max(90 * 86_400_000)
      .default(86_400_000),
    /** Share of champion-answered calls the challenger also answers in shadow (outside optimisation). */
    shadowSample: z.number().min(0).max(1).default(1),
    gates: z.array(gateSchema).max(20).default(defaultGates),
    /** Output path of the decision compared in shadow and with labels (the flow's feedback settings otherwise). */
    predictionPath: pathSchema.optional(),
    /** Label path an outcome is read from (the whole label when absent). */
    labelPath: pathSchema.optional(),
    /** The decision each label value calls for (e.g. `{"true": "decline", "false": "approve"}` for a default flag). */
    labelMap: z.record(z.string().max(200), scalar).optional(),
    /**
     * Only labelled decisions with one of these predictions count for outcome agreement: `["approve"]` makes it
     * 1 − the bad rate of approved loans (declined loans never show whether they would have defaulted).
     */
    judged: z.array(scalar).max(50).optional(),
    /** The decision that counts as an approval, for the approval-rate drift gate. */
    approveValue: scalar.optional(),
    /** An evaluation report the challenger needs before it enters the named stages. */
    requireEvaluation: evaluationRequirementSchema.optional(),
    /** Human review of the challenger's pilot decisions: before release, and/or a sample after release. */
    review: rolloutReviewSchema.optional(),
  })
  .refine((p) => !p.review?.beforeRelease || p.predictionPath !== undefined, {
    message: 'review before release needs the predictionPath a reviewer’s outcome goes to',
    path: ['review', 'beforeRelease'],
  });
export type RolloutPlan = z.output<typeof rolloutPlanSchema>;

/** `POST /api/endpoints/:id/rollouts`. */
export const startRolloutBody = z.strictObject({
  challengerVersion: z.number().int().min(1),
  stage: z.enum(['shadow', 'pilot']).default('pilot'),
  reason: z.string().trim().min(1).max(2000),
  plan: rolloutPlanSchema.default(() => rolloutPlanSchema.parse({})),
});
export type StartRollout = z.output<typeof startRolloutBody>;
export type StartRolloutBody = z.input<typeof startRolloutBody>;

/** `POST /api/rollouts/:id/{advance,pause,resume,rollback,kill}` and `POST /api/endpoints/:id/rollout/kill`. */
export const rolloutTransitionBody = z.strictObject({ reason: z.string().trim().min(1).max(2000) });
export const rolloutActions = ['advance', 'pause', 'resume', 'rollback', 'kill'] as const;
export type RolloutAction = (typeof rolloutActions)[number];

export const rolloutStatusQuery = z.object({ buckets: z.coerce.number().int().min(1).max(200).default(30) });

/** A rollout as listed (`GET /api/endpoints/:id/rollouts`) and as the head of its status. */
export const rolloutSchema = z.object({
  id: z.string(),
  endpointId: z.string(),
  flowId: z.string(),
  championVersion: z.number().int(),
  challengerVersion: z.number().int(),
  stage: rolloutStageSchema,
  status: rolloutStateSchema,
  /** Index of the expansion step (0 outside expansion). */
  step: z.number().int(),
  /** Percent of subjects the challenger answers outside the pilot cohort (0 once the rollout ended). */
  share: z.number(),
  plan: rolloutPlanSchema,
  /** Why the rollout ended (rollback, kill), or null. */
  reason: z.string().nullable(),
  revision: z.number().int(),
  stageEnteredAt: timestamp,
  createdAt: timestamp,
  createdBy: z.string().nullable(),
  updatedAt: timestamp,
});
export type Rollout = z.output<typeof rolloutSchema>;
export const rolloutListSchema = z.array(rolloutSchema);

/** A gate as judged now: the challenger's estimate with its 95 % interval, the champion's for comparison. */
export const rolloutGateSchema = z.object({
  ...gateFields,
  status: gateStatusSchema,
  samples: z.number().int(),
  value: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  champion: z.object({ value: z.number(), samples: z.number().int() }).nullable(),
});
export type RolloutGate = z.output<typeof rolloutGateSchema>;

const sideSchema = z.object({
  calls: z.number().int(),
  errors: z.number().int(),
  p95Ms: z.number().nullable(),
  approvals: z.number().int(),
  /** Mean CPU ms per measured call in the slot (null when none was measured). */
  cpuMs: z.number().nullable(),
});
/** One time slot of the dashboard's charts. */
export const rolloutPointSchema = z.object({
  at: timestamp,
  champion: sideSchema,
  challenger: sideSchema.extend({ shadows: z.number().int(), disagree: z.number().int() }),
});
export type RolloutPoint = z.output<typeof rolloutPointSchema>;

export const rolloutTransitionSchema = z.object({
  seq: z.number().int(),
  at: timestamp,
  actor: auditActorSchema,
  action: z.string(),
  fromStage: rolloutStageSchema.nullable(),
  toStage: rolloutStageSchema,
  fromShare: z.number().nullable(),
  toShare: z.number(),
  reason: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type RolloutTransition = z.output<typeof rolloutTransitionSchema>;

/** `GET /api/endpoints/:id/rollout`, and the answer of every transition. */
export const rolloutStatusSchema = rolloutSchema.extend({
  gates: z.array(rolloutGateSchema),
  next: z.object({ stage: rolloutStageSchema, step: z.number().int(), share: z.number() }).nullable(),
  heldMs: z.number(),
  /** Gates pass and the stage has held long enough: an approver may advance it. */
  awaitingApproval: z.boolean(),
  openReviews: z.number().int(),
  /** The evaluation report the next stage needs (null when the plan requires none there). */
  evaluation: z.lazy(() => rolloutEvaluationViewSchema).nullable(),
  /** Shadow runs this server did not start because too many were in flight. */
  shadowsDropped: z.number().int(),
  series: z.array(rolloutPointSchema),
  transitions: z.array(rolloutTransitionSchema),
});
export type RolloutStatus = z.output<typeof rolloutStatusSchema>;

/** `GET /api/rollouts`: every endpoint of the workspace with its newest rollout. */
export const rolloutBoardRowSchema = z.object({
  endpointId: z.string(),
  slug: z.string(),
  flowId: z.string(),
  rollout: rolloutSchema.nullable(),
  health: z.enum(['pass', 'pending', 'breach']),
});
export type RolloutBoardRow = z.output<typeof rolloutBoardRowSchema>;
export const rolloutBoardSchema = z.array(rolloutBoardRowSchema);

/** Whether the next stage's evaluation requirement is met (the status's `evaluation`). */
export const rolloutEvaluationViewSchema = z.object({
  stage: rolloutStageSchema,
  dataset: z.string(),
  margin: z.number(),
  status: z.enum(['met', 'missing', 'not-met']),
  /** Why it is not met. */
  message: z.string().optional(),
  /** The report that meets it. */
  evidence: z
    .object({
      evaluationId: z.string(),
      dataset: z.string(),
      datasetSha256: z.string(),
      rows: z.number(),
      margin: z.number(),
      /** Challenger minus champion accuracy, with its 95 % interval. */
      accuracyDelta: z.object({ value: z.number(), low: z.number(), high: z.number() }),
    })
    .optional(),
});
export type RolloutEvaluationView = z.output<typeof rolloutEvaluationViewSchema>;
