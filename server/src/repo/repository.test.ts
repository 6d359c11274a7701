/**
 * The repository suite (repository-suite.ts) against both implementations: SQLite in a temporary folder, and
 * Postgres on a real server (test-helpers/postgres.ts: FINFLOW_TEST_POSTGRES_URL or a throwaway cluster).
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ChainVerifier, chainHash, entryMac, GENESIS_HASH } from '../audit-chain.js';
import { GroupCommitter } from '../db/group-commit.js';
import { postgresMigrations } from '../db/postgres-migrations.js';
import { tempDir } from '../test-helpers/harness.js';
import { needPostgres, startTestPostgres, type TestPostgresResult } from '../test-helpers/postgres.js';
import { PostgresRepository } from './postgres.js';
import { repositorySuite, runRecord, SUITE_AUDIT_KEY } from './repository-suite.js';
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

  it('commits an endpoint call in four statements (BEGIN, its run with its events, its audit entry, COMMIT), and reads a version 13 database’s event rows after migration 14', async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const old = new PostgresRepository({ pool, migrations: postgresMigrations.slice(0, 13) });
    opened.push(old);
    expect(await old.migrate()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    const c = new pg.Client(pool);
    await c.connect();
    await c.query(
      `INSERT INTO runs (id, workspace_id, flow_id, flow_version, status, trigger, actor, started_at, finished_at, ms)
       VALUES ('old1', 'ws_1', 'flw_1', 1, 'succeeded', 'endpoint', 'key:k1', 1, 2, 1)`,
    );
    const logged = (seq: number) =>
      JSON.stringify({
        type: 'node.logged',
        runId: 'old1',
        seq,
        at: seq,
        nodeId: 'n',
        level: 'info',
        message: 'm',
      });
    await c.query("INSERT INTO run_events (run_id, seq, last_seq, data) VALUES ('old1', 0, 1, $1)", [
      `[${logged(0)},${logged(1)}]`,
    ]);
    await c.end();
    const repo = new PostgresRepository({ pool, auditKey: SUITE_AUDIT_KEY });
    opened.push(repo);
    expect(await repo.migrate()).toEqual([14]);
    expect((await repo.runEvents('old1', 0)).map((e) => e.seq)).toEqual([1]);
    expect(await repo.lastEventSeq('old1')).toBe(1);

    const writer = new GroupCommitter(repo, 'full');
    const sent: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = args[0];
      sent.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    const input = { id: 'req-1', amount: 12.5 };
    try {
      await writer.write((b) => {
        b.runs.push(runRecord('e1', { status: 'succeeded', finishedAt: 2, ms: 1, endpointId: 'ep_1' }));
        b.events.push({
          runId: 'e1',
          seq: 0,
          lastSeq: 1,
          events: [],
          objects: [
            {
              type: 'run.started',
              runId: 'e1',
              seq: 0,
              at: 1,
              flowId: 'flw_1',
              flowName: 'Score',
              input,
              nodes: [],
            },
            {
              type: 'run.finished',
              runId: 'e1',
              seq: 1,
              at: 2,
              status: 'succeeded',
              outputs: { input },
              ms: 1,
            },
          ],
        });
        b.audit.push({
          workspaceId: 'ws_1',
          at: 2,
          actor: { type: 'key', id: 'k1', name: 'core' },
          action: 'endpoint.decision',
          target: 'endpoint:ep_1',
          details: { runId: 'e1', status: 'succeeded' },
        });
      });
    } finally {
      pg.Client.prototype.query = query;
    }
    expect(sent).toHaveLength(4);
    expect([sent[0], sent[3]]).toEqual(['BEGIN', 'COMMIT']);
    expect(sent[1]).toMatch(/INSERT INTO runs[\s\S]*audit_lock_heads/);
    expect(sent[1]).not.toMatch(/run_events/);
    expect(sent[2]).toMatch(/INSERT INTO audit_log[\s\S]*INSERT INTO audit_heads/);
    expect((await repo.runEvents('e1', -1)).map((e) => e.type)).toEqual(['run.started', 'run.finished']);
    const v = new ChainVerifier(SUITE_AUDIT_KEY);
    v.feed(await repo.auditChain('ws_1', 0, 10));
    expect(v.finish(await repo.auditHead('ws_1'), 'ws_1')).toEqual({ ok: true, entries: 1 });
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
