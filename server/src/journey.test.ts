// The path a new team takes, end to end through the API alone: create the admin, import a template, run it and
// watch its events over socket.io, publish it, call it with a key, and verify the audit log.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '@finflow/runtime';
import { templatesRoot } from '@finflow/templates';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { loadTemplates } from './server.js';
import { scoringFlow } from './test-helpers/flows.js';
import {
  ADMIN,
  Client,
  connected,
  emitAck,
  nextEvent,
  startTestServer,
  tempDir,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let templatesDir: string;

beforeAll(async () => {
  templatesDir = tempDir('finflow-journey-templates-');
  const dir = join(templatesDir, 'loan-decision');
  mkdirSync(join(dir, 'fixtures'), { recursive: true });
  writeFileSync(
    join(dir, 'template.json'),
    JSON.stringify({
      id: 'loan-decision',
      title: { en: 'Loan decision', zh: '贷款决策' },
      description: { en: 'Scores an applicant', zh: '为申请人评分' },
      scenario: 'retail lending',
      icon: 'bank',
    }),
  );
  writeFileSync(join(dir, 'flow.json'), JSON.stringify(scoringFlow('Loan decision')));
  writeFileSync(
    join(dir, 'fixtures', 'applicant.json'),
    JSON.stringify({ name: 'Zhao Lei', income: 72000, debt: 6000 }),
  );
  t = await startTestServer({ config: { templatesDir } });
});
afterAll(async () => {
  await t.destroy();
  rmSync(templatesDir, { recursive: true, force: true });
});

describe('a new team, from the API alone', () => {
  it('creates the admin, imports a template, runs and watches it, publishes it, calls it and verifies the audit', async () => {
    const admin = new Client(t.url);
    expect((await admin.get('/api/auth/status')).body.setupRequired).toBe(true);
    const setup = await admin.post('/api/auth/setup', { token: t.server.setupToken, ...ADMIN });
    expect(setup.status).toBe(201);
    admin.csrf = setup.body.csrfToken;

    const gallery = await admin.get('/api/templates');
    const template = gallery.body.find((x: { id: string }) => x.id === 'loan-decision');
    const imported = await admin.post('/api/flows', { templateId: template.id });
    expect(imported.status).toBe(201);
    const flowId = imported.body.flow.id as string;

    const socket = admin.socket();
    await connected(socket);
    const run = await admin.post(`/api/flows/${flowId}/runs`, { input: template.fixtures[0].input });
    expect(run.status).toBe(202);
    const seen: RunEvent[] = [];
    socket.on('run:event', (e: RunEvent) => seen.push(e));
    const finished = nextEvent(socket, (e) => e.type === 'run.finished');
    expect(await emitAck(socket, 'run:subscribe', { runId: run.body.runId, afterSeq: -1 })).toEqual({
      ok: true,
    });
    expect(await finished).toMatchObject({
      status: 'succeeded',
      outputs: { decision: { outcome: 'approve' } },
    });
    expect(seen[0]?.type).toBe('run.started');
    socket.disconnect();

    const endpoint = await admin.post('/api/endpoints', { flowId, version: 1, slug: 'loan-decision' });
    expect(endpoint.status).toBe(201);
    const key = await admin.post('/api/keys', { name: 'core banking', endpoints: [endpoint.body.id] });
    const call = await fetch(`${t.url}/v1/endpoints/loan-decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.body.key}` },
      body: JSON.stringify({ name: 'Sun Li', income: 30000, debt: 15000 }),
    });
    expect(call.status).toBe(200);
    expect((await call.json()) as unknown).toMatchObject({
      flowVersion: 1,
      outputs: { review: { outcome: 'review' } },
    });

    const audit = await admin.get('/api/audit?limit=1000');
    expect(audit.body.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining([
        'user.created',
        'flow.created',
        'endpoint.published',
        'key.created',
        'endpoint.decision',
      ]),
    );
    expect((await admin.get('/api/audit/verify')).body).toEqual({ ok: true, entries: audit.body.length });
  });
});

describe('shipped templates', () => {
  it('loads every template the templates package holds', () => {
    const folders = existsSync(templatesRoot)
      ? readdirSync(templatesRoot).filter((d) => existsSync(join(templatesRoot, d, 'template.json')))
      : [];
    const loaded = loadTemplates(createLogger('silent'));
    expect(loaded.map((x) => x.meta.id).sort()).toEqual(folders.sort());
  });
});
