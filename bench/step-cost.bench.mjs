// CPU per extra step on the endpoint path, in-process (issue 18, round 4): the peer harness's echo (one weighted
// sum) and chain20 (20 `$merge` steps) flows run with the built-in nodes as a published endpoint runs them (input
// check, run, every event handed to a store) and each run's events encoded as the compact run record the server
// stores. CPU per extra step = (chain20 − echo) / 19, as bench/endpoint-peers.bench.mjs measures it on a server
// with wrk, without the HTTP, the writer thread and the disk. CPU is the process's (user + system, every thread:
// V8's GC helpers included), with the events of the last 50 runs kept alive as a server keeps runs in flight.
//
// `--against DIR` measures another build (a checkout whose packages are built: runtime/, nodes/) in alternation
// with this one, each in its own process, for paired old/new figures on a busy machine.
// Usage: node bench/step-cost.bench.mjs [--rounds 5] [--runs 2000] [--against /path/to/other/checkout]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chain20, echo, peerBody } from './lib/peer-flows.mjs';

const here = fileURLToPath(import.meta.url);
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const STEPS = 19;

if (process.argv.includes('--child')) {
  const root = opt('root');
  const runs = Number(opt('runs', '2000'));
  const { createRuntime, createRegistry, encodeRunRecord } = await import(`${root}/runtime/dist/index.js`);
  const nodes = await import(`${root}/nodes/builtin/dist/index.js`);
  const registry = createRegistry(nodes.createBuiltinRegistry().list());
  const rt = createRuntime({ registry });
  const kept = new Array(50);
  let k = 0;
  /** One endpoint call: the run with a store collecting its events, then the record. */
  const call = async (prepared, meta) => {
    const events = [];
    const store = { append: (e) => void events.push(e) };
    const r = await rt.start(prepared, peerBody(), { store, meta }).result;
    if (r.status !== 'succeeded') throw new Error(r.status);
    const record = encodeRunRecord(events);
    kept[k++ % kept.length] = { events, record };
    return record;
  };
  const cpu = () => {
    const c = process.cpuUsage();
    return c.user + c.system;
  };
  const out = {};
  for (const [name, flow] of [
    ['echo', echo()],
    ['chain20', chain20()],
  ]) {
    const prepared = rt.prepare(flow);
    const meta = { flowVersion: 1, trigger: 'endpoint', actor: { type: 'apiKey', id: 'k' }, endpointId: 'e' };
    for (let i = 0; i < 300; i++) await call(prepared, meta);
    const c0 = cpu();
    for (let i = 0; i < runs; i++) await call(prepared, meta);
    const total = (cpu() - c0) / runs;
    // The record alone, on the events of the last run.
    const last = kept[(k - 1) % kept.length];
    const e0 = cpu();
    for (let i = 0; i < runs; i++) encodeRunRecord(last.events);
    out[name] = { us: total, encodeUs: (cpu() - e0) / runs, bytes: last.record.length };
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const rounds = Number(opt('rounds', '5'));
const runs = opt('runs', '2000');
const builds = [['this', fileURLToPath(new URL('..', import.meta.url))]];
if (opt('against')) builds.push(['against', opt('against')]);
const load = () => loadavg()[0].toFixed(1);
const results = new Map(builds.map(([name]) => [name, []]));
const loadStart = load();
for (let r = 0; r < rounds; r++) {
  // Alternate which build goes first, so neither always gets the quieter moment.
  const order = r % 2 ? [...builds].reverse() : builds;
  for (const [name, root] of order) {
    const c = spawnSync(process.execPath, [here, '--child', '--root', root, '--runs', runs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (c.status !== 0) throw new Error(`${name}: exited ${c.status}`);
    results.get(name).push(JSON.parse(c.stdout));
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const perStep = (x) => (x.chain20.us - x.echo.us) / STEPS;
console.log(
  `\nnode ${process.version}, ${rounds} rounds of ${runs} runs a flow, load average ${loadStart} → ${load()}\n`,
);
console.log(
  '| build | echo CPU µs a call | chain20 CPU µs a call | CPU µs per extra step (median, range) | record: µs echo / chain20 | record bytes echo / chain20 |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, root] of builds) {
  const xs = results.get(name);
  const steps = xs.map(perStep);
  const m = (f) => median(xs.map(f)).toFixed(1);
  console.log(
    `| ${name === 'this' ? 'this' : root} | ${m((x) => x.echo.us)} | ${m((x) => x.chain20.us)} | ` +
      `${median(steps).toFixed(1)} (${Math.min(...steps).toFixed(1)}-${Math.max(...steps).toFixed(1)}) | ` +
      `${m((x) => x.echo.encodeUs)} / ${m((x) => x.chain20.encodeUs)} | ${xs[0].echo.bytes} / ${xs[0].chain20.bytes} |`,
  );
}
if (builds.length === 2) {
  const a = results.get('this');
  const b = results.get('against');
  const ratios = a.map((x, i) => perStep(x) / perStep(b[i]));
  console.log(
    `\nper extra step, this / against, paired by round: median ${median(ratios).toFixed(2)}x ` +
      `(${ratios.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
