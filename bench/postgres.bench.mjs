// The published-endpoint path on each storage: embedded SQLite (durability full and normal) against Postgres on
// the same machine (a real cluster started here with Debian's binaries: fsync on, synchronous_commit on, the
// durable default; and synchronous_commit=off, Postgres's counterpart of FINFLOW_DURABILITY=normal). One FinFlow
// server process at a time, a small flow (input -> one JSONata scoring step -> output) and a 20-node chain, 10
// concurrent clients (autocannon). Every call records a run, its events and an audit entry, so this measures
// what the storage costs a decision. "server CPU" is the FinFlow process's CPU time per request; "db CPU" is the
// Postgres cluster's (all its processes). Needs the built packages (`tsc -b`) and Postgres binaries (initdb,
// pg_ctl: Debian `postgresql`); as root the cluster runs as the `postgres` user.
// Usage: node bench/postgres.bench.mjs [--duration 10] [--connections 10]
//
// `--commits N` measures the commit path alone instead (issue 18, round 5): N endpoint-call commits one at a
// time (bench/lib/endpoint-commit.mjs: the echo run's row, its events, its audit entry) through
// PostgresRepository, counting the statements each sends (every one a round trip: node-postgres sends the next
// only when the last has answered) and the client's and the cluster's CPU per commit. `--against DIR` (a
// checkout with its packages built) alternates that build's repository with this one, `--rounds` times, each
// on a fresh database, for paired figures.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { endpointCall, realEvents } from './lib/endpoint-commit.mjs';
import { arg, cpuOf, fmt, freePort, load as loadOnce, publishFlows, startServer } from './lib/finflow.mjs';
import { chainFlow, smallFlow } from './lib/flows.mjs';

const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 10);
const WARMUP = 3;

