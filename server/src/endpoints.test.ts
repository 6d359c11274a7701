import SwaggerParser from '@apidevtools/swagger-parser';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  addUser,
  createFlow,
  setupAdmin,
  startTestServer,
  type Client,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow, slowFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let flowId: string;
let endpointId: string;
let key: string;

const applicant = { name: 'Li Na', income: 64000, debt: 8000 };

/** A client of the public API: a bearer key, no cookies. */
async function call(
  slug: string,
  body: unknown,
  headers: Record<string, string> = {},
  withKey: string | null = key,
): Promise<{ status: number; body: Loose; headers: Headers; text: string }> {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}${headers['x-query'] ?? ''}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(withKey ? { authorization: `Bearer ${withKey}` } : {}),
      ...Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'x-query')),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
  };
}

async function publish(body: Record<string, unknown>) {
  const r = await admin.post('/api/endpoints', body);
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  return r.body as { id: string; slug: string };
}

async function newKey(endpoints: string[] | '*', name = 'client'): Promise<string> {
  const r = await admin.post('/api/keys', { name, endpoints });
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  return r.body.key as string;
}

async function runCount(): Promise<number> {
  return (await admin.get(`/api/runs?flowId=${flowId}&limit=500`)).body.length as number;
}

beforeAll(async () => {
  t = await startTestServer({ config: { metricsToken: 'metrics-token-for-the-scraper' } });
  admin = await setupAdmin(t);
  flowId = (await createFlow(admin, scoringFlow())).id;
  endpointId = (await publish({ flowId, version: 1, slug: 'credit-prescreen' })).id;
  key = await newKey([endpointId]);
});
afterAll(async () => {
  await t.destroy();
});

