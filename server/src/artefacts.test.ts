/**
 * Model artefacts (issue 12, model rollback): the credit-approval template's scorecard is stored as a
 * content-addressed artefact that its flow versions reference; a retrained model makes a new version with a new
 * artefact; running, publishing and restoring a version use exactly its model (the same outputs bit for bit). The
 * API lists and fetches artefacts per workspace, never another workspace's.
 */
import { artefactDetailSchema, artefactListSchema, versionArtefactsSchema } from '@finflow/contract';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGermanCredit } from '../../nodes/builtin/src/risk/ml/test-helpers/datasets.js';
import { canonicalJson, sha256 } from './hash.js';
import {
  addUser,
  Client,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

const trainConfig = JSON.parse(
  readFileSync(new URL('../../templates/credit-approval/train-config.json', import.meta.url), 'utf8'),
) as { node: Record<string, unknown> };
const fixture = JSON.parse(
  readFileSync(
    new URL('../../templates/credit-approval/fixtures/decline-scorecard.json', import.meta.url),
    'utf8',
  ),
) as unknown;

let t: TestServer;
let admin: Client;
let viewer: Client;
let devB: Client;
let flowId: string;
let v1Model: Record<string, unknown>;
let v2Model: Record<string, unknown>;

/** A scorecard retrained on part of German Credit with another penalty: a different, real model. */
async function retrained(): Promise<Record<string, unknown>> {
  const runtime = createRuntime({
    registry: createRegistry(builtinNodes),
    services: { clock: { now: () => Date.parse('2026-12-01T00:00:00Z') } },
  });
  const { crossValidate: _cv, ...node } = trainConfig.node;
  const rows = loadGermanCredit().rows.slice(0, 700);
  const r = await runtime.runNode({ type: 'risk.scorecard', config: { ...node, l2: 25 } }, { table: rows });
  expect(r.status, JSON.stringify(r.error)).toBe('succeeded');
  return r.outputs?.['model'] as Record<string, unknown>;
}

const scorecardOf = (doc: Loose) => doc.nodes.find((n: Loose) => n.type === 'risk.scorecard');

async function runAt(version: number): Promise<unknown> {
  const started = await admin.post(`/api/flows/${flowId}/runs`, { input: fixture, version });
  expect(started.status).toBe(202);
  const run = await waitForRun(admin, started.body.runId, 120_000);
  expect(run.status, JSON.stringify(run.run?.error)).toBe('succeeded');
  expect(run.flowVersion).toBe(version);
  return run.run.outputs;
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  viewer = await addUser(t, admin, 'viewer');
  const ws = await admin.post('/api/workspaces', { name: 'Cards' });
  await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
  devB = await addUser(t, admin, 'developer', 'dev-cards@bank.example');
  await admin.post('/api/auth/workspace', { workspaceId: (await admin.get('/api/workspaces')).body[0].id });
  const created = await admin.post('/api/flows', { templateId: 'credit-approval' });
  expect(created.status).toBe(201);
  flowId = created.body.flow.id;
  v1Model = scorecardOf((await admin.get(`/api/flows/${flowId}`)).body.document).config.model;
  v2Model = await retrained();
}, 180_000);
afterAll(async () => {
  await t?.destroy();
});

