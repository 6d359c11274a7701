/** Credentials, published endpoints, API keys and the audit log (`/api/credentials`, `/api/endpoints`, ...). */
import { z } from 'zod';
import { auditActorSchema, timestamp } from './common.js';

export const credentialNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const credentialNameSchema = z
  .string()
  .regex(credentialNamePattern, 'a credential name starts with a letter and holds letters, digits, _ . -');
export const putCredentialBody = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(64 * 1024),
  description: z.string().max(2000).optional(),
});
/** A credential as listed: its value never leaves the server. */
export const credentialSchema = z.object({
  name: z.string(),
  description: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
  lastUsedAt: timestamp.nullable(),
});
export type Credential = z.output<typeof credentialSchema>;
export const credentialListSchema = z.array(credentialSchema);

/** Slugs are part of the public URL: lower-case letters, digits and -, at most 63. */
export const slugPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const endpointModes = ['sync', 'async'] as const;
export const endpointLimits = {
  timeoutMs: { min: 100, max: 15 * 60_000 },
  maxBodyBytes: { min: 256, max: 50 * 1024 * 1024 },
  rateLimitPerMinute: { min: 1, max: 10_000_000 },
};
const intIn = (l: { min: number; max: number }) => z.number().int().min(l.min).max(l.max);
const settings = {
  mode: z.enum(endpointModes).optional(),
  timeoutMs: intIn(endpointLimits.timeoutMs).optional(),
  maxBodyBytes: intIn(endpointLimits.maxBodyBytes).optional(),
  rateLimitPerMinute: intIn(endpointLimits.rateLimitPerMinute).optional(),
};
export const publishBody = z.strictObject({
  flowId: z.string().min(1).max(100),
  version: z.number().int().min(1),
  slug: z
    .string()
    .regex(
      slugPattern,
      'a slug is lower-case letters, digits and -, starting with a letter or digit (at most 63)',
    ),
  ...settings,
});
export type PublishBody = z.input<typeof publishBody>;
const targetSchema = z.strictObject({ version: z.number().int().min(1), weight: z.number().min(0).max(100) });
export const endpointPatchBody = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    targets: z.array(targetSchema).min(1).max(10).optional(),
    status: z.enum(['active', 'disabled']).optional(),
    ...settings,
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one field');
export type EndpointPatchBody = z.input<typeof endpointPatchBody>;

const targets = z.array(z.object({ version: z.number().int(), weight: z.number() }));
export const endpointSchema = z.object({
  id: z.string(),
  slug: z.string(),
  flowId: z.string(),
  /** The version with the most traffic weight. */
  flowVersion: z.number().int().nullable(),
  status: z.enum(['active', 'disabled']),
  mode: z.enum(endpointModes),
  timeoutMs: z.number().int(),
  maxBodyBytes: z.number().int(),
  rateLimitPerMinute: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
  deployment: z.object({ id: z.string(), targets, createdAt: timestamp }).nullable(),
  calls: z.object({ last24h: z.number().int(), total: z.number().int() }),
  /** The path to call, relative to the server. */
  url: z.string(),
});
export type Endpoint = z.output<typeof endpointSchema>;
export const endpointListSchema = z.array(endpointSchema);
export const deploymentListSchema = z.array(
  z.object({
    id: z.string(),
    flowId: z.string(),
    targets,
    createdAt: timestamp,
    createdBy: z.string().nullable(),
  }),
);

export const keyScopeSchema = z.union([z.literal('*'), z.array(z.string().min(1).max(100)).min(1).max(1000)]);
export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  endpoints: keyScopeSchema,
});
export type CreateKeyBody = z.input<typeof createKeyBody>;
export const apiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  /** Endpoint ids the key may call, or every endpoint of the workspace. */
  endpoints: z.union([z.literal('*'), z.array(z.string())]),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
});
export type ApiKey = z.output<typeof apiKeySchema>;
export const apiKeyListSchema = z.array(apiKeySchema);
/** A new key: the secret `key` is in this answer only (stored as its hash). */
export const apiKeyCreatedSchema = apiKeySchema.extend({ key: z.string() });
export type ApiKeyCreated = z.output<typeof apiKeyCreatedSchema>;
/** A rotated key: the new key (shown once) with the old one's name and scope; the old one is revoked. */
export const apiKeyRotatedSchema = apiKeyCreatedSchema.extend({ rotatedFrom: z.string() });

export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});
export const auditEntrySchema = z.object({
  seq: z.number().int(),
  workspaceId: z.string(),
  at: timestamp,
  actor: auditActorSchema,
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export const auditListSchema = z.array(auditEntrySchema);
export const auditVerifySchema = z.union([
  z.object({ ok: z.literal(true), entries: z.number().int() }),
  z.object({
    ok: z.literal(false),
    entries: z.number().int(),
    firstBroken: z.object({ seq: z.number().int(), reason: z.string() }),
  }),
]);
