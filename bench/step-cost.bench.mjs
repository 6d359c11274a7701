// CPU per extra step on the endpoint path, in-process (issue 18, round 4): the peer harness's echo (one weighted
// sum) and chain20 (20 `$merge` steps) flows run with the built-in nodes as a published endpoint runs them (input
// check, run, every event handed to a store) and each run's events encoded as the compact run record the server
// stores. CPU per extra step = (chain20 − echo) / 19, as bench/endpoint-peers.bench.mjs measures it on a server
// with wrk, without the HTTP, the writer thread and the disk. CPU is the process's (user + system, every thread:
// V8's GC helpers included), with the events of the last 50 runs kept alive as a server keeps runs in flight.
//
// `--against DIR` measures another build (a checkout whose packages are built: runtime/, nodes/) in alternation
// with this one, each in processes of its own, for paired old/new figures on a busy machine.
// Usage: node bench/step-cost.bench.mjs [--rounds 6] [--blocks 6] [--runs 250] [--against /path/to/checkout]
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chain20, echo, peerBody } from './lib/peer-flows.mjs';

const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const STEPS = 19;

const blocks = Number(opt('blocks', '6'));
const perBlock = Number(opt('runs', '250'));
const rounds = Number(opt('rounds', '6'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

if (process.argv.includes('--child')) {
  // One build in one process (two builds in one process would share V8's hidden classes, and one build's objects
  // would shape the other's): echo and chain20 in alternating blocks of runs, each block's CPU per call.
  const root = opt('root');
  const { createRuntime, createRegistry, encodeRunRecord } = await import(`${root}/runtime/dist/index.js`);
  const nodes = await import(`${root}/nodes/builtin/dist/index.js`);
  const rt = createRuntime({ registry: createRegistry(nodes.createBuiltinRegistry().list()) });
  const meta = { flowVersion: 1, trigger: 'endpoint', actor: { type: 'apiKey', id: 'k' }, endpointId: 'e' };
  const kept = new Array(50);
  let k = 0;
  const flows = { echo: rt.prepare(echo()), chain20: rt.prepare(chain20()) };
  const call = async (name) => {
    const events = [];
    const store = { append: (e) => void events.push(e) };
    const r = await rt.start(flows[name], peerBody(), { store, meta }).result;
    if (r.status !== 'succeeded') throw new Error(r.status);
    // The events of the last 50 runs stay alive, as a server's runs in flight and its write queue keep them.
    kept[k++ % kept.length] = { events, record: encodeRunRecord(events) };
  };
  const out = { echo: [], chain20: [] };
  for (const name of ['echo', 'chain20']) for (let i = 0; i < 300; i++) await call(name);
  for (let block = 0; block < blocks; block++)
    for (const name of block % 2 ? ['chain20', 'echo'] : ['echo', 'chain20']) {
      const c0 = cpu();
      for (let i = 0; i < perBlock; i++) await call(name);
      out[name].push((cpu() - c0) / perBlock);
    }
  for (const name of ['echo', 'chain20']) {
    await call(name);
    const { events, record } = kept[(k - 1) % kept.length];
    const c0 = cpu();
    for (let i = 0; i < 2000; i++) encodeRunRecord(events);
    out[`${name}Record`] = { us: (cpu() - c0) / 2000, bytes: record.length };
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const roots = [fileURLToPath(new URL('..', import.meta.url))];
if (opt('against')) roots.push(opt('against'));
const results = new Map(roots.map((r) => [r, []]));
const loadStart = loadavg()[0].toFixed(1);
for (let r = 0; r < rounds; r++) {
  // Builds take turns going first, so neither always gets the quieter moment.
  for (const root of r % 2 ? [...roots].reverse() : roots) {
    const c = spawnSync(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--child',
        '--root',
        root,
        '--blocks',
        String(blocks),
        '--runs',
        String(perBlock),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (c.status !== 0) throw new Error(`${root}: exited ${c.status}`);
    results.get(root).push(JSON.parse(c.stdout));
  }
}
console.log(
  `\nnode ${process.version}, ${rounds} processes a build, each ${blocks} blocks of ${perBlock} runs a flow; load ` +
    `average ${loadStart} → ${loadavg()[0].toFixed(1)}\n`,
);
console.log(
  '| build | echo CPU µs a call | chain20 CPU µs a call | CPU µs per extra step (median, quartiles) | per extra step, least-disturbed blocks | record alone: µs echo / chain20 | record bytes echo / chain20 |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
/** Per extra step, block by block (echo and chain20 measured side by side), over every process of a build. */
const steps = (xs) => xs.flatMap((x) => x.chain20.map((c, i) => (c - x.echo[i]) / STEPS));
/**
 * On a shared machine other processes only ever add CPU time (cache misses, preemption): the quickest blocks are
 * the least disturbed. The fastest quarter of echo blocks against the fastest quarter of chain20 blocks.
 */
const leastDisturbed = (xs) => {
  const q = (name) => {
    const s = xs.flatMap((x) => x[name]).sort((a, b) => a - b);
    return median(s.slice(0, Math.max(1, Math.floor(s.length / 4))));
  };
  return (q('chain20') - q('echo')) / STEPS;
};
for (const root of roots) {
  const xs = results.get(root);
  const per = steps(xs).sort((a, b) => a - b);
  const all = (f) => median(xs.flatMap(f)).toFixed(1);
  console.log(
    `| ${root === roots[0] ? 'this' : root} | ${all((x) => x.echo)} | ${all((x) => x.chain20)} | ` +
      `${median(per).toFixed(1)} (${per[Math.floor(per.length / 4)].toFixed(1)}-${per[Math.floor((3 * per.length) / 4)].toFixed(1)}) | ` +
      `${leastDisturbed(xs).toFixed(1)} | ` +
      `${all((x) => [x.echoRecord.us])} / ${all((x) => [x.chain20Record.us])} | ` +
      `${xs[0].echoRecord.bytes} / ${xs[0].chain20Record.bytes} |`,
  );
}
if (roots.length === 2) {
  // Paired by round: the two processes of a round ran one after the other.
  const ratios = results
    .get(roots[0])
    .map((x, r) => median(steps([x])) / median(steps([results.get(roots[1])[r]])));
  console.log(
    `\nper extra step, this / against, paired by round: median ${median(ratios).toFixed(2)}x ` +
      `(${ratios.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
