/**
 * The federated holder protocol (`/v1/federated/datasets/:name/sessions...`): the messages between a
 * federated-training coordinator (the risk.federatedScorecard node, @finflow/nodes) and a data holder (this
 * server's routes/federated.ts), one zod schema each. The holder's route parses every request with them (it is an
 * API reachable by API key), the coordinator every answer, so the two ends cannot drift. Nothing in these messages
 * is a row: the coordinator sends the model and the encoding, a holder answers with its public key, the
 * categories it has, and masked vectors.
 */
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * A fitted column encoder as it travels (in the coordinator's model) and is stored (in a model artefact):
 * a numeric column's standardisation, or a categorical column's levels and their training shares.
 */
export const columnEncoderSchema = z.discriminatedUnion('type', [
  z.object({
    column: z.string().min(1),
    type: z.literal('numeric'),
    mean: finite,
    std: finite.refine((v) => v > 0, 'must be positive'),
    transform: z.literal('log1p').optional(),
    rawMean: finite,
    missing: z.number().int().min(0),
  }),
  z.object({
    column: z.string().min(1),
    type: z.literal('categorical'),
    levels: z.array(z.string()).min(1),
    frequencies: z.array(finite),
  }),
]);

/** A session's X25519 public key: the JWK `x`, 32 bytes as unpadded base64url. */
export const publicKeyPattern = /^[A-Za-z0-9_-]{43}$/;

/** Limits that keep one request and one answer small (the Hessian is (1 + p)^2 / 2 numbers). */
export const federatedLimits = {
  features: 200,
  levels: 500,
  /** Encoded features the Newton stage accepts (its answer grows with the square). */
  newtonWidth: 300,
  /** Encoded features the gradient and evaluation stages accept. */
  width: 5_000,
  participants: 64,
  rounds: 10_000,
  attempts: 20,
  bins: 10_000,
} as const;

const column = z.string().min(1).max(200);
export const holderIdPattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const holderId = z.string().regex(holderIdPattern, 'a holder id');
const finiteNumber = z.number().refine(Number.isFinite, 'a finite number');

/** What to train on: the columns every holder has. */
export const trainingSpecSchema = z.strictObject({
  target: column,
  positiveClass: z.string().min(1).max(200),
  features: z.array(column).min(1).max(federatedLimits.features),
  categorical: z.array(column).max(federatedLimits.features).default([]),
  numeric: z.array(column).max(federatedLimits.features).default([]),
});
export type TrainingSpec = z.output<typeof trainingSpecSchema>;

export const joinRequestSchema = z.strictObject({
  /** Chosen by the coordinator, the same for every holder: it salts the pairwise mask keys. */
  session: z.uuid(),
  /** The id the coordinator gives this holder; the order of ids decides each pair's mask sign. */
  holder: holderId,
  spec: trainingSpecSchema,
});
export type JoinRequest = z.output<typeof joinRequestSchema>;

export const holderColumnInfoSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('numeric') }),
  z.strictObject({
    type: z.literal('categorical'),
    levels: z.array(z.string().max(200)).max(federatedLimits.levels),
  }),
]);

export const joinResponseSchema = z.strictObject({
  publicKey: z.string().regex(publicKeyPattern),
  /** Each feature's type as this holder reads it, and the categories it has (never how many of each). */
  columns: z.record(column, holderColumnInfoSchema),
});
export type JoinResponse = z.output<typeof joinResponseSchema>;

export const holderParticipantSchema = z.strictObject({
  id: holderId,
  publicKey: z.string().regex(publicKeyPattern),
});

/** The layout of the statistics vector: each feature's type and, for a category, the levels counted. */
export const statsLayoutSchema = z
  .array(
    z.discriminatedUnion('type', [
      z.strictObject({ column, type: z.literal('numeric') }),
      z.strictObject({
        column,
        type: z.literal('categorical'),
        levels: z.array(z.string().max(200)).min(1).max(federatedLimits.levels),
      }),
    ]),
  )
  .min(1)
  .max(federatedLimits.features);
export type StatsLayout = z.output<typeof statsLayoutSchema>;

const common = {
  round: z.number().int().min(0).max(federatedLimits.rounds),
  attempt: z.number().int().min(1).max(federatedLimits.attempts),
  participants: z.array(holderParticipantSchema).min(2).max(federatedLimits.participants),
};
const modelFields = {
  encoders: z.array(columnEncoderSchema).min(1).max(federatedLimits.features),
  theta: z
    .array(finiteNumber)
    .min(2)
    .max(federatedLimits.width + 1),
};

export const updateRequestSchema = z.discriminatedUnion('stage', [
  z.strictObject({ stage: z.literal('stats'), ...common, layout: statsLayoutSchema }),
  z.strictObject({ stage: z.literal('newton'), ...common, ...modelFields }),
  z.strictObject({
    stage: z.literal('gradient'),
    ...common,
    ...modelFields,
    /** Each row's gradient is clipped to this L2 norm; the total gets Gaussian noise of sd noiseStd. */
    dp: z.strictObject({
      clipNorm: z.number().positive().max(1e6),
      noiseStd: z.number().positive().max(1e12),
    }),
  }),
  z.strictObject({
    stage: z.literal('evaluate'),
    ...common,
    ...modelFields,
    bins: z.number().int().min(10).max(federatedLimits.bins),
    /** With differential privacy: Gaussian noise of this sd on every count of the total. */
    noiseStd: z.number().positive().max(1e12).optional(),
  }),
]);
export type UpdateRequest = z.output<typeof updateRequestSchema>;

export const updateResponseSchema = z.strictObject({
  length: z.number().int().min(1).max(2_000_000),
  masked: z.string().max(50_000_000),
});
export type UpdateResponse = z.output<typeof updateResponseSchema>;

/** A holder's dataset name, as it appears in the holder's URL. */
export const datasetNamePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
