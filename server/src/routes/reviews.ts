/** Routes for the review inbox (tasks, queues, decisions) and for feedback on past runs, for signed-in users. */
import {
  feedbackBody,
  feedbackListSchema,
  feedbackQuery,
  feedbackSchema,
  reviewDecisionBody,
  reviewDecisionResultSchema,
  reviewListQuery,
  reviewQueueListSchema,
  reviewTaskListSchema,
  reviewTaskSchema,
} from '@finflow/contract';
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { checkIdempotencyKey } from '../services/endpoints.js';
import { parseRequest } from '../errors.js';
import { checkLabelSize, feedbackView } from '../services/feedback.js';
import { reviewTaskView } from '../services/review-records.js';
import { actorOf, allow, param, reply } from './common.js';

export function reviewRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/reviews', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(reviewListQuery, req.query, 'query');
    reply(
      res,
      reviewTaskListSchema,
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
    reply(res, reviewQueueListSchema, await ctx.reviews.queues(auth.workspace.id));
  });

  r.get('/reviews/:id', async (req, res) => {
    const auth = allow(res, 'read');
    reply(res, reviewTaskSchema, reviewTaskView(await ctx.reviews.get(auth.workspace.id, param(req, 'id'))));
  });

  r.post('/reviews/:id/decision', async (req, res) => {
    const auth = allow(res, 'read');
    const body = parseRequest(reviewDecisionBody, req.body, 'decision');
    if (body.corrections) checkLabelSize(body.corrections, 'CORRECTIONS');
    const result = await ctx.reviews.decide(auth, param(req, 'id'), body);
    reply(res, reviewDecisionResultSchema, result, result.decided ? 200 : 202);
  });

  r.get('/runs/:id/reviews', async (req, res) => {
    const auth = allow(res, 'read');
    reply(res, reviewTaskListSchema, await ctx.reviews.ofRun(auth.workspace.id, param(req, 'id')));
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
    reply(res, feedbackSchema, feedbackView(feedback), created ? 201 : 200);
  });

  r.get('/runs/:id/feedback', async (req, res) => {
    const auth = allow(res, 'read');
    reply(
      res,
      feedbackListSchema,
      (await ctx.feedback.ofRun(auth.workspace.id, param(req, 'id'))).map(feedbackView),
    );
  });

  r.get('/feedback', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(feedbackQuery, req.query, 'query');
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
    reply(res, feedbackListSchema, rows.map(feedbackView));
  });

  return r;
}
