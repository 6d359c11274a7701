/**
 * Issue 10, finding 2, over HTTP: an analyst pointed a model node at their own listener with a workspace
 * credential and the listener received the key; internal addresses were reachable and their pages came back in
 * node errors. Issue 19: connections carry a deployment class and data classes, and routing keeps personal data
 * on the private model. Every provider here is a listener on 127.0.0.1; the server's egress policy allows
 * loopback explicitly (a second server keeps the default policy).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

interface Heard {
  path: string;
  authorization: string | undefined;
  body: string;
}

interface Listener {
  url: string;
  heard: Heard[];
  server: Server;
  reply: (req: IncomingMessage) => { status: number; type: string; body: string };
}

/** An OpenAI-compatible chat completion (streamed) answering `text`. */
const completion = (text: string, model: string) => ({
  status: 200,
  type: 'text/event-stream',
  body: [
    { choices: [{ index: 0, delta: { role: 'assistant', content: text }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    { choices: [], usage: { prompt_tokens: 400, completion_tokens: 100, total_tokens: 500 } },
  ]
    .map(
      (c) =>
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, ...c })}\n\n`,
    )
    .join('')
    .concat('data: [DONE]\n\n'),
});

async function listen(answer = 'ok', model = 'mock'): Promise<Listener> {
  const l: Listener = {
    url: '',
    heard: [],
    server: createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        l.heard.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
        const r = l.reply(req);
        res.writeHead(r.status, { 'content-type': r.type });
        res.end(r.body);
      });
    }),
    reply: () => completion(answer, model),
  };
  await new Promise<void>((done) => l.server.listen(0, '127.0.0.1', done));
  l.url = `http://127.0.0.1:${(l.server.address() as AddressInfo).port}`;
  return l;
}

const close = (l: Listener) =>
  new Promise<void>((done) => {
    l.server.closeAllConnections();
    l.server.close(() => done());
  });

/** input → one node → output. */
function oneNodeFlow(node: Record<string, unknown>, extra: Record<string, unknown> = {}, inPort = 'message') {
  return {
    schemaVersion: 1,
    id: 'f',
    name: 'One provider call',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { message: { type: 'string' } } } },
      },
      { id: 'call', ...node },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'message' }, to: { node: 'call', port: inPort } },
      { id: 'e2', from: { node: 'call', port: 'text' }, to: { node: 'out', port: 'value' } },
    ],
    ...extra,
  };
}

const chat = (config: Record<string, unknown>, version = 2) => ({
  type: 'model.chat',
  version,
  config: { prompt: '{{ message }}', variables: ['message'], ...config },
});

const KEY = 'sk-prod-7f3a9c2e41b8d605';

let t: TestServer;
let admin: Client;
let analyst: Client;
let developer: Client;
let viewer: Client;
let gateway: Listener;
let listener: Listener;

beforeAll(async () => {
  t = await startTestServer({ config: { egressAllow: 'loopback' } });
  admin = await setupAdmin(t);
  analyst = await addUser(t, admin, 'analyst');
  developer = await addUser(t, admin, 'developer');
  viewer = await addUser(t, admin, 'viewer');
  gateway = await listen('from the gateway');
  listener = await listen('stolen');
  expect((await admin.put('/api/credentials/openai-prod', { value: KEY })).status).toBe(204);
  const put = await admin.put('/api/connections/gateway', {
    kind: 'openai',
    baseUrl: `${gateway.url}/v1`,
    credential: 'openai-prod',
    deployment: 'private',
    models: ['qwen2.5-72b'],
  });
  expect(put.status).toBe(201);
});
afterAll(async () => {
  await t.destroy();
  await Promise.all([close(gateway), close(listener)]);
});
beforeEach(() => {
  gateway.heard.length = 0;
  listener.heard.length = 0;
  gateway.reply = () => completion('from the gateway', 'qwen2.5-72b');
});

async function runAs(c: Client, flow: unknown, input: unknown = { message: 'What is an offset mortgage?' }) {
  const { id } = await createFlow(c, flow);
  const started = await c.post(`/api/flows/${id}/runs`, { input });
  if (started.status !== 202) return { flowId: id, started, run: undefined as Loose };
  return { flowId: id, started, run: (await waitForRun(c, started.body.runId)) as Loose };
}

