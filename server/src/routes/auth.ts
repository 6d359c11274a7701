/** Routes for signing in and out, the first admin, users and workspaces. */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { roles } from '../repo/types.js';
import { SESSION_COOKIE, userView, workspaceView, type AuthContext } from '../services/auth.js';
import { actorOf, allow, authOf, isHttps, param } from './common.js';

const email = z.email().max(320);
const password = z.string().min(1).max(1024);
const name = z.string().trim().min(1).max(200);
const role = z.enum(roles);

const loginBody = z.strictObject({ email, password });
const setupBody = z.strictObject({
  token: z.string().min(1).max(200),
  email,
  name,
  password,
  workspaceName: name.optional(),
});
const switchBody = z.strictObject({ workspaceId: z.string().min(1).max(100) });
const workspaceBody = z.strictObject({ name });
const addUserBody = z.strictObject({ email, name: name.optional(), password: password.optional(), role });
const updateUserBody = z
  .strictObject({
    role: role.optional(),
    name: name.optional(),
    password: password.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one field');

function me(auth: AuthContext) {
  return {
    user: userView(auth.user, auth.role),
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
    res.json(await ctx.auth.status());
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
    res.status(201).json({ ...me(auth), user: userView(user, 'admin') });
  });

  r.post('/auth/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body, 'login request');
    const { token, auth } = await ctx.auth.login(body.email, body.password, req.ip ?? 'unknown');
    setSessionCookie(ctx, req, res, token);
    res.json(me(auth));
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
    res.json(me(authOf(res)));
  });

  r.post('/auth/workspace', async (req, res) => {
    const body = parseRequest(switchBody, req.body, 'workspace switch');
    const auth = await ctx.auth.switchWorkspace(authOf(res), body.workspaceId);
    res.json(me(auth));
  });

  r.get('/workspaces', async (_req, res) => {
    res.json(await ctx.auth.workspaces(authOf(res).user.id));
  });

  r.post('/workspaces', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(workspaceBody, req.body, 'workspace');
    const ws = await ctx.auth.createWorkspace(auth, body.name);
    res.status(201).json({ ...workspaceView(ws), role: 'admin' });
  });

  r.get('/users', async (_req, res) => {
    const auth = allow(res, 'user.manage');
    res.json(await ctx.auth.members(auth.workspace.id));
  });

  r.post('/users', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(addUserBody, req.body, 'user');
    res.status(201).json(await ctx.auth.addUser(auth, body));
  });

  r.patch('/users/:id', async (req, res) => {
    const auth = allow(res, 'user.manage');
    const body = parseRequest(updateUserBody, req.body, 'user change');
    res.json(await ctx.auth.updateUser(auth, param(req, 'id'), body));
  });

  return r;
}

export { actorOf };
