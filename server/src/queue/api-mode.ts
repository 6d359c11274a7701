/**
 * Queue mode on an API server: the launcher and its BullMQ queue, the run event bus (events of runs executing on
 * workers reach this server's watchers: socket.io subscribers, SSE streams, synchronous calls), the rate limits
 * and Idempotency-Keys every server shares, and what a request waiting for a worker's result needs.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunFinishedEvent } from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { HttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import { leasesOf } from '../repo/leases.js';
import type { ApiKeyRecord, EndpointRecord, Repository, RunRecord } from '../repo/types.js';
import type { Sealer } from '../security/crypto.js';
import type { ConnectionService } from '../services/connections.js';
import type { FlowService } from '../services/flows.js';
import type { RunService } from '../services/runs.js';
import type { Runtime } from '@finflow/runtime';
import { answerOf, waitingAnswer, type Answer } from '../routes/endpoint-call.js';
import { RunBus } from './bus.js';
import { enqueue, QUEUE_NAME, RunLauncher, type RunJob } from './launcher.js';
import { closeQuietly, queueConnection, ready, requestConnection, subscriberConnection } from './redis.js';
import { SharedTokenBuckets } from './shared-rate-limit.js';

/** How often a request waiting for a worker re-reads the run (the bus's `done` is the fast path). */
const POLL_MS = 1_000;
/** An Idempotency-Key held in Redis as long as its answer is kept in the database. */
const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** Compare-and-delete: a claim is given back only by the call that holds it. */
const RELEASE_IF_OURS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface QueueModeDeps {
  redisUrl: string;
  repo: Repository;
  writer: GroupCommitter;
  runtime: Runtime;
  flows: FlowService;
  connections: ConnectionService;
  runs: RunService;
  sealer: Sealer;
  logger: Logger;
}

export const queueUnavailable = () =>
  new HttpError(
    503,
    'QUEUE_UNAVAILABLE',
    'the run queue (Redis) is not reachable; retry shortly',
    undefined,
    {
      'Retry-After': '1',
    },
  );

/** A run that reached a state a waiting caller can be answered with. */
const settled = (r: RunRecord) => r.status !== 'queued' && r.status !== 'running';

export class QueueMode {
  readonly launcher: RunLauncher;
  readonly bus: RunBus;
  private readonly limits: SharedTokenBuckets;
  /** Redis clients of socket.io's adapter (broadcasts reach the sockets of every server). */
  readonly adapterClients: { pub: Redis; sub: Redis };
  private readonly clients: Redis[];

  private constructor(
    private readonly d: QueueModeDeps,
    private readonly request: Redis,
    private readonly queue: Queue<RunJob>,
    pub: Redis,
    sub: Redis,
    queueConn: Redis,
  ) {
    this.launcher = new RunLauncher({ ...d, queue });
    this.bus = new RunBus(pub, sub, (err) =>
      d.logger.debug({ err: (err as Error).message }, 'run bus command failed'),
    );
    this.limits = new SharedTokenBuckets(request);
    this.adapterClients = { pub: requestConnection(d.redisUrl), sub: subscriberConnection(d.redisUrl) };
    this.clients = [request, pub, sub, queueConn, this.adapterClients.pub, this.adapterClients.sub];
    for (const c of this.clients) c.on('error', () => {});
    // Events of runs executing on workers reach this server's watchers.
    d.runs.followRemote(
      (runId, deliver) => this.bus.follow(runId, { event: deliver }),
      (runId, reason) => this.bus.publishCancel(runId, reason),
      (runId) => this.cancelQueued(runId),
    );
    // A run resumed after a review executes on a worker too; a job lost here is enqueued again by the sweep.
    d.runs.resumeOnWorkers((runId) => {
      enqueue(queue, runId).catch((err: unknown) =>
        d.logger.warn({ err, runId }, 'enqueueing a resumed run failed; the workers sweep will take it'),
      );
    });
  }

  /**
   * Ends a run no worker has taken as cancelled. The database decides the race with a worker's claim (one
   * conditional update each); the job is then only a pointer to a cancelled run, so removing it is a courtesy
   * (a worker that takes it anyway finds nothing to claim). Waiting callers hear `done` and read the run.
   */
  async cancelQueued(runId: string): Promise<boolean> {
    if (!(await leasesOf(this.d.repo).cancelQueued(runId, Date.now()))) return false;
    void this.queue.remove(runId).catch(() => {});
    this.bus.publishDone(runId, 'cancelled');
    return true;
  }

  static async start(d: QueueModeDeps): Promise<QueueMode> {
    const queueConn = queueConnection(d.redisUrl);
    const request = requestConnection(d.redisUrl);
    const pub = requestConnection(d.redisUrl);
    const sub = subscriberConnection(d.redisUrl);
    try {
      await Promise.all([queueConn, request, pub, sub].map((r) => ready(r)));
    } catch (err) {
      await Promise.all([queueConn, request, pub, sub].map((r) => closeQuietly(r)));
      throw new Error(`queue mode: ${(err as Error).message} (REDIS_URL)`, { cause: err });
    }
    const queue = new Queue<RunJob>(QUEUE_NAME, { connection: queueConn });
    queue.on('error', (err) => d.logger.warn({ err: err.message }, 'queue connection error'));
    return new QueueMode(d, request, queue, pub, sub, queueConn);
  }

