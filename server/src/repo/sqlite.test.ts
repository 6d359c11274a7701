import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommitter } from '../db/group-commit.js';
import { migrations } from '../db/migrations.js';
import { tempDir } from '../test-helpers/harness.js';
import { reviewTaskColumns, reviewTaskValues, toReviewTask } from './rows.js';
import { DATABASE_FILE, openDatabase, SqliteRepository } from './sqlite.js';
import type { ReviewTaskRecord } from './types.js';

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
  // What every repository does is checked by the shared suite (repository.test.ts); these are SQLite's own.
  it('uses WAL with synchronous=FULL', async () => {
    const repo = await open();
    expect(repo.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(repo.db.pragma('synchronous', { simple: true })).toBe(2);
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

  it('ends the checkpointer after a quiet spell and starts it again with the next commit', async () => {
    const repo = await open(tempDir('finflow-sqlite-'));
    repo.checkpointerIdleStopMs = 300;
    const writer = new GroupCommitter(repo, 'full');
    const pad = 'x'.repeat(2000);
    let i = 0;
    for (; i < 1600 && !repo.checkpointerRunning; i++) {
      await writer.write((b) =>
        b.events.push({ runId: `w${i}`, seq: 0, lastSeq: 0, events: [event(`w${i}`, 0, pad)] }),
      );
    }
    expect(repo.checkpointerRunning).toBe(true);
    for (let k = 0; k < 100 && repo.checkpointerRunning; k++) await new Promise((r) => setTimeout(r, 100));
    expect(repo.checkpointerRunning).toBe(false);
    expect(repo.checkpointerStops).toBe(1);
    const frames = repo.checkpointedFrames;

    // Writes after the quiet spell are checkpointed by a new worker.
    for (let k = 0; k < 50; k++, i++) {
      await writer.write((b) =>
        b.events.push({ runId: `w${i}`, seq: 0, lastSeq: 0, events: [event(`w${i}`, 0, pad)] }),
      );
    }
    expect(repo.checkpointerRunning).toBe(true);
    for (let k = 0; k < 40 && repo.checkpointedFrames === frames; k++)
      await new Promise((r) => setTimeout(r, 100));
    expect(repo.checkpointedFrames).toBeGreaterThan(frames);
    expect(await repo.runEvents(`w${i - 1}`, -1)).toHaveLength(1);
  });

  it('binds a review task as the columns of review_tasks in table order, and reads the same task back', async () => {
    // The writer thread's batch and the Postgres insert both bind reviewTaskValues: a column added to the table
    // but not to it (or a swapped pair) shows here before it corrupts stored tasks.
    const repo = await open();
    const table = (repo.db.prepare('PRAGMA table_info(review_tasks)').all() as { name: string }[]).map(
      (c) => c.name,
    );
    expect([...reviewTaskColumns]).toEqual(table);
    const task: ReviewTaskRecord = {
      id: 'task-1',
      workspaceId: 'ws',
      runId: 'run-1',
      nodeId: 'review',
      flowId: 'flow-1',
      flowVersion: 3,
      endpointId: 'ep-1',
      deploymentId: null,
      queue: 'credit',
      roles: ['approver', 'risk'],
      title: 'Check the income',
      status: 'decided',
      dueAt: 1_000,
      escalatedAt: null,
      starter: 'key:k1',
      task: '{"amount":5000}',
      approvals: [
        { reviewer: { id: 'u1', name: 'Wang Fang' }, action: 'approve', reason: 'income checked', at: 900 },
      ],
      decision: '{"outcome":"approve"}',
      decidedAt: 950,
      decidedBy: 'user:u1',
      resumedBy: null,
      createdAt: 800,
    };
    const values = reviewTaskValues(task);
    expect(values).toHaveLength(table.length);
    expect(toReviewTask(Object.fromEntries(reviewTaskColumns.map((c, i) => [c, values[i]])))).toEqual(task);
  });

  it('keeps every run and event of a version 11 database through migrations 12 (run_events a rowid table) and 14 (events in the run row)', async () => {
    const dir = tempDir('finflow-sqlite-');
    dirs.push(dir);
    const old = new SqliteRepository(openDatabase(dir), join(dir, DATABASE_FILE), migrations.slice(0, 11));
    expect(await old.migrate()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Rows as version 11 wrote them (this build's writer names the columns migration 14 adds).
    const insertRun = old.db.prepare(
      `INSERT INTO runs (id, workspace_id, flow_id, flow_version, status, trigger, endpoint_id, deployment_id, actor,
         started_at, finished_at, ms) VALUES (?, 'ws_1', ?, 1, 'succeeded', 'endpoint', 'e1', 'd1', 'key:k1', ?, ?, 1)`,
    );
    const insertEvents = old.db.prepare(
      'INSERT INTO run_events (run_id, seq, last_seq, data) VALUES (?, 0, 1, ?)',
    );
    for (let i = 0; i < 20; i++) {
      insertRun.run(`m${i}`, i % 2 ? 'flw_1' : 'flw_2', 1000 + i, 1001 + i);
      insertEvents.run(`m${i}`, `[${event(`m${i}`, 0)},${event(`m${i}`, 1, '.'.repeat(i * 300))}]`);
    }
    await old.close();
    const repo = await open(dir);
    const schema = (name: string) =>
      repo.db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(name) as string | undefined;
    expect(schema('run_events')).not.toMatch(/WITHOUT ROWID/i);
    expect(schema('runs_flow')).toBeUndefined();
    for (let i = 0; i < 20; i++) {
      const events = await repo.runEvents(`m${i}`, 0);
      expect(events).toEqual([JSON.parse(event(`m${i}`, 1, '.'.repeat(i * 300)))]);
    }
    expect((await repo.listRuns('ws_1', { limit: 3, flowId: 'flw_1' })).map((r) => r.id)).toEqual([
      'm19',
      'm17',
      'm15',
    ]);
    // New rows go to the new table, next to the old ones.
    await new GroupCommitter(repo, 'full').write((b) =>
      b.events.push({ runId: 'm0', seq: 2, lastSeq: 2, events: [event('m0', 2)] }),
    );
    expect((await repo.runEvents('m0', -1)).map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(await repo.lastEventSeq('m0')).toBe(2);
    expect(await repo.lastEventSeq('m1')).toBe(1);
    expect(repo.db.prepare('SELECT count(*) FROM runs WHERE events IS NOT NULL').pluck().get()).toBe(0);
  });
});
