/**
 * One call of a published endpoint (`POST /v1/endpoints/:slug`), written against node:http's request and
 * response so the server can route these calls straight here, past Express's middleware chain (see
 * `createRequestHandler` in app.ts); Express routes the same path here too. The order of checks is fixed: key
 * (401), endpoint and scope (404, 403), rate limit (429), body size and type (413, 415), JSON (400),
 * idempotency (409 or the first answer again), input schema (400), then the run: synchronous (200, or 504 past
 * the endpoint's timeout), asynchronous (202 + a run URL) or streamed as server-sent events.
 *
 * A run that waits for a human review answers a synchronous call with 202, the run id and status `waiting` (the
 * caller polls `/v1/runs/<id>` for the final result); a streamed call gets a `waiting` event and stays open
 * until the run finishes after the review.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunEvent, RunFinishedEvent, RunResult, RunSuspendedEvent } from '@finflow/runtime';
import type { AppContext } from '../context.js';
import { badRequest, conflict, HttpError } from '../errors.js';
import { hashValue, sha256 } from '../hash.js';
import { ReleasingMap } from '../releasing-map.js';
import type { ApiKeyRecord, AuditActor, ReviewTaskRecord, WriteBatch } from '../repo/types.js';
import { isJsonContentType, parseJsonStrict, readBody } from '../security/json-body.js';
import { safeStringify } from '../security/safe-json.js';
import { checkIdempotencyKey } from '../services/endpoints.js';
import { queuedEndpointCall } from './endpoint-call-queued.js';

export interface Answer {
  status: number;
  body: unknown;
}

/** Handles one call; rejects with the error to render (an HttpError, or anything else as a 500). */
export type EndpointCall = (
  req: IncomingMessage,
  res: ServerResponse,
  slug: string,
  /** The `mode` query parameter, when given once. */
  mode: string | undefined,
) => Promise<void>;

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a JSON answer (what Express's `res.status().json()` writes, without its content negotiation), with the
 * headers every answer carries (`base`, as name, value, name, value...) given to `writeHead` in one list.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, base: readonly string[]): void {
  const text = safeStringify(body).json;
  const headers = base.slice();
  headers.push('Content-Type', JSON_TYPE, 'Content-Length', String(Buffer.byteLength(text)));
  res.writeHead(status, headers);
  res.end(text);
}

const actors = new WeakMap<ApiKeyRecord, AuditActor>();
/** The audit actor of a key (one object per cached key record, not one per call). */
function keyActor(key: ApiKeyRecord): AuditActor {
  let actor = actors.get(key);
  if (!actor) actors.set(key, (actor = { type: 'key', id: key.id, name: key.name }));
  return actor;
}

/** The HTTP answer for a finished run. */
export function answerOf(
  event: RunFinishedEvent,
  runId: string,
  flowVersion: number,
  timeoutMs: number,
): Answer {
  if (event.status === 'succeeded')
    return { status: 200, body: { runId, flowVersion, outputs: event.outputs } };
  const error = event.error;
  if (error?.code === 'RUN_DEADLINE') {
    return {
      status: 504,
      body: {
        error: {
          code: 'TIMEOUT',
          message: `the flow did not finish within ${timeoutMs} ms`,
          details: { runId, flowVersion },
        },
      },
    };
  }
  if (event.status === 'cancelled') {
    return {
      status: 503,
      body: {
        error: {
          code: 'RUN_CANCELLED',
          message: error?.message ?? 'the run was cancelled',
          details: { runId, flowVersion },
        },
      },
    };
  }
  return {
    status: 500,
    body: {
      error: {
        code: 'RUN_FAILED',
        message: `the flow failed${error?.nodeId ? ` at node ${error.nodeId}` : ''}: ${error?.message ?? 'unknown error'}`,
        details: {
          runId,
          flowVersion,
          ...(error?.nodeId ? { nodeId: error.nodeId } : {}),
          cause: error?.code ?? 'INTERNAL',
        },
      },
    },
  };
}

export function wantsAsync(
  req: IncomingMessage,
  mode: string | undefined,
  defaultMode: 'sync' | 'async',
): boolean {
  if (mode === 'async') return true;
  if (mode === 'sync') return false;
  const prefer = req.headers['prefer'];
  if (prefer !== undefined && /\brespond-async\b/i.test(String(prefer))) return true;
  return defaultMode === 'async';
}

