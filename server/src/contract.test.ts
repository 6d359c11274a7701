/**
 * The server's answers are what `@finflow/contract` says they are: a journey through the API an analyst and a
 * developer make (sign in, templates, flows and versions, a run, credentials, publishing, keys, audit), each answer
 * parsed with the contract schema the editor's client is typed by.
 */
import {
  apiKeyCreatedSchema,
  apiKeyListSchema,
  auditListSchema,
  auditVerifySchema,
  authStatusSchema,
  catalogSchema,
  credentialListSchema,
  deploymentListSchema,
  endpointListSchema,
  endpointSchema,
  evaluationListSchema,
  evaluationSchema,
  flowCreatedSchema,
  flowDetailSchema,
  flowDiffSchema,
  flowListSchema,
  flowSavedSchema,
  memberListSchema,
  rolloutBoardSchema,
  rolloutListSchema,
  rolloutStatusSchema,
  runDetailSchema,
  runEventListSchema,
  runListSchema,
  runStartedSchema,
  sessionSchema,
  templateListSchema,
  validationSchema,
  versionDetailSchema,
  versionListSchema,
  workspaceListSchema,
  apiErrorSchema,
} from '@finflow/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { scoringFlow } from './test-helpers/flows.js';
import {
  Client,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Reply,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let admin: Client;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.destroy();
});

/** Parses an answer with its contract schema, failing with the issues and the answer when it does not fit. */
function conforms<S extends z.ZodType>(schema: S, r: Reply, status = 200): z.output<S> {
  expect(r.status, r.text).toBe(status);
  const parsed = schema.safeParse(r.body);
  if (!parsed.success)
    throw new Error(`${JSON.stringify(parsed.error.issues)}\nanswer: ${r.text.slice(0, 2000)}`);
  return parsed.data;
}