describe('publishing', () => {
  it('publishes a valid version under a unique slug, resolving to a deployment', async () => {
    const list = await admin.get('/api/endpoints');
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({
      slug: 'credit-prescreen',
      flowId,
      flowVersion: 1,
      status: 'active',
      mode: 'sync',
      url: '/v1/endpoints/credit-prescreen',
      deployment: { targets: [{ version: 1, weight: 100 }] },
    });
    const taken = await admin.post('/api/endpoints', { flowId, version: 1, slug: 'credit-prescreen' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('SLUG_TAKEN');
    const badSlug = await admin.post('/api/endpoints', { flowId, version: 1, slug: 'Not A Slug' });
    expect(badSlug.status).toBe(400);
    expect(badSlug.body.error.details.fields[0].path).toBe('slug');

    const broken = scoringFlow('Broken');
    broken.edges.pop();
    const brokenFlow = await createFlow(admin, broken);
    const invalid = await admin.post('/api/endpoints', { flowId: brokenFlow.id, version: 1, slug: 'broken' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('INVALID_FLOW');
    expect((await admin.get('/api/flows')).body.find((f: { id: string }) => f.id === flowId).published).toBe(
      true,
    );
    const del = await admin.delete(`/api/flows/${flowId}`);
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('FLOW_PUBLISHED');
  });

  it('shows a key once and stores only its hash', async () => {
    const r = await admin.post('/api/keys', { name: 'partner', endpoints: '*' });
    expect(r.status).toBe(201);
    expect(r.body.key).toMatch(/^ffk_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{40,}$/);
    expect(r.body.key.startsWith(`ffk_${r.body.prefix}_`)).toBe(true);
    const list = await admin.get('/api/keys');
    expect(list.text).not.toContain(r.body.key);
    expect(list.body.find((k: { id: string }) => k.id === r.body.id)).toMatchObject({
      name: 'partner',
      prefix: r.body.prefix,
      endpoints: '*',
      lastUsedAt: null,
      revokedAt: null,
    });
    const db = new Database(join(t.dataDir, DATABASE_FILE), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM api_keys').all();
      expect(JSON.stringify(rows)).not.toContain(r.body.key.slice(13));
    } finally {
      db.close();
    }
    const unknownEndpoint = await admin.post('/api/keys', { name: 'x', endpoints: ['ep_nope'] });
    expect(unknownEndpoint.status).toBe(404);
  });
});

describe('rotating a key', () => {
  it('gives a new key with the same name and scope, revokes the old one at once, and audits it', async () => {
    const old = (await admin.post('/api/keys', { name: 'core banking', endpoints: [endpointId] })).body;
    expect((await call('credit-prescreen', applicant, {}, old.key)).status).toBe(200);
    const r = await admin.post(`/api/keys/${old.id}/rotate`);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      name: 'core banking',
      endpoints: [endpointId],
      rotatedFrom: old.id,
      revokedAt: null,
    });
    expect(r.body.key).toMatch(/^ffk_/);
    expect(r.body.id).not.toBe(old.id);
    const revoked = await call('credit-prescreen', applicant, {}, old.key);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('API_KEY_REVOKED');
    expect((await call('credit-prescreen', applicant, {}, r.body.key)).status).toBe(200);

    const keys = (await admin.get('/api/keys')).body as { id: string; revokedAt: number | null }[];
    expect(keys.find((k) => k.id === old.id)?.revokedAt).toBeGreaterThan(0);
    expect(keys.find((k) => k.id === r.body.id)?.revokedAt).toBeNull();
    const audit = (await admin.get('/api/audit?limit=20')).body as { action: string; details: object }[];
    const entry = audit.find((e) => e.action === 'key.rotated');
    expect(entry?.details).toMatchObject({ name: 'core banking', newKeyId: r.body.id });
    // Neither secret is in the audit log.
    expect(JSON.stringify(audit)).not.toContain(r.body.key);
    expect(JSON.stringify(audit)).not.toContain(old.key);

    const again = await admin.post(`/api/keys/${old.id}/rotate`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('KEY_REVOKED');
    expect((await admin.post('/api/keys/key_nope/rotate')).status).toBe(404);
  });

  it('is refused to roles that may not manage keys', async () => {
    const key = (await admin.post('/api/keys', { name: 'guarded', endpoints: '*' })).body;
    for (const role of ['analyst', 'viewer', 'approver']) {
      const c = await addUser(t, admin, role, `${role}.rotate@bank.example`);
      const r = await c.post(`/api/keys/${key.id}/rotate`);
      expect(r.status, role).toBe(403);
    }
    expect(
      (await admin.get('/api/keys')).body.find((k: { id: string }) => k.id === key.id).revokedAt,
    ).toBeNull();
  });
});

describe('calling an endpoint', () => {
  it('runs the flow synchronously and answers outputs, run id and version; the key records its use', async () => {
    const r = await call('credit-prescreen', applicant);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      runId: expect.any(String),
      flowVersion: 1,
      outputs: { decision: { outcome: 'approve', score: 8 } },
    });
    const run = await admin.get(`/api/runs/${r.body.runId}`);
    expect(run.body).toMatchObject({ status: 'succeeded', trigger: 'endpoint', endpointId });
    const keys = await admin.get('/api/keys');
    expect(
      keys.body.find((k: { endpoints: unknown }) => Array.isArray(k.endpoints)).lastUsedAt,
    ).toBeGreaterThan(0);
    const endpoints = await admin.get('/api/endpoints');
    expect(endpoints.body[0].calls.total).toBeGreaterThanOrEqual(1);
  });

  it('answers with the security headers and metrics of the rest of the server, errors and streams included', async () => {
    const ok = await call('credit-prescreen', applicant);
    const denied = await call('credit-prescreen', applicant, {}, null);
    const streamed = await call('credit-prescreen', applicant, { accept: 'text/event-stream' });
    const viaQuery = await call('credit-prescreen', applicant, { 'x-query': '?mode=sync&x=1' });
    for (const r of [ok, denied, streamed, viaQuery]) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
      expect(r.headers.get('x-powered-by')).toBeNull();
    }
    expect([ok.status, denied.status, streamed.status, viaQuery.status]).toEqual([200, 401, 200, 200]);
    expect(ok.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(ok.headers.get('content-length'))).toBe(Buffer.byteLength(ok.text));
    const metrics = await (
      await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-for-the-scraper' } })
    ).text();
    expect(metrics).toMatch(
      /finflow_http_requests_total\{method="POST",route="\/v1\/endpoints\/:slug",status="401"\} [1-9]/,
    );
    expect(metrics).toMatch(/finflow_endpoint_calls_total\{endpoint="credit-prescreen",status="200"\} [1-9]/);
  });

  it('answers 401 for a missing, unknown or revoked key', async () => {
    const missing = await call('credit-prescreen', applicant, {}, null);
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('MISSING_API_KEY');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const unknown = await call('credit-prescreen', applicant, {}, 'ffk_aaaaaaaa_not-a-real-key');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('INVALID_API_KEY');
    const temp = await admin.post('/api/keys', { name: 'temporary', endpoints: '*' });
    expect((await call('credit-prescreen', applicant, {}, temp.body.key)).status).toBe(200);
    expect((await admin.delete(`/api/keys/${temp.body.id}`)).status).toBe(204);
    const revoked = await call('credit-prescreen', applicant, {}, temp.body.key);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe('API_KEY_REVOKED');
  });

  it('answers 403 for a key not scoped to the endpoint and 404 for an unknown or disabled slug', async () => {
    const other = await publish({ flowId, version: 1, slug: 'other-endpoint' });
    const r = await call('other-endpoint', applicant);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('KEY_NOT_SCOPED');
    const unknown = await call('no-such-endpoint', applicant);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ENDPOINT_NOT_FOUND');
    const wildcard = await newKey('*', 'wildcard');
    expect((await call('other-endpoint', applicant, {}, wildcard)).status).toBe(200);
    expect((await admin.patch(`/api/endpoints/${other.id}`, { status: 'disabled' })).status).toBe(200);
    const disabled = await call('other-endpoint', applicant, {}, wildcard);
    expect(disabled.status).toBe(404);
    expect(disabled.body.error.code).toBe('ENDPOINT_DISABLED');
  });

  it('answers 400 with field errors for bad input, and for malformed or polluting JSON', async () => {
    const r = await call('credit-prescreen', { name: 'Li Na', income: 'a lot' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_INPUT');
    expect(r.body.error.details.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'income' }),
        expect.objectContaining({ path: '' }),
      ]),
    );
    const malformed = await call('credit-prescreen', '{"name": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_JSON');
    const list = await call('credit-prescreen', '[1, 2]');
    expect(list.body.error.code).toBe('INVALID_INPUT');
    const proto = await call(
      'credit-prescreen',
      '{"name":"x","income":1,"debt":1,"__proto__":{"admin":true}}',
    );
    expect(proto.status).toBe(400);
    expect(proto.body.error.code).toBe('FORBIDDEN_KEY');
    const deep = await call(
      'credit-prescreen',
      `{"name":"x","income":1,"debt":1,"extra":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    );
    expect(deep.status).toBe(400);
    expect(deep.body.error.code).toBe('JSON_TOO_DEEP');
    const escaped = await call(
      'credit-prescreen',
      '{"name":"x","income":1,"debt":1,"constructor":{"prototype":{"admin":true}}}',
    );
    expect(escaped.status).toBe(400);
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
    const notJson = await call('credit-prescreen', 'name=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(notJson.status).toBe(415);
  });

  it('answers 413 for a body over the endpoint limit', async () => {
    const small = await publish({ flowId, version: 1, slug: 'small-bodies', maxBodyBytes: 1024 });
    const k = await newKey([small.id]);
    const r = await call('small-bodies', { ...applicant, name: 'x'.repeat(5000) }, {}, k);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('BODY_TOO_LARGE');
    expect((await call('small-bodies', applicant, {}, k)).status).toBe(200);
  });

  it('answers 429 with Retry-After once the key used its calls per minute', async () => {
    const limited = await publish({ flowId, version: 1, slug: 'limited', rateLimitPerMinute: 3 });
    const k = await newKey([limited.id]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('limited', applicant, {}, k)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const r = await call('limited', applicant, {}, k);
    expect(r.body.error.code).toBe('RATE_LIMITED');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own budget.
    expect((await call('limited', applicant, {}, await newKey([limited.id]))).status).toBe(200);
  });

  it('answers 504 when the flow does not finish within the endpoint timeout, and the run is recorded failed', async () => {
    const slow = await createFlow(admin, slowFlow(5_000));
    const ep = await publish({ flowId: slow.id, version: 1, slug: 'too-slow', timeoutMs: 300 });
    const k = await newKey([ep.id]);
    const r = await call('too-slow', { n: 1 }, {}, k);
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('TIMEOUT');
    const run = await admin.get(`/api/runs/${r.body.error.details.runId}`);
    expect(run.body.status).toBe('failed');
    expect(run.body.run.error.code).toBe('RUN_DEADLINE');
  });

  it('returns the first answer for a repeated Idempotency-Key without running again, and 409 for another body', async () => {
    const before = await runCount();
    const first = await call('credit-prescreen', applicant, { 'idempotency-key': 'order-1001' });
    expect(first.status).toBe(200);
    const again = await call('credit-prescreen', applicant, { 'idempotency-key': 'order-1001' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await runCount()).toBe(before + 1);
    const conflict = await call(
      'credit-prescreen',
      { ...applicant, debt: 1 },
      { 'idempotency-key': 'order-1001' },
    );
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    // Two at once with the same key still run once.
    const [a, b] = await Promise.all([
      call('credit-prescreen', applicant, { 'idempotency-key': 'order-1002' }),
      call('credit-prescreen', applicant, { 'idempotency-key': 'order-1002' }),
    ]);
    expect(a.body.runId).toBe(b.body.runId);
    expect(await runCount()).toBe(before + 2);
  });

  it('runs asynchronously with 202 and a run URL to poll with the same key', async () => {
    const r = await call('credit-prescreen', applicant, { 'x-query': '?mode=async' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'running', flowVersion: 1, url: `/v1/runs/${r.body.runId}` });
    let polled: Loose;
    for (let i = 0; i < 100; i++) {
      polled = await fetch(`${t.url}${r.body.url}`, { headers: { authorization: `Bearer ${key}` } }).then(
        (x) => x.json(),
      );
      if (polled.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(polled).toMatchObject({
      runId: r.body.runId,
      status: 'succeeded',
      outputs: { decision: { outcome: 'approve' } },
    });
    const prefer = await call('credit-prescreen', applicant, { prefer: 'respond-async' });
    expect(prefer.status).toBe(202);
    const stranger = await fetch(`${t.url}${r.body.url}`, {
      headers: { authorization: `Bearer ${await newKey('*')}` },
    });
    expect(stranger.status).toBe(200);
    const otherEp = await publish({ flowId, version: 1, slug: 'poll-scope' });
    const scoped = await fetch(`${t.url}${r.body.url}`, {
      headers: { authorization: `Bearer ${await newKey([otherEp.id])}` },
    });
    expect(scoped.status).toBe(404);
  });

  it('streams run events as server-sent events, ending with the result', async () => {
    const r = await call('credit-prescreen', applicant, { accept: 'text/event-stream' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = r.text.trim().split('\n\n');
    const names = frames.map((f) => /^event: (.+)$/m.exec(f)?.[1]);
    expect(names[0]).toBe('run.started');
    expect(names).toContain('node.succeeded');
    expect(names.at(-1)).toBe('result');
    const result = JSON.parse(/^data: (.+)$/m.exec(frames.at(-1) as string)?.[1] as string);
    expect(result).toMatchObject({
      status: 'succeeded',
      flowVersion: 1,
      outputs: { decision: { outcome: 'approve' } },
    });
  });

  it('documents the endpoint as OpenAPI 3.1 from the flow schemas', async () => {
    const res = await fetch(`${t.url}/v1/endpoints/credit-prescreen/openapi.json`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Loose;
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/v1/endpoints/credit-prescreen'].post;
    expect(post.requestBody.content['application/json'].schema.required).toEqual(['name', 'income', 'debt']);
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409', '413', '429', '504']),
    );
    expect(doc.components.schemas.Outputs.properties).toMatchObject({
      decision: { type: 'object' },
      review: {},
    });
    expect(doc.servers[0].url).toBe(t.url);
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
  });

  it('serves a new version after PATCH, recorded as a new deployment', async () => {
    const changed = scoringFlow('Credit pre-screen v2');
    (changed.nodes[2] as { config: { condition: string } }).config.condition = 'value.score >= 100';
    expect((await admin.put(`/api/flows/${flowId}`, { document: changed, message: 'stricter' })).status).toBe(
      201,
    );
    const r = await admin.patch(`/api/endpoints/${endpointId}`, { version: 2 });
    expect(r.status).toBe(200);
    expect(r.body.flowVersion).toBe(2);
    const answer = await call('credit-prescreen', applicant);
    expect(answer.body.flowVersion).toBe(2);
    expect(Object.keys(answer.body.outputs)).toEqual(['review']);
    const deployments = await admin.get(`/api/endpoints/${endpointId}/deployments`);
    expect(deployments.body.map((d: { targets: { version: number }[] }) => d.targets[0]?.version)).toEqual([
      2, 1,
    ]);
    const weights = await admin.patch(`/api/endpoints/${endpointId}`, {
      targets: [
        { version: 1, weight: 60 },
        { version: 2, weight: 30 },
      ],
    });
    expect(weights.status).toBe(400);
  });

  it('answers JSON 404 for unknown API routes, never HTML', async () => {
    const r = await fetch(`${t.url}/v1/nothing-here`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/json/);
    expect(((await r.json()) as Loose).error.code).toBe('NOT_FOUND');
  });
});
