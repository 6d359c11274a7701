/** Signing in and out, the first admin, the session, users and workspaces (`/api/auth`, `/api/users`, ...). */
import { z } from 'zod';
import { roleSchema, timestamp } from './common.js';

const email = z.email().max(320);
/**
 * A password as a request carries it. The rule a new one must keep is the server's (`security/passwords.ts`),
 * served by `GET /api/auth/status`; this bound only keeps absurd bodies out.
 */
const password = z.string().min(1).max(4096);
const name = z.string().trim().min(1).max(200);

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
export const switchWorkspaceBody = z.strictObject({ workspaceId: z.string().min(1).max(100) });
export const workspaceBody = z.strictObject({ name });
export const addUserBody = z.strictObject({
  email,
  name: name.optional(),
  password: password.optional(),
  role: roleSchema,
});
export const updateUserBody = z
  .strictObject({
    role: roleSchema.optional(),
    name: name.optional(),
    password: password.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one field');

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema.optional(),
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
