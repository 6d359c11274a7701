import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.destroy();
});

describe('first admin', () => {
  it('needs setup while there are no users, and refuses a wrong token or a weak password', async () => {
    const anon = new Client(t.url);
    // The rule is served, so the setup form shows the same one the server checks.
    expect((await anon.get('/api/auth/status')).body).toEqual({
      setupRequired: true,
      password: { minLength: 10, maxLength: 1024 },
    });
    const wrong = await anon.post('/api/auth/setup', { token: 'not-the-token', ...ADMIN });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('INVALID_SETUP_TOKEN');
    const weak = await anon.post('/api/auth/setup', {
      token: t.server.setupToken,
      ...ADMIN,
      password: 'short',
    });
    expect(weak.status).toBe(400);
    expect(weak.body.error.code).toBe('WEAK_PASSWORD');
    // Nine characters (the setup form once accepted eight) are one short; ten emoji are ten characters.
    for (const password of ['nine-char', '\u{1F600}'.repeat(9), 'x'.repeat(1025)]) {
      const r = await anon.post('/api/auth/setup', { token: t.server.setupToken, ...ADMIN, password });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({
        code: 'WEAK_PASSWORD',
        details: { minLength: 10, maxLength: 1024 },
      });
    }
    expect((await anon.get('/api/auth/status')).body.setupRequired).toBe(true);
  });

  it('creates the admin once with the setup token, signed in with a secure cookie', async () => {
    const c = new Client(t.url);
    const r = await c.post('/api/auth/setup', { token: t.server.setupToken, ...ADMIN });
    expect(r.status).toBe(201);
    expect(r.body.user).toMatchObject({ email: ADMIN.email, role: 'admin', instanceOwner: true });
    const cookie = r.headers.getSetCookie().find((s) => s.startsWith('finflow_session='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    admin = c;
    admin.csrf = r.body.csrfToken;
    const again = await new Client(t.url).post('/api/auth/setup', {
      token: t.server.setupToken,
      ...ADMIN,
      email: 'x@y.example',
    });
    expect(again.status).toBe(409);
    expect((await new Client(t.url).get('/api/auth/status')).body.setupRequired).toBe(false);
  });
});

describe('sessions', () => {
  it('signs in with the right password only, and answers /me with the workspace and a CSRF token', async () => {
    const c = new Client(t.url);
    const bad = await c.login(ADMIN.email, 'wrong password!');
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('INVALID_CREDENTIALS');
    const unknown = await c.login('nobody@bank.example', 'whatever password');
    expect(unknown.status).toBe(401);
    const ok = await c.login(ADMIN.email.toUpperCase(), ADMIN.password);
    expect(ok.status).toBe(200);
    const me = await c.get('/api/auth/me');
    expect(me.body.user.email).toBe(ADMIN.email);
    expect(me.body.workspace.name).toBe('Default');
    expect(me.body.csrfToken).toBe(c.csrf);
  });

  it('refuses API calls without a session and cookie-authenticated writes without the CSRF token', async () => {
    const anon = new Client(t.url);
    const r = await anon.get('/api/flows');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('UNAUTHENTICATED');
    const noCsrf = await admin.post('/api/flows', { document: scoringFlow() }, { 'x-csrf-token': '' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('CSRF_FAILED');
    const wrongCsrf = await admin.post(
      '/api/flows',
      { document: scoringFlow() },
      { 'x-csrf-token': 'forged' },
    );
    expect(wrongCsrf.status).toBe(403);
  });

  it('ends the session at logout', async () => {
    const c = new Client(t.url);
    await c.login(ADMIN.email, ADMIN.password);
    const cookie = c.cookie;
    expect((await c.post('/api/auth/logout')).status).toBe(204);
    const stale = new Client(t.url);
    stale.cookie = cookie;
    expect((await stale.get('/api/auth/me')).status).toBe(401);
  });

  it('limits repeated failed sign-ins', async () => {
    const c = new Client(t.url);
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await c.login('limited@bank.example', `wrong ${i} password`)).status;
    expect(last).toBe(429);
  });
});

describe('sign-in throttling', () => {
  /** A server behind a (trusted) proxy, so each request can come from an address of the test's choosing. */
  let p: TestServer;
  let owner: Client;
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const login = (email: string, password: string, address: string) =>
    new Client(p.url).post('/api/auth/login', { email, password }, from(address));

  beforeAll(async () => {
    p = await startTestServer({ config: { trustProxy: true } });
    owner = await setupAdmin(p);
    // The other tellers of the spray need no account: a sign-in for an unknown e-mail counts the same.
    for (const i of [3, 5])
      await owner.post('/api/users', {
        email: `teller${i}@bank.example`,
        password: `teller ${i} password`,
        role: 'viewer',
      });
    await owner.post('/api/users', {
      email: 'clerk@bank.example',
      password: 'clerk password 42',
      role: 'viewer',
    });
  });
  afterAll(async () => {
    await p.destroy();
  });

  it('slows one password tried across 30 accounts from one address', { timeout: 60_000 }, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push((await login(`teller${i}@bank.example`, 'Summer2026!', '203.0.113.7')).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // The address is slowed, not the accounts: from elsewhere they still sign in.
    expect((await login('teller3@bank.example', 'teller 3 password', '203.0.113.8')).status).toBe(200);
  });

  it('slows one account guessed from many addresses, with Retry-After', async () => {
    let last = await login('teller5@bank.example', 'guess 0 password', '198.51.100.1');
    for (let i = 1; i <= 10; i++)
      last = await login('teller5@bank.example', `guess ${i} password`, `198.51.100.${i + 1}`);
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    // The right password is refused too while the account is slowed: the budget protects the account.
    expect((await login('teller5@bank.example', 'teller 5 password', '198.51.100.99')).status).toBe(429);
  });

  it('counts failures only: successful sign-ins never use up the budget', { timeout: 60_000 }, async () => {
    // More successes than the budget of failures (10 per account).
    for (let i = 0; i < 12; i++)
      expect((await login('clerk@bank.example', 'clerk password 42', '192.0.2.10')).status).toBe(200);
    for (let i = 0; i < 9; i++)
      expect((await login('clerk@bank.example', `wrong ${i} password`, '192.0.2.10')).status).toBe(401);
    expect((await login('clerk@bank.example', 'clerk password 42', '192.0.2.10')).status).toBe(200);
    expect((await login('clerk@bank.example', 'one more wrong one', '192.0.2.10')).status).toBe(401);
    expect((await login('clerk@bank.example', 'and another wrong', '192.0.2.10')).status).toBe(429);
  });
});

describe('roles', () => {
  it('lets each role do what it may and nothing more', async () => {
    const viewer = await addUser(t, admin, 'viewer');
    const analyst = await addUser(t, admin, 'analyst');
    const developer = await addUser(t, admin, 'developer');
    const approver = await addUser(t, admin, 'approver');

    const flow = await createFlow(admin, scoringFlow());
    // Everyone reads.
    for (const c of [viewer, analyst, developer, approver])
      expect((await c.get(`/api/flows/${flow.id}`)).status).toBe(200);

    // Viewers and approvers do not edit or run.
    expect((await viewer.post('/api/flows', { document: scoringFlow() })).status).toBe(403);
    expect(
      (await approver.post(`/api/flows/${flow.id}/runs`, { input: { name: 'A', income: 1, debt: 0 } }))
        .status,
    ).toBe(403);
    // Analysts edit and run, but do not manage credentials, endpoints or keys.
    expect((await analyst.post('/api/flows', { document: scoringFlow('by analyst') })).status).toBe(201);
    expect(
      (await analyst.post(`/api/flows/${flow.id}/runs`, { input: { name: 'A', income: 1, debt: 0 } })).status,
    ).toBe(202);
    const denied = await analyst.put('/api/credentials/openai', { value: 'sk-test-123456' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    expect((await analyst.post('/api/keys', { name: 'k', endpoints: '*' })).status).toBe(403);
    // Developers manage credentials and keys, not users.
    expect((await developer.put('/api/credentials/openai', { value: 'sk-test-123456' })).status).toBe(204);
    expect((await developer.post('/api/keys', { name: 'k', endpoints: '*' })).status).toBe(201);
    expect((await developer.get('/api/users')).status).toBe(403);
    // Only admins manage users; approvers read the audit log.
    expect((await admin.get('/api/users')).body.map((u: { role: string }) => u.role).sort()).toEqual([
      'admin',
      'analyst',
      'approver',
      'developer',
      'viewer',
    ]);
    expect((await approver.get('/api/audit')).status).toBe(200);
    expect((await viewer.get('/api/audit')).status).toBe(403);
  });

  it('keeps at least one admin, and a disabled user cannot sign in', async () => {
    const me = await admin.get('/api/auth/me');
    const demote = await admin.patch(`/api/users/${me.body.user.id}`, { role: 'viewer' });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('LAST_ADMIN');

    const temp = await addUser(t, admin, 'analyst', 'temp@bank.example');
    const tempMe = await temp.get('/api/auth/me');
    // Disabling is an account change: an instance owner's (the first admin is one), not the workspace's.
    expect((await admin.patch(`/api/users/${tempMe.body.user.id}`, { disabled: true })).status).toBe(403);
    expect((await admin.patch(`/api/admin/users/${tempMe.body.user.id}`, { disabled: true })).status).toBe(
      200,
    );
    expect((await temp.get('/api/auth/me')).status).toBe(401);
    expect((await new Client(t.url).login('temp@bank.example', 'analyst password 123')).status).toBe(401);
  });
});
