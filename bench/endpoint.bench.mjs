// Published-endpoint throughput and latency: FinFlow serving a small flow (input -> one scoring step -> output)
// and a 20-node flow, side by side with a bare Express handler doing the same computation, at 10 concurrent
// clients (autocannon). The scoring step is a JSONata data.transform (the 20-node flow chains 19 of them) and,
// in a second small flow, the product's native scorecard node (risk.scorecard in score mode with a model trained
// on German Credit at start), whose bare Express twin calls the same scoring function from @finflow/nodes. Each
// server is a separate process with default settings; FinFlow runs twice: with FINFLOW_DURABILITY=full (the
// default: every run event and the audit entry fsynced before the answer) and =normal (written to the OS before
// the answer, fsynced just after). "CPU us/req" is the server process's CPU time (all threads) per request: on
// a small machine, where autocannon competes for the same cores, it is the steadier measure of cost.
// Needs the built packages (`tsc -b`).
// Usage: node bench/endpoint.bench.mjs [--duration 10] [--connections 10]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  arg,
  edge,
  fmt,
  json,
  measure as measureLoad,
  publishFlows as publish,
  startProcess as startLibProcess,
  startServer,
} from './lib/finflow.mjs';
import { CHAIN_STEPS, chainFlow, smallFlow } from './lib/flows.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const scorecardLib = new URL('../nodes/builtin/dist/risk/ml/scorecard.js', import.meta.url).href;
const labelsLib = new URL('../nodes/builtin/dist/risk/ml/explain-text.js', import.meta.url).href;

const DURATION = arg('duration', 10);
const CONNECTIONS = arg('connections', 10);
const WARMUP = 3;

const applicant = { name: 'Li Na', income: 64000, debt: 8000, age: 34, months: 36 };
const STEPS = CHAIN_STEPS;

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

// German Credit (UCI Statlog) as objects keyed by the OpenML credit-g names, as the risk tests load it.
function loadGermanCredit() {
  const dir = join(root, 'datasets', 'german-credit');
  const meta = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8'));
  const rows = readFileSync(join(dir, 'german.data'), 'utf8')
    .trim()
    .split('\n')
    .map((line) =>
      Object.fromEntries(
        line
          .trim()
          .split(/\s+/)
          .map((v, i) => [meta.columnOrder[i], /^\d+$/.test(v) ? Number(v) : v]),
      ),
    );
  return { rows, labels: { columns: meta.columns, values: meta.values } };
}

// A small scorecard: six application columns, trained once here; both servers score with this model.
const german = loadGermanCredit();
const { trainScorecard } = await import(scorecardLib);
const scorecardModel = trainScorecard(german.rows, {
  target: 'class',
  positiveClass: '2',
  features: ['checking_status', 'duration', 'credit_history', 'credit_amount', 'savings_status', 'age'],
  exclude: [],
  numeric: [],
  categorical: [],
  l2: 1,
  costMatrix: { falseNegative: 5, falsePositive: 1 },
  seed: 1,
  thresholdFrom: 'costMatrix',
  labels: german.labels,
});
const { class: _class, ...scoredApplicant } = german.rows[1];
const scoreBody = { applicants: [scoredApplicant] };
const modelDir = mkdtempSync(join(tmpdir(), 'finflow-bench-model-'));
const modelFile = join(modelDir, 'scorecard.json');
writeFileSync(modelFile, JSON.stringify(scorecardModel));

const bareSource = `
import { readFileSync } from 'node:fs';
import express from 'express';
import { defaultBands, readScorecardModel, scoreScorecard } from ${JSON.stringify(scorecardLib)};
import { mergeLabels } from ${JSON.stringify(labelsLib)};
const scoreOf = ${scoreOf.toString()};
const STEPS = ${STEPS};
${bareSmall.toString()}
${bareChain.toString()}
// What risk.scorecard does in score mode with its default settings, called directly.
const model = readScorecardModel(JSON.parse(readFileSync(process.env.BENCH_MODEL_FILE, 'utf8')));
const defaults = defaultBands(model);
const scoreOptions = {
  scaling: { basePoints: 600, baseOdds: 50, pdo: 20 },
  bands: { basis: 'probability', approve: defaults.approve, decline: Math.max(defaults.decline, 0) },
  maxReasons: 4,
  keepColumns: [],
  labels: mergeLabels(model.labels, undefined),
};
const app = express();
app.use(express.json());
app.post('/small', (req, res) => res.json(bareSmall(req.body)));
app.post('/chain', (req, res) => res.json(bareChain(req.body)));
app.post('/scorecard', (req, res) => res.json({ result: scoreScorecard(model, req.body.applicants, scoreOptions) }));
const s = app.listen(0, '127.0.0.1', () => process.stderr.write(JSON.stringify({ ready: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
`;

/** FINFLOW_BENCH_PROFILE=<dir> writes a CPU profile of one FinFlow process (FINFLOW_BENCH_PROFILE_MODE: full or normal). */
const profileFlags = (profile) => {
  const dir = process.env['FINFLOW_BENCH_PROFILE'];
  return profile && dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
};

