/**
 * Continuous learning over HTTP on real data (issue 13): an endpoint serves a deliberately under-trained German
 * Credit scorecard (30 applicants); 700 applicants call it and their outcomes come back as feedback through the
 * endpoint's feedback API; a developer retrains. The new model is a new flow version (not published), trained
 * without the fields the flow masks (the report says which), compared with the champion on a holdout of the
 * labelled calls with the report stored, and it improves by what the report says. Then drift: the retrained
 * version, once it serves, is watched against its training baseline; calls whose loan durations tripled raise an
 * alert. Roles, workspaces and hostile settings are refused.
 */
import { readFileSync } from 'node:fs';
import { retrainJobSchema } from '@finflow/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '@finflow/runtime';
import { parseDataset, seededRandom, type DatasetRow } from '@finflow/runtime/evaluation';
import { main } from './cli/main.js';
import { LearningService, retrainJobView } from './services/learning.js';
import { createBuiltinRegistry } from '@finflow/nodes';
import {
  addUser,
  ADMIN,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

const root = new URL('../../', import.meta.url);
const trainSettings = JSON.parse(
  readFileSync(new URL('templates/credit-approval/train-config.json', root), 'utf8'),
) as { heldOutRows: number[]; node: Record<string, unknown> };
// No cross-validation: the holdout is the measure here. The cut-off is the 5:1 cost matrix's.
const { crossValidate: _cv, ...train } = {
  ...trainSettings.node,
  thresholdFrom: 'costMatrix',
} as Record<string, unknown>;

const random = seededRandom(13);
const applicants = parseDataset(
  readFileSync(new URL('datasets/german-credit/german-credit.csv', root), 'utf8'),
  'csv',
)
  .map((r) => ({ r, k: random() }))
  .sort((a, b) => a.k - b.k)
  .map((x, i): DatasetRow => ({ ...x.r, applicantName: `Applicant ${String(i).padStart(4, '0')} Example` }));
const early = applicants.slice(0, 30);
const later = applicants.slice(30, 730);
const fresh = applicants.slice(730, 1000);

let t: TestServer;
let admin: Client;
let developer: Client;
let key: string;
let flowId: string;
let endpointId: string;

async function scoringFlow() {
  const runtime = createRuntime({ registry: createBuiltinRegistry() });
  const trained = await runtime.runNode(
    // Under-trained: 30 applicants, and none of the reviewed coarse classes (every code a weight of its own).
    { type: 'risk.scorecard', config: { ...train, classes: {}, mode: 'train' } },
    { table: early.map(({ applicantName: _n, ...r }) => r) },
  );
  if (trained.status !== 'succeeded') throw new Error(trained.error?.message);
  return {
    schemaVersion: 1,
    id: 'gc-scorecard',
    name: 'German Credit scorecard',
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema: { type: 'object' } } },
      { id: 'row', type: 'data.transform', version: 1, config: { expression: '[data]' } },
      {
        id: 'scorecard',
        type: 'risk.scorecard',
        version: 1,
        config: { mode: 'score', model: trained.outputs?.['model'] },
      },
      {
        id: 'decide',
        type: 'data.transform',
        version: 1,
        config: {
          expression:
            '{ "outcome": data[0].probability > 1/6 ? "decline" : "approve", "probabilityOfDefault": data[0].probability }',
        },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'row', port: 'data' } },
      { id: 'e2', from: { node: 'row', port: 'result' }, to: { node: 'scorecard', port: 'table' } },
      { id: 'e3', from: { node: 'scorecard', port: 'scores' }, to: { node: 'decide', port: 'data' } },
      { id: 'e4', from: { node: 'decide', port: 'result' }, to: { node: 'out', port: 'value' } },
    ],
    settings: {
      // The applicant's name and age are personal data: masked in records, so never trained on.
      redact: { inputPaths: ['applicantName', 'age'], nodes: [] },
      feedback: {
        labelSchema: {
          type: 'object',
          required: ['class'],
          properties: { class: { enum: ['1', '2'] } },
        },
        predictionPath: 'decision.outcome',
      },
    },
  };
}

