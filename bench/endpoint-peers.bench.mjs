// FinFlow's published endpoints side by side with bare node:http, Express 5 and Node-RED 4.1, through the shared
// peer harness (peer-http.sh, issue 18): the three workloads echo, chain20 and fanout (../shared/bench-peers/
// finflow/flows.mjs: flows of data.transform nodes computing exactly what bare/compute.js computes) are published
// as endpoints of a fresh FinFlow, then the harness pins each server to one core and wrk to the other, checks the
// answers and measures every target in rotating order. FinFlow runs with FINFLOW_DURABILITY=full by default: every
// call authenticates its API key, checks its rate limit and the input, runs the flow and records the run, its
// events and its audit entry, fsynced before the answer.
//
// Prints the harness's table and a table of paired per-repetition ratios (FinFlow / Express, FinFlow / Node-RED),
// plus the machine's load average before and after (the machine is shared: read the ratios, not the rates).
// Needs wrk (apt-get install wrk) and the harness (FINFLOW_PEER_HARNESS, default ../shared/bench-peers next to the
// repository or its worktree folder); without them it says so and skips. Node-RED and Express are installed by the
// harness from npm into $PEER_BENCH_DIR (default /tmp/peer-bench) on first use.
// Usage: node bench/endpoint-peers.bench.mjs [-r 3] [-d 10] [-w 3] [-c 1,10] [-e echo,chain20,fanout]
//          [--builtins bare-http,express,nodered] [--durability full|normal] [--nice N] [--retries 1] [--port 18090]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const runs = arg('-r', '3');
const duration = arg('-d', '10');
const warmup = arg('-w', '3');
const concs = arg('-c', '1,10');
const endpoints = arg('-e', 'echo,chain20,fanout');
const builtins = arg('--builtins', 'bare-http,express,nodered');
const durability = arg('--durability', 'full');
const nice = arg('--nice', '0');
const retries = arg('--retries', '1');
const port = Number(arg('--port', '18090'));

