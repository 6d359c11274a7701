/**
 * Queue mode with real processes: API servers and `finflow worker` processes sharing one SQLite file (WAL) and a
 * real redis-server. Published endpoints answer through workers (sync, async, SSE); Idempotency-Keys and rate
 * limits hold across two servers; and the faults: a worker killed mid-run, Redis restarted mid-load, an API
 * server killed with runs in flight.
 */
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, Client, createFlow, tempDir, type Loose } from '../test-helpers/harness.js';
import { exited, spawnTs, startChildServer, waitForLine, type ChildServer } from '../test-helpers/processes.js';
import { TestRedis } from '../test-helpers/redis.js';

const LEASE_MS = 1_500;
const dataDir = tempDir('finflow-queue-');
let redis: TestRedis;
const children: ChildProcess[] = [];
let env: Record<string, string>;
let a: ChildServer;
let admin: Client;
let apiKey: string;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => exited(c)));
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function server(): Promise<ChildServer> {
  const s = await startChildServer(dataDir, env);
  children.push(s.child);
  return s;
}

async function worker(concurrency = 4): Promise<ChildProcess> {
  const child = spawnTs('./child-worker.ts', ['--concurrency', String(concurrency)], {
    FINFLOW_DATA_DIR: dataDir,
    ...env,
  });
  children.push(child);
  await waitForLine(child, (line) => (line.startsWith('{"finflowWorker"') ? true : undefined));
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

const edge = (id: string, source: string, sourceHandle: string, target: string, targetHandle: string) => ({
  id,
  source,
  sourceHandle,
  target,
  targetHandle,
});

/** input -> sleep `first` ms -> sleep `second` ms -> output: a run with a recorded step before a long one. */
function twoStepFlow(first: number, second: number, id = 'two-step') {
  return {
    schemaVersion: 1,
    id,
    name: `Two steps ${id}`,
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { n: { type: 'number' } } } },
      },
      { id: 'first', type: 'custom.sleep', version: 1, config: { ms: first } },
      { id: 'second', type: 'custom.sleep', version: 1, config: { ms: second } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'value' } },
    ],
    edges: [
      edge('e1', 'in', 'value', 'first', 'value'),
      edge('e2', 'first', 'value', 'second', 'value'),
      edge('e3', 'second', 'value', 'out', 'value'),
    ],
  };
}

async function publish(flowId: string, slug: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await admin.post('/api/endpoints', { flowId, version: 1, slug, ...extra });
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
}

async function callEndpoint(
  url: string,
  slug: string,
  body: unknown,
  headers: Record<string, string> = {},
  query = '',
): Promise<{ status: number; headers: Headers; body: Loose; text: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${url}/v1/endpoints/${slug}${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
    ms: Date.now() - t0,
  };
}

/** Polls a run until it has an outcome (queued and running are not). */
async function outcome(runId: string, timeoutMs = 60_000): Promise<Loose> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await admin.get(`/api/runs/${runId}`);
    if (r.status === 200 && r.body.status !== 'running' && r.body.status !== 'queued') return r.body;
    if (Date.now() > until) throw new Error(`run ${runId} still ${r.body?.status ?? r.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function events(runId: string): Promise<RunEvent[]> {
  return (await admin.get(`/api/runs/${runId}/events`)).body as RunEvent[];
}

async function decisionsOf(runId: string): Promise<Loose[]> {
  const entries = (await admin.get('/api/audit?limit=500')).body as Loose[];
  return entries.filter((e) => e.action === 'endpoint.decision' && e.details.runId === runId);
}

/** The newest endpoint run whose node `nodeId` has started (a run in flight on some worker). */
async function startedRun(slug: string, nodeId: string, timeoutMs = 30_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const runs = (await admin.get('/api/runs?limit=50')).body as Loose[];
    for (const r of runs) {
      if (r.trigger !== 'endpoint') continue;
      if ((await events(r.id)).some((e) => e.type === 'node.started' && e.nodeId === nodeId)) {
        const detail = await admin.get(`/api/runs/${r.id}`);
        if (detail.body.status === 'running' && (await endpointSlugOf(r.endpointId)) === slug) return r.id;
      }
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no run of ${slug} got to ${nodeId}`);
}

const slugs = new Map<string, string>();
async function endpointSlugOf(endpointId: string): Promise<string | undefined> {
  if (!slugs.size)
    for (const e of (await admin.get('/api/endpoints')).body as Loose[]) slugs.set(e.id, e.slug);
  return slugs.get(endpointId);
}

beforeAll(async () => {
  redis = await TestRedis.start();
  env = {
    FINFLOW_MODE: 'queue',
    REDIS_URL: redis.url,
    FINFLOW_RUN_LEASE_MS: String(LEASE_MS),
    FINFLOW_SHUTDOWN_GRACE_MS: '500',
  };
  a = await server();
  admin = new Client(a.url);
  const setup = await admin.post('/api/auth/setup', { token: a.setupToken, ...ADMIN });
  expect(setup.status).toBe(201);
  admin.csrf = setup.body.csrfToken;
  const quick = await createFlow(admin, twoStepFlow(10, 10, 'quick'));
  const slow = await createFlow(admin, twoStepFlow(300, 4_000, 'slow'));
  const limited = await createFlow(admin, twoStepFlow(0, 0, 'limited'));
  await publish(quick.id, 'quick', { timeoutMs: 20_000 });
  await publish(slow.id, 'slow', { timeoutMs: 30_000 });
  await publish(limited.id, 'limited', { rateLimitPerMinute: 3 });
  const key = await admin.post('/api/keys', { name: 'partner', endpoints: '*' });
  expect(key.status).toBe(201);
  apiKey = key.body.key;
  await worker();
}, 120_000);

