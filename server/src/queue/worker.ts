/**
 * The worker (queue mode, in `finflow worker` processes): takes run ids from the BullMQ queue, claims each run
 * with a lease in the database, executes it (a takeover when a previous worker died mid-run), appends its events,
 * publishes them live, and releases the lease. What to do when the run finishes comes from handlers keyed by its
 * start spec. A sweep hands runs back to the queue when their job was lost (Redis restarted without persistence)
 * or their worker's lease expired; it never touches a run under a live lease.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GroupCommitter } from '../db/group-commit.js';
import type { Logger } from '../logger.js';
import type { RunLeases } from '../repo/leases.js';
import type { Repository, RunRecord } from '../repo/types.js';
import { newId, type Sealer } from '../security/crypto.js';
import { isCancelClaim, type RunService, type StartedRun } from '../services/runs.js';
import type { RunBus } from './bus.js';
import { handlersFor } from './handlers.js';
import { enqueue, QUEUE_NAME, type RunJob } from './launcher.js';
import { parseStartSpec } from './start-spec.js';

export interface RunWorkerOptions {
  repo: Repository;
  leases: RunLeases;
  writer: GroupCommitter;
  runs: RunService;
  sealer: Sealer;
  bus: RunBus;
  /** BullMQ connections (one for the worker's blocking reads, one for the queue the sweep adds to). */
  connection: Redis;
  queueConnection: Redis;
  concurrency: number;
  leaseMs: number;
  logger: Logger;
}

export type Outcome = 'executed' | 'held-elsewhere' | 'not-executable';

export class RunWorker {
  /** This process's lease owner name. */
  readonly owner = newId('wkr');
  private worker: Worker<RunJob> | undefined;
  private readonly queue: Queue<RunJob>;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly executing = new Map<string, Promise<unknown>>();
  executed = 0;

  constructor(private readonly o: RunWorkerOptions) {
    this.queue = new Queue<RunJob>(QUEUE_NAME, { connection: o.queueConnection });
    this.queue.on('error', (err) => o.logger.warn({ err: err.message }, 'queue connection error'));
  }

  start(): void {
    const { o } = this;
    this.worker = new Worker<RunJob>(QUEUE_NAME, (job: Job<RunJob>) => this.execute(job.data.runId), {
      connection: o.connection,
      concurrency: o.concurrency,
      // BullMQ's own lock follows the run's lease: a killed worker's job goes back to the queue as stalled.
      lockDuration: o.leaseMs,
      stalledInterval: Math.max(1_000, Math.floor(o.leaseMs / 2)),
      maxStalledCount: 1_000,
    });
    this.worker.on('error', (err) => o.logger.warn({ err: err.message }, 'worker connection error'));
    this.sweeper = setInterval(() => void this.sweep(), Math.max(500, Math.floor(o.leaseMs / 2)));
    this.sweeper.unref();
    void this.sweep();
  }

  /**
   * Hands orphaned runs back to the queue: queued for longer than a lease with nobody holding them, or held under
   * a lease that expired. Enqueueing an id whose job still exists does nothing; the claim decides who executes.
   */
  async sweep(): Promise<number> {
    const now = Date.now();
    let ids: string[];
    try {
      ids = await this.o.leases.orphanedRuns(now, now - this.o.leaseMs, 200);
    } catch (err) {
      this.o.logger.warn({ err }, 'the orphaned-run sweep could not read the database');
      return 0;
    }
    let n = 0;
    for (const id of ids) {
      if (this.executing.has(id)) continue;
      try {
        await enqueue(this.queue, id);
        n++;
      } catch {
        return n;
      }
    }
    return n;
  }

  /** Claims and executes one run; resolves when its execution ended and its lease is released. */
  async execute(runId: string): Promise<Outcome> {
    const { o } = this;
    // A cancellation from any API server (the user's Cancel, or an SSE caller's) reaches the run here. The
    // channel is followed before the claim: a cancel sent once the claim is committed (the API server's own
    // conditional cancel lost to it) is heard, and kept until the run's execution exists.
    const cancel: { reason?: string; started?: StartedRun | undefined } = {};
    const cancels = o.bus.follow(runId, {
      cancel: (reason) => {
        cancel.reason ??= reason;
        cancel.started?.live.handle.cancel(reason);
      },
    });
    try {
      await o.bus.ready(runId);
      const run = await o.leases.claimRun(runId, this.owner, Date.now(), o.leaseMs);
      if (!run) return 'held-elsewhere';
      const done = this.executeClaimed(run.id, run, cancel);
      this.executing.set(runId, done);
      try {
        return await done;
      } finally {
        this.executing.delete(runId);
      }
    } finally {
      cancels();
    }
  }

