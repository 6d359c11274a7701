/**
 * The repository suite (repository-suite.ts) against both implementations: SQLite in a temporary folder, and
 * Postgres on a real server (test-helpers/postgres.ts: FINFLOW_TEST_POSTGRES_URL or a throwaway cluster).
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import pg from 'pg';
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
});
