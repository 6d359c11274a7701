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
import {
  exited,
  spawnTs,
  startChildServer,
  waitForLine,
  type ChildServer,
} from '../test-helpers/processes.js';
import { TestRedis } from '../test-helpers/redis.js';

const LEASE_MS = 1_500;
const dataDir = tempDir('finflow-queue-');
let redis: TestRedis;
const children: ChildProcess[] = [];
let env: Record<string, string>;
let a: ChildServer;
let admin: Client;
let apiKey: string;
let takeoverFlowId: string;

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

afterAll(async () => {
  const left = children.filter(alive);
  for (const c of left) c.kill('SIGKILL');
  await Promise.all(left.map((c) => exited(c)));
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
  const gone = exited(child);
  child.kill('SIGKILL');
  await gone;
}

const edge = (id: string, from: string, fromPort: string, to: string, toPort: string) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
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
    // A string is sent as it is (a hostile body JSON.stringify could not even produce).
    body: typeof body === 'string' ? body : JSON.stringify(body),
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
    const runs = (await admin.get('/api/runs?status=running&limit=20')).body as Loose[];
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
  const slow = await createFlow(admin, twoStepFlow(300, 10_000, 'slow'));
  const limited = await createFlow(admin, twoStepFlow(0, 0, 'limited'));
  const takeover = await createFlow(admin, twoStepFlow(300, 20_000, 'takeover'));
  const medium = await createFlow(admin, twoStepFlow(0, 1_500, 'medium'));
  await publish(medium.id, 'medium', { timeoutMs: 20_000 });
  await publish(takeover.id, 'takeover', { timeoutMs: 120_000 });
  takeoverFlowId = takeover.id;
  await publish(quick.id, 'quick', { timeoutMs: 20_000 });
  await publish(slow.id, 'slow', { timeoutMs: 60_000 });
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
    expect(streamed.text).toMatch(
      /event: result\ndata: \{"status":"succeeded".*"outputs":\{"value":\{"n":9\}\}/,
    );

    // Checked before anything is queued, in main mode's order: key, body, input schema.
    const before = (await admin.get('/api/runs?limit=500')).body.length as number;
    const bad = await callEndpoint(a.url, 'quick', { n: 'seven' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    const noKey = await fetch(`${a.url}/v1/endpoints/quick`, {
      method: 'POST',
      headers: { authorization: 'Bearer ffk_not_a_key', 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    expect(noKey.status).toBe(401);
    const huge = await callEndpoint(a.url, 'quick', { n: 1, pad: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    const deep = await callEndpoint(a.url, 'quick', `{"n":1,"d":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(deep.status).toBe(400);
    const hostileKey = await callEndpoint(a.url, 'quick', { n: 1 }, { 'idempotency-key': 'has spaces' });
    expect(hostileKey.status).toBe(400);
    expect((await admin.get('/api/runs?limit=500')).body.length).toBe(before);
  }, 60_000);

  it("feeds a rollout's gates from the calls its workers finish", async () => {
    const flow = await createFlow(admin, twoStepFlow(0, 0, 'rolled'));
    await publish(flow.id, 'rolled', { timeoutMs: 20_000 });
    const v2 = await admin.put(`/api/flows/${flow.id}`, {
      document: twoStepFlow(0, 5, 'rolled'),
      message: 'a slower second step',
    });
    expect(v2.status).toBe(201);
    const endpointId = ((await admin.get('/api/endpoints')).body as Loose[]).find((e) => e.slug === 'rolled')
      ?.id as string;
    const started = await admin.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: 2,
      reason: 'pilot the second version on half the subjects',
      plan: {
        pilotShare: 50,
        subjectPath: 'n',
        minStageMs: 0,
        gates: [
          { metric: 'errorRate', threshold: 0.2, minSamples: 10, action: 'rollback' },
          { metric: 'cpuMsPerCall', threshold: 1000, minSamples: 5, action: 'block', statistic: 'mean' },
        ],
      },
    });
    expect(started.status).toBe(201);
    const versions = { 1: 0, 2: 0 } as Record<number, number>;
    for (let n = 0; n < 40; n++) {
      const r = await callEndpoint(a.url, 'rolled', { n });
      expect(r.status).toBe(200);
      versions[r.body.flowVersion as number] = (versions[r.body.flowVersion as number] ?? 0) + 1;
    }
    expect(versions[1]).toBeGreaterThan(0);
    expect(versions[2]).toBeGreaterThan(0);
    // The worker wrote the observations; the API server reads the gates' window back from the store.
    let status: Loose = {};
    for (let i = 0; i < 100; i++) {
      status = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
      const calls = (status.series as Loose[]).reduce(
        (sum, p) => sum + (p.champion.calls as number) + (p.challenger.calls as number),
        0,
      );
      if (calls === 40) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const sum = (side: 'champion' | 'challenger') =>
      (status.series as Loose[]).reduce((n, p) => n + (p[side].calls as number), 0);
    expect([sum('champion'), sum('challenger')]).toEqual([versions[1], versions[2]]);
    const [errors, cpu] = status.gates as Loose[];
    expect(errors).toMatchObject({ metric: 'errorRate', samples: versions[2], value: 0 });
    expect(cpu).toMatchObject({ metric: 'cpuMsPerCall', samples: versions[2] });
    expect(cpu?.value).toBeGreaterThan(0);
    expect(cpu?.champion).toMatchObject({ samples: versions[1] });
    const cpuSeen = (status.series as Loose[]).some((p) => typeof p.challenger.cpuMs === 'number');
    expect(cpuSeen).toBe(true);
  }, 60_000);

  it('queues the editor runs too, and cancels a run on the worker executing it', async () => {
    const started = await admin.post(`/api/flows/${takeoverFlowId}/runs`, { input: { n: 5 } });
    expect(started.status).toBe(202);
    const runId = started.body.runId as string;
    for (let i = 0; i < 300; i++) {
      if ((await events(runId)).some((e) => e.type === 'node.started' && e.nodeId === 'second')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const t0 = Date.now();
    const cancel = await admin.post(`/api/runs/${runId}/cancel`);
    expect(cancel.status).toBe(202);
    const done = await outcome(runId);
    expect(done.status).toBe('cancelled');
    // Well before the 20 s step would have ended: the worker stopped it.
    expect(Date.now() - t0).toBeLessThan(10_000);
    const log = await events(runId);
    expect(log.filter((e) => e.type === 'run.interrupted')).toEqual([]);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
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
    for (const url of [a.url, b.url, a.url, b.url])
      statuses.push((await callEndpoint(url, 'limited', { n: 1 })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    await kill(b.child);
  }, 90_000);

  it('finishes a run on another worker after its worker is killed mid-run, recording each node once', async () => {
    const [first] = children.filter(
      (c) => alive(c) && c.spawnargs.some((s) => s.endsWith('child-worker.ts')),
    );
    const call = callEndpoint(a.url, 'takeover', { n: 42 });
    // The first worker is the only one: the run is on it. Killed in the run's second step (20 s long).
    const runId = await startedRun('takeover', 'second');
    await kill(first as ChildProcess);
    expect((await admin.get(`/api/runs/${runId}`)).body.status).toBe('running');
    const second = await worker();
    const answer = await call;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ runId, outputs: { value: { n: 42 } } });
    const log = await events(runId);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
    const succeeded = log
      .filter((e) => e.type === 'node.succeeded')
      .map((e) => (e as { nodeId: string }).nodeId);
    expect(succeeded.sort()).toEqual(['first', 'in', 'out', 'second']);
    expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);
    expect(await decisionsOf(runId)).toHaveLength(1);
    expect(second.exitCode).toBeNull();
  }, 180_000);

  it('loses no run and hangs no request when Redis restarts mid-load', async () => {
    // Ten runs of 1.5 s each on one worker of concurrency 4: most wait in Redis when it goes down.
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await callEndpoint(a.url, 'medium', { n: i }, {}, '?mode=async');
      expect(r.status).toBe(202);
      accepted.push(r.body.runId);
    }
    const waiting = (await admin.get('/api/runs?status=queued')).body as Loose[];
    expect(waiting.length).toBeGreaterThan(0);
    const synchronous = callEndpoint(a.url, 'medium', { n: 100 });
    await new Promise((res) => setTimeout(res, 100));
    // Without persistence: every job and key in Redis is gone.
    await redis.down();

    // While Redis is away, calls fail fast instead of hanging.
    const during = await Promise.all([0, 1, 2].map((i) => callEndpoint(a.url, 'medium', { n: 200 + i })));
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('QUEUE_UNAVAILABLE');
      expect(r.ms).toBeLessThan(5_000);
    }
    await new Promise((res) => setTimeout(res, 1_000));
    await redis.up();

    // The call accepted before the restart gets its answer within the endpoint's timeout (20 s) and slack.
    const answer = await synchronous;
    expect(answer.ms).toBeLessThan(22_500);
    expect(answer.status).toBe(200);
    expect(answer.body.outputs).toEqual({ value: { n: 100 } });
    const after = await callEndpoint(a.url, 'medium', { n: 300 });
    expect(after.status).toBe(200);
    // Every accepted run finishes once: jobs lost with Redis were enqueued again from the database.
    for (const id of accepted) {
      expect((await outcome(id)).status).toBe('succeeded');
      const log = await events(id);
      expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);
    }
    expect((await admin.get('/api/runs?status=queued')).body).toEqual([]);
  }, 180_000);

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
