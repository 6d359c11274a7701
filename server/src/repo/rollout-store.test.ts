/**
 * Rollout storage on SQLite and on Postgres (RolloutStorage): rollouts read back as written, a transition only
 * from the revision it names (of two racing from one revision exactly one wins), a superseded rollout ends in the
 * same step a new one starts, the newest first by creation, and the gates' observations oldest first.
 */
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-helpers/harness.js';
import { needPostgres, startTestPostgres, type TestPostgresResult } from '../test-helpers/postgres.js';
import { PostgresRepository } from './postgres.js';
import type { SuiteContext } from './repository-suite.js';
import {
  RolloutStore,
  type RolloutRecord,
  type RolloutStorage,
  type TransitionRecord,
} from './rollout-store.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

const dirs: string[] = [];
const repos: Repository[] = [];
afterEach(async () => {
  while (repos.length) await repos.pop()?.close();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

/** Two stores on one database (two servers). */
type OpenStores = (ctx: SuiteContext) => Promise<[RolloutStorage, RolloutStorage]>;

const t0 = 1_700_000_000_000;

const rollout = (id: string, patch: Partial<RolloutRecord> = {}): RolloutRecord => ({
  id,
  workspaceId: 'ws_1',
  endpointId: 'ep_1',
  flowId: 'flw_1',
  championVersion: 1,
  challengerVersion: 2,
  stage: 'pilot',
  status: 'active',
  step: 0,
  share: 5,
  plan: { pilotShare: 5, steps: [5, 25, 50, 100] },
  reason: null,
  revision: 1,
  stageEnteredAt: t0,
  createdAt: t0,
  createdBy: 'u1',
  updatedAt: t0,
  ...patch,
});

const transition = (
  rolloutId: string,
  seq: number,
  patch: Partial<TransitionRecord> = {},
): TransitionRecord => ({
  rolloutId,
  seq,
  at: t0 + seq,
  actor: { type: 'user', id: 'u1', name: 'Ada' },
  action: seq === 1 ? 'started' : 'advanced',
  fromStage: seq === 1 ? null : 'pilot',
  toStage: seq === 1 ? 'pilot' : 'expansion',
  fromShare: seq === 1 ? null : 5,
  toShare: seq === 1 ? 5 : 25,
  reason: `step ${seq}`,
  details: { seq },
  ...patch,
});

/** A challenger's observation of `ms` milliseconds at `at`. */
const row = (rolloutId: string, at: number, ms: number) => ({
  rolloutId,
  at,
  arm: 'challenger' as const,
  version: 2,
  ok: true,
  ms,
  decision: null,
  agree: null,
});

function storageTests(openStores: OpenStores): void {
  it('moves a rollout only from the revision it read: of two racing transitions one wins', async (ctx) => {
    const [a, b] = await openStores(ctx);
    expect(await a.create(rollout('ro_1'), transition('ro_1', 1))).toBe(true);
    expect(await b.get('ro_1')).toEqual(rollout('ro_1'));
    expect(await b.get('ro_x')).toBeUndefined();

    const next = rollout('ro_1', { stage: 'expansion', share: 25, revision: 2, updatedAt: t0 + 2 });
    const results = await Promise.all([
      a.transition(next, transition('ro_1', 2)),
      b.transition(
        { ...next, status: 'killed', reason: 'stop' },
        transition('ro_1', 2, { action: 'killed' }),
      ),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const stored = await a.get('ro_1');
    expect(stored?.revision).toBe(2);
    // The winner's transition is the one recorded, once.
    const ts = await b.transitions('ro_1');
    expect(ts.map((t) => t.seq)).toEqual([1, 2]);
    expect(ts[1]?.action).toBe(results[0] ? 'advanced' : 'killed');
    expect(ts[0]).toEqual(transition('ro_1', 1));
    // A stale revision changes nothing.
    expect(await a.transition({ ...next, share: 50 }, transition('ro_1', 3))).toBe(false);
    expect((await a.get('ro_1'))?.share).toBe(stored?.share);
  });

  it('supersedes the previous rollout in the step that starts the next, lists newest first, and knows live ones', async (ctx) => {
    const [a, b] = await openStores(ctx);
    await a.create(rollout('ro_1'), transition('ro_1', 1));
    // Same millisecond: creation order still decides which is newest.
    const second = rollout('ro_2', { challengerVersion: 3 });
    expect(await b.create(second, transition('ro_2', 1), { id: 'ro_1', revision: 1 })).toBe(true);
    expect(await a.get('ro_1')).toMatchObject({ status: 'superseded', revision: 2 });
    // Superseding from a stale revision fails whole: the new rollout is not kept either.
    expect(await a.create(rollout('ro_3'), transition('ro_3', 1), { id: 'ro_1', revision: 1 })).toBe(false);
    expect(await a.get('ro_3')).toBeUndefined();
    expect(await a.transitions('ro_3')).toEqual([]);
    expect((await a.latestOf('ep_1'))?.id).toBe('ro_2');
    expect((await b.listOf('ep_1', 10)).map((r) => r.id)).toEqual(['ro_2', 'ro_1']);
    expect(await a.latestOf('ep_2')).toBeUndefined();
    expect((await a.live()).map((r) => r.id)).toEqual(['ro_2']);
    expect((await a.get('ro_2'))?.plan).toEqual({ pilotShare: 5, steps: [5, 25, 50, 100] });
  });

  it('keeps observations and gives the newest since a time, oldest first', async (ctx) => {
    const [a, b] = await openStores(ctx);
    await a.create(rollout('ro_1'), transition('ro_1', 1));
    await a.addObservations([]);
    await a.addObservations(
      Array.from({ length: 10 }, (_, i) => ({
        rolloutId: 'ro_1',
        at: t0 + Math.floor(i / 2),
        arm: i % 3 === 0 ? ('shadow' as const) : ('champion' as const),
        version: 1,
        ok: i !== 4,
        ms: 1.5 + i,
        decision: i === 7 ? null : `{"outcome":"approve","i":${i}}`,
        agree: i % 3 === 0 ? i % 2 === 0 : null,
      })),
    );
    const all = await b.observations('ro_1', t0, 100);
    expect(all.map((o) => o.ms)).toEqual(Array.from({ length: 10 }, (_, i) => 1.5 + i));
    expect(all[0]).toEqual({
      at: t0,
      arm: 'shadow',
      version: 1,
      ok: true,
      ms: 1.5,
      decision: '{"outcome":"approve","i":0}',
      agree: true,
    });
    expect(all[3]).toMatchObject({ agree: false, ok: true });
    expect(all[4]).toMatchObject({ ok: false, agree: null });
    expect(all[7]?.decision).toBeNull();
    // The newest 3 since t0 + 1, oldest first (rows of one millisecond in the order written).
    expect((await b.observations('ro_1', t0 + 1, 3)).map((o) => o.ms)).toEqual([8.5, 9.5, 10.5]);
    expect(await b.observations('ro_1', t0 + 100, 3)).toEqual([]);
  });

  it('keeps the CPU ms of an observation (migration 11), and none where none was measured', async (ctx) => {
    const [a, b] = await openStores(ctx);
    await a.create(rollout('ro_1'), transition('ro_1', 1));
    const base = { rolloutId: 'ro_1', version: 2, ok: true, ms: 12, decision: '"approve"', agree: null };
    await a.addObservations([
      { ...base, at: t0, arm: 'challenger', cpuMs: 3.25 },
      { ...base, at: t0 + 1, arm: 'shadow' },
      { ...base, at: t0 + 2, arm: 'champion', cpuMs: 0 },
    ]);
    const [one, two, three] = await b.observations('ro_1', t0, 10);
    expect(one).toEqual({
      at: t0,
      arm: 'challenger',
      version: 2,
      ok: true,
      ms: 12,
      decision: '"approve"',
      agree: null,
      cpuMs: 3.25,
    });
    expect(two).not.toHaveProperty('cpuMs');
    expect(three?.cpuMs).toBe(0);
  });

  it('reads back only what was stored after a row, from any store on the database', async (ctx) => {
    const [a, b] = await openStores(ctx);
    await a.create(rollout('ro_1'), transition('ro_1', 1));
    await a.create(rollout('ro_2', { endpointId: 'ep_2' }), transition('ro_2', 1));
    await a.addObservations([row('ro_1', t0, 1), row('ro_2', t0, 100), row('ro_1', t0 + 1, 2)]);
    const first = await b.observationsAfter('ro_1', 0, t0, 100);
    expect(first.rows.map((o) => o.ms)).toEqual([1, 2]);
    // Nothing new: no rows, and a cursor that does not go back.
    const again = await b.observationsAfter('ro_1', first.cursor, t0, 100);
    expect(again.rows).toEqual([]);
    expect(again.cursor).toBeGreaterThanOrEqual(first.cursor);
    // Written by the other store, in the same millisecond as an old row: still new.
    await b.addObservations([row('ro_1', t0 + 1, 3), row('ro_1', t0 - 5, 4), row('ro_1', t0 + 2, 5)]);
    const next = await a.observationsAfter('ro_1', first.cursor, t0, 100);
    // Older than the window's start (t0 - 5): not read; the rest oldest first.
    expect(next.rows.map((o) => o.ms)).toEqual([3, 5]);
    expect(next.cursor).toBeGreaterThan(first.cursor);
    // A limit keeps the newest.
    expect((await a.observationsAfter('ro_1', 0, t0, 2)).rows.map((o) => o.ms)).toEqual([3, 5]);
  });
}

describe('rollout storage (SQLite)', () => {
  storageTests(async () => {
    const dir = tempDir('finflow-rollouts-');
    dirs.push(dir);
    const open = async () => {
      const repo = SqliteRepository.open(dir);
      repos.push(repo);
      await repo.migrate();
      return new RolloutStore(repo.db);
    };
    return [await open(), await open()];
  });
});

describe('rollout storage (Postgres)', () => {
  let server: TestPostgresResult | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    if (server?.ok) await server.pg.stop();
  });

  it('reads back a sample whose write committed after a later one was read, once', async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const repo = new PostgresRepository({ pool });
    repos.push(repo);
    await repo.migrate();
    const store = repo.rolloutStorage();
    await store.create(rollout('ro_1'), transition('ro_1', 1));
    // Server A's insert takes its row number first and commits last; server B's commits in between.
    const slow = new pg.Client(pool);
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `INSERT INTO rollout_observations (rollout_id, at, arm, version, ok, ms, decision, agree)
         VALUES ('ro_1', $1, 'challenger', 2, 1, 1, NULL, NULL)`,
        [t0 + 1],
      );
      await store.addObservations([row('ro_1', t0 + 2, 2)]);
      const first = await store.observationsAfter('ro_1', 0, t0, 100);
      // B's sample is not read past A's open transaction (it would move the cursor beyond A's row for good).
      expect(first.rows).toEqual([]);
      await slow.query('COMMIT');
      const next = await store.observationsAfter('ro_1', first.cursor, t0, 100);
      expect(next.rows.map((o) => o.ms).sort()).toEqual([1, 2]);
      const after = await store.observationsAfter('ro_1', next.cursor, t0, 100);
      expect(after.rows).toEqual([]);
    } finally {
      await slow.end();
    }
  });

  storageTests(async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    const open = async () => {
      const repo = new PostgresRepository({ pool });
      repos.push(repo);
      await repo.migrate();
      return repo.rolloutStorage();
    };
    return [await open(), await open()];
  });
});