describe('a stored credential goes only where its connection sends it', () => {
  it('refuses the reported attack: a model.chat saved with a base URL and the credential', async () => {
    const { started } = await runAs(
      analyst,
      oneNodeFlow(
        chat(
          {
            provider: 'openai',
            model: 'gpt-4o-mini',
            baseUrl: `${listener.url}/v1`,
            credential: 'openai-prod',
          },
          1,
        ),
      ),
    );
    expect(started.status).toBe(422);
    expect(started.body.error.code).toBe('INVALID_FLOW');
    expect(started.body.error.details.problems).toEqual([
      expect.objectContaining({ code: 'CREDENTIAL_DESTINATION_MISMATCH', nodeId: 'call', path: ['legacy'] }),
    ]);
    expect(started.body.error.message).toContain('"gateway"');
    // The Ollama shape and a node written directly in the new form with the old endpoint fare the same.
    const ollama = await runAs(
      analyst,
      oneNodeFlow(
        chat({ provider: 'ollama', model: 'm', baseUrl: listener.url, credential: 'openai-prod' }, 1),
      ),
    );
    expect(ollama.started.status).toBe(422);
    const direct = await runAs(
      analyst,
      oneNodeFlow(
        chat({
          provider: 'connection',
          model: 'm',
          legacy: { provider: 'openai', baseUrl: `${listener.url}/v1`, credential: 'openai-prod' },
        }),
      ),
    );
    expect(direct.started.body.error.details.problems[0].code).toBe('CREDENTIAL_DESTINATION_MISMATCH');
    expect(listener.heard).toHaveLength(0);
  });

  it('refuses the variant that hides the destination in an expression, when the node runs', async () => {
    const { run } = await runAs(
      analyst,
      oneNodeFlow(
        chat({
          provider: 'connection',
          model: 'm',
          legacy: { provider: 'openai', baseUrl: `="${listener.url}/v1"`, credential: 'openai-prod' },
        }),
      ),
    );
    expect(run.status).toBe('failed');
    expect(run.run.nodes.call.error).toMatchObject({ code: 'CREDENTIAL_DESTINATION_MISMATCH' });
    expect(listener.heard).toHaveLength(0);
  });

  it('refuses the speech-to-text provider settings the same way', async () => {
    const { started } = await runAs(
      analyst,
      oneNodeFlow(
        {
          type: 'multimodal.speechToText',
          version: 1,
          config: { providerBaseUrl: `${listener.url}/v1`, providerCredential: 'openai-prod' },
        },
        {},
        'audio',
      ),
    );
    expect(started.status).toBe(422);
    expect(started.body.error.details.problems[0]).toMatchObject({
      code: 'CREDENTIAL_DESTINATION_MISMATCH',
      path: ['providerLegacy'],
    });
    expect(listener.heard).toHaveLength(0);
  });

  it('runs a flow that names the connection, the key going to its base URL only, and audits it', async () => {
    const { run } = await runAs(
      analyst,
      oneNodeFlow(chat({ provider: 'connection', connection: 'gateway', model: 'qwen2.5-72b' })),
    );
    expect(run.status).toBe('succeeded');
    expect(run.run.outputs.result).toBe('from the gateway');
    expect(gateway.heard[0]?.authorization).toBe(`Bearer ${KEY}`);
    const audit = (await admin.get('/api/audit?limit=50')).body as Loose[];
    const used = audit.find((e) => e.action === 'connection.used' && e.details.runId === run.id);
    expect(used).toMatchObject({
      target: 'connection:gateway',
      details: { nodeId: 'call', deployment: 'private' },
    });
    expect(JSON.stringify(audit)).not.toContain(KEY);
  });

  it('runs a flow saved before connections when a connection binds its base URL and credential', async () => {
    const { flowId, run } = await runAs(
      analyst,
      oneNodeFlow(
        chat(
          {
            provider: 'openai',
            model: 'qwen2.5-72b',
            baseUrl: `${gateway.url}/v1/`,
            credential: 'openai-prod',
          },
          1,
        ),
      ),
    );
    expect(run.status).toBe('succeeded');
    expect(gateway.heard[0]?.authorization).toBe(`Bearer ${KEY}`);
    // Stored at the node's newest version, the old endpoint kept for the author to replace.
    const doc = (await analyst.get(`/api/flows/${flowId}`)).body.document;
    expect(doc.nodes[1]).toMatchObject({
      version: 2,
      config: { provider: 'connection', legacy: { provider: 'openai', credential: 'openai-prod' } },
    });
  });

  it('refuses to publish a version whose connection is missing', async () => {
    const { id } = await createFlow(
      developer,
      oneNodeFlow(chat({ provider: 'connection', connection: 'gone' })),
    );
    const r = await developer.post('/api/endpoints', { flowId: id, version: 1, slug: 'uses-gone' });
    expect(r.status).toBe(422);
    expect(r.body.error.details.problems[0]).toMatchObject({ code: 'CONNECTION_NOT_FOUND', nodeId: 'call' });
  });

  it('reports the problem on the node when the editor validates', async () => {
    const r = await analyst.post('/api/flows/validate', {
      document: oneNodeFlow(chat({ provider: 'connection', connection: 'nope' })),
    });
    expect(r.body).toMatchObject({
      ok: false,
      problems: [{ code: 'CONNECTION_NOT_FOUND', nodeId: 'call', path: ['connection'] }],
    });
  });

  it('gives the flow author a status and a short reason, never the page a provider sent', async () => {
    gateway.reply = () => ({
      status: 500,
      type: 'text/html',
      body: '<html><body>INTERNAL-ONLY core-banking db01 maintenance page</body></html>',
    });
    const { run } = await runAs(
      analyst,
      oneNodeFlow({
        ...chat({ provider: 'connection', connection: 'gateway', model: 'qwen2.5-72b' }),
        retry: { maxAttempts: 1 },
      }),
    );
    expect(run.status).toBe('failed');
    expect(run.run.nodes.call.error.code).toBe('PROVIDER_ERROR');
    expect(run.run.nodes.call.error.message).toContain('HTTP 500 Internal Server Error');
    const events = await analyst.get(`/api/runs/${run.id}/events`);
    expect(events.text).not.toContain('INTERNAL-ONLY');
  });
});