/**
 * A run whose decision could not be recorded (the database went away before its last commit) answers 503: a
 * decision without its record and audit entry is never given.
 */
function notRecorded(result: RunResult, runId: string): Answer | undefined {
  if (result.error?.code !== 'STORE_FAILED') return undefined;
  return {
    status: 503,
    body: {
      error: {
        code: 'RUN_NOT_RECORDED',
        message: 'the decision could not be recorded, so it is not given; try again',
        details: { runId },
      },
    },
  };
}

/**
 * The answer for a run that now waits for reviews (the caller polls the run URL for the final result), with the
 * outputs the branches that did not wait already gave (a notice for the customer, say).
 */
export function waitingAnswer(
  event: RunSuspendedEvent,
  flowVersion: number,
  tasks: ReviewTaskRecord[],
): Answer {
  return {
    status: 202,
    body: {
      runId: event.runId,
      status: 'waiting',
      flowVersion,
      url: `/v1/runs/${event.runId}`,
      reviews: tasks.map((t) => ({ id: t.id, queue: t.queue, dueAt: t.dueAt })),
      ...(Object.keys(event.outputs).length ? { outputs: event.outputs } : {}),
    },
  };
}

/** Comments on an open event stream while the run waits for a review, so proxies keep it open. */
export const HEARTBEAT_MS = 15_000;

export const wantsEvents = (req: IncomingMessage) => (req.headers.accept ?? '').includes('text/event-stream');

