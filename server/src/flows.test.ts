import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlow,
  setupAdmin,
  startTestServer,
  tempDir,
  waitForRun,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;

/** A template folder as the templates package lays them out, plus a broken one that must not stop the server. */
function writeTemplates(root: string): void {
  const dir = join(root, 'credit-prescreen');
  mkdirSync(join(dir, 'fixtures'), { recursive: true });
  const meta = {
    id: 'credit-prescreen',
    title: { en: 'Credit pre-screen', zh: '信贷预筛' },
    description: { en: 'Debt-to-income screening', zh: '负债收入比筛查' },
    scenario: 'retail lending',
    tags: ['credit'],
    icon: 'bank',
    regulations: ['ECOA'],
  };
  writeFileSync(join(dir, 'template.json'), JSON.stringify(meta));
  writeFileSync(join(dir, 'flow.json'), JSON.stringify(scoringFlow()));
  writeFileSync(
    join(dir, 'fixtures', 'approve.json'),
    JSON.stringify({ name: 'Li Wei', income: 90000, debt: 10000 }),
  );
  writeFileSync(
    join(dir, 'fixtures', 'approve.expected.json'),
    JSON.stringify({ decision: { outcome: 'approve', score: 9 } }),
  );
  mkdirSync(join(root, 'broken'), { recursive: true });
  writeFileSync(join(root, 'broken', 'template.json'), '{ not json');
}

let templatesDir: string;

beforeAll(async () => {
  templatesDir = tempDir('finflow-templates-');
  writeTemplates(templatesDir);
  t = await startTestServer({ config: { templatesDir } });
  admin = await setupAdmin(t);
});
afterAll(async () => {
  await t.destroy();
  rmSync(templatesDir, { recursive: true, force: true });
});

