/**
 * Runs: starting a version of a flow with an input, recording every event (masked where the flow marks personal
 * data) through the group committer, fanning events out live to subscribers (socket.io, SSE), cancelling,
 * re-running, and never losing a run to a restart: runs in flight when the server stopped are marked
 * `interrupted` by a `run.interrupted` event at the next start (or at shutdown, after a grace period).
 *
 * A run that waits for reviews is not in flight: its execution ended with `run.suspended`, which is recorded in
 * one transaction with the run's status `waiting`, its review tasks and a sealed checkpoint of its real recorded
 * outcomes. A resume (after a decision, an SLA step or a cancellation) takes the run with a claim in the
 * database (see the review service) and runs a new execution from that checkpoint; the log goes on under the same
 * run id. Subscribers follow a run across its executions.
 */
import {
  FlowInputError,
  flowDataClass,
  foldRun,
  ResumeError,
  type NodeWaitingEvent,
  type RunEvent,
  type RunFinishedEvent,
  type RunHandle,
  type RunResult,
  type RunState,
  type RunStore,
  type RunSuspendedEvent,
  type Runtime,
} from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { sha256 } from '../hash.js';
import type { Logger } from '../logger.js';
import { RunMasker } from '../masking.js';
import type { Metrics, Observer } from '../metrics.js';
import type {
  AuditActor,
  EventChunk,
  Repository,
  ReviewTaskRecord,
  RunFilter,
  RunRecord,
  RunTrigger,
  WriteBatch,
} from '../repo/types.js';
import { newId, timeOrderedUuid, type Sealer } from '../security/crypto.js';
import { safeStringify } from '../security/safe-json.js';
import { ReleasingMap } from '../releasing-map.js';
import type { ConnectionService } from './connections.js';
import { NotDoneError } from './errors.js';
import type { CredentialService } from './credentials.js';
import type { FlowService, PreparedVersion } from './flows.js';
import { taskRecord } from './review-records.js';
import { holdForReview, holdSettingsOfTask, holdTag, type HoldSettings } from './rollout-review.js';

export interface StartRequest {
  workspaceId: string;
  flowId: string;
  version: number;
  input: unknown;
  trigger: RunTrigger;
  actor: AuditActor;
  endpoint?: { id: string; deploymentId: string; slug: string };
  rerunOf?: string;
  /** Whole-run deadline (an endpoint's timeout); the flow's own deadline applies otherwise. */
  deadlineMs?: number;
  /** Adds writes to the batch that records `run.finished`, so they commit in the same transaction. */
  onFinished?: (batch: WriteBatch, event: RunFinishedEvent, masked: RunFinishedEvent) => void;
  /** Adds writes to the batch that records `run.suspended` (the run now waits for these review tasks). */
  onSuspended?: (batch: WriteBatch, event: RunSuspendedEvent, tasks: ReviewTaskRecord[]) => void;
  /** Seal the real outputs with the run (async endpoint callers poll for them). */
  keepOutputs?: boolean;
  /** Queue mode: the id and accept time of the run a launcher stored as queued (its row exists already). */
  queued?: { runId: string; startedAt: number };
  /**
   * Receives every (masked) event from the first, across the run's executions, until the run finishes or the
   * `unwatch` of the started run is called; registered before the run starts.
   */
  listener?: RunListener;
}

export type RunListener = (event: RunEvent) => void;

/**
 * Events of runs executing in other processes (queue mode: a Redis channel per run); `follow` returns the
 * function that stops following.
 */
export type RemoteRunEvents = (runId: string, deliver: RunListener) => () => void;

/** Events the runtime needs to resume a run: its start and every node's outcome (no inputs, logs or chunks). */
const checkpointTypes = new Set<RunEvent['type']>([
  'run.started',
  'node.succeeded',
  'node.failed',
  'node.skipped',
  'node.waiting',
  'run.resumed',
  'run.suspended',
]);

/** One execution of a run in this process; also its run store (the runtime appends each event here). */
export class LiveRun implements RunStore {
  lastSeq = -1;
  /** Set when the run was marked interrupted at shutdown: later events are neither stored nor sent. */
  closed = false;
  /** Its `run.finished` is recorded (the commit may still be pending). */
  finished = false;
  /** Masks what is stored and sent when the flow marks personal data (made with the first event). */
  masker: RunMasker | undefined;
  /** The batch holding the run's row while it is not committed yet. */
  rowBatch: WriteBatch | undefined;
  /** Settles when the run's row (and first event) is committed; set when `run.started` is recorded. */
  rowStored: Promise<void> | undefined;
  /** The chunk of events this run has in the current batch. */
  chunk: EventChunk | undefined;
  chunkBatch: WriteBatch | undefined;
  /** The real events a resume needs (see checkpointTypes), from the run's first execution on. */
  checkpoint: RunEvent[] = [];
  /** Nodes that began waiting in this execution: real and masked events. */
  waits: { real: NodeWaitingEvent; masked: NodeWaitingEvent }[] = [];
  /**
   * Queue mode, a flow that masks personal data: the run's update in the current batch that carries its sealed
   * checkpoint (what a takeover needs, since the events stored are masked), resealed as the batch fills.
   */
  progress: { batch: WriteBatch; update: WriteBatch['runUpdates'][number] } | undefined;
  /**
   * Queue mode: a write of this execution failed (the database went away). Nothing more of it is recorded, and
   * its worker leaves the lease to expire, so another execution takes the run over from what was committed.
   */
  abandoned = false;
  handle!: RunHandle;
  result!: Promise<RunResult>;

