// FinFlow server memory: resident set size of a real server process when idle (fresh, then with the node
// catalog served), after a burst of endpoint calls, and its peak; its anonymous and file-backed parts
// (/proc/<pid>/smaps_rollup), the V8 heap's spaces and the server's CPU per call; plus what importing each layer
// costs in a fresh process, to show where idle memory goes (libraries that nodes load on first use are shown
// apart). The server runs as `npm start` runs it (`--expose-gc`, so server/src/idle-gc.ts gives memory back when
// it goes quiet). Needs the built packages (`tsc -b`).
// Usage: node bench/server-memory.bench.mjs [--calls 5000] [--node-args "--expose-gc"] [--no-layers] [--settle 40000]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverDir = join(root, 'server');
// What `npm start` loads (scripts/start.mjs imports the serve command), not the package entry, which also
// re-exports the CLI's admin command and the OpenAPI generator.
const serverEntry = new URL('../server/dist/cli/serve.js', import.meta.url).href;
const serverModule = new URL('../server/dist/server.js', import.meta.url).href;
const configModule = new URL('../server/dist/config.js', import.meta.url).href;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CALLS = Number(arg('--calls', '5000'));
const NODE_ARGS = arg('--node-args', '--expose-gc').split(/\s+/).filter(Boolean);
const LAYERS = !process.argv.includes('--no-layers');

const mib = (kb) => kb / 1024;
function status(pid, field) {
  return mib(
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]),
  );
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The idle collection starts after 20 s of quiet and then needs a few 2-second intervals (server/src/idle-gc.ts);
// "idle" is after this long.
// `--settle 1000` (with more `--calls`) makes a quick run for CPU per call alone, its memory figures not idle ones.
const SETTLE_MS = Number(arg('--settle', '40000'));

/** Anonymous and file-backed resident memory, in MiB. */
function rollup(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { anon: mib(kb('Anonymous')), file: mib(kb('Rss') - kb('Anonymous')) };
}

