/**
 * Human review in a rollout's pilot, through the HTTP API on a real server. Review before release: a challenger
 * decision is not given to the caller until a reviewer decided it (a synchronous caller gets 202 and the run id,
 * a stream gets `waiting` and then the reviewed result, an asynchronous caller polls); an approval releases the
 * challenger's answer, an override releases the reviewer's outcome. Review after release: a share of answered
 * challenger calls becomes a task nobody waits on. Both feed the reviewAgreement and reviewOverrideRate gates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  createFlow,
  setupAdmin,
  startTestServer,
  type Client,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

let t: TestServer;
let admin: Client;
let developer: Client;
let approver: Client;
let flowId: string;
let key: string;
let challenger: number;

/** The scoring flow with another approval threshold. */
function variant(threshold: number) {
  const doc = scoringFlow();
  const decide = doc.nodes.find((n) => n.id === 'decide') as { config: { condition: string } };
  decide.config.condition = `value.score >= ${threshold}`;
  return doc;
}

async function publish(slug: string): Promise<string> {
  const r = await admin.post('/api/endpoints', { flowId, version: 1, slug });
  if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  return r.body.id as string;
}

const applicant = (name: string) => ({ name, income: 64_000, debt: 8000 });

async function call(slug: string, body: unknown, headers: Record<string, string> = {}, query = '') {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text.startsWith('{') ? (JSON.parse(text) as Loose) : {} };
}

const poll = async (runId: string) => {
  const res = await fetch(`${t.url}/v1/runs/${runId}`, { headers: { authorization: `Bearer ${key}` } });
  return (await res.json()) as Loose;
};

async function pollUntil(runId: string, status: string): Promise<Loose> {
  const until = Date.now() + 15_000;
  for (;;) {
    const r = await poll(runId);
    if (r.status === status) return r;
    if (Date.now() > until) throw new Error(`run ${runId} is ${r.status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function openTask(runId: string): Promise<Loose> {
  const until = Date.now() + 10_000;
  for (;;) {
    const tasks = (await approver.get(`/api/runs/${runId}/reviews`)).body as Loose[];
    const open = tasks.find((x) => x.status === 'open');
    if (open) return open;
    if (Date.now() > until) throw new Error(`no open review task for run ${runId}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

async function decide(runId: string, body: Record<string, unknown>): Promise<Loose> {
  const task = await openTask(runId);
  const r = await approver.post(`/api/reviews/${task.id as string}/decision`, body);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

const review = { queue: 'pilot-review', outcomes: ['approve', 'review', 'decline'] };
const gates = [
  { metric: 'reviewAgreement', threshold: 0.5, minSamples: 2, action: 'block' },
  { metric: 'reviewOverrideRate', threshold: 0.5, minSamples: 2, action: 'block' },
];

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  developer = await addUser(t, admin, 'developer');
  approver = await addUser(t, admin, 'approver');
  flowId = (await createFlow(admin, scoringFlow())).id;
  // Score 8 approves under both; the challenger only differs in its threshold.
  const saved = await developer.put(`/api/flows/${flowId}`, { document: variant(5), message: 'threshold 5' });
  expect(saved.status).toBe(201);
  challenger = saved.body.version.number as number;
  key = (await admin.post('/api/keys', { name: 'pilot client', endpoints: '*' })).body.key as string;
}, 60_000);
afterAll(async () => {
  await t.destroy();
});

describe('review before release', () => {
  let endpointId: string;

  it('answers a synchronous call 202 with the run id, and releases the approved answer as the challenger gave it', async () => {
    endpointId = await publish('held-pilot');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: challenger,
      reason: 'pilot the new threshold with every decision reviewed',
      plan: {
        pilotShare: 100,
        minStageMs: 0,
        predictionPath: 'decision.outcome',
        review: { ...review, beforeRelease: true },
        gates,
      },
    });
    expect(started.status, started.text).toBe(201);

    const r = await call('held-pilot', applicant('Li Na'));
    expect(r.status, r.text).toBe(202);
    expect(r.body).toMatchObject({
      status: 'waiting',
      flowVersion: challenger,
      url: `/v1/runs/${r.body.runId as string}`,
      reviews: [{ queue: 'pilot-review' }],
    });
    // Nothing of the challenger's answer before the review: not in the 202, not on the run.
    expect(r.body.outputs).toBeUndefined();
    const waiting = await poll(r.body.runId);
    expect(waiting).toMatchObject({ status: 'waiting' });
    expect(waiting.outputs).toBeUndefined();

    // The reviewer sees the input and the answer the challenger would give.
    const task = await openTask(r.body.runId);
    expect(task.queue).toBe('pilot-review');
    expect(task.task.case.answer).toEqual({ decision: { outcome: 'approve', score: 8 } });
    expect(task.task.case.input).toMatchObject({ income: 64_000, debt: 8000 });
    expect(task.task.decision).toEqual({ outcome: 'approve' });

    // The wrong role may not release it.
    const byDeveloper = await developer.post(`/api/reviews/${task.id as string}/decision`, {
      action: 'approve',
      reason: 'mine',
    });
    expect(byDeveloper.status).toBe(403);

    const decided = await decide(r.body.runId, { action: 'approve', reason: 'consistent with policy' });
    expect(decided.resumed).toBe(true);
    const done = await pollUntil(r.body.runId, 'succeeded');
    expect(done.outputs).toEqual({ decision: { outcome: 'approve', score: 8 } });
  });

  it('releases the reviewer’s outcome when the reviewer overrides, keeping the rest of the answer', async () => {
    const r = await call('held-pilot', applicant('Zhang Wei'));
    expect(r.status).toBe(202);
    await decide(r.body.runId, { action: 'override', outcome: 'decline', reason: 'income not verified' });
    const done = await pollUntil(r.body.runId, 'succeeded');
    expect(done.outputs).toEqual({ decision: { outcome: 'decline', score: 8 } });
  });

  it('streams a waiting event, then the reviewed result, to an event-stream caller', async () => {
    const res = await fetch(`${t.url}/v1/endpoints/held-pilot`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        accept: 'text/event-stream',
      },
      body: JSON.stringify(applicant('Chen Jie')),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: waiting')) text += decoder.decode((await reader.read()).value);
    const runId = /"runId":"([^"]+)"/.exec(text.slice(text.indexOf('event: waiting')))?.[1] as string;
    expect(text).not.toContain('event: result');
    await decide(runId, { action: 'approve', reason: 'fine' });
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    const result = text.slice(text.indexOf('event: result'));
    expect(result).toContain('"status":"succeeded"');
    expect(JSON.parse(result.split('data: ')[1] as string).outputs).toEqual({
      decision: { outcome: 'approve', score: 8 },
    });
  });

  it('lets an asynchronous caller poll for the reviewed result, and feeds the review gates', async () => {
    const r = await call('held-pilot', applicant('Wang Fang'), {}, '?mode=async');
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('running');
    await pollUntil(r.body.runId, 'waiting');
    await decide(r.body.runId, { action: 'approve', reason: 'ok' });
    expect((await pollUntil(r.body.runId, 'succeeded')).outputs.decision.outcome).toBe('approve');

    // Four reviews of the challenger: three approvals agree, one override does not.
    const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    const [agreement, overrides] = s.gates as Loose[];
    expect(agreement).toMatchObject({ metric: 'reviewAgreement', samples: 4, value: 0.75 });
    expect(overrides).toMatchObject({ metric: 'reviewOverrideRate', samples: 4, value: 0.25 });
    // The held calls are observed when they begin to wait.
    const calls = (s.series as Loose[]).reduce((n, p) => n + (p.challenger.calls as number), 0);
    expect(calls).toBe(4);
  });

  it('answers from the champion, unheld, once the pilot is over', async () => {
    const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect((await developer.post(`/api/rollouts/${s.id as string}/kill`, { reason: 'done' })).status).toBe(
      200,
    );
    const r = await call('held-pilot', applicant('Li Na'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ flowVersion: 1, outputs: { decision: { outcome: 'approve' } } });
  });
});

