// FinFlow server memory: resident set size of a real server process when idle (fresh, then with the node
// catalog served), after a burst of endpoint calls, and its peak; plus what importing each layer costs in a
// fresh process, to show where idle memory goes (libraries that nodes load on first use are shown apart). Needs
// the built packages (`tsc -b`).
// Usage: node bench/server-memory.bench.mjs [--calls 2000]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('..', import.meta.url));
const serverDir = join(root, 'server');
const serverEntry = new URL('../server/dist/index.js', import.meta.url).href;
const i = process.argv.indexOf('--calls');
const CALLS = i > 0 ? Number(process.argv[i + 1]) : 2000;

const mib = (kb) => kb / 1024;
function status(pid, field) {
  return mib(
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]),
  );
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// V8 gives unused heap back some seconds after a burst of work; "idle" figures are taken after this long.
const SETTLE_MS = 15_000;

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
import { startServer, loadConfig } from ${JSON.stringify(serverEntry)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
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
const child = spawn(process.execPath, ['--input-type=module', '-e', serverSource], {
  cwd: serverDir,
  env: { ...process.env, FINFLOW_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
try {
  const ready = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const line = err.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  await sleep(SETTLE_MS);
  const fresh = status(child.pid, 'VmRSS');

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
  const justServed = status(child.pid, 'VmRSS');
  await sleep(SETTLE_MS);
  const withCatalog = status(child.pid, 'VmRSS');

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
  const justCalled = status(child.pid, 'VmRSS');
  await sleep(SETTLE_MS);
  const afterCalls = status(child.pid, 'VmRSS');
  const peak = status(child.pid, 'VmHWM');

  const layers = [
    ['node (empty process)', []],
    ['zod', ['zod']],
    ['@finflow/runtime (zod, jsonata, json-schema)', ['@finflow/runtime']],
    ['@finflow/nodes (all built-in node definitions)', ['@finflow/nodes']],
    [
      'express, socket.io, pino, prom-client, helmet, better-sqlite3',
      ['express', 'socket.io', 'pino', 'prom-client', 'helmet', 'better-sqlite3'],
    ],
    ['@finflow/server (everything above)', [serverEntry]],
    [
      '@finflow/server + libphonenumber-js/max + json-rules-engine (loaded by the first PII or rules node)',
      [serverEntry, 'libphonenumber-js/max', 'json-rules-engine'],
    ],
  ].map(([label, spec]) => [label, importCost(spec)]);

  const fmt = (n) => n.toFixed(1);
  console.log(
    `\nFinFlow server process (${catalog.nodes.length} node types in the catalog), node ${process.version}\n`,
  );
  console.log(`| state (idle = after ${SETTLE_MS / 1000} s without requests) | RSS MiB |`);
  console.log('|---|---:|');
  console.log(`| idle after start | ${fmt(fresh)} |`);
  console.log(`| right after sign-in and GET /api/catalog | ${fmt(justServed)} |`);
  console.log(`| idle, catalog served (goal <= 110) | ${fmt(withCatalog)} |`);
  console.log(`| right after ${CALLS} endpoint calls (10 connections) | ${fmt(justCalled)} |`);
  console.log(`| idle after those calls | ${fmt(afterCalls)} |`);
  console.log(`| peak (VmHWM) | ${fmt(peak)} |`);
  console.log('\n| imported into a fresh process | RSS MiB |');
  console.log('|---|---:|');
  for (const [label, rss] of layers) console.log(`| ${label} | ${fmt(rss)} |`);
} finally {
  child.kill('SIGTERM');
  await sleep(500);
  rmSync(dataDir, { recursive: true, force: true });
}
