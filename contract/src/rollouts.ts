/**
 * Phased rollout: the parts of the rollout status added with review before release, CPU per call and the
 * evaluation-report requirement (the older parts of the status are still written out in the editor's types).
 */
import { z } from 'zod';

export const rolloutStages = ['shadow', 'pilot', 'expansion', 'optimisation'] as const;

/** The pilot's human review settings, as the plan stores them. */
export const rolloutReviewPlanSchema = z.object({
  beforeRelease: z.boolean(),
  sampleAfterRelease: z.number(),
  queue: z.string(),
  roles: z.array(z.string()),
  outcomes: z.array(z.string()),
});
export type RolloutReviewPlan = z.output<typeof rolloutReviewPlanSchema>;

/** A stage that needs a stored evaluation report, as the plan stores it. */
export const rolloutEvaluationRequirementSchema = z.object({
  dataset: z.string(),
  margin: z.number(),
  stages: z.array(z.enum(rolloutStages)),
});
export type RolloutEvaluationRequirement = z.output<typeof rolloutEvaluationRequirementSchema>;

/** Whether the next stage's evaluation requirement is met (the status's `evaluation`; null when none applies). */
export const rolloutEvaluationViewSchema = z.object({
  stage: z.enum(rolloutStages),
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
