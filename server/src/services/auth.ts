/**
 * Identity: local users with scrypt passwords, sessions (random tokens stored hashed, with a CSRF token each),
 * roles per workspace, and the first admin, created either by `finflow admin create` or with the one-time setup
 * token printed at first start. There is no default password.
 */
import { conflict, forbidden, HttpError, notFound, unauthorized } from '../errors.js';
import type {
  AuditActor,
  Repository,
  Role,
  SessionRecord,
  UserRecord,
  WorkspaceRecord,
} from '../repo/types.js';
import { newId, randomToken, safeEqual, tokenHash } from '../security/crypto.js';
import {
  dummyHash,
  hashPassword,
  passwordPolicy,
  passwordProblem,
  verifyPassword,
} from '../security/passwords.js';
import { TokenBuckets } from '../rate-limit.js';
import type { AuditService } from './audit.js';

export const SESSION_COOKIE = 'finflow_session';

export interface AuthContext {
  user: UserRecord;
  workspace: WorkspaceRecord;
  role: Role;
  session: SessionRecord;
}

/** What each role may do. `approver` approves rollout steps (a later feature) and otherwise reads. */
export const permissions = {
  read: ['admin', 'developer', 'analyst', 'approver', 'viewer'],
  'flow.write': ['admin', 'developer', 'analyst'],
  'run.start': ['admin', 'developer', 'analyst'],
  'credential.write': ['admin', 'developer'],
  'endpoint.write': ['admin', 'developer'],
  'key.read': ['admin', 'developer'],
  'key.write': ['admin', 'developer'],
  'audit.read': ['admin', 'approver', 'developer'],
  'user.manage': ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof permissions;

export function can(role: Role, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(role);
}

export function userView(u: UserRecord, role?: Role) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    ...(role ? { role } : {}),
    createdAt: u.createdAt,
    disabled: u.disabledAt !== null,
  };
}

export const workspaceView = (w: WorkspaceRecord) => ({ id: w.id, name: w.name });

export const userActor = (u: Pick<UserRecord, 'id' | 'name'>): AuditActor => ({
  type: 'user',
  id: u.id,
  name: u.name,
});

export function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) {
    throw new HttpError(
      400,
      'WEAK_PASSWORD',
      problem === 'too-short'
        ? `a password has at least ${passwordPolicy.minLength} characters`
        : `a password has at most ${passwordPolicy.maxLength} characters`,
      { ...passwordPolicy, problem },
    );
  }
}

export interface NewAdmin {
  email: string;
  name: string;
  password: string;
  workspaceName?: string;
}

/**
 * Creates an admin in the first workspace (created if there is none). Shared by the setup route and
 * `finflow admin create`.
 */
export async function createAdmin(
  repo: Repository,
  audit: AuditService,
  admin: NewAdmin,
  actor: AuditActor,
): Promise<{ user: UserRecord; workspace: WorkspaceRecord }> {
  checkPassword(admin.password);
  if (await repo.getUserByEmail(admin.email))
    throw conflict('USER_EXISTS', `a user with e-mail ${admin.email} exists`);
  const now = Date.now();
  let workspace = await repo.firstWorkspace();
  if (!workspace) {
    workspace = { id: newId('ws'), name: admin.workspaceName ?? 'Default', createdAt: now };
    await repo.createWorkspace(workspace);
    await audit.record(workspace.id, actor, 'workspace.created', `workspace:${workspace.id}`, {
      name: workspace.name,
    });
  }
  const user: UserRecord = {
    id: newId('usr'),
    email: admin.email,
    name: admin.name,
    passwordHash: await hashPassword(admin.password),
    createdAt: now,
    disabledAt: null,
  };
  await repo.createUser(user);
  await repo.setMembership({ workspaceId: workspace.id, userId: user.id, role: 'admin', createdAt: now });
  await audit.record(workspace.id, actor, 'user.created', `user:${user.id}`, {
    email: user.email,
    role: 'admin',
  });
  return { user, workspace };
}

export interface SessionOptions {
  ttlMs: number;
  idleMs: number;
}

const LOGIN_ATTEMPTS = 10;
const LOGIN_WINDOW_MS = 5 * 60_000;
const TOUCH_EVERY_MS = 60_000;

export class AuthService {
  private setupHash: string | undefined;
  private readonly loginLimiter = new TokenBuckets();

  constructor(
    private readonly repo: Repository,
    private readonly audit: AuditService,
    private readonly sessions: SessionOptions,
  ) {}

