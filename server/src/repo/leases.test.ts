/**
 * Run leases (queue mode) on SQLite and on Postgres: one worker at a time holds a run; a live lease is never
 * taken, an expired one is; the sweep finds queued runs nobody holds and runs whose lease expired, and nothing
 * else. Postgres runs on a real server (test-helpers/postgres.ts), as the repository suite does.
 */
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GroupCommitter } from '../db/group-commit.js';
import { tempDir } from '../test-helpers/harness.js';
import { needPostgres, startTestPostgres, type TestPostgresResult } from '../test-helpers/postgres.js';
import { leasesOf } from './leases.js';
import { PostgresRepository } from './postgres.js';
import type { SuiteContext } from './repository-suite.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository, RunRecord, StoredRunStatus } from './types.js';

const dirs: string[] = [];
const repos: Repository[] = [];
afterEach(async () => {
  while (repos.length) await repos.pop()?.close();
  while (dirs.length) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

/** Gives a test a store and a way to open a second instance on the same storage (a second worker). */
type OpenStore = (ctx: SuiteContext) => Promise<() => Promise<Repository>>;

const run = (id: string, status: StoredRunStatus, startedAt: number): RunRecord => ({
  id,
  workspaceId: 'ws_1',
  flowId: 'flw_1',
  flowVersion: 1,
  status,
  trigger: 'endpoint',
  endpointId: null,
  deploymentId: null,
  actor: 'key:k1',
  rerunOf: null,
  inputSealed: null,
  outputsSealed: null,
  startedAt,
  finishedAt: null,
  ms: null,
  checkpointSealed: null,
  resumeClaim: null,
  businessKey: null,
  startSpec: '{"kind":"manual"}',
});

function leaseTests(openStore: OpenStore): void {
  it('lets one worker hold a run until its lease expires, across two instances on one store', async (ctx) => {
    const open = await openStore(ctx);
    const one = await open();
    const two = await open();
    const writer = new GroupCommitter(one);
    await writer.write((b) => b.runs.push(run('r1', 'queued', 1_000)));
    const t = 10_000;
    const a = leasesOf(one);
    const b = leasesOf(two);

    const claimed = await a.claimRun('r1', 'wkr_a', t, 1_000);
    expect(claimed).toMatchObject({ id: 'r1', status: 'queued', startSpec: '{"kind":"manual"}' });
    // Held: the other worker cannot take it, before or at the expiry.
    expect(await b.claimRun('r1', 'wkr_b', t + 500, 1_000)).toBeUndefined();
    expect(await b.claimRun('r1', 'wkr_b', t + 1_000, 1_000)).toBeUndefined();
    expect(await a.renewLease('r1', 'wkr_a', t + 900, 1_000)).toBe(true);
    expect(await b.claimRun('r1', 'wkr_b', t + 1_500, 1_000)).toBeUndefined();
    expect(await b.orphanedRuns(t + 1_500, t + 1_500, 10)).toEqual([]);

    // The worker died: past the lease, the sweep sees the run and another worker takes it over.
    expect(await b.orphanedRuns(t + 2_000, t + 2_000, 10)).toEqual(['r1']);
    expect(await b.claimRun('r1', 'wkr_b', t + 2_000, 1_000)).toMatchObject({ id: 'r1' });
    // The first worker, back from a stall, has lost it: renewing and releasing do nothing.
    expect(await a.renewLease('r1', 'wkr_a', t + 2_100, 1_000)).toBe(false);
    await a.releaseLease('r1', 'wkr_a');
    expect(await a.claimRun('r1', 'wkr_a', t + 2_200, 1_000)).toBeUndefined();
    await b.releaseLease('r1', 'wkr_b');
    await writer.flush();
  });

  it('never sweeps a finished, waiting or unleased running run, nor a queued run younger than the cutoff; sweeps a run claimed to resume', async (ctx) => {
    const repo = await (await openStore(ctx))();
    const writer = new GroupCommitter(repo);
    await writer.write((b) =>
      b.runs.push(
        run('done', 'succeeded', 1),
        run('waits', 'waiting', 1),
        // Running without a lease: a resume after a review on an API server (main-mode style).
        run('resumed', 'running', 1),
        run('old', 'queued', 1),
        run('young', 'queued', 5_000),
        run('decided', 'waiting', 1),
      ),
    );
    // Claimed to resume (here: to be cancelled) in queue mode: a worker is to take it.
    await writer.commitAlone((b) => b.resumeClaims.push({ runId: 'decided', token: 'clx_1', cancel: true }));
    const leases = leasesOf(repo);
    expect((await leases.orphanedRuns(10_000, 2_000, 10)).sort()).toEqual(['decided', 'old']);
    expect(await leases.claimRun('decided', 'w', 10_000, 1_000)).toMatchObject({ resumeClaim: 'clx_1' });
    expect(await leases.orphanedRuns(10_500, 2_000, 10)).toEqual(['old']);
    for (const id of ['done', 'waits', 'resumed'])
      expect(await leases.claimRun(id, 'w', 10_000, 1_000)).toBeUndefined();
    expect(await leases.claimRun('young', 'w', 10_000, 1_000)).toMatchObject({ id: 'young' });
  });

  it('gives a run to exactly one of many workers claiming it at once', async (ctx) => {
    const open = await openStore(ctx);
    const instances = [await open(), await open(), await open()];
    const [first] = instances as [Repository, ...Repository[]];
    await new GroupCommitter(first).write((b) => b.runs.push(run('r1', 'queued', 1)));
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        leasesOf(instances[i % instances.length] as Repository).claimRun('r1', `wkr_${i}`, 10_000, 60_000),
      ),
    );
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    const winner = claims.findIndex((c) => c !== undefined);
    expect(await leasesOf(first).renewLease('r1', `wkr_${winner}`, 10_001, 60_000)).toBe(true);
    expect(await leasesOf(first).renewLease('r1', `wkr_${(winner + 1) % 12}`, 10_001, 60_000)).toBe(false);
  });

  it('cancels a queued run nobody holds, and lets a cancel and claims racing for a run have one winner', async (ctx) => {
    const open = await openStore(ctx);
    const instances = [await open(), await open(), await open()];
    const [first] = instances as [Repository, ...Repository[]];
    const leases = leasesOf(first);
    await new GroupCommitter(first).write((b) =>
      b.runs.push(
        run('idle', 'queued', 1),
        run('held', 'queued', 1),
        run('stale', 'queued', 1),
        run('going', 'running', 1),
        run('done', 'succeeded', 1),
      ),
    );
    expect(await leases.cancelQueued('idle', 10_000)).toBe(true);
    expect(await first.getRunById('idle')).toMatchObject({ status: 'cancelled', finishedAt: 10_000 });
    // Cancelled: no worker takes it, the sweep never hands it out again, and a second cancel finds nothing.
    expect(await leases.claimRun('idle', 'w', 10_001, 1_000)).toBeUndefined();
    expect(await leases.cancelQueued('idle', 10_002)).toBe(false);
    // A live lease wins (that worker cancels it); an expired one does not (its worker is gone).
    expect(await leases.claimRun('held', 'w', 10_000, 5_000)).toBeDefined();
    expect(await leases.claimRun('stale', 'w', 10_000, 1_000)).toBeDefined();
    expect(await leases.cancelQueued('held', 12_000)).toBe(false);
    expect(await leases.cancelQueued('stale', 12_000)).toBe(true);
    expect((await first.getRunById('held'))?.status).toBe('queued');
    expect(await leases.cancelQueued('going', 12_000)).toBe(false);
    expect(await leases.cancelQueued('done', 12_000)).toBe(false);
    expect((await leases.orphanedRuns(100_000, 100_000, 10)).sort()).toEqual(['held']);

    // The race, twenty times over three instances: either the cancel or exactly one claim wins, never both.
    const ids = Array.from({ length: 20 }, (_, i) => `race${i}`);
    await new GroupCommitter(first).write((b) => b.runs.push(...ids.map((id) => run(id, 'queued', 1))));
    for (const [i, id] of ids.entries()) {
      const at = (k: number) => leasesOf(instances[(i + k) % instances.length] as Repository);
      const [cancelled, ...claims] = await Promise.all([
        at(0).cancelQueued(id, 20_000),
        at(1).claimRun(id, 'wkr_a', 20_000, 60_000),
        at(2).claimRun(id, 'wkr_b', 20_000, 60_000),
      ]);
      const claimed = claims.filter((c) => c !== undefined).length;
      expect(claimed + (cancelled ? 1 : 0)).toBe(1);
      expect((await first.getRunById(id))?.status).toBe(cancelled ? 'cancelled' : 'queued');
    }
  });
}

describe('run leases (SQLite)', () => {
  leaseTests(async () => {
    const dir = tempDir('finflow-leases-');
    dirs.push(dir);
    return async () => {
      const repo = SqliteRepository.open(dir);
      repos.push(repo);
      await repo.migrate();
      return repo;
    };
  });
});

describe('run leases (Postgres)', () => {
  let server: TestPostgresResult | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    if (server?.ok) await server.pg.stop();
  });

  leaseTests(async (ctx) => {
    const { pool } = await needPostgres(server, ctx).freshSchema();
    return async () => {
      const repo = new PostgresRepository({ pool });
      repos.push(repo);
      await repo.migrate();
      return repo;
    };
  });
});
