// Credit scorecard and fraud scoring (issue 3): training time, batch throughput (rows per second) and the
// latency of scoring one applicant / one transaction (p50 and p99), called directly and through the runtime.
// Also prints the cross-validated figures the tests assert (AUC, cost, recall at 1 % false positives).
// Run: npm run bench -- risk-scoring   (or node --expose-gc bench/risk-scoring.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';

const data = new URL('../datasets/', import.meta.url);
const scorecard = builtinNodes.find((d) => d.type === 'risk.scorecard');
const fraudScore = builtinNodes.find((d) => d.type === 'risk.fraudScore');
if (!scorecard || !fraudScore) throw new Error('risk.scorecard / risk.fraudScore are not registered');

function loadGerman() {
  const meta = JSON.parse(readFileSync(new URL('german-credit/labels.json', data), 'utf8'));
  const rows = readFileSync(new URL('german-credit/german.data', data), 'utf8')
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

function loadFraud() {
  const lines = readFileSync(new URL('fraud/creditcard_ulb_492fraud_4000normal.csv', data), 'utf8')
    .trim()
    .split(/\r?\n/);
  const header = lines[0].split(',').map((h) => h.replace(/^"|"$/g, ''));
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((h, i) => [h, Number(cells[i])]));
  });
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
/** Calls a node's run function directly: the node's own cost, without the runtime's validation and events. */
function direct(def, config) {
  const parsed = def.config.parse(config);
  const ctx = {
    signal: new AbortController().signal,
    log: quiet,
    services: { clock: { now: () => Date.now() } },
  };
  return (inputs) => def.run(ctx, inputs, parsed);
}
const runtime = createRuntime({ registry: createRegistry(builtinNodes) });
async function viaRuntime(def, config, inputs) {
  const r = await runtime.runNode({ type: def.type, version: def.version, config }, inputs);
  if (r.status !== 'succeeded') throw new Error(`${def.type}: ${r.error?.code} ${r.error?.message}`);
  return r.outputs;
}

const percentile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
async function timeOnce(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
async function medianMs(fn, runs) {
  const ms = [];
  for (let i = 0; i < runs; i++) ms.push(await timeOnce(fn));
  return percentile(ms, 0.5);
}
/** Per-call latencies in microseconds, after a warm-up. */
async function latencies(fn, inputsList, calls) {
  for (let i = 0; i < Math.min(calls, 500); i++) await fn(inputsList[i % inputsList.length]);
  globalThis.gc?.();
  const us = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await fn(inputsList[i % inputsList.length]);
    us.push((performance.now() - t) * 1000);
  }
  return { p50: percentile(us, 0.5), p90: percentile(us, 0.9), p99: percentile(us, 0.99) };
}
/** Rows per second over repeated batch calls for about one second. */
async function throughput(fn, rows) {
  await fn(rows);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 1000 || n < 3) {
    await fn(rows);
    n++;
  }
  return (n * rows.length) / ((performance.now() - start) / 1000);
}