describe('queue mode', () => {
  it('answers synchronous, asynchronous and streamed calls from a worker', async () => {
    const sync = await callEndpoint(a.url, 'quick', { n: 7 });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ flowVersion: 1, outputs: { value: { n: 7 } } });
    expect(await decisionsOf(sync.body.runId)).toHaveLength(1);

    const queued = await callEndpoint(a.url, 'quick', { n: 8 }, {}, '?mode=async');
    expect(queued.status).toBe(202);
    expect(queued.headers.get('location')).toBe(`/v1/runs/${queued.body.runId}`);
    expect((await outcome(queued.body.runId)).status).toBe('succeeded');
    const polled = await fetch(`${a.url}/v1/runs/${queued.body.runId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(await polled.json()).toMatchObject({ status: 'succeeded', outputs: { value: { n: 8 } } });

    const streamed = await callEndpoint(a.url, 'quick', { n: 9 }, { accept: 'text/event-stream' });
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('event: node.succeeded');
    expect(streamed.text).toMatch(/event: result\ndata: \{"status":"succeeded".*"outputs":\{"value":\{"n":9\}\}/);

    // Checked before anything is queued: a bad input is refused by the server, as in main mode.
    const bad = await callEndpoint(a.url, 'quick', { n: 'seven' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
  }, 60_000);

  it('holds Idempotency-Keys and rate limits across two API servers', async () => {
    const b = await server();
    const headers = { 'idempotency-key': 'order-4711' };
    const [first, second] = await Promise.all([
      callEndpoint(a.url, 'quick', { n: 1 }, headers),
      callEndpoint(b.url, 'quick', { n: 1 }, headers),
    ]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.runId).toBe(first.body.runId);
    expect([first, second].filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(1);
    const later = await callEndpoint(b.url, 'quick', { n: 1 }, headers);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(later.body).toEqual(first.body);
    const other = await callEndpoint(a.url, 'quick', { n: 2 }, headers);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IDEMPOTENCY_CONFLICT');

    // Three a minute in all, not three per server.
    const statuses: number[] = [];
    for (const url of [a.url, b.url, a.url, b.url]) statuses.push((await callEndpoint(url, 'limited', { n: 1 })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    await kill(b.child);
  }, 90_000);

  it('finishes a run on another worker after its worker is killed mid-run, recording each node once', async () => {
    const [first] = children.filter((c) => c.exitCode === null && c.spawnargs.some((s) => s.endsWith('child-worker.ts')));
    const call = callEndpoint(a.url, 'slow', { n: 42 });
    const runId = await startedRun('slow', 'second');
    const second = await worker();
    await kill(first as ChildProcess);
    const answer = await call;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ runId, outputs: { value: { n: 42 } } });
    const log = await events(runId);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
    const succeeded = log.filter((e) => e.type === 'node.succeeded').map((e) => (e as { nodeId: string }).nodeId);
    expect(succeeded.sort()).toEqual(['first', 'in', 'out', 'second']);
    expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);
    expect(await decisionsOf(runId)).toHaveLength(1);
    expect(second.exitCode).toBeNull();
  }, 120_000);

  it('loses no run and hangs no request when Redis restarts mid-load', async () => {
    const calls: Promise<Awaited<ReturnType<typeof callEndpoint>>>[] = [];
    for (let i = 0; i < 12; i++) {
      calls.push(callEndpoint(a.url, 'quick', { n: i }, {}, i % 2 ? '?mode=async' : ''));
      if (i === 5) {
        await redis.down();
        await new Promise((res) => setTimeout(res, 500));
      }
      if (i === 8) await redis.up();
      await new Promise((res) => setTimeout(res, 50));
    }
    const answers = await Promise.all(calls);
    // Every request got an answer within the endpoint's timeout (20 s) and its slack.
    for (const r of answers) expect(r.ms).toBeLessThan(22_500);
    for (const r of answers) expect([200, 202, 503]).toContain(r.status);
    const refused = answers.filter((r) => r.status === 503);
    for (const r of refused) expect(r.body.error.code).toBe('QUEUE_UNAVAILABLE');
    const accepted = answers.filter((r) => r.status !== 503);
    expect(accepted.length).toBeGreaterThan(0);
    // Every accepted run finishes: jobs lost with Redis are enqueued again from the database.
    for (const r of accepted) expect((await outcome(r.body.runId)).status).toBe('succeeded');
    const stillQueued = (await admin.get('/api/runs?status=queued')).body as Loose[];
    expect(stillQueued).toEqual([]);
  }, 120_000);

  it('finishes runs on the workers after the API server that accepted them is killed', async () => {
    const c = await server();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await callEndpoint(c.url, 'slow', { n: i }, {}, '?mode=async');
      expect(r.status).toBe(202);
      ids.push(r.body.runId);
    }
    await kill(c.child);
    for (const id of ids) {
      const done = await outcome(id);
      expect(done.status).toBe('succeeded');
    }
  }, 120_000);
});
