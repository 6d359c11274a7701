/**
 * Phased rollout through the HTTP API: a real server, real endpoint calls. A challenger goes through shadow and
 * pilot to expansion with maker-checker approvals; a failing challenger is rolled back by its gate; the kill
 * switch; a restart in mid-rollout keeps stage, split and observations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  tempDir,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';
import { main } from './cli/main.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
const dataDir = tempDir('finflow-rollout-');
let admin: Client;
let developer: Client;
let approver: Client;
let flowId: string;
let key: string;

/** The scoring flow with another approval threshold (a challenger that decides differently). */
function variant(threshold: number) {
  const doc = scoringFlow();
  const decide = doc.nodes.find((n) => n.id === 'decide') as { config: { condition: string } };
  decide.config.condition = `value.score >= ${threshold}`;
  return doc;
}

/** A challenger that fails on every call (a model that cannot load, say). */
function failing() {
  const doc = scoringFlow();
  const score = doc.nodes.find((n) => n.id === 'score') as { config: { expression: string } };
  score.config.expression = '$error("the scoring model is unavailable")';
  return doc;
}

async function saveVersion(c: Client, document: unknown, message: string): Promise<number> {
  const r = await c.put(`/api/flows/${flowId}`, { document, message });
  if (r.status !== 201 && r.status !== 200) throw new Error(`${r.status} ${r.text}`);
  return r.body.version.number as number;
}

async function publish(slug: string): Promise<string> {
  const r = await admin.post('/api/endpoints', { flowId, version: 1, slug });
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  return r.body.id as string;
}

async function call(slug: string, name: string, income = 64000, debt = 8000): Promise<Loose> {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ name, income, debt }),
  });
  return { status: res.status, body: await res.json() };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fastGates = {
  minStageMs: 0,
  subjectPath: 'name',
  gates: [
    // With no errors, the upper 95 % bound drops below 10 % from 35 samples; a p95 bound needs 73.
    { metric: 'errorRate', threshold: 0.1, minSamples: 20, action: 'rollback' },
    { metric: 'p95LatencyMs', threshold: 5_000, minSamples: 20, action: 'block' },
  ],
};

beforeAll(async () => {
  t = await startTestServer({ dataDir, rollouts: { evaluateMs: 100 } });
  admin = await setupAdmin(t);
  developer = await addUser(t, admin, 'developer');
  approver = await addUser(t, admin, 'approver');
  flowId = (await createFlow(admin, scoringFlow())).id;
  key = (await admin.post('/api/keys', { name: 'rollout client', endpoints: '*' })).body.key as string;
}, 60_000);
afterAll(async () => {
  await t.destroy();
});

