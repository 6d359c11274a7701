/**
 * Human review and feedback (`/api/reviews`, `/api/runs/:id/reviews`, `/api/runs/:id/feedback`, `/api/feedback`):
 * the inbox's tasks and queues, a reviewer's decision, and the labels that later say what a decision should have
 * been. The task a waiting `human.review` node gives is the node's (nodes/builtin/src/human/review-task.ts); the
 * view below names the fields the inbox reads and lets the rest through, since masking may replace parts of it.
 */
import { z } from 'zod';
import { timestamp } from './common.js';

export const reviewStatuses = ['open', 'decided', 'cancelled'] as const;
export const reviewActions = ['approve', 'override', 'reject'] as const;
export const feedbackSources = ['outcome', 'review'] as const;

/** `GET /api/reviews`. */
export const reviewListQuery = z.object({
  status: z.enum(reviewStatuses).default('open'),
  queue: z.string().max(64).optional(),
  flowId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().min(0).optional(),
});
/** The query as a client writes it (every field may be left out). */
export type ReviewListQuery = Partial<z.output<typeof reviewListQuery>>;

/** `POST /api/reviews/:id/decision`. */
export const reviewDecisionBody = z.strictObject({
  action: z.enum(reviewActions),
  outcome: z.string().min(1).max(100).optional(),
  reason: z.string().trim().min(1, 'give the reason for the decision').max(4000),
  corrections: z
    .record(z.string().min(1).max(200), z.unknown())
    .refine((c) => Object.keys(c).length <= 50, 'at most 50 corrected fields')
    .optional(),
});
export type ReviewDecisionBody = z.input<typeof reviewDecisionBody>;

const reviewer = z.object({ id: z.string(), name: z.string() });

/** What the waiting node asked: its summary, case, proposed decision, outcomes and rules. */
const reviewTaskContent = z.looseObject({
  summary: z.array(z.object({ path: z.string(), value: z.unknown() })).optional(),
  case: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  decision: z
    .union([z.record(z.string(), z.unknown()), z.string()])
    .nullable()
    .optional(),
  outcomes: z.array(z.string()).optional(),
  approveOutcome: z.string().optional(),
  rejectOutcome: z.string().optional(),
  editableFields: z.array(z.string()).optional(),
  approvalsRequired: z.number().int().optional(),
  fourEyes: z
    .object({ path: z.string(), above: z.number(), value: z.number().nullable() })
    .nullable()
    .optional(),
  sla: z
    .looseObject({
      dueInMinutes: z.number(),
      onExpiry: z.string(),
      escalateTo: z.string().optional(),
      defaultOutcome: z.string().optional(),
    })
    .nullable()
    .optional(),
});

/** The decision that resumed the node (a reviewer's, or the SLA's with no reviewer). */
const reviewTaskDecision = z.looseObject({
  action: z.string(),
  outcome: z.string().optional(),
  reason: z.string(),
  reviewers: z.array(reviewer),
  corrections: z.record(z.string(), z.unknown()).optional(),
  decidedAt: timestamp,
});

/** A review task as the inbox shows it. */
export const reviewTaskSchema = z.object({
  id: z.string(),
  runId: z.string(),
  nodeId: z.string(),
  flowId: z.string(),
  flowVersion: z.number().int(),
  endpointId: z.string().nullable(),
  queue: z.string(),
  /** Roles the queue names (the approver role may always decide). */
  roles: z.array(z.string()),
  title: z.string(),
  status: z.enum(reviewStatuses),
  dueAt: timestamp.nullable(),
  overdue: z.boolean(),
  escalatedAt: timestamp.nullable(),
  createdAt: timestamp,
  task: reviewTaskContent,
  /** Approvals so far (four-eyes tasks need two before they are decided). */
  approvals: z.array(
    z.object({
      reviewer,
      action: z.string(),
      outcome: z.string().optional(),
      reason: z.string(),
      at: timestamp,
    }),
  ),
  decision: reviewTaskDecision.nullable(),
  decidedAt: timestamp.nullable(),
  /** `user:<id>` or `system:sla`. */
  decidedBy: z.string().nullable(),
});
export type ReviewTask = z.output<typeof reviewTaskSchema>;
export const reviewTaskListSchema = z.array(reviewTaskSchema);

export const reviewQueueSchema = z.object({
  queue: z.string(),
  open: z.number().int(),
  overdue: z.number().int(),
});
export type ReviewQueue = z.output<typeof reviewQueueSchema>;
export const reviewQueueListSchema = z.array(reviewQueueSchema);

/** The answer of a decision: 200 when decided, 202 while a four-eyes task waits for its second approval. */
export const reviewDecisionResultSchema = z.object({
  task: reviewTaskSchema,
  decided: z.boolean(),
  /** The run went on (this decision's claim took it). */
  resumed: z.boolean(),
});
export type ReviewDecisionResult = z.output<typeof reviewDecisionResultSchema>;

/** `POST /api/runs/:id/feedback` (and a published endpoint's `/feedback`): the label, checked by the flow. */
export const feedbackBody = z.strictObject({ label: z.unknown() });

/** `POST /v1/endpoints/:slug/feedback`: a label for one of the endpoint's decisions, named by run or business key. */
export const endpointFeedbackBody = z
  .strictObject({
    runId: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'The run that decided (give this or businessKey)' }),
    businessKey: z
      .union([z.string().min(1).max(200), z.number().finite()])
      .optional()
      .meta({ description: "The decision's business key (give this or runId)" }),
    /** Checked against the flow's label schema (`settings.feedback.labelSchema`). */
    label: z.unknown(),
  })
  .refine((b) => (b.runId === undefined) !== (b.businessKey === undefined), {
    message: 'name the decision by `runId` or by `businessKey` (one of them)',
  })
  .refine((b) => b.label !== undefined, { message: '`label` is required', path: ['label'] });

/** `GET /api/feedback`: labelled decisions of an endpoint or flow version in a window of decision times. */
export const feedbackQuery = z.object({
  endpointId: z.string().max(100).optional(),
  flowId: z.string().max(100).optional(),
  version: z.coerce.number().int().min(1).optional(),
  source: z.enum(feedbackSources).optional(),
  from: z.coerce.number().int().min(0).default(0),
  to: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const feedbackSchema = z.object({
  id: z.string(),
  runId: z.string(),
  flowId: z.string(),
  flowVersion: z.number().int(),
  endpointId: z.string().nullable(),
  deploymentId: z.string().nullable(),
  source: z.enum(feedbackSources),
  label: z.unknown(),
  /** The run's prediction (its output at the flow's feedback prediction path). */
  prediction: z.unknown(),
  /** `user:<id>`, `key:<id>` or `system:review`. */
  actor: z.string(),
  /** When the labelled run decided (its start). */
  decidedAt: timestamp,
  createdAt: timestamp,
});
export type Feedback = z.output<typeof feedbackSchema>;
export const feedbackListSchema = z.array(feedbackSchema);
