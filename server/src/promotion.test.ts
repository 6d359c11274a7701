/**
 * Promoting a flow into another workspace (issue 12, across the business): the history and the model artefacts
 * arrive, connection and credential names are remapped to the target's own by an explicit mapping (never a
 * credential copied), the copy has no endpoint or rollout, both audit chains say who, when and from where; and the
 * programme owner's board lists only the workspaces the caller is in. Each refusal is tested from the wrong side.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardSchema, promoteResultSchema, promotionNeedsSchema } from '@finflow/contract';
import { main } from './cli/main.js';
import { canonicalJson, sha256 } from './hash.js';
import {
  ADMIN,
  addUser,
  Client,
  setupAdmin,
  startTestServer,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

const template = JSON.parse(
  readFileSync(new URL('../../templates/credit-approval/flow.json', import.meta.url), 'utf8'),
) as Loose;
const model = template.nodes.find((n: Loose) => n.type === 'risk.scorecard').config.model as Loose;

/** A flow naming a connection, a credential and holding a trained model. */
const flow = (connection: string, credential: string, m: unknown = model) => ({
  schemaVersion: 1,
  id: 'f',
  name: 'Branch credit',
  nodes: [
    {
      id: 'in',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: { message: { type: 'string' } } } },
    },
    {
      id: 'ask',
      type: 'model.chat',
      version: 2,
      config: {
        prompt: '{{ message }}',
        variables: ['message'],
        provider: 'connection',
        connection,
        model: 'qwen2.5-72b',
      },
    },
    {
      id: 'mask',
      type: 'compliance.piiMask',
      version: 1,
      config: { defaultStrategy: 'pseudonym', keyCredential: credential },
    },
    { id: 'score', type: 'risk.scorecard', version: 1, config: { mode: 'score', model: m } },
    { id: 'rows', type: 'data.transform', version: 1, config: { expression: '[$]' } },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'answer' } },
  ],
  edges: [
    { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'ask', port: 'message' } },
    { id: 'e2', from: { node: 'ask', port: 'text' }, to: { node: 'mask', port: 'text' } },
    { id: 'e3', from: { node: 'mask', port: 'text' }, to: { node: 'out', port: 'value' } },
    { id: 'e4', from: { node: 'in', port: 'value' }, to: { node: 'rows', port: 'data' } },
    { id: 'e5', from: { node: 'rows', port: 'result' }, to: { node: 'score', port: 'table' } },
  ],
});

const connection = (kind = 'openai') => ({
  kind,
  baseUrl: 'https://llm.bank.example/v1',
  deployment: 'private',
  models: ['qwen2.5-72b'],
});

let t: TestServer;
/** Admin of Retail (A) and of Cards (B). */
let admin: Client;
/** Developer of Retail only. */
let devA: Client;
/** Analyst of Retail, developer of Cards. */
let analyst: Client;
let wsA: string;
let wsB: string;
let wsC: string;
let flowId: string;
let v2Model: Loose;

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  wsA = (await admin.get('/api/auth/me')).body.workspace.id;
  devA = await addUser(t, admin, 'developer', 'dev-retail@bank.example');
  analyst = await addUser(t, admin, 'analyst', 'analyst@bank.example');
  await admin.put('/api/credentials/pseudo-key-retail', { value: 'retail-secret-value-123' });
  expect((await admin.put('/api/connections/llm-retail', connection())).status).toBe(201);
  wsB = (await admin.post('/api/workspaces', { name: 'Cards' })).body.id;
  wsC = (await admin.post('/api/workspaces', { name: 'Wealth' })).body.id;
  await admin.post('/api/auth/workspace', { workspaceId: wsB });
  // The analyst's account is invited into Cards as a developer, and accepts.
  const invited = await admin.post('/api/users', { email: 'analyst@bank.example', role: 'developer' });
  expect(invited.status).toBe(201);
  expect((await analyst.post(`/api/account/invitations/${invited.body.invitation.id}/accept`)).status).toBe(
    200,
  );
  await admin.put('/api/credentials/pseudo-key-cards', { value: 'cards-secret-value-456' });
  expect((await admin.put('/api/connections/llm-cards', connection())).status).toBe(201);
  expect(
    (
      await admin.put('/api/connections/ollama-cards', {
        ...connection('ollama'),
        baseUrl: 'https://ollama.bank.example',
      })
    ).status,
  ).toBe(201);
  await admin.post('/api/auth/workspace', { workspaceId: wsA });

  const created = await admin.post('/api/flows', {
    document: flow('llm-retail', 'pseudo-key-retail'),
    message: 'pilot',
  });
  expect(created.status).toBe(201);
  flowId = created.body.flow.id;
  v2Model = { ...model, intercept: Number(model.intercept ?? 0) + 0.25, note: 'recalibrated' };
  const v2 = await admin.put(`/api/flows/${flowId}`, {
    document: flow('llm-retail', 'pseudo-key-retail', v2Model),
    message: 'recalibrated',
  });
  expect(v2.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await t?.destroy();
});

