/**
 * The data holder's side of federated training. A holder keeps its rows; for a coordinator it joins a session
 * (a fresh X25519 key, the feature types and categories it has) and then answers stage requests with masked
 * vectors: sums for the encoding statistics, the gradient and Hessian of the logistic loss at the coordinator's
 * model (Newton), clipped gradients with its share of the Gaussian noise (differential privacy), or histograms
 * of its predicted probabilities (evaluation). It refuses what would expose its update: a round with fewer
 * participants than it accepts, a participant list without its own key, duplicate keys, and any reuse of a mask.
 */
import { randomBytes } from 'node:crypto';
import {
  federatedLimits,
  type JoinRequest,
  type JoinResponse,
  type StatsLayout,
  type TrainingSpec,
  type UpdateRequest,
  type UpdateResponse,
} from '@finflow/contract';
import {
  categoryOf,
  encodedWidth,
  encodeRows,
  inferColumnTypes,
  isMissing,
  readNumeric,
  type ColumnEncoder,
  type Row,
} from '../ml/encoding.js';
import { sigmoid, log1pExp } from '../ml/logistic.js';
import { encodeFixed, maskWords, newAgreementKeys, wordsToBase64, type AgreementKeys } from './secure-sum.js';

export type HolderRefusalCode =
  | 'COLUMN_NOT_FOUND'
  | 'INVALID_TRAINING_SPEC'
  | 'TOO_FEW_PARTICIPANTS'
  | 'NOT_A_PARTICIPANT'
  | 'DUPLICATE_PARTICIPANT'
  | 'MASK_REUSED'
  | 'INVALID_MODEL'
  | 'NON_NUMERIC_VALUE';

/** Why a holder will not answer; the server maps it to 409 (protocol) or 422 (data and spec). */
export class HolderRefusal extends Error {
  override readonly name = 'HolderRefusal';
  constructor(
    message: string,
    readonly code: HolderRefusalCode,
  ) {
    super(message);
  }
}

/** 0/1 labels; unlike training on one table, a holder may hold one outcome only (that is not revealed). */
function labels(rows: readonly Row[], spec: TrainingSpec): Uint8Array {
  const y = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    const v = row[spec.target];
    if (isMissing(v))
      throw new HolderRefusal(
        `a row has no value in the target column "${spec.target}"`,
        'INVALID_TRAINING_SPEC',
      );
    y[i] = categoryOf(v, spec.target, i) === spec.positiveClass ? 1 : 0;
  });
  return y;
}

