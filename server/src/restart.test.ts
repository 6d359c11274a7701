import { rmSync } from 'node:fs';
import type { RunEvent } from '@finflow/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, Client, createFlow, tempDir, waitForRun } from './test-helpers/harness.js';
import { exited, startChildServer, type ChildServer } from './test-helpers/processes.js';
import { slowFlow } from './test-helpers/flows.js';

const dataDir = tempDir('finflow-restart-');
const children: ChildServer[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<ChildServer> {
  const s = await startChildServer(dataDir, env);
  children.push(s);
  return s;
}

async function signIn(url: string): Promise<Client> {
  const c = new Client(url);
  const r = await c.login(ADMIN.email, ADMIN.password);
  expect(r.status).toBe(200);
  return c;
}

/** Waits until the run's node `wait` has started (the run is in flight). */
async function inFlight(c: Client, runId: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const events = (await c.get(`/api/runs/${runId}/events`)).body as RunEvent[];
    if (events.some((e) => e.type === 'node.started' && e.nodeId === 'wait')) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('the run never got going');
}

describe('runs across restarts', () => {
  it('marks a run interrupted after the server is killed mid-run, and re-runs it', async () => {
    const first = await start();
    expect(first.setupToken).toBeTruthy();
    const admin = new Client(first.url);
    const setup = await admin.post('/api/auth/setup', { token: first.setupToken, ...ADMIN });
    expect(setup.status).toBe(201);
    admin.csrf = setup.body.csrfToken;
    const { id } = await createFlow(admin, slowFlow(1_000));
    const run = await admin.post(`/api/flows/${id}/runs`, { input: { n: 42 } });
    expect(run.status).toBe(202);
    await inFlight(admin, run.body.runId);

    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await start();
    expect(second.setupToken).toBeNull();
    const c = await signIn(second.url);
    const detail = await c.get(`/api/runs/${run.body.runId}`);
    expect(detail.body.status).toBe('interrupted');
    expect(detail.body.run.error).toMatchObject({ code: 'INTERRUPTED' });
    const events = (await c.get(`/api/runs/${run.body.runId}/events`)).body as RunEvent[];
    expect(events.at(-1)).toMatchObject({
      type: 'run.interrupted',
      reason: expect.stringMatching(/stopped/),
    });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect((await c.get('/api/runs?status=interrupted')).body.map((r: { id: string }) => r.id)).toEqual([
      run.body.runId,
    ]);

    const again = await c.post(`/api/runs/${run.body.runId}/rerun`);
    expect(again.status).toBe(202);
    const done = await waitForRun(c, again.body.runId);
    expect(done).toMatchObject({ status: 'succeeded', rerunOf: run.body.runId });
    expect(done.run.outputs).toEqual({ value: { n: 42 } });

    second.child.kill('SIGKILL');
    await exited(second.child);
  }, 90_000);

  it('at a graceful stop lets short runs finish and marks the others interrupted', async () => {
    const server = await start({ FINFLOW_SHUTDOWN_GRACE_MS: '1500' });
    const c = await signIn(server.url);
    const quick = await createFlow(c, slowFlow(400, 'Finishes in the grace period'));
    const long = await createFlow(c, slowFlow(60_000, 'Outlives the grace period'));
    const q = (await c.post(`/api/flows/${quick.id}/runs`, { input: { n: 1 } })).body.runId as string;
    const l = (await c.post(`/api/flows/${long.id}/runs`, { input: { n: 2 } })).body.runId as string;
    await inFlight(c, q);
    await inFlight(c, l);
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);

    const after = await start();
    const c2 = await signIn(after.url);
    expect((await c2.get(`/api/runs/${q}`)).body.status).toBe('succeeded');
    const interrupted = await c2.get(`/api/runs/${l}`);
    expect(interrupted.body.status).toBe('interrupted');
    const events = (await c2.get(`/api/runs/${l}/events`)).body as RunEvent[];
    expect(events.at(-1)).toMatchObject({
      type: 'run.interrupted',
      reason: expect.stringMatching(/shut down/),
    });
    after.child.kill('SIGTERM');
    expect(await exited(after.child)).toBe(0);
  }, 90_000);
});