/** utime + stime of the whole process (all threads), in ms. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const load = () => loadavg()[0].toFixed(1);

/** RSS of a fresh process after importing the modules (and a GC), in MiB. */
function importCost(specifiers) {
  const code = `${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ')} globalThis.gc(); await new Promise((r) => setTimeout(r, 300)); globalThis.gc(); process.stdout.write(String(process.memoryUsage().rss));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
    cwd: serverDir,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout) / 1048576;
}

const serverSource = `
import { startServer } from ${JSON.stringify(serverModule)};
import { loadConfig } from ${JSON.stringify(configModule)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
// The bench asks for the V8 heap's spaces (MiB committed / used) with SIGUSR2.
const v8 = await import('node:v8');
process.on('SIGUSR2', () => {
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().filter((x) => x.space_size > 0).map((x) => [x.space_name.replace('_space', ''), [x.space_size / 1048576, x.space_used_size / 1048576]]),
  );
  process.stderr.write(JSON.stringify({ spaces }) + '\\n');
});
`;

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

const dataDir = mkdtempSync(join(tmpdir(), 'finflow-membench-'));
const child = spawn(process.execPath, [...NODE_ARGS, '--input-type=module', '-e', serverSource], {
  cwd: serverDir,
  env: { ...process.env, FINFLOW_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
try {
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = await new Promise((resolve, reject) => {
    child.stderr.on('data', () => {
      const line = err.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  /** The server's heap spaces, asked for with SIGUSR2. */
  const heapSpaces = async () => {
    const before = err.length;
    child.kill('SIGUSR2');
    for (let k = 0; k < 50; k++) {
      await sleep(20);
      const line = err
        .slice(before)
        .split('\n')
        .find((l) => l.startsWith('{"spaces"'));
      if (line) return JSON.parse(line).spaces;
    }
    return {};
  };
  const state = async (label) => ({
    label,
    rss: status(child.pid, 'VmRSS'),
    ...rollup(child.pid),
    spaces: await heapSpaces(),
    load: load(),
  });
  const states = [];
  await sleep(SETTLE_MS);
  states.push(await state('idle after start'));

  const api = `${ready.ready}/api`;
  const setup = await json(`${api}/auth/setup`, 'POST', {
    token: ready.setupToken,
    email: 'bench@bank.example',
    name: 'Bench',
    password: 'benchmark password',
  });
  const auth = {
    cookie: setup.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; '),
    'x-csrf-token': setup.body.csrfToken,
  };
  const catalog = await fetch(`${api}/catalog`, { headers: auth }).then((r) => r.json());
  states.push(await state('right after sign-in and GET /api/catalog'));
  await sleep(SETTLE_MS);
  states.push(await state('idle, catalog served (goal <= 90)'));
  const idleRss = states.at(-1).rss;

  const flow = {
    schemaVersion: 1,
    id: 'mem',
    name: 'Memory bench',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: { type: 'object', properties: { income: { type: 'number' }, debt: { type: 'number' } } },
        },
      },
      {
        id: 'score',
        type: 'data.transform',
        version: 1,
        config: { expression: '{ "score": $round(data.income / (data.debt + 1), 2) }' },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'score', port: 'data' } },
      { id: 'e2', from: { node: 'score', port: 'result' }, to: { node: 'out', port: 'value' } },
    ],
  };
  const created = (await json(`${api}/flows`, 'POST', { document: flow }, auth)).body;
  const ep = (
    await json(
      `${api}/endpoints`,
      'POST',
      { flowId: created.flow.id, version: 1, slug: 'mem', rateLimitPerMinute: 10_000_000 },
      auth,
    )
  ).body;
  const key = (await json(`${api}/keys`, 'POST', { name: 'bench', endpoints: [ep.id] }, auth)).body.key;
  const cpuBefore = cpuMs(child.pid);
  let peakUnderLoad = 0;
  const sampler = setInterval(
    () => (peakUnderLoad = Math.max(peakUnderLoad, status(child.pid, 'VmRSS'))),
    100,
  );
  const loadDuring = load();
  await new Promise((resolve, reject) =>
    autocannon(
      {
        url: `${ready.ready}/v1/endpoints/mem`,
        method: 'POST',
        connections: 10,
        amount: CALLS,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ income: 64000, debt: 8000 }),
      },
      (err, r) => (err ? reject(err) : r.non2xx ? reject(new Error(`${r.non2xx} failed calls`)) : resolve(r)),
    ),
  );
  clearInterval(sampler);
  const cpuPerCall = ((cpuMs(child.pid) - cpuBefore) * 1000) / CALLS;
  states.push(await state(`right after ${CALLS} endpoint calls (10 connections)`));
  await sleep(SETTLE_MS);
  states.push(await state(`idle ${SETTLE_MS / 1000} s after those calls`));
  // The SQLite checkpointer thread ends after 30 s without writes (server/src/repo/sqlite.ts).
  await sleep(SETTLE_MS * 1.25);
  states.push(await state(`idle ${(SETTLE_MS * 2.25) / 1000} s after those calls (goal <= 1.2 x idle)`));
  const afterRss = states.at(-1).rss;
  const peak = status(child.pid, 'VmHWM');

  const layers = (
    LAYERS
      ? [
          ['node (empty process)', []],
          ['zod', ['zod']],
          ['@finflow/runtime (zod, jsonata, json-schema)', ['@finflow/runtime']],
          ['@finflow/nodes (all built-in node definitions)', ['@finflow/nodes']],
          [
            'express, pino, prom-client, helmet, better-sqlite3',
            ['express', 'pino', 'prom-client', 'helmet', 'better-sqlite3'],
          ],
          ['@finflow/server as `npm start` loads it (everything above)', [serverEntry]],
          [
            '@finflow/server + socket.io and engine.io (loaded by the first socket.io request)',
            [serverEntry, 'socket.io', 'engine.io'],
          ],
          [
            '@finflow/server + libphonenumber-js/max + json-rules-engine (loaded by the first PII or rules node)',
            [serverEntry, 'libphonenumber-js/max', 'json-rules-engine'],
          ],
        ]
      : []
  ).map(([label, spec]) => [label, importCost(spec)]);

  const fmt = (n) => n.toFixed(1);
  console.log(
    `\nFinFlow server process (${catalog.nodes.length} node types in the catalog), node ${process.version}\n`,
  );
  console.log(`server: node ${NODE_ARGS.join(' ')}; load average ${loadDuring} when the calls started\n`);
  const space = (s, name) => (s[name] ? `${fmt(s[name][0])} / ${fmt(s[name][1])}` : '-');
  console.log(
    `| state (idle = after ${SETTLE_MS / 1000} s without requests) | RSS MiB | anonymous | file-backed | V8 new space MiB (committed / used) | old space | load average |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of states)
    console.log(
      `| ${s.label} | ${fmt(s.rss)} | ${fmt(s.anon)} | ${fmt(s.file)} | ${space(s.spaces, 'new')} | ${space(s.spaces, 'old')} | ${s.load} |`,
    );
  console.log(`| peak under the calls (sampled every 100 ms) | ${fmt(peakUnderLoad)} | | | | | |`);
  console.log(`| peak (VmHWM) | ${fmt(peak)} | | | | | |`);
  console.log(
    `\nafter load / idle: ${(afterRss / idleRss).toFixed(2)}; server CPU per call (all threads): ${cpuPerCall.toFixed(0)} µs`,
  );
  if (layers.length) {
    console.log('\n| imported into a fresh process | RSS MiB |');
    console.log('|---|---:|');
    for (const [label, rss] of layers) console.log(`| ${label} | ${fmt(rss)} |`);
  }
} finally {
  child.kill('SIGTERM');
  await sleep(500);
  rmSync(dataDir, { recursive: true, force: true });
}