describe('a rollout from shadow to expansion', () => {
  let endpointId: string;
  let rolloutId: string;
  let challenger: number;

  it('runs the challenger in shadow without changing any answer', async () => {
    endpointId = await publish('loan-shadow');
    challenger = await saveVersion(developer, variant(10), 'stricter threshold');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: challenger,
      stage: 'shadow',
      reason: 'shadow the stricter threshold on live traffic',
      plan: { ...fastGates, predictionPath: 'decision.outcome' },
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ stage: 'shadow', status: 'active', share: 0, championVersion: 1 });
    rolloutId = started.body.id;
    const runsBefore = (await admin.get(`/api/runs?flowId=${flowId}&limit=500`)).body.length as number;
    // Score 8: the champion approves, the stricter challenger would send it to review.
    for (let i = 0; i < 80; i++) {
      const r = await call('loan-shadow', `customer-${i}`);
      expect(r.status).toBe(200);
      expect(r.body.flowVersion).toBe(1);
      expect(r.body.outputs).toEqual({ decision: { outcome: 'approve', score: 8 } });
    }
    // The shadow runs are not runs of the endpoint: the run list grew by the 80 champion calls only.
    expect((await admin.get(`/api/runs?flowId=${flowId}&limit=500`)).body.length).toBe(runsBefore + 80);
    const status = await until('the shadow runs', async () => {
      const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
      const shadows = s.series.reduce((n: number, p: Loose) => n + p.challenger.shadows, 0);
      return shadows >= 80 ? s : undefined;
    });
    const disagree = status.series.reduce((n: number, p: Loose) => n + p.challenger.disagree, 0);
    expect(disagree).toBe(80);
  });

  it('refuses to advance for the wrong role, the maker and another workspace', async () => {
    const byDeveloper = await developer.post(`/api/rollouts/${rolloutId}/advance`, { reason: 'looks fine' });
    expect(byDeveloper.status).toBe(403);
    expect(byDeveloper.body.error.code).toBe('APPROVER_REQUIRED');
    const viewer = await addUser(t, admin, 'viewer');
    expect((await viewer.post(`/api/rollouts/${rolloutId}/pause`, { reason: 'x' })).status).toBe(403);
    expect(
      (await viewer.post(`/api/endpoints/${endpointId}/rollouts`, { challengerVersion: 1, reason: 'x' }))
        .status,
    ).toBe(403);

    // An approver of another workspace does not see the rollout at all.
    const ws = await admin.post('/api/workspaces', { name: 'Other business line' });
    await admin.post('/api/auth/workspace', { workspaceId: ws.body.id });
    await admin.post('/api/users', {
      email: 'approver-b@bank.example',
      name: 'Approver B',
      password: 'approver b password',
      role: 'approver',
    });
    await admin.post('/api/auth/workspace', { workspaceId: (await admin.get('/api/workspaces')).body[0].id });
    const other = new Client(t.url);
    await other.login('approver-b@bank.example', 'approver b password');
    const foreign = await other.post(`/api/rollouts/${rolloutId}/advance`, { reason: 'not mine' });
    expect(foreign.status).toBe(404);
    expect((await other.get(`/api/endpoints/${endpointId}/rollout`)).status).toBe(404);

    // No reason, no transition.
    expect((await approver.post(`/api/rollouts/${rolloutId}/advance`, {})).status).toBe(400);
  });

  it('lets the approver advance to the pilot, then refuses the author of the challenger', async () => {
    const adv = await approver.post(`/api/rollouts/${rolloutId}/advance`, { reason: 'shadow errors nil' });
    expect(adv.status).toBe(200);
    expect(adv.body).toMatchObject({ stage: 'pilot', share: 5 });

    // A version the admin wrote: the admin may not approve its rollout even with the admin role.
    const own = await saveVersion(admin, variant(2), 'admin tweak');
    const ep = await publish('loan-own');
    const started = await developer.post(`/api/endpoints/${ep}/rollouts`, {
      challengerVersion: own,
      reason: 'pilot the admin tweak',
      plan: fastGates,
    });
    expect(started.status).toBe(201);
    const refused = await admin.post(`/api/rollouts/${started.body.id}/advance`, { reason: 'my own change' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('MAKER_CHECKER');
    // Who started a rollout may not approve it either.
    const byStarter = await admin.post(`/api/endpoints/${ep}/rollouts`, {
      challengerVersion: own,
      reason: 'again',
    });
    expect(byStarter.status).toBe(409);
    expect(byStarter.body.error.code).toBe('ROLLOUT_IN_PROGRESS');
    expect(
      (await developer.post(`/api/rollouts/${started.body.id}/kill`, { reason: 'not needed' })).status,
    ).toBe(200);
  });

  it('holds the pilot until its gates have their samples, with a sticky split', async () => {
    const early = await approver.post(`/api/rollouts/${rolloutId}/advance`, { reason: 'too early' });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('GATES_NOT_MET');

    const versions = new Map<string, number>();
    for (let i = 0; i < 120; i++) {
      const name = `pilot-${i % 60}`;
      const r = await call('loan-shadow', name);
      expect(r.status).toBe(200);
      const seen = versions.get(name);
      if (seen !== undefined) expect(r.body.flowVersion).toBe(seen);
      versions.set(name, r.body.flowVersion);
    }
    const s = await until('gates to pass', async () => {
      const b = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
      return b.gates.every((g: Loose) => g.status === 'pass') ? b : undefined;
    });
    expect(s.awaitingApproval).toBe(true);
    const adv = await approver.post(`/api/rollouts/${rolloutId}/advance`, { reason: 'pilot clean' });
    expect(adv.status).toBe(200);
    expect(adv.body).toMatchObject({ stage: 'expansion', step: 0, share: 5 });
    const endpoint = (await admin.get(`/api/endpoints/${endpointId}`)).body;
    expect(endpoint.deployment.targets).toEqual([
      { version: 1, weight: 95 },
      { version: challenger, weight: 5 },
    ]);
  });

  it('records every transition with who, when and why, in the history and the audit chain', async () => {
    const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect(s.transitions.map((x: Loose) => [x.action, x.fromStage, x.toStage])).toEqual([
      ['started', null, 'shadow'],
      ['advanced', 'shadow', 'pilot'],
      ['advanced', 'pilot', 'expansion'],
    ]);
    expect(s.transitions[1].actor).toMatchObject({ type: 'user', name: 'approver user' });
    expect(s.transitions[1].reason).toBe('shadow errors nil');
    const audit = (await admin.get('/api/audit?limit=1000')).body as Loose[];
    const mine = audit.filter((e) => e.details?.rolloutId === rolloutId).map((e) => e.action);
    expect(mine.sort()).toEqual(['rollout.advanced', 'rollout.advanced', 'rollout.started']);
    expect((await admin.get('/api/audit/verify')).body).toMatchObject({ ok: true });
  });
});