  constructor(
    readonly record: RunRecord,
    readonly plan: PreparedVersion,
    readonly req: StartRequest,
    private readonly recorder: (live: LiveRun, event: RunEvent) => Promise<void> | undefined,
  ) {}

  get id(): string {
    return this.record.id;
  }

  append(event: RunEvent): Promise<void> | undefined {
    return this.recorder(this, event);
  }
}

export interface StartedRun {
  runId: string;
  flowVersion: number;
  live: LiveRun;
  /** How this execution ended (status `waiting` when the run now waits for reviews). */
  result: Promise<RunResult>;
  /** Removes the request's `listener`. */
  unwatch(): void;
  /**
   * Settles once the run is on record (its row and `run.started` committed, as durable as configured); rejects
   * when it could not be recorded. Answer "accepted" only after this.
   */
  stored: Promise<void>;
}

/** Queue mode: a run claimed to resume after a review, handed to the workers (one executes it under a lease). */
export interface ResumeOnWorker {
  runId: string;
  onWorker: true;
}

/** A resume claim taken to cancel a waiting run: its token says so, so a worker that executes it knows. */
const CANCEL_CLAIM = 'clx';
export const isCancelClaim = (token: string) => token.startsWith(`${CANCEL_CLAIM}_`);

/** Called once a suspension is committed: the run waits for these tasks. */
export type SuspensionListener = (runId: string, tasks: ReviewTaskRecord[]) => void;

/** The business key a flow declares, hashed per flow (an identifier used as key never lands in clear). */
export function businessKeyHash(flowId: string, value: unknown): string | null {
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) return null;
  const text = String(value);
  if (text.length === 0 || text.length > 200) return null;
  return sha256(`${flowId}\u0000${text}`);
}

/** The value at a dotted path. */
export function valueAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const actorFromString = (actor: string): AuditActor => {
  const i = actor.indexOf(':');
  const type = actor.slice(0, i) as AuditActor['type'];
  const id = actor.slice(i + 1);
  return id ? { type, id } : { type };
};

export const runSummary = (r: RunRecord) => ({
  id: r.id,
  flowId: r.flowId,
  flowVersion: r.flowVersion,
  status: r.status,
  trigger: r.trigger,
  endpointId: r.endpointId,
  rerunOf: r.rerunOf,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
  ms: r.ms,
});

const actorString = (a: AuditActor) => `${a.type}:${a.id ?? ''}`;

export class RunService {
  /** Runs executing in this process; deleted entries let go of their runs at once (see releasing-map.ts). */
  private readonly live = new ReleasingMap<string, LiveRun>();
  /** Subscribers by run id: they follow a run across its executions and are dropped when it ends. */
  private readonly watchers = new Map<string, Set<RunListener>>();
  /** Callers waiting for a run's real `run.finished` (an endpoint's SSE stream across a review). */
  private readonly finishWaiters = new Map<string, ((e: RunFinishedEvent) => void)[]>();
  private suspensionListener: SuspensionListener | undefined;
  /** Queue mode: where events of runs executing elsewhere come from, and the runs followed there now. */
  private remote: RemoteRunEvents | undefined;
  private readonly following = new Map<string, () => void>();

  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly runtime: Runtime,
    private readonly flows: FlowService,
    private readonly credentials: CredentialService,
    private readonly connections: ConnectionService,
    private readonly sealer: Sealer,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  get inFlight(): number {
    return this.live.size;
  }

  liveRun(id: string): LiveRun | undefined {
    return this.live.get(id);
  }

  /** Who to tell when a run has begun to wait (the review service: SLA timers, decisions already taken). */
  onSuspension(listener: SuspensionListener): void {
    this.suspensionListener = listener;
  }

  /** Where a cancellation goes for a run that executes in another process (queue mode: its worker). */
  private remoteCancel: ((runId: string, reason: string) => void) | undefined;

  /**
   * Queue mode: watchers also receive the events of runs that execute in other processes (workers), and a
   * cancellation of such a run is sent to the process executing it.
   */
  followRemote(
    remote: RemoteRunEvents,
    cancel: (runId: string, reason: string) => void,
    cancelQueued?: (runId: string) => Promise<boolean>,
  ): void {
    this.remote = remote;
    this.remoteCancel = cancel;
    this.queuedCancel = cancelQueued;
  }

  /** Queue mode: where a run claimed to resume goes (the run queue); its execution is a worker's. */
  private resumeOnWorker: ((runId: string) => void) | undefined;

  /** Queue mode: runs resumed after a review execute on workers, under a lease, as queued runs do. */
  resumeOnWorkers(hand: (runId: string) => void): void {
    this.resumeOnWorker = hand;
  }

  /** Queue mode: ends a run no worker has taken yet as cancelled (false when a worker got it first). */
  private queuedCancel: ((runId: string) => Promise<boolean>) | undefined;

  /** Follows a run's (masked) events from now on, across executions, until it ends. */
  watch(runId: string, fn: RunListener): () => void {
    let set = this.watchers.get(runId);
    if (!set) this.watchers.set(runId, (set = new Set()));
    set.add(fn);
    if (this.remote && !this.following.has(runId) && !this.live.has(runId))
      this.following.set(
        runId,
        this.remote(runId, (e) => this.publish(runId, e)),
      );
    return () => {
      const s = this.watchers.get(runId);
      if (!s) return;
      s.delete(fn);
      if (s.size === 0) this.unwatchAll(runId);
    };
  }

  private unwatchAll(runId: string): void {
    this.watchers.delete(runId);
    const stop = this.following.get(runId);
    if (stop) {
      this.following.delete(runId);
      stop();
    }
  }