/** Resident memory of a process in MiB (VmRSS now, VmHWM the peak). */
function rssOf(pid, field = 'VmRSS') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
}

function scorecardFlow() {
  const columns = Object.fromEntries(
    Object.entries(scoredApplicant).map(([k, v]) => [
      k,
      { type: typeof v === 'number' ? 'integer' : 'string' },
    ]),
  );
  return {
    schemaVersion: 1,
    id: 'scorecard',
    name: 'Score (3 nodes, native scorecard)',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: {
            type: 'object',
            properties: {
              applicants: { type: 'array', items: { type: 'object', properties: columns }, minItems: 1 },
            },
            required: ['applicants'],
          },
        },
      },
      { id: 'score', type: 'risk.scorecard', version: 1, config: { mode: 'score', model: scorecardModel } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [edge('e1', 'in', 'applicants', 'score', 'table'), edge('e2', 'score', 'scores', 'out', 'value')],
  };
}

async function measure(label, url, pid, body, headers = {}) {
  const r = await measureLoad({
    url,
    headers,
    body,
    pids: [pid],
    duration: DURATION,
    warmup: WARMUP,
    connections: CONNECTIONS,
    label,
  });
  return { label, ...r };
}

/** Starts FinFlow with a durability mode, publishes the flows, checks its answers; stops it if any of that fails. */
async function startFinflow(durability, bare) {
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-'));
  const server = await startServer(
    { FINFLOW_DATA_DIR: dataDir, FINFLOW_DURABILITY: durability, LOG_LEVEL: 'info' },
    { flags: profileFlags(durability === (process.env['FINFLOW_BENCH_PROFILE_MODE'] ?? 'full')) },
  );
  try {
    return { ...server, dataDir, durability, ...(await publishFlows(server, bare)) };
  } catch (err) {
    server.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** Signs in, publishes the flows, checks FinFlow and Express answer alike; returns the bearer header. */
async function publishFlows(server, bare) {
  const { bearer, auth } = await publish(server, [
    ['score-small', smallFlow()],
    ['score-chain', chainFlow()],
    ['score-card', scorecardFlow()],
  ]);
  await json(`${server.ready}/api/catalog`, 'GET', undefined, auth);
  // Same answers from both servers before measuring anything.
  for (const [slug, path, body, expected] of [
    ['score-small', 'small', applicant, bareSmall(applicant)],
    ['score-chain', 'chain', applicant, bareChain(applicant)],
    ['score-card', 'scorecard', scoreBody, undefined],
  ]) {
    const a = (await json(`${server.ready}/v1/endpoints/${slug}`, 'POST', body, bearer)).body.outputs;
    const b = (await json(`${bare.ready}/${path}`, 'POST', body)).body;
    const same = JSON.stringify(a) === JSON.stringify(b);
    if (!same || (expected !== undefined && JSON.stringify(b) !== JSON.stringify(expected))) {
      throw new Error(`${slug}: FinFlow answered ${JSON.stringify(a)}, Express ${JSON.stringify(b)}`);
    }
  }
  return { bearer };
}

const servers = [];
let bare;
try {
  bare = await startLibProcess(bareSource, { BENCH_MODEL_FILE: modelFile });
  for (const durability of ['full', 'normal']) servers.push(await startFinflow(durability, bare));

  const rows = [];
  for (const [name, slug, path, body] of [
    ['small flow (3 nodes, JSONata step)', 'score-small', 'small', applicant],
    ['small flow (3 nodes, risk.scorecard step)', 'score-card', 'scorecard', scoreBody],
    ['20-node flow (JSONata steps)', 'score-chain', 'chain', applicant],
  ]) {
    const e = await measure(`express ${path}`, `${bare.ready}/${path}`, bare.child.pid, body);
    const fs = [];
    for (const server of servers) {
      fs.push({
        durability: server.durability,
        ...(await measure(
          `finflow ${slug}`,
          `${server.ready}/v1/endpoints/${slug}`,
          server.pid,
          body,
          server.bearer,
        )),
      });
    }
    rows.push({ name, e, fs });
  }

  console.log(
    `\n${CONNECTIONS} connections, ${DURATION} s per measurement after ${WARMUP} s warm-up, node ${process.version}, load average ${(await import('node:os')).loadavg()[0].toFixed(1)}\n`,
  );
  console.log('| shape | server | req/s | p50 ms | p99 ms | % of Express | CPU us/req |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const { name, e, fs } of rows) {
    console.log(`| ${name} | bare Express | ${fmt(e.rps)} | ${e.p50} | ${e.p99} | 100% | ${fmt(e.cpu)} |`);
    for (const f of fs) {
      const label =
        f.durability === 'full'
          ? 'FinFlow endpoint (durability full: fsync before answer)'
          : 'FinFlow endpoint (durability normal)';
      console.log(
        `| ${name} | ${label} | ${fmt(f.rps)} | ${f.p50} | ${f.p99} | ${fmt((f.rps / e.rps) * 100)}% | ${fmt(f.cpu)} |`,
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
  rmSync(modelDir, { recursive: true, force: true });
}