  private async executeClaimed(
    runId: string,
    run: NonNullable<Awaited<ReturnType<RunLeases['claimRun']>>>,
    cancel: { reason?: string; started?: StartedRun | undefined },
  ): Promise<Outcome> {
    const { o } = this;
    const publish = o.runs.watch(runId, (e) => o.bus.publishEvent(runId, e));
    let lost = false;
    let started: StartedRun | undefined;
    const renew = setInterval(
      () =>
        void o.leases.renewLease(runId, this.owner, Date.now(), o.leaseMs).then(
          (held) => {
            if (held || lost) return;
            // Another worker took the run over (this one stalled past its lease): stop, record nothing more.
            lost = true;
            o.logger.warn({ runId }, 'the lease on a run was lost; its execution here stops');
            if (started) {
              started.live.closed = true;
              started.live.handle.cancel('lease lost');
            }
          },
          (err: unknown) => o.logger.warn({ err, runId }, 'renewing a run lease failed'),
        ),
      Math.max(250, Math.floor(o.leaseMs / 3)),
    );
    try {
      const spec = parseStartSpec(run.startSpec);
      try {
        started = (await this.resumesAfterReview(run))
          ? await o.runs.resumeClaimed(runId, run.resumeClaim ?? '', {
              onWorker: true,
              ...(isCancelClaim(run.resumeClaim ?? '') ? { cancel: 'cancelled while it waited' } : {}),
            })
          : await o.runs.executeQueued(run, handlersFor(run, spec, { sealer: o.sealer, now: Date.now() }));
        cancel.started = started;
        if (started && cancel.reason !== undefined) started.live.handle.cancel(cancel.reason);
      } catch (err) {
        // The flow or its input no longer fits (a version deleted, a schema changed): the run cannot execute.
        o.logger.warn({ err, runId }, 'a queued run could not start');
        await o.runs.markInterrupted(
          run,
          (await o.repo.lastEventSeq(runId)) + 1,
          `the run could not start: ${(err as Error).message}`,
        );
        started = undefined;
      }
      if (!started) {
        await o.writer.flush();
        o.bus.publishDone(runId, 'interrupted');
        return 'not-executable';
      }
      const result = await started.result;
      await o.writer.flush().catch(() => {});
      if (started.live.abandoned) {
        // Its writes failed (the database went away): the lease is left to expire and the run is taken over
        // from what was committed, by whichever worker the sweep hands it to.
        lost = true;
        o.logger.warn({ runId }, 'recording a run failed; it will be taken over once its lease expires');
        return 'executed';
      }
      this.executed++;
      if (!lost) o.bus.publishDone(runId, result.status);
      return 'executed';
    } finally {
      clearInterval(renew);
      publish();
      if (!lost)
        await o.leases
          .releaseLease(runId, this.owner)
          .catch((err: unknown) => o.logger.warn({ err, runId }, 'releasing a run lease failed'));
    }
  }

  /**
   * A run claimed to resume after a review whose new execution recorded nothing yet (its log ends with the
   * suspension): its next execution starts from the sealed checkpoint with the claim's decisions. Anything
   * after the suspension means a worker died mid-resume: a takeover from the log (executeQueued).
   */
  private async resumesAfterReview(run: RunRecord): Promise<boolean> {
    if (run.status !== 'running' || !run.resumeClaim) return false;
    const lastSeq = await this.o.repo.lastEventSeq(run.id);
    const [last] = await this.o.repo.runEvents(run.id, lastSeq - 1);
    return last?.type === 'run.suspended';
  }

  get inFlight(): number {
    return this.executing.size;
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for the runs executing here; the rest keep their leases, which
   * expire, and another worker takes them over.
   */
  async close(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    const worker = this.worker;
    this.worker = undefined;
    const closing = worker?.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([closing, ...this.executing.values()]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    if (this.executing.size) await worker?.close(true).catch(() => {});
    await this.queue.close().catch(() => {});
  }
}
