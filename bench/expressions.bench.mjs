// Expression evaluation cost, before and after the inline evaluator, in one process (so both sides see the same
// machine): JSONata's asynchronous evaluator (what every expression ran on before: `await jsonata(src).evaluate()`)
// against the inline evaluator the runtime now uses for the common subset. Then endpoint.bench.mjs's 20-node
// chain of data.transform steps, run in-process by the runtime with data.transform as it is now and as it was
// (an async node awaiting JSONata), without HTTP or storage around it. CPU time per evaluation or run
// (process.cpuUsage), which is steadier than wall time on a shared machine. Needs the built packages (`tsc -b`).
// Usage: node bench/expressions.bench.mjs [--seconds 2]
import { loadavg } from 'node:os';
import jsonata from 'jsonata';

const runtime = await import(new URL('../runtime/dist/index.js', import.meta.url).href);
const nodes = await import(new URL('../nodes/builtin/dist/index.js', import.meta.url).href);
const { compileExpression, evaluateCompiledNow, createRuntime, createRegistry } = runtime;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg('seconds', 2);

/** CPU microseconds per call of `fn` (awaited when it returns a promise), over about SECONDS of calls. */
async function cpuPerCall(fn) {
  for (let i = 0; i < 200; i++) await fn();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) {
      const r = fn();
      if (r instanceof Promise) await r;
    }
    n += 50;
  }
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / n;
}

const applicant = { name: 'Li Na', income: 64000, debt: 8000, age: 34, months: 36 };
const fraud = {
  data: {
    transaction: {
      id: 't1',
      amount: 120.5,
      timestamp: '2026-01-02T10:00:00Z',
      channel: 'web',
      merchant: { country: 'DE' },
    },
    recentActivity: Array.from({ length: 20 }, (_, i) => ({
      type: i % 4 === 0 ? 'password_reset' : 'payment',
      amount: 10 + i,
      at: `2026-01-0${1 + (i % 2)}T0${i % 10}:00:00Z`,
    })),
    customer: { homeCountry: 'DE', knownDevices: ['d1'] },
    device: { fingerprint: 'd2', ipCountry: 'FR' },
  },
};
const cases = [
  [
    'small flow step: block, $round, object',
    '( $s := $round(data.income / (data.debt + 1), 2); { "score": $s, "outcome": $s >= 3 ? "approve" : "review" } )',
    { data: applicant },
  ],
  [
    '20-node chain step: $round, object',
    '{ "score": $round(data.score * 1.01 + 7, 2), "age": data.age, "months": data.months }',
    { data: { score: 8, age: 34, months: 36 } },
  ],
  ['branch condition', 'value.score >= 3 and value.age < 70', { value: { score: 8, age: 34 } }],
  [
    'anti-fraud features: filters, $toMillis, lambdas, order-by',
    `( $t := $toMillis(data.transaction.timestamp);
       $payments := [data.recentActivity[type = 'payment' and $toMillis(at) < $t]];
       $since := function($events, $ms) { [$events[$toMillis(at) >= $t - $ms]] };
       { "count24h": $count($since($payments, 86400000)),
         "amount24h": $round($sum([$since($payments, 86400000).amount]), 2),
         "newestFirst": data.recentActivity^(>$toMillis(at)).type,
         "newDevice": $not(data.device.fingerprint in data.customer.knownDevices) } )`,
    fraud,
  ],
  [
    'regex: $match on a short text',
    '$match(data.text, /ref (\\d+)/).groups[0]',
    { data: { text: 'payment ref 12345 ok' } },
  ],
];

