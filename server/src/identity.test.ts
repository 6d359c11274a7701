// Accounts, workspaces and who may change what, through the real HTTP API and socket.io: a workspace admin
// manages memberships and roles in that workspace only; an account's password, e-mail, name and disabled state
// change only by its holder (with the current password) or an instance owner; adding an existing account is an
// invitation it accepts, answered alike for registered and unregistered addresses; every change is audited in
// every workspace it touches. The takeover of issue 10 (an admin of B resetting the password of a user of A)
// is the first case.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  Client,
  connected,
  createFlow,
  emitAck,
  setupAdmin,
  startTestServer,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow, slowFlow } from './test-helpers/flows.js';

let t: TestServer;
/** The first admin: instance owner, admin of workspace A ("Default") and of B (which it creates). */
let owner: Client;
/** An analyst of A. */
let alice: Client;
/** Admin of B, not an instance owner. */
let bob: Client;
const ids: Record<string, string> = {};
const ALICE = { email: 'alice@bank.example', password: 'alice original password' };
const BOB = { email: 'bob@bank.example', password: 'bob the b admin password' };

async function signIn(email: string, password: string): Promise<Client> {
  const c = new Client(t.url);
  const r = await c.login(email, password);
  if (r.status !== 200) throw new Error(`sign-in of ${email}: ${r.status} ${r.text}`);
  return c;
}

const auditOf = async (c: Client) =>
  (await c.get('/api/audit?limit=1000')).body as {
    action: string;
    target: string;
    actor: { id?: string };
    details: Record<string, unknown>;
  }[];

beforeAll(async () => {
  t = await startTestServer();
  owner = await setupAdmin(t);
  ids['A'] = (await owner.get('/api/auth/me')).body.workspace.id;
  ids['alice'] = (
    await owner.post('/api/users', { ...ALICE, name: 'Alice Analyst', role: 'analyst' })
  ).body.id;
  alice = await signIn(ALICE.email, ALICE.password);
  // B: created by the owner, with Bob invited as its admin (he accepts).
  ids['B'] = (await owner.post('/api/workspaces', { name: 'Workspace B' })).body.id;
  const bobAccount = await owner.post('/api/admin/users', { ...BOB, name: 'Bob Admin' });
  expect(bobAccount.status).toBe(201);
  ids['bob'] = bobAccount.body.id;
  await owner.post('/api/auth/workspace', { workspaceId: ids['B'] });
  expect((await owner.post('/api/users', { email: BOB.email, role: 'admin' })).status).toBe(201);
  bob = await signIn(BOB.email, BOB.password);
  expect((await bob.get('/api/auth/me')).body).toMatchObject({ workspace: null, invitations: 1 });
  const [invitation] = (await bob.get('/api/account/invitations')).body;
  expect((await bob.post(`/api/account/invitations/${invitation.id}/accept`)).status).toBe(200);
  await bob.post('/api/auth/workspace', { workspaceId: ids['B'] });
  await owner.post('/api/auth/workspace', { workspaceId: ids['A'] });
}, 120_000);
afterAll(async () => {
  await t.destroy();
});

