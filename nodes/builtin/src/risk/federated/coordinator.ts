/**
 * The coordinator of federated training: it never holds a row. It agrees the encoding with the holders
 * (feature types and categories, then the statistics as one securely aggregated sum), then trains the scorecard's
 * logistic model by rounds: with Newton's method on the aggregated gradient and Hessian (the same optimum as
 * training on the pooled rows), or, with differential privacy, by gradient descent on clipped, noised gradient
 * sums. Each stage is one securely aggregated sum; a holder that does not answer (network error, timeout, 5xx)
 * is named in the report, and the stage is redone without it under fresh masks, or the training fails when too
 * few holders are left. A holder that refuses (4xx) stops the training with its reason. Every message the
 * coordinator sends and receives can be recorded (`record`), so what it saw can be inspected.
 */
import { randomUUID } from 'node:crypto';
import {
  joinResponseSchema,
  updateResponseSchema,
  type JoinRequest,
  type JoinResponse,
  type StatsLayout,
  type TrainingSpec,
  type UpdateRequest,
  type UpdateResponse,
} from '@finflow/contract';
import { NodeError } from '@finflow/sdk';
import {
  featureMeans,
  featureNames,
  MISSING_LEVEL,
  type CategoricalEncoder,
  type NumericEncoder,
} from '../ml/encoding.js';
import { choleskySolve } from '../ml/linalg.js';
import { linearBaseValue } from '../ml/linear-explain.js';
import { logit } from '../ml/logistic.js';
import { bayesThreshold, type CostMatrix } from '../ml/metrics.js';
import { SCORECARD_FORMAT_VERSION, SCORECARD_KIND, type ScorecardModel } from '../ml/scorecard.js';
import { ACCOUNTING_METHOD, planPrivacy, spentEpsilon, type PrivacyPlan } from './privacy.js';
import { addWords, base64ToWords, decodeFixed, type Participant, type Words } from './secure-sum.js';

/** A holder as the coordinator reaches it (over HTTP in a flow, in process in tests). */
export interface HolderClient {
  readonly id: string;
  join(request: JoinRequest, signal: AbortSignal): Promise<unknown>;
  update(session: string, request: UpdateRequest, signal: AbortSignal): Promise<unknown>;
  leave(session: string, signal: AbortSignal): Promise<void>;
}

/** A holder that did not answer: it drops out of the session (the stage is redone without it). */
export class HolderUnavailable extends Error {
  override readonly name = 'HolderUnavailable';
}

/** One message as the coordinator recorded it. */
export type TranscriptEntry =
  | { direction: 'sent'; holder: string; kind: 'join'; body: JoinRequest }
  | { direction: 'received'; holder: string; kind: 'join'; body: JoinResponse }
  | { direction: 'sent'; holder: string; kind: 'update'; body: UpdateRequest }
  | {
      direction: 'received';
      holder: string;
      kind: 'update';
      stage: string;
      round: number;
      attempt: number;
      body: UpdateResponse;
    }
  | {
      direction: 'aggregate';
      stage: string;
      round: number;
      attempt: number;
      holders: string[];
      total: number[];
    };

export interface Dropout {
  holder: string;
  stage: string;
  round: number;
  attempt: number;
  reason: string;
}

export interface DpOptions {
  epsilon: number;
  delta: number;
  clipNorm: number;
  rounds: number;
  learningRate: number;
}

export interface FederatedOptions {
  spec: TrainingSpec;
  l2: number;
  /** Newton: the most rounds; stops earlier when every gradient component is below `tolerance`. */
  maxRounds: number;
  tolerance: number;
  /** The fewest holders a stage may run with; below it the training fails. At least 2. */
  minHolders: number;
  /** Attempts per stage (each dropout costs one). */
  maxAttempts: number;
  holderTimeoutMs: number;
  costMatrix: CostMatrix;
  dp?: DpOptions | undefined;
  /** Equal-width probability bins of the federated evaluation (0: not evaluated). */
  evaluationBins: number;
  session?: string | undefined;
  signal?: AbortSignal | undefined;
  record?: ((entry: TranscriptEntry) => void) | undefined;
  trainedAt?: string | undefined;
}

