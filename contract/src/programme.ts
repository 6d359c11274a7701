/**
 * Across the business (`/api/artefacts`, `/api/flows/:id/promote`, `/api/rollouts/board`): model artefacts that
 * flow versions reference, promoting a flow into another workspace, and the programme owner's rollout board.
 */
import { z } from 'zod';
import { roleSchema, timestamp } from './common.js';

/** Connection and credential names (as the runtime's `connectionNamePattern`). */
export const resourceNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const resourceName = z.string().regex(resourceNamePattern, 'a connection or credential name');

export const artefactHash = z.string().regex(/^[0-9a-f]{64}$/, 'an artefact id is 64 hex digits');

/** A trained model stored once per workspace under the SHA-256 of its canonical JSON. */
export const artefactSchema = z.object({
  sha256: artefactHash,
  /** The model's own kind (`scorecard`, `fraud-model`, `finflow.textClassifier`). */
  kind: z.string(),
  nodeType: z.string(),
  bytes: z.number().int(),
  /** The flow version that first stored it (null when it arrived by promotion of an older history). */
  flowId: z.string().nullable(),
  flowVersion: z.number().int().nullable(),
  createdAt: timestamp,
  createdBy: z.string().nullable(),
});
export type Artefact = z.output<typeof artefactSchema>;
export const artefactListSchema = z.array(artefactSchema);
export const artefactListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().min(0).optional(),
});

/** One artefact with its model (`GET /api/artefacts/:sha256`). */
export const artefactDetailSchema = z.object({ artefact: artefactSchema, model: z.unknown() });

/** The models a flow version references, by node and config field. */
export const versionArtefactsSchema = z.array(
  z.object({ nodeId: z.string(), field: z.string(), sha256: artefactHash, kind: z.string() }),
);

/** Name → name (the source workspace's → the target's); at most 200 entries. */
const nameMap = z
  .record(resourceName, resourceName)
  .refine((m) => Object.keys(m).length <= 200, 'at most 200 names')
  .default({});

export const promoteBody = z.strictObject({
  targetWorkspaceId: z.string().min(1).max(100),
  /** The source's connection names → the target's (every connection the flow's versions name). */
  connections: nameMap,
  /** The source's credential names → the target's (nodes that name a credential themselves). */
  credentials: nameMap,
  /** The promoted flow's name (default: the source flow's). */
  name: z.string().min(1).max(200).optional(),
  message: z.string().max(2000).optional(),
});
export type PromoteBody = z.input<typeof promoteBody>;

export const promoteResultSchema = z.object({
  flow: z.object({ id: z.string(), name: z.string(), latestVersion: z.number().int() }),
  targetWorkspace: z.object({ id: z.string(), name: z.string() }),
  versions: z.number().int(),
  artefacts: z.array(artefactHash),
});

/** What a promotion must map (`GET /api/flows/:id/promotion?targetWorkspaceId=`), for the editor's dialog. */
export const promotionNeedsSchema = z.object({
  connections: z.array(z.object({ name: z.string(), kind: z.string().nullable() })),
  credentials: z.array(z.string()),
  target: z.object({
    connections: z.array(z.object({ name: z.string(), kind: z.string() })),
    credentials: z.array(z.string()),
  }),
});
export type PromotionNeeds = z.output<typeof promotionNeedsSchema>;

export const gateCountsSchema = z.object({
  pass: z.number().int(),
  uncertain: z.number().int(),
  breach: z.number().int(),
  insufficient: z.number().int(),
});

export const boardRowSchema = z.object({
  workspace: z.object({ id: z.string(), name: z.string() }),
  role: roleSchema,
  endpointId: z.string(),
  slug: z.string(),
  endpointStatus: z.enum(['active', 'disabled']),
  flowId: z.string(),
  flowName: z.string().nullable(),
  /** `none` when the endpoint never had a rollout. */
  stage: z.string(),
  rolloutStatus: z.string().nullable(),
  rolloutId: z.string().nullable(),
  split: z.array(
    z.object({
      version: z.number().int(),
      share: z.number(),
      role: z.enum(['champion', 'challenger', 'deployed']),
    }),
  ),
  gates: gateCountsSchema,
  pendingApprovals: z.number().int(),
  openReviews: z.number().int(),
  reason: z.string().nullable(),
  updatedAt: timestamp,
});
export type BoardRow = z.output<typeof boardRowSchema>;
export const boardSchema = z.array(boardRowSchema);