  private publish(runId: string, event: RunEvent): void {
    // No one follows any run (an endpoint under load): nothing to look up, nothing to end.
    if (this.watchers.size === 0) return;
    const set = this.watchers.get(runId);
    if (set) {
      for (const fn of set) {
        try {
          fn(event);
        } catch {
          // A failing subscriber must not break the run or the other subscribers.
        }
      }
    }
    if (event.type === 'run.finished' || event.type === 'run.interrupted') this.unwatchAll(runId);
  }

  /**
   * The real `run.finished` of a run executing here (or resumed here later); `cancel` forgets the waiter (its
   * client went away before the run finished).
   */
  whenFinished(runId: string): { finished: Promise<RunFinishedEvent>; cancel(): void } {
    let waiter!: (e: RunFinishedEvent) => void;
    const finished = new Promise<RunFinishedEvent>((resolve) => (waiter = resolve));
    const list = this.finishWaiters.get(runId) ?? [];
    list.push(waiter);
    this.finishWaiters.set(runId, list);
    return {
      finished,
      cancel: () => {
        const rest = this.finishWaiters.get(runId)?.filter((w) => w !== waiter);
        if (rest?.length) this.finishWaiters.set(runId, rest);
        else this.finishWaiters.delete(runId);
      },
    };
  }

  /**
   * Starts a run; 400 INVALID_INPUT with field errors, 422 INVALID_FLOW (also when a node names a connection the
   * workspace does not have or may not use), 404 for unknown flows or versions.
   */
  async start(req: StartRequest): Promise<StartedRun> {
    const plan = await this.flows.prepared(req.workspaceId, req.flowId, req.version);
    await this.connections.assertUsable(req.workspaceId, plan.version, plan.prepared);
    return this.startPrepared(plan, req);
  }

  /**
   * A shadow run: a challenger version answers a copy of a call after the champion has answered. Nothing of it is
   * returned or recorded as a run (the rollout service records what its gates need), and nodes with side effects
   * do not act (see the runtime's `shadow` option).
   */
  runShadow(
    plan: PreparedVersion,
    req: { workspaceId: string; input: unknown; actor: AuditActor; deadlineMs: number },
  ): Promise<RunResult> {
    const runId = timeOrderedUuid();
    return this.runtime.start(plan.prepared, req.input, {
      runId,
      shadow: true,
      deadlineMs: req.deadlineMs,
      services: {
        secrets: this.credentials.resolver(req.workspaceId, runId, req.actor),
        connections: this.connections.resolver(
          req.workspaceId,
          runId,
          req.actor,
          flowDataClass(plan.prepared.flow),
        ),
      },
    }).result;
  }

