// What the server benches share: start a FinFlow server process (or a worker) from the built packages, sign in
// and publish flows as endpoints with a key, run an autocannon load loop against an endpoint, and read a
// process's CPU time from /proc. queue.bench.mjs, postgres.bench.mjs and endpoint.bench.mjs use it, so their
// figures come from the same loop and the same CPU accounting.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const serverEntry = new URL('../../server/dist/index.js', import.meta.url).href;
const cli = fileURLToPath(new URL('../../server/bin/finflow.js', import.meta.url));

/** A numeric `--name value` command-line option. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Resolves with what `match` finds in a child's output so far (stdout and stderr); rejects if it exits first. */
export function waitFor(child, match, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const found = match(out);
      if (found) resolve(found);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${out}`)));
  });
}

/** A node process running `source` (an ES module) that prints `{"ready": url, ...}` on stderr when it serves. */
export async function startProcess(source, env, { flags = [] } = {}) {
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', source], {
    cwd: join(root, 'server'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = await waitFor(
    child,
    (out) => {
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      return line ? JSON.parse(line) : undefined;
    },
    'process',
  );
  return { child, ...ready };
}

const serverSource = `
import { startServer, loadConfig } from ${JSON.stringify(serverEntry)};
let setupToken;
const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
process.stderr.write(JSON.stringify({ ready: s.url, setupToken, pid: process.pid }) + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
`;

/**
 * A FinFlow server process configured by `env` (FINFLOW_DATA_DIR, DATABASE_URL, FINFLOW_MODE...) on a free
 * port: `{ child, ready: url, setupToken, pid }`. `flags` go to node (a CPU profile, say).
 */
export function startServer(env, options = {}) {
  return startProcess(serverSource, { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, options);
}

/** A `finflow worker` process (queue mode) configured by `env`; resolves once it takes runs. */
export async function startWorker(env, concurrency = 8) {
  const child = spawn(process.execPath, [cli, 'worker', '--concurrency', String(concurrency)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitFor(child, (out) => out.includes('is taking runs'), 'worker');
  return child;
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** CPU time (user + system, all threads) a process has used, in microseconds. */
export function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

export async function json(url, method, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return { body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export const edge = (id, from, fromPort, to, toPort) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});

/**
 * Sets the server up (its first admin), publishes each `[slug, document]` as an endpoint (no practical rate
 * limit) and creates a key for them all. Resolves with the bearer header and the signed-in session's headers.
 */
export async function publishFlows(server, flows) {
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
  const endpoints = [];
  for (const [slug, doc] of flows) {
    const flow = (await json(`${api}/flows`, 'POST', { document: doc }, auth)).body;
    endpoints.push(
      (
        await json(
          `${api}/endpoints`,
          'POST',
          { flowId: flow.flow.id, version: 1, slug, rateLimitPerMinute: 10_000_000 },
          auth,
        )
      ).body.id,
    );
  }
  const key = (await json(`${api}/keys`, 'POST', { name: 'bench', endpoints }, auth)).body.key;
  return { bearer: { authorization: `Bearer ${key}` }, auth };
}

/** One autocannon run of POSTs of `body` as JSON. */
export const load = ({ url, headers = {}, duration, connections, body }) =>
  new Promise((resolve, reject) =>
    autocannon(
      {
        url,
        method: 'POST',
        connections,
        duration,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      },
      (err, r) => (err ? reject(err) : resolve(r)),
    ),
  );

/**
 * A warm-up run, then the measured run: requests a second, p50 and p99 in ms, and the CPU time per request of
 * the processes in `pids` (summed). Any failed request fails the bench: a fast error is not a figure.
 */
export async function measure({ url, headers, body, pids, duration, warmup, connections, label = url }) {
  await load({ url, headers, duration: warmup, connections, body });
  const cpu0 = pids.map(cpuOf);
  const r = await load({ url, headers, duration, connections, body });
  const cpu = pids.reduce((s, pid, i) => s + cpuOf(pid) - cpu0[i], 0) / r.requests.total;
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad) throw new Error(`${label}: ${bad} failed requests`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    cpu,
  };
}

export const fmt = (n, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
