// The code node's sandbox: what one call costs over an ordinary in-process node once the sandbox process is warm
// (a fresh isolate per call, inputs and outputs copied as JSON over IPC), what a cold start costs, throughput
// with concurrent calls, and the memory of a sandbox process idle and after many runs. Needs the built packages
// (`tsc -b`).
// Usage: node bench/code-node.bench.mjs [--calls 300]
import { readFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes, SandboxPool } from '@finflow/nodes';

const i = process.argv.indexOf('--calls');
const CALLS = i > 0 ? Number(process.argv[i + 1]) : 300;

const registry = createRegistry(builtinNodes);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p99: at(0.99) };
}

async function time(runtime, spec, inputs, calls) {
  const samples = [];
  for (let n = 0; n < calls; n++) {
    const t0 = performance.now();
    const r = await runtime.runNode(spec, inputs);
    samples.push(performance.now() - t0);
    if (r.status !== 'succeeded') throw new Error(`${spec.type} failed: ${JSON.stringify(r.error)}`);
  }
  return stats(samples);
}

const code = (language, body) => ({
  type: 'code.javascript',
  config: {
    language,
    inputs: [{ name: 'value', type: 'any' }],
    outputs: [{ name: 'result', type: 'any' }],
    code: body,
    memoryMb: 32,
    cpuMs: 1000,
  },
});
const plusOne = 'export default defineRun(({ value }) => ({ result: value + 1 }));';
const sumRows =
  'export default defineRun(({ value }) => ({ result: value.reduce((s, r) => s + r.amount, 0) }));';
const sumRowsTs =
  'type Row = { id: string; amount: number };\nexport default defineRun(({ value }) => ({ result: (value as Row[]).reduce((s: number, r: Row) => s + r.amount, 0) }));';
const rows = Array.from({ length: 1000 }, (_, n) => ({
  id: `T${n}`,
  amount: (n * 37) % 1000,
  currency: 'EUR',
}));

// The baseline: the same work as an in-process JSONata transform.
const baselineSpec = { type: 'data.transform', config: { expression: 'data + 1' } };

// Cold start: a new pool's first call (process start, isolated-vm load, first isolate).
{
  const pool = new SandboxPool();
  const runtime = createRuntime({ registry, services: { codeSandbox: pool } });
  const t0 = performance.now();
  const r = await runtime.runNode(code('javascript', plusOne), { value: 1 });
  const cold = performance.now() - t0;
  if (r.status !== 'succeeded') throw new Error(JSON.stringify(r.error));
  const t1 = performance.now();
  const ts = await runtime.runNode(code('typescript', sumRowsTs), { value: rows });
  const coldTs = performance.now() - t1;
  if (ts.status !== 'succeeded') throw new Error(JSON.stringify(ts.error));
  console.log('| cold start | ms |');
  console.log('|---|---:|');
  console.log(`| first call of a new sandbox process (JavaScript) | ${cold.toFixed(0)} |`);
  console.log(`| first TypeScript call (loads the transpiler) | ${coldTs.toFixed(0)} |`);
  await pool.dispose();
}

const pool = new SandboxPool({ processes: 1, concurrency: 4 });
await pool.warm();
const runtime = createRuntime({ registry, services: { codeSandbox: pool } });
const [pid] = pool.pids();
await sleep(500);
const idle = rssMiB(pid);
// Warm up the pool's spare isolate and V8's caches, then measure.
await time(runtime, code('javascript', plusOne), { value: 1 }, 30);
await time(runtime, baselineSpec, { data: 1 }, 200);

const memory = [['idle after start (isolated-vm loaded, one spare isolate)', idle]];
const rowsOut = [];
const baseline = await time(runtime, baselineSpec, { data: 1 }, CALLS);
rowsOut.push(['in-process node (data.transform, `data + 1`)', baseline]);
const js = await time(runtime, code('javascript', plusOne), { value: 1 }, CALLS);
rowsOut.push(['code node, JavaScript `value + 1`', js]);
memory.push([`after ${CALLS} small JavaScript runs`, rssMiB(pid)]);
const big = await time(runtime, code('javascript', sumRows), { value: rows }, CALLS);
rowsOut.push(['code node, JavaScript, sums a 1,000-row table (~45 KB in)', big]);
memory.push([`after ${CALLS} more with a 1,000-row table`, rssMiB(pid)]);
const ts = await time(runtime, code('typescript', sumRowsTs), { value: rows }, CALLS);
rowsOut.push(['code node, TypeScript (transpiled once, cached), the same table', ts]);
memory.push([`after ${CALLS} TypeScript runs (the TypeScript compiler loaded)`, rssMiB(pid)]);

console.log(
  `\n| call (${CALLS} sequential, warm sandbox process) | mean ms | p50 ms | p99 ms | overhead over in-process (p50 ms) |`,
);
console.log('|---|---:|---:|---:|---:|');
for (const [label, s] of rowsOut)
  console.log(
    `| ${label} | ${s.mean.toFixed(2)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${(s.p50 - baseline.p50).toFixed(2)} |`,
  );

// Throughput with calls in parallel (one process, four isolates at a time, two cores).
{
  const parallel = 4;
  const total = CALLS;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < total) {
        next++;
        const r = await runtime.runNode(code('javascript', plusOne), { value: 1 });
        if (r.status !== 'succeeded') throw new Error(JSON.stringify(r.error));
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`\n| throughput | calls/s |`);
  console.log('|---|---:|');
  console.log(`| ${parallel} concurrent callers, 1 sandbox process | ${(total / s).toFixed(0)} |`);
}

memory.push(['after the concurrent runs (four isolates at once)', rssMiB(pid)]);
await sleep(1_000);
const reported = (await pool.memory())[0];
console.log('\n| sandbox process memory | RSS MiB |');
console.log('|---|---:|');
for (const [label, mib] of memory) console.log(`| ${label} | ${mib.toFixed(1)} |`);
console.log(
  `| its own V8 heap in use at the end (isolates' heaps are apart) | ${(reported.heapUsed / 1048576).toFixed(1)} |`,
);
await pool.dispose();
