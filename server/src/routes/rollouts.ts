/**
 * Routes of phased rollouts (see services/rollouts.ts and server/API.md): an endpoint's rollout with its gates,
 * charts and history, the transitions (start, advance, pause, resume, rollback, kill) and the workspace's board.
 */
import {
  rolloutBoardSchema,
  rolloutListSchema,
  rolloutStatusQuery,
  rolloutStatusSchema,
  rolloutTransitionBody,
  startRolloutBody,
} from '@finflow/contract';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import type { AuthContext } from '../services/auth.js';
import type { Operator } from '../services/rollouts.js';
import { actorOf, allow, param, reply } from './common.js';

const id = z.string().min(1).max(100);

const operator = (auth: AuthContext): Operator => ({
  workspaceId: auth.workspace.id,
  actor: actorOf(auth),
  role: auth.role,
});

export function rolloutRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/rollouts', async (_req, res) => {
    const auth = allow(res, 'read');
    reply(res, rolloutBoardSchema, await ctx.rollouts.board(operator(auth)));
  });

  r.get('/endpoints/:id/rollout', async (req, res) => {
    const auth = allow(res, 'read');
    const { buckets } = parseRequest(rolloutStatusQuery, req.query, 'query');
    reply(
      res,
      rolloutStatusSchema,
      await ctx.rollouts.status(operator(auth), parseRequest(id, param(req, 'id'), 'id'), buckets),
    );
  });

  r.get('/endpoints/:id/rollouts', async (req, res) => {
    const auth = allow(res, 'read');
    reply(
      res,
      rolloutListSchema,
      await ctx.rollouts.history(operator(auth), parseRequest(id, param(req, 'id'), 'id')),
    );
  });

  r.post('/endpoints/:id/rollouts', async (req, res) => {
    const auth = allow(res, 'rollout.start');
    const body = parseRequest(startRolloutBody, req.body, 'rollout');
    const rollout = await ctx.rollouts.startRollout(
      operator(auth),
      parseRequest(id, param(req, 'id'), 'id'),
      body,
    );
    reply(res, rolloutStatusSchema, await ctx.rollouts.status(operator(auth), rollout.endpointId), 201);
  });

  r.post('/endpoints/:id/rollout/kill', async (req, res) => {
    const auth = allow(res, 'rollout.operate');
    const { reason } = parseRequest(rolloutTransitionBody, req.body, 'kill');
    const rollout = await ctx.rollouts.kill(operator(auth), parseRequest(id, param(req, 'id'), 'id'), reason);
    reply(res, rolloutStatusSchema, await ctx.rollouts.status(operator(auth), rollout.endpointId));
  });

  const transition = (
    path: string,
    permission: 'rollout.approve' | 'rollout.operate',
    act: (op: Operator, rolloutId: string, reason: string) => Promise<{ endpointId: string }>,
  ) =>
    r.post(`/rollouts/:id/${path}`, async (req, res) => {
      // Advancing is judged by the service (approver role, not the maker): its refusals say why.
      const auth = permission === 'rollout.approve' ? allow(res, 'read') : allow(res, permission);
      const { reason } = parseRequest(rolloutTransitionBody, req.body, path);
      const rollout = await act(operator(auth), parseRequest(id, param(req, 'id'), 'id'), reason);
      reply(res, rolloutStatusSchema, await ctx.rollouts.status(operator(auth), rollout.endpointId));
    });
  transition('advance', 'rollout.approve', (op, rid, reason) => ctx.rollouts.advance(op, rid, reason));
  transition('pause', 'rollout.operate', (op, rid, reason) => ctx.rollouts.pause(op, rid, reason));
  transition('resume', 'rollout.operate', (op, rid, reason) => ctx.rollouts.resume(op, rid, reason));
  transition('rollback', 'rollout.operate', (op, rid, reason) =>
    ctx.rollouts.end(op, rid, 'rolled-back', reason),
  );
  transition('kill', 'rollout.operate', (op, rid, reason) => ctx.rollouts.end(op, rid, 'killed', reason));

  return r;
}
