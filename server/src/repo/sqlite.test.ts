import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from '@finflow/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommitter } from '../db/group-commit.js';
import { tempDir } from '../test-helpers/harness.js';
import { DATABASE_FILE, SqliteRepository } from './sqlite.js';
import type { RunRecord } from './types.js';

const dirs: string[] = [];
const repos: SqliteRepository[] = [];
afterEach(async () => {
  while (repos.length) await repos.pop()?.close();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

async function open(dir = tempDir('finflow-sqlite-')): Promise<SqliteRepository> {
  dirs.push(dir);
  const repo = SqliteRepository.open(dir);
  repos.push(repo);
  await repo.migrate();
  return repo;
}

const run = (id: string): RunRecord => ({
  id,
  workspaceId: 'ws_1',
  flowId: 'flw_1',
  flowVersion: 1,
  status: 'running',
  trigger: 'manual',
  endpointId: null,
  deploymentId: null,
  actor: 'user:u1',
  rerunOf: null,
  inputSealed: null,
  outputsSealed: null,
  startedAt: Date.now(),
  finishedAt: null,
  ms: null,
  checkpointSealed: null,
  resumeClaim: null,
  businessKey: null,
});

const event = (runId: string, seq: number, pad = ''): string =>
  JSON.stringify({
    type: 'node.logged',
    runId,
    seq,
    at: seq,
    nodeId: 'n',
    level: 'info',
    message: `event ${seq}${pad}`,
  });

describe('SQLite repository', () => {
  it('uses WAL with synchronous=FULL and applies its migrations once', async () => {
    const repo = await open();
    expect(repo.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(repo.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(await repo.migrate()).toEqual([]);
    repo.db
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)')
      .run('from the future');
    await expect(repo.migrate()).rejects.toThrow(/newer than this FinFlow/);
  });

  it('commits groups in order and reads a run back event by event, across chunks', async () => {
    const repo = await open();
    const writer = new GroupCommitter(repo, 'full');
    void writer.write((b) => {
      b.runs.push(run('r1'));
      b.events.push({ runId: 'r1', seq: 0, lastSeq: 2, events: [0, 1, 2].map((s) => event('r1', s)) });
    });
    await writer.write((b) =>
      b.events.push({ runId: 'r1', seq: 3, lastSeq: 4, events: [3, 4].map((s) => event('r1', s)) }),
    );
    expect((await repo.runEvents('r1', -1)).map((e: RunEvent) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect((await repo.runEvents('r1', 1)).map((e: RunEvent) => e.seq)).toEqual([2, 3, 4]);
    expect((await repo.runEvents('r1', 4)).length).toBe(0);
    expect(await repo.lastEventSeq('r1')).toBe(4);
    expect((await repo.runningRuns()).map((r) => r.id)).toEqual(['r1']);
  });

  it('rejects a whole batch when one write fails, and keeps none of it', async () => {
    const repo = await open();
    const writer = new GroupCommitter(repo, 'full');
    await writer.write((b) => b.runs.push(run('dup')));
    const failing = writer.write((b) => {
      b.events.push({ runId: 'x', seq: 0, lastSeq: 0, events: [event('x', 0)] });
      b.runs.push(run('dup'));
    });
    await expect(failing).rejects.toThrow(/UNIQUE/);
    expect(await repo.runEvents('x', -1)).toEqual([]);
    // The committer goes on with later batches.
    await writer.write((b) => b.runs.push(run('after')));
    expect((await repo.runningRuns()).map((r) => r.id).sort()).toEqual(['after', 'dup']);
  });

  it('moves WAL checkpoints to a worker thread once writes are sustained', async () => {
    const dir = tempDir('finflow-sqlite-');
    const repo = await open(dir);
    const writer = new GroupCommitter(repo, 'full');
    const pad = 'x'.repeat(2000);
    for (let i = 0; i < 1600 && !repo.checkpointerRunning; i++) {
      await writer.write((b) =>
        b.events.push({ runId: `w${i}`, seq: 0, lastSeq: 0, events: [event(`w${i}`, 0, pad)] }),
      );
    }
    expect(repo.checkpointerRunning).toBe(true);
    const before = statSync(join(dir, DATABASE_FILE)).size;
    for (let i = 0; i < 40 && repo.checkpointedFrames === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(repo.checkpointedFrames).toBeGreaterThan(0);
    expect(statSync(join(dir, DATABASE_FILE)).size).toBeGreaterThan(before);
    expect(existsSync(join(dir, `${DATABASE_FILE}-wal`))).toBe(true);
  });
});
