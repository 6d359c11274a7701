/**
 * Identity: local accounts with scrypt passwords, sessions (random tokens stored hashed, with a CSRF token each),
 * roles per workspace, invitations, and the instance owners.
 *
 * Two levels of authority, kept apart:
 * - An account (password, e-mail, name, disabled) is changed only by its holder, who proves the current password
 *   for the password and the e-mail, or by an instance owner. The first admin is an instance owner (the setup
 *   route and `finflow admin create` make one); owners grant and revoke ownership; the last owner stays.
 * - A workspace admin manages memberships and roles in that workspace only. Adding an existing account is an
 *   invitation the account accepts; an invitation is addressed to an e-mail and answered the same way whether
 *   the address is registered or not, so no answer tells a workspace admin who has an account.
 * Every identity and membership change is audited in every workspace it touches: a membership change in its
 * workspace, an account change in each workspace of the account and in the instance chain.
 */
import type {
  AuditActor,
  InvitationRecord,
  MemberRecord,
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
import { INSTANCE_AUDIT, type AuditService } from './audit.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  TooManyAttemptsError,
  UnauthenticatedError,
} from './errors.js';

export const SESSION_COOKIE = 'finflow_session';

/** A signed-in account, with the workspace its session is in when it has one. */
export interface AccountContext {
  user: UserRecord;
  session: SessionRecord;
  workspace: WorkspaceRecord | null;
  role: Role | null;
}

/** A signed-in account acting in a workspace it is a member of. */
export interface AuthContext extends AccountContext {
  workspace: WorkspaceRecord;
  role: Role;
}

export const inWorkspace = (a: AccountContext): a is AuthContext => a.workspace !== null && a.role !== null;

/**
 * What each role may do in its workspace. `approver` decides human reviews (with the roles a review queue names),
 * approves rollout stages (maker-checker: not for a version they wrote or a rollout they started), and otherwise
 * reads.
 */
export const permissions = {
  read: ['admin', 'developer', 'analyst', 'approver', 'viewer'],
  'flow.write': ['admin', 'developer', 'analyst'],
  'run.start': ['admin', 'developer', 'analyst'],
  'credential.write': ['admin', 'developer'],
  'connection.write': ['admin', 'developer'],
  'endpoint.write': ['admin', 'developer'],
  'key.read': ['admin', 'developer'],
  'key.write': ['admin', 'developer'],
  'audit.read': ['admin', 'approver', 'developer'],
  /** Attaching outcomes to past decisions. Deciding a review task follows its queue's roles (review service). */
  'feedback.write': ['admin', 'developer', 'analyst', 'approver'],
  /** Starting a rollout of an endpoint (the maker). Advancing it is the approver's (services/rollouts.ts). */
  'rollout.start': ['admin', 'developer'],
  /** Pausing, resuming, rolling back and the kill switch: whoever may have to stop a bad version. */
  'rollout.operate': ['admin', 'developer', 'approver'],
  /** Promoting a flow into another workspace (the promoter needs it in both). */
  'flow.promote': ['admin', 'developer'],
  'member.manage': ['admin'],
  /** The loaded plugins and those that failed (with file paths): people who install or write plugins. */
  'plugin.read': ['admin', 'developer'],
  /** Loading a plugin package's code into the server (a developer's server only, FINFLOW_DEV_RELOAD). */
  'plugin.reload': ['admin', 'developer'],
  /** A holder's federated training tables: their columns and the keys that may train on them. */
  'federated.read': ['admin', 'developer'],
  /** Storing a federated training table and naming the API keys a coordinator may train with. */
  'federated.write': ['admin', 'developer'],
  /** Continuous learning of an endpoint: its settings, retraining, training baselines (issue 13). */
  'model.retrain': ['admin', 'developer'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof permissions;

export function can(role: Role, permission: Permission): boolean {
  return (permissions[permission] as readonly Role[]).includes(role);
}

export function userView(u: UserRecord, role?: Role | null) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    ...(role === undefined ? {} : { role }),
    createdAt: u.createdAt,
    disabled: u.disabledAt !== null,
    instanceOwner: u.instanceOwner,
  };
}

export const workspaceView = (w: WorkspaceRecord) => ({ id: w.id, name: w.name });

