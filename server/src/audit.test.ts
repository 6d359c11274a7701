import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chainHash, deriveAuditKey, GENESIS_HASH } from './audit-chain.js';
import { migrations } from './db/migrations.js';
import { hashValue } from './hash.js';
import { DATABASE_FILE, openDatabase, SqliteRepository } from './repo/sqlite.js';
import { hashPassword } from './security/passwords.js';
import {
  ADMIN,
  createFlow,
  setupAdmin,
  startTestServer,
  Client,
  tempDir,
  type TestServer,
} from './test-helpers/harness.js';
import { forge, rewriteChain } from './test-helpers/audit.js';
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

  it('refuses changes through the database triggers while they are in place (the MACs need them not)', async () => {
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

/** A workspace with more than 60 audit entries. */
async function longHistory(): Promise<{ t: TestServer; admin: Client }> {
  const { t, admin } = await withHistory();
  for (let i = 0; i < 50; i++) await admin.put(`/api/credentials/key-${i}`, { value: `value-${i}-secret` });
  return { t, admin };
}

describe('an audit chain someone rewrote with write access to the database file', () => {
  it('names entry 50 when it was changed and every SHA-256 and the stored head were recomputed', async () => {
    const { t, admin } = await longHistory();
    const entry50 = (await admin.get('/api/audit?limit=1000')).body.find(
      (e: { seq: number }) => e.seq === 50,
    );
    expect(entry50.workspaceId).toBe((await admin.get('/api/auth/me')).body.workspace.id);
    const kept = (await admin.get('/api/audit/checkpoint')).body;
    expect(kept).toMatchObject({ kind: 'finflow.audit-checkpoint', version: 1 });
    expect((await admin.post('/api/audit/verify', { checkpoint: kept })).body).toMatchObject({ ok: true });

    rewriteChain(t.dataDir, 50, forge);
    // The SHA-256 chain and the head are consistent again: only the MACs tell.
    const verify = await admin.get('/api/audit/verify');
    expect(verify.body.ok).toBe(false);
    expect(verify.body.firstBroken.seq).toBe(50);
    expect(verify.body.firstBroken.reason).toMatch(/forged/);
    const against = await admin.post('/api/audit/verify', { checkpoint: kept });
    expect(against.body).toMatchObject({ ok: false, firstBroken: { seq: 50 } });
    // And no checkpoint vouches for the forgery.
    expect((await admin.get('/api/audit/checkpoint')).body.error.code).toBe('AUDIT_CHAIN_BROKEN');
  });

  it('catches a database file rolled back to an earlier copy, against a checkpoint kept since', async () => {
    const { t } = await longHistory();
    await t.stop();
    const copy = tempDir('finflow-audit-copy-');
    for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`])
      if (existsSync(join(t.dataDir, f))) copyFileSync(join(t.dataDir, f), join(copy, f));
    const again = await startTestServer({ dataDir: t.dataDir });
    servers.push(again);
    const c = new Client(again.url);
    await c.login(ADMIN.email, ADMIN.password);
    for (let i = 0; i < 3; i++) await c.put(`/api/credentials/late-${i}`, { value: 'later entries' });
    const kept = (await c.get('/api/audit/checkpoint')).body;
    await again.stop();
    // The earlier copy replaces the file: every entry and the head are genuine, only the last ones are gone.
    for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`]) rmSync(join(t.dataDir, f), { force: true });
    for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`])
      if (existsSync(join(copy, f))) copyFileSync(join(copy, f), join(t.dataDir, f));
    rmSync(copy, { recursive: true, force: true });
    const restored = await startTestServer({ dataDir: t.dataDir });
    servers.push(restored);
    const r = new Client(restored.url);
    await r.login(ADMIN.email, ADMIN.password);
    const plain = await r.get('/api/audit/verify');
    expect(plain.body.ok).toBe(true);
    const verify = await r.post('/api/audit/verify', { checkpoint: kept });
    expect(verify.body.ok).toBe(false);
    expect(verify.body.firstBroken.seq).toBe(kept.seq);
    expect(verify.body.firstBroken.reason).toMatch(/removed from the end/);
  });

  it('catches, against a checkpoint, a rewrite by someone who also had the master key', async () => {
    const { t, admin } = await longHistory();
    const kept = (await admin.get('/api/audit/checkpoint')).body;
    const key = deriveAuditKey(
      Buffer.from(readFileSync(join(t.dataDir, 'secret.key'), 'utf8').trim(), 'hex'),
    );
    rewriteChain(t.dataDir, 50, forge, key);
    expect((await admin.get('/api/audit/verify')).body.ok).toBe(true);
    const verify = await admin.post('/api/audit/verify', { checkpoint: kept });
    expect(verify.body.ok).toBe(false);
    expect(verify.body.firstBroken.seq).toBe(kept.seq);
  });

  it('refuses a checkpoint it did not sign, or one of another workspace', async () => {
    const { admin } = await withHistory();
    const kept = (await admin.get('/api/audit/checkpoint')).body;
    const forged = await admin.post('/api/audit/verify', { checkpoint: { ...kept, count: kept.count + 1 } });
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('INVALID_CHECKPOINT');
    const other = (await admin.post('/api/workspaces', { name: 'Other' })).body.id;
    await admin.post('/api/auth/workspace', { workspaceId: other });
    expect((await admin.post('/api/audit/verify', { checkpoint: kept })).body.error.code).toBe(
      'INVALID_CHECKPOINT',
    );
  });
});

describe('a database from before authenticated audit entries', () => {
  it('is upgraded: entries keep their SHA-256 and get MACs, the first admin becomes instance owner', async () => {
    const dataDir = tempDir('finflow-audit-v1-');
    // Version 1 of the schema, with an admin and a chain written the way FinFlow 1 wrote it.
    const v1 = new SqliteRepository(openDatabase(dataDir), join(dataDir, DATABASE_FILE), [
      migrations[0] as (typeof migrations)[number],
    ]);
    v1.migrateSync();
    const db = v1.db;
    db.prepare('INSERT INTO workspaces VALUES (?, ?, ?)').run('ws_old', 'Old', 1);
    db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL)').run(
      'usr_old',
      ADMIN.email,
      ADMIN.name,
      await hashPassword(ADMIN.password),
      1,
    );
    db.prepare("INSERT INTO memberships VALUES ('ws_old', 'usr_old', 'admin', 1)").run();
    let prev = GENESIS_HASH;
    const insert = db.prepare('INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (let seq = 1; seq <= 5; seq++) {
      const f = {
        seq,
        workspaceId: 'ws_old',
        at: seq,
        actor: '{"type":"system"}',
        action: 'flow.saved',
        target: 'flow:x',
        details: `{"version":${seq}}`,
      };
      const hash = chainHash(prev, f);
      insert.run(seq, f.workspaceId, f.at, f.actor, f.action, f.target, f.details, prev, hash);
      prev = hash;
    }
    db.prepare("INSERT INTO audit_heads VALUES ('ws_old', 5, ?, 5)").run(prev);
    await v1.close();

    const t = await startTestServer({ dataDir });
    servers.push(t);
    const c = new Client(t.url);
    expect((await c.login(ADMIN.email, ADMIN.password)).status).toBe(200);
    expect((await c.get('/api/auth/me')).body.user.instanceOwner).toBe(true);
    const verify = await c.get('/api/audit/verify');
    expect(verify.body).toEqual({ ok: true, entries: 6 });
    const oldest = (await c.get('/api/audit?limit=10')).body.at(-1);
    expect(oldest.hash).toBe(
      chainHash(GENESIS_HASH, {
        seq: 1,
        workspaceId: 'ws_old',
        at: 1,
        actor: '{"type":"system"}',
        action: 'flow.saved',
        target: 'flow:x',
        details: '{"version":1}',
      }),
    );
    // From now on a recomputed rewrite of an old entry is caught.
    rewriteChain(dataDir, 2, (d) => d.replace('2', '9'));
    expect((await c.get('/api/audit/verify')).body.firstBroken.seq).toBe(2);
  });
});
