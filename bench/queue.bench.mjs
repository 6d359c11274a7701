// Queue mode against main mode: published-endpoint throughput and latency (synchronous calls, 10 concurrent
// clients, autocannon) of a 3-node flow and a 20-node flow, served by one FinFlow process in main mode, and by
// one API server in queue mode with 1 and with 2 `finflow worker` processes (concurrency 8 each) on a real
// redis-server started here. All processes share this machine's cores with autocannon and Redis; in queue mode
// they share one SQLite file (WAL), as on one machine until the Postgres repository is in the build. "CPU
// us/req" adds up the CPU time of every FinFlow process (server and workers) and Redis per request.
// Needs the built packages (`tsc -b`) and Debian's redis-server.
// Usage: node bench/queue.bench.mjs [--duration 10] [--connections 10]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  arg,
  fmt,
  freePort,
  json,
  measure as measureLoad,
  publishFlows,
  startServer,
  startWorker,
  stopProcess as stop,
  waitFor,
} from './lib/finflow.mjs';
import { chainFlow, smallFlow } from './lib/flows.mjs';

const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 10);
const WARMUP = 3;

if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('queue.bench: redis-server is not installed (Debian: apt-get install redis-server)');
  process.exit(2);
}

const applicant = { name: 'Li Na', income: 64000, debt: 8000, age: 34, months: 36 };

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await waitFor(child, (out) => out.includes('Ready to accept connections'), 'redis-server');
  return { child, url: `redis://127.0.0.1:${port}`, dir };
}

async function measure(url, pids, headers) {
  return measureLoad({
    url,
    headers,
    body: applicant,
    pids,
    duration: DURATION,
    warmup: WARMUP,
    connections: CONNECTIONS,
  });
}

/** One configuration: a fresh data folder, its processes, the flows published, both shapes measured. */
async function configuration(label, workers, redis) {
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-queue-'));
  const env = {
    FINFLOW_DATA_DIR: dataDir,
    ...(workers ? { FINFLOW_MODE: 'queue', REDIS_URL: redis.url } : {}),
  };
  const children = [];
  try {
    const server = await startServer(env);
    children.push(server.child);
    const { bearer } = await publishFlows(server, [
      ['score-small', smallFlow()],
      ['score-chain', chainFlow()],
    ]);
    for (let i = 0; i < workers; i++) children.push(await startWorker(env));
    const pids = [...children.map((c) => c.pid), ...(workers ? [redis.child.pid] : [])];
    const rows = [];
    for (const [shape, slug] of [
      ['3 nodes', 'score-small'],
      ['21 nodes', 'score-chain'],
    ]) {
      const answer = (await json(`${server.ready}/v1/endpoints/${slug}`, 'POST', applicant, bearer)).body;
      if (!answer.outputs?.result) throw new Error(`${label} ${slug}: ${JSON.stringify(answer)}`);
      rows.push({ label, shape, ...(await measure(`${server.ready}/v1/endpoints/${slug}`, pids, bearer)) });
    }
    return rows;
  } finally {
    for (const c of children.reverse()) await stop(c);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const redis = await startRedis();
try {
  const rows = [];
  rows.push(...(await configuration('main mode (1 process)', 0, redis)));
  rows.push(...(await configuration('queue mode, 1 worker', 1, redis)));
  rows.push(...(await configuration('queue mode, 2 workers', 2, redis)));
  console.log(
    `\n${CONNECTIONS} connections, synchronous calls, ${DURATION} s per measurement after ${WARMUP} s warm-up, node ${process.version}, load average ${loadavg()[0].toFixed(1)}\n`,
  );
  console.log(
    '| flow | configuration | req/s | p50 ms | p99 ms | % of main mode | CPU us/req (all processes) |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const main = rows.find((m) => m.shape === r.shape && m.label.startsWith('main'));
    console.log(
      `| ${r.shape} | ${r.label} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt((100 * r.rps) / main.rps)}% | ${fmt(r.cpu)} |`,
    );
  }
} finally {
  redis.child.kill('SIGKILL');
  rmSync(redis.dir, { recursive: true, force: true });
}
