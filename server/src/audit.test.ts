import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashValue } from './hash.js';
import { DATABASE_FILE } from './repo/sqlite.js';
import {
  createFlow,
  setupAdmin,
  startTestServer,
  type Client,
  type TestServer,
} from './test-helpers/harness.js';
import { scoringFlow } from './test-helpers/flows.js';

const servers: TestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()?.destroy();
});

/** A server with some history: a login, flow saves, a publish, a key and endpoint decisions. */
async function withHistory(): Promise<{ t: TestServer; admin: Client }> {
  const t = await startTestServer();
  servers.push(t);
  const admin = await setupAdmin(t);
  const doc = { ...scoringFlow(), settings: { redact: { inputPaths: ['name'], nodes: [] } } };
  const { id } = await createFlow(admin, doc);
  await admin.put(`/api/flows/${id}`, { document: { ...doc, name: 'Renamed' }, message: 'rename' });
  const ep = await admin.post('/api/endpoints', { flowId: id, version: 2, slug: 'decide' });
  const key = (await admin.post('/api/keys', { name: 'core banking', endpoints: [ep.body.id] })).body.key;
  for (const income of [50_000, 9_000]) {
    const r = await fetch(`${t.url}/v1/endpoints/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ name: 'Huang Xiaoming', income, debt: 4_000 }),
    });
    expect(r.status).toBe(200);
  }
  return { t, admin };
}

function tamper(t: TestServer, sql: string, ...params: unknown[]): void {
  const db = new Database(join(t.dataDir, DATABASE_FILE));
  try {
    // Someone with the file can drop the append-only triggers; the chain still shows the edit.
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

describe('audit log', () => {
  it('records logins, saves, publishes, keys and every endpoint decision, masked, and verifies', async () => {
    const { admin } = await withHistory();
    const entries = (await admin.get('/api/audit?limit=1000')).body as {
      seq: number;
      action: string;
      actor: { type: string; name?: string };
      details: Record<string, unknown>;
      hash: string;
      prevHash: string;
    }[];
    const actions = entries.map((e) => e.action).reverse();
    expect(actions).toEqual(
      expect.arrayContaining([
        'user.created',
        'auth.login',
        'flow.created',
        'flow.saved',
        'endpoint.published',
        'key.created',
        'endpoint.decision',
      ]),
    );
    const decisions = entries.filter((e) => e.action === 'endpoint.decision');
    expect(decisions).toHaveLength(2);
    expect(decisions[0]?.actor).toMatchObject({ type: 'key', name: 'core banking' });
    expect(decisions[0]?.details).toMatchObject({
      slug: 'decide',
      flowVersion: 2,
      status: 'succeeded',
      httpStatus: 200,
      inputHash: hashValue({ name: 'Huang Xiaoming', income: 9_000, debt: 4_000 }),
    });
    expect(JSON.stringify(entries)).not.toContain('Huang Xiaoming');
    // Newest first, each entry chained to the one before it.
    for (let i = 0; i + 1 < entries.length; i++) expect(entries[i]?.prevHash).toBe(entries[i + 1]?.hash);
    const verify = await admin.get('/api/audit/verify');
    expect(verify.body).toEqual({ ok: true, entries: entries.length });
    const page = await admin.get(`/api/audit?limit=2&before=${entries[0]?.seq}`);
    expect(page.body.map((e: { seq: number }) => e.seq)).toEqual([entries[1]?.seq, entries[2]?.seq]);
  });

  it('reports the first entry whose content was edited', async () => {
    const { t, admin } = await withHistory();
    const entries = (await admin.get('/api/audit?limit=1000')).body as { seq: number; action: string }[];
    const target = entries.find((e) => e.action === 'flow.saved') as { seq: number };
    tamper(
      t,
      "UPDATE audit_log SET details = replace(details, 'rename', 'nothing to see') WHERE seq = ?",
      target.seq,
    );
    const verify = await admin.get('/api/audit/verify');
    expect(verify.body.ok).toBe(false);
    expect(verify.body.firstBroken.seq).toBe(target.seq);
    expect(verify.body.firstBroken.reason).toMatch(/altered/);
  });

  it('reports an entry removed from the middle, and one removed from the end', async () => {
    const { t, admin } = await withHistory();
    const entries = (await admin.get('/api/audit?limit=1000')).body as { seq: number }[];
    const ascending = entries.map((e) => e.seq).reverse();
    const removed = ascending[3] as number;
    tamper(t, 'DELETE FROM audit_log WHERE seq = ?', removed);
    const verify = await admin.get('/api/audit/verify');
    expect(verify.body).toMatchObject({ ok: false, firstBroken: { seq: ascending[4] } });
    expect(verify.body.firstBroken.reason).toMatch(/removed/);

    const { t: t2, admin: admin2 } = await withHistory();
    const last = (await admin2.get('/api/audit?limit=1')).body[0].seq as number;
    tamper(t2, 'DELETE FROM audit_log WHERE seq = ?', last);
    const truncated = await admin2.get('/api/audit/verify');
    expect(truncated.body).toMatchObject({ ok: false, firstBroken: { seq: last } });
  });

  it('refuses changes through the database triggers while they are in place', async () => {
    const { t } = await withHistory();
    const db = new Database(join(t.dataDir, DATABASE_FILE));
    try {
      expect(() => db.prepare('UPDATE audit_log SET action = ?').run('x')).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });
});
