import Database from 'better-sqlite3';
import { request } from 'node:http';
import { join } from 'node:path';
import { decodeEventRow, type RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  addUser,
  Client,
  connected,
  createFlow,
  emitAck,
  nextEvent,
  setupAdmin,
  startTestServer,
  waitForRun,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow, secretFlow, slowFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
});
afterAll(async () => {
  await t.destroy();
});

describe('runs', () => {
  it('runs a version and records per-node status, timings, inputs and outputs', async () => {
    const { id } = await createFlow(admin, scoringFlow());
    const r = await admin.post(`/api/flows/${id}/runs`, {
      input: { name: 'Zhang San', income: 12000, debt: 9000 },
    });
    expect(r.status).toBe(202);
    expect(r.body.flowVersion).toBe(1);
    const done = await waitForRun(admin, r.body.runId);
    expect(done.status).toBe('succeeded');
    expect(done.flowId).toBe(id);
    expect(done.trigger).toBe('manual');
    expect(done.run.outputs).toEqual({
      review: { outcome: 'review', score: 1.33, reasons: ['debt ratio 0.75'] },
    });
    expect(done.run.nodes.score).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(done.run.nodes.score.inputs.data).toEqual({ name: 'Zhang San', income: 12000, debt: 9000 });
    expect(done.run.nodes.score.ms).toBeGreaterThanOrEqual(0);
    expect(done.run.nodes.approve).toMatchObject({ status: 'skipped', skipReason: 'branch-not-taken' });

    const events = await admin.get(`/api/runs/${r.body.runId}/events`);
    const types = events.body.map((e: RunEvent) => e.type);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.finished');
    expect(events.body.map((e: RunEvent) => e.seq)).toEqual(types.map((_: string, i: number) => i));
    const after = await admin.get(`/api/runs/${r.body.runId}/events?after=${events.body.length - 3}`);
    expect(after.body.map((e: RunEvent) => e.seq)).toEqual([events.body.length - 2, events.body.length - 1]);

    const list = await admin.get(`/api/runs?flowId=${id}&status=succeeded`);
    expect(list.body.map((x: { id: string }) => x.id)).toContain(r.body.runId);
  });

  it('refuses an input that does not fit the schema with field-level errors, and an invalid flow with 422', async () => {
    const { id } = await createFlow(admin, scoringFlow());
    const bad = await admin.post(`/api/flows/${id}/runs`, { input: { name: '', income: -5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    const paths = bad.body.error.details.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'income', '']));

    const broken = scoringFlow('Broken');
    broken.nodes[1] = { ...broken.nodes[1], type: 'data.nope' } as (typeof broken.nodes)[1];
    const flow = await createFlow(admin, broken);
    const invalid = await admin.post(`/api/flows/${flow.id}/runs`, {
      input: { name: 'A', income: 1, debt: 1 },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('INVALID_FLOW');
    expect(invalid.body.error.details.problems[0]).toMatchObject({
      code: 'UNKNOWN_NODE_TYPE',
      nodeId: 'score',
    });
  });

  it('streams a run over socket.io and replays what a reconnecting client missed', async () => {
    const { id } = await createFlow(admin, slowFlow(400));
    const socket = admin.socket();
    await connected(socket);
    const r = await admin.post(`/api/flows/${id}/runs`, { input: { n: 1 } });
    const seen: RunEvent[] = [];
    socket.on('run:event', (e: RunEvent) => seen.push(e));
    const finished = nextEvent(socket, (e) => e.type === 'run.finished');
    expect(await emitAck(socket, 'run:subscribe', { runId: r.body.runId })).toEqual({ ok: true });
    const end = await finished;
    expect(end).toMatchObject({ type: 'run.finished', status: 'succeeded', outputs: { value: { n: 1 } } });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i));
    expect(seen.map((e) => e.type)).toContain('node.streamed');
    socket.disconnect();

    // A new connection that saw up to seq 2 gets exactly the rest, once.
    const again = admin.socket();
    await connected(again);
    const replayed: RunEvent[] = [];
    again.on('run:event', (e: RunEvent) => replayed.push(e));
    expect(await emitAck(again, 'run:subscribe', { runId: r.body.runId, afterSeq: 2 })).toEqual({ ok: true });
    await new Promise((res) => setTimeout(res, 100));
    expect(replayed.map((e) => e.seq)).toEqual(seen.slice(3).map((e) => e.seq));
    expect(await emitAck(again, 'run:subscribe', { runId: 'no-such-run' })).toMatchObject({
      ok: false,
      error: { code: 'RUN_NOT_FOUND' },
    });
    expect(await emitAck(again, 'run:subscribe', { nope: 1 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
    again.disconnect();
  });

  it('sends live events to a subscriber that joins mid-run without gaps or repeats', async () => {
    const { id } = await createFlow(admin, slowFlow(600));
    const r = await admin.post(`/api/flows/${id}/runs`, { input: { n: 2 } });
    await new Promise((res) => setTimeout(res, 150));
    const socket = admin.socket();
    await connected(socket);
    const seen: RunEvent[] = [];
    socket.on('run:event', (e: RunEvent) => seen.push(e));
    const finished = nextEvent(socket, (e) => e.type === 'run.finished');
    expect(await emitAck(socket, 'run:subscribe', { runId: r.body.runId })).toEqual({ ok: true });
    await finished;
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i));
    socket.disconnect();
  });

  it('refuses sockets without a session', async () => {
    const anon = new Client(t.url).socket();
    await expect(connected(anon)).rejects.toThrow(/UNAUTHENTICATED/);
    anon.disconnect();
  });

  it("streams a run over socket.io's HTTP long-polling transport too", async () => {
    // socket.io loads with its first request (sockets.ts); plain HTTP requests under /socket.io/ reach it as
    // upgrades do, with the same session check.
    const polled = admin.socket(['polling']);
    await connected(polled);
    const { id } = await createFlow(admin, slowFlow(200));
    const r = await admin.post(`/api/flows/${id}/runs`, { input: { n: 3 } });
    const finished = nextEvent(polled, (e) => e.type === 'run.finished');
    expect(await emitAck(polled, 'run:subscribe', { runId: r.body.runId })).toEqual({ ok: true });
    expect(await finished).toMatchObject({ status: 'succeeded', outputs: { value: { n: 3 } } });
    polled.disconnect();
    const anon = new Client(t.url).socket(['polling']);
    await expect(connected(anon)).rejects.toThrow(/UNAUTHENTICATED/);
    anon.disconnect();
  });

  it('refuses a websocket upgrade anywhere but socket.io', async () => {
    const url = new URL('/api/health', t.url);
    const outcome = await new Promise<string>((resolve) => {
      const req = request(url, { headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      req.on('upgrade', () => resolve('upgraded'));
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', () => resolve('closed'));
      req.end();
    });
    expect(outcome).toBe('closed');
  });

  it('cancels a run in flight and re-runs a finished one with the same input', async () => {
    const { id } = await createFlow(admin, slowFlow(30_000));
    const r = await admin.post(`/api/flows/${id}/runs`, { input: { n: 7 } });
    await new Promise((res) => setTimeout(res, 100));
    expect((await admin.post(`/api/runs/${r.body.runId}/cancel`)).status).toBe(202);
    const cancelled = await waitForRun(admin, r.body.runId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.run.nodes.wait.status).toBe('failed');
    expect((await admin.post(`/api/runs/${r.body.runId}/cancel`)).body.error.code).toBe('RUN_FINISHED');

    const { id: quick } = await createFlow(admin, scoringFlow('Quick'));
    const first = await admin.post(`/api/flows/${quick}/runs`, {
      input: { name: 'Wang Fang', income: 50000, debt: 1000 },
    });
    await waitForRun(admin, first.body.runId);
    const rerun = await admin.post(`/api/runs/${first.body.runId}/rerun`);
    expect(rerun.status).toBe(202);
    const second = await waitForRun(admin, rerun.body.runId);
    expect(second).toMatchObject({ status: 'succeeded', trigger: 'rerun', rerunOf: first.body.runId });
    expect(second.run.input).toEqual({ name: 'Wang Fang', income: 50000, debt: 1000 });
  });
});

describe('personal data and credentials', () => {
  it('masks the fields and nodes a flow marks before they are stored, wherever the values travel', async () => {
    const doc = {
      ...scoringFlow('Masked'),
      settings: { redact: { inputPaths: ['name'], nodes: ['review'] } },
    };
    const { id } = await createFlow(admin, doc);
    const r = await admin.post(`/api/flows/${id}/runs`, {
      input: { name: 'Chen Jianguo', income: 20000, debt: 9000 },
    });
    const done = await waitForRun(admin, r.body.runId);
    expect(done.status).toBe('succeeded');
    expect(done.run.input).toEqual({ name: '[redacted]', income: 20000, debt: 9000 });
    expect(done.run.nodes.in.outputs.name).toBe('[redacted]');
    // The score node copied the name into its output: scrubbed there too.
    expect(done.run.nodes.score.outputs.result.name).toBe('[redacted]');
    expect(done.run.nodes.review.outputs).toEqual({ result: '[redacted]' });
    expect(done.run.outputs.review).toBe('[redacted]');
    const db = new Database(join(t.dataDir, DATABASE_FILE), { readonly: true });
    try {
      // The run's events: in its own row (started and finished in one commit), or in event rows.
      const rows = db
        .prepare(
          `SELECT events AS data FROM runs WHERE id = ? AND events IS NOT NULL
           UNION ALL SELECT data FROM run_events WHERE run_id = ?`,
        )
        .all(r.body.runId, r.body.runId) as { data: string }[];
      expect(rows.flatMap((row) => decodeEventRow(row.data)).length).toBeGreaterThan(10);
      expect(rows.some((row) => row.data.includes('Chen Jianguo'))).toBe(false);
      const audit = db.prepare('SELECT details FROM audit_log').all() as { details: string }[];
      expect(audit.some((row) => row.details.includes('Chen Jianguo'))).toBe(false);
    } finally {
      db.close();
    }
    // A re-run still uses the real input (kept sealed, not in the run record).
    const rerun = await admin.post(`/api/runs/${r.body.runId}/rerun`);
    const again = await waitForRun(admin, rerun.body.runId);
    expect(again.status).toBe('succeeded');
    expect(again.run.nodes.score.outputs.result.score).toBe(done.run.nodes.score.outputs.result.score);
  });

  it('gives nodes credentials through ctx.secret without ever returning or storing the value', async () => {
    const value = 'sk-live-4f9a8b7c6d5e';
    expect(
      (await admin.put('/api/credentials/provider-key', { value, description: 'model provider' })).status,
    ).toBe(204);
    const list = await admin.get('/api/credentials');
    expect(list.body).toEqual([
      expect.objectContaining({ name: 'provider-key', description: 'model provider', lastUsedAt: null }),
    ]);
    expect(list.text).not.toContain(value);

    const { id } = await createFlow(admin, secretFlow('provider-key'));
    const r = await admin.post(`/api/flows/${id}/runs`, { input: {} });
    const done = await waitForRun(admin, r.body.runId);
    expect(done.run.outputs).toEqual({ length: value.length });
    const detail = await admin.get(`/api/runs/${r.body.runId}/events`);
    expect(detail.text).not.toContain(value);
    expect(detail.text).toContain('using [secret] for the call');
    const used = await admin.get('/api/credentials');
    expect(used.body[0].lastUsedAt).toBeGreaterThan(0);
    const audit = await admin.get('/api/audit');
    expect(
      audit.body.some(
        (e: { action: string; target: string }) =>
          e.action === 'credential.used' && e.target === 'credential:provider-key',
      ),
    ).toBe(true);

    const db = new Database(join(t.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const row = db.prepare('SELECT sealed FROM credentials').get() as { sealed: Buffer };
      expect(row.sealed.includes(Buffer.from(value))).toBe(false);
    } finally {
      db.close();
    }

    const missing = await createFlow(admin, secretFlow('no-such-credential'));
    const failed = await waitForRun(
      admin,
      (await admin.post(`/api/flows/${missing.id}/runs`, { input: {} })).body.runId,
    );
    expect(failed.status).toBe('failed');
    expect(failed.run.error.code).toBe('SECRET_NOT_FOUND');
    expect((await admin.delete('/api/credentials/provider-key')).status).toBe(204);
    expect((await admin.delete('/api/credentials/provider-key')).status).toBe(404);
  });
});

describe('draft runs', () => {
  let flowId: string;
  const input = { name: 'Zhang San', income: 12000, debt: 9000 };
  beforeAll(async () => {
    flowId = (await createFlow(admin, scoringFlow('Draft target'))).id;
  });
  const versions = async () => (await admin.get(`/api/flows/${flowId}/versions`)).body.length as number;

  it('runs the document the editor holds without creating a version', async () => {
    const draft = scoringFlow('Draft target');
    // The unsaved edit: a lower bar, so this applicant is approved by the draft (version 1 reviews them).
    (draft.nodes[2] as { config: { condition: string } }).config.condition = 'value.score >= 1';
    const r = await admin.post(`/api/flows/${flowId}/runs`, { input, document: draft });
    expect(r.status).toBe(202);
    expect(r.body.flowVersion).toBe(1);
    const done = await waitForRun(admin, r.body.runId);
    expect(done).toMatchObject({ status: 'succeeded', trigger: 'draft', flowVersion: 1 });
    expect(done.run.outputs).toEqual({ decision: { outcome: 'approve', score: 1.33 } });
    expect(done.run.meta).toMatchObject({
      trigger: 'draft',
      draftHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await versions()).toBe(1);
    expect((await admin.get(`/api/flows/${flowId}`)).body.flow.latestVersion).toBe(1);
    // The saved version still reviews them.
    const saved = await admin.post(`/api/flows/${flowId}/runs`, { input });
    expect((await waitForRun(admin, saved.body.runId)).run.outputs).toHaveProperty('review');
    // A draft's document was not saved: it cannot be re-run as a version.
    const rerun = await admin.post(`/api/runs/${r.body.runId}/rerun`);
    expect(rerun.status).toBe(409);
    expect(rerun.body.error.code).toBe('DRAFT_RUN');
  });

  it('refuses an invalid draft with every problem, located and with its values, and records nothing', async () => {
    const runsBefore = (await admin.get(`/api/runs?flowId=${flowId}&limit=500`)).body.length;
    const broken = scoringFlow('Draft target');
    broken.edges = broken.edges.filter((e) => e.id !== 'e2');
    (broken.nodes[1] as { config: { expression: string } }).config.expression = '{ "a": ';
    const r = await admin.post(`/api/flows/${flowId}/runs`, { input, document: broken });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('INVALID_FLOW');
    expect(r.body.error.details.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'MISSING_REQUIRED_INPUT',
          nodeId: 'decide',
          params: { port: 'value' },
        }),
        expect.objectContaining({ code: 'INVALID_EXPRESSION', nodeId: 'score', path: ['expression'] }),
      ]),
    );
    expect(await versions()).toBe(1);
    expect((await admin.get(`/api/runs?flowId=${flowId}&limit=500`)).body.length).toBe(runsBefore);
  });

  it('refuses what is not a flow document, too big or hostile, and keeps serving', async () => {
    for (const document of ['a flow', [], { schemaVersion: 99, nodes: [], edges: [] }, { nodes: 1 }]) {
      const r = await admin.post(`/api/flows/${flowId}/runs`, { input, document });
      expect(r.status, JSON.stringify(document)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_DOCUMENT');
    }
    const both = await admin.post(`/api/flows/${flowId}/runs`, {
      input,
      version: 1,
      document: scoringFlow(),
    });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('INVALID_REQUEST');

    // Over the API's body limit (5 MiB): refused before parsing.
    const huge = scoringFlow();
    huge.description = 'x'.repeat(6 * 1024 * 1024);
    expect((await admin.post(`/api/flows/${flowId}/runs`, { input, document: huge })).status).toBe(413);

    // Deeply nested config (written as text: the test's own JSON.stringify would overflow): a clear refusal,
    // not a crash.
    const depth = 100_000;
    const nested = JSON.stringify({ input, document: scoringFlow() }).replace(
      '"config":{"schema"',
      `"config":{"extra":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},"schema"`,
    );
    const r = await admin.post(`/api/flows/${flowId}/runs`, nested);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('JSON_TOO_DEEP');

    // A prototype key anywhere in the body.
    const proto = await admin.post(
      `/api/flows/${flowId}/runs`,
      `{"input":{},"document":{"schemaVersion":1,"id":"x","name":"x","nodes":[],"edges":[],"__proto__":{"polluted":true}}}`,
    );
    expect(proto.status).toBe(400);
    expect(proto.body.error.code).toBe('FORBIDDEN_KEY');

    // An expression that would run for ever is stopped by its time bound; the run fails, the server answers.
    const spin = scoringFlow();
    (spin.nodes[1] as { config: { expression: string } }).config.expression =
      '($f := function($n) { $n > 0 ? $f($n - 1) + $f($n - 1) : 0 }; $f(60))';
    const spun = await admin.post(`/api/flows/${flowId}/runs`, { input, document: spin });
    expect(spun.status).toBe(202);
    expect((await waitForRun(admin, spun.body.runId, 60_000)).status).toBe('failed');
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await versions()).toBe(1);
  }, 90_000);

  it('is refused to roles that may not edit the flow', async () => {
    for (const role of ['viewer', 'approver']) {
      const c = await addUser(t, admin, role, `${role}.draft@bank.example`);
      const r = await c.post(`/api/flows/${flowId}/runs`, { input, document: scoringFlow() });
      expect(r.status, role).toBe(403);
    }
  });
});