describe('review after release', () => {
  it('answers at once and makes a sampled review task that labels the call without holding it', async () => {
    const endpointId = await publish('sampled-pilot');
    const started = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
      challengerVersion: challenger,
      reason: 'pilot with every answer reviewed afterwards',
      plan: {
        pilotShare: 100,
        minStageMs: 0,
        predictionPath: 'decision.outcome',
        review: { ...review, sampleAfterRelease: 1 },
        gates,
      },
    });
    expect(started.status, started.text).toBe(201);
    const runs: string[] = [];
    for (const name of ['A', 'B']) {
      const r = await call('sampled-pilot', applicant(name));
      expect(r.status).toBe(200);
      expect(r.body.outputs).toEqual({ decision: { outcome: 'approve', score: 8 } });
      runs.push(r.body.runId as string);
    }
    const task = await openTask(runs[0] as string);
    expect(task).toMatchObject({
      nodeId: 'rollout-post-release',
      queue: 'pilot-review',
      flowVersion: challenger,
    });
    expect(task.task.case.answer).toEqual({ decision: { outcome: 'approve', score: 8 } });
    const first = await decide(runs[0] as string, { action: 'reject', reason: 'should have been declined' });
    expect(first).toMatchObject({ decided: true, resumed: false });
    await decide(runs[1] as string, { action: 'approve', reason: 'right' });
    // The answered runs stay as they were.
    expect((await poll(runs[0] as string)).outputs.decision.outcome).toBe('approve');
    const s = (await admin.get(`/api/endpoints/${endpointId}/rollout`)).body;
    expect((s.gates as Loose[])[1]).toMatchObject({ metric: 'reviewOverrideRate', samples: 2, value: 0.5 });
    expect((await developer.post(`/api/rollouts/${s.id as string}/kill`, { reason: 'done' })).status).toBe(
      200,
    );
  });

  it('refuses malformed and hostile review settings', async () => {
    const endpointId = await publish('bad-review');
    for (const [bad, extra] of [
      [{ beforeRelease: true }, {}],
      [{ sampleAfterRelease: 2 }, {}],
      [{ sampleAfterRelease: -0.1 }, {}],
      [{ queue: 'Pilot Review' }, {}],
      [{ queue: 'q'.repeat(65) }, {}],
      [{ roles: ['root'] }, {}],
      [{ roles: [] }, {}],
      [{ outcomes: ['approve'] }, {}],
      [{ outcomes: ['approve', 'approve'] }, {}],
      [{ outcomes: ['approve', 'x" & $shutdown() & "'] }, {}],
      [{ outcomes: Array.from({ length: 21 }, (_, i) => `o${i}`) }, {}],
      [{ beforeRelease: 'yes' }, {}],
      [{ extra: 1 }, {}],
      [{ beforeRelease: true }, { predictionPath: 'decision.`outcome`' }],
    ] as const) {
      const r = await developer.post(`/api/endpoints/${endpointId}/rollouts`, {
        challengerVersion: challenger,
        reason: 'x',
        plan: { review: bad, ...extra },
      });
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
