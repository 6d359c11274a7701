/**
 * Published endpoints whose runs wait for a human review (202 and a run to poll, in sync, async and streamed
 * calls, idempotency kept), and feedback on their decisions through the public API and the session API.
 */
import { endpointAcceptedSchema, endpointRunSchema } from '@finflow/contract';
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
import { reviewFlow, scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let approver: Client;
let key: string;
let slug: string;
let endpointId: string;

interface Reply {
  status: number;
  body: Loose;
  headers: Headers;
  text: string;
}

async function http(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  bearer: string | null = key,
): Promise<Reply> {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
  };
}

const application = (id: string, amount = 25_000) => ({ applicationId: id, name: 'Wang Fang', amount });
const poll = (runId: string, bearer = key) => http('GET', `/v1/runs/${runId}`, undefined, {}, bearer);

async function pollUntil(runId: string, status: string): Promise<Reply> {
  const until = Date.now() + 10_000;
  for (;;) {
    const r = await poll(runId);
    if (r.body.status === status) return r;
    if (Date.now() > until) throw new Error(`run ${runId} is ${r.body.status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function decide(
  runId: string,
  body: Record<string, unknown> = { action: 'approve', reason: 'verified' },
) {
  const tasks = (await approver.get(`/api/runs/${runId}/reviews`)).body as Loose[];
  const open = tasks.find((x) => x.status === 'open');
  const r = await approver.post(`/api/reviews/${open.id}/decision`, body);
  expect(r.status, r.text).toBe(200);
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  approver = await addUser(t, admin, 'approver');
  const flow = await createFlow(admin, reviewFlow());
  const ep = await admin.post('/api/endpoints', { flowId: flow.id, version: 1, slug: 'loan-decision' });
  expect(ep.status).toBe(201);
  slug = ep.body.slug;
  endpointId = ep.body.id;
  key = (await admin.post('/api/keys', { name: 'lender system', endpoints: [endpointId] })).body.key;
});
afterAll(async () => {
  await t.destroy();
});

describe('an endpoint whose run waits for a review', () => {
  it('answers a synchronous call 202 waiting, then the poll gives the final decision with the real outputs', async () => {
    const auto = await http('POST', `/v1/endpoints/${slug}`, application('EP-0', 900));
    expect(auto.status).toBe(200);
    expect(auto.body.outputs.decision.outcome).toBe('approve');

    const r = await http('POST', `/v1/endpoints/${slug}`, application('EP-1'));
    expect(r.status, r.text).toBe(202);
    expect(r.body).toMatchObject({ status: 'waiting', flowVersion: 1, url: `/v1/runs/${r.body.runId}` });
    expect(r.body.reviews).toEqual([
      { id: expect.stringMatching(/^rvw_/), queue: 'underwriting', dueAt: null },
    ]);
    expect(r.headers.get('location')).toBe(`/v1/runs/${r.body.runId}`);
    // The shapes the endpoint's OpenAPI document is generated from (Accepted, Run), field for field.
    endpointAcceptedSchema.strict().parse(r.body);
    const waiting = await poll(r.body.runId);
    expect(waiting.body).toMatchObject({ status: 'waiting', reviews: [{ queue: 'underwriting' }] });
    endpointRunSchema.strict().parse(waiting.body);
    expect(waiting.body.outputs).toBeUndefined();

    await decide(r.body.runId, {
      action: 'override',
      outcome: 'counter-offer',
      corrections: { amount: 15_000 },
      reason: 'Affordable at 15,000',
    });
    const done = await pollUntil(r.body.runId, 'succeeded');
    expect(done.body.outputs.decision).toMatchObject({
      outcome: 'counter-offer',
      reasons: ['Affordable at 15,000'],
    });
    expect(done.body.reviews).toBeUndefined();
    endpointRunSchema.strict().parse(done.body);
    expect(done.body.finishedAt).toBeGreaterThanOrEqual(done.body.startedAt);
    const audit = (await admin.get('/api/audit?limit=200')).body as Loose[];
    expect(
      audit.find((e) => e.action === 'endpoint.waiting' && e.details.runId === r.body.runId),
    ).toBeTruthy();
    expect(
      audit.find((e) => e.action === 'endpoint.decision' && e.details.runId === r.body.runId)?.details,
    ).toMatchObject({ status: 'succeeded', afterReview: true });
  });

  it('keeps idempotency: a repeated call gets the same waiting answer, another body a conflict', async () => {
    const headers = { 'idempotency-key': 'loan-EP-2' };
    const first = await http('POST', `/v1/endpoints/${slug}`, application('EP-2'), headers);
    expect(first.status).toBe(202);
    const again = await http('POST', `/v1/endpoints/${slug}`, application('EP-2'), headers);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.runId).toBe(first.body.runId);
    const other = await http('POST', `/v1/endpoints/${slug}`, application('EP-2', 30_000), headers);
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_CONFLICT' } } });
    const runs = (await admin.get(`/api/runs?endpointId=${endpointId}&limit=500`)).body as Loose[];
    expect(runs.filter((x) => x.id === first.body.runId)).toHaveLength(1);
    await decide(first.body.runId);
    await pollUntil(first.body.runId, 'succeeded');
    // After the decision a repeat still gets the first answer (and its run URL, which now shows the result).
    const later = await http('POST', `/v1/endpoints/${slug}`, application('EP-2'), headers);
    expect(later.body).toMatchObject({ runId: first.body.runId, status: 'waiting' });
  });

  it('reports waiting to an asynchronous caller, then the final result', async () => {
    const r = await http('POST', `/v1/endpoints/${slug}?mode=async`, application('EP-3'));
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('running');
    const waiting = await pollUntil(r.body.runId, 'waiting');
    expect(waiting.body.reviews).toHaveLength(1);
    await decide(r.body.runId, { action: 'reject', reason: 'Too much debt' });
    const done = await pollUntil(r.body.runId, 'succeeded');
    expect(done.body.outputs.decision).toMatchObject({ outcome: 'decline', reasons: ['Too much debt'] });
  });

  it('streams a waiting event, keeps the stream open through the review, and ends it with the result', async () => {
    const res = await fetch(`${t.url}/v1/endpoints/${slug}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${key}`,
      },
      body: JSON.stringify(application('EP-4')),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: waiting')) text += decoder.decode((await reader.read()).value);
    const waiting = JSON.parse(/event: waiting\ndata: (.*)\n/.exec(text)?.[1] ?? '{}') as Loose;
    expect(waiting).toMatchObject({ status: 'waiting', reviews: [{ queue: 'underwriting' }] });
    await decide(waiting.runId);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    expect(text).toContain('event: run.resumed');
    const result = JSON.parse(/event: result\ndata: (.*)\n/.exec(text)?.[1] ?? '{}') as Loose;
    expect(result).toMatchObject({
      status: 'succeeded',
      runId: waiting.runId,
      outputs: { decision: { outcome: 'approve' } },
    });
    // The stream carried masked events; the result the caller's real outputs.
    expect(text.split('event: result')[0]).not.toContain('Wang Fang');
  });

  it('hides a waiting run from keys of other endpoints and workspaces', async () => {
    const r = await http('POST', `/v1/endpoints/${slug}`, application('EP-5'));
    const other = await createFlow(admin, scoringFlow('Other'));
    const ep = await admin.post('/api/endpoints', { flowId: other.id, version: 1, slug: 'other-endpoint' });
    const otherKey = (await admin.post('/api/keys', { name: 'other', endpoints: [ep.body.id] })).body.key;
    expect((await poll(r.body.runId, otherKey)).status).toBe(404);
    expect((await poll(r.body.runId, 'ffk_nope_nope')).status).toBe(401);
  });
});

describe('feedback on past decisions', () => {
  let decided: string;
  let labelledAt: number;

  beforeAll(async () => {
    const r = await http('POST', `/v1/endpoints/${slug}`, application('FB-1', 500));
    expect(r.status).toBe(200);
    decided = r.body.runId;
    labelledAt = Date.now();
  });

  const feedback = (body: unknown, headers: Record<string, string> = {}, bearer: string | null = key) =>
    http('POST', `/v1/endpoints/${slug}/feedback`, body, headers, bearer);

  it('attaches an outcome by run id or business key, idempotently, with the version and deployment', async () => {
    const first = await feedback({ runId: decided, label: { defaulted: false, monthsObserved: 12 } });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({
      runId: decided,
      flowVersion: 1,
      endpointId,
      deploymentId: expect.stringMatching(/^dep_/),
      source: 'outcome',
      label: { defaulted: false, monthsObserved: 12 },
      prediction: 'approve',
    });
    const again = await feedback({ runId: decided, label: { monthsObserved: 12, defaulted: false } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // By the application id the flow declares as its business key: the same decision.
    const byKey = await feedback({ businessKey: 'FB-1', label: { defaulted: true, monthsObserved: 13 } });
    expect(byKey.status).toBe(201);
    expect(byKey.body.runId).toBe(decided);
    // An Idempotency-Key makes a repeat with another label a conflict.
    const keyed = await feedback(
      { runId: decided, label: { defaulted: true } },
      { 'idempotency-key': 'chargeback-77' },
    );
    expect(keyed.status).toBe(201);
    expect(
      (await feedback({ runId: decided, label: { defaulted: true } }, { 'idempotency-key': 'chargeback-77' }))
        .status,
    ).toBe(200);
    expect(
      await feedback({ runId: decided, label: { defaulted: false } }, { 'idempotency-key': 'chargeback-77' }),
    ).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_CONFLICT' } } });

    // The endpoint's OpenAPI document describes feedback with the flow's label schema.
    const doc = (await http('GET', `/v1/endpoints/${slug}/openapi.json`)).body;
    expect(
      doc.paths[`/v1/endpoints/${slug}/feedback`].post.requestBody.content['application/json'].schema
        .properties.label,
    ).toMatchObject({ required: ['defaulted'] });

    const rows = (
      await admin.get(
        `/api/feedback?endpointId=${endpointId}&version=1&source=outcome&from=${labelledAt - 60_000}`,
      )
    ).body as Loose[];
    expect(rows.map((x) => x.label)).toEqual([
      { defaulted: false, monthsObserved: 12 },
      { defaulted: true, monthsObserved: 13 },
      { defaulted: true },
    ]);
    expect((await admin.get(`/api/feedback?endpointId=${endpointId}&version=2`)).body).toEqual([]);
    // Reviewers' decisions are labels too.
    const reviews = (await admin.get(`/api/feedback?endpointId=${endpointId}&source=review`)).body as Loose[];
    expect(reviews.length).toBeGreaterThanOrEqual(3);
    expect(reviews[0]).toMatchObject({
      source: 'review',
      prediction: 'review',
      label: { outcome: 'counter-offer' },
    });
    const audit = (await admin.get('/api/audit?limit=500')).body as Loose[];
    expect(audit.filter((e) => e.action === 'feedback.recorded')).toHaveLength(3);
  });

  it('refuses unknown runs, runs of other endpoints or workspaces, and runs still waiting', async () => {
    expect(
      await feedback({ runId: '0190aaaa-0000-7000-8000-000000000000', label: { defaulted: true } }),
    ).toMatchObject({
      status: 404,
      body: { error: { code: 'RUN_NOT_FOUND' } },
    });
    expect((await feedback({ businessKey: 'NO-SUCH-APPLICATION', label: { defaulted: true } })).status).toBe(
      404,
    );
    const other = await createFlow(admin, reviewFlow({}, 'Second lender'));
    const ep = await admin.post('/api/endpoints', { flowId: other.id, version: 1, slug: 'second-lender' });
    const everyKey = (await admin.post('/api/keys', { name: 'all', endpoints: '*' })).body.key as string;
    const otherRun = await http(
      'POST',
      '/v1/endpoints/second-lender',
      application('FB-2', 100),
      {},
      everyKey,
    );
    expect(otherRun.status).toBe(200);
    // A run of another endpoint is not this endpoint's decision, even for a key that may call both.
    expect(
      (await feedback({ runId: otherRun.body.runId, label: { defaulted: true } }, {}, everyKey)).status,
    ).toBe(404);
    expect((await feedback({ runId: decided, label: { defaulted: true } }, {}, null)).status).toBe(401);
    const scoped = (await admin.post('/api/keys', { name: 'scoped', endpoints: [ep.body.id] })).body
      .key as string;
    expect((await feedback({ runId: decided, label: { defaulted: true } }, {}, scoped)).status).toBe(403);
    const waiting = await http('POST', `/v1/endpoints/${slug}`, application('FB-3'));
    expect(await feedback({ runId: waiting.body.runId, label: { defaulted: true } })).toMatchObject({
      status: 409,
      body: { error: { code: 'RUN_NOT_DECIDED' } },
    });

    // Another workspace's key does not even find the endpoint.
    const ws = await admin.post('/api/workspaces', { name: 'Elsewhere' });
    await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
    const foreignKey = (await admin.post('/api/keys', { name: 'foreign', endpoints: '*' })).body
      .key as string;
    await admin.post('/api/auth/workspace', { workspaceId: (await admin.get('/api/workspaces')).body[0].id });
    expect((await feedback({ runId: decided, label: { defaulted: true } }, {}, foreignKey)).status).toBe(404);
  });

  it('validates labels against the flow’s label schema and refuses hostile bodies', async () => {
    const code = async (body: unknown, headers: Record<string, string> = {}) =>
      (await feedback(body, headers)).body.error?.code;
    expect(await code({ runId: decided, label: { defaulted: 'yes' } })).toBe('INVALID_LABEL');
    expect(
      (await feedback({ runId: decided, label: { defaulted: 'yes' } })).body.error.details.fields[0].path,
    ).toBe('defaulted');
    expect(await code({ runId: decided, label: { defaulted: true, extra: 1 } })).toBe('INVALID_LABEL');
    expect(await code({ runId: decided, label: ['defaulted'] })).toBe('INVALID_LABEL');
    expect(await code({ runId: decided })).toBe('INVALID_REQUEST');
    expect(await code({ label: { defaulted: true } })).toBe('INVALID_REQUEST');
    expect(await code({ runId: decided, businessKey: 'FB-1', label: { defaulted: true } })).toBe(
      'INVALID_REQUEST',
    );
    expect(await code({ runId: 42, label: { defaulted: true } })).toBe('INVALID_REQUEST');
    expect(await code({ runId: decided, label: { defaulted: true }, admin: true })).toBe('INVALID_REQUEST');
    // Written as text: a value this deep does not survive JSON.stringify in a test worker. The body parser
    // refuses it before the label is looked at.
    const deep = `${'['.repeat(5_000)}true${']'.repeat(5_000)}`;
    expect(await code(`{"runId":"${decided}","label":${deep}}`)).toBe('JSON_TOO_DEEP');
    const wide = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]));
    expect(await code({ runId: decided, label: wide })).toBe('LABEL_TOO_LARGE');
    expect(
      (await feedback({ runId: decided, label: { defaulted: true, note: 'x'.repeat(70_000) } })).status,
    ).toBe(413);
    expect((await feedback('{"runId":')).status).toBe(400);
    expect(await code(`{"runId":"${decided}","label":{"__proto__":{"defaulted":true}}}`)).toBe(
      'FORBIDDEN_KEY',
    );
    expect(
      (
        await http('POST', `/v1/endpoints/${slug}/feedback`, 'defaulted=true', {
          'content-type': 'text/plain',
        })
      ).status,
    ).toBe(415);
    expect(
      await code(
        { runId: decided, label: { defaulted: true } },
        { 'idempotency-key': 'bad key with spaces' },
      ),
    ).toBe('INVALID_IDEMPOTENCY_KEY');
  });

  it('needs a label schema in the flow, and through the session API the feedback.write permission', async () => {
    const plain = await createFlow(admin, scoringFlow('No labels'));
    const run = await admin.post(`/api/flows/${plain.id}/runs`, {
      input: { name: 'A', income: 10, debt: 1 },
    });
    const until = Date.now() + 5_000;
    while ((await admin.get(`/api/runs/${run.body.runId}`)).body.status === 'running' && Date.now() < until)
      await new Promise((res) => setTimeout(res, 25));
    expect(
      await admin.post(`/api/runs/${run.body.runId}/feedback`, { label: { defaulted: true } }),
    ).toMatchObject({
      status: 422,
      body: { error: { code: 'NO_LABEL_SCHEMA' } },
    });
    const viewer = await addUser(t, admin, 'viewer');
    expect((await viewer.post(`/api/runs/${decided}/feedback`, { label: { defaulted: true } })).status).toBe(
      403,
    );
    const analyst = await addUser(t, admin, 'analyst');
    const r = await analyst.post(`/api/runs/${decided}/feedback`, {
      label: { defaulted: false, monthsObserved: 24 },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body.actor).toMatch(/^user:/);
    expect(((await viewer.get(`/api/runs/${decided}/feedback`)).body as Loose[]).length).toBe(4);
  });
});
