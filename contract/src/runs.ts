/** Runs: starting, listing and reading them over HTTP, and following them over socket.io. */
import type { RunEvent, RunState } from '@finflow/runtime/events';
import { z } from 'zod';
import { timestamp } from './common.js';
import { versionNumber } from './flows.js';

/** `queued`: stored for a worker in queue mode, not started yet. */
export const runStatuses = [
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
] as const;
export const runStatusSchema = z.enum(runStatuses);
/**
 * How a run was started: a saved version from the editor (`manual`), the editor's unsaved draft (`draft`: its
 * `flowVersion` is the version the draft was edited from), an endpoint call, or a re-run of another run.
 */
export const runTriggers = ['manual', 'draft', 'endpoint', 'rerun'] as const;
export const runTriggerSchema = z.enum(runTriggers);
export type RunTrigger = z.output<typeof runTriggerSchema>;

/**
 * A run of a saved version (`version`, default the latest), or of a draft: the `document` the editor holds, run as
 * it is without saving a version (it must validate; 422 INVALID_FLOW lists its problems otherwise).
 */
export const startRunBody = z
  .strictObject({
    input: z.unknown().default({}),
    version: versionNumber.optional(),
    document: z.unknown().optional(),
  })
  .refine((b) => b.version === undefined || b.document === undefined, {
    message: 'give either a saved `version` or a draft `document`, not both',
    path: ['document'],
  });
export type StartRunBody = z.input<typeof startRunBody>;
export const runStartedSchema = z.object({ runId: z.string(), flowVersion: z.number().int() });

export const runsQuery = z.object({
  flowId: z.string().max(100).optional(),
  endpointId: z.string().max(100).optional(),
  status: runStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(0).optional(),
});
/** The query as a client writes it (every field may be left out). */
export type RunsQuery = Partial<z.output<typeof runsQuery>>;

export const runSummarySchema = z.object({
  id: z.string(),
  flowId: z.string(),
  flowVersion: z.number().int(),
  status: runStatusSchema,
  trigger: runTriggerSchema,
  endpointId: z.string().nullable(),
  rerunOf: z.string().nullable(),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
  ms: z.number().nullable(),
});
export type RunSummary = z.output<typeof runSummarySchema>;
export const runListSchema = z.array(runSummarySchema);

/** A run with its state: the runtime's fold of its events (`RunState` is defined there). */
export const runDetailSchema = runSummarySchema.extend({
  run: z.custom<RunState>((v) => !!v && typeof v === 'object'),
});
export type RunDetail = z.output<typeof runDetailSchema>;

export const eventsQuery = z.object({ after: z.coerce.number().int().min(-1).default(-1) });
/** A run's events in seq order (`RunEvent` is the runtime's). */
export const runEventListSchema = z.array(z.custom<RunEvent>((v) => !!v && typeof v === 'object'));

// socket.io
export const runSubscribeMessage = z.strictObject({
  runId: z.string().min(1).max(100),
  afterSeq: z.number().int().min(-1).optional(),
});
export const runUnsubscribeMessage = z.strictObject({ runId: z.string().min(1).max(100) });
/** The acknowledgement of `run:subscribe`. */
export const subscribeAckSchema = z.union([
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type SubscribeAck = z.output<typeof subscribeAckSchema>;
