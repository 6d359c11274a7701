// Hostile and odd input at the HTTP and socket.io level: nesting past the limit, numbers JSON cannot hold,
// malformed percent-encoding, compressed and falsely-compressed bodies, and node outputs deeper than
// JSON.stringify can write. Nothing accepted may be lost: every 202 is a stored run.
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connected,
  createFlow,
  emitAck,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';
import { deepOutputFlow, scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let flowId: string;
let key: string;

/** JSON text nested `n` objects deep, written directly (JSON.stringify itself overflows past a few thousand). */
const deepText = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const applicant = '"name":"Deep","income":100,"debt":1';

async function callEndpoint(slug: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const r = await fetch(`${t.url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body,
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as { error?: { code: string } }) : {}, text };
}

async function runIds(): Promise<string[]> {
  return ((await admin.get('/api/runs?limit=500')).body as { id: string }[]).map((r) => r.id);
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  flowId = (await createFlow(admin, scoringFlow())).id;
  expect((await admin.post('/api/endpoints', { flowId, version: 1, slug: 'limits' })).status).toBe(201);
  key = (await admin.post('/api/keys', { name: 'limits', endpoints: '*' })).body.key;
});
afterAll(async () => {
  await t.destroy();
});

describe('JSON nesting', () => {
  it('refuses a 5,000-deep run input with 400 JSON_TOO_DEEP, and starts no run', async () => {
    const before = await runIds();
    const r = await admin.post(`/api/flows/${flowId}/runs`, `{"input":{${applicant},"x":${deepText(5000)}}}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('JSON_TOO_DEEP');
    expect(await runIds()).toEqual(before);
  });

  it('refuses the same body on a published endpoint with 400, not a 500', async () => {
    const r = await callEndpoint('limits', `{${applicant},"x":${deepText(5000)}}`);
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('JSON_TOO_DEEP');
    // Nesting within the limit still works.
    expect((await callEndpoint('limits', `{${applicant},"x":${deepText(40)}}`)).status).toBe(200);
  });

  it('refuses a 5,000-deep flow document on create, save and import', async () => {
    const doc = JSON.stringify({ ...scoringFlow(), description: 'DEEP' }).replace('"DEEP"', deepText(5000));
    for (const [method, path, body] of [
      ['POST', '/api/flows', `{"document":${doc}}`],
      ['PUT', `/api/flows/${flowId}`, `{"document":${doc}}`],
      ['POST', '/api/flows/import', doc],
      ['POST', '/api/flows/validate', `{"document":${doc}}`],
    ] as const) {
      const r = await admin.request(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.body.error.code).toBe('JSON_TOO_DEEP');
    }
  });
});

describe('numbers JSON cannot hold', () => {
  it('refuses -1e309 and a 400-digit integer as 400 INVALID_INPUT, on runs and endpoints', async () => {
    for (const income of ['-1e309', '1E400', '9'.repeat(400)]) {
      const r = await admin.post(
        `/api/flows/${flowId}/runs`,
        `{"input":{"name":"N","income":${income},"debt":1}}`,
      );
      expect(r.status, income).toBe(400);
      expect(r.body.error.code).toBe('INVALID_INPUT');
      const e = await callEndpoint('limits', `{"name":"N","income":${income},"debt":1}`);
      expect(e.status).toBe(400);
      expect(e.body.error?.code).toBe('INVALID_INPUT');
    }
    // The largest finite doubles, and look-alikes inside strings, are fine.
    const ok = await admin.post(
      `/api/flows/${flowId}/runs`,
      '{"input":{"name":"1e309 [[[","income":1.7976931348623157e308,"debt":1e-400}}',
    );
    expect(ok.status).toBe(202);
  });
});

