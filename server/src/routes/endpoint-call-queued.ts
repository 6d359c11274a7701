/**
 * One call of a published endpoint in queue mode: the same checks in the same order as in main mode
 * (endpoint-call.ts), then the run is launched (stored as queued and enqueued) and a worker executes it.
 * Synchronous calls wait for the worker's result up to the endpoint's timeout (504 with the run id past it; the
 * run still finishes, and the caller may poll /v1/runs/<id>); asynchronous calls get 202 at once; streamed calls
 * receive the run's events from whichever worker executes it. Rate limits and Idempotency-Keys hold across
 * servers (Redis).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppContext } from '../context.js';
import { badRequest, conflict, HttpError } from '../errors.js';
import { hashValue, sha256 } from '../hash.js';
import type { QueueMode } from '../queue/api-mode.js';
import { idempotencyContext } from '../queue/start-spec.js';
import type { RunRecord } from '../repo/types.js';
import { isJsonContentType, parseJsonStrict, readBody } from '../security/json-body.js';
import { timeOrderedUuid } from '../security/crypto.js';
import { checkIdempotencyKey } from '../services/endpoints.js';
import {
  HEARTBEAT_MS,
  sendJson,
  sseFrame,
  wantsAsync,
  wantsEvents,
  type Answer,
  type EndpointCall,
} from './endpoint-call.js';

/** A waiting caller gives the worker this long past the endpoint's timeout to record its deadline failure. */
const ANSWER_SLACK_MS = 2_000;
/** How long a repeated Idempotency-Key waits for the first call's run to be stored, and how often it looks. */
const FIRST_RUN_WAIT_MS = 5_000;
const FIRST_RUN_POLL_MS = 25;

const timeoutAnswer = (runId: string, flowVersion: number, timeoutMs: number): Answer => ({
  status: 504,
  body: {
    error: {
      code: 'TIMEOUT',
      message: `the flow did not finish within ${timeoutMs} ms`,
      details: { runId, flowVersion },
    },
  },
});

const resultFrame = (a: Answer) => {
  const body = a.body as Record<string, unknown>;
  return sseFrame(
    'result',
    a.status === 200 ? { status: 'succeeded', ...body } : { status: 'failed', httpStatus: a.status, ...body },
  );
};

