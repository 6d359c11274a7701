/**
 * Routes for signing in and out, the first admin, the signed-in account (its own changes and its invitations),
 * workspaces, a workspace's members and invitations (its admins), and accounts across the instance (instance
 * owners). The rules are in services/auth.ts; these routes parse, call and answer.
 */
import {
  accountBody,
  accountFields,
  accountInvitationListSchema,
  accountListSchema,
  addUserBody,
  auditListSchema,
  auditCheckpointSchema,
  auditQuery,
  auditVerifyBody,
  auditVerifySchema,
  authStatusSchema,
  invitationAcceptedSchema,
  invitationCreatedSchema,
  invitationListSchema,
  loginBody,
  memberBody,
  memberListSchema,
  memberWorkspaceSchema,
  newAccountBody,
  ownAccountBody,
  sessionSchema,
  setupBody,
  switchWorkspaceBody,
  userSchema,
  workspaceBody,
  workspaceListSchema,
  type Session,
} from '@finflow/contract';
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context.js';
import { parseRequest } from '../errors.js';
import { INSTANCE_AUDIT } from '../services/audit.js';
import {
  invitationView,
  SESSION_COOKIE,
  userView,
  workspaceView,
  type AccountContext,
} from '../services/auth.js';
import { ForbiddenError } from '../services/errors.js';
import { accountOf, actorOf, allow, isHttps, param, reply } from './common.js';

async function me(ctx: AppContext, account: AccountContext): Promise<Session> {
  return {
    user: { ...userView(account.user), role: account.role },
    workspace: account.workspace ? workspaceView(account.workspace) : null,
    csrfToken: account.session.csrfToken,
    invitations: (await ctx.auth.myInvitations(account)).length,
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

const source = (req: Request) => req.ip ?? 'unknown';

/** Routes that work without a session. */
export function publicAuthRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/auth/status', async (_req, res) => {
    reply(res, authStatusSchema, await ctx.auth.status());
  });

  r.post('/auth/setup', async (req, res) => {
    const body = parseRequest(setupBody, req.body, 'setup request');
    await ctx.auth.setup(body.token, {
      email: body.email,
      name: body.name,
      password: body.password,
      ...(body.workspaceName ? { workspaceName: body.workspaceName } : {}),
    });
    const { token, account } = await ctx.auth.login(body.email, body.password, source(req));
    setSessionCookie(ctx, req, res, token);
    reply(res, sessionSchema, await me(ctx, account), 201);
  });

  r.post('/auth/login', async (req, res) => {
    const body = parseRequest(loginBody, req.body, 'login request');
    const { token, account } = await ctx.auth.login(body.email, body.password, source(req));
    setSessionCookie(ctx, req, res, token);
    reply(res, sessionSchema, await me(ctx, account));
  });

  return r;
}

