import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
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
      const rows = db.prepare('SELECT data FROM run_events WHERE run_id = ?').all(r.body.runId) as {
        data: string;
      }[];
      expect(rows.flatMap((row) => JSON.parse(row.data) as unknown[]).length).toBeGreaterThan(10);
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
