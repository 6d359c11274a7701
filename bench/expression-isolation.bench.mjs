// Expression isolation under attack: `/healthz` latency of a FinFlow server while 20 calls to published flows with
// hostile expressions are in flight at all times (a 400-million-character $pad, a catastrophic regex in a
// transform, a branch and an input-schema pattern, endless and deep recursion, a huge range, string doubling, a
// sort of 900,000 items, a result that shares one list a million times over). Each finished call is replaced at
// once. The goal (issue 10, finding 3): /healthz p99 under 20 ms, and the server stays up. A benign inline
// flow is called alongside to show ordinary calls keep working. Needs the built packages (`tsc -b`).
// Usage: node bench/expression-isolation.bench.mjs [--duration 10] [--inflight 20]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = new URL('../server/dist/index.js', import.meta.url).href;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DURATION = arg('duration', 10);
const IN_FLIGHT = arg('inflight', 20);

const serverSource = `
import { startServer, loadConfig } from ${JSON.stringify(serverEntry)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken, pid: process.pid }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
`;

const edge = (id, from, fromPort, to, toPort) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});
const textSchema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
const transformFlow = (id, expression, schema = textSchema) => ({
  schemaVersion: 1,
  id,
  name: id,
  nodes: [
    { id: 'in', type: 'io.input', version: 1, config: { schema } },
    { id: 'map', type: 'data.transform', version: 1, config: { expression } },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
  ],
  edges: [edge('e1', 'in', 'value', 'map', 'data'), edge('e2', 'map', 'result', 'out', 'value')],
});
const branchFlow = (id, condition) => ({
  schemaVersion: 1,
  id,
  name: id,
  nodes: [
    { id: 'in', type: 'io.input', version: 1, config: { schema: textSchema } },
    { id: 'decide', type: 'logic.branch', version: 1, config: { condition } },
    { id: 'yes', type: 'io.output', version: 1, config: { name: 'yes' } },
    { id: 'no', type: 'io.output', version: 1, config: { name: 'no' } },
  ],
  edges: [
    edge('e1', 'in', 'value', 'decide', 'value'),
    edge('e2', 'decide', 'true', 'yes', 'value'),
    edge('e3', 'decide', 'false', 'no', 'value'),
  ],
});

const evil = { text: `${'a'.repeat(28)}!` };
const hostile = [
  ['huge-pad', transformFlow('hugePad', '$length($pad("x", 400000000))'), { text: 'x' }],
  ['regex-transform', transformFlow('regexTransform', '$match(data.text, /(a+)+$/)'), evil],
  ['regex-branch', branchFlow('regexBranch', '$contains(value.text, /(a+)+$/)'), evil],
  [
    'schema-pattern',
    transformFlow('schemaPattern', 'data.text', {
      type: 'object',
      properties: { text: { type: 'string', pattern: '(a+)+$' } },
    }),
    evil,
  ],
  [
    'endless-recursion',
    transformFlow('endless', '($f := function($n) { $f($n + 1) }; $f(0))'),
    { text: 'x' },
  ],
  [
    'deep-recursion',
    transformFlow('deep', '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))'),
    { text: 'x' },
  ],
  ['huge-range', transformFlow('range', '$count([1..100000000])'), { text: 'x' }],
  [
    'string-doubling',
    transformFlow('doubling', '$length($reduce([1..40], function($a, $i) { $a & $a }, "x"))'),
    { text: 'x' },
  ],
  [
    'huge-sort',
    transformFlow(
      'sort',
      '$count($sort([1..900000], function($a, $b) { $count([1..10000]) > 0 and $a < $b }))',
    ),
    { text: 'x' },
  ],
  [
    'shared-blowup',
    transformFlow('blowup', '($a := [1..100000]; $reduce([1..11], function($acc, $i) { [$acc, $acc] }, $a))'),
    { text: 'x' },
  ],
];
const benign = [
  'benign',
  transformFlow('benign', '{ "upper": $uppercase(data.text), "n": $length(data.text) }'),
  { text: 'ok' },
];

