/**
 * Federated training routes. `/api/federated/datasets` (signed in; developers and admins): a holder's training
 * tables, never returning a row. `/v1/federated/datasets/:name/sessions...` (API key named by the dataset): the
 * holder API a coordinator calls to join a session, get masked updates and leave.
 */
import {
  datasetNamePattern,
  federatedDatasetBody,
  federatedDatasetListSchema,
  federatedDatasetSchema,
  joinRequestSchema,
  updateRequestSchema,
} from '@finflow/contract';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { HttpError, parseRequest } from '../errors.js';
import { isJsonContentType, parseJsonStrict, readBody } from '../security/json-body.js';
import { actorOf, allow, param, reply } from './common.js';

/** A join request is small; an update carries the model and the encoding (at most a few hundred kB). */
export const FEDERATED_JOIN_MAX_BYTES = 64 * 1024;
export const FEDERATED_UPDATE_MAX_BYTES = 4 * 1024 * 1024;

const datasetName = z
  .string()
  .regex(datasetNamePattern, 'a dataset name starts with a letter and holds letters, digits, _ . -');
const sessionId = z.uuid();

async function jsonOf(req: Request, limit: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    req.resume();
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
  return parseJsonStrict((await readBody(req, limit)).toString('utf8'));
}

export function federatedRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/federated/datasets', async (_req, res) => {
    const auth = allow(res, 'federated.read');
    reply(res, federatedDatasetListSchema, await ctx.federated.list(auth.workspace.id));
  });

  r.get('/federated/datasets/:name', async (req, res) => {
    const auth = allow(res, 'federated.read');
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    reply(res, federatedDatasetSchema, await ctx.federated.get(auth.workspace.id, name));
  });

  r.put('/federated/datasets/:name', async (req, res) => {
    const auth = allow(res, 'federated.write');
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    const body = parseRequest(federatedDatasetBody, req.body, 'federated dataset');
    const outcome = await ctx.federated.put(auth.workspace.id, name, body, actorOf(auth));
    reply(
      res,
      federatedDatasetSchema,
      await ctx.federated.get(auth.workspace.id, name),
      outcome === 'created' ? 201 : 200,
    );
  });

  r.delete('/federated/datasets/:name', async (req, res) => {
    const auth = allow(res, 'federated.write');
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    await ctx.federated.remove(auth.workspace.id, name, actorOf(auth));
    res.status(204).end();
  });

  return r;
}

export function federatedHolderRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/v1/federated/datasets/:name/sessions', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    const body = parseRequest(joinRequestSchema, await jsonOf(req, FEDERATED_JOIN_MAX_BYTES), 'join request');
    ctx.endpoints.touchKey(key);
    res.status(201).json(await ctx.federated.join(key, name, body));
  });

  r.post('/v1/federated/datasets/:name/sessions/:session/updates', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    const session = parseRequest(sessionId, param(req, 'session'), 'session id');
    const body = parseRequest(
      updateRequestSchema,
      await jsonOf(req, FEDERATED_UPDATE_MAX_BYTES),
      'update request',
    );
    ctx.endpoints.touchKey(key);
    res.json(await ctx.federated.update(key, name, session, body));
  });

  r.delete('/v1/federated/datasets/:name/sessions/:session', async (req, res) => {
    const key = await ctx.endpoints.authenticate(req.headers.authorization);
    const name = parseRequest(datasetName, param(req, 'name'), 'dataset name');
    const session = parseRequest(sessionId, param(req, 'session'), 'session id');
    await ctx.federated.leave(key, name, session);
    res.status(204).end();
  });

  return r;
}
