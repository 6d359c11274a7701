// risk.portfolio and risk.rules speed: mean-variance optimisation on PyPortfolioOpt's 20-stock price set
// (7,126 days), per objective, from prices and from given estimates; policy rules evaluated per record per
// second on German Credit and the ULB card-fraud sample.
// Run: npm run bench -- risk-portfolio   (or node --expose-gc bench/risk-portfolio.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';

const byType = (t) => builtinNodes.find((d) => d.type === t);
const portfolio = byType('risk.portfolio');
const rules = byType('risk.rules');
const datasets = new URL('../datasets/', import.meta.url);

const lines = (file) => readFileSync(new URL(file, datasets), 'utf8').trim().split(/\r?\n/);
const [head, ...rows] = lines('pypfopt-stock-prices/stock_prices.csv');
const cols = head.split(',');
const prices = rows.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
/** A bare context: the node's own cost, without the runtime's per-run validation and events. */
const ctx = {
  runId: 'bench',
  nodeId: 'n',
  nodeType: 'bench',
  attempt: 1,
  signal: new AbortController().signal,
  log: quiet,
  stream() {},
  secret: async () => {
    throw new Error('no secrets in benchmarks');
  },
  services: { clock: { now: () => Date.now() } },
  scope: { input: {}, nodes: {} },
  evaluate: async () => {
    throw new Error('not used');
  },
  engine: undefined,
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn, repeats) {
  globalThis.gc?.();
  await fn(); // warm-up
  const ts = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const objectives = [
  ['maxSharpe', {}],
  ['minVolatility', {}],
  ['efficientReturn', { targetReturn: 0.25 }],
  ['efficientRisk', { targetVolatility: 0.19 }],
  ['maxQuadraticUtility', { riskAversion: 2 }],
];
const estimates = await portfolio.run(
  ctx,
  { prices },
  portfolio.config.parse({ objective: 'minVolatility' }),
);
const given = { expectedReturns: estimates.expectedReturns, covariance: estimates.covariance };

console.log('### risk.portfolio: 20 assets, 7,126 daily prices (median of 20 runs)\n');
console.log('| objective | bounds | from prices (ms) | from estimates (ms) | QP solver steps |');
console.log('|---|---|---:|---:|---:|');
for (const bounds of [
  [0, 1],
  [null, null],
]) {
  for (const [objective, extra] of objectives) {
    const config = portfolio.config.parse({ objective, weightBounds: bounds, ...extra });
    const fromPrices = await time(() => portfolio.run(ctx, { prices }, config), 20);
    const fromEstimates = await time(() => portfolio.run(ctx, given, config), 20);
    const out = await portfolio.run(ctx, given, config);
    console.log(
      `| ${objective} | ${bounds[0] === null ? 'unbounded' : 'long-only'} | ${fromPrices.toFixed(2)} | ${fromEstimates.toFixed(3)} | ${out.performance.solverIterations} |`,
    );
  }
}

// Rules.
const credit = lines('german-credit/german.data').map((l) => {
  const a = l.trim().split(/\s+/);
  return {
    checking: a[0],
    duration: +a[1],
    amount: +a[4],
    savings: a[5],
    installmentRate: +a[7],
    age: +a[12],
  };
});
const creditConfig = rules.config.parse({
  rules: [
    {
      id: 'age-min',
      conditions: { all: [{ fact: 'age', operator: 'lessThan', value: 21 }] },
      outcome: 'decline',
      message: 'Applicant is {{ age }}',
    },
    {
      id: 'overdrawn-large',
      conditions: {
        all: [
          { fact: 'checking', operator: 'equal', value: 'A11' },
          { fact: 'savings', operator: 'equal', value: 'A61' },
          { fact: 'amount', operator: 'greaterThan', value: 5000 },
        ],
      },
      outcome: 'decline',
    },
    {
      id: 'long-term',
      conditions: { all: [{ fact: 'duration', operator: 'greaterThan', value: 48 }] },
      outcome: 'review',
    },
    {
      id: 'installment-burden',
      conditions: {
        all: [
          { fact: 'installmentRate', operator: 'greaterThanInclusive', value: 4 },
          { fact: 'amount', operator: 'greaterThan', value: 10000 },
        ],
      },
      outcome: 'review',
    },
  ],
});
const [fhead, ...flines] = lines('fraud/creditcard_ulb_492fraud_4000normal.csv');
const fcols = fhead.split(',').map((c) => c.replace(/"/g, ''));
const txs = flines.map((l) =>
  Object.fromEntries(l.split(',').map((v, i) => [fcols[i], Number(v.replace(/"/g, ''))])),
);
const fraudConfig = rules.config.parse({
  rules: [
    {
      id: 'v14-large',
      conditions: {
        all: [
          { fact: 'V14', operator: 'lessThan', value: -5 },
          { fact: 'Amount', operator: 'greaterThan', value: 100 },
        ],
      },
      outcome: 'block',
    },
    {
      id: 'pca-outlier',
      conditions: {
        any: [
          { fact: 'V14', operator: 'lessThan', value: -5 },
          { fact: 'V17', operator: 'lessThan', value: -5 },
        ],
      },
      outcome: 'review',
    },
  ],
});

async function throughput(records, config, mode) {
  const runtime = createRuntime({ registry: createRegistry(builtinNodes) });
  const flow = {
    schemaVersion: 1,
    id: 'rules-bench',
    name: 'rules',
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema: { type: 'object' } } },
      { id: 'r', type: 'risk.rules', version: 1, config },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      { id: 'a', from: { node: 'in', port: 'value' }, to: { node: 'r', port: 'record' } },
      { id: 'b', from: { node: 'r', port: 'decision' }, to: { node: 'out', port: 'value' } },
    ],
  };
  const prepared = runtime.prepare(flow);
  const once = (record) =>
    mode === 'node' ? rules.run(ctx, { record }, config) : runtime.run(prepared, record);
  for (const r of records.slice(0, 200)) await once(r); // warm-up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000)
    for (const r of records) {
      await once(r);
      n++;
    }
  return n / ((performance.now() - t0) / 1000);
}

console.log('\n### risk.rules: records per second (one at a time, 2 s each)\n');
console.log('| rule set | records | node run | whole flow run (input → rules → output) |');
console.log('|---|---|---:|---:|');
for (const [name, label, records, config] of [
  ['credit policy, 4 rules', `German Credit (${credit.length})`, credit, creditConfig],
  ['anti-fraud, 2 rules', `ULB card sample (${txs.length})`, txs, fraudConfig],
]) {
  const node = await throughput(records, config, 'node');
  const flow = await throughput(records, config, 'flow');
  console.log(
    `| ${name} | ${label} | ${Math.round(node).toLocaleString('en')} | ${Math.round(flow).toLocaleString('en')} |`,
  );
}