const mapping = {
  targetWorkspaceId: '',
  connections: { 'llm-retail': 'llm-cards' },
  credentials: { 'pseudo-key-retail': 'pseudo-key-cards' },
};

describe('promoting a flow into another workspace', () => {
  it('says what must be mapped, and refuses a missing, unknown, unused or mismatched mapping listing each', async () => {
    const needs = await admin.get(`/api/flows/${flowId}/promotion?targetWorkspaceId=${wsB}`);
    expect(needs.status).toBe(200);
    promotionNeedsSchema.parse(needs.body);
    expect(needs.body.connections).toEqual([{ name: 'llm-retail', kind: 'openai' }]);
    expect(needs.body.credentials).toEqual(['pseudo-key-retail']);
    expect(needs.body.target.connections.map((c: Loose) => c.name).sort()).toEqual([
      'llm-cards',
      'ollama-cards',
    ]);
    expect(needs.body.target.credentials).toEqual(['pseudo-key-cards']);
    // No secret is in the answer.
    expect(needs.text).not.toContain('secret-value');

    const missing = await admin.post(`/api/flows/${flowId}/promote`, { targetWorkspaceId: wsB });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('PROMOTION_MAPPING');
    expect(missing.body.error.details.missing).toEqual({
      connections: ['llm-retail'],
      credentials: ['pseudo-key-retail'],
    });
    expect(missing.body.error.message).toContain('connection "llm-retail"');

    // The source workspace's own names, or names the target does not have.
    const foreign = await admin.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
      connections: { 'llm-retail': 'llm-retail' },
      credentials: { 'pseudo-key-retail': 'pseudo-key-retail' },
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error.details.unknownTargets).toEqual({
      connections: ['llm-retail'],
      credentials: ['pseudo-key-retail'],
    });

    const mismatched = await admin.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
      connections: { 'llm-retail': 'ollama-cards' },
    });
    expect(mismatched.status).toBe(422);
    expect(mismatched.body.error.details.mismatched).toEqual([
      { source: 'llm-retail', target: 'ollama-cards', sourceKind: 'openai', targetKind: 'ollama' },
    ]);

    const unused = await admin.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
      connections: { ...mapping.connections, constructor: 'llm-cards' },
    });
    expect(unused.status).toBe(422);
    expect(unused.body.error.details.unused.connections).toEqual(['constructor']);
    // Nothing arrived in the target meanwhile.
    expect(await t.server.context.repo.listFlows(wsB)).toEqual([]);
  });

  it('copies the history and its artefacts with names remapped, no credential, no endpoint, audited in both', async () => {
    const credentialsBefore = await t.server.context.repo.listCredentials(wsB);
    const r = await admin.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
      message: 'proven in retail',
    });
    expect(r.status, r.text).toBe(201);
    promoteResultSchema.parse(r.body);
    expect(r.body.versions).toBe(2);
    expect(r.body.targetWorkspace).toEqual({ id: wsB, name: 'Cards' });
    expect(r.body.artefacts.sort()).toEqual(
      [sha256(canonicalJson(model)), sha256(canonicalJson(v2Model))].sort(),
    );
    const promotedId = r.body.flow.id as string;
    expect(promotedId).not.toBe(flowId);

    // Read from the target: both versions, their messages and authors, remapped names, exact models.
    await admin.post('/api/auth/workspace', { workspaceId: wsB });
    const versions = (await admin.get(`/api/flows/${promotedId}/versions`)).body as Loose[];
    expect(versions.map((v) => [v.number, v.message])).toEqual([
      [2, 'recalibrated'],
      [1, 'pilot'],
    ]);
    for (const [n, m] of [
      [1, model],
      [2, v2Model],
    ] as const) {
      const doc = (await admin.get(`/api/flows/${promotedId}/versions/${n}`)).body.document;
      const node = (id: string) => doc.nodes.find((x: Loose) => x.id === id);
      expect(node('ask').config.connection).toBe('llm-cards');
      expect(node('mask').config.keyCredential).toBe('pseudo-key-cards');
      expect(JSON.stringify(node('score').config.model)).toBe(JSON.stringify(m));
      expect(JSON.stringify(doc)).not.toContain('retail');
    }
    expect((await admin.get('/api/artefacts')).body.map((a: Loose) => a.sha256).sort()).toEqual(
      [...r.body.artefacts].sort(),
    );
    // No credential crossed, and the copy starts with no endpoint and no rollout.
    expect(await t.server.context.repo.listCredentials(wsB)).toEqual(credentialsBefore);
    expect((await admin.get('/api/endpoints')).body).toEqual([]);
    const audit = (await admin.get('/api/audit')).body as Loose[];
    const inEntry = audit.find((e) => e.action === 'flow.promoted-in');
    expect(inEntry).toMatchObject({
      target: `flow:${promotedId}`,
      actor: { type: 'user', name: 'Ada Admin' },
      details: {
        from: { workspaceId: wsA, workspaceName: 'Default', flowId },
        versions: 2,
        message: 'proven in retail',
      },
    });
    expect(typeof inEntry.details.source).toBe('string');
    expect(typeof inEntry.at).toBe('number');

    await admin.post('/api/auth/workspace', { workspaceId: wsA });
    const outEntry = ((await admin.get('/api/audit')).body as Loose[]).find(
      (e) => e.action === 'flow.promoted',
    );
    expect(outEntry).toMatchObject({
      target: `flow:${flowId}`,
      details: { to: { workspaceId: wsB, workspaceName: 'Cards', flowId: promotedId }, versions: 2 },
    });
    expect(JSON.stringify(outEntry)).not.toContain('secret-value');
  });

  it('refuses promoters who are not developer or admin on both sides, forged ids and hostile bodies', async () => {
    // A developer of Retail only: Cards is not found (whether it exists or not).
    const notMember = await devA.post(`/api/flows/${flowId}/promote`, { ...mapping, targetWorkspaceId: wsB });
    expect(notMember.status).toBe(404);
    expect(notMember.body.error.code).toBe('WORKSPACE_NOT_FOUND');
    expect(
      (await devA.post(`/api/flows/${flowId}/promote`, { ...mapping, targetWorkspaceId: 'ws_forged' }))
        .status,
    ).toBe(404);
    expect((await devA.get(`/api/flows/${flowId}/promotion?targetWorkspaceId=${wsB}`)).status).toBe(404);
    // An analyst here (a developer there): refused by the source's role.
    const asAnalyst = await analyst.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
    });
    expect(asAnalyst.status).toBe(403);
    // A developer of Cards promoting out of Cards into Retail, where they are an analyst: refused by the target's role.
    await analyst.post('/api/auth/workspace', { workspaceId: wsB });
    const cardsFlow = (await analyst.post('/api/flows', { document: flow('llm-cards', 'pseudo-key-cards') }))
      .body.flow.id;
    const intoRetail = await analyst.post(`/api/flows/${cardsFlow}/promote`, {
      targetWorkspaceId: wsA,
      connections: { 'llm-cards': 'llm-retail' },
      credentials: { 'pseudo-key-cards': 'pseudo-key-retail' },
    });
    expect(intoRetail.status).toBe(403);
    expect(intoRetail.body.error.message).toContain('analyst');
    // Another workspace's flow id, from the session's workspace: not found.
    const forgedFlow = await analyst.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsA,
    });
    expect(forgedFlow.status).toBe(403);
    const adminForged = await admin.post(`/api/flows/${cardsFlow}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
    });
    expect(adminForged.status, adminForged.text).toBe(404);
    expect(adminForged.body.error.code).toBe('FLOW_NOT_FOUND');
    // Into its own workspace; into a workspace the admin is in but of which nothing was mapped.
    expect(
      (await admin.post(`/api/flows/${flowId}/promote`, { ...mapping, targetWorkspaceId: wsA })).body.error
        .code,
    ).toBe('SAME_WORKSPACE');
    expect(
      (await admin.post(`/api/flows/${flowId}/promote`, { ...mapping, targetWorkspaceId: wsC })).status,
    ).toBe(422);

    // Hostile bodies: prototype keys, names that are no names, too many entries, extra fields, a huge body.
    for (const body of [
      { ...mapping, targetWorkspaceId: wsB, connections: JSON.parse('{"__proto__": "llm-cards"}') },
      { ...mapping, targetWorkspaceId: wsB, connections: { 'llm-retail': '../../etc' } },
      { ...mapping, targetWorkspaceId: wsB, credentials: { 'pseudo-key-retail': { $ne: null } } },
      {
        ...mapping,
        targetWorkspaceId: wsB,
        connections: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`c${i}`, 'llm-cards'])),
      },
      { ...mapping, targetWorkspaceId: wsB, workspaceId: wsB },
      { ...mapping, targetWorkspaceId: 'x'.repeat(101) },
      [mapping],
      'promote',
    ]) {
      const r = await admin.post(`/api/flows/${flowId}/promote`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const huge = await admin.post(`/api/flows/${flowId}/promote`, {
      ...mapping,
      targetWorkspaceId: wsB,
      name: 'x'.repeat(6_000_000),
    });
    expect(huge.status).toBe(413);
    // None of the refused attempts left a flow behind: Cards has the one promoted copy and the analyst's flow.
    expect((await t.server.context.repo.listFlows(wsB)).length).toBe(2);
  });
});

describe('the rollout board', () => {
  it('lists every endpoint of every workspace the caller is in, and never another workspace', async () => {
    await admin.post('/api/auth/workspace', { workspaceId: wsA });
    const published = await admin.post('/api/endpoints', { flowId, version: 2, slug: 'retail-credit' });
    expect(published.status, published.text).toBe(201);
    await admin.post('/api/auth/workspace', { workspaceId: wsB });
    const cardsFlow = (await admin.get('/api/flows')).body[0].id;
    expect(
      (await admin.post('/api/endpoints', { flowId: cardsFlow, version: 1, slug: 'cards-credit' })).status,
    ).toBe(201);

    const board = await admin.get('/api/rollouts/board');
    expect(board.status).toBe(200);
    const rows = boardSchema.parse(board.body) as Loose[];
    expect(rows.map((r) => [r.workspace.name, r.slug]).sort()).toEqual([
      ['Cards', 'cards-credit'],
      ['Default', 'retail-credit'],
    ]);
    expect(rows.find((r) => r.slug === 'retail-credit')).toMatchObject({
      stage: 'none',
      rolloutStatus: null,
      split: [{ version: 2, share: 100, role: 'deployed' }],
      gates: { pass: 0, uncertain: 0, breach: 0, insufficient: 0 },
      pendingApprovals: 0,
      flowName: 'Branch credit',
      role: 'admin',
    });

    // A rollout on the retail endpoint shows its stage, split and gates on the board.
    await admin.post('/api/auth/workspace', { workspaceId: wsA });
    const ep = rows.find((r) => r.slug === 'retail-credit').endpointId;
    const started = await admin.post(`/api/endpoints/${ep}/rollouts`, {
      challengerVersion: 1,
      reason: 'pilot the older calibration',
    });
    expect(started.status, started.text).toBe(201);
    const after = ((await admin.get('/api/rollouts/board')).body as Loose[]).find(
      (r) => r.slug === 'retail-credit',
    );
    expect(after.stage).toBe(started.body.stage);
    expect(after.rolloutStatus).toBe('active');
    expect(after.split.map((s: Loose) => s.role)).toEqual(['champion', 'challenger']);
    expect(after.split.reduce((a: number, s: Loose) => a + s.share, 0)).toBe(100);
    const counted = Object.values(after.gates as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted).toBe(started.body.gates.length);

    // Members of one workspace see that one only.
    const devRows = (await devA.get('/api/rollouts/board')).body as Loose[];
    expect(devRows.map((r) => r.slug)).toEqual(['retail-credit']);
    expect(JSON.stringify(devRows)).not.toContain('Cards');
    // An account in no workspace sees nothing; signed out, no board.
    await admin.post('/api/users', {
      email: 'nobody@bank.example',
      name: 'Nobody',
      password: 'nobody password 123',
      role: 'viewer',
    });
    const nobody = new Client(t.url);
    await nobody.login('nobody@bank.example', 'nobody password 123');
    const users = (await admin.get('/api/users')).body as Loose[];
    const nobodyId = users.find((u) => u.email === 'nobody@bank.example').id;
    expect((await admin.delete(`/api/users/${nobodyId}`)).status).toBe(204);
    expect((await nobody.get('/api/rollouts/board')).body).toEqual([]);
    expect((await new Client(t.url).get('/api/rollouts/board')).status).toBe(401);
  });
});

describe('finflow flow promote', () => {
  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    process.env['FINFLOW_EMAIL'] = ADMIN.email;
    process.env['FINFLOW_PASSWORD'] = ADMIN.password;
    try {
      const code = await main(['flow', ...args, '--server', t.url], {
        out: (x) => (out += `${x}\n`),
        err: (x) => (err += `${x}\n`),
      });
      return { code, out, err };
    } catch (e) {
      return { code: (e as { exitCode?: number }).exitCode ?? 1, out, err: String((e as Error).message) };
    }
  }

  it('promotes by workspace and flow names, and prints what must be mapped when the mapping is short', async () => {
    const short = await cli('promote', 'Branch credit', '--from', 'Default', '--to', 'Wealth');
    expect(short.code).toBe(1);
    expect(short.err).toContain('PROMOTION_MAPPING');
    expect(short.err).toContain('connection "llm-retail"');
    expect(short.err).toContain("the target's connections: none");

    const done = await cli(
      'promote',
      'Branch credit',
      '--from',
      'Default',
      '--to',
      'Cards',
      '--connection',
      'llm-retail=llm-cards',
      '--credential',
      'pseudo-key-retail=pseudo-key-cards',
      '--name',
      'Cards credit',
      '--message',
      'from the command line',
    );
    expect(done.err).toBe('');
    expect(done.code).toBe(0);
    expect(done.out).toMatch(
      /promoted Branch credit into Cards as flw_\S+ \(2 versions, 2 model artefacts\)/,
    );
    await admin.post('/api/auth/workspace', { workspaceId: wsB });
    expect((await admin.get('/api/flows')).body.map((f: Loose) => f.name)).toContain('Cards credit');
    expect((await cli('promote', 'Branch credit', '--to', 'Cards', '--connection', 'oops')).err).toContain(
      '--connection takes <source>=<target>',
    );
  });
});