export interface FederatedReport {
  session: string;
  method: 'newton' | 'dp-gradient-descent';
  holders: string[];
  /** Holders that took part in the last round. */
  finalHolders: string[];
  dropouts: Dropout[];
  rows: number;
  positives: number;
  rounds: number;
  converged: boolean;
  gradientNorm?: number;
  /** AUC on all holders' rows, from the aggregated histogram of predicted probabilities. */
  auc?: number;
  privacy?: {
    epsilon: number;
    delta: number;
    rho: number;
    targetEpsilon: number;
    mechanism: string;
    accounting: string;
    clipNorm: number;
    noiseMultiplier: number;
    evaluationNoiseMultiplier?: number;
    notCovered: string;
  };
  notes: string[];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** AUC from per-class histograms of predicted probabilities (pairs within a bin count as ties). */
export function histogramAuc(bads: readonly number[], goods: readonly number[]): number {
  let goodsBelow = 0;
  let pairs = 0;
  let totalBad = 0;
  let totalGood = 0;
  for (let b = 0; b < bads.length; b++) {
    const nb = Math.max(0, bads[b] as number);
    const ng = Math.max(0, goods[b] as number);
    pairs += nb * (goodsBelow + ng / 2);
    goodsBelow += ng;
    totalBad += nb;
    totalGood += ng;
  }
  return totalBad > 0 && totalGood > 0 ? pairs / (totalBad * totalGood) : NaN;
}

class Coordinator {
  readonly session: string;
  private active: { client: HolderClient; publicKey: string }[] = [];
  readonly dropouts: Dropout[] = [];
  private readonly signal: AbortSignal;

  constructor(
    private readonly holders: readonly HolderClient[],
    private readonly options: FederatedOptions,
  ) {
    this.session = options.session ?? randomUUID();
    this.signal = options.signal ?? new AbortController().signal;
  }

  private record(entry: TranscriptEntry): void {
    this.options.record?.(entry);
  }

  private async call<T>(holder: HolderClient, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(this.options.holderTimeoutMs)]);
    try {
      return await run(signal);
    } catch (err) {
      if (this.signal.aborted) throw this.signal.reason;
      if (signal.aborted) throw new HolderUnavailable(`no answer within ${this.options.holderTimeoutMs} ms`);
      throw err;
    }
  }

  private checkEnough(stage: string): void {
    if (this.active.length < Math.max(2, this.options.minHolders))
      throw new NodeError(
        `federated training stopped at the ${stage} stage: ${this.active.length} holder(s) left, at least ${Math.max(2, this.options.minHolders)} needed (dropped: ${this.dropouts.map((d) => `${d.holder} (${d.reason})`).join('; ')})`,
        'FEDERATED_TOO_FEW_HOLDERS',
        { details: { dropouts: this.dropouts } },
      );
  }

  private refused(holder: string, err: unknown): NodeError {
    // The egress policy's refusal and the like keep their own code: they are about this server, not the holder.
    if (err instanceof NodeError) return err;
    return new NodeError(`holder "${holder}" refused: ${describe(err)}`, 'FEDERATED_HOLDER_REFUSED', {
      details: { holder },
    });
  }

  async join(): Promise<Map<string, JoinResponse>> {
    const answers = new Map<string, JoinResponse>();
    const results = await Promise.allSettled(
      this.holders.map(async (client) => {
        const body: JoinRequest = { session: this.session, holder: client.id, spec: this.options.spec };
        this.record({ direction: 'sent', holder: client.id, kind: 'join', body });
        const raw = await this.call(client, (s) => client.join(body, s));
        const parsed = joinResponseSchema.safeParse(raw);
        if (!parsed.success) throw new Error(`an invalid join answer: ${parsed.error.issues[0]?.message}`);
        this.record({ direction: 'received', holder: client.id, kind: 'join', body: parsed.data });
        return parsed.data;
      }),
    );
    results.forEach((r, i) => {
      const client = this.holders[i] as HolderClient;
      if (r.status === 'fulfilled') {
        answers.set(client.id, r.value);
        this.active.push({ client, publicKey: r.value.publicKey });
      } else if (r.reason instanceof HolderUnavailable)
        this.dropouts.push({
          holder: client.id,
          stage: 'join',
          round: 0,
          attempt: 1,
          reason: r.reason.message,
        });
      else throw this.refused(client.id, r.reason);
    });
    this.checkEnough('join');
    return answers;
  }

  get activeIds(): string[] {
    return this.active.map((a) => a.client.id);
  }

  /**
   * One securely aggregated sum. The request is built per attempt with the participants of that attempt; a
   * holder that does not answer is dropped and the stage redone, under fresh masks, with the others.
   */
  async aggregate(
    stage: UpdateRequest['stage'],
    round: number,
    build: (participants: Participant[], attempt: number) => UpdateRequest,
  ): Promise<number[]> {
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      this.checkEnough(stage);
      const participants = this.active.map((a) => ({ id: a.client.id, publicKey: a.publicKey }));
      const request = build(participants, attempt);
      const results = await Promise.allSettled(
        this.active.map(async ({ client }) => {
          this.record({ direction: 'sent', holder: client.id, kind: 'update', body: request });
          const raw = await this.call(client, (s) => client.update(this.session, request, s));
          const parsed = updateResponseSchema.safeParse(raw);
          if (!parsed.success)
            throw new Error(`an invalid update answer: ${parsed.error.issues[0]?.message}`);
          this.record({
            direction: 'received',
            holder: client.id,
            kind: 'update',
            stage,
            round,
            attempt,
            body: parsed.data,
          });
          return base64ToWords(parsed.data.masked, parsed.data.length);
        }),
      );
      const dropped: string[] = [];
      let total: Words | undefined;
      results.forEach((r, i) => {
        const id = (this.active[i] as { client: HolderClient }).client.id;
        if (r.status === 'rejected') {
          if (!(r.reason instanceof HolderUnavailable)) throw this.refused(id, r.reason);
          dropped.push(id);
          this.dropouts.push({ holder: id, stage, round, attempt, reason: r.reason.message });
          return;
        }
        if (!total) total = [...r.value];
        else addWords(total, r.value);
      });
      if (this.signal.aborted) throw this.signal.reason;
      if (dropped.length) {
        // The others' masked vectors are useless without the dropped holder's masks: nothing was learnt.
        this.active = this.active.filter((a) => !dropped.includes(a.client.id));
        continue;
      }
      const values = decodeFixed(total as Words);
      this.record({ direction: 'aggregate', stage, round, attempt, holders: this.activeIds, total: values });
      return values;
    }
    throw new NodeError(
      `federated training gave up on the ${stage} stage of round ${round} after ${this.options.maxAttempts} attempts`,
      'FEDERATED_TOO_MANY_ATTEMPTS',
      { details: { dropouts: this.dropouts } },
    );
  }

  async leave(): Promise<void> {
    await Promise.allSettled(
      this.holders.map((client) => this.call(client, (s) => client.leave(this.session, s))),
    );
  }
}

const levelOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The statistics layout from the holders' join answers: one type per feature, the union of categories. */
function layoutFrom(spec: TrainingSpec, answers: ReadonlyMap<string, JoinResponse>): StatsLayout {
  return spec.features.map((column) => {
    const infos = [...answers.values()].map((a) => a.columns[column]);
    if (infos.some((i) => i === undefined))
      throw new NodeError(`a holder did not describe the column "${column}"`, 'FEDERATED_HOLDER_REFUSED');
    const categorical = infos.filter((i) => i?.type === 'categorical');
    if (categorical.length && categorical.length < infos.length)
      throw new NodeError(
        `the holders disagree on the type of "${column}" (numbers at some, categories at others): list it under categorical or numeric columns`,
        'FEDERATED_INCONSISTENT_COLUMNS',
      );
    if (!categorical.length) return { column, type: 'numeric' as const };
    const levels = new Set<string>();
    for (const i of categorical) if (i?.type === 'categorical') for (const l of i.levels) levels.add(l);
    return { column, type: 'categorical' as const, levels: [...levels].sort(levelOrder) };
  });
}

/** Encoders from the aggregated statistics, as `fitEncoders` would fit them on the pooled rows. */
function encodersFrom(
  layout: StatsLayout,
  stats: readonly number[],
): { encoders: (NumericEncoder | CategoricalEncoder)[]; rows: number; positives: number } {
  const rows = Math.round(stats[0] as number);
  const positives = Math.round(stats[1] as number);
  let j = 2;
  const encoders = layout.map((c): NumericEncoder | CategoricalEncoder => {
    if (c.type === 'numeric') {
      const count = Math.round(stats[j] as number);
      const sum = stats[j + 1] as number;
      const sumsq = stats[j + 2] as number;
      j += 3;
      const mean = count ? sum / count : 0;
      const std = count ? Math.sqrt(Math.max(0, sumsq / count - mean * mean)) : 0;
      const e: NumericEncoder = {
        column: c.column,
        type: 'numeric',
        mean,
        std: std > 1e-12 ? std : 1,
        rawMean: mean,
        missing: rows - count,
      };
      return e;
    }
    const counts = c.levels.map((_, k) => Math.round(stats[j + k] as number));
    j += c.levels.length;
    const kept = c.levels
      .map((level, k) => ({ level, count: counts[k] as number }))
      .filter((l) => l.count > 0);
    const e: CategoricalEncoder = {
      column: c.column,
      type: 'categorical',
      levels: kept.map((l) => l.level),
      frequencies: kept.map((l) => l.count / rows),
    };
    return e;
  });
  return { encoders, rows, positives };
}