  /** socket.io's Redis adapter over this server's adapter clients. */
  socketAdapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.adapterClients.pub, this.adapterClients.sub);
  }

  /** The endpoint rate limit, shared by every server (429 past it; 503 while Redis is away). */
  async rateLimit(key: ApiKeyRecord, endpoint: EndpointRecord): Promise<void> {
    let r;
    try {
      r = await this.limits.take(`${key.id}|${endpoint.id}`, endpoint.rateLimitPerMinute, 60_000);
    } catch {
      throw queueUnavailable();
    }
    if (!r.ok) {
      const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `this key may call ${endpoint.slug} ${endpoint.rateLimitPerMinute} times a minute; retry in ${seconds} s`,
        { limitPerMinute: endpoint.rateLimitPerMinute },
        { 'Retry-After': String(seconds) },
      );
    }
  }

  /**
   * Claims an Idempotency-Key for a run across all servers (SET NX). Returns undefined when this call won it,
   * or the request hash and run id of the call that holds it.
   */
  async claimIdempotency(
    mapKey: string,
    requestHash: string,
    runId: string,
  ): Promise<{ requestHash: string; runId: string } | undefined> {
    const key = `finflow:idem:${mapKey}`;
    let won;
    try {
      won = await this.request.set(key, `${requestHash} ${runId}`, 'PX', IDEMPOTENCY_TTL_MS, 'NX');
      if (won === 'OK') return undefined;
      const held = await this.request.get(key);
      if (held) {
        const [hash = '', id = ''] = held.split(' ');
        return { requestHash: hash, runId: id };
      }
    } catch {
      throw queueUnavailable();
    }
    // Expired between the two commands: try once more.
    return this.claimIdempotency(mapKey, requestHash, runId);
  }

  /**
   * Gives back a claim this call won when the call failed before its run was stored (a 400 for the flow's input
   * schema, the database or Redis failing): a retry with the same key must meet the same check again, not a 409
   * for 24 hours. Deletes the key only while it still holds this call's run (another call's claim stays).
   */
  async releaseIdempotency(mapKey: string, requestHash: string, runId: string): Promise<void> {
    await this.request.eval(RELEASE_IF_OURS, 1, `finflow:idem:${mapKey}`, `${requestHash} ${runId}`);
  }

  /** The run id a claimed Idempotency-Key holds now (undefined once it was given back or expired). */
  async idempotencyHolder(mapKey: string): Promise<string | undefined> {
    const held = await this.request.get(`finflow:idem:${mapKey}`);
    return held ? held.split(' ')[1] : undefined;
  }

  /**
   * Waits until a run executing on a worker reaches an answer (finished, or waiting for a review when
   * `untilFinished` is false), reading the run when the bus says it is done and every second in case a message
   * was lost; resolves undefined after `timeoutMs` or when `abort` fires.
   */
  waitFor(
    runId: string,
    options: { timeoutMs?: number; untilFinished?: boolean; abort?: Promise<unknown> },
  ): Promise<RunRecord | undefined> {
    return new Promise((resolve) => {
      let over = false;
      let reading = false;
      const finish = (r: RunRecord | undefined) => {
        if (over) return;
        over = true;
        clearInterval(poll);
        clearTimeout(timer);
        stop();
        resolve(r);
      };
      const check = () => {
        if (over || reading) return;
        reading = true;
        void this.d.writer
          .visible()
          .then(() => this.d.repo.getRunById(runId))
          .then(
            (r) => {
              reading = false;
              if (r && settled(r) && !(options.untilFinished && r.status === 'waiting')) finish(r);
            },
            () => (reading = false),
          );
      };
      const stop = this.bus.follow(runId, { done: check });
      const poll = setInterval(check, POLL_MS);
      const timer =
        options.timeoutMs === undefined ? undefined : setTimeout(() => finish(undefined), options.timeoutMs);
      void options.abort?.then(() => finish(undefined));
      check();
    });
  }

  /** The answer to a call for a run in an answerable state (see `waitFor`), as main mode gives it. */
  async answerOf(run: RunRecord, timeoutMs: number): Promise<Answer> {
    if (run.status === 'waiting') {
      const tasks = (await this.d.repo.reviewTasksOfRun(run.id)).filter((t) => t.status === 'open');
      const outputs = this.d.runs.openOutputs(run) ?? {};
      const event = {
        type: 'run.suspended' as const,
        runId: run.id,
        seq: 0,
        at: 0,
        waiting: [],
        outputs,
        ms: 0,
      };
      return waitingAnswer(event, run.flowVersion, tasks);
    }
    if (run.status === 'interrupted') {
      return {
        status: 503,
        body: {
          error: {
            code: 'RUN_INTERRUPTED',
            message: 'the run was interrupted before it finished',
            details: { runId: run.id },
          },
        },
      };
    }
    const last = (await this.d.repo.runEvents(run.id, (await this.d.repo.lastEventSeq(run.id)) - 1)).at(-1);
    // A run cancelled while queued never started, so it has no `run.finished`: its status answers.
    const finished: RunFinishedEvent =
      last?.type === 'run.finished'
        ? last
        : run.status === 'cancelled'
          ? {
              type: 'run.finished',
              runId: run.id,
              seq: 0,
              at: 0,
              status: 'cancelled',
              outputs: {},
              ms: 0,
              error: { code: 'CANCELLED', message: 'the run was cancelled before a worker took it' },
            }
          : { type: 'run.finished', runId: run.id, seq: 0, at: 0, status: 'failed', outputs: {}, ms: 0 };
    const outputs = run.status === 'succeeded' ? (this.d.runs.openOutputs(run) ?? finished.outputs) : {};
    return answerOf({ ...finished, outputs }, run.id, run.flowVersion, timeoutMs);
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => {});
    await Promise.all(this.clients.map((c) => closeQuietly(c)));
  }
}