export function queuedEndpointCall(
  ctx: AppContext,
  queue: QueueMode,
  baseHeaders: readonly string[],
): EndpointCall {
  const send = (res: ServerResponse, answer: Answer, replayed = false) => {
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    sendJson(res, answer.status, answer.body, baseHeaders);
  };
  const countCall = (slug: string, status: number) =>
    ctx.metrics.endpointCalls.labels(slug, String(status)).inc();

  /** The answer of a run, waiting for it up to `timeoutMs` (a 504 with the run id past it). */
  async function answerFor(runId: string, flowVersion: number, timeoutMs: number): Promise<Answer> {
    const run = await queue.waitFor(runId, { timeoutMs: timeoutMs + ANSWER_SLACK_MS });
    return run ? queue.answerOf(run, timeoutMs) : timeoutAnswer(runId, flowVersion, timeoutMs);
  }

  /**
   * Starts waiting for a run before it is queued: the run's channel is followed (and Redis confirmed it) before a
   * worker can finish it, so a quick run's `done` is not missed. `drop` stops waiting.
   */
  async function waitBeforeLaunch(runId: string, timeoutMs: number) {
    let drop!: () => void;
    const dropped = new Promise<void>((resolve) => (drop = resolve));
    const settled = queue.waitFor(runId, { timeoutMs: timeoutMs + ANSWER_SLACK_MS, abort: dropped });
    await queue.bus.ready(runId);
    return { settled, drop };
  }

  return async function call(req, res, slug, mode) {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const resolved = await ctx.endpoints.resolve(slug, key);
    const { endpoint, deployment } = resolved;
    await queue.rateLimit(key, endpoint);
    ctx.endpoints.touchKey(key);

    if (!isJsonContentType(req.headers['content-type'])) {
      req.resume();
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the flow input as application/json');
    }
    const raw = await readBody(req, endpoint.maxBodyBytes);
    const input = parseJsonStrict(raw.toString('utf8'));
    if (Array.isArray(input))
      throw badRequest('INVALID_INPUT', 'the body must be a JSON object (the flow input)');

    const async = wantsAsync(req, mode, endpoint.mode);
    const sse = !async && wantsEvents(req);
    const idemHeader = req.headers['idempotency-key'];
    const idemKey = typeof idemHeader === 'string' ? checkIdempotencyKey(idemHeader) : undefined;
    const requestHash = idemKey === undefined ? '' : sha256(raw);
    const runId = timeOrderedUuid();
    let idemMapKey: string | undefined;
    if (idemKey !== undefined) {
      idemMapKey = sha256(`${key.id}\u0000${endpoint.id}\u0000${idemKey}`);
      const held = await queue.claimIdempotency(idemMapKey, requestHash, runId);
      if (held) {
        if (held.requestHash !== requestHash)
          throw conflict('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different body');
        await replay(res, held.runId, idemMapKey, key.id, endpoint.id, idemKey, async, endpoint.timeoutMs);
        return;
      }
    }

    // Everything up to the run's durable record. A call that fails here (the flow's input schema, the database,
    // Redis) gives its Idempotency-Key claim back, so a retry meets the same check rather than a 409.
    const start = async () => {
      // The rollout service chooses the version: a live rollout's sticky split, or the deployment's weights. The
      // worker that finishes the run reports it to the rollout's gates (the route goes with the start spec); the
      // CPU it uses is measured there, so this process's share is dropped.
      const route = ctx.rollouts.route(resolved, key, input);
      const version = route.version;
      if (route.rollout?.cpu) ctx.rollouts.cpu.end(route.rollout.cpu);
      const plan = await ctx.rollouts.planFor(resolved, route);
      const actor = { type: 'key' as const, id: key.id, name: key.name };
      const accepted: Answer | undefined = async
        ? {
            status: 202,
            body: { runId, status: 'running', flowVersion: version, url: `/v1/runs/${runId}` },
          }
        : undefined;
      const waiting = async ? undefined : await waitBeforeLaunch(runId, endpoint.timeoutMs);
      const launched = queue.launcher.launch(plan, {
        runId,
        workspaceId: endpoint.workspaceId,
        flowId: endpoint.flowId,
        version,
        input,
        trigger: 'endpoint',
        actor,
        endpoint: { id: endpoint.id, deploymentId: deployment.id },
        spec: {
          kind: 'endpoint',
          slug: endpoint.slug,
          keyName: key.name,
          async,
          inputHash: hashValue(input),
          ...(async ? {} : { timeoutMs: endpoint.timeoutMs }),
          ...(idemKey === undefined ? {} : { idemKey }),
          ...(route.rollout
            ? {
                rollout: {
                  id: route.rollout.id,
                  arm: route.rollout.arm,
                  startedAt: route.rollout.startedAt,
                  ...(route.rollout.hold ? { hold: route.rollout.hold } : {}),
                },
              }
            : {}),
        },
        ...(idemKey === undefined
          ? {}
          : {
              idempotencyClaim: {
                keyId: key.id,
                endpointId: endpoint.id,
                idemKey,
                requestHash,
                runId,
                status: accepted ? accepted.status : null,
                body: accepted
                  ? ctx.sealer
                      .seal(JSON.stringify(accepted.body), idempotencyContext(key.id, endpoint.id, idemKey))
                      .toString('base64')
                  : null,
                createdAt: Date.now(),
              },
            }),
      });
      try {
        await launched;
      } catch (err) {
        waiting?.drop();
        throw err;
      }
      return { version, accepted, waiting };
    };
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start();
    } catch (err) {
      if (idemMapKey !== undefined)
        await queue.releaseIdempotency(idemMapKey, requestHash, runId).catch(() => undefined);
      throw err;
    }
    const { version, accepted, waiting } = started;

    if (accepted) {
      countCall(endpoint.slug, 202);
      res.setHeader('Location', `/v1/runs/${runId}`);
      send(res, accepted);
      return;
    }
    if (!waiting) return;
    if (sse) {
      await stream(res, endpoint.workspaceId, runId, version, endpoint.timeoutMs, waiting);
      countCall(endpoint.slug, 200);
      return;
    }
    const run = await waiting.settled;
    const answer = run
      ? await queue.answerOf(run, endpoint.timeoutMs)
      : timeoutAnswer(runId, version, endpoint.timeoutMs);
    countCall(endpoint.slug, answer.status);
    if (answer.status === 202) res.setHeader('Location', `/v1/runs/${runId}`);
    send(res, answer);
  };

  /** A repeated Idempotency-Key: the first call's answer (its stored one, or its run's when it is still going). */
  /**
   * The run of the call that holds an Idempotency-Key. That call claimed the key before storing its run, so a
   * repeat that arrives in between (two servers taking the same retry at once) waits for the run to appear,
   * at most FIRST_RUN_WAIT_MS (and the endpoint's timeout), rather than answering 409 for a call about to start.
   * It stops early when the first call gave its claim back (it failed before storing anything).
   */
  async function firstRun(runId: string, mapKey: string, timeoutMs: number): Promise<RunRecord | undefined> {
    const until = Date.now() + Math.min(FIRST_RUN_WAIT_MS, timeoutMs);
    for (;;) {
      await ctx.writer.visible();
      const run = await ctx.repo.getRunById(runId);
      if (run || Date.now() >= until) return run;
      if ((await queue.idempotencyHolder(mapKey).catch(() => runId)) !== runId) return undefined;
      await delay(FIRST_RUN_POLL_MS);
    }
  }

  async function replay(
    res: ServerResponse,
    runId: string,
    mapKey: string,
    keyId: string,
    endpointId: string,
    idemKey: string,
    async: boolean,
    timeoutMs: number,
  ): Promise<void> {
    await ctx.writer.visible();
    const stored = await ctx.repo.getIdempotency(keyId, endpointId, idemKey);
    if (stored?.status != null && stored.body !== null) {
      const body = ctx.sealer
        .open(Buffer.from(stored.body, 'base64'), idempotencyContext(keyId, endpointId, idemKey))
        .toString('utf8');
      send(res, { status: stored.status, body: JSON.parse(body) as unknown }, true);
      return;
    }
    const run = await firstRun(runId, mapKey, timeoutMs);
    if (!run) {
      // The first call has not stored its run within the wait (or failed and gave its claim back).
      throw conflict(
        'IDEMPOTENCY_IN_PROGRESS',
        'the first request with this Idempotency-Key has not finished',
        {
          runId,
        },
      );
    }
    if (async) {
      send(
        res,
        {
          status: 202,
          body: { runId, status: run.status, flowVersion: run.flowVersion, url: `/v1/runs/${runId}` },
        },
        true,
      );
      return;
    }
    send(res, await answerFor(runId, run.flowVersion, timeoutMs), true);
  }

  /** Streams the run's events from the worker executing it, then the result (across a review wait). */
  async function stream(
    res: ServerResponse,
    workspaceId: string,
    runId: string,
    version: number,
    timeoutMs: number,
    waiting: { settled: Promise<RunRecord | undefined>; drop(): void },
  ): Promise<void> {
    res.writeHead(200, [
      ...baseHeaders,
      'Content-Type',
      'text/event-stream; charset=utf-8',
      'Cache-Control',
      'no-cache, no-transform',
      'X-Accel-Buffering',
      'no',
    ]);
    let gone!: () => void;
    const closed = new Promise<void>((resolve) => (gone = resolve));
    res.once('close', gone);
    void closed.then(() => waiting.drop());
    const unsubscribe = await ctx.runs.subscribe(workspaceId, runId, -1, (e) => {
      if (!res.writableEnded) res.write(sseFrame(e.type, e, e.seq));
    });
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      let run: RunRecord | undefined = await waiting.settled;
      if (!run) {
        if (!res.writableEnded) res.end(resultFrame(timeoutAnswer(runId, version, timeoutMs)));
        return;
      }
      if (run.status === 'waiting') {
        res.write(sseFrame('waiting', (await queue.answerOf(run, timeoutMs)).body));
        heartbeat = setInterval(() => res.write(': waiting for a review\n\n'), HEARTBEAT_MS);
        run = await queue.waitFor(runId, { untilFinished: true, abort: closed });
        if (!run) return;
      }
      if (!res.writableEnded) res.end(resultFrame(await queue.answerOf(run, timeoutMs)));
    } finally {
      clearInterval(heartbeat);
      unsubscribe();
      res.off('close', gone);
    }
  }
}
