/**
 * Waiting runs survive the server: a process killed while 100 runs wait for reviews is replaced, each run is
 * decided once and resumes exactly once; SLAs that passed while the server was down are applied at start; and
 * the states a crash can leave between a decision and its resume are resumed at the next start.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunEvent } from '@finflow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import { ADMIN, Client, createFlow, tempDir, type Loose } from './test-helpers/harness.js';
import { exited, startChildServer, type ChildServer } from './test-helpers/processes.js';
import { reviewFlow } from './test-helpers/flows.js';

const dataDir = tempDir('finflow-review-restart-');
const children: ChildServer[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<ChildServer> {
  const s = await startChildServer(dataDir);
  children.push(s);
  return s;
}

async function signIn(url: string, email: string, password: string): Promise<Client> {
  const c = new Client(url);
  const r = await c.login(email, password);
  expect(r.status, r.text).toBe(200);
  return c;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const RUNS = 100;
const approverLogin = { email: 'approver@bank.example', password: 'approver password 123' };

describe('waiting runs across restarts', () => {
  it('resumes each of 100 waiting runs exactly once on its decision after a kill and restart', async () => {
    const first = await start();
    const admin = new Client(first.url);
    const setup = await admin.post('/api/auth/setup', { token: first.setupToken, ...ADMIN });
    expect(setup.status).toBe(201);
    admin.csrf = setup.body.csrfToken;
    expect(
      (await admin.post('/api/users', { ...approverLogin, name: 'Approver', role: 'approver' })).status,
    ).toBe(201);
    const flow = await createFlow(admin, reviewFlow());
    const sla = await createFlow(
      admin,
      reviewFlow(
        { sla: { dueInMinutes: 0.03, onExpiry: 'default', defaultOutcome: 'decline' } },
        'Short SLA',
      ),
    );
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i += 20) {
      const started = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          admin.post(`/api/flows/${flow.id}/runs`, {
            input: { applicationId: `R-${i + j}`, name: 'Liu Yang', amount: 20_000 + i + j },
          }),
        ),
      );
      for (const r of started) {
        expect(r.status).toBe(202);
        runIds.push(r.body.runId as string);
      }
    }
    await until('all runs to wait', async () => {
      const waiting = (await admin.get('/api/runs?status=waiting&limit=500')).body as Loose[];
      return waiting.length === RUNS ? true : undefined;
    });
    // One more, due 6 s from now: the server is killed as soon as it waits, so its SLA passes while none runs.
    const slaStarted = Date.now();
    const slaRun = (
      await admin.post(`/api/flows/${sla.id}/runs`, {
        input: { applicationId: 'SLA-1', name: 'Liu Yang', amount: 50_000 },
      })
    ).body.runId as string;
    await until('the SLA run to wait', async () =>
      (await admin.get(`/api/runs/${slaRun}`)).body.status === 'waiting' ? true : undefined,
    );
    // Killed, not stopped: nothing gets a chance to tidy up.
    first.child.kill('SIGKILL');
    await exited(first.child);
    // Let the short SLA pass while no server runs.
    expect(Date.now() - slaStarted).toBeLessThan(6_000);
    await new Promise((res) => setTimeout(res, Math.max(0, 6_500 - (Date.now() - slaStarted))));

    const second = await start();
    const c = await signIn(second.url, ADMIN.email, ADMIN.password);
    const approver = await signIn(second.url, approverLogin.email, approverLogin.password);
    // The SLA that passed while the server was down was applied at start.
    const slaDone = await until('the SLA default', async () => {
      const r = (await c.get(`/api/runs/${slaRun}`)).body;
      return r.status === 'succeeded' ? r : undefined;
    });
    expect(slaDone.run.outputs.decision).toMatchObject({ outcome: 'decline', decidedBy: 'sla' });

    const tasks = (await approver.get('/api/reviews?limit=200')).body as Loose[];
    expect(tasks).toHaveLength(RUNS);
    expect(new Set(tasks.map((x) => x.runId))).toEqual(new Set(runIds));
    // Every task decided once, several at a time, and some twice (the second is refused).
    for (let i = 0; i < tasks.length; i += 20) {
      const answers = await Promise.all(
        tasks.slice(i, i + 20).flatMap((task: Loose, j: number) => {
          const decide = () =>
            approver.post(`/api/reviews/${task.id}/decision`, {
              action: 'approve',
              reason: `checked ${i + j}`,
            });
          return j % 5 === 0 ? [decide(), decide()] : [decide()];
        }),
      );
      expect(answers.filter((a) => a.status === 200)).toHaveLength(Math.min(20, tasks.length - i));
      expect(answers.filter((a) => a.status !== 200).every((a) => a.status === 409)).toBe(true);
    }
    await until('all runs to finish', async () => {
      const done = (await c.get('/api/runs?status=succeeded&limit=500')).body as Loose[];
      return done.filter((r) => runIds.includes(r.id)).length === RUNS ? true : undefined;
    });
    for (const runId of runIds) {
      const events = (await c.get(`/api/runs/${runId}/events`)).body as RunEvent[];
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
      expect(events.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'node.started' && e.nodeId === 'review')).toHaveLength(2);
      expect(events.filter((e) => e.type === 'node.started' && e.nodeId === 'auto')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    }
    expect((await c.get('/api/audit/verify')).body).toMatchObject({ ok: true });
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  }, 180_000);

  it('resumes at start a decision a crash left unresumed, claimed or not', async () => {
    const server = await start();
    const c = await signIn(server.url, ADMIN.email, ADMIN.password);
    const flowId = ((await c.get('/api/flows')).body as Loose[]).find(
      (f) => f.name === 'Loan with review',
    ).id;
    const runs: string[] = [];
    for (const id of ['CRASH-1', 'CRASH-2']) {
      const r = await c.post(`/api/flows/${flowId}/runs`, {
        input: { applicationId: id, name: 'Chen Jie', amount: 30_000 },
      });
      runs.push(r.body.runId as string);
    }
    await until('both to wait', async () => {
      const states = await Promise.all(runs.map(async (id) => (await c.get(`/api/runs/${id}`)).body.status));
      return states.every((s) => s === 'waiting') ? true : undefined;
    });
    server.child.kill('SIGKILL');
    await exited(server.child);

    // What a crash can leave: (1) a decision taken while the run was executing, never resumed; (2) a decision
    // whose claim committed (the run marked running) but whose resumed execution never recorded anything.
    const decision = (reason: string) =>
      JSON.stringify({
        action: 'approve',
        reason,
        reviewers: [{ id: 'usr_x', name: 'X' }],
        decidedAt: Date.now(),
      });
    const db = new Database(join(dataDir, DATABASE_FILE));
    db.prepare(
      "UPDATE review_tasks SET status = 'decided', decision = ?, decided_at = ?, decided_by = 'user:usr_x' WHERE run_id = ?",
    ).run(decision('decided, never resumed'), Date.now(), runs[0]);
    db.prepare(
      "UPDATE review_tasks SET status = 'decided', decision = ?, decided_at = ?, decided_by = 'user:usr_x', resumed_by = 'clm_lost' WHERE run_id = ?",
    ).run(decision('claimed, never executed'), Date.now(), runs[1]);
    db.prepare("UPDATE runs SET status = 'running', resume_claim = 'clm_lost' WHERE id = ?").run(runs[1]);
    db.close();

    const after = await start();
    const c2 = await signIn(after.url, ADMIN.email, ADMIN.password);
    for (const [runId, reason] of [
      [runs[0], 'decided, never resumed'],
      [runs[1], 'claimed, never executed'],
    ] as const) {
      const done = await until(`run ${runId}`, async () => {
        const r = (await c2.get(`/api/runs/${runId}`)).body;
        return r.status === 'succeeded' ? r : undefined;
      });
      expect(done.run.outputs.decision.reasons).toEqual([reason]);
      const events = (await c2.get(`/api/runs/${runId}/events`)).body as RunEvent[];
      expect(events.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
      expect(events.some((e) => e.type === 'run.interrupted')).toBe(false);
    }
    after.child.kill('SIGTERM');
    expect(await exited(after.child)).toBe(0);
  }, 120_000);
});