  startPrepared(plan: PreparedVersion, req: StartRequest): StartedRun {
    const runId = req.queued?.runId ?? timeOrderedUuid();
    const keyPath = plan.feedback?.businessKey;
    const record: RunRecord = {
      id: runId,
      workspaceId: req.workspaceId,
      flowId: req.flowId,
      flowVersion: plan.version,
      status: 'running',
      trigger: req.trigger,
      endpointId: req.endpoint?.id ?? null,
      deploymentId: req.endpoint?.deploymentId ?? null,
      actor: actorString(req.actor),
      rerunOf: req.rerunOf ?? null,
      // Set with the run's first event when the flow masks personal data (see `recordEvent`).
      inputSealed: null,
      outputsSealed: null,
      startedAt: req.queued?.startedAt ?? Date.now(),
      finishedAt: null,
      ms: null,
      checkpointSealed: null,
      resumeClaim: null,
      businessKey: keyPath ? businessKeyHash(req.flowId, valueAt(req.input, keyPath)) : null,
    };
    const live = new LiveRun(record, plan, req, this.recordEvent);
    const unwatch = req.listener ? this.watch(runId, req.listener) : () => {};
    const meta: Record<string, unknown> = {
      flowVersion: plan.version,
      trigger: req.trigger,
      actor: record.actor,
    };
    if (req.endpoint) {
      meta['endpointId'] = req.endpoint.id;
      meta['deploymentId'] = req.endpoint.deploymentId;
      meta['slug'] = req.endpoint.slug;
    }
    if (req.rerunOf) meta['rerunOf'] = req.rerunOf;
    if (plan.draftHash) meta['draftHash'] = plan.draftHash;
    this.live.set(runId, live);
    this.metrics.runsInFlight.value++;
    try {
      // The runtime checks the input against the flow's input schema before anything is recorded.
      live.handle = this.runtime.start(plan.prepared, req.input, {
        runId,
        store: live,
        meta,
        // Every event comes here and is stored; the handle need not keep them (nor their values) until the run's
        // last write is durable (issue 18, round 5).
        keepLog: false,
        services: {
          secrets: this.credentials.resolver(req.workspaceId, runId, req.actor),
          connections: this.connections.resolver(
            req.workspaceId,
            runId,
            req.actor,
            flowDataClass(plan.prepared.flow),
          ),
        },
        ...(req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs }),
      });
    } catch (err) {
      this.live.delete(runId);
      this.metrics.runsInFlight.value--;
      unwatch();
      if (err instanceof FlowInputError)
        throw badRequest('INVALID_INPUT', err.message, { fields: err.errors });
      throw err;
    }
    live.result = this.settled(live);
    // The runtime records run.started synchronously inside start(); without it nothing of the run is stored.
    const stored =
      live.rowStored ??
      Promise.reject(
        new NotDoneError('RUN_NOT_RECORDED', 'the run could not be recorded, so it was not started'),
      );
    if (!live.rowStored) {
      // Nothing more of it is stored either: no orphan events of a run without a row.
      live.closed = true;
      live.handle.cancel('the run could not be recorded');
    }
    stored.catch(() => {});
    return { runId, flowVersion: plan.version, live, result: live.result, unwatch, stored };
  }

  /** The end of one execution: the run leaves this process's list of executions in flight. */
  private settled(live: LiveRun): Promise<RunResult> {
    return live.handle.result.then((r) => {
      this.live.delete(live.id);
      this.metrics.runsInFlight.value--;
      this.metrics.runs.labels(live.closed ? 'interrupted' : r.status, live.req.trigger).inc();
      return r;
    });
  }

  /** The plan a run executes: its version's, or the held copy a rollout's review before release runs. */
  private planOf(
    run: Pick<RunRecord, 'workspaceId' | 'flowId' | 'flowVersion'>,
    hold: HoldSettings | undefined,
  ): Promise<PreparedVersion> {
    if (!hold) return this.flows.prepared(run.workspaceId, run.flowId, run.flowVersion);
    return this.flows.preparedDerived(run.workspaceId, run.flowId, run.flowVersion, holdTag(hold), (doc) =>
      holdForReview(doc, hold),
    );
  }

  /**
   * Runs the next execution of a run this process claimed (`resume_claim = token`): from its sealed checkpoint,
   * with the decisions of the tasks the claim took, or cancelled. Undefined when the claim is not (or no longer)
   * this one. A run that cannot be resumed (its checkpoint is missing) is marked interrupted.
   */
  async resumeClaimed(
    runId: string,
    token: string,
    options: { cancel?: string; actor?: AuditActor; onWorker?: boolean } = {},
  ): Promise<StartedRun | undefined> {
    await this.writer.visible();
    const run = await this.repo.getRunById(runId);
    if (!run || run.status !== 'running' || run.resumeClaim !== token || this.live.has(runId))
      return undefined;
    const tasks = await this.repo.reviewTasksClaimedBy(token);
    const decisions: Record<string, unknown> = {};
    if (options.cancel === undefined) {
      for (const t of tasks)
        if (t.status === 'decided' && t.decision !== null) decisions[t.nodeId] = JSON.parse(t.decision);
    }
    const lastSeq = await this.repo.lastEventSeq(runId);
    if (!run.checkpointSealed) {
      await this.markInterrupted(run, lastSeq + 1, 'the run has no checkpoint to resume from');
      return undefined;
    }
    // A rollout's held run resumes on the same held copy it waited in (its settings are in its task).
    const hold = tasks.map(holdSettingsOfTask).find((h) => h !== undefined);
    const plan = await this.planOf(run, hold);
    const checkpoint = JSON.parse(
      this.sealer.open(run.checkpointSealed, `run-checkpoint:${run.id}`).toString('utf8'),
    ) as RunEvent[];
    const started = checkpoint[0];
    if (started?.type !== 'run.started') {
      await this.markInterrupted(run, lastSeq + 1, 'the run has no checkpoint to resume from');
      return undefined;
    }
    const req: StartRequest = {
      workspaceId: run.workspaceId,
      flowId: run.flowId,
      version: run.flowVersion,
      input: started.input,
      trigger: run.trigger,
      actor: actorFromString(run.actor),
      ...(run.rerunOf ? { rerunOf: run.rerunOf } : {}),
      // An endpoint's caller polls for the final outputs (a synchronous caller was answered 202 when it waited).
      ...(run.endpointId ? { keepOutputs: true, onFinished: this.endpointDecision(run) } : {}),
      // On a worker the execution is recorded as a queued run's is (what a takeover needs, sealed; see recordEvent).
      ...(options.onWorker ? { queued: { runId, startedAt: run.startedAt } } : {}),
    };
    const live = new LiveRun(run, plan, req, this.recordEvent);
    live.lastSeq = lastSeq;
    live.checkpoint = checkpoint;
    if (plan.redact) {
      live.masker = new RunMasker(plan.redact, started.input, plan.shape);
    }
    let signal: AbortSignal | undefined;
    if (options.cancel !== undefined) {
      const controller = new AbortController();
      controller.abort(new Error(options.cancel));
      signal = controller.signal;
    }
    this.live.set(runId, live);
    this.metrics.runsInFlight.value++;
    try {
      live.handle = this.runtime.resume(plan.prepared, checkpoint, decisions, {
        store: live,
        services: { secrets: this.credentials.resolver(run.workspaceId, runId, req.actor) },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      this.live.delete(runId);
      this.metrics.runsInFlight.value--;
      if (!(err instanceof ResumeError)) throw err;
      this.logger.error({ runId, code: err.code }, 'a waiting run could not be resumed');
      await this.markInterrupted(run, lastSeq + 1, `the run could not be resumed: ${err.message}`);
      return undefined;
    }
    live.result = this.settled(live);
    // The run's row exists: it was stored when the run first started.
    return {
      runId,
      flowVersion: run.flowVersion,
      live,
      result: live.result,
      unwatch: () => {},
      stored: Promise.resolve(),
    };
  }

  /**
   * Queue mode, in a worker that holds the run's lease: executes a run a launcher queued. Nothing recorded yet: a
   * first execution from its sealed input. Events recorded (the worker that held it died mid-run): a takeover
   * that reuses every recorded outcome, so no node that finished runs (or is recorded) again. A flow that masks
   * personal data records masked outputs; their real values were sealed alongside (`sealProgress`), and the
   * takeover reuses those.
   */
  async executeQueued(
    run: RunRecord,
    options: Pick<StartRequest, 'onFinished' | 'onSuspended' | 'keepOutputs' | 'deadlineMs'>,
    /** A rollout's challenger call held for review: the held copy of the version runs. */
    hold?: HoldSettings,
  ): Promise<StartedRun | undefined> {
    if (!run.inputSealed) {
      await this.markInterrupted(
        run,
        (await this.repo.lastEventSeq(run.id)) + 1,
        'the queued run has no input',
      );
      return undefined;
    }
    const input = JSON.parse(
      this.sealer.open(run.inputSealed, `run-input:${run.id}`).toString('utf8'),
    ) as unknown;
    const plan = await this.planOf(run, hold);
    const req: StartRequest = {
      workspaceId: run.workspaceId,
      flowId: run.flowId,
      version: run.flowVersion,
      input,
      trigger: run.trigger,
      actor: actorFromString(run.actor),
      ...(run.rerunOf ? { rerunOf: run.rerunOf } : {}),
      ...options,
      queued: { runId: run.id, startedAt: run.startedAt },
    };
    let log = await this.repo.runEvents(run.id, -1);
    if (log.length === 0) return this.startPrepared(plan, req);
    const lastSeq = log.at(-1)?.seq ?? -1;
    if (plan.redact) {
      const real = this.realOutcomes(run, log);
      if (!real) {
        await this.markInterrupted(
          run,
          lastSeq + 1,
          'its worker stopped mid-run, and the real outcomes of this flow, which masks personal data, were not kept',
        );
        return undefined;
      }
      log = real;
    }
    // A run resumed after a review whose worker died: the decisions its claim took still apply to the nodes
    // that had not finished (a cancelling claim cancels again).
    const decisions: Record<string, unknown> = {};
    let signal: AbortSignal | undefined;
    if (run.resumeClaim && isCancelClaim(run.resumeClaim)) {
      signal = AbortSignal.abort(new Error('cancelled while it waited for a review'));
    } else if (run.resumeClaim) {
      const waiting = foldRun(log, run.id).nodes;
      for (const t of await this.repo.reviewTasksClaimedBy(run.resumeClaim))
        if (t.status === 'decided' && t.decision !== null && waiting[t.nodeId]?.status === 'waiting')
          decisions[t.nodeId] = JSON.parse(t.decision);
    }
    const live = new LiveRun({ ...run, status: 'running' }, plan, req, this.recordEvent);
    live.lastSeq = lastSeq;
    live.checkpoint = log.filter((e) => checkpointTypes.has(e.type));
    if (plan.redact) live.masker = new RunMasker(plan.redact, input, plan.shape);
    this.live.set(run.id, live);
    this.metrics.runsInFlight.value++;
    try {
      live.handle = this.runtime.resume(plan.prepared, log, decisions, {
        store: live,
        takeover: true,
        ...(signal ? { signal } : {}),
        services: {
          secrets: this.credentials.resolver(run.workspaceId, run.id, req.actor),
          connections: this.connections.resolver(
            run.workspaceId,
            run.id,
            req.actor,
            flowDataClass(plan.prepared.flow),
          ),
        },
        ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
      });
    } catch (err) {
      this.live.delete(run.id);
      this.metrics.runsInFlight.value--;
      if (!(err instanceof ResumeError)) throw err;
      await this.markInterrupted(run, lastSeq + 1, `the run could not be taken over: ${err.message}`);
      return undefined;
    }
    live.result = this.settled(live);
    return {
      runId: run.id,
      flowVersion: run.flowVersion,
      live,
      result: live.result,
      unwatch: () => {},
      stored: Promise.resolve(),
    };
  }

  /**
   * The log of a run whose flow masks personal data, with its masked outcomes replaced by the real ones sealed
   * with it (see `sealProgress`); undefined when the sealed checkpoint does not cover every recorded outcome.
   */
  private realOutcomes(run: RunRecord, log: RunEvent[]): RunEvent[] | undefined {
    if (!run.checkpointSealed) return undefined;
    const real = new Map<number, RunEvent>();
    for (const e of JSON.parse(
      this.sealer.open(run.checkpointSealed, `run-checkpoint:${run.id}`).toString('utf8'),
    ) as RunEvent[])
      real.set(e.seq, e);
    const out: RunEvent[] = [];
    for (const e of log) {
      if (!checkpointTypes.has(e.type)) {
        out.push(e);
        continue;
      }
      const r = real.get(e.seq);
      if (r?.type !== e.type) return undefined;
      out.push(r);
    }
    return out;
  }

  /** The audit entry of an endpoint run's final decision, when it finishes after a review. */
  private endpointDecision(run: RunRecord): NonNullable<StartRequest['onFinished']> {
    return (b, event, masked) => {
      const error = masked.error;
      b.audit.push({
        workspaceId: run.workspaceId,
        at: event.at,
        actor: { type: 'system' },
        action: 'endpoint.decision',
        target: `endpoint:${run.endpointId ?? ''}`,
        details: {
          deploymentId: run.deploymentId,
          flowId: run.flowId,
          flowVersion: run.flowVersion,
          runId: run.id,
          status: event.status,
          afterReview: true,
          outputs: masked.outputs,
          ...(error
            ? { error: { code: error.code, ...(error.nodeId ? { nodeId: error.nodeId } : {}) } }
            : {}),
        },
      });
    };
  }

  /** Node duration histograms by node type and outcome, looked up once per type. */
  private readonly nodeTimers = new Map<string, { ok: Observer; failed: Observer }>();

  private nodeTimer(type: string): { ok: Observer; failed: Observer } {
    let t = this.nodeTimers.get(type);
    if (!t) {
      t = {
        ok: this.metrics.nodeDuration.labels(type, 'succeeded'),
        failed: this.metrics.nodeDuration.labels(type, 'failed'),
      };
      this.nodeTimers.set(type, t);
    }
    return t;
  }

  /** The run store of one run: mask, publish live, record (the run row goes with its first event). */
  private readonly recordEvent = (live: LiveRun, event: RunEvent): Promise<void> | undefined => {
    if (live.closed) return undefined;
    const req = live.req;
    if (event.type === 'run.started' && live.plan.redact) {
      // The input passed the runtime's check; the stored copy is masked, the real one kept sealed for re-runs.
      live.masker = new RunMasker(live.plan.redact, req.input, live.plan.shape);
      live.record.inputSealed = this.sealer.seal(JSON.stringify(req.input), `run-input:${live.id}`);
    }
    const masked = live.masker ? live.masker.maskEvent(event) : event;
    live.lastSeq = event.seq;
    if (checkpointTypes.has(event.type)) live.checkpoint.push(event);
    if (event.type === 'node.waiting') live.waits.push({ real: event, masked: masked as NodeWaitingEvent });
    if (event.type === 'node.succeeded' || event.type === 'node.failed') {
      const timer = this.nodeTimer(live.plan.prepared.byId.get(event.nodeId)?.type ?? 'unknown');
      (event.type === 'node.succeeded' ? timer.ok : timer.failed).observe(event.ms / 1000);
    }
    // Whatever a node produced (any depth, cycles), the event is stored; only JSON.stringify's failures are cut.
    // A run of pure nodes is encoded once, as a compact record, when its batch is committed (event-rows.ts).
    let json: string | undefined;
    if (live.plan.compact) this.publish(live.id, masked);
    else {
      const s = safeStringify(masked);
      json = s.json;
      this.publish(live.id, s.cut ? (JSON.parse(s.json) as RunEvent) : masked);
    }
    const { batch: b, promise } = this.writer.open();
    if (event.type === 'run.started') {
      // A queued run's row was stored by its launcher (with its sealed input): it only changes status here.
      if (req.queued) {
        // (With a masker, the update that carries the sealed checkpoint sets the status; see below.)
        if (!live.masker) b.runUpdates.push({ id: live.id, status: 'running', finishedAt: null, ms: null });
      } else {
        b.runs.push(live.record);
        live.rowBatch = b;
      }
      live.rowStored = promise;
    }
    if (req.queued && live.masker && checkpointTypes.has(event.type) && event.type !== 'run.suspended')
      this.sealProgress(live, b);

    // Events of one run written in one batch share one row.
    if (live.chunkBatch === b && live.chunk) {
      if (json === undefined) live.chunk.objects?.push(masked);
      else live.chunk.events.push(json);
      live.chunk.lastSeq = event.seq;
    } else {
      live.chunk =
        json === undefined
          ? { runId: live.id, seq: event.seq, lastSeq: event.seq, events: [], objects: [masked] }
          : { runId: live.id, seq: event.seq, lastSeq: event.seq, events: [json] };
      live.chunkBatch = b;
      b.events.push(live.chunk);
      if (req.queued)
        promise.catch(() => {
          // Later events would leave a gap in the log: this execution stops recording (see `abandoned`).
          live.abandoned = true;
          live.closed = true;
        });
    }
    if (event.type === 'run.suspended') this.recordSuspension(live, event, b, promise);
    if (event.type === 'run.finished') {
      live.finished = true;
      const outputsSealed =
        req.keepOutputs && event.status === 'succeeded'
          ? this.sealer.seal(safeStringify(event.outputs).json, `run-outputs:${live.id}`)
          : undefined;
      if (live.rowBatch === b) {
        // Started and finished within one batch: the row is inserted in its final state (one write, not two).
        const r = live.record;
        r.status = event.status;
        r.finishedAt = event.at;
        r.ms = event.ms;
        if (outputsSealed) r.outputsSealed = outputsSealed;
      } else {
        const update: WriteBatch['runUpdates'][number] = {
          id: live.id,
          status: event.status,
          finishedAt: event.at,
          ms: event.ms,
        };
        if (outputsSealed) update.outputsSealed = outputsSealed;
        b.runUpdates.push(update);
      }
      live.rowBatch = undefined;
      // The run is over: what a suspension or a takeover would need goes now, not once the batch is durable (the
      // batch keeps its chunk until it is encoded at the end of this turn).
      live.checkpoint = [];
      live.chunk = undefined;
      live.chunkBatch = undefined;
      req.onFinished?.(b, event, masked as RunFinishedEvent);
      const waiters = this.finishWaiters.get(live.id);
      if (waiters) {
        this.finishWaiters.delete(live.id);
        void promise.then(
          () => waiters.forEach((w) => w(event)),
          () => waiters.forEach((w) => w(event)),
        );
      }
    }
    return promise;
  };

  /**
   * Queue mode, a flow that masks personal data: its stored events hold masked outputs, which a takeover cannot
   * reuse, so the real outcomes go with them, sealed with the instance's key (as the input is) into the run's
   * checkpoint column, in the same transaction as the events: a takeover finds exactly the outcomes the log has.
   * The API never serves that column. Resealed per event of the batch: a cost only such flows pay.
   */
  private sealProgress(live: LiveRun, b: WriteBatch): void {
    const checkpointSealed = this.sealer.seal(
      safeStringify(live.checkpoint).json,
      `run-checkpoint:${live.id}`,
    );
    if (live.progress?.batch === b) {
      live.progress.update.checkpointSealed = checkpointSealed;
      return;
    }
    const update = { id: live.id, status: 'running' as const, finishedAt: null, ms: null, checkpointSealed };
    b.runUpdates.push(update);
    live.progress = { batch: b, update };
  }

  /**
   * The run now waits: in the batch of its `run.suspended`, its status, a sealed checkpoint of its real outcomes
   * and a review task for each node that began waiting in this execution (with an audit entry each).
   */
  private recordSuspension(
    live: LiveRun,
    event: RunSuspendedEvent,
    b: WriteBatch,
    committed: Promise<void>,
  ): void {
    live.finished = true;
    const checkpoint = this.sealer.seal(safeStringify(live.checkpoint).json, `run-checkpoint:${live.id}`);
    // An endpoint's caller may poll a waiting run: the outputs it already has are kept for it, sealed.
    const partial =
      live.record.endpointId && Object.keys(event.outputs).length
        ? this.sealer.seal(safeStringify(event.outputs).json, `run-outputs:${live.id}`)
        : undefined;
    if (live.rowBatch === b) {
      live.record.status = 'waiting';
      live.record.checkpointSealed = checkpoint;
      if (partial) live.record.outputsSealed = partial;
    } else {
      b.runUpdates.push({
        id: live.id,
        status: 'waiting',
        finishedAt: null,
        ms: null,
        checkpointSealed: checkpoint,
        ...(partial ? { outputsSealed: partial } : {}),
      });
    }
    live.rowBatch = undefined;
    const tasks = live.waits.map((w) => taskRecord(live.record, w.real, w.masked, event.at));
    live.waits = [];
    for (const t of tasks) {
      b.reviewTasks.push(t);
      b.audit.push({
        workspaceId: t.workspaceId,
        at: event.at,
        actor: { type: 'system' },
        action: 'review.requested',
        target: `review:${t.id}`,
        details: {
          runId: t.runId,
          nodeId: t.nodeId,
          queue: t.queue,
          dueAt: t.dueAt,
          flowVersion: t.flowVersion,
        },
      });
    }
    live.req.onSuspended?.(b, event, tasks);
    void committed.then(
      () => this.suspensionListener?.(live.id, tasks),
      () => {},
    );
  }

  /** The real outputs of a finished endpoint run (sealed at finish). */
  openOutputs(run: RunRecord): Record<string, unknown> | undefined {
    if (!run.outputsSealed) return undefined;
    return JSON.parse(
      this.sealer.open(run.outputsSealed, `run-outputs:${run.id}`).toString('utf8'),
    ) as Record<string, unknown>;
  }

  async get(workspaceId: string, id: string): Promise<RunRecord> {
    await this.writer.visible();
    const run = await this.repo.getRun(workspaceId, id);
    if (!run) throw notFound(`run ${id}`, 'RUN_NOT_FOUND');
    return run;
  }

  async list(workspaceId: string, filter: RunFilter): Promise<RunRecord[]> {
    await this.writer.visible();
    return this.repo.listRuns(workspaceId, filter);
  }

  async events(workspaceId: string, id: string, afterSeq = -1): Promise<RunEvent[]> {
    await this.get(workspaceId, id);
    return this.repo.runEvents(id, afterSeq);
  }

  async state(workspaceId: string, id: string): Promise<{ record: RunRecord; state: RunState }> {
    const record = await this.get(workspaceId, id);
    const events = await this.repo.runEvents(id, -1);
    return { record, state: foldRun(events, id) };
  }

  /**
   * Sends the run's events after `afterSeq` (replay), then every new one live, in order and without duplicates.
   * Resolves with an unsubscribe function; 404 when the run is not in the workspace.
   */
  async subscribe(
    workspaceId: string,
    runId: string,
    afterSeq: number,
    send: RunListener,
  ): Promise<() => void> {
    let replaying = true;
    let lastSent = afterSeq;
    const buffered: RunEvent[] = [];
    const forward = (e: RunEvent) => {
      if (e.seq <= lastSent) return;
      lastSent = e.seq;
      send(e);
    };
    // Listen before reading the store, so nothing falls between the replay and the live events. A run that has
    // finished gets no more events, so it is not watched.
    const stop = this.watch(runId, (e) => (replaying ? buffered.push(e) : forward(e)));
    try {
      await this.get(workspaceId, runId);
      const stored = await this.repo.runEvents(runId, afterSeq);
      for (const e of stored) forward(e);
      for (const e of buffered) forward(e);
      replaying = false;
      const last = stored.at(-1);
      if (last?.type === 'run.finished' || last?.type === 'run.interrupted') stop();
      return stop;
    } catch (err) {
      stop();
      throw err;
    }
  }

  /**
   * Takes a waiting run in the database with a fresh claim token (after the writes `fill` adds, in the same
   * transaction) and runs its next execution: with the decided tasks nobody resumed yet, or cancelled. Undefined
   * when the run was not waiting with something to resume (another claim, or nothing decided).
   */
  async claimAndResume(
    runId: string,
    options: { cancel?: string; fill?: (b: WriteBatch) => void } = {},
  ): Promise<StartedRun | ResumeOnWorker | undefined> {
    const token = newId(options.cancel === undefined ? 'clm' : CANCEL_CLAIM);
    await this.writer.commitAlone((b) => {
      options.fill?.(b);
      b.resumeClaims.push({ runId, token, cancel: options.cancel !== undefined });
    });
    if (this.resumeOnWorker) {
      // Queue mode: the claim is on record (running, no lease); a worker claims the run and executes it.
      const run = await this.repo.getRunById(runId);
      if (run?.status !== 'running' || run.resumeClaim !== token) return undefined;
      this.resumeOnWorker(runId);
      return { runId, onWorker: true };
    }
    return this.resumeClaimed(runId, token, options.cancel === undefined ? {} : { cancel: options.cancel });
  }

  /** At start: waiting runs whose decision was stored but not resumed (the server stopped in between). */
  async resumePending(): Promise<number> {
    let n = 0;
    for (const runId of await this.repo.waitingRunsWithDecisions()) {
      if (await this.claimAndResume(runId)) n++;
    }
    if (n)
      this.logger.info({ runs: n }, 'waiting runs with decisions taken before the last stop were resumed');
    return n;
  }

  async cancel(workspaceId: string, runId: string, actor: AuditActor): Promise<void> {
    let run = await this.get(workspaceId, runId);
    if (run.status === 'waiting') {
      const cancelled = await this.claimAndResume(runId, { cancel: `by ${actor.name ?? actor.type}` });
      if (cancelled) {
        await this.writer.write((b) =>
          b.audit.push({
            workspaceId,
            at: Date.now(),
            actor,
            action: 'run.cancelled',
            target: `run:${runId}`,
            details: { waiting: true },
          }),
        );
        if ('result' in cancelled) await cancelled.result;
        return;
      }
      // A decision took the run first: it is running now.
      run = await this.get(workspaceId, runId);
    }
    if (run.status === 'queued') {
      if (!this.queuedCancel)
        throw conflict('RUN_QUEUED', 'the run waits for a worker; it can be cancelled once it runs');
      if (await this.queuedCancel(runId)) {
        await this.writer.write((b) =>
          b.audit.push({
            workspaceId,
            at: Date.now(),
            actor,
            action: 'run.cancelled',
            target: `run:${runId}`,
            details: { queued: true },
          }),
        );
        return;
      }
      // A worker claimed it first: it is cancelled on that worker, as a running run is.
      run = await this.get(workspaceId, runId);
    }
    if (run.status !== 'running' && run.status !== 'queued')
      throw conflict('RUN_FINISHED', `the run already ${run.status}`);
    const live = this.live.get(runId);
    if (live) live.handle.cancel(`by ${actor.name ?? actor.type}`);
    else if (this.remoteCancel) this.remoteCancel(runId, `by ${actor.name ?? actor.type}`);
    // Running in the database but not here: its process stopped without marking it.
    else
      void this.markInterrupted(
        run,
        (await this.repo.lastEventSeq(runId)) + 1,
        'the run was no longer executing',
      );
    await this.writer.write((b) =>
      b.audit.push({
        workspaceId,
        at: Date.now(),
        actor,
        action: 'run.cancelled',
        target: `run:${runId}`,
        details: {},
      }),
    );
  }

  /** Runs the same version with the same (real) input again. */
  async rerun(workspaceId: string, runId: string, actor: AuditActor): Promise<StartedRun> {
    const run = await this.get(workspaceId, runId);
    if (run.status === 'running') throw conflict('RUN_IN_FLIGHT', 'the run is still running');
    if (run.trigger === 'draft')
      throw conflict(
        'DRAFT_RUN',
        'a draft run ran a document that was not saved: run the draft again instead',
      );
    let input: unknown;
    if (run.inputSealed) {
      input = JSON.parse(
        this.sealer.open(run.inputSealed, `run-input:${run.id}`).toString('utf8'),
      ) as unknown;
    } else {
      const [started] = await this.repo.runEvents(run.id, -1);
      if (started?.type !== 'run.started')
        throw conflict('INPUT_UNAVAILABLE', 'the input of this run was not recorded');
      input = started.input;
    }
    return this.start({
      workspaceId,
      flowId: run.flowId,
      version: run.flowVersion,
      input,
      trigger: 'rerun',
      actor,
      rerunOf: run.id,
    });
  }

  markInterrupted(run: Pick<RunRecord, 'id' | 'workspaceId'>, seq: number, reason: string): Promise<void> {
    const at = Date.now();
    const event: RunEvent = { type: 'run.interrupted', runId: run.id, seq, at, reason };
    this.publish(run.id, event);
    return this.writer.write((b) => {
      b.events.push({ runId: run.id, seq, lastSeq: seq, events: [JSON.stringify(event)] });
      b.runUpdates.push({ id: run.id, status: 'interrupted', finishedAt: at, ms: null });
      b.audit.push({
        workspaceId: run.workspaceId,
        at,
        actor: { type: 'system' },
        action: 'run.interrupted',
        target: `run:${run.id}`,
        details: { reason },
      });
    });
  }

  /**
   * At start: runs recorded as running belong to a process that is gone. A run that process had just claimed
   * to resume, whose new execution recorded nothing yet, goes back to waiting (its decisions are resumed again).
   */
  async recoverInterrupted(): Promise<number> {
    const running = await this.repo.runningRuns();
    let n = 0;
    for (const run of running) {
      if (this.live.has(run.id)) continue;
      const seq = (await this.repo.lastEventSeq(run.id)) + 1;
      if (run.resumeClaim) {
        const [last] = await this.repo.runEvents(run.id, seq - 2);
        if (last?.type === 'run.suspended' && (await this.repo.reopenClaim(run.id, run.resumeClaim)))
          continue;
      }
      void this.markInterrupted(run, seq, 'the server stopped while the run was in flight');
      n++;
    }
    await this.writer.flush();
    if (n) this.logger.warn({ runs: n }, 'runs in flight at the last stop were marked interrupted');
    return n;
  }

  /** At shutdown: waits up to `graceMs` for runs in flight, then marks the rest interrupted and cancels them. */
  async drain(graceMs: number): Promise<void> {
    if (this.live.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.live.values()].map((l) => l.result)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    const left = [...this.live.values()].filter((l) => !l.finished);
    for (const live of left) {
      const seq = live.lastSeq + 1;
      void this.markInterrupted(live.record, seq, 'the server shut down before the run finished');
      live.closed = true;
      live.handle.cancel('server shutdown');
    }
    if (left.length)
      this.logger.warn({ runs: left.length }, 'runs still in flight at shutdown were marked interrupted');
    await this.writer.flush();
  }
}
