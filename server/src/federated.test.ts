/**
 * Issue 19, federated training over HTTP: three data holders (workspaces of a holder server, each with its own
 * German Credit rows split by loan purpose and its own API key) and a coordinator server whose flow reaches them
 * through `finflow` connections under the egress policy. Also the holder API's guards: keys of other workspaces
 * and keys the dataset does not name, roles, and hostile or oversized requests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../nodes/builtin/src/risk/ml/metrics.js';
import {
  readScorecardModel,
  scoreScorecard,
  trainScorecard,
} from '../../nodes/builtin/src/risk/ml/scorecard.js';
import {
  newAgreementKeys,
  base64ToWords,
  decodeFixed,
} from '../../nodes/builtin/src/risk/federated/secure-sum.js';
import { germanSpec, splitGerman } from '../../nodes/builtin/src/risk/federated/test-helpers/holders.js';
import {
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  waitForRun,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

const split = splitGerman();
const holderIds = ['bank-cars', 'bank-retail', 'bank-general'];

interface Holder {
  id: string;
  workspaceId: string;
  key: string;
  keyId: string;
}

let holderServer: TestServer;
let coordinator: TestServer;
let holderAdmin: Client;
let coordAdmin: Client;
const holders: Holder[] = [];

/** A proxy in front of the holder server that, once armed, cuts the connection of every update request. */
interface Proxy {
  url: string;
  server: Server;
  updates: number;
  failAfter: number;
}

