/**
 * Postgres for tests: a real server, never a stand-in. `FINFLOW_TEST_POSTGRES_URL` names one (a role that may
 * create databases); otherwise, when the Postgres binaries are installed (Debian `postgresql`), a throwaway
 * cluster is started in a temporary folder on a free port and stopped with the test file. Postgres refuses to run
 * as root, so when the tests run as root (CI) the cluster runs as the `postgres` user (`runuser`). Each test file
 * gets a fresh database; `freshSchema` gives each test an empty schema of its own in it, cheaply.
 * When neither is available, `missing` says what to install or set.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** URL of this test file's database. */
  url: string;
  /** An empty schema in that database, and pool settings that make it the only one a connection sees. */
  freshSchema(): Promise<{ schema: string; pool: pg.PoolConfig }>;
  stop(): Promise<void>;
  /** Stops and starts the server again (same port and data), when this helper started it; else undefined. */
  halt?: () => void;
  restart?: () => void;
}

export type TestPostgresResult = { ok: true; pg: TestPostgres } | { ok: false; missing: string };

/** The bin folder of the newest installed Postgres, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a Postgres binary, as the `postgres` user when we are root. */
function pgExec(bin: string, args: string[]): string {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

const dbName = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;

async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = dbName('finflow_test');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

function withSchemas(
  url: string,
  stopAll: () => Promise<void>,
  control: Pick<TestPostgres, 'halt' | 'restart'> = {},
): TestPostgres {
  let n = 0;
  return {
    ...control,
    url,
    async freshSchema() {
      const schema = `t${++n}_${Math.random().toString(36).slice(2, 8)}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE SCHEMA ${schema}`);
      } finally {
        await c.end();
      }
      return { schema, pool: { connectionString: url, options: `-c search_path=${schema}` } };
    },
    stop: stopAll,
  };
}

/** A real Postgres for this test file, or what is missing to have one. */
export async function startTestPostgres(): Promise<TestPostgresResult> {
  const given = process.env['FINFLOW_TEST_POSTGRES_URL'];
  if (given) {
    const db = await createDatabase(given);
    return { ok: true, pg: withSchemas(db.url, () => db.drop()) };
  }
  const bin = postgresBinDir();
  if (!bin) {
    return {
      ok: false,
      missing:
        'Postgres: FINFLOW_TEST_POSTGRES_URL is not set and no Postgres binaries (initdb, pg_ctl) were found; install Debian postgresql or set FINFLOW_TEST_POSTGRES_URL=postgres://user@host/db (a role with CREATEDB)',
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'finflow-pg-'));
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  // fsync off: a test cluster is thrown away; durability is what the bench measures, not the tests.
  pgExec(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'finflow',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync',
  ]);
  const start = () =>
    pgExec(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      'start',
    ]);
  start();
  const control = {
    halt: () => void pgExec(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']),
    restart: () => void start(),
  };
  const stopCluster = async () => {
    try {
      pgExec(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const db = await createDatabase(`postgres://finflow@127.0.0.1:${port}/postgres`);
    return { ok: true, pg: withSchemas(db.url, stopCluster, control) };
  } catch (err) {
    await stopCluster();
    throw err;
  }
}

/**
 * For a test that needs Postgres: when there is none, fails where Postgres is required (CI sets
 * FINFLOW_REQUIRE_POSTGRES=1; .ci/run installs it) and otherwise skips visibly, saying what is missing.
 */
export function needPostgres(
  result: TestPostgresResult | undefined,
  ctx: { skip(note?: string): never },
): TestPostgres {
  if (!result) throw new Error('Postgres was not started (beforeAll did not run)');
  if (result.ok) return result.pg;
  if (process.env['FINFLOW_REQUIRE_POSTGRES'] === '1' || process.env['CI']) throw new Error(result.missing);
  return ctx.skip(result.missing);
}