describe('who may write connections', () => {
  const spec = () => ({ kind: 'openai', baseUrl: `${gateway.url}/v1`, deployment: 'private' });

  it('developers and admins write; analysts and viewers read only', async () => {
    expect(
      (await analyst.put('/api/connections/mine', { ...spec(), baseUrl: `${listener.url}/v1` })).status,
    ).toBe(403);
    expect((await analyst.delete('/api/connections/gateway')).status).toBe(403);
    expect((await viewer.put('/api/connections/mine', spec())).status).toBe(403);
    const list = await analyst.get('/api/connections');
    expect(list.status).toBe(200);
    expect(list.body.map((c: Loose) => c.name)).toContain('gateway');
    expect(list.text).not.toContain(KEY);
    expect((await developer.put('/api/connections/dev-local', spec())).status).toBe(201);
    expect((await developer.put('/api/connections/dev-local', { ...spec(), models: ['m'] })).status).toBe(
      200,
    );
    expect((await developer.delete('/api/connections/dev-local')).status).toBe(204);
    const audit = (await admin.get('/api/audit?limit=20')).body as Loose[];
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['connection.created', 'connection.updated', 'connection.deleted']),
    );
  });

  it('checks what is written', async () => {
    const bad = [
      [{ ...spec(), credential: 'absent' }, 400, 'CREDENTIAL_NOT_FOUND'],
      [{ ...spec(), baseUrl: 'http://169.254.169.254/latest/meta-data' }, 400, 'EGRESS_DENIED'],
      [{ ...spec(), baseUrl: 'file:///etc/passwd' }, 400, 'INVALID_REQUEST'],
      [{ ...spec(), baseUrl: `http://user:${KEY}@127.0.0.1/v1` }, 400, 'INVALID_REQUEST'],
      [{ ...spec(), deployment: 'moon' }, 400, 'INVALID_REQUEST'],
      [{ ...spec(), models: Array.from({ length: 101 }, (_, i) => `m${i}`) }, 400, 'INVALID_REQUEST'],
      [{ ...spec(), description: 'x'.repeat(2001) }, 400, 'INVALID_REQUEST'],
      ['not an object', 400, 'INVALID_JSON'],
    ] as const;
    for (const [body, status, code] of bad) {
      const r = await admin.put('/api/connections/checked', body);
      expect([r.status, r.body.error.code]).toEqual([status, code]);
    }
    expect((await admin.put('/api/connections/..%2Fx', spec())).status).toBe(400);
    expect((await admin.get('/api/connections/checked')).status).toBe(404);
  });

  it('keeps a credential while a connection sends it', async () => {
    const r = await admin.delete('/api/credentials/openai-prod');
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'CREDENTIAL_IN_USE', details: { connections: ['gateway'] } });
  });

  it("keeps workspaces apart: another workspace neither sees nor uses this one's connections", async () => {
    const ws = await admin.post('/api/workspaces', { name: 'Other bank' });
    await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
    await admin.post('/api/users', {
      email: 'dev-other@bank.example',
      name: 'Dev Other',
      password: 'developer other secret',
      role: 'developer',
    });
    const home = (await admin.get('/api/workspaces')).body.find((w: Loose) => w.name === 'Default');
    await admin.post('/api/auth/workspace', { workspaceId: home.id });
    const other = new Client(t.url);
    await other.login('dev-other@bank.example', 'developer other secret');
    expect((await other.get('/api/connections')).body).toEqual([]);
    expect((await other.get('/api/connections/gateway')).status).toBe(404);
    expect((await other.delete('/api/connections/gateway')).status).toBe(404);
    // Its own connection cannot borrow this workspace's credential by name.
    const borrow = await other.put('/api/connections/gateway', {
      kind: 'openai',
      baseUrl: `${listener.url}/v1`,
      credential: 'openai-prod',
      deployment: 'private',
    });
    expect(borrow.body.error.code).toBe('CREDENTIAL_NOT_FOUND');
    const { started } = await runAs(
      other,
      oneNodeFlow(chat({ provider: 'connection', connection: 'gateway' })),
    );
    expect(started.body.error.details.problems[0].code).toBe('CONNECTION_NOT_FOUND');
    expect(listener.heard).toHaveLength(0);
    expect(gateway.heard).toHaveLength(0);
  });
});