describe('flows and versions', () => {
  it('keeps every changed save as an immutable version with hash, author and message', async () => {
    const doc = scoringFlow();
    const { id } = await createFlow(admin, doc, 'first draft');
    const same = await admin.put(`/api/flows/${id}`, { document: doc, message: 'no change' });
    expect(same.status).toBe(200);
    expect(same.body.created).toBe(false);
    expect(same.body.version.number).toBe(1);

    const changed = structuredClone(doc);
    (changed.nodes[2] as { config: { condition: string } }).config.condition = 'value.score >= 4';
    changed.nodes.push({
      id: 'audit',
      type: 'data.transform',
      version: 1,
      config: { expression: '{"seen": true}' },
    });
    changed.edges = changed.edges.filter((e) => e.id !== 'e4');
    changed.edges.push({
      id: 'e7',
      from: { node: 'score', port: 'result' },
      to: { node: 'audit', port: 'data' },
    });
    const v2 = await admin.put(`/api/flows/${id}`, { document: changed, message: 'stricter threshold' });
    expect(v2.status).toBe(201);
    expect(v2.body.version).toMatchObject({
      number: 2,
      message: 'stricter threshold',
      author: { name: 'Ada Admin' },
    });
    expect(v2.body.version.hash).toMatch(/^[0-9a-f]{64}$/);

    const versions = await admin.get(`/api/flows/${id}/versions`);
    expect(versions.body.map((v: { number: number }) => v.number)).toEqual([2, 1]);
    expect(versions.body[0].hash).not.toBe(versions.body[1].hash);

    const v1 = await admin.get(`/api/flows/${id}/versions/1`);
    expect(v1.body.document.nodes[2].config.condition).toBe('value.score >= 3');
    expect(v1.body.document.id).toBe(id);

    const diff = await admin.get(`/api/flows/${id}/diff?from=1&to=2`);
    expect(diff.status).toBe(200);
    expect(diff.body.nodes.added).toEqual(['audit']);
    expect(diff.body.nodes.removed).toEqual([]);
    expect(diff.body.nodes.changed).toEqual([
      {
        id: 'decide',
        fields: [{ path: 'config.condition', before: 'value.score >= 3', after: 'value.score >= 4' }],
      },
    ]);
    expect(diff.body.edges).toEqual({ added: ['e7'], removed: ['e4'] });

    const restored = await admin.post(`/api/flows/${id}/versions/1/restore`, { message: 'back to 3' });
    expect(restored.status).toBe(201);
    expect(restored.body.version.number).toBe(3);
    expect(restored.body.version.hash).toBe(versions.body[1].hash);
    const latest = await admin.get(`/api/flows/${id}`);
    expect(latest.body.version.number).toBe(3);
    expect(latest.body.document.nodes[2].config.condition).toBe('value.score >= 3');
    // Version 2 is untouched by the restore.
    expect((await admin.get(`/api/flows/${id}/versions/2`)).body.document.nodes[2].config.condition).toBe(
      'value.score >= 4',
    );
  });

  it('lists flows with search, and exports and imports the document', async () => {
    const { id } = await createFlow(admin, scoringFlow('Mortgage affordability'));
    const list = await admin.get('/api/flows?search=mortgage');
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({
      id,
      name: 'Mortgage affordability',
      latestVersion: 1,
      published: false,
    });
    expect(list.body[0].updatedBy.name).toBe('Ada Admin');

    const exported = await admin.get(`/api/flows/${id}/export`);
    expect(exported.headers.get('content-disposition')).toMatch(
      /attachment; filename="Mortgage-affordability\.v1\.flow\.json"/,
    );
    const imported = await admin.post('/api/flows/import', exported.body);
    expect(imported.status).toBe(201);
    expect(imported.body.flow.id).not.toBe(id);
    expect(imported.body.version.hash).not.toBe('');
    const copy = await admin.get(`/api/flows/${imported.body.flow.id}`);
    expect(copy.body.document.nodes).toEqual(exported.body.nodes);
  });

  it('saves work in progress, but says what is wrong with it, and refuses what is not a flow document', async () => {
    const wip = scoringFlow('Work in progress');
    wip.edges.push({ id: 'bad', from: { node: 'nowhere', port: 'x' }, to: { node: 'score', port: 'data' } });
    expect((await admin.post('/api/flows', { document: wip })).status).toBe(201);
    const check = await admin.post('/api/flows/validate', { document: wip });
    expect(check.body.ok).toBe(false);
    expect(check.body.problems.map((p: { code: string }) => p.code)).toContain('DANGLING_EDGE');

    const notAFlow = await admin.post('/api/flows', {
      document: { schemaVersion: 1, name: 'x', nodes: 'none' },
    });
    expect(notAFlow.status).toBe(400);
    expect(notAFlow.body.error.code).toBe('INVALID_DOCUMENT');
    expect(notAFlow.body.error.details.problems[0].path).toEqual(['nodes']);
    const future = await admin.post('/api/flows', { document: { ...scoringFlow(), schemaVersion: 99 } });
    expect(future.status).toBe(400);
    expect(future.body.error.message).toMatch(/newer FinFlow/);
  });

  it('deletes a flow, and answers 404 for flows and versions that do not exist', async () => {
    const { id } = await createFlow(admin, scoringFlow('Temporary'));
    expect((await admin.delete(`/api/flows/${id}`)).status).toBe(204);
    const gone = await admin.get(`/api/flows/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('FLOW_NOT_FOUND');
    const { id: other } = await createFlow(admin, scoringFlow('Another'));
    expect((await admin.get(`/api/flows/${other}/versions/7`)).body.error.code).toBe('VERSION_NOT_FOUND');
    expect((await admin.get(`/api/flows/${other}/diff?from=1&to=x`)).status).toBe(400);
  });
});

describe('catalog and templates', () => {
  it('serves the node catalog with config schemas, port types and coercions', async () => {
    const r = await admin.get('/api/catalog');
    expect(r.status).toBe(200);
    const transform = r.body.nodes.find((n: { type: string }) => n.type === 'data.transform');
    expect(transform.configSchema.properties.expression).toMatchObject({
      type: 'string',
      widget: 'expression',
    });
    expect(transform.inputs[0]).toMatchObject({ name: 'data', type: 'any' });
    expect(r.body.nodes.some((n: { type: string }) => n.type === 'custom.sleep')).toBe(true);
    expect(r.body.portTypes.find((p: { name: string }) => p.name === 'table').color).toMatch(/^#/);
    expect(r.body.coercions.length).toBeGreaterThan(10);
  });

  it('lists the templates that load (a broken one is left out) and creates a flow from one', async () => {
    const r = await admin.get('/api/templates');
    expect(r.status).toBe(200);
    expect(r.body).toHaveLength(1);
    expect(r.body[0]).toMatchObject({
      id: 'credit-prescreen',
      title: { en: 'Credit pre-screen', zh: '信贷预筛' },
      regulations: ['ECOA'],
      fixtures: [
        { name: 'approve', input: { name: 'Li Wei' }, expected: { decision: { outcome: 'approve' } } },
      ],
    });
    expect(r.body[0].flow.nodes).toHaveLength(7);
    const missing = await admin.post('/api/flows', { templateId: 'no-such-template' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TEMPLATE_NOT_FOUND');
    const created = await admin.post('/api/flows', {
      templateId: 'credit-prescreen',
      name: 'From the gallery',
    });
    expect(created.status).toBe(201);
    expect(created.body.flow.name).toBe('From the gallery');
    expect(created.body.version.message).toBe('from template credit-prescreen');
    // Renamed or not, the flow keeps a tag linking it to its template (the editor offers its fixtures).
    const doc = await admin.get(`/api/flows/${created.body.flow.id}`);
    expect(doc.body.document.tags).toContain('template:credit-prescreen');
    // The template's fixture runs and gives the expected decision.
    const fixture = r.body[0].fixtures[0];
    const run = await admin.post(`/api/flows/${created.body.flow.id}/runs`, { input: fixture.input });
    expect(run.status).toBe(202);
    const done = await waitForRun(admin, run.body.runId);
    expect(done.run.outputs).toEqual(fixture.expected);
  });
});
