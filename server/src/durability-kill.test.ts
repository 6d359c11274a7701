// No answered endpoint call is lost when the server is killed under load (issue 18, durability full): the writer
// thread syncs group N while it commits group N+1, and an answer waits for its own group's sync, so every call
// that got its 200 must find its run, its compact event record and its audit entry after a SIGKILL and a restart,
// whichever group was in flight when the process died. A SIGKILL keeps the page cache, so this guards the groups in
// flight and WAL recovery; the sync itself (power loss) rests on the ack order checked in writer-thread.test.ts.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from './repo/sqlite.js';
import { ADMIN, Client, createFlow, tempDir } from './test-helpers/harness.js';
import { exited, startChildServer, type ChildServer } from './test-helpers/processes.js';
import { scoringFlow } from './test-helpers/flows.js';

const dataDir = tempDir('finflow-kill-');
const children: ChildServer[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** One caller: calls the endpoint back to back until stopped, collecting the run ids of the 200 answers. */
async function caller(url: string, key: string, n: number, answered: string[], stop: { now: boolean }) {
  for (let i = 0; !stop.now; i++) {
    try {
      const res = await fetch(`${url}/v1/endpoints/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ name: `caller ${n} call ${i}`, income: 5000 + i, debt: 100 * n }),
      });
      const body = (await res.json()) as { runId?: string };
      if (res.status === 200 && body.runId) answered.push(body.runId);
    } catch {
      // The server died under this call: it was never answered, so nothing is owed to it.
      return;
    }
  }
}

describe('durability full under a SIGKILL', () => {
  it('keeps the run, its record and its audit entry of every call answered before the kill', async () => {
    const first = await startChildServer(dataDir, { FINFLOW_DURABILITY: 'full' });
    children.push(first);
    const admin = new Client(first.url);
    const setup = await admin.post('/api/auth/setup', { token: first.setupToken, ...ADMIN });
    expect(setup.status).toBe(201);
    admin.csrf = setup.body.csrfToken;
    const { id: flowId } = await createFlow(admin, scoringFlow('Killed under load'));
    const ep = await admin.post('/api/endpoints', {
      flowId,
      version: 1,
      slug: 'kill',
      rateLimitPerMinute: 100_000,
    });
    expect(ep.status).toBe(201);
    const key = (await admin.post('/api/keys', { name: 'kill', endpoints: [ep.body.id] })).body.key as string;

    // Ten callers keep groups in flight (one syncing, the next committing) when the kill lands.
    const answered: string[] = [];
    const stop = { now: false };
    const callers = Array.from({ length: 10 }, (_, n) => caller(first.url, key, n, answered, stop));
    for (let i = 0; i < 600 && answered.length < 150; i++) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGKILL');
    await exited(first.child);
    stop.now = true;
    await Promise.all(callers);
    expect(answered.length).toBeGreaterThanOrEqual(150);

    // A restart recovers the WAL; every answered call is there, in full.
    const second = await startChildServer(dataDir);
    children.push(second);
    const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    try {
      const run = db.prepare("SELECT status FROM runs WHERE id = ? AND trigger = 'endpoint'").pluck();
      // A run's events: in its own row (started and finished in one commit), or in event rows.
      const record = db
        .prepare(
          `SELECT (SELECT count(*) FROM runs WHERE id = ? AND events IS NOT NULL)
             + (SELECT count(*) FROM run_events WHERE run_id = ?)`,
        )
        .pluck();
      const audited = new Set(
        (
          db
            .prepare("SELECT details FROM audit_log WHERE action = 'endpoint.decision'")
            .pluck()
            .all() as string[]
        ).map((d) => (JSON.parse(d) as { runId: string }).runId),
      );
      const lost = answered.filter(
        (id) => run.get(id) !== 'succeeded' || (record.get(id, id) as number) < 1 || !audited.has(id),
      );
      expect(lost).toEqual([]);
    } finally {
      db.close();
    }
    second.child.kill('SIGKILL');
    await exited(second.child);
  }, 120_000);
});
