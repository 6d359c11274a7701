/**
 * Routes across the business (server/API.md, "Across the business"): the workspace's model artefacts, promoting a
 * flow into another workspace, and the programme owner's rollout board over every workspace the caller is in.
 */
import { artefactHash, artefactListQuery, promoteBody, versionNumber } from '@finflow/contract';
import type { Request } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import type { AuthContext } from '../services/auth.js';
import { artefactRefSchema, artefactView } from '../services/artefacts.js';
import { flowView } from '../services/flows.js';
import type { Promoter } from '../services/promotion.js';
import { accountOf, actorOf, allow, param } from './common.js';

const id = z.string().min(1).max(100);
const needsQuery = z.object({ targetWorkspaceId: id });

const promoter = (auth: AuthContext, req: Request): Promoter => ({
  workspaceId: auth.workspace.id,
  role: auth.role,
  user: { id: auth.user.id, name: auth.user.name },
  actor: actorOf(auth),
  source: req.ip ?? 'unknown',
});

export function programmeRoutes(ctx: AppContext): Router {
  const r = Router();

  // Artefacts are read by whoever may read the flows that hold them (the editor shows a version's models); none
  // is ever written or deleted through the API: they arrive with the flow versions that reference them.
  r.get('/artefacts', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(artefactListQuery, req.query, 'query');
    res.json((await ctx.flows.artefacts.list(auth.workspace.id, q.limit, q.before)).map(artefactView));
  });

  r.get('/artefacts/:sha256', async (req, res) => {
    const auth = allow(res, 'read');
    const hash = parseRequest(artefactHash, param(req, 'sha256'), 'artefact id');
    const a = await ctx.flows.artefacts.content(auth.workspace.id, hash);
    res.json({ artefact: artefactView(a), model: JSON.parse(a.content) as unknown });
  });

  r.get('/flows/:id/versions/:n/artefacts', async (req, res) => {
    const auth = allow(res, 'read');
    const n = parseRequest(versionNumber, req.params['n'], 'version number');
    const flow = await ctx.flows.get(auth.workspace.id, parseRequest(id, param(req, 'id'), 'id'));
    const v = await ctx.repo.getVersion(flow.id, n);
    if (!v) {
      await ctx.flows.getVersion(auth.workspace.id, flow.id, n); // throws VERSION_NOT_FOUND
      return;
    }
    const doc = JSON.parse(v.document) as { nodes?: { id: string; config?: Record<string, unknown> }[] };
    const refs = [];
    for (const node of doc.nodes ?? []) {
      for (const [field, value] of Object.entries(node.config ?? {})) {
        const ref = artefactRefSchema.safeParse(value);
        if (ref.success)
          refs.push({ nodeId: node.id, field, sha256: ref.data.sha256, kind: ref.data.modelKind });
      }
    }
    res.json(refs);
  });

  r.get('/flows/:id/promotion', async (req, res) => {
    const auth = allow(res, 'read');
    const q = parseRequest(needsQuery, req.query, 'query');
    res.json(
      await ctx.promotion.needs(
        promoter(auth, req),
        parseRequest(id, param(req, 'id'), 'id'),
        q.targetWorkspaceId,
      ),
    );
  });

  r.post('/flows/:id/promote', async (req, res) => {
    const auth = allow(res, 'flow.promote');
    const body = parseRequest(promoteBody, req.body, 'promotion');
    const result = await ctx.promotion.promote(
      promoter(auth, req),
      parseRequest(id, param(req, 'id'), 'id'),
      body,
    );
    res.status(201).json({
      flow: flowView(result.flow),
      targetWorkspace: { id: result.targetWorkspace.id, name: result.targetWorkspace.name },
      versions: result.versions,
      artefacts: result.artefacts,
    });
  });

  // Any signed-in account: it lists only the workspaces the account is a member of.
  r.get('/rollouts/board', async (_req, res) => {
    const account = accountOf(res);
    res.json(
      await ctx.rolloutBoard.board(account.user, {
        type: 'user',
        id: account.user.id,
        name: account.user.name,
      }),
    );
  });

  return r;
}
