// Published-endpoint throughput and latency: FinFlow serving a small flow (input -> one scoring step -> output)
// and a 20-node flow, side by side with a bare Express handler doing the same computation, at 10 concurrent
// clients (autocannon). Each server is a separate process with default settings; FinFlow runs twice: with
// FINFLOW_DURABILITY=full (the default: every run event and the audit entry fsynced before the answer) and
// =normal (written to the OS before the answer, fsynced just after). Needs the built packages (`tsc -b`).
// Usage: node bench/endpoint.bench.mjs [--duration 10] [--connections 10]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = new URL('../server/dist/index.js', import.meta.url).href;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 10);
const WARMUP = 3;

const applicant = { name: 'Li Na', income: 64000, debt: 8000, age: 34, months: 36 };
const STEPS = 18; // input + 18 steps + output = 20 nodes

// The computation, written once for the bare handler; the flows below express the same steps as JSONata.
const scoreOf = (a) => Math.round((a.income / (a.debt + 1)) * 100) / 100;
function bareSmall(a) {
  const score = scoreOf(a);
  return { result: { score, outcome: score >= 3 ? 'approve' : 'review' } };
}
function bareChain(a) {
  let d = { score: scoreOf(a), age: a.age, months: a.months };
  for (let i = 1; i <= STEPS; i++)
    d = { score: Math.round((d.score * 1.01 + i) * 100) / 100, age: d.age, months: d.months };
  return { result: { score: d.score, outcome: d.score >= 3 ? 'approve' : 'review' } };
}

const bareSource = `
import express from 'express';
const scoreOf = ${scoreOf.toString()};
const STEPS = ${STEPS};
${bareSmall.toString()}
${bareChain.toString()}
const app = express();
app.use(express.json());
app.post('/small', (req, res) => res.json(bareSmall(req.body)));
app.post('/chain', (req, res) => res.json(bareChain(req.body)));
const s = app.listen(0, '127.0.0.1', () => process.stderr.write(JSON.stringify({ ready: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
`;

const serverSource = `
import { startServer, loadConfig } from ${JSON.stringify(serverEntry)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken, pid: process.pid }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
`;

/** FINFLOW_BENCH_PROFILE=<dir> writes a CPU profile of one FinFlow process (FINFLOW_BENCH_PROFILE_MODE: full or normal). */
function startProcess(source, env, profile = false) {
  const dir = process.env['FINFLOW_BENCH_PROFILE'];
  const flags = profile && dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', source], {
    cwd: join(root, 'server'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d.toString();
      const line = err.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve({ child, ...JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`process exited ${code}: ${err}`)));
  });
}

/** Resident memory of a process in MiB (VmRSS now, VmHWM the peak). */
function rssOf(pid, field = 'VmRSS') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
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

function smallFlow() {
  return {
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
  };
}

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
  for (let i = 1; i < STEPS; i++) {
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
  // The last step folds in step 18 and the decision, like the bare handler's last iteration and outcome.
  nodes.push({
    id: `s${STEPS}`,
    type: 'data.transform',
    version: 1,
    config: {
      expression: `( $s := $round(data.score * 1.01 + ${STEPS}, 2); { "score": $s, "outcome": $s >= 3 ? "approve" : "review" } )`,
    },
  });
  edges.push(edge(`e${STEPS}`, `s${STEPS - 1}`, 'result', `s${STEPS}`, 'data'));
  nodes.push({ id: 'out', type: 'io.output', version: 1, config: { name: 'result' } });
  edges.push(edge('eout', `s${STEPS}`, 'result', 'out', 'value'));
  return { schemaVersion: 1, id: 'chain', name: 'Score (20 nodes)', nodes, edges };
}

