import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, SqliteRepository } from '../repo/sqlite.js';
import { emptyBatch, type RunRecord, type WriteBatch } from '../repo/types.js';
import { timeOrderedUuid } from '../security/crypto.js';
import { tempDir } from '../test-helpers/harness.js';
import { entryMac } from '../audit-chain.js';
import { WriterThread } from './writer-thread.js';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()?.();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

const AUDIT_KEY = Buffer.alloc(32, 7);

/** A migrated database file and a writer thread on it. */
async function setup(): Promise<{ file: string; writer: WriterThread }> {
  const dir = tempDir('finflow-writer-');
  dirs.push(dir);
  const repo = SqliteRepository.open(dir);
  await repo.migrate();
  await repo.close();
  const file = join(dir, DATABASE_FILE);
  const writer = new WriterThread({
    file,
    auditKey: AUDIT_KEY,
    walLargeAt: Number.MAX_SAFE_INTEGER,
    onWalLarge: () => {},
  });
  closers.push(() => writer.close());
  return { file, writer };
}

const run = (id: string): RunRecord => ({
  id,
  workspaceId: 'ws_1',
  flowId: 'flw_1',
  flowVersion: 1,
  status: 'succeeded',
  trigger: 'endpoint',
  endpointId: 'ep_1',
  deploymentId: 'dep_1',
  actor: 'key:k1',
  rerunOf: null,
  inputSealed: Buffer.from('sealed input'),
  outputsSealed: null,
  startedAt: 1,
  finishedAt: 2,
  ms: 1,
  checkpointSealed: null,
  resumeClaim: null,
  businessKey: null,
});

function batchOf(fill: (b: WriteBatch) => void): WriteBatch {
  const b = emptyBatch();
  fill(b);
  return b;
}

const count = (file: string, sql: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('the database writer thread', () => {
  it('starts in a process given V8 heap flags (npm start passes some; a worker refuses them)', async () => {
    const saved = process.execArgv;
    process.execArgv = [
      ...saved,
      '--max-semi-space-size=16',
      '--expose-gc',
      '--trace-gc',
      '--stack-size=2000',
    ];
    try {
      const { file, writer } = await setup();
      await writer.commit(batchOf((b) => b.runs.push(run('flags')))).durable;
      expect(count(file, 'SELECT count(*) FROM runs')).toBe(1);
    } finally {
      process.execArgv = saved;
    }
  });

  it('commits a burst of batches in order, each written before it is durable', async () => {
    const { file, writer } = await setup();
    const order: string[] = [];
    const commits = Array.from({ length: 300 }, (_, i) => {
      const id = `r${String(i).padStart(3, '0')}`;
      const c = writer.commit(
        batchOf((b) => {
          b.runs.push(run(id));
          b.events.push({ runId: id, seq: 0, lastSeq: 0, events: [JSON.stringify({ seq: 0, n: i })] });
          b.audit.push({
            workspaceId: 'ws_1',
            at: i,
            actor: { type: 'key', id: 'k1' },
            action: 'endpoint.decision',
            target: `run:${id}`,
            details: { i },
          });
        }),
      );
      void c.written.then(() => order.push(`w${i}`));
      void c.durable.then(() => order.push(`d${i}`));
      return c.durable;
    });
    await Promise.all(commits);
    expect(count(file, 'SELECT count(*) FROM runs')).toBe(300);
    expect(count(file, 'SELECT count(*) FROM audit_log')).toBe(300);
    // Sealed values arrive as the bytes they were.
    const db = new Database(file, { readonly: true });
    const sealed = db.prepare("SELECT input_sealed FROM runs WHERE id = 'r007'").pluck().get() as Buffer;
    const seqs = db.prepare('SELECT seq FROM audit_log ORDER BY seq').pluck().all() as number[];
    const targets = db.prepare('SELECT target FROM audit_log ORDER BY seq').pluck().all() as string[];
    const macs = db.prepare('SELECT hash, mac FROM audit_log ORDER BY seq').all() as {
      hash: string;
      mac: string;
    }[];
    db.close();
    // The thread authenticates each entry with the one chain implementation the verifier uses.
    for (const { hash, mac } of macs) expect(mac).toBe(entryMac(AUDIT_KEY, hash));
    expect(sealed.toString()).toBe('sealed input');
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(targets.slice(0, 3)).toEqual(['run:r000', 'run:r001', 'run:r002']);
    for (let i = 0; i < 300; i++) expect(order.indexOf(`w${i}`)).toBeLessThan(order.indexOf(`d${i}`));
  });

  it('refuses only the failing batch of a group committed together', async () => {
    const { file, writer } = await setup();
    await writer.commit(batchOf((b) => b.runs.push(run('taken')))).durable;
    const results = await Promise.allSettled(
      Array.from(
        { length: 40 },
        (_, i) => writer.commit(batchOf((b) => b.runs.push(run(i === 17 ? 'taken' : `ok${i}`)))).durable,
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([17]);
    expect((results[17] as PromiseRejectedResult).reason.message).toMatch(/UNIQUE/);
    expect(count(file, 'SELECT count(*) FROM runs')).toBe(40);
  });

  it('makes a writer far ahead of the thread wait, losing and reordering nothing', async () => {
    const { file, writer } = await setup();
    // More batches than may be uncommitted at once, posted without yielding to the event loop.
    const commits = Array.from(
      { length: 6000 },
      (_, i) => writer.commit(batchOf((b) => b.runs.push({ ...run(`b${i}`), startedAt: i }))).written,
    );
    await Promise.all(commits);
    const db = new Database(file, { readonly: true });
    const starts = db.prepare('SELECT started_at FROM runs ORDER BY rowid').pluck().all() as number[];
    db.close();
    expect(starts).toEqual(Array.from({ length: 6000 }, (_, i) => i));
  });

  it('commits and syncs everything posted before it closes', async () => {
    const { file, writer } = await setup();
    for (let i = 0; i < 50; i++) void writer.commit(batchOf((b) => b.runs.push(run(`c${i}`))));
    await writer.close();
    expect(writer.running).toBe(false);
    expect(count(file, 'SELECT count(*) FROM runs')).toBe(50);
  });
});

describe('run ids', () => {
  it('are version 7 UUIDs that sort by creation time', () => {
    const ids = [0, 1, 1_700_000_000_000, 2 ** 48 - 1].map((t) => timeOrderedUuid(t));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[2]?.slice(0, 13)).toBe('018bcfe5-6800');
    expect(new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(5))).size).toBe(1000);
  });
});