describe('model artefacts', () => {
  it('stores a version’s model as an artefact the version references, and gives the editor the model back', async () => {
    const hash = sha256(canonicalJson(v1Model));
    const stored = await t.server.context.repo.getVersion(flowId, 1);
    const storedNode = scorecardOf(JSON.parse(stored?.document ?? '{}'));
    expect(storedNode.config.model).toEqual({
      kind: 'finflow.artefactRef',
      sha256: hash,
      modelKind: 'scorecard',
    });
    expect(stored?.document).not.toContain(JSON.stringify(v1Model).slice(0, 200));

    const refs = await admin.get(`/api/flows/${flowId}/versions/1/artefacts`);
    versionArtefactsSchema.parse(refs.body);
    expect(refs.body).toEqual([{ nodeId: storedNode.id, field: 'model', sha256: hash, kind: 'scorecard' }]);
    const got = await admin.get(`/api/artefacts/${hash}`);
    expect(got.status).toBe(200);
    artefactDetailSchema.parse(got.body);
    expect(got.body.artefact).toMatchObject({ sha256: hash, kind: 'scorecard', nodeType: 'risk.scorecard' });
    expect(got.body.artefact).toMatchObject({ flowId, flowVersion: 1 });
    expect(got.body.model).toEqual(v1Model);
    // Export carries the model inline, so an import elsewhere (another server) has it.
    const exported = await admin.get(`/api/flows/${flowId}/export`);
    expect(scorecardOf(JSON.parse(exported.text)).config.model).toEqual(v1Model);
    // Importing it back stores the same artefact once (the same hash), referenced by the new flow's version.
    const imported = await admin.post('/api/flows/import', JSON.parse(exported.text));
    expect(imported.status).toBe(201);
    const importedDoc = JSON.parse(
      (await t.server.context.repo.getVersion(imported.body.flow.id, 1))?.document ?? '{}',
    );
    expect(scorecardOf(importedDoc).config.model.sha256).toBe(hash);
    expect((await admin.get('/api/artefacts')).body).toHaveLength(1);
    expect((await admin.delete(`/api/flows/${imported.body.flow.id}`)).status).toBe(204);
  });

  it('runs, publishes and restores a version with exactly its model: train v1, retrain v2, roll back to v1', async () => {
    const before = await runAt(1);
    const doc = (await admin.get(`/api/flows/${flowId}`)).body.document;
    scorecardOf(doc).config.model = v2Model;
    const saved = await admin.put(`/api/flows/${flowId}`, {
      document: doc,
      message: 'retrained on 700 rows',
    });
    expect(saved.status).toBe(201);
    expect(saved.body.version.number).toBe(2);
    const list = artefactListSchema.parse((await admin.get('/api/artefacts')).body) as Loose[];
    expect(list.map((a) => a.sha256)).toEqual([
      sha256(canonicalJson(v2Model)),
      sha256(canonicalJson(v1Model)),
    ]);
    expect(list[0]).not.toHaveProperty('model');

    const v2 = await runAt(2);
    expect(v2).not.toEqual(before);

    // Published at version 1 after version 2 exists: the endpoint scores with v1's model.
    const ep = await admin.post('/api/endpoints', { flowId, version: 1, slug: 'credit-v1' });
    expect(ep.status).toBe(201);
    const key = (await admin.post('/api/keys', { name: 'k', endpoints: [ep.body.id] })).body.key as string;
    const called = await fetch(`${t.url}/v1/endpoints/credit-v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(fixture),
    }).then((r) => r.json() as Promise<Loose>);
    expect(called.outputs).toEqual(before);

    // Rolling back: restoring version 1 makes version 3 with v1's model, bit for bit.
    const restored = await admin.post(`/api/flows/${flowId}/versions/1/restore`, {});
    expect(restored.status).toBe(201);
    expect(restored.body.version.number).toBe(3);
    expect(restored.body.version.hash).toBe((await admin.get(`/api/flows/${flowId}/versions`)).body[2].hash);
    const after = await runAt(3);
    expect(canonicalJson(after)).toBe(canonicalJson(before));
    const model3 = scorecardOf((await admin.get(`/api/flows/${flowId}/versions/3`)).body.document).config
      .model;
    expect(JSON.stringify(model3)).toBe(JSON.stringify(v1Model));
    // No new artefact: version 3 references v1's.
    expect((await admin.get('/api/artefacts')).body).toHaveLength(2);
  });

  it('reads an old version stored with its model inline as it is, and stores the model at its next save', async () => {
    const repo = t.server.context.repo;
    const { version } = await t.server.context.flows.getVersion(
      (await admin.get('/api/auth/me')).body.workspace.id,
      flowId,
      1,
    );
    // A version written before artefacts existed: the model inside the document.
    const legacy = JSON.parse(version.document) as Loose;
    scorecardOf(legacy).config.model = { ...v1Model, note: 'legacy copy' };
    await repo.createFlow(
      {
        id: 'flw_legacy',
        workspaceId: (await admin.get('/api/auth/me')).body.workspace.id,
        name: 'Legacy credit',
        description: '',
        tags: [],
        latestVersion: 1,
        createdAt: Date.now(),
        createdBy: null,
        updatedAt: Date.now(),
        updatedBy: null,
        deletedAt: null,
      },
      { ...version, flowId: 'flw_legacy', document: JSON.stringify({ ...legacy, id: 'flw_legacy' }) },
    );
    const read = await admin.get('/api/flows/flw_legacy');
    expect(scorecardOf(read.body.document).config.model.note).toBe('legacy copy');
    const doc = read.body.document;
    doc.description = 'now with artefacts';
    expect((await admin.put('/api/flows/flw_legacy', { document: doc })).status).toBe(201);
    const stored = JSON.parse((await repo.getVersion('flw_legacy', 2))?.document ?? '{}');
    expect(scorecardOf(stored).config.model.kind).toBe('finflow.artefactRef');
    expect(scorecardOf((await admin.get('/api/flows/flw_legacy')).body.document).config.model.note).toBe(
      'legacy copy',
    );
  });

  it('refuses a changed artefact row rather than run a model that is not the one the version names', async () => {
    const hash = sha256(canonicalJson(v2Model));
    const repo = t.server.context.repo as unknown as {
      db: { prepare(s: string): { run(...a: unknown[]): void } };
    };
    const tampered = JSON.stringify({ ...v2Model, intercept: 42 });
    repo.db.prepare('UPDATE model_artefacts SET content = ? WHERE sha256 = ?').run(tampered, hash);
    const r = await admin.get(`/api/artefacts/${hash}`);
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('ARTEFACT_CORRUPT');
    expect(r.text).not.toContain('42');
    repo.db
      .prepare('UPDATE model_artefacts SET content = ? WHERE sha256 = ?')
      .run(JSON.stringify(v2Model), hash);
    expect((await admin.get(`/api/artefacts/${hash}`)).status).toBe(200);
  });

  it('keeps artefacts to their workspace and their readers; none is written through the API', async () => {
    const hash = sha256(canonicalJson(v1Model));
    // Another workspace: not listed, not found by hash, not through its version.
    expect((await devB.get('/api/artefacts')).body).toEqual([]);
    expect((await devB.get(`/api/artefacts/${hash}`)).status).toBe(404);
    expect((await devB.get(`/api/flows/${flowId}/versions/1/artefacts`)).status).toBe(404);
    // A viewer reads them as they read the flows that hold them, and cannot make one (saving is refused).
    expect((await viewer.get('/api/artefacts')).status).toBe(200);
    const doc = (await viewer.get(`/api/flows/${flowId}`)).body.document;
    scorecardOf(doc).config.model = { ...v1Model, forged: true };
    expect((await viewer.put(`/api/flows/${flowId}`, { document: doc })).status).toBe(403);
    expect((await admin.get('/api/artefacts')).body).toHaveLength(3);
    // No write or delete route; malformed and hostile ids are refused before any lookup.
    expect((await admin.delete(`/api/artefacts/${hash}`)).status).toBe(404);
    expect((await admin.put(`/api/artefacts/${hash}`, { kind: 'x' })).status).toBe(404);
    for (const bad of ['abc', hash.toUpperCase(), `${hash}0`, '..%2F..%2Fetc', 'x'.repeat(5000)]) {
      const r = await admin.get(`/api/artefacts/${bad}`);
      expect([400, 414, 431]).toContain(r.status);
    }
    expect((await admin.get('/api/artefacts?limit=100000')).status).toBe(400);
    // Signed out: nothing.
    expect((await new Client(t.url).get('/api/artefacts')).status).toBe(401);
  });
});