/**
 * Trains the scorecard across the holders. Returns the scorecard artefact (readable by risk.scorecard's score
 * mode) and the report: rounds, convergence, dropouts, the federated AUC and, with DP, the privacy spent.
 */
export async function trainFederated(
  holders: readonly HolderClient[],
  options: FederatedOptions,
): Promise<{ model: ScorecardModel; report: FederatedReport }> {
  if (new Set(holders.map((h) => h.id)).size !== holders.length)
    throw new NodeError('two holders have the same id', 'INVALID_CONFIG');
  const c = new Coordinator(holders, options);
  try {
    return await train(c, holders, options);
  } finally {
    await c.leave();
  }
}

async function train(
  c: Coordinator,
  holders: readonly HolderClient[],
  options: FederatedOptions,
): Promise<{ model: ScorecardModel; report: FederatedReport }> {
  const answers = await c.join();
  const layout = layoutFrom(options.spec, answers);
  const stats = await c.aggregate('stats', 0, (participants, attempt) => ({
    stage: 'stats',
    round: 0,
    attempt,
    participants,
    layout,
  }));
  const { encoders, rows, positives } = encodersFrom(layout, stats);
  const notes: string[] = [];
  for (const e of encoders) {
    if (e.type === 'numeric' && e.missing)
      notes.push(`${e.column}: ${e.missing} missing values were replaced by the mean`);
    if (e.type === 'categorical' && e.levels.includes(MISSING_LEVEL))
      notes.push(`${e.column}: missing values are treated as their own category`);
  }
  if (positives === 0 || positives === rows)
    throw new NodeError(
      `the target "${options.spec.target}" needs both outcomes across the holders`,
      'SINGLE_CLASS_TARGET',
    );
  const m = featureNames(encoders).length + 1;
  let theta = new Array<number>(m).fill(0);
  theta[0] = logit(positives / rows);
  const modelFields = () => ({ encoders, theta: [...theta] });
  let rounds = 0;
  let converged = false;
  let gradientNorm: number | undefined;
  let plan: PrivacyPlan | undefined;

  if (!options.dp) {
    let fPrev = Infinity;
    let thetaPrev = theta;
    let step: Float64Array | undefined;
    let t = 1;
    for (let round = 1; round <= options.maxRounds; round++) {
      rounds = round;
      const total = await c.aggregate('newton', round, (participants, attempt) => ({
        stage: 'newton',
        round,
        attempt,
        participants,
        ...modelFields(),
      }));
      const grad = Float64Array.from(total.slice(0, m));
      const hess = new Float64Array(m * m);
      for (let a = 0, k = m; a < m; a++)
        for (let b = 0; b <= a; b++, k++) {
          hess[a * m + b] = total[k] as number;
          hess[b * m + a] = total[k] as number;
        }
      let f = total[total.length - 1] as number;
      for (let j = 1; j < m; j++) f += 0.5 * options.l2 * (theta[j] as number) ** 2;
      // Damping across rounds: a step that raised the objective is halved from where it started.
      if (step && f > fPrev + 1e-9 * (1 + Math.abs(fPrev)) && t > 1e-6) {
        t /= 2;
        const s = step;
        theta = thetaPrev.map((v, j) => v - t * (s[j] as number));
        continue;
      }
      for (let j = 1; j < m; j++) {
        grad[j] = (grad[j] as number) + options.l2 * (theta[j] as number);
        hess[j * m + j] = (hess[j * m + j] as number) + options.l2;
      }
      gradientNorm = Math.max(...grad.map(Math.abs));
      if (gradientNorm <= options.tolerance) {
        converged = true;
        break;
      }
      const next = choleskySolve(hess, grad, m);
      if (!next)
        throw new NodeError(
          'the aggregated Hessian is singular (collinear features and no L2 penalty): set l2 above 0',
          'FIT_FAILED',
        );
      step = next;
      thetaPrev = theta;
      fPrev = f;
      t = 1;
      theta = theta.map((v, j) => v - (next[j] as number));
    }
    if (!converged)
      notes.push(`stopped after ${rounds} rounds before the gradient fell below ${options.tolerance}`);
  } else {
    const dp = options.dp;
    plan = planPrivacy(dp.epsilon, dp.delta, dp.rounds, options.evaluationBins > 0 ? 0.1 : undefined);
    const noiseStd = plan.trainingMultiplier * dp.clipNorm;
    for (let round = 1; round <= dp.rounds; round++) {
      rounds = round;
      const total = await c.aggregate('gradient', round, (participants, attempt) => ({
        stage: 'gradient',
        round,
        attempt,
        participants,
        ...modelFields(),
        dp: { clipNorm: dp.clipNorm, noiseStd },
      }));
      theta = theta.map(
        (v, j) => v - dp.learningRate * (((total[j] as number) + (j ? options.l2 * v : 0)) / rows),
      );
    }
  }

  let auc: number | undefined;
  if (options.evaluationBins > 0) {
    const bins = options.evaluationBins;
    const noise = plan?.evaluationMultiplier;
    const hist = await c.aggregate('evaluate', rounds + 1, (participants, attempt) => ({
      stage: 'evaluate',
      round: rounds + 1,
      attempt,
      participants,
      ...modelFields(),
      bins,
      ...(noise === undefined ? {} : { noiseStd: noise }),
    }));
    auc = histogramAuc(hist.slice(0, bins), hist.slice(bins));
  }

  const coefficients = theta.slice(1);
  const means = featureMeans(encoders);
  const report: FederatedReport = {
    session: c.session,
    method: options.dp ? 'dp-gradient-descent' : 'newton',
    holders: holders.map((h) => h.id),
    finalHolders: c.activeIds,
    dropouts: c.dropouts,
    rows,
    positives,
    rounds,
    converged: options.dp ? true : converged,
    ...(gradientNorm === undefined ? {} : { gradientNorm }),
    ...(auc === undefined || Number.isNaN(auc) ? {} : { auc }),
    notes,
  };
  if (c.dropouts.length)
    notes.push(
      `${[...new Set(c.dropouts.map((d) => d.holder))].join(', ')} dropped out; the stages from then on used ${c.activeIds.join(', ')} only`,
    );
  if (options.dp && plan) {
    const spent = spentEpsilon(plan, rounds, auc !== undefined);
    report.privacy = {
      epsilon: spent.epsilon,
      delta: plan.delta,
      rho: spent.rho,
      targetEpsilon: plan.epsilon,
      mechanism:
        'Gaussian noise on the sum of per-row gradients clipped to L2 norm clipNorm, added in shares by the holders',
      accounting: ACCOUNTING_METHOD,
      clipNorm: options.dp.clipNorm,
      noiseMultiplier: plan.trainingMultiplier,
      ...(plan.evaluationMultiplier === undefined
        ? {}
        : { evaluationNoiseMultiplier: plan.evaluationMultiplier }),
      notCovered:
        'the encoding statistics (row and bad counts, category shares, means and standard deviations of numeric columns over all holders together) are exact sums released before training and are not covered by epsilon',
    };
  }
  const model: ScorecardModel = {
    kind: SCORECARD_KIND,
    formatVersion: SCORECARD_FORMAT_VERSION,
    target: options.spec.target,
    positiveClass: options.spec.positiveClass,
    encoders,
    featureNames: featureNames(encoders),
    coefficients,
    intercept: theta[0] as number,
    featureMeans: means,
    baseValue: linearBaseValue(theta[0] as number, coefficients, means),
    threshold: bayesThreshold(options.costMatrix),
    thresholdSource: 'costMatrix',
    costMatrix: { ...options.costMatrix },
    l2: options.l2,
    labels: {},
    training: {
      rows,
      positives,
      ...(options.trainedAt ? { trainedAt: options.trainedAt } : {}),
      iterations: rounds,
      converged: report.converged,
      auc: auc ?? NaN,
      notes: [...notes, `trained by federated ${report.method} across ${report.holders.join(', ')}`],
    },
  };
  return { model, report };
}