describe('an admin of B against an account of A (issue 10, finding 1)', () => {
  it('cannot reset, disable, rename or re-address the account; it still signs in with its own password', async () => {
    for (const change of [
      { password: 'taken over password' },
      { disabled: true },
      { email: 'bob-owns-this@bank.example' },
      { name: 'Mallory' },
    ]) {
      const r = await bob.patch(`/api/users/${ids['alice']}`, change);
      expect(r.status, JSON.stringify(change)).toBe(403);
      expect(r.body.error.code).toBe('ACCOUNT_CHANGE_FORBIDDEN');
    }
    // A role is a membership: Alice has none in B.
    expect((await bob.patch(`/api/users/${ids['alice']}`, { role: 'viewer' })).status).toBe(404);
    // Nor through the instance routes.
    expect(
      (await bob.patch(`/api/admin/users/${ids['alice']}`, { password: 'taken over password' })).status,
    ).toBe(403);
    expect((await bob.get('/api/admin/users')).body.error.code).toBe('OWNER_REQUIRED');
    expect((await new Client(t.url).login(ALICE.email, 'taken over password')).status).toBe(401);
    expect((await alice.get('/api/auth/me')).status).toBe(200);
    expect((await new Client(t.url).login(ALICE.email, ALICE.password)).status).toBe(200);
    // Workspace A saw nothing of Bob.
    expect((await auditOf(owner)).some((e) => e.actor.id === ids['bob'])).toBe(false);
  });

  it('adding the account is an invitation: no membership until it accepts, and the answer tells nothing', async () => {
    const registered = await bob.post('/api/users', { email: ALICE.email, role: 'viewer' });
    const unknown = await bob.post('/api/users', { email: 'nobody-here@bank.example', role: 'viewer' });
    expect(registered.status).toBe(201);
    expect(unknown.status).toBe(registered.status);
    const shape = (b: { invitation: Record<string, unknown> }) => ({
      ...b.invitation,
      id: typeof b.invitation['id'],
      email: typeof b.invitation['email'],
      createdAt: typeof b.invitation['createdAt'],
      expiresAt: typeof b.invitation['expiresAt'],
    });
    expect(shape(unknown.body)).toEqual(shape(registered.body));
    expect(Object.keys(unknown.body)).toEqual(Object.keys(registered.body));
    // Creating an account with a password is an owner's act: refused alike, registered or not.
    for (const email of [ALICE.email, 'someone-new@bank.example']) {
      const r = await bob.post('/api/users', { email, password: 'a password for it', role: 'viewer' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('OWNER_REQUIRED');
    }
    expect((await bob.get('/api/users')).body.map((u: { email: string }) => u.email)).not.toContain(
      ALICE.email,
    );
    expect(
      (await bob.get('/api/workspace/invitations')).body.map((i: { email: string }) => i.email).sort(),
    ).toEqual([ALICE.email, 'nobody-here@bank.example']);
    // Not a member: the session cannot be switched there.
    expect((await alice.post('/api/auth/workspace', { workspaceId: ids['B'] })).status).toBe(404);
  });

  it('a workspace Bob creates gives him nothing over Alice either', async () => {
    const c = await bob.post('/api/workspaces', { name: 'Workspace C' });
    expect(c.status).toBe(201);
    ids['C'] = c.body.id;
    await bob.post('/api/auth/workspace', { workspaceId: ids['C'] });
    expect((await bob.post('/api/users', { email: ALICE.email, role: 'admin' })).status).toBe(201);
    expect((await bob.patch(`/api/users/${ids['alice']}`, { password: 'taken over password' })).status).toBe(
      403,
    );
    expect((await alice.post('/api/auth/workspace', { workspaceId: ids['C'] })).status).toBe(404);
    await bob.post('/api/auth/workspace', { workspaceId: ids['B'] });
  });
});

describe('invitations, as the invited account sees them', () => {
  it('lists them, accepts one (a membership with the role) and declines another, each audited', async () => {
    const mine = (await alice.get('/api/account/invitations')).body as {
      id: string;
      role: string;
      workspace: { id: string; name: string };
    }[];
    expect(mine.map((i) => i.workspace.name).sort()).toEqual(['Workspace B', 'Workspace C']);
    expect((await alice.get('/api/auth/me')).body.invitations).toBe(2);
    const toB = mine.find((i) => i.workspace.id === ids['B']) as { id: string };
    const toC = mine.find((i) => i.workspace.id === ids['C']) as { id: string };
    // Someone else's invitation is not found, whoever asks.
    expect((await bob.post(`/api/account/invitations/${toB.id}/accept`)).status).toBe(404);
    const accepted = await alice.post(`/api/account/invitations/${toB.id}/accept`);
    expect(accepted.body).toEqual({ workspace: { id: ids['B'], name: 'Workspace B' }, role: 'viewer' });
    expect((await alice.post(`/api/account/invitations/${toC.id}/decline`)).status).toBe(204);
    expect((await alice.post(`/api/account/invitations/${toC.id}/accept`)).status).toBe(404);
    expect((await alice.get('/api/account/invitations')).body).toEqual([]);
    expect((await alice.get('/api/workspaces')).body.map((w: { name: string }) => w.name).sort()).toEqual([
      'Default',
      'Workspace B',
    ]);
    const bAudit = await auditOf(bob);
    expect(
      bAudit.find((e) => e.action === 'member.joined' && e.target === `user:${ids['alice']}`),
    ).toBeTruthy();
    await bob.post('/api/auth/workspace', { workspaceId: ids['C'] });
    expect((await auditOf(bob)).some((e) => e.action === 'invitation.declined')).toBe(true);
    await bob.post('/api/auth/workspace', { workspaceId: ids['B'] });
  });

  it('lets an invitation expire: not listed, not accepted, then forgotten', async () => {
    await bob.post('/api/users', { email: 'late@bank.example', role: 'viewer' });
    const late = await owner.post('/api/admin/users', {
      email: 'late@bank.example',
      name: 'Late',
      password: 'late reply password',
    });
    expect(late.status).toBe(201);
    const latecomer = await signIn('late@bank.example', 'late reply password');
    const [inv] = (await latecomer.get('/api/account/invitations')).body;
    const db = new Database(join(t.dataDir, DATABASE_FILE));
    db.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?').run(Date.now() - 1, inv.id);
    db.close();
    expect((await latecomer.get('/api/account/invitations')).body).toEqual([]);
    expect((await latecomer.post(`/api/account/invitations/${inv.id}/accept`)).status).toBe(404);
    expect(await t.server.context.auth.pruneInvitations()).toBe(1);
  });

  it('lets the workspace admin revoke a pending invitation', async () => {
    const pending = (await bob.get('/api/workspace/invitations')).body as { id: string; email: string }[];
    const stray = pending.find((i) => i.email === 'nobody-here@bank.example') as { id: string };
    expect((await alice.delete(`/api/workspace/invitations/${stray.id}`)).status).toBe(403);
    expect((await bob.delete(`/api/workspace/invitations/${stray.id}`)).status).toBe(204);
    expect((await bob.get('/api/workspace/invitations')).body).toEqual([]);
  });
});

describe('membership inside one workspace', () => {
  it("lets the admin of B change Alice's role in B, and nothing of hers in A", async () => {
    expect((await bob.patch(`/api/users/${ids['alice']}`, { role: 'analyst' })).body.role).toBe('analyst');
    const inA = (await owner.get('/api/users')).body.find((u: { id: string }) => u.id === ids['alice']);
    expect(inA.role).toBe('analyst');
    expect((await bob.patch(`/api/users/${ids['alice']}`, { role: 'approver' })).status).toBe(200);
    expect((await owner.get('/api/users')).body.find((u: { id: string }) => u.id === ids['alice']).role).toBe(
      'analyst',
    );
  });

  it('ends the reach of a session in B once Alice is removed from B, sockets included', async () => {
    await alice.post('/api/auth/workspace', { workspaceId: ids['B'] });
    const flow = await createFlow(bob, slowFlow(5_000));
    const run = await bob.post(`/api/flows/${flow.id}/runs`, { input: { n: 1 } });
    const socket = alice.socket();
    await connected(socket);
    expect(await emitAck(socket, 'run:subscribe', { runId: run.body.runId })).toEqual({ ok: true });
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));

    expect((await bob.delete(`/api/users/${ids['alice']}`)).status).toBe(204);
    expect(await closed).toBe('io server disconnect');
    const flows = await alice.get('/api/flows');
    expect(flows.status).toBe(403);
    expect(flows.body.error.code).toBe('NO_WORKSPACE');
    expect((await alice.get('/api/auth/me')).body.workspace).toBeNull();
    expect((await alice.post('/api/auth/workspace', { workspaceId: ids['B'] })).status).toBe(404);
    const again = alice.socket();
    await connected(again);
    expect(await emitAck(again, 'run:subscribe', { runId: run.body.runId })).toMatchObject({ ok: false });
    again.disconnect();
    // Her own workspace is still hers.
    expect((await alice.post('/api/auth/workspace', { workspaceId: ids['A'] })).status).toBe(200);
    expect((await alice.get('/api/flows')).status).toBe(200);
    const removed = (await auditOf(bob)).find((e) => e.action === 'member.removed');
    expect(removed?.target).toBe(`user:${ids['alice']}`);
  });

  it('keeps an active admin: no removing or demoting the last one, self-demotion only with another', async () => {
    // C has Bob alone.
    await bob.post('/api/auth/workspace', { workspaceId: ids['C'] });
    expect((await bob.delete(`/api/users/${ids['bob']}`)).body.error.code).toBe('LAST_ADMIN');
    expect((await bob.patch(`/api/users/${ids['bob']}`, { role: 'viewer' })).body.error.code).toBe(
      'LAST_ADMIN',
    );
    // B has Bob and the owner: Bob may step down, and his session's role follows at once.
    await bob.post('/api/auth/workspace', { workspaceId: ids['B'] });
    expect((await bob.patch(`/api/users/${ids['bob']}`, { role: 'developer' })).status).toBe(200);
    expect((await bob.get('/api/auth/me')).body.user.role).toBe('developer');
    expect((await bob.get('/api/users')).status).toBe(403);
    await owner.post('/api/auth/workspace', { workspaceId: ids['B'] });
    expect((await owner.patch(`/api/users/${ids['bob']}`, { role: 'admin' })).status).toBe(200);
    await owner.post('/api/auth/workspace', { workspaceId: ids['A'] });
  });
});

