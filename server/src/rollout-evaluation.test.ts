/**
 * A rollout stage that needs an evaluation report (issue 12 with issue 13): entering the pilot is refused, with
 * a typed error naming what is missing, until a stored evaluation on the named dataset compares the challenger
 * with the champion; a challenger that loses there beyond the margin is refused too; the dashboard's status says
 * which; and hostile requirements are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from './test-helpers/harness.js';
import {
  addUser,
  createFlow,
  setupAdmin,
  startTestServer,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let admin: Client;
let developer: Client;
let approver: Client;
let analyst: Client;
let flowId: string;
let endpointId: string;

/** Sends amounts above `limit` to review. */
function limitFlow(limit: number) {
  return {
    schemaVersion: 1,
    id: 'limit-check',
    name: 'Limit check',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] },
        },
      },
      {
        id: 'decide',
        type: 'data.transform',
        version: 1,
        config: {
          expression: `{ "outcome": data.amount > ${limit} ? "review" : "approve", "risk": data.amount / 20000 }`,
        },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'decide', port: 'data' } },
      { id: 'e2', from: { node: 'decide', port: 'result' }, to: { node: 'out', port: 'value' } },
    ],
  };
}

// Amounts 0 to 14,750, the truth above 6,000 is review: limit 5,000 (v2) beats 10,000 (v1), 14,000 (v3) loses.
const dataset = Array.from({ length: 60 }, (_, i) =>
  JSON.stringify({ amount: 250 * i, truth: 250 * i > 6_000 ? 'review' : 'approve' }),
).join('\n');
const spec = {
  label: 'truth',
  input: '{ "amount": amount }',
  prediction: 'decision.outcome',
  bootstrap: 200,
};

async function evaluate(versions: number[], name: string): Promise<string> {
  const started = await analyst.post(`/api/flows/${flowId}/evaluations`, {
    versions,
    dataset: { name, format: 'jsonl', content: dataset },
    spec,
  });
  expect(started.status).toBe(202);
  const until = Date.now() + 60_000;
  for (;;) {
    const r = await analyst.get(`/api/evaluations/${started.body.id as string}`);
    if (r.body.status !== 'running') {
      expect(r.body.status).toBe('succeeded');
      return r.body.id as string;
    }
    if (Date.now() > until) throw new Error('the evaluation did not finish');
    await new Promise((res) => setTimeout(res, 50));
  }
}

const requirement = { dataset: 'payments.jsonl', margin: 0.02, stages: ['pilot'] };
const plan = { minStageMs: 0, gates: [], requireEvaluation: requirement };

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  developer = await addUser(t, admin, 'developer');
  approver = await addUser(t, admin, 'approver');
  analyst = await addUser(t, admin, 'analyst');
  flowId = (await createFlow(admin, limitFlow(10_000))).id;
  for (const [limit, message] of [
    [5_000, 'lower limit'],
    [14_000, 'higher limit'],
  ] as const) {
    const saved = await developer.put(`/api/flows/${flowId}`, { document: limitFlow(limit), message });
    expect(saved.status).toBe(201);
  }
  const published = await admin.post('/api/endpoints', { flowId, version: 1, slug: 'limits' });
  expect(published.status).toBe(201);
  endpointId = published.body.id as string;
}, 60_000);
afterAll(async () => {
  await t.destroy();
});

describe('a stage that needs an evaluation report', () => {
  it('refuses the pilot without a report on the named dataset, naming what is missing', async () => {
    const refused = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: 2,
      reason: 'pilot the lower limit',
      plan,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'EVALUATION_REQUIRED',
      details: {
        stage: 'pilot',
        dataset: 'payments.jsonl',
        championVersion: 1,
        challengerVersion: 2,
        missing: 'evaluation report',
      },
    });

    // Shadow needs no report; advancing into the pilot does.
    const shadow = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: 2,
      stage: 'shadow',
      reason: 'shadow the lower limit',
      plan,
    });
    expect(shadow.status).toBe(201);
    const status = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect(status.evaluation).toMatchObject({ stage: 'pilot', dataset: 'payments.jsonl', status: 'missing' });
    expect(status.awaitingApproval).toBe(false);

    // A report on another dataset, or comparing other versions, is not the one required.
    await evaluate([1, 2], 'other.jsonl');
    await evaluate([2, 1], 'payments.jsonl');
    const early = await approver.post(`/api/rollouts/${shadow.body.id as string}/advance`, {
      reason: 'shadow clean',
    });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('EVALUATION_REQUIRED');
  });

  it('lets the challenger into the pilot once a report shows it holds, and records which report', async () => {
    const evaluationId = await evaluate([1, 2], 'payments.jsonl');
    const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect(s.evaluation).toMatchObject({ status: 'met', evidence: { evaluationId, rows: 60 } });
    expect(s.evaluation.evidence.accuracyDelta.value).toBeCloseTo(0.2, 6);
    expect(s.awaitingApproval).toBe(true);
    const adv = await approver.post(`/api/rollouts/${s.id as string}/advance`, { reason: 'report holds' });
    expect(adv.status).toBe(200);
    expect(adv.body.stage).toBe('pilot');
    const after = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect(after.transitions[1].details.evaluation).toMatchObject({
      evaluationId,
      dataset: 'payments.jsonl',
    });
    const audit = (await admin.get('/api/audit?limit=200')).body as Loose[];
    expect(audit.find((e) => e.action === 'rollout.advanced')?.details.evaluation.evaluationId).toBe(
      evaluationId,
    );
    // The next stage needs none: the status shows no requirement.
    expect(after.evaluation).toBeNull();
    expect((await developer.post(`/api/rollouts/${s.id as string}/kill`, { reason: 'done' })).status).toBe(
      200,
    );
  });

  it('refuses a challenger that loses beyond the margin in the newest report', async () => {
    await evaluate([1, 3], 'payments.jsonl');
    const refused = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: 3,
      reason: 'pilot the higher limit',
      plan,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('EVALUATION_NOT_MET');
    expect(refused.body.error.details.reasons[0]).toMatch(/accuracy may be .* lower/);
  });

  it('refuses malformed and hostile requirements', async () => {
    const start = (requireEvaluation: unknown) =>
      developer.post(`/api/endpoints/${endpointId}/rollouts`, {
        challengerVersion: 2,
        reason: 'x',
        plan: { requireEvaluation },
      });
    for (const bad of [
      { dataset: '' },
      { dataset: 'd'.repeat(201) },
      { dataset: 'payments.jsonl', margin: 2 },
      { dataset: 'payments.jsonl', margin: -0.1 },
      { dataset: 'payments.jsonl', stages: ['shadow'] },
      { dataset: 'payments.jsonl', stages: ['pilot', 'pilot'] },
      { dataset: 'payments.jsonl', stages: [] },
      { dataset: 'payments.jsonl', extra: true },
      { dataset: { $ne: null } },
      'payments.jsonl',
    ]) {
      const r = await start(bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    // A statistic on a gate that has none, and a gate metric nobody knows.
    for (const gate of [
      { metric: 'errorRate', threshold: 0.1, minSamples: 5, action: 'block', statistic: 'mean' },
      { metric: 'cpuMsPerCall', threshold: 5, minSamples: 5, action: 'block', statistic: 'p99' },
      { metric: 'cpuMsPerCall', threshold: -1, minSamples: 5, action: 'block' },
      { metric: 'gpuMs', threshold: 5, minSamples: 5, action: 'block' },
    ]) {
      const r = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
        challengerVersion: 2,
        reason: 'x',
        plan: { gates: [gate] },
      });
      expect(r.status, JSON.stringify(gate)).toBe(400);
    }
  });
});
