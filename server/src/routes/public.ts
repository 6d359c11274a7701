/**
 * The public API of published endpoints (`/v1`), called by other systems with an API key. The order of checks
 * is fixed: key (401), endpoint and scope (404, 403), rate limit (429), body size and type (413, 415), JSON (400),
 * idempotency (409 or the first answer again), input schema (400), then the run: synchronous (200, or 504 past
 * the endpoint's timeout), asynchronous (202 + a run URL) or streamed as server-sent events.
 */
import type { Request, Response } from 'express';
import { Router } from 'express';
import type { RunEvent, RunFinishedEvent } from '@finflow/runtime';
import type { AppContext } from '../context.js';
import { badRequest, conflict, HttpError, notFound } from '../errors.js';
import { hashValue, sha256 } from '../hash.js';
import { endpointOpenApi } from '../openapi.js';
import type { ApiKeyRecord, AuditActor } from '../repo/types.js';
import { isJsonContentType, parseJsonStrict, readBody } from '../security/json-body.js';
import { checkIdempotencyKey, pickTarget, primaryVersion } from '../services/endpoints.js';
import { baseUrl, param } from './common.js';

interface Answer {
  status: number;
  body: unknown;
}

const keyActor = (key: ApiKeyRecord): AuditActor => ({ type: 'key', id: key.id, name: key.name });

/** The HTTP answer for a finished run. */
function answerOf(event: RunFinishedEvent, runId: string, flowVersion: number, timeoutMs: number): Answer {
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

function send(res: Response, answer: Answer, replayed = false): void {
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}

function wantsAsync(req: Request, defaultMode: 'sync' | 'async'): boolean {
  const mode = req.query['mode'];
  if (mode === 'async') return true;
  if (mode === 'sync') return false;
  if (/\brespond-async\b/i.test(String(req.headers.prefer ?? ''))) return true;
  return defaultMode === 'async';
}

const wantsEvents = (req: Request) => (req.headers.accept ?? '').includes('text/event-stream');

const sseFrame = (event: string, data: unknown, id?: number) =>
  `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;

export function publicRoutes(ctx: AppContext): Router {
  const r = Router();
  const inflight = new Map<string, { hash: string; answer: Promise<Answer> }>();
  const idemContext = (k: string) => `idempotency:${k}`;

  async function call(req: Request, res: Response): Promise<void> {
    const slug = param(req, 'slug');
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
    const input = parseJsonStrict(raw.toString('utf8'));
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
            {
              runId: stored.runId,
            },
          );
        }
        const body = ctx.sealer
          .open(Buffer.from(stored.body, 'base64'), idemContext(mapKey))
          .toString('utf8');
        send(res, { status: stored.status, body: JSON.parse(body) as unknown }, true);
        return;
      }
    }

    const version = pickTarget(deployment.targets);
    const plan = await ctx.endpoints.plan(resolved, version);
    const async = wantsAsync(req, endpoint.mode);
    const sse = !async && wantsEvents(req);
    const inputHash = hashValue(input);
    const sealAnswer = (a: Answer) =>
      ctx.sealer.seal(JSON.stringify(a.body), idemContext(mapKey as string)).toString('base64');
    let answer: Answer | undefined;
    let streamed = false;
    const started = ctx.runs.startPrepared(plan, {
      workspaceId: endpoint.workspaceId,
      flowId: endpoint.flowId,
      version,
      input,
      trigger: 'endpoint',
      actor: keyActor(key),
      endpoint: { id: endpoint.id, deploymentId: deployment.id, slug: endpoint.slug },
      ...(async ? { keepOutputs: true } : { deadlineMs: endpoint.timeoutMs }),
      ...(sse
        ? {
            listener: (e: RunEvent) => {
              if (!streamed) {
                streamed = true;
                res.writeHead(200, {
                  'Content-Type': 'text/event-stream; charset=utf-8',
                  'Cache-Control': 'no-cache, no-transform',
                  'X-Accel-Buffering': 'no',
                });
              }
              res.write(sseFrame(e.type, e, e.seq));
            },
          }
        : {}),
      onFinished: (b, event, masked) => {
        const finalAnswer = answerOf(event, event.runId, version, endpoint.timeoutMs);
        if (!async) answer = finalAnswer;
        const error = masked.error;
        b.audit.push({
          workspaceId: endpoint.workspaceId,
          at: event.at,
          actor: keyActor(key),
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
      },
    });

    const accepted: Answer = {
      status: 202,
      body: {
        runId: started.runId,
        status: 'running',
        flowVersion: version,
        url: `/v1/runs/${started.runId}`,
      },
    };
    if (mapKey !== undefined && idemKey !== undefined) {
      const claim = {
        keyId: key.id,
        endpointId: endpoint.id,
        idemKey,
        requestHash,
        runId: started.runId,
        status: async ? accepted.status : null,
        body: async ? sealAnswer(accepted) : null,
        createdAt: Date.now(),
      };
      void ctx.writer.write((b) => b.idempotencyClaims.push(claim));
      const final = async
        ? ctx.writer.flush().then(() => accepted)
        : started.result.then(() => answer as Answer);
      inflight.set(mapKey, { hash: requestHash, answer: final });
      // Forget the in-process entry once the answer is on disk: later repeats read it from the database.
      void final.then(
        () => inflight.delete(mapKey),
        () => inflight.delete(mapKey),
      );
    }

    if (async) {
      await ctx.writer.flush();
      ctx.metrics.endpointCalls.inc({ endpoint: endpoint.slug, status: '202' });
      res.setHeader('Location', `/v1/runs/${started.runId}`);
      send(res, accepted);
      return;
    }
    await started.result;
    const final = answer ?? {
      status: 503,
      body: {
        error: {
          code: 'RUN_INTERRUPTED',
          message: 'the server shut down before the run finished',
          details: { runId: started.runId },
        },
      },
    };
    ctx.metrics.endpointCalls.inc({ endpoint: endpoint.slug, status: String(final.status) });
    if (sse) {
      if (!streamed)
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-cache',
        });
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
  }

  r.post('/v1/endpoints/:slug', (req, res, next) => {
    call(req, res).catch(next);
  });

  r.get('/v1/endpoints/:slug/openapi.json', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const resolved = await ctx.endpoints.resolve(param(req, 'slug'), key);
    const plan = await ctx.endpoints.plan(resolved, primaryVersion(resolved.deployment));
    res.json(endpointOpenApi(resolved.endpoint, plan, baseUrl(req)));
  });

  r.get('/v1/runs/:id', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const id = param(req, 'id');
    let found;
    try {
      found = await ctx.runs.state(key.workspaceId, id);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) throw notFound(`run ${id}`, 'RUN_NOT_FOUND');
      throw err;
    }
    const { record, state } = found;
    const scoped =
      key.endpoints === '*' || (record.endpointId !== null && key.endpoints.includes(record.endpointId));
    if (record.trigger !== 'endpoint' || !scoped) throw notFound(`run ${id}`, 'RUN_NOT_FOUND');
    const outputs =
      record.status === 'succeeded' ? (ctx.runs.openOutputs(record) ?? state.outputs) : undefined;
    res.json({
      runId: record.id,
      status: record.status,
      flowVersion: record.flowVersion,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      ms: record.ms,
      ...(outputs ? { outputs } : {}),
      ...(state.error ? { error: state.error } : {}),
    });
  });

  return r;
}
