/** Signing in and out, the first admin, the session, users and workspaces (`/api/auth`, `/api/users`, ...). */
import { z } from 'zod';
import { roleSchema, timestamp } from './common.js';

const email = z.email().max(320);
/**
 * A password as a request carries it. The rule a new one must keep is the server's (`security/passwords.ts`,
 * 10-1024 characters, WEAK_PASSWORD), served by `GET /api/auth/status`; this bound only keeps absurd bodies out.
 */
const password = z.string().min(1).max(10_000);
const name = z.string().trim().min(1).max(200);
const id = z.string().min(1).max(100);

/** What a new password must be, as the server checks it. */
export const passwordPolicySchema = z.object({ minLength: z.number().int(), maxLength: z.number().int() });
export type PasswordPolicy = z.output<typeof passwordPolicySchema>;

export const authStatusSchema = z.object({ setupRequired: z.boolean(), password: passwordPolicySchema });
export type AuthStatus = z.output<typeof authStatusSchema>;

export const loginBody = z.strictObject({ email, password });
export const setupBody = z.strictObject({
  token: z.string().min(1).max(200),
  email,
  name,
  password,
  workspaceName: name.optional(),
});
export const switchWorkspaceBody = z.strictObject({ workspaceId: id });
export const workspaceBody = z.strictObject({ name });
/** `POST /api/users`: without a password, an invitation; with one, a new account (instance owners only). */
export const addUserBody = z.strictObject({
  email,
  name: name.optional(),
  password: password.optional(),
  role: roleSchema,
});
export type AddUserBody = z.input<typeof addUserBody>;
/** Fields of the account itself: changed by its holder or an instance owner, never through a workspace. */
export const accountFields = ['name', 'email', 'password', 'disabled', 'instanceOwner'] as const;
/** `PATCH /api/users/:id`: a member's role in the workspace. */
export const memberBody = z.strictObject({ role: roleSchema });
/** `PATCH /api/account`: the holder's own account (a new password or email needs the current password). */
export const ownAccountBody = z
  .strictObject({
    name: name.optional(),
    email: email.optional(),
    password: password.optional(),
    currentPassword: password.optional(),
  })
  .refine(
    (b) => b.name !== undefined || b.email !== undefined || b.password !== undefined,
    'change at least one field',
  );
export type OwnAccountBody = z.input<typeof ownAccountBody>;
/** `POST /api/admin/users`: an account in no workspace yet (instance owners). */
export const newAccountBody = z.strictObject({
  email,
  name,
  password,
  instanceOwner: z.boolean().optional(),
});
/** `PATCH /api/admin/users/:id` (instance owners). */
export const accountBody = z
  .strictObject({
    name: name.optional(),
    email: email.optional(),
    password: password.optional(),
    disabled: z.boolean().optional(),
    instanceOwner: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one field');

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  /** The role in the workspace asked about (null: not a member); absent where no workspace is meant. */
  role: roleSchema.nullable().optional(),
  createdAt: timestamp,
  disabled: z.boolean(),
  /** Manages accounts across workspaces (the first admin is one). */
  instanceOwner: z.boolean().optional(),
});
export type User = z.output<typeof userSchema>;

export const workspaceSchema = z.object({ id: z.string(), name: z.string() });
export type Workspace = z.output<typeof workspaceSchema>;

/** `GET /api/auth/me`, and the answer of login, setup and a workspace switch. */
export const sessionSchema = z.object({
  /** `role` in the session's workspace; null when the session is in none. */
  user: userSchema.extend({ role: roleSchema.nullable() }),
  /** Null for an account that belongs to no workspace yet: it answers its invitations. */
  workspace: workspaceSchema.nullable(),
  csrfToken: z.string(),
  /** Pending invitations to workspaces. */
  invitations: z.number().int().min(0).optional(),
});
export type Session = z.output<typeof sessionSchema>;

export const workspaceListSchema = z.array(workspaceSchema.extend({ role: roleSchema }));
export const memberListSchema = z.array(userSchema);

/** A workspace the account belongs to, with its role there (`GET /api/workspaces`, `POST /api/workspaces`). */
export const memberWorkspaceSchema = workspaceSchema.extend({ role: roleSchema });

/** An account as instance owners list it, with its workspaces (`GET /api/admin/users`). */
export const accountSchema = userSchema.extend({ workspaces: z.array(memberWorkspaceSchema) });
export const accountListSchema = z.array(accountSchema);

/** An invitation to join a workspace, as the workspace's admins list it. */
export const invitationSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: roleSchema,
  invitedBy: z.object({ id: z.string().nullable(), name: z.string() }),
  createdAt: timestamp,
  expiresAt: timestamp,
});
export const invitationListSchema = z.array(invitationSchema);
/** The answer of `POST /api/users` without a password. */
export const invitationCreatedSchema = z.object({ invitation: invitationSchema });
/** An invitation as the invited account sees it (`GET /api/account/invitations`): with the workspace. */
export const accountInvitationSchema = invitationSchema.extend({ workspace: workspaceSchema });
export type Invitation = z.output<typeof accountInvitationSchema>;
export const accountInvitationListSchema = z.array(accountInvitationSchema);
/** `POST /api/account/invitations/:id/accept`. */
export const invitationAcceptedSchema = z.object({ workspace: workspaceSchema, role: roleSchema });
