// CPU per extra step on the endpoint path, in-process (issue 18, rounds 4 and 5): the peer harness's echo (one
// weighted sum) and chain20 (20 `$merge` steps) flows, CPU per extra step = (chain20 − echo) / 19, as
// bench/endpoint-peers.bench.mjs measures it on a server with wrk. Two paths:
// - the run alone (round 4): the flows run with the built-in nodes as a published endpoint runs them (input check,
//   run, every event handed to a store) and each run's events encoded as the compact run record the server stores,
//   without the HTTP, the writer thread and the disk; the events of the last 50 runs are kept alive as a server
//   keeps runs in flight.
// - the server (round 5, `--server`): a FinFlow server started in the measuring process (durability full, its
//   SQLite writer thread, the data in a temporary folder), the flows published as endpoints with an API key, and
//   each call a POST through node:http on the same event loop, 1 and 10 calls in flight: key check, rate limit,
//   body parsing, run, events, metrics, run record, audit entry, group commit and fsync, answer. The client's own
//   CPU is in the figure; it is the same for both flows but for the answer's size, so it cancels out of the
//   difference per step.
// CPU is the process's (user + system, every thread: V8's GC helpers and the writer thread included).
//
// `--against DIR` measures another build (a checkout whose packages are built: runtime/, nodes/, server/) in
// alternation with this one, each in processes of its own, for paired old/new figures on a busy machine.
// `--alloc` (the run alone) adds the bytes allocated a run, from the inspector's sampling heap profiler: a count that
// load does not move, where CPU figures on a shared machine move by a third between processes.
// Usage: node bench/step-cost.bench.mjs [--server] [--alloc] [--rounds 6] [--blocks 6] [--runs 250] [--against /path/to/checkout]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishFlows } from './lib/finflow.mjs';
import { chain20, echo, peerBody } from './lib/peer-flows.mjs';

const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const STEPS = 19;
const RESULT = 'step-cost result: ';

const blocks = Number(opt('blocks', '6'));
const perBlock = Number(opt('runs', '250'));
const rounds = Number(opt('rounds', '6'));
const server = process.argv.includes('--server');
const alloc = process.argv.includes('--alloc');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

