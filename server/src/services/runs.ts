/**
 * Runs: starting a version of a flow with an input, recording every event (masked where the flow marks personal
 * data) through the group committer, fanning events out live to subscribers (socket.io, SSE), cancelling,
 * re-running, and never losing a run to a restart: runs in flight when the server stopped are marked
 * `interrupted` by a `run.interrupted` event at the next start (or at shutdown, after a grace period).
 */
import {
  FlowInputError,
  foldRun,
  type RunEvent,
  type RunFinishedEvent,
  type RunHandle,
  type RunResult,
  type RunState,
  type RunStore,
  type Runtime,
} from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { Logger } from '../logger.js';
import { RunMasker } from '../masking.js';
import type { Metrics, Observer } from '../metrics.js';
import type {
  AuditActor,
  EventChunk,
  Repository,
  RunFilter,
  RunRecord,
  RunTrigger,
  WriteBatch,
} from '../repo/types.js';
import { timeOrderedUuid, type Sealer } from '../security/crypto.js';
import type { CredentialService } from './credentials.js';
import type { FlowService, PreparedVersion } from './flows.js';

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
  /** Seal the real outputs with the run (async endpoint callers poll for them). */
  keepOutputs?: boolean;
  /** Receives every (masked) event from the first; registered before the run starts. */
  listener?: RunListener;
}

export type RunListener = (event: RunEvent) => void;

/** A run executing in this process; also its run store (the runtime appends each event here). */
export class LiveRun implements RunStore {
  private readonly listeners = new Set<RunListener>();
  lastSeq = -1;
  /** Set when the run was marked interrupted at shutdown: later events are neither stored nor sent. */
  closed = false;
  /** Its `run.finished` is recorded (the commit may still be pending). */
  finished = false;
  /** Masks what is stored and sent when the flow marks personal data (made with the first event). */
  masker: RunMasker | undefined;
  /** The batch holding the run's row while it is not committed yet. */
  rowBatch: WriteBatch | undefined;
  /** The chunk of events this run has in the current batch. */
  chunk: EventChunk | undefined;
  chunkBatch: WriteBatch | undefined;
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

  listen(fn: RunListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listened(): boolean {
    return this.listeners.size > 0;
  }

  publish(event: RunEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch {
        // A failing subscriber must not break the run or the other subscribers.
      }
    }
  }
}

export interface StartedRun {
  runId: string;
  flowVersion: number;
  live: LiveRun;
  result: Promise<RunResult>;
}

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
  private readonly live = new Map<string, LiveRun>();

  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly runtime: Runtime,
    private readonly flows: FlowService,
    private readonly credentials: CredentialService,
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

  /** Starts a run; 400 INVALID_INPUT with field errors, 422 INVALID_FLOW, 404 for unknown flows or versions. */
  async start(req: StartRequest): Promise<StartedRun> {
    const plan = await this.flows.prepared(req.workspaceId, req.flowId, req.version);
    return this.startPrepared(plan, req);
  }

  startPrepared(plan: PreparedVersion, req: StartRequest): StartedRun {
    const runId = timeOrderedUuid();
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
      startedAt: Date.now(),
      finishedAt: null,
      ms: null,
    };
    const live = new LiveRun(record, plan, req, this.recordEvent);
    if (req.listener) live.listen(req.listener);
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
        services: { secrets: this.credentials.resolver(req.workspaceId, runId, req.actor) },
        ...(req.deadlineMs === undefined ? {} : { deadlineMs: req.deadlineMs }),
      });
    } catch (err) {
      this.live.delete(runId);
      this.metrics.runsInFlight.value--;
      if (err instanceof FlowInputError)
        throw badRequest('INVALID_INPUT', err.message, { fields: err.errors });
      throw err;
    }
    live.result = live.handle.result.then((r) => {
      this.live.delete(runId);
      this.metrics.runsInFlight.value--;
      this.metrics.runs.labels(live.closed ? 'interrupted' : r.status, req.trigger).inc();
      return r;
    });
    return { runId, flowVersion: plan.version, live, result: live.result };
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
      live.masker = new RunMasker(live.plan.redact, req.input, {
        inputNodeIds: live.plan.inputNodeIds,
        outputNodes: live.plan.outputNodes,
        taintedInputs: live.plan.taintedInputs,
      });
      live.record.inputSealed = this.sealer.seal(JSON.stringify(req.input), `run-input:${live.id}`);
    }
    const masked = live.masker ? live.masker.maskEvent(event) : event;
    live.lastSeq = event.seq;
    if (live.listened) live.publish(masked);
    if (event.type === 'node.succeeded' || event.type === 'node.failed') {
      const timer = this.nodeTimer(live.plan.prepared.byId.get(event.nodeId)?.type ?? 'unknown');
      (event.type === 'node.succeeded' ? timer.ok : timer.failed).observe(event.ms / 1000);
    }
    const json = JSON.stringify(masked);
    const { batch: b, promise } = this.writer.open();
    if (event.type === 'run.started') {
      b.runs.push(live.record);
      live.rowBatch = b;
    }
    // Events of one run written in one batch share one row.
    if (live.chunkBatch === b && live.chunk) {
      live.chunk.events.push(json);
      live.chunk.lastSeq = event.seq;
    } else {
      live.chunk = { runId: live.id, seq: event.seq, lastSeq: event.seq, events: [json] };
      live.chunkBatch = b;
      b.events.push(live.chunk);
    }
    if (event.type === 'run.finished') {
      live.finished = true;
      const outputsSealed =
        req.keepOutputs && event.status === 'succeeded'
          ? this.sealer.seal(JSON.stringify(event.outputs), `run-outputs:${live.id}`)
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
      req.onFinished?.(b, event, masked as RunFinishedEvent);
    }
    return promise;
  };

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
    const live = this.live.get(runId);
    let replaying = true;
    let lastSent = afterSeq;
    const buffered: RunEvent[] = [];
    const forward = (e: RunEvent) => {
      if (e.seq <= lastSent) return;
      lastSent = e.seq;
      send(e);
    };
    // Listen before reading the store, so nothing falls between the replay and the live events.
    const stop = live?.listen((e) => (replaying ? buffered.push(e) : forward(e))) ?? (() => {});
    try {
      await this.get(workspaceId, runId);
      for (const e of await this.repo.runEvents(runId, afterSeq)) forward(e);
      for (const e of buffered) forward(e);
      replaying = false;
      return stop;
    } catch (err) {
      stop();
      throw err;
    }
  }

  async cancel(workspaceId: string, runId: string, actor: AuditActor): Promise<void> {
    const run = await this.get(workspaceId, runId);
    if (run.status !== 'running') throw conflict('RUN_FINISHED', `the run already ${run.status}`);
    const live = this.live.get(runId);
    if (live) live.handle.cancel(`by ${actor.name ?? actor.type}`);
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

  private markInterrupted(
    run: Pick<RunRecord, 'id' | 'workspaceId'>,
    seq: number,
    reason: string,
  ): Promise<void> {
    const at = Date.now();
    const event: RunEvent = { type: 'run.interrupted', runId: run.id, seq, at, reason };
    this.live.get(run.id)?.publish(event);
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

  /** At start: runs recorded as running belong to a process that is gone. */
  async recoverInterrupted(): Promise<number> {
    const running = await this.repo.runningRuns();
    let n = 0;
    for (const run of running) {
      if (this.live.has(run.id)) continue;
      const seq = (await this.repo.lastEventSeq(run.id)) + 1;
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