describe('the default egress policy', () => {
  let strict: TestServer;
  let strictAdmin: Client;
  beforeAll(async () => {
    strict = await startTestServer();
    strictAdmin = await setupAdmin(strict);
  });
  afterAll(async () => {
    await strict.destroy();
  });

  it('will not start with a malformed allow-list', async () => {
    await expect(startTestServer({ config: { egressAllow: 'loopback, 10.0.0.0/99' } })).rejects.toThrow(
      /FINFLOW_EGRESS_ALLOW: .*10\.0\.0\.0\/99/,
    );
  });

  it("refuses connections to the server's own API, loopback and link-local metadata", async () => {
    for (const baseUrl of [
      `${strict.url}/api`,
      `http://localhost:${new URL(strict.url).port}/api`,
      'http://[::1]:8080/v1',
      'http://169.254.169.254/latest',
      'http://[::ffff:169.254.169.254]/latest',
      'http://10.1.2.3:8000/v1',
    ]) {
      const r = await strictAdmin.put('/api/connections/inside', {
        kind: 'openai',
        baseUrl,
        deployment: 'private',
      });
      expect([baseUrl, r.status, r.body.error.code]).toEqual([baseUrl, 400, 'EGRESS_DENIED']);
    }
  });

  it('refuses at connect time a connection that points inside (written before the policy, say)', async () => {
    // Written straight to the store: the check that counts is the one made on the address connected to.
    await strict.server.context.repo.putConnection({
      workspaceId: (await strictAdmin.get('/api/auth/me')).body.workspace.id,
      name: 'old',
      kind: 'openai',
      baseUrl: `${listener.url}/v1`,
      credential: null,
      models: [],
      deployment: 'private',
      dataClasses: ['public', 'internal', 'personal', 'confidential'],
      pricing: null,
      description: '',
      createdAt: 1,
      createdBy: null,
      updatedAt: 1,
    });
    const { run } = await runAs(
      strictAdmin,
      oneNodeFlow(chat({ provider: 'connection', connection: 'old', model: 'm' })),
    );
    expect(run.status).toBe('failed');
    expect(run.run.nodes.call.error.code).toBe('EGRESS_DENIED');
    expect(run.run.nodes.call.attempts).toBe(1);
    expect(listener.heard).toHaveLength(0);
  });
});

