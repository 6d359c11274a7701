// What one endpoint call's commit writes (issue 18, round 4): WAL frames (4 KiB pages) per one-run commit, by
// b-tree, and the database's bytes per run, through the real write path (SqliteRepository's writer thread, a
// GroupCommitter with durability full), for the schema before migration 12 and after it. Each commit holds what
// an echo call commits: its run row (finished), its events as one row (the size a 3-node endpoint run's compact
// record has) and its audit entry with the chain head. The database is filled first, so the indexes have the
// depth a server that has run for a while has; then checkpointed, and the WAL read frame by frame.
// Usage: node bench/commit-pages.bench.mjs [--fill 5000] [--commits 1000]   (needs the packages built: npx tsc -b)
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const server = (p) => import(new URL(`../server/dist/${p}`, import.meta.url).href);
const { SqliteRepository, openDatabase, DATABASE_FILE } = await server('repo/sqlite.js');
const { GroupCommitter } = await server('db/group-commit.js');
const { migrations } = await server('db/migrations.js');
const Database = createRequire(new URL('../server/package.json', import.meta.url))('better-sqlite3');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILL = arg('fill', 5000);
const COMMITS = arg('commits', 1000);
const EVENTS_TEXT = JSON.stringify({ v: 1, pad: 'e'.repeat(1330) }); // 1.37 KB, an echo run's record
const DETAILS = {
  slug: 'echo',
  outputs: { result: { score: 12.3 } },
  inputHash: 'f'.repeat(64),
  status: 'succeeded',
};

async function measure(label, schema) {
  const dir = mkdtempSync(join(tmpdir(), 'finflow-pages-'));
  try {
    const repo = new SqliteRepository(openDatabase(dir), join(dir, DATABASE_FILE), schema, {
      auditKey: Buffer.alloc(32, 7),
    });
    await repo.migrate();
    const writer = new GroupCommitter(repo, 'full');
    let t = Date.now();
    const call = () =>
      writer.write((b) => {
        const id = randomUUID();
        t++;
        b.runs.push({
          id,
          workspaceId: 'ws_bench',
          flowId: 'flw_bench',
          flowVersion: 1,
          status: 'succeeded',
          trigger: 'endpoint',
          endpointId: 'ep_bench',
          deploymentId: 'dep_bench',
          actor: 'key:key_bench',
          rerunOf: null,
          inputSealed: null,
          outputsSealed: null,
          startedAt: t,
          finishedAt: t + 1,
          ms: 0.9,
          checkpointSealed: null,
          resumeClaim: null,
          businessKey: null,
        });
        b.events.push({ runId: id, seq: 0, lastSeq: 6, events: [EVENTS_TEXT.slice(1, -1)] });
        b.audit.push({
          workspaceId: 'ws_bench',
          at: t,
          actor: { type: 'key', id: 'key_bench', name: 'bench' },
          action: 'endpoint.decision',
          target: 'endpoint:ep_bench',
          details: { ...DETAILS, runId: id },
        });
      });
    for (let i = 0; i < FILL; i += 200) await Promise.all(Array.from({ length: 200 }, call));
    repo.db.pragma('wal_checkpoint(TRUNCATE)');
    // A reader holding the snapshot from before the commits keeps every frame they write in the WAL (no
    // checkpoint may copy past it, so the WAL never starts over), to be counted.
    const reader = new Database(join(dir, DATABASE_FILE), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM workspaces').get();
    // One call at a time: each commit holds one run (c=1).
    for (let i = 0; i < COMMITS; i++) await call();
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
    const bytes = statSync(join(dir, DATABASE_FILE)).size;
    await repo.close();
    console.log(
      `${label}: ${(frames / COMMITS).toFixed(2)} WAL frames per one-run commit; ${(bytes / (FILL + COMMITS) / 1024).toFixed(2)} KiB of database per run`,
    );
    const rows = [...by].sort((a, b) => b[1] - a[1]);
    console.log(`  ${rows.map(([k, v]) => `${k} ${(v / COMMITS).toFixed(2)}`).join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${FILL} runs first, then ${COMMITS} one-run commits`,
);
await measure(
  'schema 11 (before migration 12)',
  migrations.filter((m) => m.version <= 11),
);
await measure('schema 12', migrations);
