/**
 * Queue mode with real processes, on each backend: API servers and `finflow worker` processes sharing one
 * database (a SQLite file in WAL mode, or a Postgres database through DATABASE_URL) and a real redis-server.
 * Published endpoints answer through workers (sync, async, SSE); Idempotency-Keys and rate limits hold across
 * two servers; a run still queued can be cancelled; and the faults: a worker killed mid-run (a flow that masks
 * personal data too), Redis restarted mid-load, Postgres restarted mid-load, an API server killed with runs in
 * flight.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { RunEvent } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewFlow } from '../test-helpers/flows.js';
import {
  ADMIN,
  addUser,
  Client,
  createFlow,
  tempDir,
  type Loose,
  type TestServer,
} from '../test-helpers/harness.js';
import {
  exited,
  spawnTs,
  startChildServer,
  waitForLine,
  type ChildServer,
} from '../test-helpers/processes.js';
import { needPostgres, startTestPostgres, type TestPostgres } from '../test-helpers/postgres.js';
import { TestRedis } from '../test-helpers/redis.js';

const LEASE_MS = 1_500;
/** The personal data of the masked flow's caller: it may reach the caller's answer and nothing else. */
const PERSONAL = 'Li Xiaoming 13800138000';

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

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
function twoStepFlow(first: number, second: number, id = 'two-step', settings: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    id,
    name: `Two steps ${id}`,
    settings,
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: { type: 'object', properties: { n: { type: 'number' }, name: { type: 'string' } } },
        },
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

/** The loan flow with a review (it masks the applicant's name), holding 20 s after the decision. */
function reviewedFlow() {
  const doc = reviewFlow({}, 'Loan with review, then a long step');
  const toOut = doc.edges.findIndex((e) => e.to.node === 'out');
  doc.edges.splice(
    toOut,
    1,
    edge('e8', 'final', 'value', 'hold', 'value'),
    edge('e9', 'hold', 'value', 'out', 'value'),
  );
  doc.nodes.push({ id: 'hold', type: 'custom.sleep', version: 1, config: { ms: 20_000 } } as never);
  return doc;
}

type Backend = 'sqlite' | 'postgres';

let redis: TestRedis | undefined;
let postgres: Awaited<ReturnType<typeof startTestPostgres>> | undefined;

beforeAll(async () => {
  redis = await TestRedis.start();
  postgres = await startTestPostgres();
}, 180_000);

afterAll(async () => {
  await redis?.stop();
  if (postgres?.ok) await postgres.pg.stop();
});

queueModeSuite('sqlite');
queueModeSuite('postgres');