  /** When no user exists, a new one-time setup token (only its hash is kept); undefined otherwise. */
  async issueSetupToken(): Promise<string | undefined> {
    if ((await this.repo.countUsers()) > 0) return undefined;
    const token = randomToken(24);
    this.setupHash = tokenHash(token);
    return token;
  }

  async status(): Promise<{ setupRequired: boolean; password: typeof passwordPolicy }> {
    return { setupRequired: (await this.repo.countUsers()) === 0, password: passwordPolicy };
  }

  async setup(token: string, admin: NewAdmin): Promise<{ user: UserRecord; workspace: WorkspaceRecord }> {
    if ((await this.repo.countUsers()) > 0) {
      this.setupHash = undefined;
      throw conflict('SETUP_DONE', 'FinFlow is already set up; sign in instead');
    }
    if (!this.setupHash || !safeEqual(tokenHash(token), this.setupHash)) {
      throw new HttpError(
        403,
        'INVALID_SETUP_TOKEN',
        'the setup token is not valid (it is printed in the server console at start)',
      );
    }
    const created = await createAdmin(this.repo, this.audit, admin, { type: 'system', name: 'setup' });
    this.setupHash = undefined;
    return created;
  }

  async login(
    email: string,
    password: string,
    source: string,
  ): Promise<{ token: string; auth: AuthContext }> {
    const limit = this.loginLimiter.take(`${source}|${email.toLowerCase()}`, LOGIN_ATTEMPTS, LOGIN_WINDOW_MS);
    if (!limit.ok) {
      const seconds = Math.ceil(limit.retryAfterMs / 1000);
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `too many sign-in attempts; try again in ${seconds} s`,
        undefined,
        {
          'Retry-After': String(seconds),
        },
      );
    }
    const user = await this.repo.getUserByEmail(email);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    const memberships = user ? await this.repo.workspacesOf(user.id) : [];
    if (!user || !ok || user.disabledAt !== null || memberships.length === 0) {
      if (user && memberships[0]) {
        await this.audit.record(
          memberships[0].workspace.id,
          userActor(user),
          'auth.login_failed',
          `user:${user.id}`,
          {
            reason: !ok ? 'wrong password' : user.disabledAt !== null ? 'user disabled' : 'no workspace',
          },
        );
      }
      throw unauthorized('the e-mail or password is wrong', 'INVALID_CREDENTIALS');
    }
    const { workspace, role } = memberships[0] as { workspace: WorkspaceRecord; role: Role };
    const now = Date.now();
    const token = randomToken(32);
    const session: SessionRecord = {
      tokenHash: tokenHash(token),
      userId: user.id,
      workspaceId: workspace.id,
      csrfToken: randomToken(24),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.sessions.ttlMs,
    };
    await this.repo.createSession(session);
    await this.audit.record(workspace.id, userActor(user), 'auth.login', `user:${user.id}`, {});
    return { token, auth: { user, workspace, role, session } };
  }

  /** The signed-in user of a session token, or undefined (expired, idle too long, disabled, or removed). */
  async authenticate(token: string): Promise<AuthContext | undefined> {
    const hash = tokenHash(token);
    const view = await this.repo.getSession(hash);
    if (!view) return undefined;
    const now = Date.now();
    const { session } = view;
    if (
      session.expiresAt < now ||
      session.lastSeenAt + this.sessions.idleMs < now ||
      view.user.disabledAt !== null
    ) {
      await this.repo.deleteSession(hash);
      return undefined;
    }
    if (!view.role) return undefined;
    if (now - session.lastSeenAt > TOUCH_EVERY_MS) await this.repo.updateSession(hash, { lastSeenAt: now });
    return { user: view.user, workspace: view.workspace, role: view.role, session };
  }

  async logout(auth: AuthContext): Promise<void> {
    await this.repo.deleteSession(auth.session.tokenHash);
    await this.audit.record(auth.workspace.id, userActor(auth.user), 'auth.logout', `user:${auth.user.id}`);
  }

  async workspaces(userId: string) {
    return (await this.repo.workspacesOf(userId)).map(({ workspace, role }) => ({
      ...workspaceView(workspace),
      role,
    }));
  }

  async switchWorkspace(auth: AuthContext, workspaceId: string): Promise<AuthContext> {
    const membership = await this.repo.getMembership(workspaceId, auth.user.id);
    const workspace = membership ? await this.repo.getWorkspace(workspaceId) : undefined;
    if (!membership || !workspace) throw notFound(`workspace ${workspaceId}`, 'WORKSPACE_NOT_FOUND');
    await this.repo.updateSession(auth.session.tokenHash, { workspaceId });
    return { ...auth, workspace, role: membership.role, session: { ...auth.session, workspaceId } };
  }

  async createWorkspace(auth: AuthContext, name: string): Promise<WorkspaceRecord> {
    const now = Date.now();
    const workspace: WorkspaceRecord = { id: newId('ws'), name, createdAt: now };
    await this.repo.createWorkspace(workspace);
    await this.repo.setMembership({
      workspaceId: workspace.id,
      userId: auth.user.id,
      role: 'admin',
      createdAt: now,
    });
    await this.audit.record(
      workspace.id,
      userActor(auth.user),
      'workspace.created',
      `workspace:${workspace.id}`,
      { name },
    );
    return workspace;
  }

  async members(workspaceId: string) {
    return (await this.repo.listMembers(workspaceId)).map((m) => userView(m.user, m.role));
  }

  /**
   * Adds a user to the current workspace: a new user when a password is given, or an existing user (by e-mail)
   * when not.
   */
  async addUser(
    auth: AuthContext,
    input: { email: string; name?: string | undefined; password?: string | undefined; role: Role },
  ) {
    const existing = await this.repo.getUserByEmail(input.email);
    const now = Date.now();
    let user: UserRecord;
    if (input.password !== undefined) {
      if (existing)
        throw conflict(
          'USER_EXISTS',
          `a user with e-mail ${input.email} exists; add them without a password`,
        );
      checkPassword(input.password);
      user = {
        id: newId('usr'),
        email: input.email,
        name: input.name ?? input.email,
        passwordHash: await hashPassword(input.password),
        createdAt: now,
        disabledAt: null,
      };
      await this.repo.createUser(user);
    } else {
      if (!existing) throw notFound(`user ${input.email}`, 'USER_NOT_FOUND');
      if (await this.repo.getMembership(auth.workspace.id, existing.id)) {
        throw conflict('ALREADY_MEMBER', `${input.email} is already a member of this workspace`);
      }
      user = existing;
    }
    await this.repo.setMembership({
      workspaceId: auth.workspace.id,
      userId: user.id,
      role: input.role,
      createdAt: now,
    });
    await this.audit.record(auth.workspace.id, userActor(auth.user), 'user.added', `user:${user.id}`, {
      email: user.email,
      role: input.role,
    });
    return userView(user, input.role);
  }

  async updateUser(
    auth: AuthContext,
    userId: string,
    patch: {
      role?: Role | undefined;
      name?: string | undefined;
      password?: string | undefined;
      disabled?: boolean | undefined;
    },
  ) {
    const membership = await this.repo.getMembership(auth.workspace.id, userId);
    const user = membership ? await this.repo.getUser(userId) : undefined;
    if (!membership || !user) throw notFound(`user ${userId}`, 'USER_NOT_FOUND');
    const demotes = patch.role !== undefined && patch.role !== 'admin' && membership.role === 'admin';
    if ((demotes || patch.disabled === true) && membership.role === 'admin') {
      const admins = (await this.repo.listMembers(auth.workspace.id)).filter(
        (m) => m.role === 'admin' && m.user.disabledAt === null,
      );
      if (admins.length <= 1) throw conflict('LAST_ADMIN', 'a workspace keeps at least one active admin');
    }
    if (patch.password !== undefined) checkPassword(patch.password);
    await this.repo.updateUser(userId, {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.password === undefined ? {} : { passwordHash: await hashPassword(patch.password) }),
      ...(patch.disabled === undefined ? {} : { disabledAt: patch.disabled ? Date.now() : null }),
    });
    if (patch.role !== undefined) await this.repo.setMembership({ ...membership, role: patch.role });
    if (patch.disabled === true || patch.password !== undefined) await this.repo.deleteSessionsOf(userId);
    await this.audit.record(auth.workspace.id, userActor(auth.user), 'user.updated', `user:${userId}`, {
      ...(patch.role === undefined ? {} : { role: patch.role }),
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
      ...(patch.password === undefined ? {} : { passwordChanged: true }),
    });
    const updated = (await this.repo.getUser(userId)) as UserRecord;
    return userView(updated, patch.role ?? membership.role);
  }

  /** Forbids a request unless the role allows the action. */
  static require(auth: AuthContext, permission: Permission): void {
    if (!can(auth.role, permission)) {
      throw forbidden(`the ${auth.role} role may not do this (${permission})`, 'FORBIDDEN');
    }
  }

  pruneLimiter(): void {
    this.loginLimiter.prune(LOGIN_WINDOW_MS);
  }
}