export const sseFrame = (event: string, data: unknown, id?: number) =>
  `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;

/**
 * The handler of endpoint calls. `baseHeaders` (name, value, ...) go on every answer: the security headers the
 * rest of the server sets through its middleware.
 */
export function endpointCall(ctx: AppContext, baseHeaders: readonly string[]): EndpointCall {
  if (ctx.queue) return queuedEndpointCall(ctx, ctx.queue, baseHeaders);
  const send = (res: ServerResponse, answer: Answer, replayed = false) => {
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    sendJson(res, answer.status, answer.body, baseHeaders);
  };
  const eventStream = (extra: string[]) => [
    ...baseHeaders,
    'Content-Type',
    'text/event-stream; charset=utf-8',
    ...extra,
  ];
  // Calls with an Idempotency-Key in flight; deleted entries let go of their answers at once (releasing-map.ts).
  const inflight = new ReleasingMap<string, { hash: string; answer: Promise<Answer> }>();
  const idemContext = (k: string) => `idempotency:${k}`;
  const countCall = (slug: string, status: number) =>
    ctx.metrics.endpointCalls.labels(slug, String(status)).inc();

  return async function call(req, res, slug, mode) {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const resolved = await ctx.endpoints.resolve(slug, key);
    const { endpoint, deployment } = resolved;
    ctx.endpoints.rateLimit(key, endpoint);
    ctx.endpoints.touchKey(key);

    if (!isJsonContentType(req.headers['content-type'])) {
      req.resume();
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the flow input as application/json');
    }
    const raw = await readBody(req, endpoint.maxBodyBytes);
    const input = parseJsonStrict(raw.toString('utf8'), ctx.config.jsonMaxDepth);
    if (Array.isArray(input))
      throw badRequest('INVALID_INPUT', 'the body must be a JSON object (the flow input)');

    const idemHeader = req.headers['idempotency-key'];
    const idemKey = typeof idemHeader === 'string' ? checkIdempotencyKey(idemHeader) : undefined;
    const mapKey = idemKey === undefined ? undefined : `${key.id}\u0000${endpoint.id}\u0000${idemKey}`;
    const requestHash = idemKey === undefined ? '' : sha256(raw);
    if (mapKey !== undefined && idemKey !== undefined) {
      const running = inflight.get(mapKey);
      if (running) {
        if (running.hash !== requestHash)
          throw conflict('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different body');
        send(res, await running.answer, true);
        return;
      }
      const stored = await ctx.repo.getIdempotency(key.id, endpoint.id, idemKey);
      if (stored) {
        if (stored.requestHash !== requestHash) {
          throw conflict('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different body');
        }
        if (stored.status === null || stored.body === null) {
          throw conflict(
            'IDEMPOTENCY_IN_PROGRESS',
            'the first request with this Idempotency-Key has not finished',
            { runId: stored.runId },
          );
        }
        const body = ctx.sealer
          .open(Buffer.from(stored.body, 'base64'), idemContext(mapKey))
          .toString('utf8');
        send(res, { status: stored.status, body: JSON.parse(body) as unknown }, true);
        return;
      }
    }

    // The rollout service chooses the version (a rollout's sticky split, or the deployment's weights).
    // A pilot that reviews before release runs the challenger's held copy: its answer waits for a reviewer.
    const route = ctx.rollouts.route(resolved, key, input);
    const version = route.version;
    const plan = await ctx.rollouts.planFor(resolved, route);
    const async = wantsAsync(req, mode, endpoint.mode);
    const sse = !async && wantsEvents(req);
    const actor = keyActor(key);
    const inputHash = hashValue(input);
    const sealAnswer = (a: Answer) =>
      ctx.sealer.seal(JSON.stringify(a.body), idemContext(mapKey as string)).toString('base64');
    let answer: Answer | undefined;
    let waiting: Answer | undefined;
    let streamed = false;
    const onFinished = (b: WriteBatch, event: RunFinishedEvent, masked: RunFinishedEvent) => {
      const finalAnswer = answerOf(event, event.runId, version, endpoint.timeoutMs);
      if (!async) answer = finalAnswer;
      if (route.rollout)
        ctx.rollouts.observe(route, endpoint, event, input, actor, {
          batch: b,
          masked,
          deploymentId: deployment.id,
        });
      const error = masked.error;
      b.audit.push({
        workspaceId: endpoint.workspaceId,
        at: event.at,
        actor,
        action: 'endpoint.decision',
        target: `endpoint:${endpoint.id}`,
        details: {
          slug: endpoint.slug,
          deploymentId: deployment.id,
          flowId: endpoint.flowId,
          flowVersion: version,
          runId: event.runId,
          inputHash,
          status: event.status,
          ...(async ? {} : { httpStatus: finalAnswer.status }),
          outputs: masked.outputs,
          ...(error
            ? { error: { code: error.code, ...(error.nodeId ? { nodeId: error.nodeId } : {}) } }
            : {}),
        },
      });
      if (mapKey !== undefined && idemKey !== undefined && !async) {
        b.idempotency.push({
          keyId: key.id,
          endpointId: endpoint.id,
          idemKey,
          status: finalAnswer.status,
          body: sealAnswer(finalAnswer),
          runId: event.runId,
        });
      }
    };
    const onSuspended = (b: WriteBatch, event: RunSuspendedEvent, tasks: ReviewTaskRecord[]) => {
      waiting = waitingAnswer(event, version, tasks);
      if (route.rollout) ctx.rollouts.observeWaiting(route, endpoint, tasks);
      b.audit.push({
        workspaceId: endpoint.workspaceId,
        at: event.at,
        actor,
        action: 'endpoint.waiting',
        target: `endpoint:${endpoint.id}`,
        details: {
          slug: endpoint.slug,
          deploymentId: deployment.id,
          flowId: endpoint.flowId,
          flowVersion: version,
          runId: event.runId,
          inputHash,
          reviews: tasks.map((t) => ({ id: t.id, queue: t.queue })),
        },
      });
      // A repeated call gets this answer: the run id to poll.
      if (mapKey !== undefined && idemKey !== undefined && !async) {
        b.idempotency.push({
          keyId: key.id,
          endpointId: endpoint.id,
          idemKey,
          status: waiting.status,
          body: sealAnswer(waiting),
          runId: event.runId,
        });
      }
    };
    const started = ctx.runs.startPrepared(plan, {
      workspaceId: endpoint.workspaceId,
      flowId: endpoint.flowId,
      version,
      input,
      trigger: 'endpoint',
      actor,
      endpoint: { id: endpoint.id, deploymentId: deployment.id, slug: endpoint.slug },
      ...(async ? { keepOutputs: true } : { deadlineMs: endpoint.timeoutMs }),
      ...(sse
        ? {
            listener: (e: RunEvent) => {
              if (!streamed) {
                streamed = true;
                res.writeHead(
                  200,
                  eventStream(['Cache-Control', 'no-cache, no-transform', 'X-Accel-Buffering', 'no']),
                );
              }
              res.write(sseFrame(e.type, e, e.seq));
            },
          }
        : {}),
      onFinished,
      onSuspended,
    });
    // Registered now, so a run that finishes after a review reaches a stream still open for it.
    const finished = sse ? ctx.runs.whenFinished(started.runId) : undefined;

    const accepted: Answer | undefined = async
      ? {
          status: 202,
          body: {
            runId: started.runId,
            status: 'running',
            flowVersion: version,
            url: `/v1/runs/${started.runId}`,
          },
        }
      : undefined;
    if (mapKey !== undefined && idemKey !== undefined) {
      const claim = {
        keyId: key.id,
        endpointId: endpoint.id,
        idemKey,
        requestHash,
        runId: started.runId,
        status: accepted ? accepted.status : null,
        body: accepted ? sealAnswer(accepted) : null,
        createdAt: Date.now(),
      };
      void ctx.writer.write((b) => b.idempotencyClaims.push(claim));
      const final = accepted
        ? started.stored.then(() => accepted)
        : started.result.then((r) => (notRecorded(r, started.runId) ?? answer ?? waiting) as Answer);
      inflight.set(mapKey, { hash: requestHash, answer: final });
      // Forget the in-process entry once the answer is on disk: later repeats read it from the database.
      void final.then(
        () => inflight.delete(mapKey),
        () => inflight.delete(mapKey),
      );
    }

    if (accepted) {
      await started.stored;
      countCall(endpoint.slug, 202);
      res.setHeader('Location', `/v1/runs/${started.runId}`);
      send(res, accepted);
      return;
    }
    const first = await started.result;
    if (first.status === 'waiting' && waiting) {
      if (sse && finished) {
        await streamUntilFinished(
          res,
          waiting,
          finished.finished,
          started.runId,
          version,
          endpoint.timeoutMs,
        );
        finished.cancel();
        started.unwatch();
        countCall(endpoint.slug, 200);
        return;
      }
      started.unwatch();
      countCall(endpoint.slug, 202);
      res.setHeader('Location', `/v1/runs/${started.runId}`);
      send(res, waiting);
      return;
    }
    started.unwatch();
    finished?.cancel();
    const final = notRecorded(first, started.runId) ??
      answer ?? {
        status: 503,
        body: {
          error: {
            code: 'RUN_INTERRUPTED',
            message: 'the server shut down before the run finished',
            details: { runId: started.runId },
          },
        },
      };
    countCall(endpoint.slug, final.status);
    if (sse) {
      if (!streamed) res.writeHead(200, eventStream(['Cache-Control', 'no-cache']));
      const body = final.body as Record<string, unknown>;
      res.end(
        sseFrame(
          'result',
          final.status === 200
            ? { status: 'succeeded', ...body }
            : { status: 'failed', httpStatus: final.status, ...body },
        ),
      );
      return;
    }
    send(res, final);
  };

  /** An event stream across a review: a `waiting` event, the run's events after it, then the `result`. */
  async function streamUntilFinished(
    res: ServerResponse,
    waitingAnswer: Answer,
    finished: Promise<RunFinishedEvent>,
    runId: string,
    version: number,
    timeoutMs: number,
  ): Promise<void> {
    if (!res.headersSent) res.writeHead(200, eventStream(['Cache-Control', 'no-cache, no-transform']));
    res.write(sseFrame('waiting', waitingAnswer.body));
    const heartbeat = setInterval(() => res.write(': waiting for a review\n\n'), HEARTBEAT_MS);
    let gone: (() => void) | undefined;
    const closed = new Promise<undefined>((resolve) => {
      gone = () => resolve(undefined);
      res.once('close', gone);
    });
    try {
      const event = await Promise.race([finished, closed]);
      if (!event) return;
      const final = answerOf(event, runId, version, timeoutMs);
      const body = final.body as Record<string, unknown>;
      res.end(
        sseFrame(
          'result',
          final.status === 200
            ? { status: 'succeeded', ...body }
            : { status: 'failed', httpStatus: final.status, ...body },
        ),
      );
    } finally {
      clearInterval(heartbeat);
      if (gone) res.off('close', gone);
    }
  }
}
