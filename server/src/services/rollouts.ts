/**
 * Phased rollout of an endpoint (试点 → 扩展 → 优化): a challenger version goes from shadow or a pilot through
 * expansion steps to optimisation, where it is champion at 100 %. This service owns the choice of version for
 * every endpoint call (`route`), records what each call and each shadow run shows (`observe`), judges the stage's
 * gates over a sliding window, rolls back by itself when a rollback gate breaks, and makes every transition
 * (start, advance, pause, resume, rollback, kill) one serialised, audited step that survives restarts.
 *
 * Maker-checker: advancing needs the approver role (or admin), from someone who neither wrote the challenger
 * version nor started the rollout.
 */
import type { RolloutBoardRow, RolloutPlan, StartRollout } from '@finflow/contract';
import { z } from 'zod';
import type { RunFinishedEvent } from '@finflow/runtime';
import { challengerHolds, type EvaluationReport } from '@finflow/runtime/evaluation';
import { canonicalJson } from '../hash.js';
import type { Logger } from '../logger.js';
import type { RolloutStorage } from '../repo/rollout-store.js';
import {
  type RolloutRecord,
  type RolloutStatus,
  type StoredObservation,
  type TransitionRecord,
} from '../repo/rollout-store.js';
import type {
  ApiKeyRecord,
  AuditActor,
  ReviewTaskRecord,
  WriteBatch,
  DeploymentRecord,
  EndpointRecord,
  FeedbackSource,
  Repository,
  Role,
} from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuditService } from './audit.js';
import type { PreparedVersion } from './flows.js';
import {
  holdForReview,
  holdSettingsOf,
  holdTag,
  postReleaseTask,
  type HoldSettings,
} from './rollout-review.js';
import { CpuLedger, type CpuTicket } from './cpu-ledger.js';
import { ConflictError, DomainError, ForbiddenError, InvalidError, NotFoundError } from './errors.js';
import { pickTarget, primaryVersion, type EndpointService, type ResolvedEndpoint } from './endpoints.js';
import type { FlowService } from './flows.js';
import {
  evaluateGates,
  series,
  type Agreements,
  type GateResult,
  type Observation,
} from './rollout-gates.js';
import { armOf, valueAt, type Arm, type Stage } from './rollout-split.js';
import type { RunService } from './runs.js';

// The request shapes (plan, start, transition) are the contract's (contract/src/rollouts.ts).
export type { RolloutPlan, StartRollout } from '@finflow/contract';

export type Rollout = RolloutRecord<RolloutPlan>;

/** Who asks for a transition: a signed-in user in a workspace, or the server itself (automatic rollback). */
export interface Operator {
  workspaceId: string;
  actor: AuditActor;
  role: Role | 'system';
}

/** The version a call runs, and what the rollout must learn from it. */
export interface Route {
  version: number;
  rollout?: {
    id: string;
    arm: Arm;
    /** The challenger also answers a copy after the champion (never returned). */
    shadowVersion?: number;
    startedAt: number;
    /** The call's share of the process's CPU, ended when it is observed. */
    cpu?: CpuTicket;
    /** Review before release: the challenger's held copy runs, and its answer waits for a reviewer. */
    hold?: HoldSettings;
  };
}

export interface RolloutOptions {
  /** How often the gates of live rollouts are judged (automatic rollback acts within this). */
  evaluateMs?: number;
  /** Shadow runs in flight at most; calls beyond it are not shadowed (counted in `shadowsDropped`). */
  maxShadows?: number;
  /** Observations kept in memory per rollout. */
  windowLimit?: number;
  /**
   * How often live rollouts are read again from the store, so a transition made by another server (start,
   * advance, pause, rollback, kill) routes here within this many ms. Routing itself never waits for the store.
   */
  syncMs?: number;
  /**
   * Several processes feed the gates (servers on one Postgres database, queue-mode workers): each sync also reads
   * the gates' window back from the store, so every server judges all calls, not only its own.
   */
  shared?: boolean;
}

const liveStatuses: readonly RolloutStatus[] = ['active', 'paused'];
const FLUSH_MS = 250;

/** The next stage and share of an advance, or undefined at optimisation. */
function nextStep(r: Rollout): { stage: Stage; step: number; share: number } | undefined {
  switch (r.stage) {
    case 'shadow':
      return { stage: 'pilot', step: 0, share: r.plan.pilotShare };
    case 'pilot':
      return { stage: 'expansion', step: 0, share: r.plan.steps[0] as number };
    case 'expansion': {
      const step = r.step + 1;
      if (step < r.plan.steps.length && (r.plan.steps[step] as number) < 100)
        return { stage: 'expansion', step, share: r.plan.steps[step] as number };
      return { stage: 'optimisation', step: 0, share: 100 };
    }
    case 'optimisation':
      return undefined;
  }
}

