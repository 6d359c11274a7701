/**
 * What a published endpoint answers its API-key callers (`POST /v1/endpoints/:slug`, `GET /v1/runs/:id`): the
 * result of a run, the 202 of an async or reviewed call, and a polled run. The endpoint's OpenAPI document is
 * generated from these schemas (server/src/openapi.ts), so the published document and the answers cannot drift.
 */
import { z } from 'zod';
import { runStatusSchema } from './runs.js';

/** Milliseconds since the epoch, whole (the common `timestamp`, stated as the integer it always is). */
const epochMs = z.number().int();

/** A run's outputs, by output node name; each endpoint's OpenAPI document details them from the flow. */
export const endpointOutputsSchema = z.record(z.string(), z.unknown());

export const endpointReviewSchema = z.object({
  id: z.string(),
  queue: z.string(),
  dueAt: epochMs.nullable(),
});
export const endpointReviewsSchema = z
  .array(endpointReviewSchema)
  .meta({ description: 'The review tasks a waiting run waits for' });

/** `200`: the flow ran. */
export const endpointResultSchema = z.object({
  runId: z.string(),
  flowVersion: z.number().int(),
  outputs: endpointOutputsSchema,
});
export type EndpointResult = z.output<typeof endpointResultSchema>;

/**
 * `202`: the run goes on without the caller (async mode, `running`), or waits for a human review (`waiting`, with
 * its review tasks and the outputs of the branches that did not wait); the caller polls `url`.
 */
export const endpointAcceptedSchema = z.object({
  runId: z.string(),
  status: z.enum(['running', 'waiting']),
  url: z.string(),
  flowVersion: z.number().int(),
  reviews: endpointReviewsSchema.optional(),
  outputs: endpointOutputsSchema.optional(),
});
export type EndpointAccepted = z.output<typeof endpointAcceptedSchema>;

/** `GET /v1/runs/:id`: a run started through an endpoint, as its caller may see it. */
export const endpointRunSchema = z.object({
  runId: z.string(),
  status: runStatusSchema,
  flowVersion: z.number().int(),
  startedAt: epochMs,
  finishedAt: epochMs.nullable(),
  ms: z.number().nullable(),
  outputs: endpointOutputsSchema.optional(),
  reviews: endpointReviewsSchema.optional(),
  error: z
    .object({
      code: z.string().meta({ description: 'SCREAMING_SNAKE error code' }),
      message: z.string(),
      nodeId: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
export type EndpointRun = z.output<typeof endpointRunSchema>;