const settings = {
  nodeId: 'scorecard',
  train,
  label: 'class',
  evaluation: {
    score: 'decision.probabilityOfDefault',
    prediction: "decision.probabilityOfDefault > 1/6 ? '2' : '1'",
    cost: { falseNegative: 5, falsePositive: 1 },
  },
  holdout: 0.3,
  minLabels: 100,
};

async function call(row: DatasetRow): Promise<Loose> {
  const { class: _label, ...input } = row;
  const res = await fetch(`${t.url}/v1/endpoints/gc-score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(input),
  });
  return { status: res.status, body: await res.json() };
}

async function label(runId: string, row: DatasetRow): Promise<number> {
  const res = await fetch(`${t.url}/v1/endpoints/gc-score/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ runId, label: { class: String(row['class']) } }),
  });
  return res.status;
}

async function finished(c: Client, id: string, ms = 120_000): Promise<Loose> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await c.get(`/api/retrain-jobs/${id}`);
    if (r.status === 200 && r.body.status !== 'running') return r.body;
    if (Date.now() > end) throw new Error(`retrain job ${id} still ${r.body?.status ?? r.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  // The tests drive the learning look (`tick`) themselves: a background one in the middle of a test's calls would
  // record its drift alerts over a window the test did not choose (it did, on a loaded machine).
  t = await startTestServer({ learning: { tickMs: 24 * 3_600_000 } });
  admin = await setupAdmin(t);
  developer = await addUser(t, admin, 'developer');
  flowId = (await createFlow(admin, await scoringFlow())).id;
  const published = await admin.post('/api/endpoints', {
    flowId,
    version: 1,
    slug: 'gc-score',
    rateLimitPerMinute: 100_000,
  });
  expect(published.status).toBe(201);
  endpointId = published.body.id;
  key = (await admin.post('/api/keys', { name: 'lender', endpoints: '*' })).body.key as string;
  // 700 applicants decided by the under-trained model; their outcomes are reported later, as a lender would.
  for (const row of later) {
    const r = await call(row);
    expect(r.status).toBe(200);
    expect(await label(r.body.runId as string, row)).toBe(201);
  }
}, 240_000);
afterAll(async () => {
  await t.destroy();
});

describe('retraining from an endpoint’s feedback', () => {
  let job: Loose;

  it('refuses other roles, other workspaces and hostile settings', async () => {
    for (const role of ['analyst', 'approver', 'viewer']) {
      const c = await addUser(t, admin, role);
      expect((await c.put(`/api/endpoints/${endpointId}/learning`, { config: settings })).status).toBe(403);
      expect((await c.post(`/api/endpoints/${endpointId}/retrain`, {})).status).toBe(403);
      // Reading is every role's.
      expect((await c.get(`/api/endpoints/${endpointId}/learning`)).status).toBe(200);
    }
    // Another workspace's admin does not find the endpoint at all.
    const other = new Client(t.url);
    await other.login(ADMIN.email, ADMIN.password);
    const ws = await other.post('/api/workspaces', { name: 'Other bank' });
    expect((await other.post('/api/auth/workspace', { workspaceId: ws.body.id })).status).toBe(200);
    for (const r of [
      await other.put(`/api/endpoints/${endpointId}/learning`, { config: settings }),
      await other.post(`/api/endpoints/${endpointId}/retrain`, {}),
      await other.get(`/api/endpoints/${endpointId}/drift`),
      await other.get(`/api/endpoints/${endpointId}/retrain-jobs`),
    ])
      expect(r.status).toBe(404);

    expect((await developer.post(`/api/endpoints/${endpointId}/retrain`, {})).body.error.code).toBe(
      'LEARNING_NOT_CONFIGURED',
    );
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 500; i++) cur = (cur['x'] = {}) as Record<string, unknown>;
    const cases: [unknown, number, string?][] = [
      [{ config: { ...settings, nodeId: 'nope' } }, 400, 'NODE_NOT_FOUND'],
      [{ config: { ...settings, nodeId: 'decide' } }, 400, 'NOT_TRAINABLE'],
      [{ config: { ...settings, label: '$$$ (' } }, 400, 'INVALID_LABEL_EXPRESSION'],
      [{ config: { ...settings, evaluation: { score: 'decision.(' } } }, 400, 'INVALID_SPEC'],
      [{ config: { ...settings, drift: { watch: 0.5, alert: 0.2 } } }, 400],
      [{ config: { ...settings, holdout: 0.99 } }, 400],
      [{ config: { ...settings, schedule: { everyHours: 0, minNewLabels: 1 } } }, 400],
      [{ config: { ...settings, sneaky: true } }, 400],
      [{ config: { ...settings, train: deep } }, 400],
      [{ config: { ...settings, train: { blob: 'x'.repeat(300_000) } } }, 400, 'TRAIN_CONFIG_TOO_LARGE'],
      [{ config: { ...settings, train: { blob: 'x'.repeat(6_000_000) } } }, 413],
      ['not an object', 400],
    ];
    for (const [body, status, code] of cases) {
      const r = await developer.put(`/api/endpoints/${endpointId}/learning`, body);
      expect([r.status, code ? r.body.error?.code : undefined]).toEqual([status, code]);
    }
    // The server still answers, and names what the settings may retrain: the served version's scorecard only.
    const learning = (await developer.get(`/api/endpoints/${endpointId}/learning`)).body;
    expect(learning.config).toBeNull();
    expect(learning.trainableNodes).toEqual([{ id: 'scorecard', type: 'risk.scorecard' }]);
  });

  it('retrains without the masked fields into a new draft version that improves on the holdout', async () => {
    const put = await developer.put(`/api/endpoints/${endpointId}/learning`, { config: settings });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ labels: 700, lastRetrainAt: null });
    const started = await developer.post(`/api/endpoints/${endpointId}/retrain`, { reason: 'quarterly' });
    expect(started.status).toBe(202);
    // One retraining at a time per endpoint.
    expect((await developer.post(`/api/endpoints/${endpointId}/retrain`, {})).body.error.code).toBe(
      'RETRAIN_BUSY',
    );
    job = await finished(developer, started.body.id);
    expect(job.error).toBeUndefined();
    expect(job).toMatchObject({ status: 'succeeded', championVersion: 1, newVersion: 2, labels: 700 });
    expect(job.trainingRows + job.holdoutRows).toBe(700);
    expect(job.holdoutRows).toBeGreaterThan(150);
    // The name is masked in the stored calls; the age is not (a small number), but it copies a masked field.
    expect(job.excluded).toEqual([
      { column: 'applicantName', reason: 'masked' },
      { column: 'age', reason: 'copies-masked-input', path: 'age' },
    ]);
    expect(job.summary).toContain(
      'Excluded from training by the flow’s masking: applicantName (masked), age (copies masked input age).'.replace(
        '’',
        "'",
      ),
    );
    const flow = (await admin.get(`/api/flows/${flowId}/versions/2`)).body;
    const model = (flow.document ?? flow).nodes.find((n: Loose) => n.id === 'scorecard').config.model;
    expect(model.training.rows).toBe(job.trainingRows);
    expect(JSON.stringify(model.featureNames)).not.toMatch(/age|applicantName/);

    // The stored report, and the figures the job states, are the same numbers.
    const evaluation = (await admin.get(`/api/evaluations/${job.evaluationId}`)).body;
    expect(evaluation).toMatchObject({ status: 'succeeded', versions: [1, 2] });
    const [a, b] = evaluation.report.versions;
    const c = evaluation.report.comparisons[0];
    expect(job.comparison.auc.champion).toBe(a.quality.scores.auc);
    expect(job.comparison.auc.challenger).toBe(b.quality.scores.auc);
    expect(job.comparison.auc.difference.estimate).toBeCloseTo(
      b.quality.scores.auc - a.quality.scores.auc,
      12,
    );
    expect(c.auc.estimate).toBe(job.comparison.auc.difference.estimate);
    // It improves: a higher AUC and a lower cost per call on calls neither model was trained on.
    expect(b.quality.scores.auc).toBeGreaterThan(a.quality.scores.auc);
    // Measured (the split follows the calls, so it is the same on every run): 470 training and 230 held-out calls;
    // AUC 0.736 → 0.806 (+0.070 [0.009, 0.125]), accuracy 0.548 → 0.635 (+0.087 [0.013, 0.148]), cost per call
    // 0.574 → 0.487 (−0.087 [−0.198, 0.043]): better, and not yet shown cheaper, so proposed for shadow.
    expect(c.auc.lo).toBeGreaterThan(0);
    expect(c.accuracy.lo).toBeGreaterThan(0);
    expect(b.quality.cost.perRow).toBeLessThan(a.quality.cost.perRow);
    const f = (x: number) => x.toFixed(3);
    expect(job.summary).toContain(
      `AUC ${f(a.quality.scores.auc)} → ${f(b.quality.scores.auc)} (+${f(c.auc.estimate)} [${f(c.auc.lo)}, ${f(c.auc.hi)}])`,
    );
    expect(job.proposal.stage).toBe(c.cost.hi < 0 ? 'pilot' : 'shadow');
    expect(job.summary).toContain(
      `Proposed for ${job.proposal.stage}: cost per call not shown better or worse than the champion's: ${f(c.cost.estimate)} [${f(c.cost.lo)}, ${f(c.cost.hi)}]. Not published`,
    );
    // The reason as a code and its figures (the editor words it), with the same English for API users.
    expect(job.proposal.reasons).toEqual([
      {
        code: 'NOT_SHOWN_DIFFERENT',
        params: { measure: 'cost', estimate: c.cost.estimate, lo: c.cost.lo, hi: c.cost.hi },
        message: `cost per call not shown better or worse than the champion's: ${f(c.cost.estimate)} [${f(c.cost.lo)}, ${f(c.cost.hi)}]`,
      },
    ]);

    // Proposed, never published: the endpoint still answers with version 1.
    const r = await call(fresh[0] as DatasetRow);
    expect(r.body.flowVersion).toBe(1);
    const audit = (await admin.get('/api/audit?limit=100')).body as Loose[];
    const actions = audit.map((e) => e.action);
    for (const a of [
      'learning.configured',
      'model.retrain.started',
      'flow.retrained',
      'model.retrain.finished',
    ])
      expect(actions).toContain(a);
    expect(JSON.stringify(audit)).not.toContain('Applicant 0');
    expect((await developer.get(`/api/endpoints/${endpointId}/learning`)).body).toMatchObject({
      lastRetrainLabels: 700,
      baselines: [{ version: 2, rows: job.trainingRows }],
    });
  }, 240_000);

  it('reads a job stored before reasons had codes with its English reason as a TEXT reason', () => {
    const view = retrainJobView({
      id: 'job-1',
      workspaceId: 'ws',
      endpointId: 'ep',
      status: 'succeeded',
      trigger: 'manual',
      detail: JSON.stringify({
        flowId: 'f',
        nodeId: 'scorecard',
        proposal: { stage: null, reasons: ["accuracy worse than the champion's on the holdout: -0.100"] },
      }),
      createdBy: 'user:u',
      createdAt: 1,
      finishedAt: 2,
    });
    expect(retrainJobSchema.parse(view).proposal?.reasons).toEqual([
      { code: 'TEXT', params: {}, message: "accuracy worse than the champion's on the holdout: -0.100" },
    ]);
  });

  it('watches the drift of the served version against its training baseline and alerts', async () => {
    expect((await developer.get(`/api/endpoints/${endpointId}/drift`)).body.error.code).toBe('NO_BASELINE');
    // The retrained version goes live (in practice through a rollout); its calls are watched.
    expect((await admin.patch(`/api/endpoints/${endpointId}`, { version: 2 })).status).toBe(200);
    for (const row of fresh) expect((await call(row)).status).toBe(200);
    const stable = (await developer.get(`/api/endpoints/${endpointId}/drift?calls=300`)).body;
    expect(stable).toMatchObject({ version: 2, calls: 270, thresholds: { watch: 0.1, alert: 0.25 } });
    const byName = (d: Loose) => new Map(d.features.map((x: Loose) => [x.name, x]));
    expect((byName(stable).get('duration') as Loose).level).toBe('stable');
    expect(stable.score.level).not.toBe('alert');
    // The masked columns are not features of the model: no drift is computed on them.
    expect(byName(stable).has('applicantName')).toBe(false);
    // Loans three times as long.
    for (const row of fresh.slice(0, 150))
      expect((await call({ ...row, duration: Number(row['duration']) * 3 })).status).toBe(200);
    const drifted = (await developer.get(`/api/endpoints/${endpointId}/drift?calls=150`)).body;
    expect((byName(drifted).get('duration') as Loose).level).toBe('alert');
    expect((byName(drifted).get('purpose') as Loose).level).not.toBe('alert');
    const alerts = (await developer.get(`/api/endpoints/${endpointId}/drift/alerts`)).body as Loose[];
    expect(alerts.find((a) => a.feature === 'duration')).toMatchObject({ level: 'alert', calls: 150 });
    const audit = (await admin.get('/api/audit?limit=50')).body as Loose[];
    expect(audit.find((e) => e.action === 'drift.alert' && e.details.feature === 'duration')).toBeTruthy();

    // The same from the command line, signed in as the developer; a viewer may read it too, not retrain.
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (x: string) => out.push(x), err: (x: string) => err.push(x) };
    process.env['FINFLOW_EMAIL'] = 'developer@bank.example';
    process.env['FINFLOW_PASSWORD'] = 'developer password 123';
    try {
      expect(await main(['retrain', 'gc-score', '--drift', '--server', t.url], io)).toBe(0);
      expect(out[0]).toMatch(/^gc-score v2: PSI over \d+ calls \(watch ≥ 0\.1, alert ≥ 0\.25\)/);
      expect(out.join('\n')).toMatch(/duration\s+\d+\.\d{3} alert/);
      process.env['FINFLOW_EMAIL'] = 'viewer@bank.example';
      process.env['FINFLOW_PASSWORD'] = 'viewer password 123';
      expect(await main(['retrain', 'gc-score', '--server', t.url], io)).toBe(1);
      expect(err.join('\n')).toContain('FORBIDDEN');
    } finally {
      delete process.env['FINFLOW_EMAIL'];
      delete process.env['FINFLOW_PASSWORD'];
    }
  }, 120_000);

  it('retrains on a schedule once enough new labels arrived, once across two servers, and remembers it across a restart', async () => {
    const ctx = t.server.context;
    const put = await developer.put(`/api/endpoints/${endpointId}/learning`, {
      config: { ...settings, schedule: { everyHours: 1, minNewLabels: 20 } },
    });
    expect(put.status).toBe(200);
    const jobs = async () =>
      (await developer.get(`/api/endpoints/${endpointId}/retrain-jobs`)).body as Loose[];
    const before = (await jobs()).length;
    // Not due: 2 hours on, but no new labels yet.
    await ctx.learning.tick(Date.now() + 2 * 3_600_000);
    expect((await jobs()).length).toBe(before);
    for (const row of fresh.slice(150, 180)) {
      const r = await call(row);
      expect(await label(r.body.runId as string, row)).toBe(201);
    }
    // Two servers look at the same moment: the lease in the repository lets one of them retrain.
    const second = new LearningService(
      ctx.repo,
      ctx.runtime,
      ctx.flows,
      ctx.endpoints,
      ctx.feedback,
      ctx.credentials,
      ctx.connections,
      ctx.sealer,
      ctx.audit,
      ctx.logger,
    );
    const later = Date.now() + 2 * 3_600_000;
    await Promise.all([ctx.learning.tick(later), second.tick(later)]);
    await Promise.all([ctx.learning.idle(), second.idle()]);
    const scheduled = (await jobs()).filter((j) => j.trigger === 'schedule');
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]).toMatchObject({
      status: 'succeeded',
      championVersion: 2,
      newVersion: 3,
      labels: 730,
    });
    expect(
      (await admin.get('/api/audit?limit=100')).body.find(
        (e: Loose) => e.action === 'model.retrain.started' && e.actor.type === 'system',
      ),
    ).toBeTruthy();
    // A restarted server knows it retrained: nothing is due until new labels arrive.
    const workspaceId = (await ctx.repo.listLearning()).find((l) => l.endpointId === endpointId)!.workspaceId;
    await t.stop();
    const restarted = await startTestServer({ dataDir: t.dataDir, learning: { tickMs: 24 * 3_600_000 } });
    try {
      await restarted.server.context.learning.tick(Date.now() + 4 * 3_600_000);
      await restarted.server.context.learning.idle();
      const listed = await restarted.server.context.learning.jobs(workspaceId, endpointId);
      expect(listed.filter((j) => j.trigger === 'schedule')).toHaveLength(1);
    } finally {
      await restarted.stop();
    }
  }, 240_000);
});
