// What one endpoint call's commit writes (issue 18, rounds 4 and 5): WAL frames (4 KiB pages) per one-run commit,
// by b-tree, and the database's bytes per run, through the real write path (SqliteRepository's writer thread, a
// GroupCommitter with durability full). Each commit holds what an endpoint call of the peer harness's echo flow
// commits: its run row (finished), its events (the real run's events, handed over as objects and encoded as its
// compact record on the way to the writer, as the endpoint path does) and its audit entry (the endpoint route's
// details) with the chain head. The database is filled first, so the indexes have the depth a server that has
// run for a while has; then checkpointed, and the WAL read frame by frame. `--against DIR` runs the same commits
// through another build (a checkout with its packages built) first, for the figures before a change.
// CPU per commit is read per thread from /proc (the event loop, the writer thread, the rest: libuv's pool doing
// the fdatasync, V8's helpers); with `--rounds N` the builds alternate N times for paired figures.
// Usage: node bench/commit-pages.bench.mjs [--fill 5000] [--commits 1000] [--flow echo|chain20|fanout]
//          [--against DIR] [--rounds 1]   (needs the packages built: npx tsc -b)
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { endpointCall, realEvents } from './lib/endpoint-commit.mjs';

const argv = process.argv;
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i > 0 ? argv[i + 1] : dflt;
};
const FILL = Number(arg('fill', 5000));
const COMMITS = Number(arg('commits', 1000));
const FLOW = arg('flow', 'echo');
const AGAINST = arg('against', undefined);
const here = new URL('../', import.meta.url);
const Database = createRequire(new URL('../server/package.json', import.meta.url))('better-sqlite3');

/** CPU time (µs, user + system) of each of this process's threads, by thread id. */
function threadCpu() {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * (1e6 / 100));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Per commit: the event loop (the main thread), the writer (the busiest other thread) and the rest. */
function cpuPerCommit(before, after) {
  const main = String(process.pid);
  const used = [...after].map(([tid, us]) => [tid, us - (before.get(tid) ?? 0)]);
  const others = used.filter(([tid]) => tid !== main).sort((a, b) => b[1] - a[1]);
  const sum = (xs) => xs.reduce((t, [, us]) => t + us, 0);
  return {
    main: sum(used.filter(([tid]) => tid === main)) / COMMITS,
    writer: (others[0]?.[1] ?? 0) / COMMITS,
    other: sum(others.slice(1)) / COMMITS,
  };
}

async function measure(label, root, events) {
  const server = (p) => import(new URL(`server/dist/${p}`, root).href);
  const { SqliteRepository, openDatabase, DATABASE_FILE } = await server('repo/sqlite.js');
  const { GroupCommitter } = await server('db/group-commit.js');
  const { migrations } = await server('db/migrations.js');
  const dir = mkdtempSync(join(tmpdir(), 'finflow-pages-'));
  try {
    const repo = new SqliteRepository(openDatabase(dir), join(dir, DATABASE_FILE), migrations, {
      auditKey: Buffer.alloc(32, 7),
    });
    await repo.migrate();
    const writer = new GroupCommitter(repo, 'full');
    const fill = endpointCall(events, FLOW);
    const call = () => writer.write(fill);
    for (let i = 0; i < FILL; i += 200) await Promise.all(Array.from({ length: 200 }, call));
    repo.db.pragma('wal_checkpoint(TRUNCATE)');
    // A reader holding the snapshot from before the commits keeps every frame they write in the WAL (no
    // checkpoint may copy past it, so the WAL never starts over), to be counted.
    const reader = new Database(join(dir, DATABASE_FILE), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM workspaces').get();
    // One call at a time: each commit holds one run (c=1).
    const cpu0 = threadCpu();
    for (let i = 0; i < COMMITS; i++) await call();
    const cpu = cpuPerCommit(cpu0, threadCpu());
    const wal = readFileSync(join(dir, `${DATABASE_FILE}-wal`));
    const owner = new Map(
      repo.db
        .prepare('SELECT pageno, name FROM dbstat')
        .all()
        .map((r) => [r.pageno, r.name]),
    );
    const by = new Map();
    let frames = 0;
    for (let off = 32; off + 24 <= wal.length; off += 24 + 4096) {
      const name = owner.get(wal.readUInt32BE(off)) ?? '(new or free page)';
      by.set(name, (by.get(name) ?? 0) + 1);
      frames++;
    }
    reader.exec('COMMIT');
    reader.close();
    repo.db.pragma('wal_checkpoint(TRUNCATE)');
    // Bytes by table and index: payload stored, and pages used (every page of a b-tree, overflow ones included).
    const sizes = repo.db
      .prepare(
        "SELECT name, sum(payload) AS payload, count(*) AS pages FROM dbstat GROUP BY name HAVING name IN ('runs', 'run_events', 'audit_log', 'audit_workspace')",
      )
      .all();
    const bytes = statSync(join(dir, DATABASE_FILE)).size;
    await repo.close();
    const runs = FILL + COMMITS;
    console.log(
      `${label}: ${(frames / COMMITS).toFixed(2)} WAL frames per one-run commit; ${(bytes / runs / 1024).toFixed(2)} KiB of database per run`,
    );
    const rows = [...by].sort((a, b) => b[1] - a[1]);
    console.log(`  frames: ${rows.map(([k, v]) => `${k} ${(v / COMMITS).toFixed(2)}`).join(', ')}`);
    console.log(
      `  CPU µs per commit: event loop ${cpu.main.toFixed(0)}, writer thread ${cpu.writer.toFixed(0)}, other threads ${cpu.other.toFixed(0)}`,
    );
    console.log(
      `  per run: ${sizes.map((s) => `${s.name} ${Math.round(s.payload / runs)} B payload, ${((s.pages * 4096) / runs).toFixed(0)} B of pages`).join('; ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const events = await realEvents(FLOW);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${FLOW}: ${events.length} events a run; ${FILL} runs first, then ${COMMITS} one-run commits`,
);
// Builds alternate, ROUNDS times, for paired figures (the CPU ones move with the machine's load).
const ROUNDS = Number(arg('rounds', 1));
for (let r = 1; r <= ROUNDS; r++) {
  const tag = ROUNDS > 1 ? ` [round ${r}, load ${loadavg()[0].toFixed(1)}]` : '';
  if (AGAINST) await measure(`before (${AGAINST})${tag}`, pathToFileURL(`${resolve(AGAINST)}/`), events);
  await measure(`${AGAINST ? 'this build' : 'now'}${tag}`, here, events);
}