async function startProxy(target: string): Promise<Proxy> {
  const p: Proxy = { url: '', updates: 0, failAfter: Infinity, server: undefined as unknown as Server };
  p.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.endsWith('/updates') && ++p.updates > p.failAfter) {
        req.socket.destroy();
        return;
      }
      const body = Buffer.concat(chunks);
      fetch(`${target}${req.url}`, {
        method: req.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => ['authorization', 'content-type'].includes(k)),
        ) as Record<string, string>,
        ...(body.length ? { body } : {}),
      }).then(
        async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' });
          res.end(Buffer.from(await r.arrayBuffer()));
        },
        () => req.socket.destroy(),
      );
    });
  });
  await new Promise<void>((done) => p.server.listen(0, '127.0.0.1', done));
  p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}`;
  return p;
}

let proxy: Proxy;

function flow(extra: Record<string, unknown> = {}, connectionOf = (id: string) => id) {
  return {
    schemaVersion: 1,
    id: 'federated',
    name: 'Federated scorecard',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { note: { type: 'string' } } } },
      },
      {
        id: 'train',
        type: 'risk.federatedScorecard',
        version: 1,
        config: {
          holders: holderIds.map((id) => ({ id, connection: connectionOf(id), dataset: 'german-credit' })),
          target: 'class',
          positiveClass: 2,
          features: germanSpec.features,
          costMatrix: { falseNegative: 5, falsePositive: 1 },
          recordTranscript: true,
          ...extra,
        },
      },
      { id: 'model', type: 'io.output', version: 1, config: { name: 'model' } },
      { id: 'report', type: 'io.output', version: 1, config: { name: 'report' } },
      { id: 'transcript', type: 'io.output', version: 1, config: { name: 'transcript' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'train', port: 'model' }, to: { node: 'model', port: 'value' } },
      { id: 'e2', from: { node: 'train', port: 'report' }, to: { node: 'report', port: 'value' } },
      { id: 'e3', from: { node: 'train', port: 'transcript' }, to: { node: 'transcript', port: 'value' } },
    ],
  };
}

async function run(document: unknown): Promise<Loose> {
  const { id } = await createFlow(coordAdmin, document);
  const started = await coordAdmin.post(`/api/flows/${id}/runs`, { input: {} });
  expect(started.status).toBe(202);
  return (await waitForRun(coordAdmin, started.body.runId, 120_000)).run;
}

function testAuc(model: unknown): number {
  const scored = scoreScorecard(readScorecardModel(model), split.test, {
    scaling: { basePoints: 600, baseOdds: 50, pdo: 20 },
    bands: { basis: 'probability', approve: 0.2, decline: 0.5 },
    maxReasons: 1,
    keepColumns: [],
    labels: {},
  });
  return rocAuc(
    scored.map((s) => s.probability),
    split.test.map((r) => (String(r['class']) === '2' ? 1 : 0)),
  );
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  holderServer = await startTestServer();
  coordinator = await startTestServer({ config: { egressAllow: 'loopback' } });
  holderAdmin = await setupAdmin(holderServer);
  coordAdmin = await setupAdmin(coordinator);
  const first = (await holderAdmin.get('/api/auth/me')).body.workspace.id as string;
  for (const [i, id] of holderIds.entries()) {
    const workspaceId =
      i === 0 ? first : ((await holderAdmin.post('/api/workspaces', { name: id })).body.id as string);
    expect((await holderAdmin.post('/api/auth/workspace', { workspaceId })).status).toBe(200);
    const key = (await holderAdmin.post('/api/keys', { name: 'federated coordinator', endpoints: '*' })).body;
    const put = await holderAdmin.put('/api/federated/datasets/german-credit', {
      rows: split.holders.get(id),
      apiKeys: [key.id],
      minParticipants: 2,
      description: `German Credit loans of ${id}`,
    });
    expect(put.status).toBe(201);
    holders.push({ id, workspaceId, key: key.key, keyId: key.id });
  }
  await holderAdmin.post('/api/auth/workspace', { workspaceId: first });
  proxy = await startProxy(holderServer.url);
  for (const h of holders) {
    expect((await coordAdmin.put(`/api/credentials/${h.id}-key`, { value: h.key })).status).toBe(204);
    for (const [name, baseUrl] of [
      [h.id, holderServer.url],
      [`${h.id}-via-proxy`, proxy.url],
    ] as const) {
      const r = await coordAdmin.put(`/api/connections/${name}`, {
        kind: 'finflow',
        baseUrl,
        credential: `${h.id}-key`,
        deployment: 'private',
      });
      expect(r.status).toBe(201);
    }
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([holderServer?.destroy(), coordinator?.destroy()]);
  if (proxy) {
    proxy.server.closeAllConnections();
    await new Promise<void>((done) => proxy.server.close(() => done()));
  }
});

describe('federated training across three FinFlow holders', () => {
  it('reaches the AUC of pooled training within 0.01, and the coordinator saw only masked vectors and totals', async () => {
    const r = await run(flow());
    expect(r.status).toBe('succeeded');
    const { model, report, transcript } = r.outputs;
    const pooled = trainScorecard(split.train, {
      target: 'class',
      positiveClass: '2',
      features: germanSpec.features,
      exclude: [],
      numeric: [],
      categorical: [],
      l2: 1,
      costMatrix: { falseNegative: 5, falsePositive: 1 },
      seed: 1,
      thresholdFrom: 'costMatrix',
    });
    expect(Math.abs(testAuc(model) - testAuc(pooled))).toBeLessThan(0.01);
    expect(report).toMatchObject({
      method: 'newton',
      converged: true,
      rows: split.train.length,
      dropouts: [],
    });

    // The recorded messages: from holders, keys and categories, then masked vectors; never a row.
    const received = (transcript as Loose[]).filter((e) => e.direction === 'received');
    for (const e of received)
      expect(Object.keys(e.body).sort()).toEqual(
        e.kind === 'join' ? ['columns', 'publicKey'] : ['length', 'masked'],
      );
    const text = JSON.stringify(transcript);
    expect(text).not.toMatch(/"credit_amount":\s*\d/);
    for (const row of split.train.slice(0, 100)) expect(text).not.toContain(JSON.stringify(row));
    // No holder's masked statistics are near its true counts: the first statistic is its number of rows.
    for (const e of received.filter((x) => x.kind === 'update' && x.stage === 'stats')) {
      const first = decodeFixed(base64ToWords(e.body.masked, e.body.length))[0]!;
      expect(Math.abs(first - (split.holders.get(e.holder)?.length ?? 0))).toBeGreaterThan(1000);
    }
    const stats = (transcript as Loose[]).find((e) => e.direction === 'aggregate' && e.stage === 'stats');
    expect(stats.total[0]).toBeCloseTo(split.train.length, 6);

    // The holders audited every session and update they answered.
    const audit = (await holderAdmin.get('/api/audit?limit=200')).body as Loose[];
    const actions = audit.map((e) => e.action);
    expect(actions).toContain('federated.joined');
    expect(actions.filter((a) => a === 'federated.update').length).toBe(report.rounds + 2);
    expect(actions).toContain('federated.left');
  }, 120_000);

  it('a holder whose connection breaks mid-round is named, and the round redone without it', async () => {
    proxy.updates = 0;
    proxy.failAfter = 3; // stats and two Newton rounds, then bank-general's server is gone
    const r = await run(flow({ minHolders: 2 }, (id) => (id === 'bank-general' ? `${id}-via-proxy` : id)));
    proxy.failAfter = Infinity;
    expect(r.status).toBe('succeeded');
    const { report } = r.outputs;
    expect(report.dropouts).toHaveLength(1);
    expect(report.dropouts[0]).toMatchObject({
      holder: 'bank-general',
      stage: 'newton',
      round: 3,
      attempt: 1,
    });
    expect(report.finalHolders).toEqual(['bank-cars', 'bank-retail']);
    expect(report.converged).toBe(true);
  }, 120_000);

  it('fails with the dropout named when fewer holders would remain than required', async () => {
    proxy.updates = 0;
    proxy.failAfter = 1;
    const r = await run(flow({ minHolders: 3 }, (id) => (id === 'bank-general' ? `${id}-via-proxy` : id)));
    proxy.failAfter = Infinity;
    expect(r.status).toBe('failed');
    expect(JSON.stringify(r)).toContain('FEDERATED_TOO_FEW_HOLDERS');
    expect(JSON.stringify(r)).toContain('bank-general');
  }, 120_000);

  it('with differential privacy the report gives epsilon, delta and the accounting', async () => {
    const r = await run(flow({ privacy: { enabled: true, epsilon: 3, delta: 1e-5 } }));
    expect(r.status).toBe('succeeded');
    const { model, report } = r.outputs;
    expect(report.method).toBe('dp-gradient-descent');
    expect(report.privacy.epsilon).toBeLessThanOrEqual(3);
    expect(report.privacy.accounting).toContain('zCDP');
    expect(testAuc(model)).toBeGreaterThan(0.65);
  }, 120_000);

  it('a connection of another kind is refused at validation', async () => {
    expect(
      (
        await coordAdmin.put('/api/connections/llm', {
          kind: 'openai',
          baseUrl: 'http://127.0.0.1:9/v1',
          deployment: 'private',
        })
      ).status,
    ).toBe(201);
    const { id } = await createFlow(
      coordAdmin,
      flow({}, (h) => (h === 'bank-cars' ? 'llm' : h)),
    );
    const started = await coordAdmin.post(`/api/flows/${id}/runs`, { input: {} });
    expect(started.status).toBe(422);
    expect(started.text).toContain('CONNECTION_NOT_ALLOWED');
  });
});

describe('the holder API and its guards', () => {
  const url = (name = 'german-credit') => `/v1/federated/datasets/${name}/sessions`;
  const join = (holder = 'bank-cars') => ({ session: randomUUID(), holder, spec: germanSpec });
  const holderClient = () => new Client(holderServer.url);

  it('needs an API key, and only a key the dataset names', async () => {
    const c = holderClient();
    expect((await c.post(url(), join())).status).toBe(401);
    expect((await c.post(url(), join(), bearer('ffk_not_a_key'))).status).toBe(401);
    // Another key of the same workspace is not scoped to the dataset.
    const other = (await holderAdmin.post('/api/keys', { name: 'endpoint caller', endpoints: '*' })).body;
    const refused = await c.post(url(), join(), bearer(other.key));
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('KEY_NOT_SCOPED');
  });

  it("a key of another workspace does not see the workspace's dataset", async () => {
    // bank-retail's key asks for bank-cars' dataset: it resolves in bank-retail's workspace only.
    const c = holderClient();
    const retail = holders[1]!;
    await holderAdmin.put('/api/federated/datasets/cars-only', {
      rows: split.holders.get('bank-cars'),
      apiKeys: [holders[0]!.keyId],
    });
    const r = await c.post(url('cars-only'), join(), bearer(retail.key));
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('DATASET_NOT_FOUND');
    // And a session opened by one key is unknown to another.
    const cars = holders[0]!;
    const body = join();
    expect((await c.post(url(), body, bearer(cars.key))).status).toBe(201);
    const peer = newAgreementKeys().publicKey;
    const update = await c.post(
      `${url()}/${body.session}/updates`,
      {
        stage: 'stats',
        round: 0,
        attempt: 1,
        participants: [
          { id: 'x', publicKey: peer },
          { id: 'y', publicKey: newAgreementKeys().publicKey },
        ],
        layout: [{ column: 'age', type: 'numeric' }],
      },
      bearer(retail.key),
    );
    expect(update.status).toBe(404);
  });

  it('dataset management: developers and admins only, within their workspace; rows never come back', async () => {
    const analyst = await addUser(holderServer, holderAdmin, 'analyst');
    const viewer = await addUser(holderServer, holderAdmin, 'viewer');
    const developer = await addUser(holderServer, holderAdmin, 'developer');
    const rows = split.holders.get('bank-cars')!.slice(0, 20);
    expect((await analyst.put('/api/federated/datasets/x', { rows })).status).toBe(403);
    expect((await viewer.get('/api/federated/datasets')).status).toBe(403);
    expect((await developer.put('/api/federated/datasets/dev-set', { rows })).status).toBe(201);
    const listed = await developer.get('/api/federated/datasets');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain('A11');
    expect(listed.body.find((d: Loose) => d.name === 'dev-set')).toMatchObject({ rows: 20 });
    // The admin's other workspace does not list it.
    await holderAdmin.post('/api/auth/workspace', { workspaceId: holders[1]!.workspaceId });
    expect((await holderAdmin.get('/api/federated/datasets/dev-set')).status).toBe(404);
    await holderAdmin.post('/api/auth/workspace', { workspaceId: holders[0]!.workspaceId });
    // A key id of another workspace cannot be granted.
    const r = await developer.put('/api/federated/datasets/dev-set', { rows, apiKeys: [holders[1]!.keyId] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('API_KEY_NOT_FOUND');
  });

  it('refuses hostile and oversized requests', async () => {
    const c = holderClient();
    const h = bearer(holders[0]!.key);
    // Malformed JSON, a prototype-polluting key, the wrong type, a too large body.
    expect((await c.post(url(), '{"session":', h)).status).toBe(400);
    expect((await c.post(url(), '{"__proto__":{"x":1}}', h)).status).toBe(400);
    expect((await c.post(url(), join(), { ...h, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await c.post(url(), { ...join(), pad: 'x'.repeat(70_000) }, h)).status).toBe(413);
    // Too deep or wrong in shape: a spec with nested junk, a session that is not a UUID, a bad dataset name.
    const deep = JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200));
    expect((await c.post(url(), { ...join(), spec: deep }, h)).status).toBe(400);
    expect((await c.post(url(), { ...join(), session: 'not-a-uuid' }, h)).status).toBe(400);
    expect((await c.post(url('..%2F..%2Fetc'), join(), h)).status).toBe(400);
    // One participant (its own update in the clear) and a reused mask are refused.
    const body = join();
    const joined = await c.post(url(), body, h);
    expect(joined.status).toBe(201);
    const self = { id: 'bank-cars', publicKey: joined.body.publicKey };
    const stats = (participants: Loose[]) => ({
      stage: 'stats',
      round: 0,
      attempt: 1,
      participants,
      layout: [{ column: 'age', type: 'numeric' }],
    });
    expect((await c.post(`${url()}/${body.session}/updates`, stats([self]), h)).status).toBe(400);
    const two = [self, { id: 'peer', publicKey: newAgreementKeys().publicKey }];
    expect((await c.post(`${url()}/${body.session}/updates`, stats(two), h)).status).toBe(200);
    const again = await c.post(`${url()}/${body.session}/updates`, stats(two), h);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('MASK_REUSED');
    const target = await c.post(
      `${url()}/${body.session}/updates`,
      { ...stats(two), attempt: 2, layout: [{ column: 'class', type: 'categorical', levels: ['1', '2'] }] },
      h,
    );
    expect(target.status).toBe(422);
    // A dataset with too many columns in a row.
    const wide = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`c${i}`, i]));
    expect((await holderAdmin.put('/api/federated/datasets/wide', { rows: [wide] })).status).toBe(400);
    // The holder server is still up and answering.
    expect((await c.get('/health')).status).toBeLessThan(500);
  });
});
