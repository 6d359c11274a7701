/**
 * What started a queued run, stored with it (`runs.start_spec`): the worker that executes the run picks its
 * finish handler by `kind` (handlers.ts), so nothing depends on a closure in the process that accepted it.
 */
import { z } from 'zod';
import { routeSpecSchema } from '../services/rollouts.js';

export const startSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('endpoint'),
    slug: z.string().min(1).max(200),
    keyName: z.string().max(200),
    /** The caller asked for a run URL (202), not to wait for the answer. */
    async: z.boolean(),
    /** Hash of the input, for the audit entry (never the input itself). */
    inputHash: z.string().max(200),
    /** The endpoint's timeout: the run's deadline counts from `acceptedAt`. */
    timeoutMs: z.number().int().positive().optional(),
    idemKey: z.string().max(300).optional(),
    /** The live rollout that routed the call: the worker reports the finished run to its gates. */
    rollout: routeSpecSchema.optional(),
  }),
  z.strictObject({ kind: z.literal('manual') }),
  z.strictObject({ kind: z.literal('rerun') }),
]);

export type StartSpec = z.infer<typeof startSpecSchema>;

export type EndpointStartSpec = Extract<StartSpec, { kind: 'endpoint' }>;

/** Reads a stored spec; a row without one (or a malformed one) is a manual start, finished by no handler. */
export function parseStartSpec(text: string | null | undefined): StartSpec {
  if (!text) return { kind: 'manual' };
  try {
    const parsed = startSpecSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : { kind: 'manual' };
  } catch {
    return { kind: 'manual' };
  }
}

/** The context an Idempotency-Key answer is sealed with (the same one a main-mode server uses). */
export const idempotencyContext = (keyId: string, endpointId: string, idemKey: string) =>
  `idempotency:${keyId}\u0000${endpointId}\u0000${idemKey}`;
