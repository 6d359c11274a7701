/**
 * Human review through the session API: a run that waits, the inbox by role and workspace, decisions with
 * maker-checker and four-eyes, exactly one resume under concurrent decisions, SLA paths, cancellation, and every
 * review action in the audit chain.
 */
import type { RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';
import { reviewFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let approver: Client;
let approver2: Client;
let analyst: Client;
let viewer: Client;
let flowId: string;

const application = (id: string, amount = 25_000) => ({ applicationId: id, name: 'Zhang Wei', amount });

async function startRun(c: Client, flow: string, input: unknown): Promise<string> {
  const r = await c.post(`/api/flows/${flow}/runs`, { input });
  expect(r.status, r.text).toBe(202);
  return r.body.runId as string;
}

/** Starts a run and waits until it waits for its review; returns the run and its task. */
async function waitingRun(c: Client, flow: string, input: unknown): Promise<{ runId: string; task: Loose }> {
  const runId = await startRun(c, flow, input);
  const run = await waitForRun(c, runId);
  expect(run.status).toBe('waiting');
  const tasks = (await c.get(`/api/runs/${runId}/reviews`)).body as Loose[];
  expect(tasks).toHaveLength(1);
  return { runId, task: tasks[0] };
}

/** Starts a run whose review has a short SLA: its task, once stored (the run may already have gone on). */
async function runWithTask(c: Client, flow: string, input: unknown): Promise<{ runId: string; task: Loose }> {
  const runId = await startRun(c, flow, input);
  const until = Date.now() + 10_000;
  for (;;) {
    const tasks = (await c.get(`/api/runs/${runId}/reviews`)).body as Loose[];
    if (tasks.length) return { runId, task: tasks[0] };
    if (Date.now() > until) throw new Error(`run ${runId} never waited`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function untilStatus(c: Client, runId: string, status: string, timeoutMs = 10_000): Promise<Loose> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.get(`/api/runs/${runId}`);
    if (r.body.status === status) return r.body;
    if (Date.now() > until) throw new Error(`run ${runId} is ${r.body.status}, not ${status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const events = async (c: Client, runId: string) =>
  (await c.get(`/api/runs/${runId}/events`)).body as RunEvent[];
const auditActions = async (c: Client) =>
  ((await c.get('/api/audit?limit=1000')).body as { action: string; target: string; details: Loose }[]).map(
    (e) => e,
  );

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  approver = await addUser(t, admin, 'approver', 'approver1@bank.example');
  approver2 = await addUser(t, admin, 'approver', 'approver2@bank.example');
  analyst = await addUser(t, admin, 'analyst');
  viewer = await addUser(t, admin, 'viewer');
  flowId = (await createFlow(admin, reviewFlow())).id;
});
afterAll(async () => {
  await t.destroy();
});

describe('a run with a human review', () => {
  it('waits with a task that shows the masked case and the decision so far, and goes on after the decision', async () => {
    const small = await startRun(admin, flowId, application('APP-0', 500));
    expect(await waitForRun(admin, small)).toMatchObject({
      status: 'succeeded',
      run: { outputs: { decision: { outcome: 'approve' } } },
    });

    const { runId, task } = await waitingRun(admin, flowId, application('APP-1'));
    expect(task).toMatchObject({
      status: 'open',
      queue: 'underwriting',
      title: 'APP-1',
      roles: ['approver'],
      task: {
        summary: [
          { path: 'applicationId', value: 'APP-1' },
          { path: 'amount', value: 25_000 },
        ],
        decision: { outcome: 'review', reasons: ['amount 25000 above 10000'] },
        outcomes: ['approve', 'decline', 'counter-offer'],
      },
    });
    // The applicant's name is personal data: masked in the task as in the run's records.
    expect(task.task.case).toEqual({ applicationId: 'APP-1', name: '[redacted]', amount: 25_000 });
    expect(JSON.stringify(await events(admin, runId))).not.toContain('Zhang Wei');
    const state = (await admin.get(`/api/runs/${runId}`)).body;
    expect(state.run.nodes.review).toMatchObject({ status: 'waiting', task: { queue: 'underwriting' } });
    expect((await events(admin, runId)).at(-1)).toMatchObject({ type: 'run.suspended', waiting: ['review'] });

    const d = await approver.post(`/api/reviews/${task.id}/decision`, {
      action: 'approve',
      reason: 'Income verified with two payslips',
    });
    expect(d.status, d.text).toBe(200);
    expect(d.body).toMatchObject({ decided: true, resumed: true, task: { status: 'decided' } });
    const done = await untilStatus(admin, runId, 'succeeded');
    expect(done.run.outputs.decision).toMatchObject({
      outcome: 'approve',
      reasons: ['Income verified with two payslips'],
      decidedBy: 'reviewer',
      reviewers: [{ name: 'approver user' }],
      recommendation: 'review',
    });
    const log = await events(admin, runId);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
    expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    // Nothing upstream ran again: each of them started once.
    for (const id of ['auto', 'gate', 'case'])
      expect(
        log.filter((e) => e.type === 'node.started' && e.nodeId === id),
        id,
      ).toHaveLength(1);
    const audit = await auditActions(admin);
    expect(audit.find((e) => e.action === 'review.requested' && e.details.runId === runId)).toBeTruthy();
    expect(
      audit.find((e) => e.action === 'review.decided' && e.target === `review:${task.id}`)?.details,
    ).toMatchObject({ action: 'approve', outcome: 'approve', reason: 'Income verified with two payslips' });
    expect((await admin.get('/api/audit/verify')).body).toMatchObject({ ok: true });
    // The decision is the human label of the automated one.
    const feedback = (await admin.get(`/api/runs/${runId}/feedback`)).body as Loose[];
    expect(feedback).toMatchObject([
      { source: 'review', label: { outcome: 'approve' }, prediction: 'review' },
    ]);
    // History of decided tasks.
    const history = (await approver.get('/api/reviews?status=decided')).body as Loose[];
    expect(history.map((h) => h.id)).toContain(task.id);
    expect((await approver.get(`/api/reviews/${task.id}/decision`)).status).toBe(404);
  });

  it('follows roles and workspaces: who sees the inbox, who may decide', async () => {
    const { task } = await waitingRun(admin, flowId, application('APP-2'));
    const inbox = async (c: Client) => ((await c.get('/api/reviews')).body as Loose[]).map((x) => x.id);
    expect(await inbox(approver)).toContain(task.id);
    expect(await inbox(admin)).toContain(task.id);
    expect(await inbox(analyst)).not.toContain(task.id);
    expect(await inbox(viewer)).toEqual([]);
    const decide = (c: Client) =>
      c.post(`/api/reviews/${task.id}/decision`, { action: 'approve', reason: 'ok' });
    expect(await decide(analyst)).toMatchObject({
      status: 403,
      body: { error: { code: 'REVIEW_FORBIDDEN' } },
    });
    expect(await decide(viewer)).toMatchObject({
      status: 403,
      body: { error: { code: 'REVIEW_FORBIDDEN' } },
    });
    expect(await decide(admin)).toMatchObject({ status: 403, body: { error: { code: 'REVIEW_FORBIDDEN' } } });
    expect((await new Client(t.url).get('/api/reviews')).status).toBe(401);
    // Writes need the CSRF token like every other.
    expect(
      (
        await approver.post(
          `/api/reviews/${task.id}/decision`,
          { action: 'approve', reason: 'x' },
          { 'x-csrf-token': 'no' },
        )
      ).status,
    ).toBe(403);

    // An approver of another workspace does not see the task, and cannot decide it.
    const ws = await admin.post('/api/workspaces', { name: 'Other bank' });
    await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
    const foreign = await addUser(t, admin, 'approver', 'approver-other@bank.example');
    await admin.post('/api/auth/workspace', { workspaceId: (await admin.get('/api/workspaces')).body[0].id });
    expect(await inbox(foreign)).toEqual([]);
    expect((await foreign.get(`/api/reviews/${task.id}`)).status).toBe(404);
    expect(await decide(foreign)).toMatchObject({
      status: 404,
      body: { error: { code: 'REVIEW_NOT_FOUND' } },
    });
    expect((await foreign.get(`/api/runs/${task.runId}/reviews`)).status).toBe(404);
    expect((await decide(approver)).status).toBe(200);
  });

  it('queues that name other roles let them decide, except the run’s starter and the flow’s owner (maker-checker)', async () => {
    const developer = await addUser(t, admin, 'developer');
    const owned = (
      await createFlow(developer, reviewFlow({ roles: ['analyst', 'developer'] }, 'Owned by a developer'))
    ).id;
    const analyst2 = await addUser(t, admin, 'analyst', 'analyst2@bank.example');
    const { task } = await waitingRun(analyst, owned, application('APP-3'));
    expect(task.roles).toEqual(['analyst', 'developer']);
    const decide = (c: Client) =>
      c.post(`/api/reviews/${task.id}/decision`, { action: 'approve', reason: 'ok' });
    expect(await decide(analyst)).toMatchObject({ status: 403, body: { error: { code: 'MAKER_CHECKER' } } });
    expect((await decide(analyst)).body.error.message).toMatch(/started this run/);
    expect(await decide(developer)).toMatchObject({
      status: 403,
      body: { error: { code: 'MAKER_CHECKER' } },
    });
    expect((await decide(developer)).body.error.message).toMatch(/own this flow/);
    expect((await decide(analyst2)).status).toBe(200);

    // The rule is the flow's to choose.
    const relaxed = (
      await createFlow(
        developer,
        reviewFlow(
          { roles: ['analyst'], makerChecker: { excludeStarter: false, excludeFlowOwner: false } },
          'Relaxed',
        ),
      )
    ).id;
    const second = await waitingRun(analyst, relaxed, application('APP-4'));
    expect(
      (await analyst.post(`/api/reviews/${second.task.id}/decision`, { action: 'reject', reason: 'no' }))
        .status,
    ).toBe(200);
  });

  it('resumes exactly once when several approvers decide at the same moment', async () => {
    const { runId, task } = await waitingRun(admin, flowId, application('APP-5'));
    const others = await Promise.all(
      [3, 4, 5].map((i) => addUser(t, admin, 'approver', `approver-race${i}@bank.example`)),
    );
    const deciders = [approver, approver2, ...others];
    const answers = await Promise.all(
      deciders.map((c, i) =>
        c.post(`/api/reviews/${task.id}/decision`, {
          action: i % 2 ? 'reject' : 'approve',
          reason: `decision ${i}`,
        }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).toBe('REVIEW_CLOSED');
    const done = await untilStatus(admin, runId, 'succeeded');
    const winner = answers.findIndex((a) => a.status === 200);
    expect(done.run.outputs.decision.reasons).toEqual([`decision ${winner}`]);
    const log = await events(admin, runId);
    expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'node.started' && e.nodeId === 'review')).toHaveLength(2);
  });

  it('requires two different approvers above the four-eyes amount', async () => {
    const flow = (
      await createFlow(admin, reviewFlow({ fourEyes: { path: 'amount', above: 50_000 } }, 'Four eyes'))
    ).id;
    const below = await waitingRun(admin, flow, application('APP-6', 20_000));
    expect(below.task.task.approvalsRequired).toBe(1);
    expect(
      (await approver.post(`/api/reviews/${below.task.id}/decision`, { action: 'approve', reason: 'fine' }))
        .status,
    ).toBe(200);

    const { runId, task } = await waitingRun(admin, flow, application('APP-7', 90_000));
    expect(task.task).toMatchObject({
      approvalsRequired: 2,
      fourEyes: { path: 'amount', above: 50_000, value: 90_000 },
    });
    const first = await approver.post(`/api/reviews/${task.id}/decision`, {
      action: 'override',
      outcome: 'counter-offer',
      corrections: { amount: 60_000 },
      reason: 'Affordable at 60,000',
    });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({
      decided: false,
      resumed: false,
      task: { status: 'open', approvals: [{ outcome: 'counter-offer' }] },
    });
    expect((await admin.get(`/api/runs/${runId}`)).body.status).toBe('waiting');
    const again = await approver.post(`/api/reviews/${task.id}/decision`, {
      action: 'approve',
      reason: 'me again',
    });
    expect(again).toMatchObject({ status: 403, body: { error: { code: 'FOUR_EYES_SAME_PERSON' } } });
    const second = await approver2.post(`/api/reviews/${task.id}/decision`, {
      action: 'approve',
      reason: 'Agreed',
    });
    expect(second.status, second.text).toBe(200);
    const done = await untilStatus(admin, runId, 'succeeded');
    expect(done.run.outputs.decision).toMatchObject({
      outcome: 'counter-offer',
      action: 'override',
      reasons: ['Affordable at 60,000 — Agreed'],
    });
    expect(done.run.outputs.decision.reviewers.map((r: Loose) => r.name)).toEqual([
      'approver user',
      'approver user',
    ]);
    expect(new Set(done.run.outputs.decision.reviewers.map((r: Loose) => r.id)).size).toBe(2);
    const audit = await auditActions(admin);
    expect(
      audit
        .filter((e) => e.target === `review:${task.id}`)
        .map((e) => e.action)
        .sort(),
    ).toEqual(['review.approved', 'review.decided', 'review.requested']);
  });

  it('refuses decisions that do not fit the task, and malformed or oversized ones', async () => {
    const { task } = await waitingRun(admin, flowId, application('APP-8'));
    const post = (body: unknown) => approver.post(`/api/reviews/${task.id}/decision`, body);
    expect(await post({ action: 'override', outcome: 'maybe', reason: 'x' })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_DECISION' } },
    });
    expect(
      (await post({ action: 'override', outcome: 'approve', corrections: { name: 'X' }, reason: 'x' })).body
        .error.message,
    ).toMatch(/"name" cannot be corrected/);
    expect((await post({ action: 'approve', reason: '   ' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post({ action: 'approve' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post({ action: 'approve', reason: 'x', extra: 1 })).body.error.code).toBe(
      'INVALID_REQUEST',
    );
    expect((await post({ action: 'launch', reason: 'x' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post({ action: 'approve', reason: 'x'.repeat(5000) })).body.error.code).toBe(
      'INVALID_REQUEST',
    );
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect(
      (await post({ action: 'override', outcome: 'approve', corrections: { amount: deep }, reason: 'x' }))
        .body.error.code,
    ).toBe('CORRECTIONS_TOO_DEEP');
    expect((await post('{"action": "approve",')).status).toBe(400);
    expect((await post('{"action":"approve","reason":"x","__proto__":{"admin":true}}')).body.error.code).toBe(
      'FORBIDDEN_KEY',
    );
    expect((await approver.get(`/api/reviews/${task.id}`)).body.status).toBe('open');
    expect(
      (await approver.post('/api/reviews/rvw_nope/decision', { action: 'approve', reason: 'x' })).status,
    ).toBe(404);
  });

  it('takes the SLA path when nobody decides in time: default outcome, escalation, or failure', async () => {
    const soon = 0.0005; // 30 ms
    const byDefault = (
      await createFlow(
        admin,
        reviewFlow(
          { sla: { dueInMinutes: soon, onExpiry: 'default', defaultOutcome: 'decline' } },
          'SLA default',
        ),
      )
    ).id;
    const a = await runWithTask(admin, byDefault, application('APP-9'));
    expect(a.task.dueAt).toBeGreaterThan(Date.now() - 5_000);
    const done = await untilStatus(admin, a.runId, 'succeeded');
    expect(done.run.outputs.decision).toMatchObject({ outcome: 'decline', decidedBy: 'sla', reviewers: [] });
    expect((await admin.get(`/api/reviews/${a.task.id}`)).body).toMatchObject({
      status: 'decided',
      decidedBy: 'system:sla',
    });

    const failing = (
      await createFlow(admin, reviewFlow({ sla: { dueInMinutes: soon, onExpiry: 'fail' } }, 'SLA fail'))
    ).id;
    const b = await runWithTask(admin, failing, application('APP-10'));
    const failed = await untilStatus(admin, b.runId, 'failed');
    expect(failed.run.error).toMatchObject({ code: 'REVIEW_EXPIRED', nodeId: 'review' });

    const escalating = (
      await createFlow(
        admin,
        reviewFlow(
          { sla: { dueInMinutes: soon, onExpiry: 'escalate', escalateTo: 'senior-credit' } },
          'SLA escalate',
        ),
      )
    ).id;
    const c = await runWithTask(admin, escalating, application('APP-11'));
    const until = Date.now() + 5_000;
    let task: Loose;
    do {
      await new Promise((res) => setTimeout(res, 50));
      task = (await admin.get(`/api/reviews/${c.task.id}`)).body;
    } while (task.queue !== 'senior-credit' && Date.now() < until);
    expect(task).toMatchObject({ queue: 'senior-credit', status: 'open', overdue: true });
    expect(task.escalatedAt).toBeGreaterThan(0);
    expect((await admin.get(`/api/runs/${c.runId}`)).body.status).toBe('waiting');
    expect((await admin.get('/api/reviews/queues')).body).toContainEqual({
      queue: 'senior-credit',
      open: 1,
      overdue: 1,
    });
    expect(
      (await approver.post(`/api/reviews/${c.task.id}/decision`, { action: 'reject', reason: 'late but no' }))
        .status,
    ).toBe(200);
    await untilStatus(admin, c.runId, 'succeeded');
    const audit = await auditActions(admin);
    expect(
      audit
        .filter((e) => e.action === 'review.expired')
        .map((e) => e.details.then)
        .sort(),
    ).toEqual(['default', 'fail']);
    expect(audit.find((e) => e.action === 'review.escalated')?.details).toMatchObject({
      to: 'senior-credit',
    });
  });

  it('cancels a waiting run, closing its task', async () => {
    const { runId, task } = await waitingRun(admin, flowId, application('APP-12'));
    const r = await admin.post(`/api/runs/${runId}/cancel`);
    expect(r.status).toBe(202);
    const run = await untilStatus(admin, runId, 'cancelled');
    expect(run.run.nodes.review).toMatchObject({ status: 'skipped', skipReason: 'run-cancelled' });
    expect((await admin.get(`/api/reviews/${task.id}`)).body.status).toBe('cancelled');
    expect(
      (await approver.post(`/api/reviews/${task.id}/decision`, { action: 'approve', reason: 'x' })).body.error
        .code,
    ).toBe('REVIEW_CLOSED');
    expect((await admin.post(`/api/runs/${runId}/cancel`)).status).toBe(409);
  });

  it('streams a waiting run over socket.io and goes on streaming it after the decision', async () => {
    const { runId, task } = await waitingRun(admin, flowId, application('APP-13'));
    const socket = admin.socket();
    const received: RunEvent[] = [];
    socket.on('run:event', (e: RunEvent) => received.push(e));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const ack = await new Promise<Loose>((resolve) => socket.emit('run:subscribe', { runId }, resolve));
    expect(ack).toEqual({ ok: true });
    await approver.post(`/api/reviews/${task.id}/decision`, { action: 'approve', reason: 'fine' });
    const until = Date.now() + 5_000;
    while (!received.some((e) => e.type === 'run.finished') && Date.now() < until)
      await new Promise((res) => setTimeout(res, 25));
    socket.close();
    const types = received.map((e) => e.type);
    expect(types).toContain('run.suspended');
    expect(types.indexOf('run.resumed')).toBeGreaterThan(types.indexOf('run.suspended'));
    expect(types.at(-1)).toBe('run.finished');
    expect(received.map((e) => e.seq)).toEqual(received.map((_, i) => i));
  });
});
