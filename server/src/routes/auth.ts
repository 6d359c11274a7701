/** Routes for signing in and out, the first admin, users and workspaces. */
import {
  addUserBody,
  authStatusSchema,
  loginBody,
  memberListSchema,
  sessionSchema,
  setupBody,
  switchWorkspaceBody,
  updateUserBody,
  userSchema,
  workspaceBody,
  workspaceListSchema,
} from '@finflow/contract';
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { SESSION_COOKIE, userView, workspaceView, type AuthContext } from '../services/auth.js';
import { actorOf, allow, authOf, isHttps, param, reply } from './common.js';

function me(auth: AuthContext): z.input<typeof sessionSchema> {
  return {
    user: { ...userView(auth.user), role: auth.role },
    workspace: workspaceView(auth.workspace),
    csrfToken: auth.session.csrfToken,
  };
}

function setSessionCookie(ctx: AppContext, req: Request, res: Response, token: string): void {
  const secure =
    ctx.config.secureCookies === 'always'
      ? true
      : ctx.config.secureCookies === 'never'
        ? false
        : isHttps(req);
  res.cookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    maxAge: ctx.config.sessionTtlMs,
  });
}

/** Routes that work without a session. */
export function publicAuthRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/auth/status', async (_req, res) => {
    reply(res, authStatusSchema, await ctx.auth.status());
  });

  r.post('/auth/setup', async (req, res) => {
    const body = parseRequest(setupBody, req.body, 'setup request');
    const { user } = await ctx.auth.setup(body.token, {
      email: body.email,
      name: body.name,
      password: body.password,
      ...(body.workspaceName ? { workspaceName: body.workspaceName } : {}),
    });
    const { token, auth } = await ctx.auth.login(body.email, body.password, req.ip ?? 'unknown');
    setSessionCookie(ctx, req, res, token);
    reply(res, sessionSchema, { ...me(auth), user: { ...userView(user), role: 'admin' } }, 201);
  });

  r.post('/auth/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body, 'login request');
    const { token, auth } = await ctx.auth.login(body.email, body.password, req.ip ?? 'unknown');
    setSessionCookie(ctx, req, res, token);
    reply(res, sessionSchema, me(auth));
  });

  return r;
}

/** Routes for the signed-in user. */
export function accountRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/auth/logout', async (_req, res) => {
    await ctx.auth.logout(authOf(res));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  r.get('/auth/me', (_req, res) => {
    reply(res, sessionSchema, me(authOf(res)));
  });

  r.post('/auth/workspace', async (req, res) => {
    const body = parseRequest(switchWorkspaceBody, req.body, 'workspace switch');
    const auth = await ctx.auth.switchWorkspace(authOf(res), body.workspaceId);
    reply(res, sessionSchema, me(auth));
  });

  r.get('/workspaces', async (_req, res) => {
    reply(res, workspaceListSchema, await ctx.auth.workspaces(authOf(res).user.id));
  });

  r.post('/workspaces', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(workspaceBody, req.body, 'workspace');
    const ws = await ctx.auth.createWorkspace(auth, body.name);
    reply(res, workspaceListSchema.element, { ...workspaceView(ws), role: 'admin' }, 201);
  });

  r.get('/users', async (_req, res) => {
    const auth = allow(res, 'user.manage');
    reply(res, memberListSchema, await ctx.auth.members(auth.workspace.id));
  });

  r.post('/users', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(addUserBody, req.body, 'user');
    reply(res, userSchema, await ctx.auth.addUser(auth, body), 201);
  });

  r.patch('/users/:id', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(updateUserBody, req.body, 'user change');
    reply(res, userSchema, await ctx.auth.updateUser(auth, param(req, 'id'), body));
  });

  return r;
}

export { actorOf };