export const invitationView = (i: InvitationRecord) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  invitedBy: { id: i.invitedBy, name: i.invitedByName },
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
});

export const userActor = (u: Pick<UserRecord, 'id' | 'name'>): AuditActor => ({
  type: 'user',
  id: u.id,
  name: u.name,
});

export function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) {
    throw new InvalidError(
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
 * Creates an instance owner who is admin of the first workspace (created if there is none). Shared by the
 * setup route and `finflow admin create`.
 */
export async function createAdmin(
  repo: Repository,
  audit: AuditService,
  admin: NewAdmin,
  actor: AuditActor,
): Promise<{ user: UserRecord; workspace: WorkspaceRecord }> {
  checkPassword(admin.password);
  if (await repo.getUserByEmail(admin.email))
    throw new ConflictError('USER_EXISTS', `a user with e-mail ${admin.email} exists`);
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
    instanceOwner: true,
  };
  await repo.createUser(user);
  await repo.setMembership({ workspaceId: workspace.id, userId: user.id, role: 'admin', createdAt: now });
  await audit.recordIn([workspace.id, INSTANCE_AUDIT], actor, 'user.created', `user:${user.id}`, {
    email: user.email,
    role: 'admin',
    instanceOwner: true,
  });
  return { user, workspace };
}

export interface AuthOptions {
  ttlMs: number;
  idleMs: number;
  /** Failed sign-ins allowed per account (e-mail) and per client address within `windowMs`. */
  failuresPerAccount: number;
  failuresPerAddress: number;
  windowMs: number;
}

/** How long an invitation waits for its answer. */
export const INVITATION_TTL_MS = 14 * 24 * 3_600_000;
const TOUCH_EVERY_MS = 60_000;
/** Changes of one's own e-mail, per account and window: each refused one tells that an address is taken. */
const EMAIL_CHANGES_PER_WINDOW = 5;

/** Who to tell when an account's sessions or memberships change (live connections re-check or close). */
export type AccessListener = (userId: string) => void;

export class AuthService {
  private setupHash: string | undefined;
  private readonly failures = new TokenBuckets();
  private readonly emailChanges = new TokenBuckets();
  private readonly accessListeners = new Set<AccessListener>();

  constructor(
    private readonly repo: Repository,
    private readonly audit: AuditService,
    private readonly options: AuthOptions,
  ) {}

  /** Called with a user id whenever that account's access shrinks (sessions ended, removed, disabled). */
  onAccessChanged(listener: AccessListener): () => void {
    this.accessListeners.add(listener);
    return () => this.accessListeners.delete(listener);
  }

  private accessChanged(userId: string): void {
    for (const l of this.accessListeners) {
      try {
        l(userId);
      } catch {
        // A listener's failure must not undo the change.
      }
    }
  }

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
      throw new ConflictError('SETUP_DONE', 'FinFlow is already set up; sign in instead');
    }
    if (!this.setupHash || !safeEqual(tokenHash(token), this.setupHash)) {
      throw new ForbiddenError(
        'INVALID_SETUP_TOKEN',
        'the setup token is not valid (it is printed in the server console at start)',
      );
    }
    const created = await createAdmin(this.repo, this.audit, admin, { type: 'system', name: 'setup' });
    this.setupHash = undefined;
    return created;
  }

  // Sessions

  /**
   * Reserves one failure from the account's and the address's budgets (429 when either is spent). The caller
   * gives both back when the attempt succeeds: only failures count.
   */
  private reserveFailure(email: string, source: string): () => void {
    const { failuresPerAccount, failuresPerAddress, windowMs } = this.options;
    const accountKey = `account\u0000${email.toLowerCase()}`;
    const addressKey = `address\u0000${source}`;
    const account = this.failures.take(accountKey, failuresPerAccount, windowMs);
    const address = account.ok ? this.failures.take(addressKey, failuresPerAddress, windowMs) : account;
    if (!account.ok || !address.ok) {
      if (account.ok) this.failures.refund(accountKey, failuresPerAccount);
      const waitMs = Math.max(account.ok ? 0 : account.retryAfterMs, address.ok ? 0 : address.retryAfterMs);
      throw new TooManyAttemptsError(
        'RATE_LIMITED',
        `too many failed sign-ins; try again in ${Math.ceil(waitMs / 1000)} s`,
        waitMs,
      );
    }
    return () => {
      this.failures.refund(accountKey, failuresPerAccount);
      this.failures.refund(addressKey, failuresPerAddress);
    };
  }

  private async newSession(
    user: UserRecord,
    workspaceId: string | null,
  ): Promise<{ token: string; session: SessionRecord }> {
    const now = Date.now();
    const token = randomToken(32);
    const session: SessionRecord = {
      tokenHash: tokenHash(token),
      userId: user.id,
      workspaceId,
      csrfToken: randomToken(24),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.options.ttlMs,
    };
    await this.repo.createSession(session);
    return { token, session };
  }

  /**
   * Signs in. The session starts in the account's first workspace, or in none when it has none (it can then read
   * and answer its invitations). Wrong e-mail, wrong password and disabled accounts answer alike.
   */
  async login(
    email: string,
    password: string,
    source: string,
  ): Promise<{ token: string; account: AccountContext }> {
    const succeeded = this.reserveFailure(email, source);
    const user = await this.repo.getUserByEmail(email);
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    // The same work whether the e-mail has an account or not, so the time of the answer tells nothing.
    const memberships = await this.repo.workspacesOf(user?.id ?? '');
    if (!user || !ok || user.disabledAt !== null) {
      if (user) {
        // Not awaited: waiting for this commit only for registered addresses would tell them apart.
        void this.audit
          .recordIn(
            [...memberships.map((m) => m.workspace.id), INSTANCE_AUDIT],
            userActor(user),
            'auth.login_failed',
            `user:${user.id}`,
            { reason: !ok ? 'wrong password' : 'user disabled' },
          )
          .catch(() => {});
      }
      throw new UnauthenticatedError('INVALID_CREDENTIALS', 'the e-mail or password is wrong');
    }
    succeeded();
    const first = memberships[0];
    const { token, session } = await this.newSession(user, first?.workspace.id ?? null);
    await this.audit.record(
      first?.workspace.id ?? INSTANCE_AUDIT,
      userActor(user),
      'auth.login',
      `user:${user.id}`,
    );
    return {
      token,
      account: { user, session, workspace: first?.workspace ?? null, role: first?.role ?? null },
    };
  }

  /**
   * The signed-in account of a session token, or undefined (expired, idle too long, disabled, removed). The role
   * is read from the membership on every request: a session never carries a role it no longer has, and a
   * session whose membership was removed is in no workspace.
   */
  async authenticate(token: string): Promise<AccountContext | undefined> {
    const hash = tokenHash(token);
    const view = await this.repo.getSession(hash);
    if (!view) return undefined;
    const now = Date.now();
    const { session } = view;
    if (
      session.expiresAt < now ||
      session.lastSeenAt + this.options.idleMs < now ||
      view.user.disabledAt !== null
    ) {
      await this.repo.deleteSession(hash);
      return undefined;
    }
    if (now - session.lastSeenAt > TOUCH_EVERY_MS) await this.repo.updateSession(hash, { lastSeenAt: now });
    const member = view.workspace !== null && view.role !== null;
    return {
      user: view.user,
      session,
      workspace: member ? view.workspace : null,
      role: member ? view.role : null,
    };
  }

  async logout(account: AccountContext): Promise<void> {
    await this.repo.deleteSession(account.session.tokenHash);
    await this.audit.record(
      account.workspace?.id ?? INSTANCE_AUDIT,
      userActor(account.user),
      'auth.logout',
      `user:${account.user.id}`,
    );
  }

  async workspaces(userId: string) {
    return (await this.repo.workspacesOf(userId)).map(({ workspace, role }) => ({
      ...workspaceView(workspace),
      role,
    }));
  }

  /** Moves the session to a workspace the account is a member of (404 otherwise: pending invitations too). */
  async switchWorkspace(account: AccountContext, workspaceId: string): Promise<AuthContext> {
    const membership = await this.repo.getMembership(workspaceId, account.user.id);
    const workspace = membership ? await this.repo.getWorkspace(workspaceId) : undefined;
    if (!membership || !workspace)
      throw new NotFoundError('WORKSPACE_NOT_FOUND', `workspace ${workspaceId} not found`);
    await this.repo.updateSession(account.session.tokenHash, { workspaceId });
    return { ...account, workspace, role: membership.role, session: { ...account.session, workspaceId } };
  }

  /**
   * A new workspace with the caller as its admin. Allowed to instance owners and to admins (of the session's
   * workspace); it gives power over nothing but the new, empty workspace.
   */
  async createWorkspace(account: AccountContext, name: string): Promise<WorkspaceRecord> {
    if (!account.user.instanceOwner && account.role !== 'admin')
      throw new ForbiddenError(
        'FORBIDDEN',
        'creating a workspace needs the admin role or instance ownership',
      );
    const now = Date.now();
    const workspace: WorkspaceRecord = { id: newId('ws'), name, createdAt: now };
    await this.repo.createWorkspace(workspace);
    await this.repo.setMembership({
      workspaceId: workspace.id,
      userId: account.user.id,
      role: 'admin',
      createdAt: now,
    });
    const actor = userActor(account.user);
    await this.audit.recordIn(
      [workspace.id, INSTANCE_AUDIT],
      actor,
      'workspace.created',
      `workspace:${workspace.id}`,
      {
        name,
      },
    );
    await this.audit.record(workspace.id, actor, 'member.added', `user:${account.user.id}`, {
      role: 'admin',
      reason: 'created the workspace',
    });
    return workspace;
  }

  // Memberships (workspace admins, in their workspace)

  async members(workspaceId: string) {
    return (await this.repo.listMembers(workspaceId)).map((m) => userView(m.user, m.role));
  }

  /**
   * Invites an e-mail to the workspace with a role. The answer is the same whether or not the address has an
   * account (the work done is the same too): the account, when there is one, sees the invitation and accepts
   * or declines it. 409 ALREADY_MEMBER only for the workspace's own members, whom the admin can list anyway.
   */
  async invite(auth: AuthContext, input: { email: string; role: Role }): Promise<InvitationRecord> {
    AuthService.require(auth, 'member.manage');
    if (await this.repo.getMemberByEmail(auth.workspace.id, input.email))
      throw new ConflictError('ALREADY_MEMBER', `${input.email} is already a member of this workspace`);
    const now = Date.now();
    const invitation: InvitationRecord = {
      id: newId('inv'),
      workspaceId: auth.workspace.id,
      email: input.email,
      role: input.role,
      invitedBy: auth.user.id,
      invitedByName: auth.user.name,
      createdAt: now,
      expiresAt: now + INVITATION_TTL_MS,
    };
    await this.repo.putInvitation(invitation);
    await this.audit.record(
      auth.workspace.id,
      userActor(auth.user),
      'member.invited',
      `invitation:${invitation.id}`,
      { email: input.email, role: input.role },
    );
    return invitation;
  }

  /**
   * Creates an account and makes it a member of the workspace: instance owners only (who may create accounts),
   * acting as admins of the workspace. Anyone else adds people by invitation.
   */
  async createMember(
    auth: AuthContext,
    input: { email: string; name?: string | undefined; password: string; role: Role },
  ) {
    AuthService.require(auth, 'member.manage');
    const user = await this.createAccount(auth, {
      email: input.email,
      name: input.name ?? input.email,
      password: input.password,
    });
    await this.repo.setMembership({
      workspaceId: auth.workspace.id,
      userId: user.id,
      role: input.role,
      createdAt: Date.now(),
    });
    await this.audit.record(auth.workspace.id, userActor(auth.user), 'member.added', `user:${user.id}`, {
      email: user.email,
      role: input.role,
    });
    return userView(user, input.role);
  }

  async workspaceInvitations(auth: AuthContext) {
    AuthService.require(auth, 'member.manage');
    return (await this.repo.workspaceInvitations(auth.workspace.id, Date.now())).map(invitationView);
  }

  async revokeInvitation(auth: AuthContext, id: string): Promise<void> {
    AuthService.require(auth, 'member.manage');
    const invitation = await this.repo.getInvitation(id);
    if (!invitation || invitation.workspaceId !== auth.workspace.id)
      throw new NotFoundError('INVITATION_NOT_FOUND', `invitation ${id} not found`);
    await this.repo.deleteInvitation(id);
    await this.audit.record(
      auth.workspace.id,
      userActor(auth.user),
      'invitation.revoked',
      `invitation:${id}`,
      {
        email: invitation.email,
        role: invitation.role,
      },
    );
  }

  /** Refuses to leave a workspace without an active admin (removing, demoting or disabling its last one). */
  private async keepAnAdmin(workspaceId: string, leaving: string): Promise<void> {
    const admins = (await this.repo.listMembers(workspaceId)).filter(
      (m) => m.role === 'admin' && m.user.disabledAt === null && m.userId !== leaving,
    );
    if (admins.length === 0)
      throw new ConflictError('LAST_ADMIN', 'a workspace keeps at least one active admin', { workspaceId });
  }

  private async memberOf(auth: AuthContext, userId: string): Promise<MemberRecord> {
    const membership = await this.repo.getMembership(auth.workspace.id, userId);
    if (!membership) throw new NotFoundError('USER_NOT_FOUND', `user ${userId} not found`);
    return membership;
  }

  /** Changes a member's role in the workspace (demoting oneself included, while another admin remains). */
  async setRole(auth: AuthContext, userId: string, role: Role) {
    AuthService.require(auth, 'member.manage');
    const membership = await this.memberOf(auth, userId);
    if (membership.role === 'admin' && role !== 'admin') await this.keepAnAdmin(auth.workspace.id, userId);
    if (membership.role !== role) {
      await this.repo.setMembership({ ...membership, role });
      await this.audit.record(
        auth.workspace.id,
        userActor(auth.user),
        'member.role_changed',
        `user:${userId}`,
        {
          from: membership.role,
          to: role,
        },
      );
      this.accessChanged(userId);
    }
    const user = (await this.repo.getUser(userId)) as UserRecord;
    return userView(user, role);
  }

  /** Removes a member from the workspace (leaving it oneself included); their sessions there end. */
  async removeMember(auth: AuthContext, userId: string): Promise<void> {
    AuthService.require(auth, 'member.manage');
    const membership = await this.memberOf(auth, userId);
    if (membership.role === 'admin') await this.keepAnAdmin(auth.workspace.id, userId);
    await this.repo.removeMembership(auth.workspace.id, userId);
    await this.audit.record(auth.workspace.id, userActor(auth.user), 'member.removed', `user:${userId}`, {
      role: membership.role,
    });
    this.accessChanged(userId);
  }

  // Invitations (the invited account)

  async myInvitations(account: AccountContext) {
    return (await this.repo.invitationsFor(account.user.email, Date.now())).map((i) => ({
      ...invitationView(i),
      workspace: workspaceView(i.workspace),
    }));
  }

  /** The invitation, if it is addressed to this account and still open; 404 otherwise (whoever it is for). */
  private async openInvitation(account: AccountContext, id: string): Promise<InvitationRecord> {
    const invitation = await this.repo.getInvitation(id);
    if (
      !invitation ||
      invitation.expiresAt <= Date.now() ||
      invitation.email.toLowerCase() !== account.user.email.toLowerCase()
    )
      throw new NotFoundError('INVITATION_NOT_FOUND', `invitation ${id} not found`);
    return invitation;
  }

  async acceptInvitation(account: AccountContext, id: string) {
    const invitation = await this.openInvitation(account, id);
    const workspace = await this.repo.getWorkspace(invitation.workspaceId);
    if (!workspace) throw new NotFoundError('INVITATION_NOT_FOUND', `invitation ${id} not found`);
    const already = await this.repo.getMembership(workspace.id, account.user.id);
    const accepted = await this.repo.acceptInvitation(id, {
      workspaceId: workspace.id,
      userId: account.user.id,
      role: invitation.role,
      createdAt: Date.now(),
    });
    if (!accepted) throw new NotFoundError('INVITATION_NOT_FOUND', `invitation ${id} not found`);
    await this.audit.record(
      workspace.id,
      userActor(account.user),
      'member.joined',
      `user:${account.user.id}`,
      {
        role: already?.role ?? invitation.role,
        invitationId: id,
        invitedBy: invitation.invitedBy,
      },
    );
    return { workspace: workspaceView(workspace), role: already?.role ?? invitation.role };
  }

  async declineInvitation(account: AccountContext, id: string): Promise<void> {
    const invitation = await this.openInvitation(account, id);
    await this.repo.deleteInvitation(id);
    await this.audit.record(
      invitation.workspaceId,
      userActor(account.user),
      'invitation.declined',
      `invitation:${id}`,
      { role: invitation.role },
    );
  }

  // Accounts (the holder, or an instance owner)

  /** Every workspace an account belongs to, and the instance chain: where its changes are audited. */
  private async auditScopes(userId: string): Promise<string[]> {
    return [...(await this.repo.workspacesOf(userId)).map((m) => m.workspace.id), INSTANCE_AUDIT];
  }

  private async emailFree(email: string, userId?: string): Promise<void> {
    const other = await this.repo.getUserByEmail(email);
    if (other && other.id !== userId)
      throw new ConflictError('EMAIL_TAKEN', 'another account uses this e-mail');
  }

  /**
   * The holder changes their own account: the name freely, the e-mail and the password with the current password
   * (failures count against the sign-in budget). A new password ends the account's other sessions.
   */
  async updateOwnAccount(
    account: AccountContext,
    patch: {
      name?: string | undefined;
      email?: string | undefined;
      password?: string | undefined;
      currentPassword?: string | undefined;
    },
    source: string,
  ) {
    const user = account.user;
    if (patch.email !== undefined || patch.password !== undefined) {
      if (patch.currentPassword === undefined)
        throw new InvalidError(
          'CURRENT_PASSWORD_REQUIRED',
          'changing the e-mail or the password needs the current password',
        );
      const succeeded = this.reserveFailure(user.email, source);
      if (!(await verifyPassword(patch.currentPassword, user.passwordHash))) {
        await this.audit.recordIn(
          await this.auditScopes(user.id),
          userActor(user),
          'account.change_refused',
          `user:${user.id}`,
          { reason: 'wrong current password' },
        );
        throw new ForbiddenError('WRONG_PASSWORD', 'the current password is wrong');
      }
      succeeded();
    }
    if (patch.password !== undefined) checkPassword(patch.password);
    if (patch.email !== undefined && patch.email.toLowerCase() !== user.email.toLowerCase()) {
      const take = this.emailChanges.take(user.id, EMAIL_CHANGES_PER_WINDOW, this.options.windowMs);
      if (!take.ok)
        throw new TooManyAttemptsError(
          'RATE_LIMITED',
          'too many e-mail changes; try again later',
          take.retryAfterMs,
        );
      await this.emailFree(patch.email, user.id);
    }
    return this.applyAccountChange(user, account, patch, 'self');
  }

  private async requireOwner(account: AccountContext): Promise<void> {
    if (!account.user.instanceOwner)
      throw new ForbiddenError('OWNER_REQUIRED', 'only an instance owner may manage accounts');
  }

  async listAccounts(owner: AccountContext) {
    await this.requireOwner(owner);
    const users = await this.repo.listUsers();
    return Promise.all(
      users.map(async (u) => ({
        ...userView(u),
        workspaces: (await this.repo.workspacesOf(u.id)).map((m) => ({
          ...workspaceView(m.workspace),
          role: m.role,
        })),
      })),
    );
  }

  /** An instance owner creates an account (in no workspace: it is invited, or added by `createMember`). */
  async createAccount(
    owner: AccountContext,
    input: { email: string; name: string; password: string; instanceOwner?: boolean | undefined },
  ): Promise<UserRecord> {
    await this.requireOwner(owner);
    checkPassword(input.password);
    if (await this.repo.getUserByEmail(input.email))
      throw new ConflictError('USER_EXISTS', `a user with e-mail ${input.email} exists`);
    const user: UserRecord = {
      id: newId('usr'),
      email: input.email,
      name: input.name,
      passwordHash: await hashPassword(input.password),
      createdAt: Date.now(),
      disabledAt: null,
      instanceOwner: input.instanceOwner === true,
    };
    await this.repo.createUser(user);
    await this.audit.record(INSTANCE_AUDIT, userActor(owner.user), 'account.created', `user:${user.id}`, {
      email: user.email,
      instanceOwner: user.instanceOwner,
    });
    return user;
  }

  /** An instance owner changes any account: name, e-mail, password, disabled, instance ownership. */
  async updateAccount(
    owner: AccountContext,
    userId: string,
    patch: {
      name?: string | undefined;
      email?: string | undefined;
      password?: string | undefined;
      disabled?: boolean | undefined;
      instanceOwner?: boolean | undefined;
    },
  ) {
    await this.requireOwner(owner);
    const user = await this.repo.getUser(userId);
    if (!user) throw new NotFoundError('USER_NOT_FOUND', `user ${userId} not found`);
    if (patch.password !== undefined) checkPassword(patch.password);
    if (patch.email !== undefined) await this.emailFree(patch.email, user.id);
    const losesOwnership =
      user.instanceOwner &&
      user.disabledAt === null &&
      (patch.instanceOwner === false || patch.disabled === true);
    if (losesOwnership) {
      const owners = (await this.repo.listUsers()).filter(
        (u) => u.instanceOwner && u.disabledAt === null && u.id !== user.id,
      );
      if (owners.length === 0)
        throw new ConflictError('LAST_OWNER', 'the instance keeps at least one active instance owner');
    }
    if (patch.disabled === true && user.disabledAt === null) {
      for (const m of await this.repo.workspacesOf(user.id))
        if (m.role === 'admin') await this.keepAnAdmin(m.workspace.id, user.id);
    }
    return this.applyAccountChange(user, owner, patch, 'owner');
  }

  /** Writes an account change, ends sessions it invalidates, and audits it wherever the account is. */
  private async applyAccountChange(
    user: UserRecord,
    actorAccount: AccountContext,
    patch: {
      name?: string | undefined;
      email?: string | undefined;
      password?: string | undefined;
      disabled?: boolean | undefined;
      instanceOwner?: boolean | undefined;
    },
    by: 'self' | 'owner',
  ) {
    const changes: Record<string, unknown> = {};
    const update: Parameters<Repository['updateUser']>[1] = {};
    if (patch.name !== undefined && patch.name !== user.name) {
      update.name = patch.name;
      changes['name'] = patch.name;
    }
    if (patch.email !== undefined && patch.email !== user.email) {
      update.email = patch.email;
      changes['email'] = { from: user.email, to: patch.email };
    }
    if (patch.password !== undefined) {
      update.passwordHash = await hashPassword(patch.password);
      changes['passwordChanged'] = true;
    }
    if (patch.disabled !== undefined && patch.disabled !== (user.disabledAt !== null)) {
      update.disabledAt = patch.disabled ? Date.now() : null;
      changes['disabled'] = patch.disabled;
    }
    if (patch.instanceOwner !== undefined && patch.instanceOwner !== user.instanceOwner) {
      update.instanceOwner = patch.instanceOwner;
      changes['instanceOwner'] = patch.instanceOwner;
    }
    if (Object.keys(changes).length) {
      await this.repo.updateUser(user.id, update);
      // A new password ends every other session (the holder keeps the one they changed it in); disabling, all.
      if (changes['disabled'] === true || (changes['passwordChanged'] && by === 'owner'))
        await this.repo.deleteSessionsOf(user.id);
      else if (changes['passwordChanged'])
        await this.repo.deleteSessionsOf(user.id, { except: actorAccount.session.tokenHash });
      await this.audit.recordIn(
        await this.auditScopes(user.id),
        userActor(actorAccount.user),
        by === 'self' ? 'account.updated' : 'account.updated_by_owner',
        `user:${user.id}`,
        changes,
      );
      if (changes['disabled'] === true || changes['passwordChanged'] || changes['instanceOwner'] === false)
        this.accessChanged(user.id);
    }
    return userView((await this.repo.getUser(user.id)) as UserRecord);
  }

  /** Forbids a request unless the role allows the action. */
  static require(auth: AuthContext, permission: Permission): void {
    if (!can(auth.role, permission)) {
      throw new ForbiddenError('FORBIDDEN', `the ${auth.role} role may not do this (${permission})`);
    }
  }

  pruneLimiter(): void {
    this.failures.prune(this.options.windowMs);
    this.emailChanges.prune(this.options.windowMs);
  }

  /** Forgets invitations nobody answered in time (they were audited when sent). */
  pruneInvitations(now = Date.now()): Promise<number> {
    return this.repo.deleteExpiredInvitations(now);
  }
}
