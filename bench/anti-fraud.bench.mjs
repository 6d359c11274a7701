// The anti-fraud template's scoring path (issue 5: p99 under 50 ms): the whole flow (features, the 200-tree fraud
// model and the rules in parallel, the decision and the audit record) run through the runtime on its six fixtures,
// one transaction at a time, as a published endpoint would. Prints p50 / p90 / p99 per transaction.
// Run: npm run bench -- anti-fraud   (or node --expose-gc bench/anti-fraud.bench.mjs after tsc -b)
import { readdirSync, readFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';

const dir = new URL('../templates/anti-fraud/', import.meta.url);
const flow = JSON.parse(readFileSync(new URL('flow.json', dir), 'utf8'));
const inputs = readdirSync(new URL('fixtures/', dir))
  .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(`fixtures/${f}`, dir), 'utf8')));

const runtime = createRuntime({ registry: createRegistry(builtinNodes) });

async function runOnce(input) {
  const r = await runtime.run(flow, input);
  if (r.status !== 'succeeded') throw new Error(`anti-fraud: ${r.error?.code} ${r.error?.message}`);
  return r;
}

// The first run prepares the flow (validation, expression compilation) and checks the stored model once.
const coldStart = performance.now();
await runOnce(inputs[0]);
const coldMs = performance.now() - coldStart;

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmt = (ms) => (ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

for (let i = 0; i < 300; i++) await runOnce(inputs[i % inputs.length]);
globalThis.gc?.();
const runs = 3000;
const ms = [];
const started = performance.now();
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await runOnce(inputs[i % inputs.length]);
  ms.push(performance.now() - t);
}
const seconds = (performance.now() - started) / 1000;
ms.sort((a, b) => a - b);

console.log(`| anti-fraud flow, one transaction (${runs.toLocaleString('en-US')} runs over ${inputs.length} fixtures) | |
|---|---|
| p50 | ${fmt(percentile(ms, 0.5))} ms |
| p90 | ${fmt(percentile(ms, 0.9))} ms |
| p99 | ${fmt(percentile(ms, 0.99))} ms |
| max | ${fmt(ms[ms.length - 1])} ms |
| throughput, one at a time | ${Math.round(runs / seconds).toLocaleString('en-US')} transactions/s |
| first run (prepares the flow, checks the model) | ${fmt(coldMs)} ms |`);
