// The cost of recording a run's events on the endpoint path (issue 18): one JSON text per event as it happens
// (how every run was stored before, and how a flow with a node not declared pure still is) against one compact
// run record per run (runtime/src/run-record.ts: each value handed from node to node written once), on the peer
// harness's three workloads (echo, chain20, fanout: flows of data.transform with logic.merge), run in-process with
// the built-in nodes. CPU per run and bytes allocated per run (measured with a young generation large enough that
// no collection runs while measuring), and the stored size. Both encodings are checked to give back the events.
// Usage: node bench/run-record.bench.mjs   (needs the packages built: npx tsc -b)
import { deepStrictEqual } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { chain20, echo, fanout, peerBody } from './lib/peer-flows.mjs';

if (!process.argv.includes('--child')) {
  // Allocation is read from the heap's growth, so the child runs with a young generation no run fills.
  const r = spawnSync(
    process.execPath,
    [
      '--max-semi-space-size=512',
      '--min-semi-space-size=512',
      '--expose-gc',
      new URL(import.meta.url).pathname,
      '--child',
    ],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

const runtime = await import(new URL('../runtime/dist/index.js', import.meta.url).href);
const nodes = await import(new URL('../nodes/builtin/dist/index.js', import.meta.url).href);
const { createRuntime, createRegistry, encodeRunRecord, decodeEventRow } = runtime;

const flows = { echo: echo(), chain20: chain20(), fanout: fanout() };
const body = peerBody();

const perEvent = (events) => `[${events.map((e) => JSON.stringify(e)).join(',')}]`;
const ITER = 2000;
/** CPU µs and bytes allocated per call of fn, averaged over ITER calls, no collection in between. */
function measure(fn) {
  for (let i = 0; i < 200; i++) fn();
  globalThis.gc();
  const h0 = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  for (let i = 0; i < ITER; i++) fn();
  const c1 = process.cpuUsage(c0);
  const h1 = process.memoryUsage().heapUsed;
  return { us: (c1.user + c1.system) / ITER, bytes: (h1 - h0) / ITER };
}

const registry = createRegistry(nodes.createBuiltinRegistry().list());
console.log(`\nnode ${process.version}, ${ITER} runs a measure, load average ${loadavg()[0].toFixed(1)}\n`);
console.log(
  '| workload | events | per event: CPU µs / KB allocated / bytes stored | compact record: CPU µs / KB allocated / bytes stored | CPU | allocation | size |',
);
console.log('|---|---:|---|---|---:|---:|---:|');
for (const [name, flow] of Object.entries(flows)) {
  const events = [];
  const rt = createRuntime({ registry, store: { append: (e) => void events.push(e) } });
  const prepared = rt.prepare(flow);
  const result = await rt.run(prepared, body);
  if (result.status !== 'succeeded') throw new Error(`${name}: ${result.status}`);
  const runEvents = events.filter((e) => e.runId === events[0].runId);
  const a = perEvent(runEvents);
  const b = encodeRunRecord(runEvents);
  // Both give back the events the run emitted.
  deepStrictEqual(decodeEventRow(b), JSON.parse(a));
  const m1 = measure(() => perEvent(runEvents));
  const m2 = measure(() => encodeRunRecord(runEvents));
  const f = (m, s) =>
    `${m.us.toFixed(1)} / ${(m.bytes / 1024).toFixed(1)} / ${s.length.toLocaleString('en-US')}`;
  console.log(
    `| ${name} | ${runEvents.length} | ${f(m1, a)} | ${f(m2, b)} | ${(m2.us / m1.us).toFixed(2)}x | ` +
      `${(m2.bytes / m1.bytes).toFixed(2)}x | ${(b.length / a.length).toFixed(2)}x |`,
  );
}
