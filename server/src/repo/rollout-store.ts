/**
 * Rollout storage (migrations 5 and 11): the rollout rows, their transitions, and the observations the gates read, behind
 * `RolloutStorage`; `RolloutStore` is SQLite's, `PostgresRolloutStore` (postgres-rollout-store.ts) Postgres's.
 * A transition is one transaction that writes the new state only if the row still has the revision the caller
 * read, so two servers (or two requests) cannot both move a rollout from the same state.
 */
import type Database from 'better-sqlite3';
import type { Observation } from '../services/rollout-gates.js';
import type { Stage } from '../services/rollout-split.js';
import type { AuditActor } from './types.js';

type Db = Database.Database;
type Row = Record<string, unknown>;

/** `active` and `paused` rollouts route traffic; the other states are final. */
export type RolloutStatus = 'active' | 'paused' | 'rolled-back' | 'killed' | 'superseded';

export interface RolloutRecord<P = unknown> {
  id: string;
  workspaceId: string;
  endpointId: string;
  flowId: string;
  championVersion: number;
  challengerVersion: number;
  stage: Stage;
  status: RolloutStatus;
  /** Index of the expansion step (0 outside expansion). */
  step: number;
  /** Percent of subjects the challenger answers outside the pilot cohort. */
  share: number;
  plan: P;
  /** Why the rollout ended (rollback, kill), or null. */
  reason: string | null;
  revision: number;
  stageEnteredAt: number;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
}

export interface TransitionRecord {
  rolloutId: string;
  seq: number;
  at: number;
  actor: AuditActor;
  action: string;
  fromStage: Stage | null;
  toStage: Stage;
  fromShare: number | null;
  toShare: number;
  reason: string;
  details: Record<string, unknown>;
}

export interface StoredObservation extends Observation {
  rolloutId: string;
}

const num = (v: unknown) => Number(v);

export function toRollout<P>(r: Row): RolloutRecord<P> {
  return {
    id: String(r['id']),
    workspaceId: String(r['workspace_id']),
    endpointId: String(r['endpoint_id']),
    flowId: String(r['flow_id']),
    championVersion: num(r['champion_version']),
    challengerVersion: num(r['challenger_version']),
    stage: r['stage'] as Stage,
    status: r['status'] as RolloutStatus,
    step: num(r['step']),
    share: num(r['share']),
    plan: JSON.parse(String(r['plan'])) as P,
    reason: r['reason'] === null ? null : String(r['reason']),
    revision: num(r['revision']),
    stageEnteredAt: num(r['stage_entered_at']),
    createdAt: num(r['created_at']),
    createdBy: r['created_by'] === null ? null : String(r['created_by']),
    updatedAt: num(r['updated_at']),
  };
}

export function toTransition(r: Row): TransitionRecord {
  return {
    rolloutId: String(r['rollout_id']),
    seq: num(r['seq']),
    at: num(r['at']),
    actor: JSON.parse(String(r['actor'])) as AuditActor,
    action: String(r['action']),
    fromStage: r['from_stage'] === null ? null : (r['from_stage'] as Stage),
    toStage: r['to_stage'] as Stage,
    fromShare: r['from_share'] === null ? null : num(r['from_share']),
    toShare: num(r['to_share']),
    reason: String(r['reason']),
    details: JSON.parse(String(r['details'])) as Record<string, unknown>,
  };
}

/** What the rollout service stores; a write that names a revision changes nothing (false) if another came first. */
export interface RolloutStorage {
  /** Creates a rollout with its first transition; `supersede` (the endpoint's previous rollout) ends in the same step. */
  create(
    r: RolloutRecord,
    first: TransitionRecord,
    supersede?: { id: string; revision: number },
  ): Promise<boolean>;
  /** Writes `next` if the stored row still has revision `next.revision - 1`; false when another change came first. */
  transition(next: RolloutRecord, t: TransitionRecord): Promise<boolean>;
  get<P>(id: string): Promise<RolloutRecord<P> | undefined>;
  /** The endpoint's newest rollout. */
  latestOf<P>(endpointId: string): Promise<RolloutRecord<P> | undefined>;
  listOf<P>(endpointId: string, limit: number): Promise<RolloutRecord<P>[]>;
  /** Rollouts that route traffic (active or paused), for the router's cache at start. */
  live<P>(): Promise<RolloutRecord<P>[]>;
  transitions(rolloutId: string): Promise<TransitionRecord[]>;
  addObservations(rows: readonly StoredObservation[]): Promise<void>;
  /** The rollout's newest observations since `since` (at most `limit`), oldest first. */
  observations(rolloutId: string, since: number, limit: number): Promise<Observation[]>;
  /**
   * Observations stored after the position `after` (0 for all; what the previous read returned as its cursor) at
   * or since `since`, the newest `limit` of them, oldest first, with the position to pass next time: how a server
   * reads back what other processes wrote without reading its whole window again. No row is skipped for good, even
   * one whose write commits after a later one was read: SQLite's position is its rowid (one writer, so commit
   * order); Postgres's a transaction horizon (rows of transactions still open wait for a later read).
   */
  observationsAfter(
    rolloutId: string,
    after: number,
    since: number,
    limit: number,
  ): Promise<{ rows: Observation[]; cursor: number }>;
}

