/**
 * Two FinFlow servers on one Postgres database (DATABASE_URL), as a team that outgrows one machine runs them:
 * an account, a flow and an endpoint made on one are used on the other, endpoint calls to both are recorded
 * in one place, conflicts between them come back as the same 409s as on one server, and the audit chain both
 * append to verifies as one chain.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';
import { needPostgres, startTestPostgres, type TestPostgresResult } from './test-helpers/postgres.js';

let server: TestPostgresResult | undefined;
const servers: TestServer[] = [];
let adminA: Client;
let key: string;

beforeAll(async () => {
  server = await startTestPostgres();
  if (!server.ok) return;
  const config = { databaseUrl: server.pg.url, secretKey: randomBytes(32).toString('hex') };
  // One after the other: the second finds the schema migrated by the first.
  servers.push(await startTestServer({ config }));
  servers.push(await startTestServer({ config }));
});
afterAll(async () => {
  for (const t of servers) await t.destroy();
  if (server?.ok) await server.pg.stop();
});

async function call(t: TestServer, slug: string, key: string, body: unknown) {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Loose };
}

describe('two servers on one Postgres database', () => {
  it('serve one set of accounts, flows, endpoints, runs and one audit chain', async (ctx) => {
    needPostgres(server, ctx);
    const [a, b] = servers as [TestServer, TestServer];
    expect(a.server.context.repo.kind).toBe('postgres');
    adminA = await setupAdmin(a);
    // The second server had offered setup too; with an admin in the shared database it is refused there.
    expect(
      (await new Client(b.url).post('/api/auth/setup', { token: b.server.setupToken, ...ADMIN })).status,
    ).toBe(409);
    const adminB = new Client(b.url);
    expect((await adminB.login(ADMIN.email, ADMIN.password)).status).toBe(200);

    const flow = await createFlow(adminA, scoringFlow());
    // These tests poll the endpoint until a rollout reaches the other server; the default per-key limit
    // (600 a minute) is not what they test, and a fast machine reaches it.
    const published = await adminB.post('/api/endpoints', {
      flowId: flow.id,
      version: 1,
      slug: 'prescreen',
      rateLimitPerMinute: 100_000,
    });
    expect(published.status).toBe(201);
    // The slug is taken on the other server too (a unique violation in Postgres, typed, mapped to 409).
    const again = await adminA.post('/api/endpoints', { flowId: flow.id, version: 1, slug: 'prescreen' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SLUG_TAKEN');
    key = (await adminA.post('/api/keys', { name: 'core', endpoints: [published.body.id] })).body
      .key as string;

    const applicants = Array.from({ length: 20 }, (_, i) => ({
      name: `A${i}`,
      income: 50_000 + i * 1000,
      debt: 9000,
    }));
    const answers = await Promise.all(applicants.map((x, i) => call(i % 2 ? b : a, 'prescreen', key, x)));
    expect(answers.map((r) => r.status)).toEqual(applicants.map(() => 200));
    expect(answers[0]?.body.outputs.decision).toEqual({ outcome: 'approve', score: 5.55 });

    const runs = (await adminA.get(`/api/runs?flowId=${flow.id}&limit=100`)).body as Loose[];
    expect(runs).toHaveLength(20);
    const one = await adminB.get(`/api/runs/${answers[1]?.body.runId as string}`);
    expect(one.status).toBe(200);
    expect(one.body.status).toBe('succeeded');

    // Saves of the flow from both servers: each gets the next version.
    const save = (c: Client, name: string) =>
      c.put(`/api/flows/${flow.id}`, { document: scoringFlow(name), message: name });
    expect((await save(adminA, 'Pre-screen A')).status).toBe(201);
    expect((await save(adminB, 'Pre-screen B')).status).toBe(201);
    expect((await adminA.get(`/api/flows/${flow.id}/versions`)).body.map((v: Loose) => v.number)).toEqual([
      3, 2, 1,
    ]);

    for (const c of [adminA, adminB]) {
      const verify = await c.get('/api/audit/verify');
      expect(verify.status).toBe(200);
      expect(verify.body.ok).toBe(true);
      expect(verify.body.entries).toBeGreaterThanOrEqual(6);
    }
  });

  it('keeps rollouts in Postgres: one started on one server is seen, refused twice and killed from the other', async (ctx) => {
    needPostgres(server, ctx);
    const [a, b] = servers as [TestServer, TestServer];
    const endpoint = ((await adminA.get('/api/endpoints')).body as Loose[]).find(
      (e) => e.slug === 'prescreen',
    );
    const eid = endpoint?.id as string;
    const adminB = new Client(b.url);
    await adminB.login(ADMIN.email, ADMIN.password);
    const started = await adminA.post(`/api/endpoints/${eid}/rollouts`, {
      challengerVersion: 2,
      stage: 'shadow',
      reason: 'shadow version 2 on live traffic',
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ stage: 'shadow', status: 'active', share: 0, championVersion: 1 });
    // Shadow: the champion answers every call on the server that routes by the rollout.
    for (let i = 0; i < 5; i++) {
      const r = await call(a, 'prescreen', key, { name: `S${i}`, income: 70_000, debt: 5000 });
      expect(r.status).toBe(200);
      expect(r.body.flowVersion).toBe(1);
    }
    // The other server reads the same rollout, and refuses a second one while it is in shadow.
    expect((await adminB.get(`/api/endpoints/${eid}/rollouts`)).body.map((r: Loose) => r.id)).toEqual([
      started.body.id,
    ]);
    const again = await adminB.post(`/api/endpoints/${eid}/rollouts`, { challengerVersion: 3, reason: 'x' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ROLLOUT_IN_PROGRESS');
    const killed = await adminB.post(`/api/endpoints/${eid}/rollout/kill`, { reason: 'enough' });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ status: 'killed', reason: 'enough' });
    expect(killed.body.transitions.map((t: Loose) => t.action)).toEqual(['started', 'killed']);
    // The first server's next transition of that rollout finds it moved on.
    expect(
      (await adminA.post(`/api/rollouts/${started.body.id as string}/pause`, { reason: 'x' })).status,
    ).toBe(409);
  });

  it("routes by a transition made on the other server within the sync period, and judges both servers' calls", async (ctx) => {
    needPostgres(server, ctx);
    const [a, b] = servers as [TestServer, TestServer];
    const eid = ((await adminA.get('/api/endpoints')).body as Loose[]).find((e) => e.slug === 'prescreen')
      ?.id as string;
    const adminB = new Client(b.url);
    await adminB.login(ADMIN.email, ADMIN.password);
    const applicant = (i: number) => ({ name: `R${i}`, income: 60_000, debt: 4000 });
    /** Calls `t` until it answers with `version`; how long that took. */
    const until = async (t: TestServer, version: number) => {
      const t0 = Date.now();
      for (let i = 0; Date.now() - t0 < 10_000; i++) {
        const r = await call(t, 'prescreen', key, applicant(i));
        expect(r.status).toBe(200);
        if (r.body.flowVersion === version) return Date.now() - t0;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`server never answered with version ${version}`);
    };
    // Both servers route by the champion first.
    expect((await call(b, 'prescreen', key, applicant(0))).body.flowVersion).toBe(1);
    const started = await adminA.post(`/api/endpoints/${eid}/rollouts`, {
      challengerVersion: 3,
      reason: 'pilot version 3 for every subject',
      plan: {
        pilotShare: 100,
        minStageMs: 0,
        gates: [{ metric: 'errorRate', threshold: 0.5, minSamples: 10, action: 'rollback' }],
      },
    });
    expect(started.status).toBe(201);
    // B learns of the start from the store (sync every 500 ms by default), without a restart.
    expect(await until(b, 3)).toBeLessThan(5_000);
    for (let i = 0; i < 6; i++) {
      expect((await call(a, 'prescreen', key, applicant(i))).body.flowVersion).toBe(3);
      expect((await call(b, 'prescreen', key, applicant(i))).body.flowVersion).toBe(3);
    }
    // Each server judges the calls of both: A's gate counts B's calls too.
    let errors: Loose | undefined;
    for (let i = 0; i < 50; i++) {
      const s = (await adminA.get(`/api/endpoints/${eid}/rollout`)).body;
      errors = (s.gates as Loose[])[0];
      if ((errors?.samples as number) >= 12) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(errors?.samples).toBeGreaterThanOrEqual(12);
    // Killed on B: A sends the next calls to the champion within the sync period.
    expect((await adminB.post(`/api/endpoints/${eid}/rollout/kill`, { reason: 'stop on B' })).status).toBe(
      200,
    );
    expect(await until(a, 1)).toBeLessThan(5_000);
    for (let i = 0; i < 5; i++)
      expect((await call(a, 'prescreen', key, applicant(i))).body.flowVersion).toBe(1);
    expect(a.server.context.rollouts.syncs).toBeGreaterThan(0);
  });

  it('answers 503 while Postgres is away, and serves again once it is back', async (ctx) => {
    const db = needPostgres(server, ctx);
    if (!db.halt || !db.restart)
      return ctx.skip('FINFLOW_TEST_POSTGRES_URL names a server this test cannot stop');
    const a = servers[0] as TestServer;
    const applicant = { name: 'Wu', income: 70_000, debt: 5000 };
    expect((await call(a, 'prescreen', key, applicant)).status).toBe(200);
    db.halt();
    try {
      const list = await adminA.get('/api/flows');
      expect(list.status).toBe(503);
      expect(list.body.error.code).toBe('DATABASE_UNAVAILABLE');
      expect(list.headers.get('retry-after')).toBe('1');
      expect((await adminA.get('/api/audit/verify')).status).toBe(503);
      // An endpoint whose key and endpoint are cached still runs the flow, but its decision cannot be recorded:
      // it is not given (503), never a 200 without its run record and audit entry.
      const decision = await call(a, 'prescreen', key, applicant);
      expect(decision.status).toBe(503);
      expect(['RUN_NOT_RECORDED', 'DATABASE_UNAVAILABLE']).toContain(decision.body.error.code);
    } finally {
      db.restart();
    }
    expect((await call(a, 'prescreen', key, applicant)).status).toBe(200);
    expect((await adminA.get('/api/flows')).status).toBe(200);
    expect((await adminA.get('/api/audit/verify')).body.ok).toBe(true);
  });
});