describe('the API answers as the contract says', () => {
  it('auth', async () => {
    const anonymous = new Client(t.url);
    expect(conforms(authStatusSchema, await anonymous.get('/api/auth/status')).setupRequired).toBe(true);
    admin = await setupAdmin(t);
    const me = conforms(sessionSchema, await admin.get('/api/auth/me'));
    expect(me.user.role).toBe('admin');
    conforms(workspaceListSchema, await admin.get('/api/workspaces'));
    conforms(memberListSchema, await admin.get('/api/users'));
    conforms(apiErrorSchema, await anonymous.get('/api/flows'), 401);
  });

  it('catalog, templates, flows, versions and a run', async () => {
    const catalog = conforms(catalogSchema, await admin.get('/api/catalog'));
    expect(catalog.nodes.length).toBeGreaterThan(10);
    const templates = conforms(templateListSchema, await admin.get('/api/templates'));
    expect(templates.length).toBe(6);

    const created = conforms(
      flowCreatedSchema,
      await admin.post('/api/flows', { document: scoringFlow(), message: 'first' }),
      201,
    );
    const id = created.flow.id;
    conforms(flowListSchema, await admin.get('/api/flows'));
    const detail = conforms(flowDetailSchema, await admin.get(`/api/flows/${id}`));
    const saved = conforms(
      flowSavedSchema,
      await admin.put(`/api/flows/${id}`, {
        document: { ...detail.document, description: 'changed' },
        message: 'second',
      }),
      201,
    );
    expect(saved.created).toBe(true);
    conforms(versionListSchema, await admin.get(`/api/flows/${id}/versions`));
    conforms(versionDetailSchema, await admin.get(`/api/flows/${id}/versions/1`));
    conforms(flowDiffSchema, await admin.get(`/api/flows/${id}/diff?from=1&to=2`));
    conforms(validationSchema, await admin.post('/api/flows/validate', { document: detail.document }));

    const started = conforms(
      runStartedSchema,
      await admin.post(`/api/flows/${id}/runs`, { input: { name: 'Li Na', income: 64000, debt: 8000 } }),
      202,
    );
    await waitForRun(admin, started.runId);
    expect(conforms(runDetailSchema, await admin.get(`/api/runs/${started.runId}`)).status).toBe('succeeded');
    conforms(runListSchema, await admin.get(`/api/runs?flowId=${id}`));
    conforms(runEventListSchema, await admin.get(`/api/runs/${started.runId}/events`));
    conforms(apiErrorSchema, await admin.post(`/api/runs/${started.runId}/cancel`), 409);
  });

  it('credentials, endpoints, keys and audit', async () => {
    expect((await admin.put('/api/credentials/openai-prod', { value: 'sk-test' })).status).toBe(204);
    conforms(credentialListSchema, await admin.get('/api/credentials'));
    const flow = conforms(
      flowCreatedSchema,
      await admin.post('/api/flows', { document: scoringFlow('Published'), message: 'first' }),
      201,
    );
    const endpoint = conforms(
      endpointSchema,
      await admin.post('/api/endpoints', { flowId: flow.flow.id, version: 1, slug: 'contract-check' }),
      201,
    );
    conforms(endpointListSchema, await admin.get('/api/endpoints'));
    conforms(endpointSchema, await admin.get(`/api/endpoints/${endpoint.id}`));
    conforms(endpointSchema, await admin.patch(`/api/endpoints/${endpoint.id}`, { timeoutMs: 5000 }));
    conforms(deploymentListSchema, await admin.get(`/api/endpoints/${endpoint.id}/deployments`));
    const key = conforms(
      apiKeyCreatedSchema,
      await admin.post('/api/keys', { name: 'contract', endpoints: [endpoint.id] }),
      201,
    );
    expect(key.key).toMatch(/^ffk_/);
    conforms(apiKeyListSchema, await admin.get('/api/keys'));
    conforms(auditListSchema, await admin.get('/api/audit'));
    expect(conforms(auditVerifySchema, await admin.get('/api/audit/verify')).ok).toBe(true);
  });

  it('rollouts', async () => {
    const flow = conforms(
      flowCreatedSchema,
      await admin.post('/api/flows', { document: scoringFlow('Rolled out'), message: 'champion' }),
      201,
    );
    const flowId = flow.flow.id;
    const stricter = scoringFlow('Rolled out');
    (stricter.nodes.find((n) => n.id === 'decide') as { config: { condition: string } }).config.condition =
      'value.score >= 10';
    conforms(
      flowSavedSchema,
      await admin.put(`/api/flows/${flowId}`, { document: stricter, message: 'challenger' }),
      201,
    );
    const endpoint = conforms(
      endpointSchema,
      await admin.post('/api/endpoints', { flowId, version: 1, slug: 'contract-rollout' }),
      201,
    );
    const key = conforms(
      apiKeyCreatedSchema,
      await admin.post('/api/keys', { name: 'rollout', endpoints: [endpoint.id] }),
      201,
    );
    const started = conforms(
      rolloutStatusSchema,
      await admin.post(`/api/endpoints/${endpoint.id}/rollouts`, {
        challengerVersion: 2,
        stage: 'shadow',
        reason: 'shadow the stricter threshold',
        plan: {
          minStageMs: 0,
          subjectPath: 'name',
          predictionPath: 'decision.outcome',
          approveValue: 'approve',
        },
      }),
      201,
    );
    // Calls fill the status's gates and charts with real observations.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${t.url}/v1/endpoints/contract-rollout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
        body: JSON.stringify({ name: `customer-${i}`, income: 64000, debt: 8000 }),
      });
      expect(res.status).toBe(200);
    }
    const status = conforms(
      rolloutStatusSchema,
      await admin.get(`/api/endpoints/${endpoint.id}/rollout?buckets=5`),
    );
    expect(status.gates.length).toBeGreaterThan(0);
    expect(status.series).toHaveLength(5);
    const board = conforms(rolloutBoardSchema, await admin.get('/api/rollouts'));
    expect(board.find((row) => row.endpointId === endpoint.id)?.rollout?.id).toBe(started.id);
    conforms(rolloutStatusSchema, await admin.post(`/api/rollouts/${started.id}/pause`, { reason: 'hold' }));
    conforms(
      rolloutStatusSchema,
      await admin.post(`/api/rollouts/${started.id}/resume`, { reason: 'go on' }),
    );
    const killed = conforms(
      rolloutStatusSchema,
      await admin.post(`/api/endpoints/${endpoint.id}/rollout/kill`, { reason: 'stop' }),
    );
    expect(killed.status).toBe('killed');
    expect(killed.transitions).toHaveLength(4);
    conforms(rolloutListSchema, await admin.get(`/api/endpoints/${endpoint.id}/rollouts`));
    conforms(apiErrorSchema, await admin.post(`/api/rollouts/${started.id}/pause`, { reason: '' }), 400);
  });

  it('evaluations', async () => {
    const flow = conforms(
      flowCreatedSchema,
      await admin.post('/api/flows', { document: scoringFlow('Evaluated'), message: 'first' }),
      201,
    );
    const flowId = flow.flow.id;
    // Debt-to-income scores from 1 to 12: the flow approves from 3; the truth approves from 4.
    const content = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({
        name: `c${i}`,
        income: 1000 * (i + 1),
        debt: 999,
        truth: i + 1 >= 4 ? 'approve' : 'review',
      }),
    ).join('\n');
    const started = conforms(
      evaluationSchema,
      await admin.post(`/api/flows/${flowId}/evaluations`, {
        versions: [1],
        dataset: { name: 'applicants.jsonl', format: 'jsonl', content },
        spec: {
          label: 'truth',
          input: '{ "name": name, "income": income, "debt": debt }',
          prediction: 'decision.outcome ? decision.outcome : review.outcome',
          positive: 'review',
          bootstrap: 50,
        },
      }),
      202,
    );
    let done = started;
    for (const until = Date.now() + 60_000; done.status === 'running' && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 50));
      done = conforms(evaluationSchema, await admin.get(`/api/evaluations/${started.id}`));
    }
    expect(done.status, done.error ?? '').toBe('succeeded');
    expect(done.report).toBeDefined();
    expect(conforms(evaluationListSchema, await admin.get(`/api/flows/${flowId}/evaluations`))[0]?.id).toBe(
      started.id,
    );
    conforms(apiErrorSchema, await admin.post(`/api/evaluations/${started.id}/cancel`), 409);
    conforms(apiErrorSchema, await admin.post(`/api/flows/${flowId}/evaluations`, { versions: [] }), 400);
  });
});
