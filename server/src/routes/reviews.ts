/** Routes for the review inbox (tasks, queues, decisions) and for feedback on past runs, for signed-in users. */
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { checkIdempotencyKey } from '../services/endpoints.js';
import { parseRequest } from '../errors.js';
import { checkLabelSize, feedbackView } from '../services/feedback.js';
import { reviewTaskView } from '../services/review-records.js';
import { actorOf, allow, param } from './common.js';

const listQuery = z.object({
  status: z.enum(['open', 'decided', 'cancelled']).default('open'),
  queue: z.string().max(64).optional(),
  flowId: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().min(0).optional(),
});
const decisionBody = z.strictObject({
  action: z.enum(['approve', 'override', 'reject']),
  outcome: z.string().min(1).max(100).optional(),
  reason: z.string().trim().min(1, 'give the reason for the decision').max(4000),
  corrections: z
    .record(z.string().min(1).max(200), z.unknown())
    .refine((c) => Object.keys(c).length <= 50, 'at most 50 corrected fields')
    .optional(),
});
const feedbackBody = z.strictObject({ label: z.unknown() });
const labelledQuery = z.object({
  endpointId: z.string().max(100).optional(),
  flowId: z.string().max(100).optional(),
  version: z.coerce.number().int().min(1).optional(),
  source: z.enum(['outcome', 'review']).optional(),
  from: z.coerce.number().int().min(0).default(0),
  to: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export function reviewRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/reviews', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(listQuery, req.query, 'query');
    res.json(
      await ctx.reviews.list(auth, {
        status: q.status,
        limit: q.limit,
        ...(q.queue ? { queue: q.queue } : {}),
        ...(q.flowId ? { flowId: q.flowId } : {}),
        ...(q.before === undefined ? {} : { before: q.before }),
      }),
    );
  });

  r.get('/reviews/queues', async (_req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.reviews.queues(auth.workspace.id));
  });

  r.get('/reviews/:id', async (req, res) => {
    const auth = allow(res, 'read');
    res.json(reviewTaskView(await ctx.reviews.get(auth.workspace.id, param(req, 'id'))));
  });

  r.post('/reviews/:id/decision', async (req, res) => {
    const auth = allow(res, 'read');
    const body = parseRequest(decisionBody, req.body, 'decision');
    if (body.corrections) checkLabelSize(body.corrections, 'CORRECTIONS');
    const result = await ctx.reviews.decide(auth, param(req, 'id'), body);
    res.status(result.decided ? 200 : 202).json(result);
  });

  r.get('/runs/:id/reviews', async (req, res) => {
    const auth = allow(res, 'read');
    res.json(await ctx.reviews.ofRun(auth.workspace.id, param(req, 'id')));
  });

  r.post('/runs/:id/feedback', async (req, res) => {
    const auth = allow(res, 'feedback.write');
    const body = parseRequest(feedbackBody, req.body, 'feedback');
    const header = req.headers['idempotency-key'];
    const { feedback, created } = await ctx.feedback.record({
      workspaceId: auth.workspace.id,
      runId: param(req, 'id'),
      label: body.label,
      idempotencyKey: typeof header === 'string' ? checkIdempotencyKey(header) : undefined,
      actor: actorOf(auth),
    });
    res.status(created ? 201 : 200).json(feedbackView(feedback));
  });

  r.get('/runs/:id/feedback', async (req, res) => {
    const auth = allow(res, 'read');
    res.json((await ctx.feedback.ofRun(auth.workspace.id, param(req, 'id'))).map(feedbackView));
  });

  r.get('/feedback', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(labelledQuery, req.query, 'query');
    const rows = await ctx.feedback.labelled({
      workspaceId: auth.workspace.id,
      from: q.from,
      to: q.to ?? Date.now() + 1,
      limit: q.limit,
      ...(q.endpointId ? { endpointId: q.endpointId } : {}),
      ...(q.flowId ? { flowId: q.flowId } : {}),
      ...(q.version === undefined ? {} : { flowVersion: q.version }),
      ...(q.source ? { source: q.source } : {}),
    });
    res.json(rows.map(feedbackView));
  });

  return r;
}
