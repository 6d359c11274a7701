/**
 * Shapes every part of the API shares: roles, timestamps, the error answer and validation problems. Pure (zod and
 * the runtime's pure modules), so the editor's bundle can hold it.
 */
import { problemCodes } from '@finflow/runtime/problems';
import { z } from 'zod';

/** Roles per workspace, in order of what they may do (server/API.md says what each may). */
export const roles = ['admin', 'developer', 'analyst', 'approver', 'viewer'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.output<typeof roleSchema>;

/** Milliseconds since the epoch. */
export const timestamp = z.number();

/** Every failure: `{ error: { code, message, details? } }` with a SCREAMING_SNAKE code. */
export const apiErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ApiErrorBody = z.output<typeof apiErrorSchema>;

/** A field-level issue of an invalid request or input (`details.fields` of INVALID_REQUEST and INVALID_INPUT). */
export const fieldIssueSchema = z.object({
  path: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]),
  message: z.string(),
});

/** A validation problem of a flow (the runtime's `Problem`), located on its node, edge or config path. */
export const problemSchema = z.object({
  code: z.enum(problemCodes),
  message: z.string(),
  nodeId: z.string().optional(),
  edgeId: z.string().optional(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
  /** The values the message is made of (port, node, types), so a client can word it in its own language. */
  params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type Problem = z.output<typeof problemSchema>;

/** Who did something: a user, an API key, the server itself, or the command line. */
export const auditActorSchema = z.object({
  type: z.enum(['user', 'key', 'system', 'cli']),
  id: z.string().optional(),
  name: z.string().optional(),
});
export type AuditActorView = z.output<typeof auditActorSchema>;

/** `{ ok: true }`, the answer of actions that return nothing else. */
export const okSchema = z.object({ ok: z.literal(true) });

/** Text in the two UI languages. */
export const localizedSchema = z.object({ en: z.string(), zh: z.string() });
export type Localized = z.output<typeof localizedSchema>;