/** FINFLOW_BENCH_PROFILE=<dir> writes a CPU profile of the FinFlow process. */
function startServer(env, source = serverSource) {
  const dir = process.env['FINFLOW_BENCH_PROFILE'];
  const flags = dir && source === serverSource ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
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
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
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

async function publish(server) {
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
  const ids = [];
  for (const [slug, doc] of [...hostile, benign]) {
    const flow = (await json(`${api}/flows`, 'POST', { document: doc }, auth)).body;
    const ep = await json(
      `${api}/endpoints`,
      'POST',
      { flowId: flow.flow.id, version: 1, slug, rateLimitPerMinute: 10_000_000 },
      auth,
    );
    ids.push(ep.body.id);
  }
  const key = (await json(`${api}/keys`, 'POST', { name: 'bench', endpoints: ids }, auth)).body.key;
  return { authorization: `Bearer ${key}` };
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** /healthz round trips, one every 10 ms, until `until()`; returns the latencies in ms, sorted. */
async function probe(url, until) {
  const times = [];
  while (!until()) {
    const t = performance.now();
    const r = await fetch(`${url}/healthz`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
    times.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 10));
  }
  return times.sort((a, b) => a - b);
}

/** The server's own event-loop delay (prom-client's monitorEventLoopDelay, reset at each read), in ms. */
async function loopDelay(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name) =>
    Number(new RegExp(`^finflow_nodejs_eventloop_lag_${name}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000;
  return { p50: read('p50'), p99: read('p99'), max: read('max') };
}

// A bare node:http process probed alongside: how much of the latency is this machine's scheduling, not FinFlow.
const controlSource = `
import { createServer } from 'node:http';
const s = createServer((req, res) => res.end('{"ok":true}')).listen(0, '127.0.0.1', () =>
  process.stderr.write(JSON.stringify({ ready: 'http://127.0.0.1:' + s.address().port }) + '\\n'));
`;

const dataDir = mkdtempSync(join(tmpdir(), 'finflow-bench-iso-'));
const server = await startServer({
  FINFLOW_DATA_DIR: dataDir,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
});
const control = await startServer({}, controlSource);
let exited = false;
server.child.once('exit', () => (exited = true));
try {
  const bearer = await publish(server);
  const call = async ([slug, , body]) => {
    const res = await fetch(`${server.ready}/v1/endpoints/${slug}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    return `${res.status} ${answer.error?.details?.cause ?? answer.error?.code ?? 'ok'}`;
  };
  // Warm-up: one of each, so process start-up is not in the figures.
  for (const c of [...hostile, benign]) await call(c);

  const idleEnd = performance.now() + 3_000;
  await loopDelay(server.ready);
  const [idle, idleControl] = await Promise.all([
    probe(server.ready, () => performance.now() > idleEnd),
    probe(control.ready, () => performance.now() > idleEnd),
  ]);
  const idleLoop = await loopDelay(server.ready);

  const end = performance.now() + DURATION * 1000;
  const outcomes = new Map();
  let finished = 0;
  let next = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const c = hostile[next++ % hostile.length];
      const key = `${c[0]}: ${await call(c)}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      finished++;
    }
  };
  const attack = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  let benignOk = 0;
  const benignLoop = (async () => {
    while (performance.now() < end) {
      if ((await call(benign)) === '200 ok') benignOk++;
      await new Promise((res) => setTimeout(res, 50));
    }
  })();
  const [attacked, attackedControl] = await Promise.all([
    probe(server.ready, () => performance.now() > end),
    probe(control.ready, () => performance.now() > end),
  ]);
  const attackLoop = await loopDelay(server.ready);
  await Promise.all([attack, benignLoop]);

  const f = (n) => n.toFixed(1);
  console.log(
    `\nnode ${process.version}, ${IN_FLIGHT} hostile calls in flight for ${DURATION} s, load average ${loadavg()[0].toFixed(1)}\n`,
  );
  const row = (what, t) =>
    `| ${what} | ${t.length} | ${f(quantile(t, 0.5))} | ${f(quantile(t, 0.99))} | ${f(t.at(-1))} |`;
  const loopRow = (what, l) => `| ${what} | | ${f(l.p50)} | ${f(l.p99)} | ${f(l.max)} |`;
  console.log('| measure | probes | p50 ms | p99 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(row('FinFlow /healthz, idle', idle));
  console.log(row(`FinFlow /healthz, ${IN_FLIGHT} hostile calls in flight`, attacked));
  console.log(loopRow('FinFlow event-loop delay, idle', idleLoop));
  console.log(loopRow(`FinFlow event-loop delay, ${IN_FLIGHT} hostile calls in flight`, attackLoop));
  console.log(row('control (bare node:http), idle', idleControl));
  console.log(row('control (bare node:http), during the attack', attackedControl));
  console.log(
    `\nhostile calls answered: ${finished}; benign calls answered 200 meanwhile: ${benignOk}; server up: ${!exited}\n`,
  );
  console.log('| call: status cause | count |');
  console.log('|---|---:|');
  for (const [k, n] of [...outcomes].sort()) console.log(`| ${k} | ${n} |`);
  if (exited) throw new Error('the server died');
} finally {
  server.child.kill('SIGTERM');
  control.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dataDir, { recursive: true, force: true });
}
