/**
 * Evaluations over HTTP (issue 13): an analyst evaluates two stored versions of a flow on an uploaded dataset and
 * reads the report as JSON and Markdown; the roles that may only read cannot start one; another workspace sees
 * nothing; and datasets and specs that are too big, too deep, malformed or hostile are refused or contained while
 * the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  ADMIN,
  Client,
  connected,
  emitAck,
  createFlow,
  setupAdmin,
  startTestServer,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let admin: Client;
let analyst: Client;
let flowId: string;

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

// Amounts 0 to 14,750: 25 need no review, 35 do (above 6,000).
const dataset = Array.from({ length: 60 }, (_, i) =>
  JSON.stringify({ amount: 250 * i, truth: 250 * i > 6_000 ? 'review' : 'approve' }),
).join('\n');
const spec = {
  label: 'truth',
  input: '{ "amount": amount }',
  prediction: 'decision.outcome',
  score: 'decision.risk',
  positive: 'review',
  cost: { falseNegative: 5, falsePositive: 1 },
  bootstrap: 200,
};
const body = (extra: Record<string, unknown> = {}) => ({
  versions: [1, 2],
  dataset: { name: 'payments.jsonl', format: 'jsonl', content: dataset },
  spec,
  ...extra,
});

async function finished(c: Client, id: string, timeoutMs = 60_000): Promise<Loose> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.get(`/api/evaluations/${id}`);
    if (r.status === 200 && r.body.status !== 'running') return r.body;
    if (Date.now() > until) throw new Error(`evaluation ${id} still ${r.body?.status ?? r.status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  flowId = (await createFlow(admin, limitFlow(10_000))).id;
  expect(
    (await admin.put(`/api/flows/${flowId}`, { document: limitFlow(5_000), message: 'lower limit' })).status,
  ).toBe(201);
  analyst = await addUser(t, admin, 'analyst');
}, 60_000);
afterAll(async () => {
  await t.destroy();
});

describe('evaluations', () => {
  it('evaluates two versions side by side and stores the report, exported as JSON and Markdown', async () => {
    const started = await analyst.post(`/api/flows/${flowId}/evaluations`, body());
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      status: 'running',
      versions: [1, 2],
      dataset: { name: 'payments.jsonl', rows: 60 },
    });
    expect(started.body.dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    const done = await finished(analyst, started.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ done: 120, total: 120 });
    const [v1, v2] = done.report.versions;
    expect(v1.version).toBe('v1');
    expect(v1.quality.accuracy).toBeCloseTo(44 / 60, 12);
    expect(v2.quality.accuracy).toBeCloseTo(56 / 60, 12);
    expect(v1.performance.nodes.map((n: { node: string }) => n.node).sort()).toEqual(['decide', 'in', 'out']);
    expect(done.report.comparisons[0]).toMatchObject({
      baseline: 'v1',
      challenger: 'v2',
      mcnemar: { b: 4, c: 16 },
    });
    expect(done.report.comparisons[0].accuracy.estimate).toBeCloseTo(0.2, 12);
    const md = await analyst.get(`/api/evaluations/${started.body.id}?format=md`);
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(md.text).toContain('# Evaluation on payments.jsonl (60 rows)');
    const list = await analyst.get(`/api/flows/${flowId}/evaluations`);
    expect(list.body[0]).toMatchObject({ id: started.body.id, status: 'succeeded' });
    // The list leaves the (large) report out.
    expect(list.body[0].report).toBeUndefined();
    // The start is in the audit trail, without the dataset.
    const audit = await admin.get('/api/audit?limit=50');
    const entry = audit.body.find((e: { action: string }) => e.action === 'evaluation.started');
    expect(entry).toMatchObject({ target: `flow:${flowId}`, details: { rows: 60, versions: [1, 2] } });
    expect(JSON.stringify(entry)).not.toContain('amount');
  });

  it('lets readers read but only roles that run flows start one', async () => {
    const viewer = await addUser(t, admin, 'viewer');
    const approver = await addUser(t, admin, 'approver');
    for (const c of [viewer, approver]) {
      const r = await c.post(`/api/flows/${flowId}/evaluations`, body());
      expect(r.status).toBe(403);
      expect((await c.get(`/api/flows/${flowId}/evaluations`)).status).toBe(200);
    }
    expect((await new Client(t.url).post(`/api/flows/${flowId}/evaluations`, body())).status).toBe(401);
    expect((await new Client(t.url).get(`/api/flows/${flowId}/evaluations`)).status).toBe(401);
  });

  it('shows another workspace nothing', async () => {
    const ws = await admin.post('/api/workspaces', { name: 'Other bank' });
    expect(ws.status).toBe(201);
    await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
    const own = (await admin.get(`/api/flows/${flowId}/evaluations`)).status;
    const some = (await analyst.get(`/api/flows/${flowId}/evaluations`)).body[0].id as string;
    const read = await admin.get(`/api/evaluations/${some}`);
    const md = await admin.get(`/api/evaluations/${some}?format=md`);
    const start = await admin.post(`/api/flows/${flowId}/evaluations`, body());
    const cancel = await admin.post(`/api/evaluations/${some}/cancel`);
    await admin.post('/api/auth/workspace', { workspaceId: (await admin.get('/api/workspaces')).body[0].id });
    expect([own, read.status, md.status, start.status, cancel.status]).toEqual([404, 404, 404, 404, 404]);
  });

  it('refuses datasets and specs that are too big, too deep, malformed or wrong, saying why', async () => {
    const post = (b: unknown) => analyst.post(`/api/flows/${flowId}/evaluations`, b);
    const cases: [unknown, number, string][] = [
      [
        body({ dataset: { name: 'd.jsonl', format: 'jsonl', content: '{"a":1}\n'.repeat(20_001) } }),
        400,
        'DATASET_TOO_MANY_ROWS',
      ],
      [
        body({
          dataset: { name: 'd.jsonl', format: 'jsonl', content: `{"a":${'['.repeat(40)}${']'.repeat(40)}}` },
        }),
        400,
        'DATASET_TOO_DEEP',
      ],
      [
        body({ dataset: { name: 'd.csv', format: 'csv', content: 'a,b\n1,2\n3\n' } }),
        400,
        'DATASET_MALFORMED',
      ],
      [
        body({ dataset: { name: 'd.csv', format: 'csv', content: '__proto__,b\n1,2\n' } }),
        400,
        'DATASET_MALFORMED',
      ],
      [body({ dataset: { name: 'd.csv', format: 'xlsx', content: 'a' } }), 400, 'INVALID_REQUEST'],
      [body({ spec: { ...spec, prediction: 'decision.(' } }), 400, 'INVALID_SPEC'],
      [body({ spec: { ...spec, prediction: undefined, score: undefined } }), 400, 'INVALID_SPEC'],
      [body({ spec: { ...spec, concurrency: 10_000 } }), 400, 'INVALID_REQUEST'],
      [body({ spec: { ...spec, extra: 1 } }), 400, 'INVALID_REQUEST'],
      [body({ versions: [1, 2, 3, 4, 5] }), 400, 'TOO_MANY_VERSIONS'],
      [body({ versions: [9] }), 404, 'VERSION_NOT_FOUND'],
    ];
    for (const [b, status, code] of cases) {
      const r = await post(b);
      expect([r.status, r.body.error?.code]).toEqual([status, code]);
    }
    // Larger than the API's body limit: refused before it is read.
    const huge = await post(
      body({ dataset: { name: 'd.csv', format: 'csv', content: `a\n${'1\n'.repeat(3_000_000)}` } }),
    );
    expect(huge.status).toBe(413);
    expect(
      (await analyst.get(`/api/flows/${flowId}/evaluations`)).body.every(
        (e: { status: string }) => e.status !== 'running',
      ),
    ).toBe(true);
  });

  it('contains hostile expressions row by row, one evaluation at a time per workspace, and cancels', async () => {
    // A label expression that recurses forever fails each row within the expression bounds; the server answers.
    const hostile = await analyst.post(
      `/api/flows/${flowId}/evaluations`,
      body({
        versions: [1],
        dataset: { name: 'few.jsonl', format: 'jsonl', content: dataset.split('\n').slice(0, 8).join('\n') },
        spec: { ...spec, label: '($f := function($x) { $f($x) + 1 }; $f(1))' },
      }),
    );
    expect(hostile.status).toBe(202);
    expect((await analyst.get('/healthz')).status).toBe(200);
    const done = await finished(analyst, hostile.body.id, 120_000);
    expect(done.status).toBe('succeeded');
    expect(done.report.versions[0].quality.labelled).toBe(0);
    expect(done.report.versions[0].performance.failed).toBe(8);

    const big = Array.from({ length: 20_000 }, (_, i) =>
      JSON.stringify({ amount: i, truth: 'approve' }),
    ).join('\n');
    const long = await analyst.post(
      `/api/flows/${flowId}/evaluations`,
      body({ dataset: { name: 'big.jsonl', format: 'jsonl', content: big } }),
    );
    expect(long.status).toBe(202);
    // The server answers while the evaluation runs (it yields the event loop between rows).
    expect((await analyst.get('/healthz')).status).toBe(200);
    expect((await analyst.get(`/api/evaluations/${long.body.id}`)).body.status).toBe('running');
    const second = await analyst.post(`/api/flows/${flowId}/evaluations`, body());
    expect([second.status, second.body.error?.code]).toEqual([409, 'EVALUATION_BUSY']);
    expect((await analyst.post(`/api/evaluations/${long.body.id}/cancel`)).status).toBe(202);
    const cancelled = await finished(analyst, long.body.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', error: 'cancelled' });
    expect(cancelled.progress.done).toBeLessThan(40_000);
    expect((await analyst.post(`/api/evaluations/${long.body.id}/cancel`)).status).toBe(409);
    // The slot is free again.
    const again = await analyst.post(`/api/flows/${flowId}/evaluations`, body());
    expect(again.status).toBe(202);
    expect((await finished(analyst, again.body.id)).status).toBe('succeeded');
  }, 180_000);

  it('pushes the progress to the workspace’s sockets, and nothing to another workspace’s', async () => {
    const other = new Client(t.url);
    await other.login(ADMIN.email, ADMIN.password);
    const ws = await other.post('/api/workspaces', { name: 'Elsewhere' });
    expect((await other.post('/api/auth/workspace', { workspaceId: ws.body.id })).status).toBe(200);
    const mine = analyst.socket();
    const theirs = other.socket();
    try {
      await Promise.all([connected(mine), connected(theirs)]);
      expect(await emitAck(mine, 'evaluations:subscribe', {})).toEqual({ ok: true });
      expect(await emitAck(theirs, 'evaluations:subscribe', {})).toEqual({ ok: true });
      const seen: Loose[] = [];
      const leaked: Loose[] = [];
      mine.on('evaluation.progress', (p: Loose) => seen.push(p));
      theirs.on('evaluation.progress', (p: Loose) => leaked.push(p));
      const started = await analyst.post(`/api/flows/${flowId}/evaluations`, body());
      expect(started.status).toBe(202);
      await finished(analyst, started.body.id);
      const end = Date.now() + 5_000;
      while (!seen.some((p) => p.status !== 'running') && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      expect(seen.at(-1)).toEqual({
        id: started.body.id,
        flowId,
        status: 'succeeded',
        progress: { done: 120, total: 120 },
      });
      // Progress only grows.
      const done = seen.map((p) => p.progress.done as number);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(leaked).toEqual([]);
    } finally {
      mine.close();
      theirs.close();
    }
  });
});
