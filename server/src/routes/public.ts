/**
 * The public API of published endpoints (`/v1`), called by other systems with an API key: calls (handled in
 * endpoint-call.ts), each endpoint's OpenAPI document, the state of asynchronous and waiting runs, and feedback
 * (ground-truth outcomes) on an endpoint's past decisions.
 */
import { endpointFeedbackBody, feedbackSchema } from '@finflow/contract';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { HttpError, notFound, parseRequest } from '../errors.js';
import { isJsonContentType, parseJsonStrict, readBody } from '../security/json-body.js';
import { checkIdempotencyKey, primaryVersion } from '../services/endpoints.js';
import { feedbackView } from '../services/feedback.js';
import { baseUrl, param, reply } from './common.js';
import type { EndpointCall } from './endpoint-call.js';

/** Feedback bodies are small: a run id or business key and a label. */
export const FEEDBACK_MAX_BODY_BYTES = 64 * 1024;

/** The `mode` query parameter when given once (Express's simple parser makes repeats an array). */
export function modeOf(query: unknown): string | undefined {
  const mode = (query as Record<string, unknown>)['mode'];
  return typeof mode === 'string' ? mode : undefined;
}

export function publicRoutes(ctx: AppContext, call: EndpointCall): Router {
  const r = Router();

  r.post('/v1/endpoints/:slug', (req, res, next) => {
    call(req, res, param(req, 'slug'), modeOf(req.query)).catch(next);
  });

  r.get('/v1/endpoints/:slug/openapi.json', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const resolved = await ctx.endpoints.resolve(param(req, 'slug'), key);
    const plan = await ctx.endpoints.plan(resolved, primaryVersion(resolved.deployment));
    // The generator (it converts the contract's answer schemas at import) loads with the first document asked
    // for: a server that only answers endpoints does not carry it (issue 18). The module system keeps it after.
    const { endpointOpenApi } = await import('../openapi.js');
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
    // A waiting run has the outputs of the branches that did not wait; a finished one all of them.
    const outputs =
      record.status === 'succeeded' || record.status === 'waiting'
        ? (ctx.runs.openOutputs(record) ?? state.outputs)
        : undefined;
    const reviews =
      record.status === 'waiting'
        ? (await ctx.repo.reviewTasksOfRun(record.id))
            .filter((t) => t.status === 'open')
            .map((t) => ({ id: t.id, queue: t.queue, dueAt: t.dueAt }))
        : undefined;
    res.json({
      runId: record.id,
      status: record.status,
      flowVersion: record.flowVersion,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      ms: record.ms,
      ...(outputs && (record.status === 'succeeded' || Object.keys(outputs).length) ? { outputs } : {}),
      ...(reviews ? { reviews } : {}),
      ...(state.error ? { error: state.error } : {}),
    });
  });

  r.post('/v1/endpoints/:slug/feedback', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const { endpoint } = await ctx.endpoints.resolve(param(req, 'slug'), key);
    ctx.endpoints.rateLimit(key, endpoint);
    ctx.endpoints.touchKey(key);
    if (!isJsonContentType(req.headers['content-type'])) {
      req.resume();
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the feedback as application/json');
    }
    const raw = await readBody(req, FEEDBACK_MAX_BODY_BYTES);
    const body = parseRequest(endpointFeedbackBody, parseJsonStrict(raw.toString('utf8')), 'feedback');
    const header = req.headers['idempotency-key'];
    const { feedback, created } = await ctx.feedback.record({
      workspaceId: endpoint.workspaceId,
      endpoint,
      runId: body.runId,
      businessKey: body.businessKey,
      label: body.label,
      idempotencyKey: typeof header === 'string' ? checkIdempotencyKey(header) : undefined,
      actor: { type: 'key', id: key.id, name: key.name },
    });
    reply(res, feedbackSchema, feedbackView(feedback), created ? 201 : 200);
  });

  return r;
}