const fmt = (v, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const table = [];
const row = (path, figure, note = '') => table.push(`| ${path} | ${figure} | ${note} |`);

// --- German Credit scorecard -------------------------------------------------------------------------
const german = loadGerman();
const gTrain = {
  mode: 'train',
  target: 'class',
  positiveClass: 2,
  costMatrix: { falseNegative: 5, falsePositive: 1 },
  labels: german.labels,
};
const trainScorecard = direct(scorecard, gTrain);
const gModel = (await trainScorecard({ table: german.rows })).model;
row(
  'scorecard: train, 1,000 rows x 20 columns',
  `${fmt(await medianMs(() => trainScorecard({ table: german.rows }), 5), 1)} ms`,
  'Newton/IRLS, 61 encoded features',
);
const trainCv = direct(scorecard, { ...gTrain, crossValidate: 10 });
let gMetrics;
row(
  'scorecard: train with 10-fold CV',
  `${fmt(await medianMs(async () => (gMetrics = (await trainCv({ table: german.rows })).metrics), 3), 1)} ms`,
  '11 fits',
);
const scoreScorecard = direct(scorecard, { mode: 'score' });
row(
  'scorecard: score a batch (with SHAP + reasons)',
  `${fmt(await throughput((rows) => scoreScorecard({ table: rows, model: gModel }), german.rows))} rows/s`,
  '1,000-row table',
);
const oneApplicant = german.rows.map((r) => ({ table: [r], model: gModel }));
let l = await latencies(scoreScorecard, oneApplicant, 5000);
row(
  'scorecard: one applicant, direct',
  `p50 ${fmt(l.p50, 1)} µs, p90 ${fmt(l.p90, 1)} µs, p99 ${fmt(l.p99, 1)} µs`,
);
l = await latencies((inputs) => viaRuntime(scorecard, { mode: 'score' }, inputs), oneApplicant, 2000);
row(
  'scorecard: one applicant, runtime.runNode',
  `p50 ${fmt(l.p50, 1)} µs, p90 ${fmt(l.p90, 1)} µs, p99 ${fmt(l.p99, 1)} µs`,
  'config + port validation',
);

// --- Fraud ------------------------------------------------------------------------------------------
const fraud = loadFraud();
const fTrain = { mode: 'train', label: 'Class', positiveClass: 1, exclude: ['Time'], amountColumn: 'Amount' };
const fMetrics = {};
const fModels = {};
for (const algorithm of ['gbt', 'logistic']) {
  const train = direct(fraudScore, { ...fTrain, algorithm });
  const ms = await medianMs(
    async () => {
      const out = await train({ table: fraud });
      fMetrics[algorithm] = out.metrics;
      fModels[algorithm] = out.model;
    },
    algorithm === 'gbt' ? 2 : 3,
  );
  row(
    `fraud (${algorithm}): train, 4,492 rows, 5-fold CV + final fit`,
    `${fmt(ms)} ms`,
    algorithm === 'gbt' ? '200 trees, depth 3' : 'L2 = 1',
  );
}
for (const algorithm of ['gbt', 'logistic']) {
  const score = direct(fraudScore, { mode: 'score' });
  const model = fModels[algorithm];
  row(
    `fraud (${algorithm}): score a batch (with SHAP + reasons)`,
    `${fmt(await throughput((rows) => score({ table: rows, model }), fraud))} rows/s`,
    '4,492-row table',
  );
  const single = fraud.map((t) => ({ transaction: t, model }));
  l = await latencies(score, single, 10000);
  row(
    `fraud (${algorithm}): one transaction, direct`,
    `p50 ${fmt(l.p50, 1)} µs, p90 ${fmt(l.p90, 1)} µs, p99 ${fmt(l.p99, 1)} µs`,
    'score + decision + reasons',
  );
  l = await latencies((inputs) => viaRuntime(fraudScore, { mode: 'score' }, inputs), single, 3000);
  row(
    `fraud (${algorithm}): one transaction, runtime.runNode`,
    `p50 ${fmt(l.p50, 1)} µs, p90 ${fmt(l.p90, 1)} µs, p99 ${fmt(l.p99, 1)} µs`,
    'config + port validation',
  );
}

console.log('| Path | Figure | Note |');
console.log('|---|---|---|');
for (const line of table) console.log(line);

console.log('\nCross-validated quality (seed 1, the figures the tests assert):\n');
console.log('| Model | CV | AUC (mean of folds) | pooled AUC | other |');
console.log('|---|---|---|---|---|');
console.log(
  `| German Credit scorecard (L2 = 1) | 10-fold stratified | ${fmt(gMetrics.auc, 4)} | ${fmt(gMetrics.pooledAuc, 4)} | cost ${fmt(gMetrics.cost, 3)} at the Bayes threshold 1/6 (accuracy ${fmt(gMetrics.accuracy, 3)}); hindsight optimum ${fmt(gMetrics.costOptimal.cost, 3)} at ${fmt(gMetrics.costOptimal.threshold, 3)} |`,
);
for (const algorithm of ['gbt', 'logistic']) {
  const m = fMetrics[algorithm];
  console.log(
    `| Fraud, ${algorithm} | 5-fold stratified | ${fmt(m.auc, 4)} | ${fmt(m.pooledAuc, 4)} | recall ${fmt(m.recallAtFpr.recall, 4)} at 1 % FPR (pooled ${fmt(m.recallAtFpr.pooledRecall, 4)}) |`,
  );
}