/** Standard normal draws from the operating system's random source (Box-Muller). */
export function gaussian(count: number): Float64Array {
  const out = new Float64Array(count);
  const bytes = randomBytes(Math.ceil(count / 2) * 16);
  for (let i = 0; i < count; i += 2) {
    const k = (i / 2) * 16;
    // 53-bit uniforms in (0, 1].
    const u1 = (Number(bytes.readBigUInt64LE(k) >> 11n) + 1) / 2 ** 53;
    const u2 = Number(bytes.readBigUInt64LE(k + 8) >> 11n) / 2 ** 53;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** The statistics vector: [rows, positives, then per column: numeric count, sum, sum of squares | level counts]. */
export function localStats(rows: readonly Row[], y: Uint8Array, layout: StatsLayout): Float64Array {
  let width = 2;
  for (const c of layout) width += c.type === 'numeric' ? 3 : c.levels.length;
  const out = new Float64Array(width);
  out[0] = rows.length;
  out[1] = y.reduce((s, v) => s + v, 0);
  let j = 2;
  for (const c of layout) {
    if (c.type === 'numeric') {
      rows.forEach((row, i) => {
        const v = readNumeric(row[c.column], c.column, i);
        if (v === undefined) return;
        out[j] = (out[j] as number) + 1;
        out[j + 1] = (out[j + 1] as number) + v;
        out[j + 2] = (out[j + 2] as number) + v * v;
      });
      j += 3;
      continue;
    }
    const index = new Map(c.levels.map((l, k) => [l, k]));
    rows.forEach((row, i) => {
      const k = index.get(categoryOf(row[c.column], c.column, i));
      if (k !== undefined) out[j + k] = (out[j + k] as number) + 1;
    });
    j += c.levels.length;
  }
  return out;
}

function linear(x: Float64Array, row: number, p: number, theta: readonly number[]): number {
  let z = theta[0] as number;
  const at = row * p;
  for (let j = 0; j < p; j++) z += (x[at + j] as number) * (theta[j + 1] as number);
  return z;
}

/** Gradient (m), the Hessian's lower triangle (m(m+1)/2) and the loss of the unpenalised logistic objective. */
export function localNewton(rows: readonly Row[], y: Uint8Array, encoders: ColumnEncoder[], theta: number[]) {
  const p = encodedWidth(encoders);
  const m = p + 1;
  const x = encodeRows(rows, encoders);
  const out = new Float64Array(m + (m * (m + 1)) / 2 + 1);
  const hessAt = m;
  const xi = new Float64Array(m);
  let loss = 0;
  for (let i = 0; i < rows.length; i++) {
    const z = linear(x, i, p, theta);
    const pi = sigmoid(z);
    const r = pi - (y[i] as number);
    const h = pi * (1 - pi);
    loss += log1pExp(z) - (y[i] as number) * z;
    xi[0] = 1;
    for (let j = 0; j < p; j++) xi[j + 1] = x[i * p + j] as number;
    for (let a = 0; a < m; a++) {
      const xa = xi[a] as number;
      if (xa === 0) continue;
      out[a] = (out[a] as number) + r * xa;
      const base = hessAt + (a * (a + 1)) / 2;
      const hx = h * xa;
      for (let b = 0; b <= a; b++) {
        const xb = xi[b] as number;
        if (xb !== 0) out[base + b] = (out[base + b] as number) + hx * xb;
      }
    }
  }
  out[out.length - 1] = loss;
  return out;
}

/**
 * The sum of each row's loss gradient clipped to `clipNorm` (so one row moves the sum by at most that much),
 * plus this holder's share of the noise: N(0, noiseStd^2 / k) per coordinate, k participants adding up to
 * N(0, noiseStd^2) in the total.
 */
export function localClippedGradient(
  rows: readonly Row[],
  y: Uint8Array,
  encoders: ColumnEncoder[],
  theta: number[],
  dp: { clipNorm: number; noiseStd: number },
  participants: number,
): Float64Array {
  const p = encodedWidth(encoders);
  const m = p + 1;
  const x = encodeRows(rows, encoders);
  const out = new Float64Array(m);
  for (let i = 0; i < rows.length; i++) {
    const r = sigmoid(linear(x, i, p, theta)) - (y[i] as number);
    let norm2 = 1;
    for (let j = 0; j < p; j++) norm2 += (x[i * p + j] as number) ** 2;
    const scale = Math.min(1, dp.clipNorm / (Math.abs(r) * Math.sqrt(norm2) || 1));
    out[0] = (out[0] as number) + r * scale;
    for (let j = 0; j < p; j++) out[j + 1] = (out[j + 1] as number) + r * scale * (x[i * p + j] as number);
  }
  const noise = gaussian(m);
  const sd = dp.noiseStd / Math.sqrt(participants);
  for (let j = 0; j < m; j++) out[j] = (out[j] as number) + sd * (noise[j] as number);
  return out;
}

/** Counts of predicted probabilities in `bins` equal bins, bads first then goods. */
export function localHistogram(
  rows: readonly Row[],
  y: Uint8Array,
  encoders: ColumnEncoder[],
  theta: number[],
  bins: number,
  noise?: { noiseStd: number; participants: number },
): Float64Array {
  const p = encodedWidth(encoders);
  const x = encodeRows(rows, encoders);
  const out = new Float64Array(2 * bins);
  for (let i = 0; i < rows.length; i++) {
    const b = Math.min(bins - 1, Math.floor(sigmoid(linear(x, i, p, theta)) * bins));
    const at = (y[i] === 1 ? 0 : bins) + b;
    out[at] = (out[at] as number) + 1;
  }
  if (noise) {
    const draws = gaussian(out.length);
    const sd = noise.noiseStd / Math.sqrt(noise.participants);
    for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) + sd * (draws[j] as number);
  }
  return out;
}

export interface HolderOptions {
  /** The fewest participants (this holder included) a round may have; at least 2. */
  minParticipants: number;
}

/** One holder's state in one training session: its key, its rows read once, the masks it has used. */
export class HolderSession {
  private readonly used = new Set<string>();
  private readonly y: Uint8Array;

  constructor(
    readonly session: string,
    readonly holder: string,
    readonly spec: TrainingSpec,
    private readonly rows: readonly Row[],
    private readonly keys: AgreementKeys,
    private readonly options: HolderOptions,
  ) {
    this.y = labels(rows, spec);
  }

  get publicKey(): string {
    return this.keys.publicKey;
  }

  /** Answers one stage request with a masked vector, or refuses it. */
  update(request: UpdateRequest): UpdateResponse {
    const { participants } = request;
    const min = Math.max(2, this.options.minParticipants);
    if (participants.length < min)
      throw new HolderRefusal(
        `this holder takes part only in rounds with at least ${min} holders (this one has ${participants.length}): fewer would expose its update`,
        'TOO_FEW_PARTICIPANTS',
      );
    const ids = new Set(participants.map((p) => p.id));
    const keys = new Set(participants.map((p) => p.publicKey));
    if (ids.size !== participants.length || keys.size !== participants.length)
      throw new HolderRefusal('a participant id or key is listed twice', 'DUPLICATE_PARTICIPANT');
    const self = participants.find((p) => p.id === this.holder);
    if (!self || self.publicKey !== this.keys.publicKey)
      throw new HolderRefusal(
        `the round does not list this holder ("${this.holder}") with the key it joined with`,
        'NOT_A_PARTICIPANT',
      );
    const slot = `${request.stage}|${request.round}|${request.attempt}`;
    if (this.used.has(slot))
      throw new HolderRefusal(
        `${request.stage} round ${request.round} attempt ${request.attempt} was already answered; a mask is never used twice`,
        'MASK_REUSED',
      );
    const plain = this.compute(request);
    this.used.add(slot);
    const masked = maskWords(
      encodeFixed(plain),
      { id: this.holder, privateKey: this.keys.privateKey },
      participants,
      {
        session: this.session,
        stage: request.stage,
        round: request.round,
        attempt: request.attempt,
      },
    );
    return { length: masked.length, masked: wordsToBase64(masked) };
  }

  private checkColumns(columns: readonly string[]): void {
    const allowed = new Set(this.spec.features);
    const outside = columns.filter((c) => !allowed.has(c));
    if (outside.length)
      throw new HolderRefusal(
        `the request names columns outside the session's features: ${outside.slice(0, 5).join(', ')}`,
        'INVALID_MODEL',
      );
  }

  private checkModel(encoders: ColumnEncoder[], theta: number[], maxWidth: number): void {
    this.checkColumns(encoders.map((e) => e.column));
    const p = encodedWidth(encoders);
    if (p > maxWidth)
      throw new HolderRefusal(
        `the model has ${p} encoded features; at most ${maxWidth} here`,
        'INVALID_MODEL',
      );
    if (theta.length !== p + 1)
      throw new HolderRefusal(
        `theta has ${theta.length} values for ${p} features and an intercept`,
        'INVALID_MODEL',
      );
  }

  private compute(request: UpdateRequest): Float64Array {
    // The wire schema admits numeric and categorical encoders only (an absent transform reads as none).
    const encoders = 'encoders' in request ? (request.encoders as ColumnEncoder[]) : [];
    try {
      switch (request.stage) {
        case 'stats':
          this.checkColumns(request.layout.map((c) => c.column));
          return localStats(this.rows, this.y, request.layout);
        case 'newton':
          this.checkModel(encoders, request.theta, federatedLimits.newtonWidth);
          return localNewton(this.rows, this.y, encoders, request.theta);
        case 'gradient':
          this.checkModel(encoders, request.theta, federatedLimits.width);
          return localClippedGradient(
            this.rows,
            this.y,
            encoders,
            request.theta,
            request.dp,
            request.participants.length,
          );
        case 'evaluate':
          this.checkModel(encoders, request.theta, federatedLimits.width);
          return localHistogram(
            this.rows,
            this.y,
            encoders,
            request.theta,
            request.bins,
            request.noiseStd === undefined
              ? undefined
              : { noiseStd: request.noiseStd, participants: request.participants.length },
          );
      }
    } catch (err) {
      if (err instanceof HolderRefusal) throw err;
      const code = (err as { code?: unknown }).code;
      throw new HolderRefusal(
        (err as Error).message,
        code === 'NON_NUMERIC_VALUE' ? 'NON_NUMERIC_VALUE' : 'INVALID_MODEL',
      );
    }
  }
}

/**
 * Joins a session over the holder's rows: checks the spec against them, reads each feature's type and the
 * categories present (the levels only, never their counts), and makes the session's key.
 */
export function joinSession(
  rows: readonly Row[],
  request: JoinRequest,
  options: HolderOptions,
): { session: HolderSession; response: JoinResponse } {
  const { spec } = request;
  if (spec.features.includes(spec.target))
    throw new HolderRefusal('the target cannot also be a feature', 'INVALID_TRAINING_SPEC');
  if (!rows.length) throw new HolderRefusal('this holder has no rows', 'INVALID_TRAINING_SPEC');
  const present = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) present.add(k);
  const missing = [spec.target, ...spec.features].filter((c) => !present.has(c));
  if (missing.length)
    throw new HolderRefusal(
      `this holder has no column ${missing.map((c) => `"${c}"`).join(', ')}`,
      'COLUMN_NOT_FOUND',
    );
  let types: Map<string, 'numeric' | 'categorical'>;
  try {
    types = inferColumnTypes(rows, spec.features, { numeric: spec.numeric, categorical: spec.categorical });
  } catch (err) {
    throw new HolderRefusal((err as Error).message, 'NON_NUMERIC_VALUE');
  }
  const columns: JoinResponse['columns'] = {};
  for (const c of spec.features) {
    if (types.get(c) === 'numeric') {
      columns[c] = { type: 'numeric' };
      continue;
    }
    const levels = new Set<string>();
    rows.forEach((row, i) => levels.add(categoryOf(row[c], c, i)));
    if (levels.size > federatedLimits.levels)
      throw new HolderRefusal(
        `"${c}" has more than ${federatedLimits.levels} categories`,
        'INVALID_TRAINING_SPEC',
      );
    columns[c] = { type: 'categorical', levels: [...levels].sort() };
  }
  const session = new HolderSession(request.session, request.holder, spec, rows, newAgreementKeys(), options);
  return { session, response: { publicKey: session.publicKey, columns } };
}
