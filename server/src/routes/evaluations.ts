/** Routes for evaluations: start one on a flow's versions, follow its progress, read or export its report, cancel. */
import { Router } from 'express';
import { z } from 'zod';
import { evaluationSpecSchema } from '@finflow/runtime/evaluation';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { evaluationView } from '../services/evaluations.js';
import { actorOf, allow, param } from './common.js';

const startBody = z.strictObject({
  versions: z.array(z.number().int().min(1)).min(1).max(16),
  dataset: z.strictObject({
    name: z.string().min(1).max(200),
    format: z.enum(['csv', 'jsonl']),
    // The body limit (FINFLOW_API_MAX_BODY_BYTES) bounds it first; the dataset limits then bound rows and shape.
    content: z.string().min(1),
  }),
  // Its expressions are compiled by the service (parseEvaluationSpec), which names the one that is wrong.
  spec: evaluationSpecSchema,
});
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const getQuery = z.object({ format: z.enum(['json', 'md']).default('json') });

export function evaluationRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/flows/:id/evaluations', async (req, res) => {
    const auth = allow(res, 'run.start');
    const body = parseRequest(startBody, req.body, 'evaluation request');
    const record = await ctx.evaluations.start({
      workspaceId: auth.workspace.id,
      flowId: param(req, 'id'),
      versions: body.versions,
      dataset: body.dataset,
      spec: body.spec,
      actor: actorOf(auth),
    });
    res.status(202).json(evaluationView(record));
  });

  r.get('/flows/:id/evaluations', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(listQuery, req.query, 'query');
    const list = await ctx.evaluations.list(auth.workspace.id, param(req, 'id'), q.limit);
    res.json(list.map(evaluationView));
  });

  r.get('/evaluations/:id', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(getQuery, req.query, 'query');
    if (q.format === 'md') {
      const md = await ctx.evaluations.markdown(auth.workspace.id, param(req, 'id'));
      res.setHeader('Content-Disposition', `attachment; filename="evaluation-${param(req, 'id')}.md"`);
      res.type('text/markdown').send(md);
      return;
    }
    res.json(evaluationView(await ctx.evaluations.get(auth.workspace.id, param(req, 'id'))));
  });

  r.post('/evaluations/:id/cancel', async (req, res) => {
    const auth = allow(res, 'run.start');
    await ctx.evaluations.cancel(auth.workspace.id, param(req, 'id'));
    res.status(202).json({ ok: true });
  });

  return r;
}
