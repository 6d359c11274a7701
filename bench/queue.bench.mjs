// Queue mode against main mode: published-endpoint throughput and latency (synchronous calls, 10 concurrent
// clients, autocannon) of a 3-node flow and a 20-node flow, served by one FinFlow process in main mode, and by
// one API server in queue mode with 1 and with 2 `finflow worker` processes (concurrency 8 each) on a real
// redis-server started here. All processes share this machine's cores with autocannon and Redis; in queue mode
// they share one SQLite file (WAL), as on one machine until the Postgres repository is in the build. "CPU
// us/req" adds up the CPU time of every FinFlow process (server and workers) and Redis per request.
// Needs the built packages (`tsc -b`) and Debian's redis-server.
// Usage: node bench/queue.bench.mjs [--duration 10] [--connections 10]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = new URL('../server/dist/index.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../server/bin/finflow.js', import.meta.url));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 10);
const WARMUP = 3;
const STEPS = 18;

if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('queue.bench: redis-server is not installed (Debian: apt-get install redis-server)');
  process.exit(2);
}

const applicant = { name: 'Li Na', income: 64000, debt: 8000, age: 34, months: 36 };

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const serverSource = `
import { startServer, loadConfig } from ${JSON.stringify(serverEntry)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken, pid: process.pid }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
`;

function waitFor(child, match, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const found = match(out);
      if (found) resolve(found);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${out}`)));
  });
}

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

async function startServerProcess(env) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', serverSource], {
    cwd: join(root, 'server'),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = await waitFor(
    child,
    (out) => {
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      return line ? JSON.parse(line) : undefined;
    },
    'server',
  );
  return { child, ...ready };
}

async function startWorker(env) {
  const child = spawn(process.execPath, [cli, 'worker', '--concurrency', '8'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitFor(child, (out) => out.includes('is taking runs'), 'worker');
  return child;
}

function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

async function json(url, method, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return { body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const edge = (id, from, fromPort, to, toPort) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});
const inputNode = {
  id: 'in',
  type: 'io.input',
  version: 1,
  config: {
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        income: { type: 'number' },
        debt: { type: 'number' },
        age: { type: 'integer' },
        months: { type: 'integer' },
      },
      required: ['income', 'debt'],
    },
  },
};
const smallFlow = () => ({
  schemaVersion: 1,
  id: 'small',
  name: 'Score (3 nodes)',
  nodes: [
    inputNode,
    {
      id: 'score',
      type: 'data.transform',
      version: 1,
      config: {
        expression:
          '( $s := $round(data.income / (data.debt + 1), 2); { "score": $s, "outcome": $s >= 3 ? "approve" : "review" } )',
      },
    },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
  ],
  edges: [edge('e1', 'in', 'value', 'score', 'data'), edge('e2', 'score', 'result', 'out', 'value')],
});
function chainFlow() {
  const nodes = [
    inputNode,
    {
      id: 's0',
      type: 'data.transform',
      version: 1,
      config: {
        expression:
          '{ "score": $round(data.income / (data.debt + 1), 2), "age": data.age, "months": data.months }',
      },
    },
  ];
  const edges = [edge('e0', 'in', 'value', 's0', 'data')];
  for (let i = 1; i <= STEPS; i++) {
    nodes.push({
      id: `s${i}`,
      type: 'data.transform',
      version: 1,
      config: {
        expression: `{ "score": $round(data.score * 1.01 + ${i}, 2), "age": data.age, "months": data.months }`,
      },
    });
    edges.push(edge(`e${i}`, `s${i - 1}`, 'result', `s${i}`, 'data'));
  }
  nodes.push({ id: 'out', type: 'io.output', version: 1, config: { name: 'result' } });
  edges.push(edge('eout', `s${STEPS}`, 'result', 'out', 'value'));
  return { schemaVersion: 1, id: 'chain', name: 'Score (20 nodes)', nodes, edges };
}

async function publishFlows(server) {
  const api = `${server.ready}/api`;
  const setup = await json(`${api}/auth/setup`, 'POST', {
    token: server.setupToken,
    email: 'bench@bank.example',
    name: 'Bench',
    password: 'benchmark password',
  });
  const cookie = setup.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const auth = { cookie, 'x-csrf-token': setup.body.csrfToken };
  const endpoints = [];
  for (const [slug, doc] of [
    ['score-small', smallFlow()],
    ['score-chain', chainFlow()],
  ]) {
    const flow = (await json(`${api}/flows`, 'POST', { document: doc }, auth)).body;
    endpoints.push(
      (
        await json(
          `${api}/endpoints`,
          'POST',
          { flowId: flow.flow.id, version: 1, slug, rateLimitPerMinute: 10_000_000 },
          auth,
        )
      ).body.id,
    );
  }
  const key = (await json(`${api}/keys`, 'POST', { name: 'bench', endpoints }, auth)).body.key;
  return { authorization: `Bearer ${key}` };
}

const load = (url, headers, duration) =>
  new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(applicant),
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  );

async function measure(url, pids, headers) {
  await load(url, headers, WARMUP);
  const cpu0 = pids.map(cpuOf);
  const r = await load(url, headers, DURATION);
  const cpu = pids.reduce((s, pid, i) => s + cpuOf(pid) - cpu0[i], 0) / r.requests.total;
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad) throw new Error(`${url}: ${bad} failed requests`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpu };
}

const stop = async (child) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

/** One configuration: a fresh data folder, its processes, the flows published, both shapes measured. */
async function configuration(label, workers, redis) {
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-queue-'));
  const env = {
    FINFLOW_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    ...(workers ? { FINFLOW_MODE: 'queue', REDIS_URL: redis.url } : {}),
  };
  const children = [];
  try {
    const server = await startServerProcess(env);
    children.push(server.child);
    const bearer = await publishFlows(server);
    for (let i = 0; i < workers; i++) children.push(await startWorker(env));
    const pids = [...children.map((c) => c.pid), ...(workers ? [redis.child.pid] : [])];
    const rows = [];
    for (const [shape, slug] of [
      ['3 nodes', 'score-small'],
      ['20 nodes', 'score-chain'],
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
  const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
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