function queueModeSuite(backend: Backend): void {
  describe(`queue mode (${backend})`, () => {
    const dataDir = tempDir('finflow-queue-');
    const children: ChildProcess[] = [];
    /** Everything every child process wrote (stdout and stderr), to search for personal data. */
    const output: string[] = [];
    let env: Record<string, string>;
    let a: ChildServer;
    let admin: Client;
    let apiKey: string;
    let takeoverFlowId: string;
    /** Postgres missing on a developer machine: its suite says so (and fails in CI). */
    const need = (ctx: { skip(note?: string): never }): TestPostgres | undefined =>
      backend === 'postgres' ? needPostgres(postgres, ctx) : undefined;

    afterAll(async () => {
      const left = children.filter(alive);
      for (const c of left) c.kill('SIGKILL');
      await Promise.all(left.map((c) => exited(c)));
      rmSync(dataDir, { recursive: true, force: true });
    });

    const collect = (child: ChildProcess) => {
      child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    };

    async function server(extra: Record<string, string> = {}): Promise<ChildServer> {
      const s = await startChildServer(dataDir, { ...env, ...extra });
      children.push(s.child);
      collect(s.child);
      return s;
    }

    async function worker(concurrency = 4, extra: Record<string, string> = {}): Promise<ChildProcess> {
      const child = spawnTs('./child-worker.ts', ['--concurrency', String(concurrency)], {
        FINFLOW_DATA_DIR: dataDir,
        ...env,
        ...extra,
      });
      children.push(child);
      collect(child);
      await waitForLine(child, (line) => (line.startsWith('{"finflowWorker"') ? true : undefined));
      return child;
    }

    const workers = () =>
      children.filter((c) => alive(c) && c.spawnargs.some((s) => s.endsWith('child-worker.ts')));

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
            if (detail.body.status === 'running' && (await endpointSlugOf(r.endpointId)) === slug)
              return r.id;
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
      if (backend === 'postgres' && !postgres?.ok) return;
      env = {
        FINFLOW_MODE: 'queue',
        // One Redis, a database each: the two suites' queues never meet.
        REDIS_URL: `${(redis as TestRedis).url}/${backend === 'sqlite' ? 0 : 1}`,
        FINFLOW_RUN_LEASE_MS: String(LEASE_MS),
        FINFLOW_SHUTDOWN_GRACE_MS: '500',
        ...(backend === 'postgres' && postgres?.ok
          ? { DATABASE_URL: postgres.pg.url, FINFLOW_SECRET_KEY: randomBytes(32).toString('hex') }
          : {}),
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
      const masked = await createFlow(
        admin,
        twoStepFlow(300, 20_000, 'masked', { redact: { inputPaths: ['name'], nodes: [] } }),
      );
      await publish(medium.id, 'medium', { timeoutMs: 20_000 });
      await publish(medium.id, 'patient', { timeoutMs: 120_000 });
      await publish(takeover.id, 'takeover', { timeoutMs: 120_000 });
      await publish(masked.id, 'masked', { timeoutMs: 120_000 });
      const reviewed = await createFlow(admin, reviewedFlow());
      await publish(reviewed.id, 'reviewed', { timeoutMs: 120_000 });
      takeoverFlowId = takeover.id;
      await publish(quick.id, 'quick', { timeoutMs: 20_000 });
      await publish(slow.id, 'slow', { timeoutMs: 60_000 });
      await publish(limited.id, 'limited', { rateLimitPerMinute: 3 });
      const key = await admin.post('/api/keys', { name: 'partner', endpoints: '*' });
      expect(key.status).toBe(201);
      apiKey = key.body.key;
      await worker();
    }, 180_000);

    it('answers synchronous, asynchronous and streamed calls from a worker', async (ctx) => {
      need(ctx);
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
      // A call refused for its input gives its Idempotency-Key back: the same retry meets the same check (not a
      // 409 for 24 hours), and the corrected body then runs under that key.
      const retryKey = { 'idempotency-key': `bad-input-${backend}` };
      for (let i = 0; i < 2; i++) {
        const refused = await callEndpoint(a.url, 'quick', { n: 'seven' }, retryKey);
        expect(refused.status).toBe(400);
        expect(refused.body.error.code).toBe('INVALID_INPUT');
      }
      expect((await admin.get('/api/runs?limit=500')).body.length).toBe(before);
      const corrected = await callEndpoint(a.url, 'quick', { n: 1 }, retryKey);
      expect(corrected.status).toBe(200);
      expect(corrected.headers.get('idempotent-replayed')).toBeNull();
      expect((await admin.get('/api/runs?limit=500')).body.length).toBe(before + 1);
    }, 60_000);

    it("feeds a rollout's gates from the calls its workers finish", async (ctx) => {
      need(ctx);
      const flow = await createFlow(admin, twoStepFlow(0, 0, 'rolled'));
      await publish(flow.id, 'rolled', { timeoutMs: 20_000 });
      const v2 = await admin.put(`/api/flows/${flow.id}`, {
        document: twoStepFlow(0, 5, 'rolled'),
        message: 'a slower second step',
      });
      expect(v2.status).toBe(201);
      const endpointId = ((await admin.get('/api/endpoints')).body as Loose[]).find(
        (e) => e.slug === 'rolled',
      )?.id as string;
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
      expect((status.series as Loose[]).some((p) => typeof p.challenger.cpuMs === 'number')).toBe(true);
      expect(
        (await admin.post(`/api/rollouts/${started.body.id as string}/kill`, { reason: 'done' })).status,
      ).toBe(200);
    }, 60_000);

    it('queues the editor runs too, and cancels a run on the worker executing it', async (ctx) => {
      need(ctx);
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

    it('holds Idempotency-Keys and rate limits across two API servers', async (ctx) => {
      need(ctx);
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

    it('cancels a run still queued: the waiting caller is answered, no worker executes it', async (ctx) => {
      need(ctx);
      // No worker for now: the call waits in the queue.
      for (const w of workers()) await kill(w);
      const call = callEndpoint(a.url, 'quick', { n: 11 });
      let runId: string | undefined;
      for (let i = 0; i < 100 && !runId; i++) {
        runId = ((await admin.get('/api/runs?status=queued&limit=5')).body as Loose[])[0]?.id;
        if (!runId) await new Promise((res) => setTimeout(res, 100));
      }
      expect(runId).toBeDefined();
      const cancel = await admin.post(`/api/runs/${runId as string}/cancel`);
      expect(cancel.status).toBe(202);
      const answer = await call;
      expect(answer.status).toBe(503);
      expect(answer.body.error).toMatchObject({ code: 'RUN_CANCELLED', details: { runId } });
      expect(answer.ms).toBeLessThan(10_000);
      // Twice is a conflict, as for any finished run.
      expect((await admin.post(`/api/runs/${runId as string}/cancel`)).status).toBe(409);

      // A worker arriving later does not execute it (its job was removed, or the claim finds it cancelled).
      await worker();
      expect((await callEndpoint(a.url, 'quick', { n: 12 })).status).toBe(200);
      expect(await admin.get(`/api/runs/${runId as string}`)).toMatchObject({
        body: { status: 'cancelled' },
      });
      expect(await events(runId as string)).toEqual([]);
      expect(await decisionsOf(runId as string)).toEqual([]);
      const audit = (await admin.get('/api/audit?limit=500')).body as Loose[];
      expect(
        audit.filter((e) => e.action === 'run.cancelled' && e.target === `run:${runId as string}`),
      ).toEqual([expect.objectContaining({ details: { queued: true } })]);

      // The race: twenty runs cancelled as they are accepted, while the worker claims them. Each ends once, either
      // cancelled (before it ran: no events at all; or on its worker) or succeeded when the run was over first.
      const ids = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const r = await callEndpoint(a.url, 'medium', { n: i }, {}, '?mode=async');
          expect(r.status).toBe(202);
          const c = await admin.post(`/api/runs/${r.body.runId as string}/cancel`);
          return { id: r.body.runId as string, cancel: c.status };
        }),
      );
      let beforeStart = 0;
      for (const { id, cancel: status } of ids) {
        expect([202, 409]).toContain(status);
        const done = await outcome(id);
        const log = await events(id);
        expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
        expect(log.filter((e) => e.type === 'run.finished').length).toBe(log.length ? 1 : 0);
        if (status === 409) expect(done.status).toBe('succeeded');
        else expect(['cancelled', 'succeeded']).toContain(done.status);
        if (log.length === 0) {
          expect(done.status).toBe('cancelled');
          beforeStart++;
        }
      }
      expect(beforeStart).toBeGreaterThan(0);
    }, 180_000);

    it('finishes a run on another worker after its worker is killed mid-run, recording each node once', async (ctx) => {
      need(ctx);
      const [first] = workers();
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

    it('takes over a run of a flow that masks personal data, and lets none of it out', async (ctx) => {
      need(ctx);
      // Only one worker, logging at debug level: the run is on it, and whatever it logs is searched.
      for (const w of workers()) await kill(w);
      await worker(4, { LOG_LEVEL: 'debug' });
      const call = callEndpoint(a.url, 'masked', { n: 43, name: PERSONAL });
      const runId = await startedRun('masked', 'second');
      await kill(workers()[0] as ChildProcess);
      await worker(4, { LOG_LEVEL: 'debug' });
      const answer = await call;
      // The caller gets its own data back; the run went on where it was (its first step not run again).
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ runId, outputs: { value: { n: 43, name: PERSONAL } } });
      const log = await events(runId);
      expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
      expect(log.filter((e) => e.type === 'run.interrupted')).toEqual([]);
      expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
      expect(log.filter((e) => e.type === 'node.succeeded' && e.nodeId === 'first')).toHaveLength(1);
      const finished = log.find((e) => e.type === 'run.finished');
      expect(finished).toMatchObject({ status: 'succeeded', outputs: { value: { n: 43 } } });
      // Masked everywhere else: the run's record, events and state, the audit log, and every process's output.
      const served = JSON.stringify([
        log,
        (await admin.get(`/api/runs/${runId}`)).body,
        (await admin.get('/api/audit?limit=500')).body,
        (await admin.get('/api/runs?limit=500')).body,
      ]);
      expect(served).toContain('"n":43');
      for (const needle of [PERSONAL, '13800138000']) {
        expect(served).not.toContain(needle);
        expect(output.join('')).not.toContain(needle);
      }
    }, 180_000);

    it('resumes a run after a review on a worker under a lease, and on another when that worker is killed', async (ctx) => {
      need(ctx);
      for (const w of workers()) await kill(w);
      await worker();
      const approver = await addUser({ url: a.url } as TestServer, admin, 'approver');
      const accepted = await callEndpoint(
        a.url,
        'reviewed',
        { applicationId: 'APP-9', name: PERSONAL, amount: 25_000 },
        {},
        '?mode=async',
      );
      expect(accepted.status).toBe(202);
      const runId = accepted.body.runId as string;
      let tasks: Loose[] = [];
      for (let i = 0; i < 300 && !tasks.length; i++) {
        tasks = (await admin.get(`/api/runs/${runId}/reviews`)).body as Loose[];
        if (!tasks.length) await new Promise((res) => setTimeout(res, 100));
      }
      expect((await admin.get(`/api/runs/${runId}`)).body.status).toBe('waiting');
      const decided = await approver.post(`/api/reviews/${tasks[0].id as string}/decision`, {
        action: 'approve',
        reason: 'Income verified with two payslips',
      });
      expect(decided.status, decided.text).toBe(200);
      expect(decided.body).toMatchObject({ decided: true, resumed: true });
      // The resumed execution is on the worker (the API server executes nothing): killed in its 20 s step.
      for (let i = 0; i < 300; i++) {
        if ((await events(runId)).some((e) => e.type === 'node.started' && e.nodeId === 'hold')) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect((await admin.get(`/api/runs/${runId}`)).body.status).toBe('running');
      await kill(workers()[0] as ChildProcess);
      await worker();
      const done = await outcome(runId, 90_000);
      expect(done.status).toBe('succeeded');
      expect(done.run.outputs.decision).toMatchObject({ outcome: 'approve' });
      const log = await events(runId);
      expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
      // The decision applied once: the review node finished once, no second task, one final decision.
      expect(log.filter((e) => e.type === 'node.succeeded' && e.nodeId === 'review')).toHaveLength(1);
      expect(log.filter((e) => e.type === 'run.suspended')).toHaveLength(1);
      expect(log.filter((e) => e.type === 'run.resumed')).toHaveLength(2);
      expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);
      expect((await admin.get(`/api/runs/${runId}/reviews`)).body).toHaveLength(1);
      expect(await decisionsOf(runId)).toHaveLength(1);
      expect(JSON.stringify(log)).not.toContain(PERSONAL);
    }, 180_000);

    it('loses no run and hangs no request when Redis restarts mid-load', async (ctx) => {
      need(ctx);
      const r0 = redis as TestRedis;
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
      await r0.down();

      // While Redis is away, calls fail fast instead of hanging.
      const during = await Promise.all([0, 1, 2].map((i) => callEndpoint(a.url, 'medium', { n: 200 + i })));
      for (const r of during) {
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('QUEUE_UNAVAILABLE');
        expect(r.ms).toBeLessThan(5_000);
      }
      await new Promise((res) => setTimeout(res, 1_000));
      await r0.up();

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

    if (backend === 'postgres')
      it('fails fast with 503 while Postgres is away, and loses or repeats no accepted run', async (ctx) => {
        const pg = need(ctx) as TestPostgres;
        if (!pg.halt || !pg.restart)
          return ctx.skip('FINFLOW_TEST_POSTGRES_URL names a server this test cannot stop');
        // Two workers; ten runs of 1.5 s accepted: some in flight, most queued, when Postgres stops.
        await worker();
        const accepted: string[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await callEndpoint(a.url, 'medium', { n: i }, {}, '?mode=async');
          expect(r.status).toBe(202);
          accepted.push(r.body.runId);
        }
        const synchronous = callEndpoint(a.url, 'patient', { n: 100 });
        await new Promise((res) => setTimeout(res, 300));
        pg.halt();
        try {
          const during = await Promise.all(
            [0, 1, 2].map((i) => callEndpoint(a.url, 'medium', { n: 200 + i })),
          );
          for (const r of during) {
            expect(r.status, r.text).toBe(503);
            expect(['DATABASE_UNAVAILABLE', 'RUN_NOT_RECORDED']).toContain(r.body.error.code);
            expect(r.ms).toBeLessThan(6_000);
          }
          const list = await admin.get('/api/runs');
          expect(list.status).toBe(503);
          expect(list.body.error.code).toBe('DATABASE_UNAVAILABLE');
          // Away for longer than a lease: the workers' leases run out while they cannot renew them.
          await new Promise((res) => setTimeout(res, LEASE_MS + 500));
        } finally {
          pg.restart();
        }

        // The call accepted before the stop is answered once the database is back, within its timeout.
        const answer = await synchronous;
        expect(answer.status).toBe(200);
        expect(answer.body.outputs).toEqual({ value: { n: 100 } });
        expect((await callEndpoint(a.url, 'medium', { n: 300 })).status).toBe(200);
        for (const id of [...accepted, answer.body.runId as string]) {
          expect((await outcome(id)).status).toBe('succeeded');
          const log = await events(id);
          expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i));
          expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);
          expect(await decisionsOf(id)).toHaveLength(1);
        }
        expect((await admin.get('/api/runs?status=queued')).body).toEqual([]);
        expect((await admin.get('/api/audit/verify')).body.ok).toBe(true);
      }, 240_000);

    it('finishes runs on the workers after the API server that accepted them is killed', async (ctx) => {
      need(ctx);
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
}