describe('URLs', () => {
  it('answers malformed percent-encoding with 400 INVALID_URL', async () => {
    for (const [method, path] of [
      ['GET', '/api/flows/%E0%A4%A'],
      ['GET', '/api/runs/%E0%A4%A/events'],
      ['POST', '/api/flows/%E0%A4%A/runs'],
    ] as const) {
      const r = await admin.request(method, path, method === 'POST' ? { input: {} } : undefined);
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('INVALID_URL');
    }
    for (const [method, path] of [
      ['GET', '/v1/runs/%E0%A4%A'],
      ['POST', '/v1/endpoints/%E0%A4%A'],
      ['GET', '/v1/endpoints/%E0%A4%A/openapi.json'],
    ] as const) {
      const r = await fetch(`${t.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(r.status, path).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('INVALID_URL');
    }
  });
});

describe('Content-Encoding', () => {
  const input = Buffer.from(`{${applicant}}`);

  it('decodes gzip, deflate and br bodies', async () => {
    for (const [coding, body] of [
      ['gzip', gzipSync(input)],
      ['deflate', deflateSync(input)],
      ['br', brotliCompressSync(input)],
    ] as const) {
      const r = await callEndpoint('limits', body, { 'content-encoding': coding });
      expect(r.status, coding).toBe(200);
    }
    const api = await fetch(`${t.url}/api/flows/${flowId}/runs`, {
      method: 'POST',
      headers: {
        cookie: admin.cookie ?? '',
        'x-csrf-token': admin.csrf ?? '',
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync(Buffer.from(`{"input":{${applicant}}}`)),
    });
    expect(api.status).toBe(202);
  });

  it('refuses a body that is not what its Content-Encoding says (400) and unknown codings (415)', async () => {
    const fake = await callEndpoint('limits', input, { 'content-encoding': 'gzip' });
    expect(fake.status).toBe(400);
    expect(fake.body.error?.code).toBe('INVALID_CONTENT_ENCODING');
    const unknown = await callEndpoint('limits', input, { 'content-encoding': 'zstd' });
    expect(unknown.status).toBe(415);
    expect(unknown.body.error?.code).toBe('UNSUPPORTED_CONTENT_ENCODING');
    const stacked = await admin.post('/api/flows/validate', '{"document":{}}', {
      'content-encoding': 'gzip, br',
    });
    expect(stacked.status).toBe(415);
  });

  it('holds the decoded size to the body limit (a small zip bomb is 413, not memory)', async () => {
    // 64 MiB of zeros compress to about 64 KiB; the endpoint accepts 1 MiB.
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"name":"'), Buffer.alloc(64 * 1024 * 1024, 0x30)]));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const r = await callEndpoint('limits', bomb, { 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe('BODY_TOO_LARGE');
    expect(r.text).toMatch(/decompressed/);
  });
});

describe('socket.io packets', () => {
  it('closes a connection that sends a packet nested past the limit; others carry on', async () => {
    const hostile = admin.socket();
    await connected(hostile);
    const closed = new Promise<string>((resolve) => hostile.once('disconnect', (reason) => resolve(reason)));
    // A raw socket.io packet (the engine adds its message prefix): event "run:subscribe", 5,000 levels deep.
    const engine = hostile.io.engine as unknown as { write(packet: string): void };
    engine.write(`2["run:subscribe",${deepText(5000)}]`);
    expect(await closed).toBe('transport close');
    const fine = admin.socket();
    await connected(fine);
    expect(await emitAck(fine, 'run:subscribe', { runId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'RUN_NOT_FOUND' },
    });
    fine.disconnect();
  });
});

describe('values deeper than JSON.stringify can write', () => {
  it('stores the run of a node that outputs a 5,000-deep value, and keeps the audit chain whole', async () => {
    const { id } = await createFlow(admin, deepOutputFlow(5000));
    const r = await admin.post(`/api/flows/${id}/runs`, { input: { note: 'deep' } });
    expect(r.status).toBe(202);
    // 202 means stored: the run is there at once.
    expect((await admin.get(`/api/runs/${r.body.runId}`)).status).toBe(200);
    const run = await waitForRun(admin, r.body.runId);
    expect(run.status).toBe('succeeded');
    expect(JSON.stringify(run.run.outputs)).toContain('[nested too deep]');

    // The same flow, published and masked: the decision audit holds the deep outputs.
    const masked = await createFlow(admin, {
      ...deepOutputFlow(5000),
      settings: { redact: { inputPaths: ['note'], nodes: [] } },
    });
    expect(
      (await admin.post('/api/endpoints', { flowId: masked.id, version: 1, slug: 'deep-out' })).status,
    ).toBe(201);
    const call = await callEndpoint('deep-out', '{"note":"a private note"}');
    expect(call.status).toBe(200);
    expect(call.text).toContain('[nested too deep]');
    expect((await admin.get('/api/audit/verify')).body.ok).toBe(true);
  });
});