const rows = [];
for (const [name, source, data] of cases) {
  const old = jsonata(source, { timeout: 1000, stack: 300 });
  const compiled = compileExpression(source);
  if (!compiled.ok) throw new Error(compiled.message);
  const a = JSON.stringify(await old.evaluate(data));
  // The first calls run cold (before V8 optimises them) and may outgrow the inline budget: they go to the pool.
  let now = evaluateCompiledNow(compiled.expression, data);
  for (let i = 0; i < 50 && now instanceof Promise; i++) {
    await now;
    now = evaluateCompiledNow(compiled.expression, data);
  }
  if (now instanceof Promise) throw new Error(`${name}: not answered inline`);
  if (JSON.stringify(now) !== a) throw new Error(`${name}: ${JSON.stringify(now)} ≠ ${a}`);
  const before = await cpuPerCall(() => old.evaluate(data));
  const after = await cpuPerCall(() => evaluateCompiledNow(compiled.expression, data));
  rows.push([name, before, after]);
}

// The 20-node chain of endpoint.bench.mjs, run by the runtime in-process.
const STEPS = 18;
const edge = (id, from, fromPort, to, toPort) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});
function chainFlow() {
  const flowNodes = [
    {
      id: 'in',
      type: 'io.input',
      version: 1,
      config: {
        schema: { type: 'object', properties: { income: { type: 'number' }, debt: { type: 'number' } } },
      },
    },
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
    flowNodes.push({
      id: `s${i}`,
      type: 'data.transform',
      version: 1,
      config: {
        expression: `{ "score": $round(data.score * 1.01 + ${i}, 2), "age": data.age, "months": data.months }`,
      },
    });
    edges.push(edge(`e${i}`, `s${i - 1}`, 'result', `s${i}`, 'data'));
  }
  flowNodes.push({ id: 'out', type: 'io.output', version: 1, config: { name: 'result' } });
  edges.push(edge('eout', `s${STEPS}`, 'result', 'out', 'value'));
  return { schemaVersion: 1, id: 'chain', name: 'chain', nodes: flowNodes, edges };
}

const builtin = nodes.createBuiltinRegistry();
const defs = builtin.list();
const transform = builtin.get('data.transform');
/** data.transform as it was: an async node awaiting JSONata's evaluator (compiled once per expression). */
const oldCompiled = new Map();
const oldTransform = {
  ...transform,
  async run(ctx, { data }, { expression }) {
    let e = oldCompiled.get(expression);
    if (!e) oldCompiled.set(expression, (e = jsonata(expression, { timeout: 1000, stack: 300 })));
    const result = await e.evaluate({ data, input: ctx.scope.input, nodes: ctx.scope.nodes });
    return { result };
  },
};
const nowRuntime = createRuntime({ registry: createRegistry(defs) });
const oldRuntime = createRuntime({
  registry: createRegistry(defs.map((d) => (d.type === 'data.transform' ? oldTransform : d))),
});
const flow = chainFlow();
const prepared = [nowRuntime.prepare(flow), oldRuntime.prepare(flow)];
const outNow = JSON.stringify((await nowRuntime.run(prepared[0], applicant)).outputs);
const outOld = JSON.stringify((await oldRuntime.run(prepared[1], applicant)).outputs);
if (outNow !== outOld) throw new Error(`chain: ${outNow} ≠ ${outOld}`);
const chainBefore = await cpuPerCall(() => oldRuntime.run(prepared[1], applicant));
const chainAfter = await cpuPerCall(() => nowRuntime.run(prepared[0], applicant));

const f = (n) => n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
console.log(`\nnode ${process.version}, ${SECONDS} s per measure, load average ${loadavg()[0].toFixed(1)}\n`);
console.log('| expression | JSONata async (before), CPU µs | inline (now), CPU µs | speed-up |');
console.log('|---|---:|---:|---:|');
for (const [name, before, after] of rows)
  console.log(`| ${name} | ${f(before)} | ${f(after)} | ${f(before / after)}x |`);
console.log(
  `| 20-node chain flow, whole run in-process (runtime.run) | ${f(chainBefore)} | ${f(chainAfter)} | ${f(chainBefore / chainAfter)}x |`,
);
