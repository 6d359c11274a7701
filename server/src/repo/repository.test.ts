/**
 * The repository suite (repository-suite.ts) against both implementations: SQLite in a temporary folder, and
 * Postgres on a real server (test-helpers/postgres.ts: FINFLOW_TEST_POSTGRES_URL or a throwaway cluster).
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ChainVerifier, chainHash, entryMac, GENESIS_HASH } from '../audit-chain.js';
import { postgresMigrations } from '../db/postgres-migrations.js';
import { tempDir } from '../test-helpers/harness.js';
import { needPostgres, startTestPostgres, type TestPostgresResult } from '../test-helpers/postgres.js';
import { PostgresRepository } from './postgres.js';
import { repositorySuite, SUITE_AUDIT_KEY } from './repository-suite.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

const opened: Repository[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()?.close();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

describe('SQLite repository', () => {
  repositorySuite(async () => {
    const dir = tempDir('finflow-repo-');
    dirs.push(dir);
    const open = async () => {
      const repo = SqliteRepository.open(dir, { auditKey: SUITE_AUDIT_KEY });
      opened.push(repo);
      await repo.migrate();
      return repo;
    };
    const repo = await open();
    return {
      repo,
      another: open,
      exec: async (sql) => void repo.db.exec(sql),
    };
  });
});

describe('Postgres repository', () => {
  let server: TestPostgresResult | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    if (server?.ok) await server.pg.stop();
  });

  repositorySuite(async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const open = async () => {
      const repo = new PostgresRepository({ pool, auditKey: SUITE_AUDIT_KEY });
      opened.push(repo);
      await repo.migrate();
      return repo;
    };
    const repo = await open();
    return {
      repo,
      another: open,
      async exec(sql) {
        const c = new pg.Client(pool);
        await c.connect();
        try {
          await c.query(sql);
        } finally {
          await c.end();
        }
      },
    };
  });

  it('rotates an API key in one step: the old one revoked, the new one in; never twice, never across workspaces', async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const repo = new PostgresRepository({ pool, auditKey: SUITE_AUDIT_KEY });
    opened.push(repo);
    await repo.migrate();
    const key = (id: string, hash: string) => ({
      id,
      workspaceId: 'ws_1',
      name: 'core',
      prefix: `ff_${id}`,
      hash,
      endpoints: ['ep_1'],
      createdAt: 1,
      createdBy: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    await repo.createApiKey(key('k1', 'h1'));
    expect(await repo.rotateApiKey('ws_2', 'k1', key('k2', 'h2'), 5)).toBe(false);
    expect(await repo.rotateApiKey('ws_1', 'k1', key('k2', 'h2'), 5)).toBe(true);
    expect((await repo.getApiKey('ws_1', 'k1'))?.revokedAt).toBe(5);
    expect(await repo.getApiKey('ws_1', 'k2')).toMatchObject({ revokedAt: null, endpoints: ['ep_1'] });
    expect(await repo.getApiKey('ws_2', 'k2')).toBeUndefined();
    // The old key is revoked already: a second rotation writes nothing, not even its new key.
    expect(await repo.rotateApiKey('ws_1', 'k1', key('k3', 'h3'), 6)).toBe(false);
    expect(await repo.getApiKey('ws_1', 'k3')).toBeUndefined();
    // A new key that cannot be inserted (its hash taken) leaves the old key unrevoked.
    expect(await repo.rotateApiKey('ws_1', 'k2', key('k4', 'h1'), 7).catch(() => 'refused')).toBe('refused');
    expect((await repo.getApiKey('ws_1', 'k2'))?.revokedAt).toBeNull();
  });

  it('gives the audit entries of a version 3 database their MACs when it upgrades to version 4', async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const old = new PostgresRepository({ pool, migrations: postgresMigrations.slice(0, 3) });
    opened.push(old);
    expect(await old.migrate()).toEqual([1, 2, 3]);
    // Two entries as a version 3 server chained them (no MACs then).
    const c = new pg.Client(pool);
    await c.connect();
    let prev = GENESIS_HASH;
    for (const seq of [1, 2]) {
      const f = {
        seq,
        workspaceId: 'ws_1',
        at: seq,
        actor: '{"type":"system"}',
        action: 'a',
        target: 't',
        details: '{}',
      };
      const hash = chainHash(prev, f);
      await c.query(
        'INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [seq, f.workspaceId, f.at, f.actor, f.action, f.target, f.details, prev, hash],
      );
      prev = hash;
    }
    await c.query("INSERT INTO audit_heads (workspace_id, seq, hash, count) VALUES ('ws_1', 2, $1, 2)", [
      prev,
    ]);
    await c.end();
    // Without the key the upgrade is refused, and nothing of it is kept.
    const keyless = new PostgresRepository({ pool });
    opened.push(keyless);
    await expect(keyless.migrate()).rejects.toThrow(/needs the master key/);
    const repo = new PostgresRepository({
      pool,
      auditKey: SUITE_AUDIT_KEY,
      migrations: postgresMigrations.slice(0, 4),
    });
    opened.push(repo);
    expect(await repo.migrate()).toEqual([4]);
    const rows = await repo.auditChain('ws_1', 0, 10);
    expect(rows.map((r) => r.mac)).toEqual(rows.map((r) => entryMac(SUITE_AUDIT_KEY, r.hash)));
    const v = new ChainVerifier(SUITE_AUDIT_KEY);
    v.feed(rows);
    expect(v.finish(await repo.auditHead('ws_1'), 'ws_1')).toEqual({ ok: true, entries: 2 });
    // The append-only trigger is back.
    const check = new pg.Client(pool);
    await check.connect();
    await expect(check.query("UPDATE audit_log SET action = 'x'")).rejects.toThrow(/append-only/);
    await check.end();
  });
});