/** An observation row as both stores keep it (ok and agree as 0/1). */
export function toObservation(r: Row): Observation {
  return {
    at: num(r['at']),
    arm: r['arm'] as Observation['arm'],
    version: num(r['version']),
    ok: num(r['ok']) === 1,
    ms: num(r['ms']),
    decision: r['decision'] === null ? null : String(r['decision']),
    agree: r['agree'] === null ? null : num(r['agree']) === 1,
    ...(r['cpu_ms'] === null || r['cpu_ms'] === undefined ? {} : { cpuMs: num(r['cpu_ms']) }),
  };
}

export class RolloutStore implements RolloutStorage {
  constructor(private readonly db: Db) {}

  private insertTransition(t: TransitionRecord): void {
    this.db
      .prepare(
        `INSERT INTO rollout_transitions (rollout_id, seq, at, actor, action, from_stage, to_stage, from_share, to_share, reason, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
  }

  /** Creates a rollout with its first transition; `supersede` (the endpoint's previous rollout) ends in the same step. */
  async create(
    r: RolloutRecord,
    first: TransitionRecord,
    supersede?: { id: string; revision: number },
  ): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (supersede) {
          const changed = this.db
            .prepare(
              `UPDATE rollouts SET status = 'superseded', revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?`,
            )
            .run(r.createdAt, supersede.id, supersede.revision).changes;
          if (changed !== 1) return false;
        }
        this.db
          .prepare(
            `INSERT INTO rollouts (id, workspace_id, endpoint_id, flow_id, champion_version, challenger_version, stage, status,
               step, share, plan, reason, revision, stage_entered_at, created_at, created_by, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
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
          );
        this.insertTransition(first);
        return true;
      })
      .immediate();
  }

  /** Writes `next` if the stored row still has revision `next.revision - 1`; false when another change came first. */
  async transition(next: RolloutRecord, t: TransitionRecord): Promise<boolean> {
    return this.db
      .transaction(() => {
        const changed = this.db
          .prepare(
            `UPDATE rollouts SET stage = ?, status = ?, step = ?, share = ?, reason = ?, revision = ?, stage_entered_at = ?,
               updated_at = ? WHERE id = ? AND revision = ?`,
          )
          .run(
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
          ).changes;
        if (changed !== 1) return false;
        this.insertTransition(t);
        return true;
      })
      .immediate();
  }

  async get<P>(id: string): Promise<RolloutRecord<P> | undefined> {
    const r = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as Row | undefined;
    return r ? toRollout<P>(r) : undefined;
  }

  /** The endpoint's newest rollout. */
  async latestOf<P>(endpointId: string): Promise<RolloutRecord<P> | undefined> {
    const r = this.db
      .prepare('SELECT * FROM rollouts WHERE endpoint_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
      .get(endpointId) as Row | undefined;
    return r ? toRollout<P>(r) : undefined;
  }

  async listOf<P>(endpointId: string, limit: number): Promise<RolloutRecord<P>[]> {
    return (
      this.db
        .prepare('SELECT * FROM rollouts WHERE endpoint_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
        .all(endpointId, limit) as Row[]
    ).map((r) => toRollout<P>(r));
  }

  /** Rollouts that route traffic (active or paused), for the router's cache at start. */
  async live<P>(): Promise<RolloutRecord<P>[]> {
    return (
      this.db.prepare(`SELECT * FROM rollouts WHERE status IN ('active', 'paused')`).all() as Row[]
    ).map((r) => toRollout<P>(r));
  }

  async transitions(rolloutId: string): Promise<TransitionRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM rollout_transitions WHERE rollout_id = ? ORDER BY seq')
        .all(rolloutId) as Row[]
    ).map(toTransition);
  }

  async addObservations(rows: readonly StoredObservation[]): Promise<void> {
    if (!rows.length) return;
    const insert = this.db.prepare(
      `INSERT INTO rollout_observations (rollout_id, at, arm, version, ok, ms, decision, agree, cpu_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db
      .transaction(() => {
        for (const o of rows)
          insert.run(
            o.rolloutId,
            o.at,
            o.arm,
            o.version,
            o.ok ? 1 : 0,
            o.ms,
            o.decision,
            o.agree === null ? null : o.agree ? 1 : 0,
            o.cpuMs ?? null,
          );
      })
      .immediate();
  }

  async observationsAfter(
    rolloutId: string,
    after: number,
    since: number,
    limit: number,
  ): Promise<{ rows: Observation[]; cursor: number }> {
    const rows = this.db
      .prepare(
        `SELECT rowid AS seq, * FROM rollout_observations WHERE rollout_id = ? AND rowid > ? AND at >= ?
         ORDER BY rowid DESC LIMIT ?`,
      )
      .all(rolloutId, after, since, limit) as Row[];
    const cursor = rows.length ? num(rows[0]?.['seq']) : after;
    return { rows: rows.reverse().map(toObservation), cursor };
  }

  /** The rollout's newest observations since `since` (at most `limit`), oldest first. */
  async observations(rolloutId: string, since: number, limit: number): Promise<Observation[]> {
    const rows = this.db
      .prepare(
        'SELECT * FROM rollout_observations WHERE rollout_id = ? AND at >= ? ORDER BY at DESC, rowid DESC LIMIT ?',
      )
      .all(rolloutId, since, limit) as Row[];
    return rows.reverse().map(toObservation);
  }
}
