/**
 * Routes for the continuous learning of a published endpoint: its settings, manual retraining and the jobs, the
 * training baseline, the drift of inputs and score, and the drift alerts. Changing anything is the developer's
 * or admin's (`model.retrain`); every role that reads may read.
 */
import { Router } from 'express';
import { z } from 'zod';
import {
  driftAlertListSchema,
  driftSchema,
  learningSchema,
  putBaselineBody,
  putLearningBody,
  retrainJobSchema,
  startRetrainBody,
} from '@finflow/contract';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { actorOf, allow, param, reply } from './common.js';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });
const driftQuery = z.object({
  calls: z.coerce.number().int().min(20).max(5_000).optional(),
  version: z.coerce.number().int().min(1).optional(),
});

export function learningRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/endpoints/:id/learning', async (req, res) => {
    const auth = allow(res, 'read');
    reply(res, learningSchema, await ctx.learning.get(auth.workspace.id, param(req, 'id')));
  });

  r.put('/endpoints/:id/learning', async (req, res) => {
    const auth = allow(res, 'model.retrain');
    const body = parseRequest(putLearningBody, req.body, 'learning settings');
    reply(
      res,
      learningSchema,
      await ctx.learning.configure(auth.workspace.id, param(req, 'id'), body.config, actorOf(auth)),
    );
  });

  r.post('/endpoints/:id/retrain', async (req, res) => {
    const auth = allow(res, 'model.retrain');
    const body = parseRequest(startRetrainBody, req.body ?? {}, 'retrain request');
    const job = await ctx.learning.retrain(
      auth.workspace.id,
      param(req, 'id'),
      actorOf(auth),
      { id: auth.user.id, name: auth.user.name },
      'manual',
      body.reason,
    );
    reply(res, retrainJobSchema, job, 202);
  });

  r.get('/endpoints/:id/retrain-jobs', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(listQuery, req.query, 'query');
    res.json(await ctx.learning.jobs(auth.workspace.id, param(req, 'id'), q.limit));
  });

  r.get('/retrain-jobs/:id', async (req, res) => {
    const auth = allow(res, 'read');
    reply(res, retrainJobSchema, await ctx.learning.job(auth.workspace.id, param(req, 'id')));
  });

  r.put('/endpoints/:id/learning/baseline', async (req, res) => {
    const auth = allow(res, 'model.retrain');
    const body = parseRequest(putBaselineBody, req.body, 'baseline');
    res.json(
      await ctx.learning.setBaseline(
        auth.workspace.id,
        param(req, 'id'),
        body.version,
        body.dataset,
        actorOf(auth),
      ),
    );
  });

  r.get('/endpoints/:id/drift', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(driftQuery, req.query, 'query');
    reply(
      res,
      driftSchema,
      await ctx.learning.drift(auth.workspace.id, param(req, 'id'), {
        ...(q.calls === undefined ? {} : { calls: q.calls }),
        ...(q.version === undefined ? {} : { version: q.version }),
        record: true,
      }),
    );
  });

  r.get('/endpoints/:id/drift/alerts', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(listQuery, req.query, 'query');
    reply(res, driftAlertListSchema, await ctx.learning.alerts(auth.workspace.id, param(req, 'id'), q.limit));
  });

  return r;
}
