// The evaluation runner (issue 13) on the credit-approval template and German Credit: what `finflow eval` reports
// for latency and CPU per run at concurrency 1 (runs do not overlap, so per-run CPU is exact) and at 8, the
// evaluation's own wall time, and the overhead of the runner over running the same rows with runtime.run directly.
// Run: npm run bench -- evaluation   (or node --expose-gc bench/evaluation.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { createRegistry, createRuntime, evaluateFlows } from '@finflow/runtime';
import { parseDataset } from '@finflow/runtime/evaluation';
import { builtinNodes } from '@finflow/nodes';

const root = new URL('../', import.meta.url);
const flow = JSON.parse(readFileSync(new URL('templates/credit-approval/flow.json', root), 'utf8'));
const { $comment: _c, ...spec } = JSON.parse(
  readFileSync(new URL('templates/credit-approval/evaluation/german-credit.json', root), 'utf8'),
);
const rows = parseDataset(
  readFileSync(new URL('datasets/german-credit/german-credit.csv', root), 'utf8'),
  'csv',
);
const n = Number(process.env.EVAL_BENCH_ROWS ?? 1000);
const data = rows.slice(0, n);
const runtime = createRuntime({ registry: createRegistry(builtinNodes) });
const prepared = runtime.prepare(flow);
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');

// Warm-up: the first runs compile expressions and start the PII detector.
await evaluateFlows({
  runtime,
  versions: [{ version: 'warm', flow: prepared }],
  rows: data.slice(0, 20),
  datasetName: 'warm',
  spec: { ...spec, bootstrap: 0 },
});

console.log(
  `| rows | concurrency | wall s | latency p50 / p95 / p99 ms | CPU ms per run (p50 at c=1) | CPU ms per run (total / runs) | peak RSS MiB | AUC |`,
);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const concurrency of [1, 8]) {
  const report = await evaluateFlows({
    runtime,
    versions: [{ version: 'credit-approval', flow: prepared }],
    rows: data,
    datasetName: 'german-credit',
    spec: { ...spec, concurrency, bootstrap: 0 },
  });
  const v = report.versions[0];
  const p = v.performance;
  console.log(
    `| ${n} | ${concurrency} | ${fmt(p.wallMs / 1000, 1)} | ${fmt(p.latencyMs.p50)} / ${fmt(p.latencyMs.p95)} / ${fmt(p.latencyMs.p99)} | ${concurrency === 1 ? fmt(p.cpuMs.p50) : '(overlaps)'} | ${fmt(p.cpuMsPerRun)} | ${fmt(p.peakRssMiB, 0)} | ${fmt(v.quality.scores?.auc, 4)} |`,
  );
}

// The same rows through runtime.run alone, one at a time: the runner's overhead is the difference.
const { evaluateExpression } = await import('@finflow/runtime');
const inputs = [];
for (const r of data) inputs.push(await evaluateExpression(spec.input, r));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const input of inputs) await runtime.run(prepared, input);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  `\nruntime.run alone, concurrency 1: ${fmt(wall / 1000, 1)} s wall, ${fmt((cpu.user + cpu.system) / 1000 / n)} ms CPU per run`,
);
