/**
 * The server's answers are what `@finflow/contract` says they are: a journey through the API an analyst and a
 * developer make (sign in, templates, flows and versions, a run, credentials, publishing, keys, audit), each answer
 * parsed with the contract schema the editor's client is typed by.
 */
import {
  accountInvitationListSchema,
  accountListSchema,
  apiKeyRotatedSchema,
  auditCheckpointSchema,
  connectionListSchema,
  connectionSchema,
  federatedDatasetListSchema,
  federatedDatasetSchema,
  feedbackListSchema,
  feedbackSchema,
  invitationAcceptedSchema,
  invitationCreatedSchema,
  invitationListSchema,
  memberWorkspaceSchema,
  pluginListSchema,
  reviewDecisionResultSchema,
  reviewQueueListSchema,
  reviewTaskListSchema,
  reviewTaskSchema,
  userSchema,
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
import { reviewFlow, scoringFlow } from './test-helpers/flows.js';
import {
  addUser,
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
    // A flow made from a template in a Chinese UI gets the template's Chinese description; English otherwise.
    const robo = templates.find((x) => x.id === 'robo-advisory');
    for (const [language, description] of [
      ['zh-CN', robo?.description.zh],
      ['en', robo?.description.en],
    ] as const) {
      const made = conforms(
        flowCreatedSchema,
        await admin.post('/api/flows', { templateId: 'robo-advisory', language }),
        201,
      );
      expect(made.flow.description).toBe(description);
    }

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

  it('members, invitations, accounts and the instance audit log', async () => {
    const ws = conforms(
      memberWorkspaceSchema,
      await admin.post('/api/workspaces', { name: 'Contract desk' }),
      201,
    );
    const invited = conforms(
      invitationCreatedSchema,
      await admin.post('/api/users', { email: 'invitee@bank.example', role: 'analyst' }),
      201,
    );
    conforms(invitationListSchema, await admin.get('/api/workspace/invitations'));
    const member = conforms(
      userSchema,
      await admin.post('/api/users', {
        email: 'member@bank.example',
        name: 'Mei Member',
        password: 'member password 123',
        role: 'viewer',
      }),
      201,
    );
    expect(conforms(userSchema, await admin.patch(`/api/users/${member.id}`, { role: 'analyst' })).role).toBe(
      'analyst',
    );
    conforms(userSchema, await admin.patch('/api/account', { name: 'Ada A. Admin' }));
    const accounts = conforms(accountListSchema, await admin.get('/api/admin/users'));
    expect(accounts.find((a) => a.id === member.id)?.workspaces.length).toBe(1);
    const account = conforms(
      userSchema,
      await admin.post('/api/admin/users', {
        email: 'invitee@bank.example',
        name: 'Ivo Invitee',
        password: 'invitee password 123',
      }),
      201,
    );
    conforms(userSchema, await admin.patch(`/api/admin/users/${account.id}`, { name: 'Ivo I. Invitee' }));
    const invitee = new Client(t.url);
    expect((await invitee.login('invitee@bank.example', 'invitee password 123')).status).toBe(200);
    const mine = conforms(accountInvitationListSchema, await invitee.get('/api/account/invitations'));
    expect(mine.map((i) => i.id)).toEqual([invited.invitation.id]);
    const accepted = conforms(
      invitationAcceptedSchema,
      await invitee.post(`/api/account/invitations/${invited.invitation.id}/accept`),
    );
    expect(accepted.role).toBe('analyst');
    conforms(auditListSchema, await admin.get('/api/admin/audit'));
    conforms(auditVerifySchema, await admin.get('/api/admin/audit/verify'));
    const checkpoint = conforms(auditCheckpointSchema, await admin.get('/api/admin/audit/checkpoint'));
    conforms(auditVerifySchema, await admin.post('/api/admin/audit/verify', { checkpoint }));
    conforms(sessionSchema, await admin.post('/api/auth/workspace', { workspaceId: ws.id }));
    const home = conforms(workspaceListSchema, await admin.get('/api/workspaces')).find(
      (w) => w.id !== ws.id,
    );
    conforms(sessionSchema, await admin.post('/api/auth/workspace', { workspaceId: home?.id }));
  });

  it('connections, plugins, key rotation and workspace audit checkpoints', async () => {
    const connection = conforms(
      connectionSchema,
      await admin.put('/api/connections/local-llm', {
        kind: 'ollama',
        baseUrl: 'https://llm.bank.example',
        deployment: 'private',
      }),
      201,
    );
    expect(connection.dataClasses).toEqual(['public', 'internal', 'personal', 'confidential']);
    conforms(connectionSchema, await admin.get('/api/connections/local-llm'));
    conforms(connectionListSchema, await admin.get('/api/connections'));
    conforms(pluginListSchema, await admin.get('/api/plugins'));
    conforms(apiErrorSchema, await admin.post('/api/plugins/reload', { dir: '/nowhere' }), 403);
    const key = conforms(
      apiKeyCreatedSchema,
      await admin.post('/api/keys', { name: 'rotated', endpoints: '*' }),
      201,
    );
    expect(
      conforms(apiKeyRotatedSchema, await admin.post(`/api/keys/${key.id}/rotate`), 201).rotatedFrom,
    ).toBe(key.id);
    const checkpoint = conforms(auditCheckpointSchema, await admin.get('/api/audit/checkpoint'));
    expect(conforms(auditVerifySchema, await admin.post('/api/audit/verify', { checkpoint })).ok).toBe(true);
  });

  it('reviews and feedback', async () => {
    const approver = await addUser(t, admin, 'approver', 'contract-approver@bank.example');
    const flow = conforms(
      flowCreatedSchema,
      await admin.post('/api/flows', { document: reviewFlow({}, 'Contract review'), message: 'first' }),
      201,
    );
    const endpoint = conforms(
      endpointSchema,
      await admin.post('/api/endpoints', { flowId: flow.flow.id, version: 1, slug: 'contract-review' }),
      201,
    );
    const key = conforms(
      apiKeyCreatedSchema,
      await admin.post('/api/keys', { name: 'review', endpoints: [endpoint.id] }),
      201,
    );
    const call = await fetch(`${t.url}/v1/endpoints/contract-review?mode=async`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ applicationId: 'CT-1', name: 'Wang Fang', amount: 25000 }),
    });
    expect(call.status).toBe(202);
    const { runId } = (await call.json()) as { runId: string };
    let open: z.output<typeof reviewTaskListSchema> = [];
    for (const until = Date.now() + 20_000; !open.length && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 50));
      open = conforms(reviewTaskListSchema, await approver.get('/api/reviews?queue=underwriting'));
    }
    const task = open.find((x) => x.runId === runId);
    expect(task?.task.outcomes).toEqual(['approve', 'decline', 'counter-offer']);
    conforms(reviewQueueListSchema, await approver.get('/api/reviews/queues'));
    conforms(reviewTaskSchema, await approver.get(`/api/reviews/${task?.id}`));
    const decided = conforms(
      reviewDecisionResultSchema,
      await approver.post(`/api/reviews/${task?.id}/decision`, {
        action: 'override',
        outcome: 'counter-offer',
        reason: 'a smaller amount fits the income',
        corrections: { amount: 15000 },
      }),
    );
    expect(decided.task.decision?.outcome).toBe('counter-offer');
    await waitForRun(admin, runId);
    conforms(reviewTaskListSchema, await admin.get(`/api/runs/${runId}/reviews`));

    const labelled = await fetch(`${t.url}/v1/endpoints/contract-review/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ businessKey: 'CT-1', label: { defaulted: false, monthsObserved: 12 } }),
    });
    expect(labelled.status).toBe(201);
    expect(feedbackSchema.safeParse(await labelled.json()).success).toBe(true);
    conforms(
      feedbackSchema,
      await admin.post(`/api/runs/${runId}/feedback`, { label: { defaulted: true } }),
      201,
    );
    conforms(feedbackListSchema, await admin.get(`/api/runs/${runId}/feedback`));
    const all = conforms(feedbackListSchema, await admin.get(`/api/feedback?endpointId=${endpoint.id}`));
    expect(all.map((f) => f.source)).toContain('review');
  });

  it('federated datasets', async () => {
    const key = conforms(
      apiKeyCreatedSchema,
      await admin.post('/api/keys', { name: 'coordinator', endpoints: '*' }),
      201,
    );
    const rows = Array.from({ length: 20 }, (_, i) => ({
      age: 20 + i,
      housing: i % 2 ? 'own' : 'rent',
      bad: i % 3 === 0,
    }));
    const created = conforms(
      federatedDatasetSchema,
      await admin.put('/api/federated/datasets/contract-loans', {
        rows,
        apiKeys: [key.id],
        minParticipants: 2,
      }),
      201,
    );
    expect(created.rows).toBe(20);
    conforms(
      federatedDatasetSchema,
      await admin.put('/api/federated/datasets/contract-loans', { rows }),
      200,
    );
    conforms(federatedDatasetSchema, await admin.get('/api/federated/datasets/contract-loans'));
    conforms(federatedDatasetListSchema, await admin.get('/api/federated/datasets'));
  });
});
