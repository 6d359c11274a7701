/** Helpers shared by the route modules: the signed-in user of a request, permissions, cookies, typed answers. */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { unauthorized } from '../errors.js';
import type { AuditActor } from '../repo/types.js';
import {
  AuthService,
  inWorkspace,
  type AccountContext,
  type AuthContext,
  type Permission,
  userActor,
} from '../services/auth.js';
import { ForbiddenError } from '../services/errors.js';

/** The signed-in account (in a workspace or not); 401 without a session. */
export function accountOf(res: Response): AccountContext {
  const account = res.locals['account'] as AccountContext | undefined;
  if (!account) throw unauthorized();
  return account;
}

/** The signed-in account in its session's workspace; 403 NO_WORKSPACE when the session is in none. */
export function authOf(res: Response): AuthContext {
  const account = accountOf(res);
  if (!inWorkspace(account))
    throw new ForbiddenError(
      'NO_WORKSPACE',
      'this session is in no workspace: accept an invitation, or switch to a workspace you are a member of',
    );
  return account;
}

/** The signed-in user, forbidden (403) unless their role grants `permission`. */
export function allow(res: Response, permission: Permission): AuthContext {
  const auth = authOf(res);
  AuthService.require(auth, permission);
  return auth;
}

export const actorOf = (auth: AuthContext): AuditActor => userActor(auth.user);

/** Reads one cookie from a Cookie header (no dependency: the format is simple and we read one name). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function isHttps(req: Request): boolean {
  return req.secure;
}

/** The origin clients reach this server at (for URLs in answers and OpenAPI documents). */
export function baseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

export const param = (req: Request, name: string): string =>
  String((req.params as Record<string, unknown>)[name] ?? '');

/**
 * Sends a JSON answer typed by its schema in `@finflow/contract`: the editor's client reads the answer with the
 * same schema's type, so a field renamed here fails the build there.
 */
export function reply<S extends z.ZodType>(res: Response, schema: S, body: z.input<S>, status = 200): void {
  res.status(status).json(body);
}