describe('a worse challenger', () => {
  it('is rolled back by its gate, and the next call goes to the champion', async () => {
    const endpointId = await publish('loan-worse');
    const bad = await saveVersion(developer, failing(), 'new model');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: bad,
      reason: 'pilot the new model',
      plan: { ...fastGates, pilotShare: 50 },
    });
    expect(started.status).toBe(201);
    let failures = 0;
    for (let i = 0; i < 200 && failures < 30; i++) {
      const r = await call('loan-worse', `worse-${i}`);
      if (r.status !== 200) failures++;
    }
    const s = await until('the automatic rollback', async () => {
      const b = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
      return b.status === 'rolled-back' ? b : undefined;
    });
    expect(s.reason).toMatch(/errorRate/);
    const last = s.transitions.at(-1);
    expect(last).toMatchObject({ action: 'rolled-back', actor: { type: 'system' }, toShare: 0 });
    expect(last.details.automatic).toBe(true);
    for (let i = 0; i < 40; i++) {
      const r = await call('loan-worse', `worse-${i}`);
      expect(r.status).toBe(200);
      expect(r.body.flowVersion).toBe(1);
    }
    const endpoint = (await admin.get(`/api/endpoints/${endpointId}`)).body;
    expect(endpoint.deployment.targets).toEqual([{ version: 1, weight: 100 }]);
  });
});