if (process.argv.includes('--child') && server) {
  // The server path: one server in this process, calls through node:http with `inFlight` calls at a time.
  const root = opt('root');
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-step-cost-'));
  Object.assign(process.env, {
    FINFLOW_DATA_DIR: dataDir,
    FINFLOW_DURABILITY: 'full',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  const { startServer, loadConfig } = await import(`${root}/server/dist/index.js`);
  let setupToken;
  const s = await startServer({ config: loadConfig(), onSetupToken: (t) => (setupToken = t) });
  const { bearer } = await publishFlows({ ready: s.url, setupToken }, [
    ['echo', echo()],
    ['chain20', chain20()],
  ]);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const body = JSON.stringify(peerBody());
  const headers = {
    ...bearer,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  const call = (name) =>
    new Promise((resolve, reject) => {
      const req = request(`${s.url}/v1/endpoints/${name}`, { method: 'POST', agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${name}: ${res.statusCode} ${text}`)),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  /** `n` calls, `inFlight` at a time (each of `inFlight` loops calls again as soon as its answer is in). */
  const calls = (name, n, inFlight) => {
    let left = n;
    const loop = async () => {
      while (left-- > 0) await call(name);
    };
    return Promise.all(Array.from({ length: inFlight }, loop));
  };
  const out = {};
  for (const inFlight of [1, 10]) {
    const o = (out[inFlight] = { echo: [], chain20: [] });
    for (const name of ['echo', 'chain20']) await calls(name, 200, inFlight);
    for (let block = 0; block < blocks; block++)
      for (const name of block % 2 ? ['chain20', 'echo'] : ['echo', 'chain20']) {
        const c0 = cpu();
        await calls(name, perBlock, inFlight);
        o[name].push((cpu() - c0) / perBlock);
      }
  }
  agent.destroy();
  await s.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`\n${RESULT}${JSON.stringify(out)}\n`);
  process.exit(0);
}

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
  if (alloc) {
    // Bytes allocated a run, which load does not move (round 6): the inspector's sampling heap profiler counting
    // every sampled object, collected since or not, over 500 runs a flow after the timed blocks.
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    for (const name of ['echo', 'chain20']) {
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 256,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      for (let i = 0; i < 500; i++) await call(name);
      const { profile } = await session.post('HeapProfiler.stopSampling');
      let bytes = 0;
      const walk = (n) => {
        bytes += n.selfSize;
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      out[`${name}Alloc`] = bytes / 500;
    }
    session.disconnect();
  }
  process.stdout.write(`\n${RESULT}${JSON.stringify(out)}\n`);
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
        ...(server ? ['--server'] : []),
        ...(alloc ? ['--alloc'] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (c.status !== 0) throw new Error(`${root}: exited ${c.status}`);
    // The result is the last line (a server in the child may print its own lines before it).
    const line = c.stdout.split('\n').find((l) => l.startsWith(RESULT));
    if (!line) throw new Error(`${root}: no result in ${c.stdout.slice(0, 500)}`);
    results.get(root).push(JSON.parse(line.slice(RESULT.length)));
  }
}
console.log(
  `\nnode ${process.version}, ${server ? 'the server path' : 'the run alone'}, ${rounds} processes a build, each ` +
    `${blocks} blocks of ${perBlock} ${server ? 'calls' : 'runs'} a flow${server ? ' at each number in flight' : ''}; ` +
    `load average ${loadStart} → ${loadavg()[0].toFixed(1)}\n`,
);
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
/** Median KB allocated a run over a build's processes, and per extra step. */
const allocCell = (all) => {
  const e = median(all.map((x) => x.echoAlloc)) / 1024;
  const c = median(all.map((x) => x.chain20Alloc)) / 1024;
  return `${e.toFixed(1)} / ${c.toFixed(1)} / ${((c - e) / STEPS).toFixed(2)}`;
};
/** One table: a row per build; `pick` gives a process's blocks for this table. */
const table = (title, pick, extra) => {
  if (title) console.log(`\n${title}\n`);
  console.log(
    `| build | echo CPU µs a call | chain20 CPU µs a call | CPU µs per extra step (median, quartiles) | per extra step, least-disturbed blocks |${extra ? ' record alone: µs echo / chain20 | record bytes echo / chain20 |' : ''}${extra && alloc ? ' KB allocated a run: echo / chain20 / per extra step |' : ''}`,
  );
  console.log(`|---|---:|---:|---:|---:|${extra ? '---:|---:|' : ''}${extra && alloc ? '---:|' : ''}`);
  for (const root of roots) {
    const all = results.get(root);
    const xs = all.map(pick);
    const per = steps(xs).sort((a, b) => a - b);
    const med = (f) => median(xs.flatMap(f)).toFixed(1);
    console.log(
      `| ${root === roots[0] ? 'this' : root} | ${med((x) => x.echo)} | ${med((x) => x.chain20)} | ` +
        `${median(per).toFixed(1)} (${per[Math.floor(per.length / 4)].toFixed(1)}-${per[Math.floor((3 * per.length) / 4)].toFixed(1)}) | ` +
        `${leastDisturbed(xs).toFixed(1)} |` +
        (extra
          ? ` ${median(all.map((x) => x.echoRecord.us)).toFixed(1)} / ${median(all.map((x) => x.chain20Record.us)).toFixed(1)} | ` +
            `${all[0].echoRecord.bytes} / ${all[0].chain20Record.bytes} |`
          : '') +
        (extra && alloc ? ` ${allocCell(all)} |` : ''),
    );
  }
  if (roots.length === 2) {
    // Paired by round: the two processes of a round ran one after the other.
    const other = results.get(roots[1]).map(pick);
    const ratios = results
      .get(roots[0])
      .map(pick)
      .map((x, r) => median(steps([x])) / median(steps([other[r]])));
    console.log(
      `\nper extra step, this / against, paired by round: median ${median(ratios).toFixed(2)}x ` +
        `(${ratios.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
};
if (server) for (const inFlight of ['1', '10']) table(`${inFlight} in flight:`, (x) => x[inFlight], false);
else table('', (x) => x, true);
