/**
 * A data holder's federated datasets (`/api/federated/datasets`): training tables stored sealed on this server,
 * which a coordinator's API keys may train on and which are never answered row by row. The holder protocol a
 * coordinator speaks (`/v1/federated/...`: join, update, leave) is in federated-protocol.ts.
 */
import { z } from 'zod';
import { timestamp } from './common.js';

/** What one `PUT` may hold. */
export const federatedDatasetBodyLimits = { rows: 200_000, columns: 500, apiKeys: 100 } as const;

const cell = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

/** The body of `PUT /api/federated/datasets/:name`. */
export const federatedDatasetBody = z.strictObject({
  rows: z
    .array(
      z
        .record(z.string().min(1).max(200), cell)
        .refine(
          (r) => Object.keys(r).length <= federatedDatasetBodyLimits.columns,
          `a row has at most ${federatedDatasetBodyLimits.columns} columns`,
        ),
    )
    .min(1)
    .max(federatedDatasetBodyLimits.rows),
  apiKeys: z.array(z.string().min(1).max(100)).max(federatedDatasetBodyLimits.apiKeys).default([]),
  /** The fewest holders (this one included) a round may have; 2 lets one peer and the coordinator, together, see this holder's update. */
  minParticipants: z.number().int().min(2).max(64).default(3),
  description: z.string().max(2000).default(''),
});
export type FederatedDatasetBody = z.output<typeof federatedDatasetBody>;

/** A federated dataset as listed: its columns and row count, never a row. */
export const federatedDatasetSchema = z.object({
  name: z.string(),
  description: z.string(),
  columns: z.array(z.string()),
  rows: z.number().int(),
  /** Ids of the workspace's API keys a coordinator may train with. */
  apiKeys: z.array(z.string()),
  minParticipants: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type FederatedDataset = z.output<typeof federatedDatasetSchema>;
export const federatedDatasetListSchema = z.array(federatedDatasetSchema);