/** Routes of the signed-in account, in a workspace or not. */
export function accountRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/auth/logout', async (_req, res) => {
    await ctx.auth.logout(accountOf(res));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  r.get('/auth/me', async (_req, res) => {
    reply(res, sessionSchema, await me(ctx, accountOf(res)));
  });

  r.post('/auth/workspace', async (req, res) => {
    const body = parseRequest(switchWorkspaceBody, req.body, 'workspace switch');
    reply(
      res,
      sessionSchema,
      await me(ctx, await ctx.auth.switchWorkspace(accountOf(res), body.workspaceId)),
    );
  });

  r.get('/workspaces', async (_req, res) => {
    reply(res, workspaceListSchema, await ctx.auth.workspaces(accountOf(res).user.id));
  });

  r.post('/workspaces', async (req, res) => {
    const body = parseRequest(workspaceBody, req.body, 'workspace');
    const ws = await ctx.auth.createWorkspace(accountOf(res), body.name);
    reply(res, memberWorkspaceSchema, { ...workspaceView(ws), role: 'admin' }, 201);
  });

  // The holder's own account and invitations.
  r.patch('/account', async (req, res) => {
    const body = parseRequest(ownAccountBody, req.body, 'account change');
    reply(res, userSchema, await ctx.auth.updateOwnAccount(accountOf(res), body, source(req)));
  });

  r.get('/account/invitations', async (_req, res) => {
    reply(res, accountInvitationListSchema, await ctx.auth.myInvitations(accountOf(res)));
  });

  r.post('/account/invitations/:id/accept', async (req, res) => {
    reply(res, invitationAcceptedSchema, await ctx.auth.acceptInvitation(accountOf(res), param(req, 'id')));
  });

  r.post('/account/invitations/:id/decline', async (req, res) => {
    await ctx.auth.declineInvitation(accountOf(res), param(req, 'id'));
    res.status(204).end();
  });

  // Accounts across the instance: instance owners.
  r.get('/admin/users', async (_req, res) => {
    reply(res, accountListSchema, await ctx.auth.listAccounts(accountOf(res)));
  });

  r.post('/admin/users', async (req, res) => {
    const body = parseRequest(newAccountBody, req.body, 'account');
    reply(res, userSchema, userView(await ctx.auth.createAccount(accountOf(res), body)), 201);
  });

  r.patch('/admin/users/:id', async (req, res) => {
    const body = parseRequest(accountBody, req.body, 'account change');
    reply(res, userSchema, await ctx.auth.updateAccount(accountOf(res), param(req, 'id'), body));
  });

  r.get('/admin/audit', async (req, res) => {
    const account = accountOf(res);
    if (!account.user.instanceOwner)
      throw new ForbiddenError('OWNER_REQUIRED', 'the instance audit log is for instance owners');
    const q = parseRequest(auditQuery, req.query, 'query');
    reply(res, auditListSchema, await ctx.audit.list(INSTANCE_AUDIT, q.limit, q.before));
  });

  r.get('/admin/audit/verify', async (_req, res) => {
    if (!accountOf(res).user.instanceOwner)
      throw new ForbiddenError('OWNER_REQUIRED', 'the instance audit log is for instance owners');
    reply(res, auditVerifySchema, await ctx.audit.verify(INSTANCE_AUDIT));
  });

  r.post('/admin/audit/verify', async (req, res) => {
    if (!accountOf(res).user.instanceOwner)
      throw new ForbiddenError('OWNER_REQUIRED', 'the instance audit log is for instance owners');
    const body = parseRequest(auditVerifyBody, req.body, 'verification request');
    reply(res, auditVerifySchema, await ctx.audit.verify(INSTANCE_AUDIT, body.checkpoint));
  });

  r.get('/admin/audit/checkpoint', async (_req, res) => {
    if (!accountOf(res).user.instanceOwner)
      throw new ForbiddenError('OWNER_REQUIRED', 'the instance audit log is for instance owners');
    reply(res, auditCheckpointSchema, await ctx.audit.checkpoint(INSTANCE_AUDIT));
  });

  return r;
}

/** A workspace's members and invitations: its admins. */
export function memberRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/users', async (_req, res) => {
    const auth = allow(res, 'member.manage');
    reply(res, memberListSchema, await ctx.auth.members(auth.workspace.id));
  });

  r.post('/users', async (req, res) => {
    const auth = allow(res, 'member.manage');
    const body = parseRequest(addUserBody, req.body, 'user');
    if (body.password !== undefined) {
      reply(
        res,
        userSchema,
        await ctx.auth.createMember(auth, {
          email: body.email,
          name: body.name,
          password: body.password,
          role: body.role,
        }),
        201,
      );
      return;
    }
    const invitation = await ctx.auth.invite(auth, { email: body.email, role: body.role });
    reply(res, invitationCreatedSchema, { invitation: invitationView(invitation) }, 201);
  });

  r.patch('/users/:id', async (req, res) => {
    const auth = allow(res, 'member.manage');
    const fields = accountFields.filter((f) => Object.hasOwn((req.body ?? {}) as object, f));
    if (fields.length)
      throw new ForbiddenError(
        'ACCOUNT_CHANGE_FORBIDDEN',
        `${fields.join(', ')} belong to the account, not to the workspace: its holder changes them (PATCH /api/account) or an instance owner (PATCH /api/admin/users/:id)`,
      );
    const body = parseRequest(memberBody, req.body, 'member change');
    reply(res, userSchema, await ctx.auth.setRole(auth, param(req, 'id'), body.role));
  });

  r.delete('/users/:id', async (req, res) => {
    const auth = allow(res, 'member.manage');
    await ctx.auth.removeMember(auth, param(req, 'id'));
    res.status(204).end();
  });

  r.get('/workspace/invitations', async (_req, res) => {
    const auth = allow(res, 'member.manage');
    reply(res, invitationListSchema, await ctx.auth.workspaceInvitations(auth));
  });

  r.delete('/workspace/invitations/:id', async (req, res) => {
    const auth = allow(res, 'member.manage');
    await ctx.auth.revokeInvitation(auth, param(req, 'id'));
    res.status(204).end();
  });

  return r;
}

export { actorOf };
