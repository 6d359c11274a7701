import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlow,
  setupAdmin,
  startTestServer,
  tempDir,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let editorRoot: string;
const METRICS_TOKEN = 'metrics-token-for-the-scraper';
const scrape = () => fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });

beforeAll(async () => {
  editorRoot = tempDir('finflow-editor-');
  const editorDir = join(editorRoot, 'dist');
  mkdirSync(join(editorDir, 'assets'), { recursive: true });
  writeFileSync(join(editorDir, 'index.html'), '<!doctype html><title>FinFlow</title><div id="root"></div>');
  writeFileSync(join(editorDir, 'assets', 'app.js'), 'console.log("editor")');
  t = await startTestServer({ config: { editorDir, apiMaxBodyBytes: 4096, metricsToken: METRICS_TOKEN } });
  admin = await setupAdmin(t);
});
afterAll(async () => {
  await t.destroy();
  rmSync(editorRoot, { recursive: true, force: true });
});

describe('operations', () => {
  it('answers health, readiness and Prometheus metrics with request, run and node figures', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ ok: true });
    const { id } = await createFlow(admin, scoringFlow());
    await admin.post(`/api/flows/${id}/runs`, { input: { name: 'M', income: 10, debt: 1 } });
    await new Promise((res) => setTimeout(res, 100));
    const text = await (await scrape()).text();
    expect(text).toMatch(
      /finflow_http_requests_total\{method="POST",route="\/api\/flows\/:id\/runs",status="202"\} 1/,
    );
    expect(text).toMatch(/finflow_runs_total\{status="succeeded",trigger="manual"\} 1/);
    expect(text).toMatch(/finflow_node_duration_seconds_count\{type="data.transform",status="succeeded"\} 2/);
    expect(text).toMatch(/finflow_db_commit_duration_seconds_count \d+/);
  });

  it("keeps /metrics, which names every workspace's endpoints, behind its token; off without one", async () => {
    const { id } = await createFlow(admin, scoringFlow());
    expect((await admin.post('/api/endpoints', { flowId: id, version: 1, slug: 'secret-slug' })).status).toBe(
      201,
    );
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-wrong-token' },
      { cookie: admin.cookie ?? '' },
    ]) {
      const r = await fetch(`${t.url}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('secret-slug');
    }
    expect((await scrape()).status).toBe(200);

    const plain = await startTestServer();
    try {
      const r = await fetch(`${plain.url}/metrics`);
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('METRICS_OFF');
    } finally {
      await plain.destroy();
    }
  });

  it('sends security headers', async () => {
    const r = await fetch(`${t.url}/healthz`);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(r.headers.get('x-powered-by')).toBeNull();
  });

  it('serves the built editor with an SPA fallback, and JSON (never HTML) for API errors', async () => {
    const index = await fetch(`${t.url}/`, { headers: { accept: 'text/html' } });
    expect(await index.text()).toContain('<div id="root">');
    const deep = await fetch(`${t.url}/flows/abc/runs`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    const asset = await fetch(`${t.url}/assets/app.js`);
    expect(await asset.text()).toBe('console.log("editor")');
    const api404 = await fetch(`${t.url}/api/nope`, { headers: { accept: 'text/html' } });
    expect(api404.status).toBe(401);
    const signedIn404 = await admin.get('/api/nope', { accept: 'text/html' });
    expect(signedIn404.status).toBe(404);
    expect(signedIn404.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('parses API bodies strictly: JSON only, size-limited, no prototype keys', async () => {
    const malformed = await admin.post('/api/flows', '{"document": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_JSON');
    expect(malformed.text).not.toMatch(/at .*\.js/);
    const text = await admin.post('/api/flows', 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const big = await admin.post('/api/flows', { document: scoringFlow('x'.repeat(5000)) });
    expect(big.status).toBe(413);
    const proto = await admin.post('/api/flows', '{"document": {"__proto__": {"polluted": true}}}');
    expect(proto.status).toBe(400);
    expect(proto.body.error.code).toBe('FORBIDDEN_KEY');
    const unicode = await admin.post('/api/flows', '{"document": {"\\u005f_proto__": {"polluted": true}}}');
    expect(unicode.status).toBe(400);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const extra = await admin.post('/api/flows', { document: scoringFlow(), message: 'x', sneaky: true });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('INVALID_REQUEST');
  });
});

describe('master key', () => {
  it('refuses to start with a key other than the one the data folder was created with', async () => {
    const dataDir = tempDir('finflow-key-');
    const key = 'a'.repeat(64);
    const first = await startTestServer({ dataDir, config: { secretKey: key } });
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
    await first.stop();
    await expect(startTestServer({ dataDir, config: { secretKey: 'b'.repeat(64) } })).rejects.toThrow(
      /not the one/,
    );
    await expect(startTestServer({ dataDir, config: { secretKey: 'too short' } })).rejects.toThrow(
      /32 random bytes/,
    );
    const again = await startTestServer({ dataDir, config: { secretKey: key } });
    await again.destroy();
  });
});
