/**
 * Evaluations (`/api/flows/:id/evaluations`, `/api/evaluations/:id`): flow versions run on a labelled dataset.
 * The spec and the report are the runtime's (`@finflow/runtime/evaluation`), which the editor draws with too.
 */
import { evaluationSpecSchema, type EvaluationReport } from '@finflow/runtime/evaluation';
import { z } from 'zod';
import { timestamp } from './common.js';

export const evaluationStatuses = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;

/** `POST /api/flows/:id/evaluations`. */
export const startEvaluationBody = z.strictObject({
  versions: z.array(z.number().int().min(1)).min(1).max(16),
  dataset: z.strictObject({
    name: z.string().min(1).max(200),
    format: z.enum(['csv', 'jsonl']),
    // The body limit (FINFLOW_API_MAX_BODY_BYTES) bounds it first; the dataset limits then bound rows and shape.
    content: z.string().min(1),
  }),
  // Its expressions are compiled by the service (parseEvaluationSpec), which names the one that is wrong.
  spec: evaluationSpecSchema,
});
export type StartEvaluationBody = z.input<typeof startEvaluationBody>;

export const evaluationListQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
/** `format=md` answers the report as a Markdown file instead of JSON. */
export const evaluationGetQuery = z.object({ format: z.enum(['json', 'md']).default('json') });

export const evaluationSchema = z.object({
  id: z.string(),
  flowId: z.string(),
  versions: z.array(z.number().int()),
  dataset: z.object({ name: z.string(), rows: z.number().int(), sha256: z.string() }),
  /** The spec as it was given. */
  spec: z.unknown(),
  status: z.enum(evaluationStatuses),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  error: z.string().nullable(),
  createdBy: z.string(),
  createdAt: timestamp,
  finishedAt: timestamp.nullable(),
  /** The report (the runtime's `EvaluationReport`) once the evaluation succeeded. */
  report: z.custom<EvaluationReport>((v) => !!v && typeof v === 'object').optional(),
});
export type Evaluation = z.output<typeof evaluationSchema>;
export const evaluationListSchema = z.array(evaluationSchema);