describe('the account holder', () => {
  it('changes the password only with the current one; other sessions end, this one stays', async () => {
    const elsewhere = await signIn(ALICE.email, ALICE.password);
    const missing = await alice.patch('/api/account', { password: 'alice second password' });
    expect(missing.body.error.code).toBe('CURRENT_PASSWORD_REQUIRED');
    const wrong = await alice.patch('/api/account', {
      password: 'alice second password',
      currentPassword: 'not my password at all',
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('WRONG_PASSWORD');
    const ok = await alice.patch('/api/account', {
      password: 'alice second password',
      currentPassword: ALICE.password,
      name: 'Alice A.',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe('Alice A.');
    expect((await alice.get('/api/auth/me')).status).toBe(200);
    expect((await elsewhere.get('/api/auth/me')).status).toBe(401);
    expect((await new Client(t.url).login(ALICE.email, ALICE.password)).status).toBe(401);
    ALICE.password = 'alice second password';
    expect(
      (await auditOf(owner)).some((e) => e.action === 'account.updated' && e.details['passwordChanged']),
    ).toBe(true);
  });
});

describe('instance owners', () => {
  it('reset any password, audited in every workspace of the account and in the instance log', async () => {
    // Alice is back in B for this (invited and accepted), so her account is in A and B.
    await bob.post('/api/users', { email: ALICE.email, role: 'viewer' });
    const [inv] = (await alice.get('/api/account/invitations')).body;
    await alice.post(`/api/account/invitations/${inv.id}/accept`);
    const r = await owner.patch(`/api/admin/users/${ids['alice']}`, { password: 'reset by the owner 1' });
    expect(r.status).toBe(200);
    // Her sessions end; the new password works.
    expect((await alice.get('/api/auth/me')).status).toBe(401);
    alice = await signIn(ALICE.email, 'reset by the owner 1');
    const isReset = (e: { action: string; target: string }) =>
      e.action === 'account.updated_by_owner' && e.target === `user:${ids['alice']}`;
    expect((await auditOf(owner)).some(isReset)).toBe(true);
    expect((await auditOf(bob)).some(isReset)).toBe(true);
    expect(
      ((await owner.get('/api/admin/audit?limit=1000')).body as { action: string; target: string }[]).some(
        isReset,
      ),
    ).toBe(true);
    expect((await owner.get('/api/admin/audit/verify')).body.ok).toBe(true);
    expect((await bob.get('/api/admin/audit')).status).toBe(403);
  });

  it('act on members of a workspace they are not in, audited there, without reaching its content', async () => {
    expect((await owner.post('/api/auth/workspace', { workspaceId: ids['C'] })).status).toBe(404);
    expect((await owner.patch(`/api/admin/users/${ids['bob']}`, { name: 'Bob B.' })).status).toBe(200);
    await bob.post('/api/auth/workspace', { workspaceId: ids['C'] });
    const renamed = (await auditOf(bob)).find((e) => e.action === 'account.updated_by_owner');
    expect(renamed?.details).toEqual({ name: 'Bob B.' });
    await bob.post('/api/auth/workspace', { workspaceId: ids['B'] });
  });

  it('disable an account (sessions end, sign-in refused) but not the last admin of a workspace', async () => {
    const last = await owner.patch(`/api/admin/users/${ids['bob']}`, { disabled: true });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('LAST_ADMIN');
    const socket = alice.socket();
    await connected(socket);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect((await owner.patch(`/api/admin/users/${ids['alice']}`, { disabled: true })).status).toBe(200);
    expect(await closed).toBe('io server disconnect');
    expect((await alice.get('/api/auth/me')).status).toBe(401);
    expect((await new Client(t.url).login(ALICE.email, 'reset by the owner 1')).status).toBe(401);
    expect((await owner.patch(`/api/admin/users/${ids['alice']}`, { disabled: false })).status).toBe(200);
    expect((await new Client(t.url).login(ALICE.email, 'reset by the owner 1')).status).toBe(200);
  });

  it('grant and revoke ownership; the last owner stays', async () => {
    const me = (await owner.get('/api/auth/me')).body.user.id as string;
    for (const change of [{ instanceOwner: false }, { disabled: true }]) {
      const r = await owner.patch(`/api/admin/users/${me}`, change);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('LAST_OWNER');
    }
    expect((await owner.patch(`/api/admin/users/${ids['bob']}`, { instanceOwner: true })).status).toBe(200);
    expect((await bob.get('/api/admin/users')).status).toBe(200);
    expect((await bob.patch(`/api/admin/users/${ids['bob']}`, { instanceOwner: false })).status).toBe(200);
    expect((await bob.get('/api/admin/users')).status).toBe(403);
    // Newest first: Bob gave it up after the owner granted it.
    const granted = (
      (await owner.get('/api/admin/audit?limit=1000')).body as {
        action: string;
        target: string;
        details: Record<string, unknown>;
      }[]
    )
      .filter((e) => e.target === `user:${ids['bob']}` && 'instanceOwner' in e.details)
      .map((e) => [e.action, e.details['instanceOwner']]);
    expect(granted).toEqual([
      ['account.updated_by_owner', false],
      ['account.updated_by_owner', true],
      ['account.created', false],
    ]);
  });

  it('create accounts that belong to no workspace until they accept an invitation', async () => {
    const created = await owner.post('/api/admin/users', {
      email: 'carol@bank.example',
      name: 'Carol',
      password: 'carol first password',
    });
    expect(created.status).toBe(201);
    expect(
      (
        await owner.post('/api/admin/users', {
          email: 'CAROL@bank.example',
          name: 'C',
          password: 'x'.repeat(12),
        })
      ).body.error.code,
    ).toBe('USER_EXISTS');
    const carol = await signIn('carol@bank.example', 'carol first password');
    const me = (await carol.get('/api/auth/me')).body;
    expect(me.workspace).toBeNull();
    expect(me.user.role).toBeNull();
    expect((await carol.get('/api/flows')).body.error.code).toBe('NO_WORKSPACE');
    expect((await carol.post('/api/workspaces', { name: 'Mine' })).status).toBe(403);
    expect((await createFlow(owner, scoringFlow())).id).toBeTruthy();
  });
});