describe('models routed by data sensitivity (issue 19)', () => {
  let bankLlm: Listener;
  let cloudLlm: Listener;
  beforeAll(async () => {
    bankLlm = await listen('answered in house', 'qwen2.5-72b');
    cloudLlm = await listen('answered in the cloud', 'gpt-4o-mini');
    await admin.put('/api/credentials/cloud-key', { value: 'sk-cloud-0123456789abcdef' });
    for (const [name, body] of [
      [
        'bank-llm',
        {
          kind: 'openai',
          baseUrl: `${bankLlm.url}/v1`,
          deployment: 'private',
          models: ['qwen2.5-72b'],
          pricing: { currency: 'CNY', inputPer1kTokens: 0.02, outputPer1kTokens: 0.06 },
        },
      ],
      [
        'cloud-llm',
        {
          kind: 'openai',
          baseUrl: `${cloudLlm.url}/v1`,
          credential: 'cloud-key',
          deployment: 'cloud',
          models: ['gpt-4o-mini'],
          pricing: { currency: 'CNY', inputPer1kTokens: 0.001, outputPer1kTokens: 0.004 },
        },
      ],
    ] as const)
      expect((await admin.put(`/api/connections/${name}`, body)).status).toBe(201);
  });
  afterAll(async () => {
    await Promise.all([close(bankLlm), close(cloudLlm)]);
  });
  beforeEach(() => {
    bankLlm.heard.length = 0;
    cloudLlm.heard.length = 0;
  });

  const routeFlow = oneNodeFlow({
    type: 'model.route',
    version: 1,
    config: { private: 'bank-llm', cloud: 'cloud-llm', prompt: '{{ message }}', variables: ['message'] },
  });
  routeFlow.edges.push({
    id: 'e3',
    from: { node: 'call', port: 'route' },
    to: { node: 'route', port: 'value' },
  });
  routeFlow.nodes.push({ id: 'route', type: 'io.output', version: 1, config: { name: 'route' } });

  it('keeps a prompt with an ID number off the cloud, sends an ordinary one there, and audits each decision', async () => {
    const idNumber = '11010519491231002X';
    const { flowId, run: sensitive } = await runAs(analyst, routeFlow, {
      message: `客户身份证号 ${idNumber}，请核对其贷款申请材料是否齐全`,
    });
    expect(sensitive.run.error).toBeUndefined();
    expect(sensitive.run.outputs.result).toBe('answered in house');
    expect(sensitive.run.outputs.route).toMatchObject({
      connection: 'bank-llm',
      deployment: 'private',
      dataClass: 'personal',
      piiTypes: ['CN_RESIDENT_ID'],
    });
    expect(cloudLlm.heard).toHaveLength(0);

    const started = await analyst.post(`/api/flows/${flowId}/runs`, {
      input: { message: 'How long does an international transfer to the euro area take?' },
    });
    const ordinary = await waitForRun(analyst, started.body.runId);
    expect(ordinary.run.outputs.result).toBe('answered in the cloud');
    expect(ordinary.run.outputs.route).toMatchObject({
      connection: 'cloud-llm',
      deployment: 'cloud',
      costSaved: 0.0132,
      currency: 'CNY',
    });
    expect(cloudLlm.heard).toHaveLength(1);
    expect(cloudLlm.heard[0]?.body).not.toContain(idNumber);

    const audit = (await admin.get('/api/audit?limit=100')).body as Loose[];
    const decisions = audit.filter((e) => e.action === 'model.routed');
    expect(decisions.find((e) => e.details.runId === sensitive.id)).toMatchObject({
      target: 'connection:bank-llm',
      details: {
        nodeId: 'call',
        deployment: 'private',
        dataClass: 'personal',
        piiTypes: ['CN_RESIDENT_ID'],
        reasons: [
          'personal data found (CN_RESIDENT_ID)',
          'the cloud connection may not receive personal data',
        ],
      },
    });
    expect(decisions.find((e) => e.details.runId === ordinary.id)).toMatchObject({
      target: 'connection:cloud-llm',
      details: { deployment: 'cloud', dataClass: 'internal' },
    });
    expect(JSON.stringify(audit)).not.toContain(idNumber);
  });

  it('refuses a personal-data flow on a cloud connection at validation, and a personal prompt at run time', async () => {
    const personalFlow = oneNodeFlow(
      chat({ provider: 'connection', connection: 'cloud-llm', model: 'gpt-4o-mini' }),
      {
        settings: { dataClass: 'personal' },
      },
    );
    const v = await analyst.post('/api/flows/validate', { document: personalFlow });
    expect(v.body.problems).toEqual([
      expect.objectContaining({ code: 'CONNECTION_NOT_ALLOWED', nodeId: 'call', path: ['connection'] }),
    ]);
    expect(v.body.problems[0].message).toContain('may not receive personal data');
    expect((await runAs(analyst, personalFlow)).started.status).toBe(422);

    const { run } = await runAs(
      analyst,
      oneNodeFlow(chat({ provider: 'connection', connection: 'cloud-llm', model: 'gpt-4o-mini' })),
      { message: '请帮我查一下客户 420111199710282158 的还款记录' },
    );
    expect(run.status).toBe('failed');
    expect(run.run.nodes.call.error.code).toBe('CONNECTION_NOT_ALLOWED');
    expect(cloudLlm.heard).toHaveLength(0);
    const audit = (await admin.get('/api/audit?limit=50')).body as Loose[];
    expect(audit.find((e) => e.action === 'connection.refused' && e.details.runId === run.id)).toMatchObject({
      target: 'connection:cloud-llm',
      details: { code: 'CONNECTION_NOT_ALLOWED', dataClass: 'personal', piiTypes: ['CN_RESIDENT_ID'] },
    });
  });
});