export class RolloutService {
  private readonly live = new Map<string, Rollout>();
  private readonly windows = new Map<string, Observation[]>();
  /** Shared mode: the store row each window has been read up to. */
  private readonly cursors = new Map<string, number>();
  private pending: StoredObservation[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Rollouts this process ended: a store read begun before the end cannot bring them back. */
  private readonly ended = new Set<string>();
  /**
   * Endpoints whose rollout this process just ended, to the version they go back to: until the deployment record
   * follows (an await away), the endpoint's resolved deployment still has the challenger's weights, and a call in
   * that gap must already go to the champion.
   */
  private readonly pinned = new Map<string, number>();
  private readonly alerted = new Map<string, Set<string>>();
  private readonly evaluating = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private shadows = 0;
  shadowsDropped = 0;
  private readonly evaluateMs: number;
  private readonly maxShadows: number;
  private readonly windowLimit: number;
  private readonly syncMs: number;
  private readonly shared: boolean;
  private syncing: Promise<void> | undefined;
  /** Store reads of live rollouts made by `sync` (tests and the bench look at it). */
  syncs = 0;
  readonly cpu = new CpuLedger();

  private driftSource: DriftSource | undefined;

  constructor(
    private readonly store: RolloutStorage,
    private readonly repo: Repository,
    private readonly flows: FlowService,
    private readonly endpoints: EndpointService,
    private readonly runs: RunService,
    private readonly audit: AuditService,
    private readonly logger: Logger,
    options: RolloutOptions = {},
  ) {
    this.evaluateMs = options.evaluateMs ?? 1_000;
    this.maxShadows = options.maxShadows ?? 8;
    this.windowLimit = options.windowLimit ?? 5_000;
    this.syncMs = options.syncMs ?? 500;
    this.shared = options.shared ?? false;
  }

  /** Loads live rollouts and their recent observations (a restart continues where it stopped). */
  async start(): Promise<void> {
    const now = Date.now();
    for (const r of await this.store.live<RolloutPlan>()) {
      this.live.set(r.endpointId, r);
      if (this.shared) {
        this.windows.set(r.id, []);
        await this.pull(r, now);
      } else
        this.windows.set(
          r.id,
          await this.store.observations(r.id, this.windowStart(r, now), this.windowLimit),
        );
    }
    const flush = setInterval(() => void this.flush(), FLUSH_MS);
    const judge = setInterval(() => void this.evaluateAll(), this.evaluateMs);
    const sync = setInterval(() => void this.sync(), this.syncMs);
    flush.unref();
    judge.unref();
    sync.unref();
    this.timers = [flush, judge, sync];
  }

  /**
   * Reads the live rollouts from the store and replaces what this process routes by when another process moved
   * them (a higher revision), started one, or ended one; with `shared`, the gates' windows are read back too.
   */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        this.syncs++;
        const stored = await this.store.live<RolloutPlan>();
        const now = Date.now();
        const seen = new Set<string>();
        for (const r of stored) {
          seen.add(r.endpointId);
          if (this.ended.has(r.id)) continue;
          const mine = this.live.get(r.endpointId);
          if (mine && mine.id === r.id && mine.revision >= r.revision) continue;
          // Started, or moved, elsewhere: a new stage starts a new window, as it does here.
          if (!mine || mine.id !== r.id || mine.stageEnteredAt !== r.stageEnteredAt) {
            if (mine && mine.id !== r.id) this.forget(mine.id);
            this.cursors.delete(r.id);
            this.windows.set(
              r.id,
              this.shared
                ? []
                : await this.store.observations(r.id, this.windowStart(r, now), this.windowLimit),
            );
          }
          this.live.set(r.endpointId, r);
        }
        for (const [endpointId, r] of [...this.live]) {
          if (seen.has(endpointId)) continue;
          // Ended elsewhere (rolled back, killed, superseded): unless it was created here after the read began.
          const fresh = await this.store.get<RolloutPlan>(r.id);
          if (fresh && !liveStatuses.includes(fresh.status) && this.live.get(endpointId)?.id === r.id) {
            this.live.delete(endpointId);
            this.forget(r.id);
          }
        }
        if (this.shared) {
          await this.flush();
          for (const r of [...this.live.values()]) await this.pull(r, now);
        }
        this.cpu.sweep();
      } catch (err) {
        this.logger.warn({ err }, 'reading live rollouts from the store failed; routing by what is known');
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private forget(rolloutId: string): void {
    this.windows.delete(rolloutId);
    this.cursors.delete(rolloutId);
    this.alerted.delete(rolloutId);
  }

  /**
   * Shared mode: appends what every process stored for the rollout since the last read (own observations come
   * back this way too, once flushed), so the window is the store's, read incrementally.
   */
  private async pull(r: Rollout, now = Date.now()): Promise<void> {
    const { rows, cursor } = await this.store.observationsAfter(
      r.id,
      this.cursors.get(r.id) ?? 0,
      this.windowStart(r, now),
      this.windowLimit,
    );
    this.cursors.set(r.id, cursor);
    if (!rows.length) return;
    let w = this.windows.get(r.id);
    if (!w) this.windows.set(r.id, (w = []));
    w.push(...rows);
    if (w.length > this.windowLimit) w.splice(0, w.length - this.windowLimit);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flush();
  }

  private windowStart(r: Rollout, now: number): number {
    return Math.max(r.stageEnteredAt, now - r.plan.windowMs);
  }

  // Routing

  /** The version a call runs: the rollout's split when one is live, else the deployment's weighted targets. */
  route(resolved: ResolvedEndpoint, key: ApiKeyRecord, input: unknown): Route {
    const r = this.live.get(resolved.endpoint.id);
    if (!r) {
      const pinned = this.pinned.get(resolved.endpoint.id);
      return { version: pinned ?? pickTarget(resolved.deployment.targets) };
    }
    const startedAt = Date.now();
    const cpu = this.cpu.begin(startedAt);
    const arm = armOf(
      {
        rolloutId: r.id,
        stage: r.stage,
        share: r.share,
        subjectPath: r.plan.subjectPath,
        cohort: r.plan.cohort,
      },
      input,
      key.id,
    );
    const shadow =
      arm === 'champion' &&
      r.status === 'active' &&
      r.stage !== 'optimisation' &&
      r.plan.shadowSample > 0 &&
      (r.plan.shadowSample >= 1 || Math.random() < r.plan.shadowSample);
    return {
      version: arm === 'champion' ? r.championVersion : r.challengerVersion,
      rollout: {
        id: r.id,
        arm,
        startedAt,
        cpu,
        ...(shadow ? { shadowVersion: r.challengerVersion } : {}),
        ...(arm === 'challenger' &&
        r.stage === 'pilot' &&
        r.plan.review?.beforeRelease &&
        r.plan.predictionPath !== undefined
          ? { hold: holdSettingsOf(r.plan.review, r.plan.predictionPath) }
          : {}),
      },
    };
  }

  /** The plan a routed call runs: the version's own, or its held copy when the answer waits for a review. */
  planFor(resolved: ResolvedEndpoint, route: Route): Promise<PreparedVersion> {
    const hold = route.rollout?.hold;
    if (!hold) return this.endpoints.plan(resolved, route.version);
    const { workspaceId, flowId } = resolved.endpoint;
    return this.flows.preparedDerived(workspaceId, flowId, route.version, holdTag(hold), (doc) =>
      holdForReview(doc, hold),
    );
  }

  /**
   * A held call now waits for its reviewer: observed now (its latency is the time to the review, its decision
   * the challenger's, from the task); the reviewer's verdict reaches the gates as review feedback.
   */
  observeWaiting(route: Route, endpoint: EndpointRecord, tasks: readonly ReviewTaskRecord[]): void {
    const ro = route.rollout;
    if (!ro) return;
    const cpuMs = ro.cpu ? this.cpu.end(ro.cpu) : undefined;
    const r = this.live.get(endpoint.id);
    if (!r || r.id !== ro.id) return;
    const held = tasks.find((t) => t.nodeId.startsWith('rollout-hold-'));
    const outcome = held
      ? (JSON.parse(held.task) as { decision?: { outcome?: unknown } | null }).decision?.outcome
      : undefined;
    this.add(r, {
      at: Date.now(),
      arm: ro.arm,
      version: route.version,
      ok: true,
      ms: Date.now() - ro.startedAt,
      decision: outcome === undefined ? null : canonicalJson(outcome),
      agree: null,
      ...(cpuMs === undefined ? {} : { cpuMs }),
    });
  }

  /**
   * Records a finished call under a rollout, and starts its shadow run when the route asked for one. Called from
   * the call's commit; the shadow starts on a later turn so it never delays the answer. With `commit` (the batch
   * that records the call), a sampled challenger answer also becomes a review task after its release.
   */
  observe(
    route: Route,
    endpoint: EndpointRecord,
    event: RunFinishedEvent,
    input: unknown,
    actor: AuditActor,
    commit?: { batch: WriteBatch; masked: RunFinishedEvent; deploymentId: string },
  ): void {
    const ro = route.rollout;
    if (!ro) return;
    const cpuMs = ro.cpu ? this.cpu.end(ro.cpu) : undefined;
    const r = this.live.get(endpoint.id);
    if (!r || r.id !== ro.id) return;
    const decision = this.decisionOf(r, event);
    this.add(r, {
      at: Date.now(),
      arm: ro.arm,
      version: route.version,
      ok: event.status === 'succeeded',
      ms: event.at - ro.startedAt,
      decision,
      agree: null,
      ...(cpuMs === undefined ? {} : { cpuMs }),
    });
    const review = r.plan.review;
    if (
      commit &&
      review &&
      ro.arm === 'challenger' &&
      !ro.hold &&
      r.stage === 'pilot' &&
      event.status === 'succeeded' &&
      review.sampleAfterRelease > 0 &&
      (review.sampleAfterRelease >= 1 || Math.random() < review.sampleAfterRelease)
    ) {
      const task = postReleaseTask(
        {
          runId: event.runId,
          workspaceId: endpoint.workspaceId,
          flowId: endpoint.flowId,
          flowVersion: route.version,
          endpointId: endpoint.id,
          deploymentId: commit.deploymentId,
          starter: `${actor.type}:${actor.id ?? ''}`,
        },
        commit.masked,
        review,
        r.plan.predictionPath,
        event.at,
      );
      commit.batch.reviewTasks.push(task);
      commit.batch.audit.push({
        workspaceId: task.workspaceId,
        at: event.at,
        actor: systemActor,
        action: 'review.requested',
        target: `review:${task.id}`,
        details: {
          runId: task.runId,
          nodeId: task.nodeId,
          queue: task.queue,
          dueAt: null,
          flowVersion: task.flowVersion,
          afterRelease: true,
          rolloutId: r.id,
        },
      });
    }
    if (ro.shadowVersion !== undefined && event.status === 'succeeded')
      setImmediate(() => void this.shadow(r, endpoint, ro.shadowVersion as number, input, actor, decision));
  }

  private add(r: Rollout, o: Observation): void {
    this.pending.push({ ...o, rolloutId: r.id });
    // Shared: the window is read back from the store, this observation with the others.
    if (this.shared) return;
    let w = this.windows.get(r.id);
    if (!w) this.windows.set(r.id, (w = []));
    w.push(o);
    if (w.length > this.windowLimit) w.splice(0, w.length - this.windowLimit);
  }

  private decisionOf(r: Rollout, event: Pick<RunFinishedEvent, 'status' | 'outputs'>): string | null {
    return decisionOf(r, event);
  }

  private async shadow(
    r: Rollout,
    endpoint: EndpointRecord,
    version: number,
    input: unknown,
    actor: AuditActor,
    championDecision: string | null,
  ): Promise<void> {
    if (this.shadows >= this.maxShadows) {
      this.shadowsDropped++;
      return;
    }
    this.shadows++;
    const t0 = Date.now();
    try {
      const plan = await this.flows.prepared(endpoint.workspaceId, endpoint.flowId, version);
      const result = await this.runs.runShadow(plan, {
        workspaceId: endpoint.workspaceId,
        input,
        actor,
        deadlineMs: endpoint.timeoutMs,
      });
      const ok = result.status === 'succeeded';
      const decision = ok ? this.decisionOf(r, { status: 'succeeded', outputs: result.outputs }) : null;
      if (this.live.get(endpoint.id)?.id !== r.id) return;
      this.add(r, {
        at: Date.now(),
        arm: 'shadow',
        version,
        ok,
        ms: Date.now() - t0,
        decision,
        agree: ok && championDecision !== null ? decision === championDecision : null,
      });
    } catch (err) {
      this.logger.warn({ err, rolloutId: r.id }, 'a shadow run could not start');
    } finally {
      this.shadows--;
    }
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    try {
      await this.store.addObservations(rows);
    } catch (err) {
      this.logger.error({ err, count: rows.length }, 'rollout observations were not stored');
    }
  }

  // Gates

  private async agreements(
    r: Rollout,
    source: FeedbackSource,
    from: number,
    now: number,
  ): Promise<Agreements> {
    const of = async (version: number) => {
      const rows = await this.repo.labelledDecisions({
        workspaceId: r.workspaceId,
        endpointId: r.endpointId,
        flowVersion: version,
        source,
        from,
        to: now,
        limit: 10_000,
      });
      const out: boolean[] = [];
      const judged =
        source === 'outcome' && r.plan.judged
          ? new Set(r.plan.judged.map((v) => canonicalJson(v)))
          : undefined;
      for (const f of rows) {
        if (f.prediction === null) continue;
        if (judged && !judged.has(canonicalJson(JSON.parse(f.prediction) as unknown))) continue;
        const label = JSON.parse(f.label) as unknown;
        let expected: unknown;
        if (source === 'review') expected = valueAt(label, 'outcome');
        else {
          const raw = r.plan.labelPath ? valueAt(label, r.plan.labelPath) : label;
          expected = r.plan.labelMap ? r.plan.labelMap[String(raw)] : raw;
        }
        if (expected === undefined) continue;
        out.push(canonicalJson(expected) === canonicalJson(JSON.parse(f.prediction) as unknown));
      }
      return out;
    };
    return { champion: await of(r.championVersion), challenger: await of(r.challengerVersion) };
  }

  /** The gates of the rollout's current stage, judged now. */
  async gates(r: Rollout, now = Date.now()): Promise<GateResult[]> {
    const from = this.windowStart(r, now);
    const observations = (this.windows.get(r.id) ?? []).filter((o) => o.at >= from);
    const needs = new Set(r.plan.gates.map((g) => g.metric));
    const none: Agreements = { champion: [], challenger: [] };
    return evaluateGates(r.plan.gates, {
      observations,
      outcome: needs.has('outcomeAgreement') ? await this.agreements(r, 'outcome', from, now) : none,
      review: needs.has('reviewAgreement') ? await this.agreements(r, 'review', from, now) : none,
      approveDecision: r.plan.approveValue === undefined ? undefined : canonicalJson(r.plan.approveValue),
      drift:
        (needs.has('scoreDrift') || needs.has('featureDrift')) && this.driftSource
          ? await this.driftSource(r, from)
          : undefined,
    });
  }

  /** Where the drift gates read the challenger's PSI (the learning service; set once at start). */
  setDriftSource(source: DriftSource): void {
    this.driftSource = source;
  }

  /** Judges every live rollout: a broken rollback gate rolls it back; in optimisation a broken gate is an alert. */
  async evaluateAll(): Promise<void> {
    await this.flush();
    for (const r of [...this.live.values()]) {
      // A paused rollout still routes to the challenger, so its rollback gates keep watching.
      if (this.evaluating.has(r.id)) continue;
      this.evaluating.add(r.id);
      try {
        await this.evaluate(r);
      } catch (err) {
        this.logger.error({ err, rolloutId: r.id }, 'judging a rollout failed');
      } finally {
        this.evaluating.delete(r.id);
      }
    }
  }

  private async evaluate(r: Rollout): Promise<void> {
    const results = await this.gates(r);
    const broken = results.filter((g) => g.status === 'breach');
    if (r.stage === 'optimisation') {
      const seen = this.alerted.get(r.id) ?? new Set<string>();
      this.alerted.set(r.id, seen);
      for (const g of broken) {
        if (seen.has(g.metric)) continue;
        seen.add(g.metric);
        await this.audit.record(r.workspaceId, systemActor, 'rollout.alert', `endpoint:${r.endpointId}`, {
          rolloutId: r.id,
          gate: gateSummary(g),
        });
      }
      for (const m of [...seen]) if (!broken.some((g) => g.metric === m)) seen.delete(m);
      return;
    }
    const rollback = broken.filter((g) => g.action === 'rollback');
    if (!rollback.length) return;
    const reason = `gate ${rollback.map((g) => `${g.metric} (${describe(g)})`).join(', ')} broke`;
    try {
      await this.end(
        { workspaceId: r.workspaceId, actor: systemActor, role: 'system' },
        r.id,
        'rolled-back',
        reason,
        {
          automatic: true,
          gates: rollback.map(gateSummary),
        },
      );
    } catch (err) {
      // Someone else ended or moved it first: nothing to roll back.
      if (!(err instanceof DomainError)) throw err;
    }
  }

  // Evaluation reports

  /**
   * The stored evaluation report that lets the challenger enter `stage`, when the plan requires one there: the
   * newest finished evaluation of the flow on the named dataset that compares the challenger with the champion
   * as baseline, in which the challenger holds (`challengerHolds` within the margin). Refused with
   * EVALUATION_REQUIRED, naming what is missing, when there is none, or EVALUATION_NOT_MET when the newest one
   * shows the challenger losing.
   */
  async evaluationEvidence(
    r: Pick<Rollout, 'workspaceId' | 'flowId' | 'championVersion' | 'challengerVersion' | 'plan'>,
    stage: Stage,
  ) {
    const need = r.plan.requireEvaluation;
    if (!need || !(need.stages as readonly string[]).includes(stage)) return undefined;
    const baseline = `v${r.championVersion}`;
    const challenger = `v${r.challengerVersion}`;
    const what = {
      stage,
      dataset: need.dataset,
      margin: need.margin,
      championVersion: r.championVersion,
      challengerVersion: r.challengerVersion,
    };
    for (const e of await this.repo.listEvaluations(r.workspaceId, r.flowId, 200)) {
      if (e.status !== 'succeeded' || e.datasetName !== need.dataset) continue;
      if (!e.versions.includes(r.championVersion) || !e.versions.includes(r.challengerVersion)) continue;
      // The list leaves the reports out (they can be large): read the candidate's.
      const full = await this.repo.getEvaluation(r.workspaceId, e.id);
      if (!full?.report) continue;
      const report = JSON.parse(full.report) as EvaluationReport;
      const c = report.comparisons.find((x) => x.baseline === baseline && x.challenger === challenger);
      if (!c) continue;
      const verdict = challengerHolds(c, need.margin);
      if (!verdict.holds) {
        throw new ConflictError(
          'EVALUATION_NOT_MET',
          `evaluation ${e.id} on ${need.dataset}: ${verdict.reasons.join('; ')}`,
          {
            ...what,
            missing: 'a report in which the challenger holds',
            evaluationId: e.id,
            reasons: verdict.reasons,
          },
        );
      }
      return {
        evaluationId: e.id,
        dataset: need.dataset,
        datasetSha256: e.datasetSha256,
        rows: e.datasetRows,
        margin: need.margin,
        accuracyDelta: { value: c.accuracy.estimate, low: c.accuracy.lo, high: c.accuracy.hi },
      };
    }
    throw new ConflictError(
      'EVALUATION_REQUIRED',
      `entering ${stage} needs a finished evaluation on dataset "${need.dataset}" comparing version ${r.challengerVersion} with version ${r.championVersion} as baseline; there is none`,
      { ...what, missing: 'evaluation report' },
    );
  }

  /** Whether the next stage's evaluation requirement is met, for the dashboard. */
  private async evaluationView(r: Rollout, stage: Stage | null) {
    const need = r.plan.requireEvaluation;
    if (!need || stage === null || !(need.stages as readonly string[]).includes(stage)) return null;
    try {
      const evidence = await this.evaluationEvidence(r, stage);
      return { stage, dataset: need.dataset, margin: need.margin, status: 'met' as const, evidence };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      return {
        stage,
        dataset: need.dataset,
        margin: need.margin,
        status: err.code === 'EVALUATION_NOT_MET' ? ('not-met' as const) : ('missing' as const),
        message: err.message,
      };
    }
  }

  // Transitions

  /** Runs transitions of one endpoint one after another in this process (the revision guards across processes). */
  private serial<T>(endpointId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(endpointId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(endpointId, tail);
    void tail.then(() => {
      if (this.locks.get(endpointId) === tail) this.locks.delete(endpointId);
    });
    return run;
  }

  private async mine(op: Operator, id: string): Promise<Rollout> {
    const r = await this.store.get<RolloutPlan>(id);
    if (!r || r.workspaceId !== op.workspaceId)
      throw new NotFoundError('ROLLOUT_NOT_FOUND', `rollout ${id} not found`);
    return r;
  }

  async startRollout(op: Operator, endpointId: string, body: StartRollout): Promise<Rollout> {
    const endpoint = await this.endpoints.get(op.workspaceId, endpointId);
    return this.serial(endpointId, async () => {
      const previous = await this.store.latestOf<RolloutPlan>(endpointId);
      if (previous && liveStatuses.includes(previous.status) && previous.stage !== 'optimisation') {
        throw new ConflictError(
          'ROLLOUT_IN_PROGRESS',
          `rollout ${previous.id} is in ${previous.stage}; finish, roll back or kill it first`,
          { rolloutId: previous.id },
        );
      }
      const deployment = await this.currentDeployment(endpoint);
      const champion =
        previous && liveStatuses.includes(previous.status)
          ? previous.challengerVersion
          : primaryVersion(deployment);
      if (body.challengerVersion === champion) {
        throw new InvalidError(
          'SAME_VERSION',
          `version ${champion} already answers this endpoint; choose another challenger`,
        );
      }
      // The challenger must be a valid version whose connections this workspace has.
      await this.endpoints.checkDeployable(op.workspaceId, endpoint.flowId, body.challengerVersion);
      const evidence = await this.evaluationEvidence(
        {
          workspaceId: op.workspaceId,
          flowId: endpoint.flowId,
          championVersion: champion,
          challengerVersion: body.challengerVersion,
          plan: body.plan,
        },
        body.stage,
      );
      const now = Date.now();
      const share = body.stage === 'shadow' ? 0 : body.plan.pilotShare;
      const r: Rollout = {
        id: newId('ro'),
        workspaceId: op.workspaceId,
        endpointId,
        flowId: endpoint.flowId,
        championVersion: champion,
        challengerVersion: body.challengerVersion,
        stage: body.stage,
        status: 'active',
        step: 0,
        share,
        plan: body.plan,
        reason: null,
        revision: 1,
        stageEnteredAt: now,
        createdAt: now,
        createdBy: op.actor.id ?? null,
        updatedAt: now,
      };
      const t = this.transitionRecord(r, op.actor, 'started', null, null, body.reason, now, 1, {
        championVersion: champion,
        challengerVersion: body.challengerVersion,
        ...(evidence ? { evaluation: evidence } : {}),
      });
      const ok = await this.store.create(
        r,
        t,
        previous && liveStatuses.includes(previous.status)
          ? { id: previous.id, revision: previous.revision }
          : undefined,
      );
      if (!ok) throw conflictNow();
      if (previous) {
        this.ended.add(previous.id);
        this.windows.delete(previous.id);
        this.alerted.delete(previous.id);
      }
      this.live.set(endpointId, r);
      this.windows.set(r.id, []);
      await this.record(r, t);
      await this.deploy(op, r);
      return r;
    });
  }

  async advance(op: Operator, id: string, reason: string): Promise<Rollout> {
    const { endpointId } = await this.mine(op, id);
    return this.serial(endpointId, async () => {
      const r = await this.mine(op, id);
      if (op.role !== 'approver' && op.role !== 'admin') {
        throw new ForbiddenError(
          'APPROVER_REQUIRED',
          `advancing a rollout needs the approver role; you have ${op.role}`,
        );
      }
      const author = (await this.repo.getVersion(r.flowId, r.challengerVersion))?.authorId ?? null;
      if (op.actor.id !== undefined && (op.actor.id === author || op.actor.id === r.createdBy)) {
        throw new ForbiddenError(
          'MAKER_CHECKER',
          op.actor.id === author
            ? 'the author of the challenger version may not approve its rollout'
            : 'who started the rollout may not approve its next stage',
        );
      }
      this.assertLive(r);
      if (r.status === 'paused')
        throw new ConflictError('ROLLOUT_PAUSED', 'resume the rollout before advancing it');
      const next = nextStep(r);
      if (!next) throw new ConflictError('ROLLOUT_COMPLETE', 'the challenger already answers all traffic');
      const now = Date.now();
      const held = now - r.stageEnteredAt;
      if (held < r.plan.minStageMs) {
        throw new ConflictError(
          'STAGE_TOO_SHORT',
          `the stage has held ${Math.floor(held / 1000)} s of the ${Math.ceil(r.plan.minStageMs / 1000)} s it needs`,
          { heldMs: held, minStageMs: r.plan.minStageMs },
        );
      }
      const evidence = await this.evaluationEvidence(r, next.stage);
      await this.flush();
      if (this.shared) await this.pull(r);
      const gates = await this.gates(r, now);
      const open = gates.filter((g) => g.status !== 'pass');
      if (open.length) {
        throw new ConflictError(
          'GATES_NOT_MET',
          `gates not met: ${open.map((g) => `${g.metric} ${g.status}`).join(', ')}`,
          { gates: open.map(gateSummary) },
        );
      }
      return this.move(op, r, 'advanced', { ...next, status: 'active' }, reason, {
        gates: gates.map(gateSummary),
        ...(evidence ? { evaluation: evidence } : {}),
      });
    });
  }

  async pause(op: Operator, id: string, reason: string): Promise<Rollout> {
    return this.simple(op, id, reason, 'paused', (r) => {
      if (r.status !== 'active') throw new ConflictError('ROLLOUT_NOT_ACTIVE', `the rollout is ${r.status}`);
    });
  }

  async resume(op: Operator, id: string, reason: string): Promise<Rollout> {
    return this.simple(op, id, reason, 'active', (r) => {
      if (r.status !== 'paused') throw new ConflictError('ROLLOUT_NOT_PAUSED', `the rollout is ${r.status}`);
    });
  }

  private async simple(
    op: Operator,
    id: string,
    reason: string,
    status: 'active' | 'paused',
    check: (r: Rollout) => void,
  ): Promise<Rollout> {
    const { endpointId } = await this.mine(op, id);
    return this.serial(endpointId, async () => {
      const r = await this.mine(op, id);
      this.assertLive(r);
      check(r);
      return this.move(
        op,
        r,
        status === 'paused' ? 'paused' : 'resumed',
        { stage: r.stage, step: r.step, share: r.share, status },
        reason,
        {},
      );
    });
  }

  /** Sends all traffic back to the champion: `rolled-back` (by a person or a gate) or `killed` (the kill switch). */
  async end(
    op: Operator,
    id: string,
    status: 'rolled-back' | 'killed',
    reason: string,
    details: Record<string, unknown> = {},
  ): Promise<Rollout> {
    const { endpointId } = await this.mine(op, id);
    return this.serial(endpointId, async () => {
      const r = await this.mine(op, id);
      this.assertLive(r);
      return this.move(
        op,
        r,
        status === 'killed' ? 'killed' : 'rolled-back',
        { stage: r.stage, step: r.step, share: 0, status },
        reason,
        { ...details, toVersion: r.championVersion },
      );
    });
  }

  /** The kill switch of an endpoint: its live rollout ends and the last known good version takes all traffic. */
  async kill(op: Operator, endpointId: string, reason: string): Promise<Rollout> {
    await this.endpoints.get(op.workspaceId, endpointId);
    const r = await this.store.latestOf<RolloutPlan>(endpointId);
    if (!r || !liveStatuses.includes(r.status))
      throw new ConflictError('NO_LIVE_ROLLOUT', 'the endpoint has no rollout to kill');
    return this.end(op, r.id, 'killed', reason);
  }

  private assertLive(r: Rollout): void {
    if (!liveStatuses.includes(r.status))
      throw new ConflictError(
        'ROLLOUT_ENDED',
        `the rollout was ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
      );
  }

  private async move(
    op: Operator,
    r: Rollout,
    action: string,
    to: { stage: Stage; step: number; share: number; status: RolloutStatus },
    reason: string,
    details: Record<string, unknown>,
  ): Promise<Rollout> {
    const now = Date.now();
    const ending = to.status === 'rolled-back' || to.status === 'killed';
    const next: Rollout = {
      ...r,
      ...to,
      reason: ending ? reason : r.reason,
      revision: r.revision + 1,
      stageEnteredAt: to.stage !== r.stage || to.step !== r.step ? now : r.stageEnteredAt,
      updatedAt: now,
    };
    const seq = (await this.store.transitions(r.id)).length + 1;
    const t = this.transitionRecord(next, op.actor, action, r.stage, r.share, reason, now, seq, details);
    if (!(await this.store.transition(next, t))) throw conflictNow();
    // The next call already sees the new state (an ended rollout sends everything to the champion).
    if (ending) {
      this.ended.add(r.id);
      this.pinned.set(r.endpointId, next.championVersion);
      this.live.delete(r.endpointId);
      this.alerted.delete(r.id);
    } else this.live.set(r.endpointId, next);
    if (next.stageEnteredAt === now && !ending) {
      this.windows.set(r.id, []);
      this.cursors.delete(r.id);
    }
    try {
      await this.record(next, t);
      await this.deploy(op, next);
    } finally {
      if (ending) this.pinned.delete(r.endpointId);
    }
    return next;
  }

  private transitionRecord(
    r: Rollout,
    actor: AuditActor,
    action: string,
    fromStage: Stage | null,
    fromShare: number | null,
    reason: string,
    at: number,
    seq: number,
    details: Record<string, unknown>,
  ): TransitionRecord {
    return {
      rolloutId: r.id,
      seq,
      at,
      actor,
      action,
      fromStage,
      toStage: r.stage,
      fromShare,
      toShare: r.share,
      reason,
      details: { status: r.status, ...details },
    };
  }

  private record(r: Rollout, t: TransitionRecord): Promise<void> {
    return this.audit.record(r.workspaceId, t.actor, `rollout.${t.action}`, `endpoint:${r.endpointId}`, {
      rolloutId: r.id,
      championVersion: r.championVersion,
      challengerVersion: r.challengerVersion,
      fromStage: t.fromStage,
      toStage: t.toStage,
      fromShare: t.fromShare,
      toShare: t.toShare,
      status: r.status,
      reason: t.reason,
      ...t.details,
    });
  }

  /** Keeps the endpoint's deployment record in step with the split (what the endpoint list and OpenAPI show). */
  private async deploy(op: Operator, r: Rollout): Promise<void> {
    const ended = r.status === 'rolled-back' || r.status === 'killed';
    const share = ended ? 0 : r.stage === 'optimisation' ? 100 : r.share;
    const targets =
      share <= 0
        ? [{ version: r.championVersion, weight: 100 }]
        : share >= 100
          ? [{ version: r.challengerVersion, weight: 100 }]
          : [
              { version: r.championVersion, weight: 100 - share },
              { version: r.challengerVersion, weight: share },
            ];
    try {
      await this.endpoints.update(r.workspaceId, r.endpointId, op.actor, { targets });
    } catch (err) {
      this.logger.error({ err, rolloutId: r.id }, 'the deployment record did not follow the rollout');
    }
  }

  private async currentDeployment(endpoint: EndpointRecord): Promise<DeploymentRecord> {
    const d = await this.repo.getDeployment(endpoint.deploymentId);
    if (!d) throw new NotFoundError('DEPLOYMENT_NOT_FOUND', 'the endpoint has no deployment');
    return d;
  }

  // Views

  /** The endpoint's current rollout with gates, timeline, transitions and charts (404 when it never had one). */
  async status(op: Operator, endpointId: string, buckets = 30) {
    await this.endpoints.get(op.workspaceId, endpointId);
    await this.flush();
    const stored = await this.store.latestOf<RolloutPlan>(endpointId);
    if (!stored) throw new NotFoundError('NO_ROLLOUT', 'the endpoint has no rollout; start one');
    const r = this.live.get(endpointId)?.id === stored.id ? (this.live.get(endpointId) as Rollout) : stored;
    const now = Date.now();
    const live = liveStatuses.includes(r.status);
    if (live && this.shared && this.windows.has(r.id)) await this.pull(r, now);
    const gates = live ? await this.gates(r, now) : [];
    const from = this.windowStart(r, now);
    const observations = live
      ? (this.windows.get(r.id) ?? [])
      : await this.store.observations(r.id, r.createdAt, this.windowLimit);
    const chartFrom = live ? from : r.createdAt;
    const chartTo = live ? now : r.updatedAt + 1;
    const next = live ? nextStep(r) : undefined;
    const held = now - r.stageEnteredAt;
    const ready =
      live &&
      r.status === 'active' &&
      !!next &&
      held >= r.plan.minStageMs &&
      gates.every((g) => g.status === 'pass');
    const evaluation = await this.evaluationView(r, live ? (next?.stage ?? null) : null);
    const openReviews = (
      await this.repo.listReviewTasks(op.workspaceId, { status: 'open', flowId: r.flowId, limit: 1000 })
    ).filter((t) => t.endpointId === endpointId).length;
    return {
      ...rolloutView(r),
      gates: gates.map(gateSummary),
      next: next ?? null,
      heldMs: held,
      /** Gates pass and the stage has held long enough: an approver may advance it. */
      awaitingApproval: ready && (evaluation === null || evaluation.status === 'met'),
      openReviews,
      /** The evaluation report the next stage needs (null when the plan requires none there). */
      evaluation,
      shadowsDropped: this.shadowsDropped,
      series: series(
        observations.filter((o) => o.at >= chartFrom),
        chartFrom,
        chartTo,
        buckets,
        r.plan.approveValue === undefined ? undefined : canonicalJson(r.plan.approveValue),
      ),
      transitions: (await this.store.transitions(r.id)).map(transitionView),
    };
  }

  async history(op: Operator, endpointId: string) {
    await this.endpoints.get(op.workspaceId, endpointId);
    return (await this.store.listOf<RolloutPlan>(endpointId, 100)).map(rolloutView);
  }

  /** Every endpoint of the workspace with its newest rollout: the programme owner's board. */
  async board(op: Operator): Promise<RolloutBoardRow[]> {
    const endpoints = await this.repo.listEndpoints(op.workspaceId);
    return Promise.all(
      endpoints.map(async (e) => {
        const stored = await this.store.latestOf<RolloutPlan>(e.id);
        const r = stored && this.live.get(e.id)?.id === stored.id ? (this.live.get(e.id) as Rollout) : stored;
        const gates = r && liveStatuses.includes(r.status) ? await this.gates(r) : [];
        return {
          endpointId: e.id,
          slug: e.slug,
          flowId: e.flowId,
          rollout: r ? rolloutView(r) : null,
          health: gates.some((g) => g.status === 'breach')
            ? 'breach'
            : gates.every((g) => g.status === 'pass')
              ? 'pass'
              : 'pending',
        };
      }),
    );
  }
}

/** The JSON of a run's decision: its output at the rollout's prediction path, or all its outputs. */
export function decisionOf(
  r: Pick<Rollout, 'plan'>,
  event: Pick<RunFinishedEvent, 'status' | 'outputs'>,
): string | null {
  if (event.status !== 'succeeded') return null;
  const path = r.plan.predictionPath;
  const v = path ? valueAt(event.outputs, path) : event.outputs;
  return v === undefined ? null : canonicalJson(v);
}

/** What a queued endpoint run carries of its route, so the worker that finishes it can report to the gates. */
export const routeSpecSchema = z.strictObject({
  id: z.string().min(1).max(100),
  arm: z.enum(['champion', 'challenger']),
  startedAt: z.number().int().min(0),
  /** Review before release: the worker runs the held copy with these settings. */
  hold: z
    .strictObject({
      queue: z.string().min(1).max(64),
      roles: z.array(z.string().max(50)).min(1).max(10),
      outcomes: z.array(z.string().min(1).max(100)).min(1).max(20),
      predictionPath: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/),
    })
    .optional(),
});
export type RouteSpec = z.output<typeof routeSpecSchema>;

/**
 * Queue mode, in the worker that finished a rollout's call: one observation straight into the store (the API
 * servers read the gates' window back from it). A rollout that ended meanwhile takes nothing.
 */
export async function observeQueued(
  store: RolloutStorage,
  spec: RouteSpec,
  version: number,
  event: RunFinishedEvent,
  cpuMs: number | undefined,
): Promise<void> {
  const r = await store.get<RolloutPlan>(spec.id);
  if (!r || !liveStatuses.includes(r.status)) return;
  await store.addObservations([
    {
      rolloutId: r.id,
      at: Date.now(),
      arm: spec.arm,
      version,
      ok: event.status === 'succeeded',
      ms: Math.max(0, event.at - spec.startedAt),
      decision: decisionOf(r, event),
      agree: null,
      ...(cpuMs === undefined ? {} : { cpuMs }),
    },
  ]);
}
/** The challenger's drift since a time, for the drift gates (undefined when it has no baseline). */
export type DriftSource = (
  r: Rollout,
  since: number,
) => Promise<{ score: number | null; feature: number | null; calls: number } | undefined>;

export const systemActor: AuditActor = { type: 'system', id: 'rollout-gates', name: 'rollout gates' };

const conflictNow = () =>
  new ConflictError('ROLLOUT_CHANGED', 'the rollout changed meanwhile; read it again and retry');

const round = (v: number) => Math.round(v * 10_000) / 10_000;

function describe(g: GateResult): string {
  if (!g.challenger) return `no samples`;
  return `${round(g.challenger.value)} in [${round(g.challenger.low)}, ${round(g.challenger.high)}] vs threshold ${g.threshold}, ${g.samples} samples`;
}

export function gateSummary(g: GateResult) {
  return {
    metric: g.metric,
    threshold: g.threshold,
    action: g.action,
    minSamples: g.minSamples,
    status: g.status,
    samples: g.samples,
    value: g.challenger ? round(g.challenger.value) : null,
    low: g.challenger ? round(g.challenger.low) : null,
    high: g.challenger && Number.isFinite(g.challenger.high) ? round(g.challenger.high) : null,
    champion: g.champion ? { value: round(g.champion.value), samples: g.champion.samples } : null,
  };
}

export function rolloutView(r: Rollout) {
  return {
    id: r.id,
    endpointId: r.endpointId,
    flowId: r.flowId,
    championVersion: r.championVersion,
    challengerVersion: r.challengerVersion,
    stage: r.stage,
    status: r.status,
    step: r.step,
    share: r.stage === 'optimisation' ? 100 : liveStatuses.includes(r.status) ? r.share : 0,
    plan: r.plan,
    reason: r.reason,
    revision: r.revision,
    stageEnteredAt: r.stageEnteredAt,
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    updatedAt: r.updatedAt,
  };
}

const transitionView = (t: TransitionRecord) => ({
  seq: t.seq,
  at: t.at,
  actor: t.actor,
  action: t.action,
  fromStage: t.fromStage,
  toStage: t.toStage,
  fromShare: t.fromShare,
  toShare: t.toShare,
  reason: t.reason,
  details: t.details,
});