describe('a challenger that outcomes prove wrong', () => {
  it('is rolled back by its outcome gate, from feedback reported after the decisions', async () => {
    const withFeedback = (outcome: string) => {
      const doc = scoringFlow() as ReturnType<typeof scoringFlow> & { settings?: unknown };
      const approve = doc.nodes.find((n) => n.id === 'approve') as { config: { expression: string } };
      approve.config.expression = `{ "outcome": "${outcome}", "score": data.score }`;
      doc.settings = {
        feedback: {
          labelSchema: { type: 'object', required: ['good'], properties: { good: { type: 'boolean' } } },
          predictionPath: 'decision.outcome',
        },
      };
      return doc;
    };
    const champion = await saveVersion(admin, withFeedback('approve'), 'report outcomes');
    const r = await admin.post('/api/endpoints', { flowId, version: champion, slug: 'loan-outcome' });
    const endpointId = r.body.id as string;
    const wrong = await saveVersion(developer, withFeedback('decline'), 'declines good applicants');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: wrong,
      reason: 'pilot',
      plan: {
        pilotShare: 100,
        minStageMs: 0,
        predictionPath: 'decision.outcome',
        labelPath: 'good',
        labelMap: { true: 'approve', false: 'decline' },
        gates: [{ metric: 'outcomeAgreement', threshold: 0.7, minSamples: 20, action: 'rollback' }],
      },
    });
    expect(started.status, started.text).toBe(201);
    expect(started.body).toMatchObject({ stage: 'pilot', share: 100, challengerVersion: wrong });
    // The gate needs 20 labelled decisions; it breaks as soon as it has them (0 of 20 agree).
    for (let i = 0; i < 20; i++) {
      const c = await call('loan-outcome', `outcome-${i}`);
      expect(c.body).toMatchObject({ flowVersion: wrong, outputs: { decision: { outcome: 'decline' } } });
      // Every applicant repaid: the decline was wrong.
      const fb = await fetch(`${t.url}/v1/endpoints/loan-outcome/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ runId: c.body.runId, label: { good: true } }),
      });
      expect(fb.status).toBe(201);
    }
    const s = await until('the outcome gate', async () => {
      const b = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
      return b.status === 'rolled-back' ? b : undefined;
    });
    expect(s.reason).toMatch(/outcomeAgreement/);
    expect((await call('loan-outcome', 'outcome-0')).body.flowVersion).toBe(champion);
  });
});

describe('the kill switch', () => {
  it('sends all traffic to the last known good version in one action', async () => {
    const endpointId = await publish('loan-kill');
    const v = await saveVersion(developer, variant(4), 'kill me');
    await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: v,
      reason: 'pilot',
      plan: { ...fastGates, pilotShare: 100 },
    });
    expect((await call('loan-kill', 'k-1')).body.flowVersion).toBe(v);
    const killed = await approver.post(`/api/endpoints/${endpointId}/rollout/kill`, { reason: 'complaints' });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ status: 'killed', reason: 'complaints', share: 0 });
    for (let i = 0; i < 10; i++) expect((await call('loan-kill', `k-${i}`)).body.flowVersion).toBe(1);
    const again = await approver.post(`/api/endpoints/${endpointId}/rollout/kill`, { reason: 'twice' });
    expect(again.status).toBe(409);
  });
});

describe('finflow rollout', () => {
  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    process.env['FINFLOW_EMAIL'] = 'approver@bank.example';
    process.env['FINFLOW_PASSWORD'] = 'approver password 123';
    const code = await main(['rollout', ...args, '--server', t.url], {
      out: (x) => (out += `${x}\n`),
      err: (x) => (err += `${x}\n`),
    });
    return { code, out, err };
  }

  it('shows, pauses, refuses and kills a rollout from the command line', async () => {
    const endpointId = await publish('loan-cli');
    const v = await saveVersion(developer, variant(4), 'cli');
    await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: v,
      reason: 'pilot from the API',
      plan: { ...fastGates, pilotShare: 10 },
    });
    const status = await cli('status', 'loan-cli');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/loan-cli: pilot \(active\), v1 → v\d+, challenger share 10 %/);
    expect(status.out).toMatch(/gate errorRate\s+insufficient/);
    const early = await cli('advance', 'loan-cli', '--reason', 'now');
    expect(early.code).toBe(1);
    expect(early.err).toMatch(/GATES_NOT_MET/);
    expect((await cli('pause', 'loan-cli')).code).toBe(2);
    const paused = await cli('pause', 'loan-cli', '--reason', 'branch audit', '--json');
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.out)).toMatchObject({ status: 'paused' });
    const killed = await cli('kill', endpointId, '--reason', 'stop it');
    expect(killed.code).toBe(0);
    expect(killed.out).toMatch(/killed/);
    expect((await cli('status', 'no-such-endpoint')).code).toBe(1);
  });
});

describe('a restart in mid-rollout', () => {
  it('keeps the stage, the split and the observations', async () => {
    const endpointId = await publish('loan-restart');
    const v = await saveVersion(developer, variant(4), 'restart');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: v,
      reason: 'pilot before a restart',
      plan: { ...fastGates, pilotShare: 50 },
    });
    const before = new Map<string, number>();
    for (let i = 0; i < 80; i++)
      before.set(`r-${i}`, (await call('loan-restart', `r-${i}`)).body.flowVersion);
    expect(new Set(before.values()).size).toBe(2);
    await new Promise((r) => setTimeout(r, 400));
    const statusBefore = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;

    await t.stop();
    t = await startTestServer({ dataDir, rollouts: { evaluateMs: 100 } });
    admin = new Client(t.url);
    await admin.login('admin@bank.example', 'correct horse battery');
    approver = new Client(t.url);
    await approver.login('approver@bank.example', 'approver password 123');

    const after = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect(after).toMatchObject({ id: started.body.id, stage: 'pilot', share: 50, status: 'active' });
    const calls = (p: Loose) =>
      p.series.reduce((n: number, x: Loose) => n + x.champion.calls + x.challenger.calls, 0);
    expect(calls(after)).toBe(calls(statusBefore));
    for (const [name, version] of before)
      expect((await call('loan-restart', name)).body.flowVersion).toBe(version);
    const adv = await approver.post(`/api/rollouts/${started.body.id}/advance`, { reason: 'after restart' });
    expect(adv.status).toBe(200);
    expect(adv.body.stage).toBe('expansion');
  }, 60_000);
});