const harness = [
  process.env['FINFLOW_PEER_HARNESS'],
  join(root, '..', 'shared', 'bench-peers'),
  join(root, '..', '..', 'shared', 'bench-peers'),
].find((d) => d && existsSync(join(d, 'peer-http.sh')));
const hasWrk = spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
if (!harness || !hasWrk) {
  console.log(
    `skipped: ${harness ? '' : 'the peer harness (set FINFLOW_PEER_HARNESS to the bench-peers folder) '}` +
      `${hasWrk ? '' : 'wrk (apt-get install wrk) '}not found`,
  );
  process.exit(0);
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
const loadBefore = load();
const work = mkdtempSync(join(tmpdir(), 'finflow-peers-'));
const dataDir = join(work, 'data');
const setupDir = join(work, 'setup');
mkdirSync(dataDir);
mkdirSync(setupDir);
// As `npm start` runs it: --expose-gc lets the server collect once when a burst is over (server/src/idle-gc.ts).
const serverArgs = [
  '--expose-gc',
  join(root, 'server', 'bin', 'finflow.js'),
  'serve',
  '--port',
  String(port),
  '--data-dir',
  dataDir,
];
const serverEnv = { FINFLOW_DURABILITY: durability, LOG_LEVEL: 'warn', NODE_ENV: 'production' };

// 1. A fresh FinFlow with the three workloads published and one API key scoped to them (the harness's setup).
const server = spawn(process.execPath, serverArgs, {
  cwd: work,
  env: { ...process.env, ...serverEnv },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  execFileSync(
    process.execPath,
    [join(harness, 'finflow', 'setup.mjs'), String(port), dataDir, String(server.pid), setupDir, root],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
} finally {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}
const check = JSON.parse(readFileSync(join(setupDir, 'setup.json'), 'utf8')).check;
for (const [ep, c] of Object.entries(check)) {
  if (!c.same) throw new Error(`FinFlow's ${ep} answer differs from compute.js: ${JSON.stringify(c)}`);
}
const key = readFileSync(join(setupDir, 'key.txt'), 'utf8').trim();

// 2. The harness starts the same server again on that data folder (pinned like the peers) and measures.
const out = join(work, 'results');
const envPrefix = Object.entries(serverEnv)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ');
const start = `cd ${JSON.stringify(work)} && exec env ${envPrefix} ${JSON.stringify(process.execPath)} ${serverArgs
  .map((a) => JSON.stringify(a))
  .join(' ')}`;
const res = spawnSync(
  'bash',
  [
    join(harness, 'peer-http.sh'),
    ...['-r', runs, '-d', duration, '-w', warmup, '-c', concs, '-e', endpoints],
    ...['--builtins', builtins, '--nice', nice, '--retries', retries, '--out', out, '--start', start],
    `finflow=http://127.0.0.1:${port}/v1/endpoints/{ep}`,
  ],
  { env: { ...process.env, PEER_HEADER: `Authorization: Bearer ${key}` }, stdio: 'inherit' },
);
if (res.status !== 0) throw new Error(`peer-http.sh exited ${res.status}`);
// Every target must have answered 200 before the load (the harness only warns).
const refused = readFileSync(join(out, 'responses.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !/^\S+\s+\S+\s+200 /.test(l));
if (refused.length) throw new Error(`a target did not answer 200:\n${refused.join('\n')}`);

// 3. Paired ratios per repetition (the quietest attempt of each run, as report.js keeps), medians over repetitions.
const [header, ...lines] = readFileSync(join(out, 'raw.tsv'), 'utf8').trim().split('\n');
const cols = header.split('\t');
const best = new Map();
for (const line of lines) {
  const r = Object.fromEntries(line.split('\t').map((v, i) => [cols[i], v]));
  const k = [r.endpoint, r.conc, r.target, r.rep].join('|');
  const prev = best.get(k);
  if (!prev || Number(r.noise_pct) < Number(prev.noise_pct)) best.set(k, r);
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const targets = [...new Set([...best.values()].map((r) => r.target))];
const peers = targets.filter((t) => t !== 'finflow' && t !== 'bare-http');
console.log(`\n### FinFlow (durability ${durability}) against its peers, paired per repetition\n`);
console.log(
  `| workload | c | FinFlow req/s | ${peers.map((p) => `× ${p}`).join(' | ')} | FinFlow p99 ms | ` +
    `CPU µs/req ${['finflow', ...peers].join(' / ')} |`,
);
console.log(`|---|---:|---:|${peers.map(() => '---:|').join('')}---:|---:|`);
for (const ep of endpoints.split(',')) {
  for (const c of concs.split(',')) {
    const reps = [...best.values()].filter(
      (r) => r.endpoint === ep && r.conc === c && r.target === 'finflow',
    );
    if (!reps.length) continue;
    const get = (t, rep) => best.get([ep, c, t, rep].join('|'));
    const ratio = (p) => median(reps.map((r) => Number(r.rps) / Number(get(p, r.rep)?.rps ?? NaN)));
    const cpu = (t) => median(reps.map((r) => Number(get(t, r.rep)?.srv_cpu_us_per_req ?? NaN)));
    console.log(
      `| ${ep} | ${c} | ${median(reps.map((r) => Number(r.rps))).toFixed(0)} | ` +
        `${peers.map((p) => `${ratio(p).toFixed(2)}`).join(' | ')} | ` +
        `${(median(reps.map((r) => Number(r.raw_p99_us))) / 1000).toFixed(1)} | ` +
        `${['finflow', ...peers].map((t) => cpu(t).toFixed(0)).join(' / ')} |`,
    );
  }
}
const lowest = concs.split(',')[0];
const perStep = (t) => {
  const cpu = (ep) =>
    median(
      [...best.values()]
        .filter((r) => r.endpoint === ep && r.conc === lowest && r.target === t)
        .map((r) => Number(r.srv_cpu_us_per_req)),
    );
  return (cpu('chain20') - cpu('echo')) / 19;
};
if (endpoints.includes('echo') && endpoints.includes('chain20')) {
  console.log(
    `\nserver CPU µs per extra step (c=${lowest}): ` +
      ['finflow', ...peers].map((t) => `${t} ${perStep(t).toFixed(1)}`).join(', '),
  );
}
console.log(`\nload average (1 / 5 / 15 min): before ${loadBefore}, after ${load()}; results in ${out}`);
if (!process.env['FINFLOW_PEERS_KEEP']) rmSync(dataDir, { recursive: true, force: true });
