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
import type { RunFinishedEvent } from '@finflow/runtime';
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
  DeploymentRecord,
  EndpointRecord,
  FeedbackSource,
  Repository,
  Role,
} from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuditService } from './audit.js';
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
  };
}

export interface RolloutOptions {
  /** How often the gates of live rollouts are judged (automatic rollback acts within this). */
  evaluateMs?: number;
  /** Shadow runs in flight at most; calls beyond it are not shadowed (counted in `shadowsDropped`). */
  maxShadows?: number;
  /** Observations kept in memory per rollout. */
  windowLimit?: number;
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
  private pending: StoredObservation[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly alerted = new Map<string, Set<string>>();
  private readonly evaluating = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private shadows = 0;
  shadowsDropped = 0;
  private readonly evaluateMs: number;
  private readonly maxShadows: number;
  private readonly windowLimit: number;

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
  }

  /** Loads live rollouts and their recent observations (a restart continues where it stopped). */
  async start(): Promise<void> {
    const now = Date.now();
    for (const r of await this.store.live<RolloutPlan>()) {
      this.live.set(r.endpointId, r);
      this.windows.set(r.id, await this.store.observations(r.id, this.windowStart(r, now), this.windowLimit));
    }
    const flush = setInterval(() => void this.flush(), FLUSH_MS);
    const judge = setInterval(() => void this.evaluateAll(), this.evaluateMs);
    flush.unref();
    judge.unref();
    this.timers = [flush, judge];
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
    if (!r) return { version: pickTarget(resolved.deployment.targets) };
    const startedAt = Date.now();
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
        ...(shadow ? { shadowVersion: r.challengerVersion } : {}),
      },
    };
  }

  /**
   * Records a finished call under a rollout, and starts its shadow run when the route asked for one. Called from
   * the call's commit; the shadow starts on a later turn so it never delays the answer.
   */
  observe(
    route: Route,
    endpoint: EndpointRecord,
    event: RunFinishedEvent,
    input: unknown,
    actor: AuditActor,
  ): void {
    const ro = route.rollout;
    if (!ro) return;
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
    });
    if (ro.shadowVersion !== undefined && event.status === 'succeeded')
      setImmediate(() => void this.shadow(r, endpoint, ro.shadowVersion as number, input, actor, decision));
  }

  private add(r: Rollout, o: Observation): void {
    let w = this.windows.get(r.id);
    if (!w) this.windows.set(r.id, (w = []));
    w.push(o);
    if (w.length > this.windowLimit) w.splice(0, w.length - this.windowLimit);
    this.pending.push({ ...o, rolloutId: r.id });
  }

  private predictionPath(r: Rollout): string | undefined {
    return r.plan.predictionPath;
  }

  /** The JSON of a run's decision: its output at the prediction path, or all its outputs. */
  private decisionOf(r: Rollout, event: Pick<RunFinishedEvent, 'status' | 'outputs'>): string | null {
    if (event.status !== 'succeeded') return null;
    const path = this.predictionPath(r);
    const v = path ? valueAt(event.outputs, path) : event.outputs;
    return v === undefined ? null : canonicalJson(v);
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
      await this.flush();
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
      this.live.delete(r.endpointId);
      this.alerted.delete(r.id);
    } else this.live.set(r.endpointId, next);
    if (next.stageEnteredAt === now && !ending) this.windows.set(r.id, []);
    await this.record(next, t);
    await this.deploy(op, next);
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
    const openReviews = (
      await this.repo.listReviewTasks(op.workspaceId, { status: 'open', flowId: r.flowId, limit: 1000 })
    ).filter((t) => t.endpointId === endpointId).length;
    return {
      ...rolloutView(r),
      gates: gates.map(gateSummary),
      next: next ?? null,
      heldMs: held,
      /** Gates pass and the stage has held long enough: an approver may advance it. */
      awaitingApproval: ready,
      openReviews,
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
