/**
 * The public API of published endpoints (`/v1`), called by other systems with an API key: calls (handled in
 * endpoint-call.ts), each endpoint's OpenAPI document, and the state of asynchronous runs.
 */
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { endpointOpenApi } from '../openapi.js';
import { primaryVersion } from '../services/endpoints.js';
import { baseUrl, param } from './common.js';
import type { EndpointCall } from './endpoint-call.js';

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
