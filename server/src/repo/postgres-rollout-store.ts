/**
 * Rollouts in Postgres (migrations 5 and 11): the same rows, transitions and observations as SQLite's RolloutStore, behind
 * the same `RolloutStorage`. A transition is a conditional UPDATE on the revision the caller read, in a transaction
 * with its transition row: under READ COMMITTED, of two servers moving one rollout from the same revision, the
 * second re-checks the condition on the row the first left, changes nothing and gets false. `ord` (an identity
 * column) orders rows of the same millisecond, as SQLite's rowid does.
 */
import type { Observation } from '../services/rollout-gates.js';
import {
  toObservation,
  toRollout,
  toTransition,
  type RolloutRecord,
  type RolloutStorage,
  type StoredObservation,
  type TransitionRecord,
} from './rollout-store.js';

type Row = Record<string, unknown>;

/** What the store needs of the repository: queries, and a transaction whose `query` runs on one connection. */
export interface PostgresQueries {
  query(sql: string, params?: unknown[]): Promise<Row[]>;
  tx<T>(
    fn: (
      query: (sql: string, params?: unknown[]) => Promise<{ rows: Row[]; rowCount: number }>,
    ) => Promise<T>,
  ): Promise<T>;
}

export class PostgresRolloutStore implements RolloutStorage {
  constructor(private readonly db: PostgresQueries) {}

  async create(
    r: RolloutRecord,
    first: TransitionRecord,
    supersede?: { id: string; revision: number },
  ): Promise<boolean> {
    return this.db.tx(async (q) => {
      if (supersede) {
        const changed = await q(
          `UPDATE rollouts SET status = 'superseded', revision = revision + 1, updated_at = $1
           WHERE id = $2 AND revision = $3`,
          [r.createdAt, supersede.id, supersede.revision],
        );
        // Nothing written yet: returning false ends the transaction with nothing to keep.
        if (changed.rowCount !== 1) return false;
      }
      await q(
        `INSERT INTO rollouts (id, workspace_id, endpoint_id, flow_id, champion_version, challenger_version, stage,
           status, step, share, plan, reason, revision, stage_entered_at, created_at, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [
          r.id,
          r.workspaceId,
          r.endpointId,
          r.flowId,
          r.championVersion,
          r.challengerVersion,
          r.stage,
          r.status,
          r.step,
          r.share,
          JSON.stringify(r.plan),
          r.reason,
          r.revision,
          r.stageEnteredAt,
          r.createdAt,
          r.createdBy,
          r.updatedAt,
        ],
      );
      await insertTransition(q, first);
      return true;
    });
  }

  async transition(next: RolloutRecord, t: TransitionRecord): Promise<boolean> {
    return this.db.tx(async (q) => {
      const changed = await q(
        `UPDATE rollouts SET stage = $1, status = $2, step = $3, share = $4, reason = $5, revision = $6,
           stage_entered_at = $7, updated_at = $8 WHERE id = $9 AND revision = $10`,
        [
          next.stage,
          next.status,
          next.step,
          next.share,
          next.reason,
          next.revision,
          next.stageEnteredAt,
          next.updatedAt,
          next.id,
          next.revision - 1,
        ],
      );
      if (changed.rowCount !== 1) return false;
      await insertTransition(q, t);
      return true;
    });
  }

  async get<P>(id: string): Promise<RolloutRecord<P> | undefined> {
    const [r] = await this.db.query('SELECT * FROM rollouts WHERE id = $1', [id]);
    return r ? toRollout<P>(r) : undefined;
  }

  async latestOf<P>(endpointId: string): Promise<RolloutRecord<P> | undefined> {
    return (await this.listOf<P>(endpointId, 1))[0];
  }

  async listOf<P>(endpointId: string, limit: number): Promise<RolloutRecord<P>[]> {
    return (
      await this.db.query(
        'SELECT * FROM rollouts WHERE endpoint_id = $1 ORDER BY created_at DESC, ord DESC LIMIT $2',
        [endpointId, limit],
      )
    ).map((r) => toRollout<P>(r));
  }

  async live<P>(): Promise<RolloutRecord<P>[]> {
    return (await this.db.query(`SELECT * FROM rollouts WHERE status IN ('active', 'paused')`)).map((r) =>
      toRollout<P>(r),
    );
  }

  async transitions(rolloutId: string): Promise<TransitionRecord[]> {
    return (
      await this.db.query('SELECT * FROM rollout_transitions WHERE rollout_id = $1 ORDER BY seq', [rolloutId])
    ).map(toTransition);
  }

  async addObservations(rows: readonly StoredObservation[]): Promise<void> {
    if (!rows.length) return;
    // One statement for the whole batch (unnest of column arrays), as the repository's group writes do.
    await this.db.query(
      `INSERT INTO rollout_observations (rollout_id, at, arm, version, ok, ms, decision, agree, cpu_ms)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::float8[], $7::text[],
         $8::int[], $9::float8[])`,
      [
        rows.map((o) => o.rolloutId),
        rows.map((o) => o.at),
        rows.map((o) => o.arm),
        rows.map((o) => o.version),
        rows.map((o) => (o.ok ? 1 : 0)),
        rows.map((o) => o.ms),
        rows.map((o) => o.decision),
        rows.map((o) => (o.agree === null ? null : o.agree ? 1 : 0)),
        rows.map((o) => o.cpuMs ?? null),
      ],
    );
  }

  async observationsAfter(
    rolloutId: string,
    after: number,
    since: number,
    limit: number,
  ): Promise<{ rows: Observation[]; cursor: number }> {
    // The cursor is a transaction horizon (migration 13): every transaction below the snapshot's xmin has ended,
    // so the rows between the last read's horizon and this one are final and none is read twice. A row of a
    // transaction still open waits for the next read instead of being skipped for good.
    const [h] = await this.db.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
    const horizon = Number(h?.['horizon']);
    if (!(horizon > after)) return { rows: [], cursor: after };
    const rows = await this.db.query(
      `SELECT * FROM rollout_observations
       WHERE rollout_id = $1 AND tx >= $2::text::xid8 AND tx < $3::text::xid8 AND at >= $4
       ORDER BY tx DESC, ord DESC LIMIT $5`,
      [rolloutId, String(after), String(horizon), since, limit],
    );
    return { rows: rows.reverse().map(toObservation), cursor: horizon };
  }

  async observations(rolloutId: string, since: number, limit: number): Promise<Observation[]> {
    const rows = await this.db.query(
      `SELECT * FROM rollout_observations WHERE rollout_id = $1 AND at >= $2
       ORDER BY at DESC, ord DESC LIMIT $3`,
      [rolloutId, since, limit],
    );
    return rows.reverse().map(toObservation);
  }
}

async function insertTransition(
  q: (sql: string, params?: unknown[]) => Promise<unknown>,
  t: TransitionRecord,
): Promise<void> {
  await q(
    `INSERT INTO rollout_transitions (rollout_id, seq, at, actor, action, from_stage, to_stage, from_share, to_share,
       reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      t.rolloutId,
      t.seq,
      t.at,
      JSON.stringify(t.actor),
      t.action,
      t.fromStage,
      t.toStage,
      t.fromShare,
      t.toShare,
      t.reason,
      JSON.stringify(t.details),
    ],
  );
}