function load(url, headers, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(applicant),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function measure(label, url, headers = {}) {
  await load(url, headers, WARMUP);
  const r = await load(url, headers, DURATION);
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad) throw new Error(`${label}: ${bad} failed requests`);
  return { label, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
}

/** Starts FinFlow with a durability mode, publishes both flows, checks its answers; returns what the load needs. */
async function startFinflow(durability, bare) {
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-'));
  const server = await startProcess(
    serverSource,
    { FINFLOW_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', FINFLOW_DURABILITY: durability },
    durability === (process.env['FINFLOW_BENCH_PROFILE_MODE'] ?? 'full'),
  );
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
  await json(`${api}/catalog`, 'GET', undefined, auth);
  const endpoints = [];
  for (const [slug, doc] of [
    ['score-small', smallFlow()],
    ['score-chain', chainFlow()],
  ]) {
    const flow = (await json(`${api}/flows`, 'POST', { document: doc }, auth)).body;
    const ep = (
      await json(
        `${api}/endpoints`,
        'POST',
        { flowId: flow.flow.id, version: 1, slug, rateLimitPerMinute: 10_000_000 },
        auth,
      )
    ).body;
    endpoints.push(ep.id);
  }
  const key = (await json(`${api}/keys`, 'POST', { name: 'bench', endpoints }, auth)).body.key;
  const bearer = { authorization: `Bearer ${key}` };
  // Same answers from both servers before measuring anything.
  for (const [slug, path, fn] of [
    ['score-small', 'small', bareSmall],
    ['score-chain', 'chain', bareChain],
  ]) {
    const a = (await json(`${server.ready}/v1/endpoints/${slug}`, 'POST', applicant, bearer)).body.outputs;
    const b = (await json(`${bare.ready}/${path}`, 'POST', applicant)).body;
    if (JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(b) !== JSON.stringify(fn(applicant))) {
      throw new Error(`${slug}: FinFlow answered ${JSON.stringify(a)}, Express ${JSON.stringify(b)}`);
    }
  }
  return { ...server, dataDir, bearer, durability };
}

const servers = [];
let bare;
try {
  bare = await startProcess(bareSource, {});
  for (const durability of ['full', 'normal']) servers.push(await startFinflow(durability, bare));

  const rows = [];
  for (const [name, slug, path] of [
    ['small flow (3 nodes)', 'score-small', 'small'],
    ['20-node flow', 'score-chain', 'chain'],
  ]) {
    const e = await measure(`express ${path}`, `${bare.ready}/${path}`);
    const fs = [];
    for (const server of servers) {
      fs.push({
        durability: server.durability,
        ...(await measure(`finflow ${slug}`, `${server.ready}/v1/endpoints/${slug}`, server.bearer)),
      });
    }
    rows.push({ name, e, fs });
  }

  const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(
    `\n${CONNECTIONS} connections, ${DURATION} s per measurement after ${WARMUP} s warm-up, node ${process.version}, load average ${(await import('node:os')).loadavg()[0].toFixed(1)}\n`,
  );
  console.log('| shape | server | req/s | p50 ms | p99 ms | % of Express |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const { name, e, fs } of rows) {
    console.log(`| ${name} | bare Express | ${fmt(e.rps)} | ${e.p50} | ${e.p99} | 100% |`);
    for (const f of fs) {
      const label =
        f.durability === 'full'
          ? 'FinFlow endpoint (durability full: fsync before answer)'
          : 'FinFlow endpoint (durability normal)';
      console.log(
        `| ${name} | ${label} | ${fmt(f.rps)} | ${f.p50} | ${f.p99} | ${fmt((f.rps / e.rps) * 100)}% |`,
      );
    }
  }
  // Idle memory needs a settled process: bench/server-memory.bench.mjs measures it.
  console.log('\n| FinFlow memory | durability full | durability normal |');
  console.log('|---|---:|---:|');
  console.log(
    `| peak RSS under this load, VmHWM (MiB) | ${servers.map((s) => fmt(rssOf(s.pid, 'VmHWM'), 1)).join(' | ')} |`,
  );
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  bare?.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  for (const s of servers) rmSync(s.dataDir, { recursive: true, force: true });
}