// Postgres: a throwaway cluster in a temporary folder.
function binDir() {
  const base = '/usr/lib/postgresql';
  const v = existsSync(base)
    ? readdirSync(base)
        .filter((d) => existsSync(join(base, d, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  if (!v) throw new Error('no Postgres binaries under /usr/lib/postgresql (apt-get install postgresql)');
  return join(base, v, 'bin');
}
const root_ = process.getuid?.() === 0;
const pgRun = (bin, args) =>
  execFileSync(root_ ? 'runuser' : bin, root_ ? ['-u', 'postgres', '--', bin, ...args] : args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
async function startCluster() {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-pg-'));
  if (root_) {
    const id = (f) => Number(execFileSync('id', [f, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const port = await freePort();
  const data = join(dir, 'data');
  pgRun(join(bin, 'initdb'), ['-D', data, '-U', 'finflow', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  pgRun(join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    port,
    pid,
    createDb(name) {
      pgRun(join(bin, 'psql'), [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'finflow',
        '-d',
        'postgres',
        '-c',
        `CREATE DATABASE ${name}`,
      ]);
      return `postgres://finflow@127.0.0.1:${port}/${name}`;
    },
    stop() {
      pgRun(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU time of the Postgres cluster: the postmaster and all its children, in microseconds. */
function clusterCpu(postmaster) {
  let total = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      const ppid = Number(stat[1]);
      if (Number(p) === postmaster || ppid === postmaster) {
        // Exited children's time is in the postmaster's cutime/cstime (fields 13, 14).
        total +=
          (Number(stat[11]) +
            Number(stat[12]) +
            (Number(p) === postmaster ? Number(stat[13]) + Number(stat[14]) : 0)) *
          (1e6 / 100);
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

const load = (url, headers, duration) =>
  loadOnce({
    url,
    headers,
    duration,
    connections: CONNECTIONS,
    body: { income: 64000, debt: 8000 },
  });

/** One build's commit path on a fresh database: statements, client CPU and cluster CPU per one-run commit. */
async function commitPath(root, url, events, commits) {
  const { PostgresRepository } = await import(new URL('server/dist/repo/postgres.js', root).href);
  const { GroupCommitter } = await import(new URL('server/dist/db/group-commit.js', root).href);
  const repo = new PostgresRepository({ connectionString: url, auditKey: Buffer.alloc(32, 7) });
  await repo.migrate();
  const writer = new GroupCommitter(repo, 'full');
  const fill = endpointCall(events, 'echo');
  for (let i = 0; i < 500; i++) await writer.write(fill);
  const sent = statements.count;
  const [c0, d0] = [process.cpuUsage(), clusterCpu(cluster.pid)];
  for (let i = 0; i < commits; i++) await writer.write(fill);
  const client = process.cpuUsage(c0);
  const result = {
    statements: (statements.count - sent) / commits,
    clientCpu: (client.user + client.system) / commits,
    dbCpu: (clusterCpu(cluster.pid) - d0) / commits,
  };
  await repo.close();
  return result;
}

const statements = { count: 0 };
async function commitsOnly(commits) {
  const against = process.argv.includes('--against')
    ? process.argv[process.argv.indexOf('--against') + 1]
    : undefined;
  const rounds = arg('rounds', 3);
  // Every statement a repository sends goes through Client#query (the pool hands out Clients).
  const pg = createRequire(new URL('../server/package.json', import.meta.url))('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    statements.count++;
    return query.apply(this, args);
  };
  const events = await realEvents('echo');
  const builds = [
    ...(against ? [[`before (${against})`, pathToFileURL(`${resolve(against)}/`)]] : []),
    ['this build', new URL('../', import.meta.url)],
  ];
  console.log(
    `${commits} one-run commits (echo) per measurement after 500, load average ${loadavg()[0].toFixed(1)}\n`,
  );
  console.log(
    '| round | build | statements per commit | client CPU µs per commit | db CPU µs per commit | load |',
  );
  console.log('|---:|---|---:|---:|---:|---:|');
  let n = 0;
  for (let r = 1; r <= rounds; r++) {
    for (const [label, root] of builds) {
      const m = await commitPath(root, cluster.createDb(`commits_${n++}`), events, commits);
      console.log(
        `| ${r} | ${label} | ${m.statements.toFixed(2)} | ${fmt(m.clientCpu)} | ${fmt(m.dbCpu)} | ${loadavg()[0].toFixed(1)} |`,
      );
    }
  }
}

const cluster = await startCluster();
if (arg('commits', 0)) {
  try {
    await commitsOnly(arg('commits', 0));
  } finally {
    cluster.stop();
  }
  process.exit(0);
}
const stores = [
  ['SQLite, durability full', { FINFLOW_DURABILITY: 'full' }],
  ['SQLite, durability normal', { FINFLOW_DURABILITY: 'normal' }],
  ['Postgres, synchronous_commit on', { DATABASE_URL: cluster.createDb('bench_sync') }],
  [
    'Postgres, synchronous_commit off',
    { DATABASE_URL: `${cluster.createDb('bench_async')}?options=-c%20synchronous_commit%3Doff` },
  ],
];
const rows = [];
try {
  for (const [label, env] of stores) {
    const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-'));
    const server = await startServer({ FINFLOW_DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env });
    try {
      const { bearer } = await publishFlows(server, [
        ['score-small', smallFlow()],
        ['score-chain', chainFlow()],
      ]);
      for (const slug of ['score-small', 'score-chain']) {
        const url = `${server.ready}/v1/endpoints/${slug}`;
        await load(url, bearer, WARMUP);
        const [s0, d0] = [cpuOf(server.pid), clusterCpu(cluster.pid)];
        const r = await load(url, bearer, DURATION);
        const bad = r.non2xx + r.errors + r.timeouts;
        if (bad) throw new Error(`${label} ${slug}: ${bad} failed requests`);
        rows.push({
          label,
          slug,
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          serverCpu: (cpuOf(server.pid) - s0) / r.requests.total,
          dbCpu: env.DATABASE_URL ? (clusterCpu(cluster.pid) - d0) / r.requests.total : undefined,
        });
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  cluster.stop();
}

console.log(
  `\n${CONNECTIONS} connections, ${DURATION} s per measurement after ${WARMUP} s warm-up, node ${process.version}, load average ${loadavg()[0].toFixed(1)}\n`,
);
console.log('| flow | storage | req/s | p50 ms | p99 ms | server CPU us/req | db CPU us/req |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.slug === 'score-small' ? '3 nodes' : '21 nodes'} | ${r.label} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.serverCpu)} | ${r.dbCpu === undefined ? '' : fmt(r.dbCpu)} |`,
  );
}
