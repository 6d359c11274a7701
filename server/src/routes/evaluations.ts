/** Routes for evaluations: start one on a flow's versions, follow its progress, read or export its report, cancel. */
import {
  evaluationGetQuery,
  evaluationListQuery,
  evaluationListSchema,
  evaluationSchema,
  okSchema,
  startEvaluationBody,
} from '@finflow/contract';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { evaluationView } from '../services/evaluations.js';
import { actorOf, allow, param, reply } from './common.js';

export function evaluationRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/flows/:id/evaluations', async (req, res) => {
    const auth = allow(res, 'run.start');
    const body = parseRequest(startEvaluationBody, req.body, 'evaluation request');
    const record = await ctx.evaluations.start({
      workspaceId: auth.workspace.id,
      flowId: param(req, 'id'),
      versions: body.versions,
      dataset: body.dataset,
      spec: body.spec,
      actor: actorOf(auth),
    });
    reply(res, evaluationSchema, evaluationView(record), 202);
  });

  r.get('/flows/:id/evaluations', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(evaluationListQuery, req.query, 'query');
    const list = await ctx.evaluations.list(auth.workspace.id, param(req, 'id'), q.limit);
    reply(res, evaluationListSchema, list.map(evaluationView));
  });

  r.get('/evaluations/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(evaluationGetQuery, req.query, 'query');
    if (q.format === 'md') {
      const md = await ctx.evaluations.markdown(auth.workspace.id, param(req, 'id'));
      res.setHeader('Content-Disposition', `attachment; filename="evaluation-${param(req, 'id')}.md"`);
      res.type('text/markdown').send(md);
      return;
    }
    reply(
      res,
      evaluationSchema,
      evaluationView(await ctx.evaluations.get(auth.workspace.id, param(req, 'id'))),
    );
  });

  r.post('/evaluations/:id/cancel', async (req, res) => {
    const auth = allow(res, 'run.start');
    await ctx.evaluations.cancel(auth.workspace.id, param(req, 'id'));
    reply(res, okSchema, { ok: true }, 202);
  });

  return r;
}
