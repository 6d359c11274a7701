/**
 * The Postgres repository (node-postgres): for teams that run several FinFlow servers on one shared database.
 * Same interface, same schema versions and the same test suite as the SQLite repository (repository-suite.ts).
 *
 * Group writes (WriteBatch) are applied in the order they were handed over: one transaction at a time per
 * process, and batches that queue up while one commits go into the next transaction together (group commit, as
 * the SQLite writer thread does). A transaction that fails is retried batch by batch so only the failing batch is
 * refused. Postgres's own durability applies (synchronous_commit), so a batch is durable once it is written.
 * Across servers, audit appends are serialised by a transaction-scoped advisory lock taken just before the
 * entries are chained, so every workspace's chain stays one chain whatever number of servers append to it.
 * Conditional writes (review decisions, escalations) run under READ COMMITTED, where an UPDATE that waited for
 * a concurrent one re-checks its condition on the new row: the loser finds nothing to change and gets
 * REVIEW_CONFLICT. Errors are typed by SQLSTATE (errors.ts), never by their text.
 */
import type pg from 'pg';
import type { CustomTypesConfig, Pool, PoolClient, PoolConfig } from 'pg';
import type { RunEvent } from '@finflow/runtime';
import { chainHash, entryMac, GENESIS_HASH, headMac } from '../audit-chain.js';
import { postgresMigrations, type PostgresMigration } from '../db/postgres-migrations.js';
import { canonicalJson } from '../hash.js';
import { StorageConflict, storageError } from './errors.js';
import { chunkText, foldedChunks, rowEvents } from './event-rows.js';
import type { RunLeases } from './leases.js';
import { PostgresRolloutStore } from './postgres-rollout-store.js';
import type { RolloutStorage } from './rollout-store.js';
import {
  num,
  numOrNull,
  str,
  strOrNull,
  toApiKey,
  toArtefactSummary,
  toAudit,
  toConnection,
  toCredential,
  toDeployment,
  toEndpoint,
  toDriftAlert,
  toEvaluation,
  toLearning,
  toRetrainJob,
  toFederatedDataset,
  toFeedback,
  toFlow,
  toInvitation,
  toReviewTask,
  reviewTaskColumns,
  reviewTaskValues,
  toRun,
  RUN_COLUMNS,
  toSession,
  toUser,
  toVersion,
  toWorkspace,
  type Row,
} from './rows.js';
import { emptyBatch } from './types.js';
import type {
  ApiKeyRecord,
  AuditHead,
  AuditRow,
  BatchCommit,
  ConnectionRecord,
  CredentialRecord,
  DeploymentRecord,
  EndpointRecord,
  EndpointStats,
  DriftAlertRecord,
  EvaluationRecord,
  ArtefactRecord,
  ArtefactSummary,
  LearningRecord,
  RetrainJobRecord,
  FederatedDatasetRecord,
  FeedbackQuery,
  FeedbackRecord,
  FeedbackSource,
  FlowListItem,
  FlowRecord,
  IdempotencyRecord,
  InvitationRecord,
  MemberRecord,
  Repository,
  ReviewTaskFilter,
  ReviewTaskRecord,
  Role,
  RunFilter,
  RunRecord,
  SessionRecord,
  SessionView,
  UserRecord,
  VersionRecord,
  WorkspaceRecord,
  WriteBatch,
} from './types.js';

type Client = PoolClient;
/** A pool or a client in a transaction: both answer `query`. */
type Queryable = Pick<Pool, 'query'> | Client;

/** Advisory lock keys (pg_advisory_xact_lock takes a bigint): one for migrations, one for audit appends. */
const MIGRATION_LOCK = 0x46_69_6e_46_01; // "FinF" + 1
const AUDIT_LOCK = 0x46_69_6e_46_02;

/** Batches taken from the queue per transaction at most. */
const MAX_GROUP = 256;

const INT8 = 20;
/**
 * BIGINT columns (times in ms, counts) come back as numbers: every one FinFlow stores is far below 2^53, and
 * the rest of the server (and the audit hash, which joins the numbers as text) expects numbers.
 */
const typesOf = (lib: typeof pg): CustomTypesConfig => ({
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8
      ? (v: string) => Number(v)
      : lib.types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
});

/** Column i of rows, for `unnest($n::type[])`. */
const column = <T>(rows: readonly T[], pick: (row: T) => unknown): unknown[] => rows.map(pick);

/**
 * One statement made of several writes, each a data-modifying CTE (Postgres runs every one of them once, to the
 * end, whether the main query reads it or not), with their parameters numbered in turn: a round trip for what
 * took one per write.
 */
class Composite {
  readonly values: unknown[] = [];
  private readonly writes: string[] = [];

  /** A parameter's placeholder, cast to its type. */
  p(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }

  /** `unnest(...)` over rows, one array parameter per column: `[pick, element type]` each. */
  unnest<T>(rows: readonly T[], columns: readonly (readonly [(row: T) => unknown, string])[]): string {
    return `unnest(${columns.map(([pick, type]) => this.p(column(rows, pick), `${type}[]`)).join(', ')})`;
  }

  with(sql: string): void {
    this.writes.push(sql);
  }

  /** The statement: the writes, then `main` (a lone write without `main` is the statement itself). */
  sql(main?: string): string | undefined {
    if (!main && this.writes.length <= 1) return this.writes[0];
    const ctes = this.writes.map((w, i) => `w${i} AS (${w})`).join(', ');
    return `${ctes ? `WITH ${ctes} ` : ''}${main ?? 'SELECT 1'}`;
  }
}

/** True for a batch with conditional review writes, whose outcome depends on what the batches before it did. */
const conditional = (b: WriteBatch) =>
  b.reviewDecisions.length > 0 || b.reviewEscalations.length > 0 || b.resumeClaims.length > 0;

/**
 * A group's batches as few batches as possible: consecutive unconditional batches become one (their rows in
 * order, so each table is written by one statement rather than one per batch); a batch with conditional review
 * writes stays on its own, in its place.
 */
export function mergeRuns(batches: readonly WriteBatch[]): WriteBatch[] {
  const out: WriteBatch[] = [];
  let open: WriteBatch | undefined;
  for (const b of batches) {
    if (conditional(b)) {
      out.push(b);
      open = undefined;
      continue;
    }
    if (!open) {
      open = emptyBatch();
      out.push(open);
    }
    open.runs.push(...b.runs);
    open.events.push(...b.events);
    open.runUpdates.push(...b.runUpdates);
    open.reviewTasks.push(...b.reviewTasks);
    open.feedback.push(...b.feedback);
    open.audit.push(...b.audit);
    open.idempotencyClaims.push(...b.idempotencyClaims);
    open.idempotency.push(...b.idempotency);
    for (const [id, at] of b.keyUsage) open.keyUsage.set(id, Math.max(at, open.keyUsage.get(id) ?? 0));
    for (const [k, u] of b.credentialUsage) {
      const prev = open.credentialUsage.get(k);
      open.credentialUsage.set(k, prev && prev.at > u.at ? prev : u);
    }
  }
  return out;
}

export interface PostgresOptions {
  /** A `postgres://` URL (user, password, host, port, database, `?sslmode=`...). */
  connectionString?: string;
  /** Further node-postgres pool settings (tests set `options: '-c search_path=...'`). */
  pool?: PoolConfig;
  migrations?: readonly PostgresMigration[];
  /**
   * The key that authenticates audit entries (derived from the master key). Needed to write audit entries and to
   * upgrade a database whose audit log predates the MACs.
   */
  auditKey?: Buffer;
}

interface Queued {
  batch: WriteBatch;
  resolve(): void;
  reject(err: unknown): void;
}

export class PostgresRepository implements Repository, RunLeases {
  readonly kind = 'postgres' as const;
  /**
   * node-postgres is loaded with the first Postgres repository, not at start: a server on SQLite (the default)
   * does not pay for its import (0.1-0.4 s).
   */
  private readonly pool: Promise<Pool>;
  private readonly migrationList: readonly PostgresMigration[];
  private readonly auditKey: Buffer | undefined;
  private readonly queue: Queued[] = [];
  private committing = false;
  /** Transactions the group committer ran (for tests and the bench: groups, not batches). */
  commitTransactions = 0;

  constructor(options: PostgresOptions) {
    this.pool = import('pg').then(({ default: pg }) => {
      const pool = new pg.Pool({
        max: 10,
        // A database that is away makes requests fail within seconds rather than queue for ever.
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
        ...options.pool,
        ...(options.connectionString ? { connectionString: options.connectionString } : {}),
        types: typesOf(pg),
      });
      // An idle client whose connection dropped (database restarted) must not crash the process; the pool
      // discards it and the next query opens a new connection.
      pool.on('error', () => {});
      return pool;
    });
    this.migrationList = options.migrations ?? postgresMigrations;
    this.auditKey = options.auditKey;
  }

  private async query(sql: string, params: unknown[] = [], on?: Queryable): Promise<Row[]> {
    try {
      return (await (on ?? (await this.pool)).query(sql, params)).rows as Row[];
    } catch (err) {
      throw storageError(err);
    }
  }

  private async one(sql: string, params: unknown[] = []): Promise<Row | undefined> {
    return (await this.query(sql, params))[0];
  }

  private async changes(sql: string, params: unknown[], on?: Queryable): Promise<number> {
    try {
      return (await (on ?? (await this.pool)).query(sql, params)).rowCount ?? 0;
    } catch (err) {
      throw storageError(err);
    }
  }

  /** Rollouts on this database (migration 5; see postgres-rollout-store.ts). */
  rolloutStorage(): RolloutStorage {
    return new PostgresRolloutStore({
      query: (sql, params) => this.query(sql, params),
      tx: (fn) =>
        this.tx((c) =>
          fn(async (sql, params) => {
            const r = await c.query(sql, params);
            return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 };
          }),
        ),
    });
  }

  /** Runs `fn` in a transaction on one connection; rolls back and rethrows (typed) on failure. */
  private async tx<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    let c: Client;
    try {
      c = await (await this.pool).connect();
    } catch (err) {
      // A database that is away refuses the connection: that is a 503 too, not an unknown error.
      throw storageError(err);
    }
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw storageError(err);
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<number[]> {
    return this.tx(async (c) => {
      // Servers starting together wait for one another here; the second finds nothing left to apply.
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const applied = new Set(
        (await c.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => num(r['version'])),
      );
      const known = Math.max(0, ...this.migrationList.map((m) => m.version));
      const newest = Math.max(0, ...applied);
      if (newest > known) {
        throw new Error(
          `the database schema is version ${newest}, newer than this FinFlow knows (${known}); upgrade FinFlow`,
        );
      }
      const done: number[] = [];
      for (const m of [...this.migrationList].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) continue;
        await c.query(m.sql);
        if (m.authenticateAudit) await this.authenticateAudit(c);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
        done.push(m.version);
      }
      return done;
    });
  }

  /**
   * Gives existing audit entries and heads their MACs (migration 4), in the migration's transaction; the
   * append-only trigger is off for it and back on before the transaction commits.
   */
  private async authenticateAudit(c: Client): Promise<void> {
    const key = this.auditKey;
    const entries = (await c.query('SELECT seq, hash FROM audit_log WHERE mac IS NULL')).rows as Row[];
    const heads = (await c.query('SELECT workspace_id, seq, hash, count FROM audit_heads WHERE mac IS NULL'))
      .rows as Row[];
    if (entries.length || heads.length) {
      if (!key)
        throw new Error('upgrading the audit log needs the master key (the audit key is derived from it)');
      await c.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update');
      await c.query(
        `UPDATE audit_log SET mac = v.mac FROM unnest($1::bigint[], $2::text[]) AS v(seq, mac)
         WHERE audit_log.seq = v.seq`,
        [entries.map((r) => num(r['seq'])), entries.map((r) => entryMac(key, str(r['hash'])))],
      );
      await c.query(
        `UPDATE audit_heads SET mac = v.mac FROM unnest($1::text[], $2::text[]) AS v(workspace_id, mac)
         WHERE audit_heads.workspace_id = v.workspace_id`,
        [
          heads.map((r) => str(r['workspace_id'])),
          heads.map((r) =>
            headMac(key, str(r['workspace_id']), num(r['seq']), str(r['hash']), num(r['count'])),
          ),
        ],
      );
      await c.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update');
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  private closed = false;

  /** Lets queued group writes finish, then closes the pool; closing again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.committing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
    await (await this.pool).end();
  }

  // Group writes

  commit(batch: WriteBatch): BatchCommit {
    const written = new Promise<void>((resolve, reject) => this.queue.push({ batch, resolve, reject }));
    written.catch(() => {});
    void this.drain();
    return { written, durable: written };
  }

  private async drain(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queue.length) {
        const group = this.queue.splice(0, MAX_GROUP);
        try {
          await this.tx(async (c) => {
            for (const batch of mergeRuns(group.map((q) => q.batch))) await this.apply(c, batch);
          });
          this.commitTransactions++;
          for (const q of group) q.resolve();
        } catch (err) {
          if (group.length === 1) {
            group[0]?.reject(err);
            continue;
          }
          // Only the batch that fails is refused; the others commit one by one, in order.
          for (const q of group) {
            try {
              await this.tx((c) => this.apply(c, q.batch));
              this.commitTransactions++;
              q.resolve();
            } catch (e) {
              q.reject(e);
            }
          }
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /**
   * One batch's writes in as few round trips as they allow. The runs, their events, the key and credential uses
   * and, when the batch has audit entries, the audit lock with the chain's heads go in one statement (each write a
   * data-modifying CTE: none reads what another writes); run updates, review writes, feedback and idempotency
   * rows follow one by one (each may depend on one before it); then the audit entries with their heads, in one
   * statement. An endpoint call's commit is BEGIN, those two statements and COMMIT (it was seven or eight).
   */
  private async apply(c: Client, b: WriteBatch): Promise<void> {
    // Runs that started and finished within the batch carry their events in their row (event-rows.ts).
    const folded = foldedChunks(b);
    const first = new Composite();
    if (b.runs.length) {
      first.with(
        `INSERT INTO runs (id, workspace_id, flow_id, flow_version, status, trigger, endpoint_id, deployment_id, actor,
           rerun_of, input_sealed, outputs_sealed, started_at, finished_at, ms, checkpoint_sealed, business_key,
           start_spec, events_last_seq, events)
         SELECT * FROM ${first.unnest<RunRecord>(b.runs, [
           [(x) => x.id, 'text'],
           [(x) => x.workspaceId, 'text'],
           [(x) => x.flowId, 'text'],
           [(x) => x.flowVersion, 'int'],
           [(x) => x.status, 'text'],
           [(x) => x.trigger, 'text'],
           [(x) => x.endpointId, 'text'],
           [(x) => x.deploymentId, 'text'],
           [(x) => x.actor, 'text'],
           [(x) => x.rerunOf, 'text'],
           [(x) => x.inputSealed, 'bytea'],
           [(x) => x.outputsSealed, 'bytea'],
           [(x) => x.startedAt, 'bigint'],
           [(x) => x.finishedAt, 'bigint'],
           [(x) => x.ms, 'float8'],
           [(x) => x.checkpointSealed, 'bytea'],
           [(x) => x.businessKey, 'text'],
           [(x) => x.startSpec ?? null, 'text'],
           [(x) => folded?.get(x.id)?.lastSeq ?? null, 'int'],
           [
             (x) => {
               const chunk = folded?.get(x.id);
               return chunk ? chunkText(chunk) : null;
             },
             'text',
           ],
         ])}`,
      );
    }
    const e = folded ? b.events.filter((x) => folded.get(x.runId) !== x) : b.events;
    if (e.length) {
      first.with(
        `INSERT INTO run_events (run_id, seq, last_seq, data)
         SELECT * FROM ${first.unnest(e, [
           [(x) => x.runId, 'text'],
           [(x) => x.seq, 'int'],
           [(x) => x.lastSeq, 'int'],
           [chunkText, 'text'],
         ])}`,
      );
    }
    if (b.keyUsage.size) {
      first.with(
        `UPDATE api_keys SET last_used_at = greatest(coalesce(last_used_at, 0), v.at)
         FROM ${first.unnest(
           [...b.keyUsage],
           [
             [([id]) => id, 'text'],
             [([, at]) => at, 'bigint'],
           ],
         )} AS v(id, at) WHERE api_keys.id = v.id`,
      );
    }
    if (b.credentialUsage.size) {
      first.with(
        `UPDATE credentials SET last_used_at = greatest(coalesce(last_used_at, 0), v.at)
         FROM ${first.unnest(
           [...b.credentialUsage.values()],
           [
             [(x) => x.workspaceId, 'text'],
             [(x) => x.name, 'text'],
             [(x) => x.at, 'bigint'],
           ],
         )} AS v(workspace_id, name, at)
         WHERE credentials.workspace_id = v.workspace_id AND credentials.name = v.name`,
      );
    }
    let heads: Row[] | undefined;
    if (b.audit.length) {
      if (!this.auditKey) throw new Error('the repository has no audit key: audit entries cannot be written');
      // The appenders' lock, then the heads as they are once it is granted (migration 14's audit_lock_heads).
      const workspaces = [...new Set(b.audit.map((d) => d.workspaceId))];
      const sql = first.sql(
        `SELECT * FROM audit_lock_heads(${first.p(AUDIT_LOCK, 'bigint')}, ${first.p(workspaces, 'text[]')})`,
      );
      heads = (await c.query(sql as string, first.values)).rows as Row[];
    } else {
      const sql = first.sql();
      if (sql) await c.query(sql, first.values);
    }
    const u = b.runUpdates;
    if (u.length > 1 && new Set(u.map((x) => x.id)).size === u.length) {
      // One statement for the group's run updates (each run once; otherwise in order, one by one).
      await c.query(
        `UPDATE runs SET status = v.status, finished_at = v.finished_at, ms = v.ms,
           outputs_sealed = coalesce(v.outputs_sealed, runs.outputs_sealed),
           checkpoint_sealed = coalesce(v.checkpoint_sealed, runs.checkpoint_sealed)
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bytea[], $6::bytea[])
           AS v(id, status, finished_at, ms, outputs_sealed, checkpoint_sealed)
         WHERE runs.id = v.id`,
        [
          column(u, (x) => x.id),
          column(u, (x) => x.status),
          column(u, (x) => x.finishedAt),
          column(u, (x) => x.ms),
          column(u, (x) => x.outputsSealed ?? null),
          column(u, (x) => x.checkpointSealed ?? null),
        ],
      );
    } else {
      for (const x of u) {
        await c.query(
          `UPDATE runs SET status = $1, finished_at = $2, ms = $3, outputs_sealed = coalesce($4, outputs_sealed),
             checkpoint_sealed = coalesce($5, checkpoint_sealed) WHERE id = $6`,
          [x.status, x.finishedAt, x.ms, x.outputsSealed ?? null, x.checkpointSealed ?? null, x.id],
        );
      }
    }
    await this.applyReviews(c, b);
    for (const f of b.feedback) {
      await c.query(
        `INSERT INTO feedback (id, workspace_id, run_id, flow_id, flow_version, endpoint_id, deployment_id, source,
           label, prediction, dedupe_key, request_hash, actor, decided_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`,
        [
          f.id,
          f.workspaceId,
          f.runId,
          f.flowId,
          f.flowVersion,
          f.endpointId,
          f.deploymentId,
          f.source,
          f.label,
          f.prediction,
          f.dedupeKey,
          f.requestHash,
          f.actor,
          f.decidedAt,
          f.createdAt,
        ],
      );
    }
    for (const i of b.idempotencyClaims) {
      await c.query(
        `INSERT INTO idempotency (key_id, endpoint_id, idem_key, request_hash, run_id, status, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
        [i.keyId, i.endpointId, i.idemKey, i.requestHash, i.runId, i.status, i.body, i.createdAt],
      );
    }
    for (const i of b.idempotency) {
      await c.query(
        `UPDATE idempotency SET status = $1, body = $2, run_id = coalesce($3, run_id)
         WHERE key_id = $4 AND endpoint_id = $5 AND idem_key = $6`,
        [i.status, i.body, i.runId, i.keyId, i.endpointId, i.idemKey],
      );
    }
    if (heads) await this.appendAudit(c, b, heads);
  }

  /** Review decisions apply only to the state they were made against; claims follow in the same transaction. */
  private async applyReviews(c: Client, b: WriteBatch): Promise<void> {
    for (const t of b.reviewTasks) {
      await c.query(
        `INSERT INTO review_tasks (${reviewTaskColumns.join(', ')})
         VALUES (${reviewTaskColumns.map((_, k) => `$${k + 1}`).join(', ')})
         ON CONFLICT DO NOTHING`,
        reviewTaskValues(t),
      );
    }
    for (const d of b.reviewDecisions) {
      const changed = await this.changes(
        `UPDATE review_tasks SET status = $1, approvals = $2, decision = $3, decided_at = $4, decided_by = $5
         WHERE id = $6 AND status = 'open' AND approvals = $7`,
        [
          d.status,
          JSON.stringify(d.approvals),
          d.decision,
          d.decidedAt,
          d.decidedBy,
          d.id,
          d.expectApprovals,
        ],
        c,
      );
      if (changed === 0)
        throw new StorageConflict(
          'REVIEW_CONFLICT',
          `review task ${d.id} was decided or changed by someone else`,
        );
    }
    for (const e of b.reviewEscalations) {
      const changed = await this.changes(
        `UPDATE review_tasks SET queue = $1, escalated_at = $2
         WHERE id = $3 AND status = 'open' AND escalated_at IS NULL`,
        [e.queue, e.escalatedAt, e.id],
        c,
      );
      if (changed === 0)
        throw new StorageConflict('REVIEW_CONFLICT', `review task ${e.id} was closed or escalated already`);
    }
    for (const claim of b.resumeClaims) {
      const markResumed = () =>
        c.query(
          `UPDATE review_tasks SET resumed_by = $1 WHERE run_id = $2 AND status = 'decided' AND resumed_by IS NULL`,
          [claim.token, claim.runId],
        );
      if (claim.cancel) {
        const taken = await this.changes(
          `UPDATE runs SET status = 'running', resume_claim = $1 WHERE id = $2 AND status = 'waiting'`,
          [claim.token, claim.runId],
          c,
        );
        if (taken) {
          await c.query(
            `UPDATE review_tasks SET status = 'cancelled', resumed_by = $1 WHERE run_id = $2 AND status = 'open'`,
            [claim.token, claim.runId],
          );
          await markResumed();
        }
      } else {
        const taken = await this.changes(
          `UPDATE runs SET status = 'running', resume_claim = $1 WHERE id = $2 AND status = 'waiting'
             AND EXISTS (SELECT 1 FROM review_tasks WHERE run_id = runs.id AND status = 'decided' AND resumed_by IS NULL)`,
          [claim.token, claim.runId],
          c,
        );
        if (taken) await markResumed();
      }
    }
  }

  /**
   * Chains and inserts audit entries, given the heads read under the appenders' advisory lock (held to the end of
   * the transaction, so appenders on every server take turns and each entry's seq and previous hash follow the
   * last append committed). The entries and the heads they move go in one statement.
   */
  private async appendAudit(c: Client, b: WriteBatch, found: Row[]): Promise<void> {
    const key = this.auditKey;
    if (!key) throw new Error('the repository has no audit key: audit entries cannot be written');
    let seq = 0;
    const heads = new Map<string, { seq: number; hash: string; count: number }>();
    for (const r of found) {
      if (r['workspace_id'] === null) seq = num(r['seq']);
      else
        heads.set(str(r['workspace_id']), {
          seq: num(r['seq']),
          hash: str(r['hash']),
          count: num(r['count']),
        });
    }
    const rows: AuditRow[] = [];
    const touched = new Set<string>();
    for (const d of b.audit) {
      const head = heads.get(d.workspaceId) ?? { seq: 0, hash: GENESIS_HASH, count: 0 };
      seq++;
      const fields = {
        seq,
        workspaceId: d.workspaceId,
        at: d.at,
        actor: canonicalJson(d.actor),
        action: d.action,
        target: d.target,
        details: canonicalJson(d.details),
      };
      const hash = chainHash(head.hash, fields);
      rows.push({ ...fields, prevHash: head.hash, hash, mac: entryMac(key, hash) });
      heads.set(d.workspaceId, { seq, hash, count: head.count + 1 });
      touched.add(d.workspaceId);
    }
    const moved = [...touched].map(
      (w) => [w, heads.get(w) as { seq: number; hash: string; count: number }] as const,
    );
    await c.query(
      `WITH entries AS (
         INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, details, prev_hash, hash, mac)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
           $7::text[], $8::text[], $9::text[], $10::text[]))
       INSERT INTO audit_heads (workspace_id, seq, hash, count, mac)
       SELECT * FROM unnest($11::text[], $12::bigint[], $13::text[], $14::bigint[], $15::text[])
       ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, count = excluded.count,
         mac = excluded.mac`,
      [
        column(rows, (x) => x.seq),
        column(rows, (x) => x.workspaceId),
        column(rows, (x) => x.at),
        column(rows, (x) => x.actor),
        column(rows, (x) => x.action),
        column(rows, (x) => x.target),
        column(rows, (x) => x.details),
        column(rows, (x) => x.prevHash),
        column(rows, (x) => x.hash),
        column(rows, (x) => x.mac),
        moved.map(([w]) => w),
        moved.map(([, h]) => h.seq),
        moved.map(([, h]) => h.hash),
        moved.map(([, h]) => h.count),
        moved.map(([w, h]) => headMac(key, w, h.seq, h.hash, h.count)),
      ],
    );
  }

  // Settings

  async getSetting(key: string): Promise<string | undefined> {
    const r = await this.one('SELECT value FROM settings WHERE key = $1', [key]);
    return r ? str(r['value']) : undefined;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  // Workspaces, users, memberships, sessions

  async countUsers(): Promise<number> {
    return num((await this.one('SELECT count(*) AS n FROM users'))?.['n']);
  }

  async createWorkspace(ws: WorkspaceRecord): Promise<void> {
    await this.query('INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)', [
      ws.id,
      ws.name,
      ws.createdAt,
    ]);
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    const r = await this.one('SELECT * FROM workspaces WHERE id = $1', [id]);
    return r ? toWorkspace(r) : undefined;
  }

  async firstWorkspace(): Promise<WorkspaceRecord | undefined> {
    const r = await this.one('SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1');
    return r ? toWorkspace(r) : undefined;
  }

  async workspacesOf(userId: string): Promise<{ workspace: WorkspaceRecord; role: Role }[]> {
    const rows = await this.query(
      `SELECT w.*, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
       WHERE m.user_id = $1 ORDER BY w.created_at, w.id`,
      [userId],
    );
    return rows.map((r) => ({ workspace: toWorkspace(r), role: str(r['role']) as Role }));
  }

  async createUser(u: UserRecord): Promise<void> {
    await this.query(
      `INSERT INTO users (id, email, name, password_hash, created_at, disabled_at, instance_owner)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [u.id, u.email, u.name, u.passwordHash, u.createdAt, u.disabledAt, u.instanceOwner],
    );
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.query('SELECT * FROM users ORDER BY lower(email), email')).map(toUser);
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return (await this.query('SELECT * FROM workspaces ORDER BY created_at, id')).map(toWorkspace);
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = await this.one('SELECT * FROM users WHERE id = $1', [id]);
    return r ? toUser(r) : undefined;
  }

  async getUserByEmail(email: string): Promise<UserRecord | undefined> {
    // E-mail addresses compare case-insensitively, as SQLite's COLLATE NOCASE column does (index users_email).
    const r = await this.one('SELECT * FROM users WHERE lower(email) = lower($1)', [email]);
    return r ? toUser(r) : undefined;
  }

  async updateUser(
    id: string,
    patch: {
      name?: string;
      email?: string;
      passwordHash?: string;
      disabledAt?: number | null;
      instanceOwner?: boolean;
    },
  ): Promise<void> {
    await this.query(
      `UPDATE users SET name = coalesce($2::text, name), email = coalesce($3::text, email),
         password_hash = coalesce($4::text, password_hash),
         disabled_at = CASE WHEN $5::boolean THEN $6::bigint ELSE disabled_at END,
         instance_owner = coalesce($7::boolean, instance_owner)
       WHERE id = $1`,
      [
        id,
        patch.name ?? null,
        patch.email ?? null,
        patch.passwordHash ?? null,
        patch.disabledAt !== undefined,
        patch.disabledAt ?? null,
        patch.instanceOwner ?? null,
      ],
    );
  }

  async setMembership(m: MemberRecord): Promise<void> {
    await this.query(
      `INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role`,
      [m.workspaceId, m.userId, m.role, m.createdAt],
    );
  }

  async removeMembership(workspaceId: string, userId: string): Promise<void> {
    await this.query('DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2', [
      workspaceId,
      userId,
    ]);
  }

  async getMembership(workspaceId: string, userId: string): Promise<MemberRecord | undefined> {
    const r = await this.one('SELECT * FROM memberships WHERE workspace_id = $1 AND user_id = $2', [
      workspaceId,
      userId,
    ]);
    return r
      ? {
          workspaceId: str(r['workspace_id']),
          userId: str(r['user_id']),
          role: str(r['role']) as Role,
          createdAt: num(r['created_at']),
        }
      : undefined;
  }

  async getMemberByEmail(workspaceId: string, email: string): Promise<MemberRecord | undefined> {
    const r = await this.one(
      `SELECT m.* FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 AND lower(u.email) = lower($2)`,
      [workspaceId, email],
    );
    return r
      ? {
          workspaceId: str(r['workspace_id']),
          userId: str(r['user_id']),
          role: str(r['role']) as Role,
          createdAt: num(r['created_at']),
        }
      : undefined;
  }

  async putInvitation(i: InvitationRecord): Promise<void> {
    await this.query(
      `INSERT INTO invitations (id, workspace_id, email, role, invited_by, invited_by_name, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (workspace_id, lower(email)) DO UPDATE SET id = excluded.id, role = excluded.role,
         invited_by = excluded.invited_by, invited_by_name = excluded.invited_by_name,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [i.id, i.workspaceId, i.email, i.role, i.invitedBy, i.invitedByName, i.createdAt, i.expiresAt],
    );
  }

  async getInvitation(id: string): Promise<InvitationRecord | undefined> {
    const r = await this.one('SELECT * FROM invitations WHERE id = $1', [id]);
    return r ? toInvitation(r) : undefined;
  }

  async invitationsFor(
    email: string,
    now: number,
  ): Promise<(InvitationRecord & { workspace: WorkspaceRecord })[]> {
    const rows = await this.query(
      `SELECT i.*, w.name AS w_name, w.created_at AS w_created_at FROM invitations i
       JOIN workspaces w ON w.id = i.workspace_id
       WHERE lower(i.email) = lower($1) AND i.expires_at > $2 ORDER BY i.created_at, i.id`,
      [email, now],
    );
    return rows.map((r) => ({
      ...toInvitation(r),
      workspace: toWorkspace({ id: r['workspace_id'], name: r['w_name'], created_at: r['w_created_at'] }),
    }));
  }

  async workspaceInvitations(workspaceId: string, now: number): Promise<InvitationRecord[]> {
    return (
      await this.query(
        'SELECT * FROM invitations WHERE workspace_id = $1 AND expires_at > $2 ORDER BY created_at, id',
        [workspaceId, now],
      )
    ).map(toInvitation);
  }

  async deleteInvitation(id: string): Promise<boolean> {
    return (await this.changes('DELETE FROM invitations WHERE id = $1', [id])) > 0;
  }

  async deleteExpiredInvitations(now: number): Promise<number> {
    return this.changes('DELETE FROM invitations WHERE expires_at <= $1', [now]);
  }

  async acceptInvitation(id: string, m: MemberRecord): Promise<boolean> {
    return this.tx(async (c) => {
      if ((await this.changes('DELETE FROM invitations WHERE id = $1', [id], c)) === 0) return false;
      await c.query(
        `INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, user_id) DO NOTHING`,
        [m.workspaceId, m.userId, m.role, m.createdAt],
      );
      return true;
    });
  }

  async listMembers(workspaceId: string): Promise<(MemberRecord & { user: UserRecord })[]> {
    const rows = await this.query(
      `SELECT u.*, m.role, m.created_at AS member_since FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 ORDER BY lower(u.email), u.email`,
      [workspaceId],
    );
    return rows.map((r) => ({
      workspaceId,
      userId: str(r['id']),
      role: str(r['role']) as Role,
      createdAt: num(r['member_since']),
      user: toUser(r),
    }));
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.query(
      `INSERT INTO sessions (token_hash, user_id, workspace_id, csrf_token, created_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [s.tokenHash, s.userId, s.workspaceId, s.csrfToken, s.createdAt, s.lastSeenAt, s.expiresAt],
    );
  }

  async getSession(tokenHash: string): Promise<SessionView | undefined> {
    const r = await this.one(
      `SELECT s.*, u.id AS u_id, u.email AS u_email, u.name AS u_name, u.password_hash AS u_password_hash,
              u.created_at AS u_created_at, u.disabled_at AS u_disabled_at, u.instance_owner AS u_instance_owner,
              w.id AS w_id, w.name AS w_name, w.created_at AS w_created_at, m.role AS role
       FROM sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN workspaces w ON w.id = s.workspace_id
       LEFT JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id
       WHERE s.token_hash = $1`,
      [tokenHash],
    );
    if (!r) return undefined;
    return {
      session: toSession(r),
      user: toUser({
        id: r['u_id'],
        email: r['u_email'],
        name: r['u_name'],
        password_hash: r['u_password_hash'],
        created_at: r['u_created_at'],
        disabled_at: r['u_disabled_at'],
        instance_owner: r['u_instance_owner'],
      }),
      workspace:
        r['w_id'] === null
          ? null
          : toWorkspace({ id: r['w_id'], name: r['w_name'], created_at: r['w_created_at'] }),
      role: (strOrNull(r['role']) as Role | null) ?? null,
    };
  }

  async updateSession(
    tokenHash: string,
    patch: { lastSeenAt?: number; workspaceId?: string | null },
  ): Promise<void> {
    await this.query(
      `UPDATE sessions SET last_seen_at = coalesce($2::bigint, last_seen_at),
         workspace_id = CASE WHEN $3::boolean THEN $4::text ELSE workspace_id END WHERE token_hash = $1`,
      [tokenHash, patch.lastSeenAt ?? null, patch.workspaceId !== undefined, patch.workspaceId ?? null],
    );
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteSessionsOf(
    userId: string,
    options: { except?: string; workspaceId?: string } = {},
  ): Promise<void> {
    await this.query(
      `DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR token_hash <> $2)
         AND ($3::text IS NULL OR workspace_id = $3)`,
      [userId, options.except ?? null, options.workspaceId ?? null],
    );
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.changes('DELETE FROM sessions WHERE expires_at < $1', [now]);
  }

  // Flows and versions

  private async insertVersion(c: Client, v: VersionRecord): Promise<void> {
    await c.query(
      `INSERT INTO flow_versions (flow_id, number, document, hash, author_id, author_name, message, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [v.flowId, v.number, v.document, v.hash, v.authorId, v.authorName, v.message, v.createdAt],
    );
  }

  async createFlow(f: FlowRecord, v: VersionRecord | readonly VersionRecord[]): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO flows (id, workspace_id, name, description, tags, latest_version, created_at, created_by,
           updated_at, updated_by, deleted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)`,
        [
          f.id,
          f.workspaceId,
          f.name,
          f.description,
          JSON.stringify(f.tags),
          f.latestVersion,
          f.createdAt,
          f.createdBy,
          f.updatedAt,
          f.updatedBy,
        ],
      );
      for (const one of Array.isArray(v) ? v : [v]) await this.insertVersion(c, one);
    });
  }

  async addVersion(
    v: VersionRecord,
    f: Pick<FlowRecord, 'name' | 'description' | 'tags' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void> {
    await this.tx(async (c) => {
      // The version number is checked in the transaction: a concurrent save gets a unique violation.
      await this.insertVersion(c, v);
      await c.query(
        `UPDATE flows SET name = $1, description = $2, tags = $3, latest_version = $4, updated_at = $5,
           updated_by = $6 WHERE id = $7`,
        [f.name, f.description, JSON.stringify(f.tags), v.number, f.updatedAt, f.updatedBy, v.flowId],
      );
    });
  }

  async getFlow(workspaceId: string, id: string): Promise<FlowRecord | undefined> {
    const r = await this.one(
      'SELECT * FROM flows WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL',
      [id, workspaceId],
    );
    return r ? toFlow(r) : undefined;
  }

  async listFlows(workspaceId: string, search?: string): Promise<FlowListItem[]> {
    // ILIKE: SQLite's LIKE ignores ASCII case, and the search box should behave the same on both.
    const like = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const rows = await this.query(
      `SELECT f.*, u.name AS updated_by_name,
              EXISTS (SELECT 1 FROM endpoints e WHERE e.flow_id = f.id AND e.status = 'active') AS published
       FROM flows f LEFT JOIN users u ON u.id = f.updated_by
       WHERE f.workspace_id = $1 AND f.deleted_at IS NULL
         AND ($2::text IS NULL OR f.name ILIKE $2 OR f.description ILIKE $2)
       ORDER BY f.updated_at DESC, f.id`,
      [workspaceId, like],
    );
    return rows.map((r) => ({
      ...toFlow(r),
      updatedByName: strOrNull(r['updated_by_name']),
      published: r['published'] === true,
    }));
  }

  async deleteFlow(workspaceId: string, id: string, at: number): Promise<boolean> {
    return (
      (await this.changes(
        'UPDATE flows SET deleted_at = $1 WHERE id = $2 AND workspace_id = $3 AND deleted_at IS NULL',
        [at, id, workspaceId],
      )) > 0
    );
  }

  async listVersions(flowId: string): Promise<VersionRecord[]> {
    return (
      await this.query('SELECT * FROM flow_versions WHERE flow_id = $1 ORDER BY number DESC', [flowId])
    ).map(toVersion);
  }

  async getVersion(flowId: string, number: number): Promise<VersionRecord | undefined> {
    const r = await this.one('SELECT * FROM flow_versions WHERE flow_id = $1 AND number = $2', [
      flowId,
      number,
    ]);
    return r ? toVersion(r) : undefined;
  }

  // Runs

  async getRun(workspaceId: string, id: string): Promise<RunRecord | undefined> {
    const r = await this.one(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1 AND workspace_id = $2`, [
      id,
      workspaceId,
    ]);
    return r ? toRun(r) : undefined;
  }

  async listRuns(workspaceId: string, f: RunFilter): Promise<RunRecord[]> {
    const rows = await this.query(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE workspace_id = $1
         AND ($2::text IS NULL OR flow_id = $2) AND ($3::text IS NULL OR status = $3)
         AND ($4::text IS NULL OR endpoint_id = $4) AND ($5::bigint IS NULL OR started_at < $5)
       ORDER BY started_at DESC, id DESC LIMIT $6`,
      [workspaceId, f.flowId ?? null, f.status ?? null, f.endpointId ?? null, f.before ?? null, f.limit],
    );
    return rows.map(toRun);
  }

  async runEvents(runId: string, afterSeq: number): Promise<RunEvent[]> {
    // The chunk a run carries in its row (from seq 0, migration 14), then its run_events rows.
    const rows = await this.query(
      `SELECT 0 AS seq, events AS data FROM runs WHERE id = $1 AND events_last_seq > $2
       UNION ALL SELECT seq, data FROM run_events WHERE run_id = $1 AND last_seq > $2 ORDER BY seq`,
      [runId, afterSeq],
    );
    const out: RunEvent[] = [];
    for (const row of rows) rowEvents(str(row['data']), num(row['seq']), afterSeq, out);
    return out;
  }

  async lastEventSeq(runId: string): Promise<number> {
    const r = await this.one(
      `SELECT greatest((SELECT events_last_seq FROM runs WHERE id = $1),
         (SELECT max(last_seq) FROM run_events WHERE run_id = $1)) AS s`,
      [runId],
    );
    return r?.['s'] === null || r?.['s'] === undefined ? -1 : num(r['s']);
  }

  async runningRuns(): Promise<RunRecord[]> {
    return (
      await this.query(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY started_at`)
    ).map(toRun);
  }

  async getRunById(id: string): Promise<RunRecord | undefined> {
    const r = await this.one(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    return r ? toRun(r) : undefined;
  }

  async runByBusinessKey(endpointId: string, businessKey: string): Promise<RunRecord | undefined> {
    const r = await this.one(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE endpoint_id = $1 AND business_key = $2 ORDER BY started_at DESC, id DESC LIMIT 1`,
      [endpointId, businessKey],
    );
    return r ? toRun(r) : undefined;
  }

  // Review tasks

  async getReviewTask(workspaceId: string, id: string): Promise<ReviewTaskRecord | undefined> {
    const r = await this.one('SELECT * FROM review_tasks WHERE id = $1 AND workspace_id = $2', [
      id,
      workspaceId,
    ]);
    return r ? toReviewTask(r) : undefined;
  }

  async listReviewTasks(workspaceId: string, f: ReviewTaskFilter): Promise<ReviewTaskRecord[]> {
    // Open tasks: the longest waiting first; decided ones (history): the latest decision first.
    const history = f.status !== undefined && f.status !== 'open';
    const order = history ? 'coalesce(decided_at, created_at) DESC, id DESC' : 'created_at, id';
    const time = history ? 'coalesce(decided_at, created_at)' : 'created_at';
    const rows = await this.query(
      `SELECT * FROM review_tasks WHERE workspace_id = $1
         AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR queue = $3)
         AND ($4::text IS NULL OR flow_id = $4) AND ($5::bigint IS NULL OR ${time} < $5)
         AND ($6::text[] IS NULL OR EXISTS (
           SELECT 1 FROM jsonb_array_elements_text(review_tasks.roles::jsonb) r WHERE r = ANY($6::text[])))
       ORDER BY ${order} LIMIT $7`,
      [
        workspaceId,
        f.status ?? null,
        f.queue ?? null,
        f.flowId ?? null,
        f.before ?? null,
        f.roles ?? null,
        f.limit,
      ],
    );
    return rows.map(toReviewTask);
  }

  async reviewQueues(workspaceId: string): Promise<{ queue: string; open: number; overdue: number }[]> {
    const rows = await this.query(
      `SELECT queue, count(*) AS open, count(*) FILTER (WHERE due_at IS NOT NULL AND due_at < $1) AS overdue
       FROM review_tasks WHERE workspace_id = $2 AND status = 'open' GROUP BY queue ORDER BY queue`,
      [Date.now(), workspaceId],
    );
    return rows.map((r) => ({ queue: str(r['queue']), open: num(r['open']), overdue: num(r['overdue']) }));
  }

  async reviewTasksOfRun(runId: string): Promise<ReviewTaskRecord[]> {
    return (
      await this.query('SELECT * FROM review_tasks WHERE run_id = $1 ORDER BY created_at, id', [runId])
    ).map(toReviewTask);
  }

  async reviewTasksClaimedBy(token: string): Promise<ReviewTaskRecord[]> {
    return (
      await this.query('SELECT * FROM review_tasks WHERE resumed_by = $1 ORDER BY created_at, id', [token])
    ).map(toReviewTask);
  }

  async overdueReviewTasks(now: number, limit: number): Promise<ReviewTaskRecord[]> {
    return (
      await this.query(
        `SELECT * FROM review_tasks WHERE status = 'open' AND escalated_at IS NULL AND due_at <= $1
         ORDER BY due_at LIMIT $2`,
        [now, limit],
      )
    ).map(toReviewTask);
  }

  async nextReviewDue(): Promise<number | undefined> {
    const r = await this.one(
      "SELECT min(due_at) AS due FROM review_tasks WHERE status = 'open' AND escalated_at IS NULL",
    );
    return numOrNull(r?.['due']) ?? undefined;
  }

  async waitingRunsWithDecisions(): Promise<string[]> {
    return (
      await this.query(
        `SELECT DISTINCT t.run_id AS id FROM review_tasks t JOIN runs r ON r.id = t.run_id
         WHERE t.status = 'decided' AND t.resumed_by IS NULL AND r.status = 'waiting'`,
      )
    ).map((r) => str(r['id']));
  }

  async reopenClaim(runId: string, token: string): Promise<boolean> {
    return this.tx(async (c) => {
      const changed = await this.changes(
        "UPDATE runs SET status = 'waiting', resume_claim = NULL WHERE id = $1 AND status = 'running' AND resume_claim = $2",
        [runId, token],
        c,
      );
      if (changed === 0) return false;
      await c.query(
        "UPDATE review_tasks SET status = 'open', resumed_by = NULL WHERE run_id = $1 AND resumed_by = $2 AND status = 'cancelled'",
        [runId, token],
      );
      await c.query('UPDATE review_tasks SET resumed_by = NULL WHERE run_id = $1 AND resumed_by = $2', [
        runId,
        token,
      ]);
      return true;
    });
  }

  // Feedback

  async getFeedback(
    runId: string,
    source: FeedbackSource,
    dedupeKey: string,
  ): Promise<FeedbackRecord | undefined> {
    const r = await this.one('SELECT * FROM feedback WHERE run_id = $1 AND source = $2 AND dedupe_key = $3', [
      runId,
      source,
      dedupeKey,
    ]);
    return r ? toFeedback(r) : undefined;
  }

  async feedbackOfRun(runId: string): Promise<FeedbackRecord[]> {
    return (
      await this.query('SELECT * FROM feedback WHERE run_id = $1 ORDER BY created_at, id', [runId])
    ).map(toFeedback);
  }

  async labelledDecisions(f: FeedbackQuery): Promise<FeedbackRecord[]> {
    const rows = await this.query(
      `SELECT * FROM feedback WHERE workspace_id = $1
         AND ($2::text IS NULL OR endpoint_id = $2) AND ($3::text IS NULL OR flow_id = $3)
         AND ($4::int IS NULL OR flow_version = $4) AND ($5::text IS NULL OR source = $5)
         AND decided_at >= $6 AND decided_at < $7
       ORDER BY decided_at, created_at, id LIMIT $8`,
      [
        f.workspaceId,
        f.endpointId ?? null,
        f.flowId ?? null,
        f.flowVersion ?? null,
        f.source ?? null,
        f.from,
        f.to,
        f.limit,
      ],
    );
    return rows.map(toFeedback);
  }

  // Credentials

  async listCredentials(workspaceId: string): Promise<CredentialRecord[]> {
    return (
      await this.query('SELECT * FROM credentials WHERE workspace_id = $1 ORDER BY name', [workspaceId])
    ).map(toCredential);
  }

  async getCredential(workspaceId: string, name: string): Promise<CredentialRecord | undefined> {
    const r = await this.one('SELECT * FROM credentials WHERE workspace_id = $1 AND name = $2', [
      workspaceId,
      name,
    ]);
    return r ? toCredential(r) : undefined;
  }

  async putCredential(c: CredentialRecord): Promise<'created' | 'updated'> {
    // xmax = 0 on the returned row: the row was inserted, not updated (one statement, no race).
    const r = await this.one(
      `INSERT INTO credentials (workspace_id, name, description, sealed, created_at, updated_at, last_used_at)
       VALUES ($1, $2, $3, $4, $5, $6, NULL)
       ON CONFLICT (workspace_id, name) DO UPDATE SET description = excluded.description, sealed = excluded.sealed,
         updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS inserted`,
      [c.workspaceId, c.name, c.description, c.sealed, c.createdAt, c.updatedAt],
    );
    return r?.['inserted'] === true ? 'created' : 'updated';
  }

  async deleteCredential(workspaceId: string, name: string): Promise<boolean> {
    return (
      (await this.changes('DELETE FROM credentials WHERE workspace_id = $1 AND name = $2', [
        workspaceId,
        name,
      ])) > 0
    );
  }

  // Model artefacts

  async putArtefact(a: ArtefactRecord): Promise<'created' | 'exists'> {
    const changes = await this.changes(
      `INSERT INTO model_artefacts (workspace_id, sha256, kind, node_type, content, bytes, flow_id, flow_version,
         created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (workspace_id, sha256) DO NOTHING`,
      [
        a.workspaceId,
        a.sha256,
        a.kind,
        a.nodeType,
        a.content,
        a.bytes,
        a.flowId,
        a.flowVersion,
        a.createdAt,
        a.createdBy,
      ],
    );
    return changes > 0 ? 'created' : 'exists';
  }

  async getArtefact(workspaceId: string, sha256: string): Promise<ArtefactRecord | undefined> {
    const r = await this.one('SELECT * FROM model_artefacts WHERE workspace_id = $1 AND sha256 = $2', [
      workspaceId,
      sha256,
    ]);
    return r ? { ...toArtefactSummary(r), content: str(r['content']) } : undefined;
  }

  async listArtefacts(workspaceId: string, limit: number, before?: number): Promise<ArtefactSummary[]> {
    return (
      await this.query(
        `SELECT workspace_id, sha256, kind, node_type, bytes, flow_id, flow_version, created_at, created_by
         FROM model_artefacts WHERE workspace_id = $1 AND created_at < $2
         ORDER BY created_at DESC, sha256 LIMIT $3`,
        [workspaceId, before ?? Number.MAX_SAFE_INTEGER, limit],
      )
    ).map(toArtefactSummary);
  }

  // Federated datasets

  async listFederatedDatasets(workspaceId: string): Promise<FederatedDatasetRecord[]> {
    return (
      await this.query('SELECT * FROM federated_datasets WHERE workspace_id = $1 ORDER BY name', [
        workspaceId,
      ])
    ).map(toFederatedDataset);
  }

  async getFederatedDataset(workspaceId: string, name: string): Promise<FederatedDatasetRecord | undefined> {
    const r = await this.one('SELECT * FROM federated_datasets WHERE workspace_id = $1 AND name = $2', [
      workspaceId,
      name,
    ]);
    return r ? toFederatedDataset(r) : undefined;
  }

  async putFederatedDataset(d: FederatedDatasetRecord): Promise<'created' | 'updated'> {
    // xmax = 0 on the returned row: the row was inserted, not updated (one statement, no race). created_at and
    // created_by stay those of the first put, as in SQLite.
    const r = await this.one(
      `INSERT INTO federated_datasets (workspace_id, name, description, columns, row_count, sealed_rows, api_keys,
         min_participants, created_at, created_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (workspace_id, name) DO UPDATE SET description = excluded.description,
         columns = excluded.columns, row_count = excluded.row_count, sealed_rows = excluded.sealed_rows,
         api_keys = excluded.api_keys, min_participants = excluded.min_participants,
         updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS inserted`,
      [
        d.workspaceId,
        d.name,
        d.description,
        JSON.stringify(d.columns),
        d.rowCount,
        d.sealedRows,
        JSON.stringify(d.apiKeys),
        d.minParticipants,
        d.createdAt,
        d.createdBy,
        d.updatedAt,
      ],
    );
    return r?.['inserted'] === true ? 'created' : 'updated';
  }

  async deleteFederatedDataset(workspaceId: string, name: string): Promise<boolean> {
    return (
      (await this.changes('DELETE FROM federated_datasets WHERE workspace_id = $1 AND name = $2', [
        workspaceId,
        name,
      ])) > 0
    );
  }

  // Evaluations

  async createEvaluation(e: EvaluationRecord): Promise<void> {
    await this.query(
      `INSERT INTO evaluations (id, workspace_id, flow_id, versions, dataset_name, dataset_rows, dataset_sha256, spec,
         status, progress_done, progress_total, report, error, created_by, created_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [
        e.id,
        e.workspaceId,
        e.flowId,
        JSON.stringify(e.versions),
        e.datasetName,
        e.datasetRows,
        e.datasetSha256,
        e.spec,
        e.status,
        e.progressDone,
        e.progressTotal,
        e.report,
        e.error,
        e.createdBy,
        e.createdAt,
        e.finishedAt,
      ],
    );
  }

  async updateEvaluation(
    id: string,
    patch: Partial<Pick<EvaluationRecord, 'status' | 'progressDone' | 'report' | 'error' | 'finishedAt'>>,
  ): Promise<boolean> {
    const columns = {
      status: 'status',
      progressDone: 'progress_done',
      report: 'report',
      error: 'error',
      finishedAt: 'finished_at',
    } as const;
    const keys = (Object.keys(patch) as (keyof typeof columns)[]).filter((k) => patch[k] !== undefined);
    if (!keys.length) return true;
    // Only a running evaluation changes: a cancel or an interruption recorded meanwhile stands (READ COMMITTED
    // re-checks the condition on the row a concurrent update left).
    return (
      (await this.changes(
        `UPDATE evaluations SET ${keys.map((k, i) => `${columns[k]} = $${i + 1}`).join(', ')}
         WHERE id = $${keys.length + 1} AND status = 'running'`,
        [...keys.map((k) => patch[k] ?? null), id],
      )) > 0
    );
  }

  async getEvaluation(workspaceId: string, id: string): Promise<EvaluationRecord | undefined> {
    const r = await this.one('SELECT * FROM evaluations WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
    return r ? toEvaluation(r) : undefined;
  }

  async listEvaluations(workspaceId: string, flowId: string, limit: number): Promise<EvaluationRecord[]> {
    // The report is left out of a listing (it can be large); getEvaluation reads it.
    return (
      await this.query(
        `SELECT id, workspace_id, flow_id, versions, dataset_name, dataset_rows, dataset_sha256, spec, status,
           progress_done, progress_total, NULL AS report, error, created_by, created_at, finished_at
         FROM evaluations WHERE workspace_id = $1 AND flow_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
        [workspaceId, flowId, limit],
      )
    ).map(toEvaluation);
  }

  async interruptRunningEvaluations(at: number): Promise<number> {
    return this.changes(
      `UPDATE evaluations SET status = 'interrupted', finished_at = $1,
         error = 'the server stopped while the evaluation ran' WHERE status = 'running'`,
      [at],
    );
  }

  // Continuous learning

  async getLearning(workspaceId: string, endpointId: string): Promise<LearningRecord | undefined> {
    const r = await this.one('SELECT * FROM learning_settings WHERE workspace_id = $1 AND endpoint_id = $2', [
      workspaceId,
      endpointId,
    ]);
    return r ? toLearning(r) : undefined;
  }

  async putLearning(
    r: Pick<LearningRecord, 'workspaceId' | 'endpointId' | 'config' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void> {
    await this.query(
      `INSERT INTO learning_settings (endpoint_id, workspace_id, config, updated_at, updated_by)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (endpoint_id) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at,
         updated_by = EXCLUDED.updated_by`,
      [r.endpointId, r.workspaceId, r.config, r.updatedAt, r.updatedBy],
    );
  }

  async listLearning(): Promise<LearningRecord[]> {
    return (await this.query('SELECT * FROM learning_settings ORDER BY endpoint_id', [])).map(toLearning);
  }

  async claimLearning(endpointId: string, owner: string, now: number, until: number): Promise<boolean> {
    // One conditional UPDATE: READ COMMITTED re-checks the condition on the row a concurrent claim left.
    return (
      (await this.changes(
        `UPDATE learning_settings SET lease_owner = $1, lease_until = $2
         WHERE endpoint_id = $3 AND (lease_owner IS NULL OR lease_until < $4 OR lease_owner = $1)`,
        [owner, until, endpointId, now],
      )) > 0
    );
  }

  async releaseLearning(
    endpointId: string,
    owner: string,
    done?: { lastRetrainAt: number; lastRetrainLabels: number },
  ): Promise<boolean> {
    return (
      (await this.changes(
        `UPDATE learning_settings SET lease_owner = NULL, lease_until = NULL,
           last_retrain_at = COALESCE($1::BIGINT, last_retrain_at),
           last_retrain_labels = COALESCE($2::INTEGER, last_retrain_labels)
         WHERE endpoint_id = $3 AND lease_owner = $4`,
        [done?.lastRetrainAt ?? null, done?.lastRetrainLabels ?? null, endpointId, owner],
      )) > 0
    );
  }

  async setLearningBaseline(endpointId: string, baseline: string | null): Promise<void> {
    await this.query('UPDATE learning_settings SET baseline = $1 WHERE endpoint_id = $2', [
      baseline,
      endpointId,
    ]);
  }

  async createRetrainJob(j: RetrainJobRecord): Promise<void> {
    await this.query(
      `INSERT INTO retrain_jobs (id, workspace_id, endpoint_id, status, trigger, detail, created_by, created_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        j.id,
        j.workspaceId,
        j.endpointId,
        j.status,
        j.trigger,
        j.detail,
        j.createdBy,
        j.createdAt,
        j.finishedAt,
      ],
    );
  }

  async finishRetrainJob(
    id: string,
    patch: Pick<RetrainJobRecord, 'status' | 'detail' | 'finishedAt'>,
  ): Promise<boolean> {
    return (
      (await this.changes(
        `UPDATE retrain_jobs SET status = $1, detail = $2, finished_at = $3 WHERE id = $4 AND status = 'running'`,
        [patch.status, patch.detail, patch.finishedAt, id],
      )) > 0
    );
  }

  async getRetrainJob(workspaceId: string, id: string): Promise<RetrainJobRecord | undefined> {
    const r = await this.one('SELECT * FROM retrain_jobs WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ]);
    return r ? toRetrainJob(r) : undefined;
  }

  async listRetrainJobs(workspaceId: string, endpointId: string, limit: number): Promise<RetrainJobRecord[]> {
    return (
      await this.query(
        `SELECT * FROM retrain_jobs WHERE workspace_id = $1 AND endpoint_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3`,
        [workspaceId, endpointId, limit],
      )
    ).map(toRetrainJob);
  }

  async interruptRunningRetrainJobs(at: number, endpointId?: string): Promise<number> {
    return this.changes(
      `UPDATE retrain_jobs SET status = 'interrupted', finished_at = $1
       WHERE status = 'running' AND ($2::TEXT IS NULL OR endpoint_id = $2)`,
      [at, endpointId ?? null],
    );
  }

  async addDriftAlert(a: DriftAlertRecord): Promise<void> {
    await this.query(
      `INSERT INTO drift_alerts (id, workspace_id, endpoint_id, feature, psi, level, calls, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [a.id, a.workspaceId, a.endpointId, a.feature, a.psi, a.level, a.calls, a.createdAt],
    );
  }

  async listDriftAlerts(workspaceId: string, endpointId: string, limit: number): Promise<DriftAlertRecord[]> {
    return (
      await this.query(
        `SELECT * FROM drift_alerts WHERE workspace_id = $1 AND endpoint_id = $2
         ORDER BY created_at DESC, id DESC LIMIT $3`,
        [workspaceId, endpointId, limit],
      )
    ).map(toDriftAlert);
  }

  // Connections

  async listConnections(workspaceId: string): Promise<ConnectionRecord[]> {
    return (
      await this.query('SELECT * FROM connections WHERE workspace_id = $1 ORDER BY name', [workspaceId])
    ).map(toConnection);
  }

  async getConnection(workspaceId: string, name: string): Promise<ConnectionRecord | undefined> {
    const r = await this.one('SELECT * FROM connections WHERE workspace_id = $1 AND name = $2', [
      workspaceId,
      name,
    ]);
    return r ? toConnection(r) : undefined;
  }

  async putConnection(c: ConnectionRecord): Promise<'created' | 'updated'> {
    const r = await this.one(
      `INSERT INTO connections (workspace_id, name, kind, base_url, credential, models, deployment, data_classes,
         pricing, description, created_at, created_by, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (workspace_id, name) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url,
         credential = excluded.credential, models = excluded.models, deployment = excluded.deployment,
         data_classes = excluded.data_classes, pricing = excluded.pricing, description = excluded.description,
         updated_at = excluded.updated_at
       RETURNING (xmax = 0) AS inserted`,
      [
        c.workspaceId,
        c.name,
        c.kind,
        c.baseUrl,
        c.credential,
        JSON.stringify(c.models),
        c.deployment,
        JSON.stringify(c.dataClasses),
        c.pricing === null ? null : JSON.stringify(c.pricing),
        c.description,
        c.createdAt,
        c.createdBy,
        c.updatedAt,
      ],
    );
    return r?.['inserted'] === true ? 'created' : 'updated';
  }

  async deleteConnection(workspaceId: string, name: string): Promise<boolean> {
    return (
      (await this.changes('DELETE FROM connections WHERE workspace_id = $1 AND name = $2', [
        workspaceId,
        name,
      ])) > 0
    );
  }

  async connectionsUsing(workspaceId: string, credential: string): Promise<string[]> {
    return (
      await this.query(
        'SELECT name FROM connections WHERE workspace_id = $1 AND credential = $2 ORDER BY name',
        [workspaceId, credential],
      )
    ).map((r) => str(r['name']));
  }

  // Endpoints and deployments

  private async insertDeployment(c: Client, d: DeploymentRecord): Promise<void> {
    await c.query(
      `INSERT INTO deployments (id, workspace_id, endpoint_id, flow_id, targets, created_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [d.id, d.workspaceId, d.endpointId, d.flowId, JSON.stringify(d.targets), d.createdAt, d.createdBy],
    );
  }

  async createEndpoint(e: EndpointRecord, d: DeploymentRecord): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO endpoints (id, workspace_id, slug, flow_id, deployment_id, status, mode, timeout_ms,
           max_body_bytes, rate_limit_per_minute, created_at, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          e.id,
          e.workspaceId,
          e.slug,
          e.flowId,
          e.deploymentId,
          e.status,
          e.mode,
          e.timeoutMs,
          e.maxBodyBytes,
          e.rateLimitPerMinute,
          e.createdAt,
          e.createdBy,
          e.updatedAt,
        ],
      );
      await this.insertDeployment(c, d);
    });
  }

  async getEndpoint(workspaceId: string, id: string): Promise<EndpointRecord | undefined> {
    const r = await this.one('SELECT * FROM endpoints WHERE id = $1 AND workspace_id = $2', [
      id,
      workspaceId,
    ]);
    return r ? toEndpoint(r) : undefined;
  }

  async getEndpointBySlug(slug: string): Promise<EndpointRecord | undefined> {
    const r = await this.one('SELECT * FROM endpoints WHERE slug = $1', [slug]);
    return r ? toEndpoint(r) : undefined;
  }

  async listEndpoints(workspaceId: string): Promise<EndpointRecord[]> {
    return (
      await this.query('SELECT * FROM endpoints WHERE workspace_id = $1 ORDER BY slug', [workspaceId])
    ).map(toEndpoint);
  }

  async endpointStats(endpointIds: string[], since: number): Promise<Map<string, EndpointStats>> {
    const stats = new Map<string, EndpointStats>();
    for (const id of endpointIds) stats.set(id, { total: 0, last24h: 0 });
    if (endpointIds.length === 0) return stats;
    const rows = await this.query(
      `SELECT endpoint_id, count(*) AS total, count(*) FILTER (WHERE started_at >= $1) AS recent
       FROM runs WHERE endpoint_id = ANY($2::text[]) GROUP BY endpoint_id`,
      [since, endpointIds],
    );
    for (const r of rows)
      stats.set(str(r['endpoint_id']), { total: num(r['total']), last24h: num(r['recent']) });
    return stats;
  }

  async updateEndpoint(
    id: string,
    patch: Partial<
      Pick<EndpointRecord, 'status' | 'mode' | 'timeoutMs' | 'maxBodyBytes' | 'rateLimitPerMinute'>
    > & {
      updatedAt: number;
    },
    deployment?: DeploymentRecord,
  ): Promise<void> {
    await this.tx(async (c) => {
      if (deployment) await this.insertDeployment(c, deployment);
      await c.query(
        `UPDATE endpoints SET status = coalesce($2::text, status), mode = coalesce($3::text, mode),
           timeout_ms = coalesce($4::int, timeout_ms), max_body_bytes = coalesce($5::int, max_body_bytes),
           rate_limit_per_minute = coalesce($6::int, rate_limit_per_minute), updated_at = $7,
           deployment_id = coalesce($8::text, deployment_id)
         WHERE id = $1`,
        [
          id,
          patch.status ?? null,
          patch.mode ?? null,
          patch.timeoutMs ?? null,
          patch.maxBodyBytes ?? null,
          patch.rateLimitPerMinute ?? null,
          patch.updatedAt,
          deployment?.id ?? null,
        ],
      );
    });
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    const r = await this.one('SELECT * FROM deployments WHERE id = $1', [id]);
    return r ? toDeployment(r) : undefined;
  }

  async listDeployments(endpointId: string): Promise<DeploymentRecord[]> {
    return (
      await this.query(
        'SELECT * FROM deployments WHERE endpoint_id = $1 ORDER BY created_at DESC, ord DESC',
        [endpointId],
      )
    ).map(toDeployment);
  }

  // API keys

  async createApiKey(k: ApiKeyRecord): Promise<void> {
    await this.insertApiKey(k);
  }

  private async insertApiKey(k: ApiKeyRecord, on?: Queryable): Promise<void> {
    await this.query(
      `INSERT INTO api_keys (id, workspace_id, name, prefix, hash, endpoints, created_at, created_by, last_used_at,
         revoked_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
      [
        k.id,
        k.workspaceId,
        k.name,
        k.prefix,
        k.hash,
        k.endpoints === '*' ? '*' : JSON.stringify(k.endpoints),
        k.createdAt,
        k.createdBy,
      ],
      on,
    );
  }

  // getApiKey and rotateApiKey are what main's Repository asks for since key rotation (editorux); here already so
  // the Postgres repository still compiles once this branch and main meet.

  async getApiKey(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.one('SELECT * FROM api_keys WHERE id = $1 AND workspace_id = $2', [id, workspaceId]);
    return r ? toApiKey(r) : undefined;
  }

  /** Revokes the old key and inserts `next` in one transaction; false (nothing written) if the old one is gone. */
  async rotateApiKey(workspaceId: string, oldId: string, next: ApiKeyRecord, at: number): Promise<boolean> {
    return this.tx(async (c) => {
      const revoked = await this.changes(
        'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL',
        [at, oldId, workspaceId],
        c,
      );
      if (revoked === 0) return false;
      await this.insertApiKey(next, c);
      return true;
    });
  }

  async listApiKeys(workspaceId: string): Promise<ApiKeyRecord[]> {
    return (
      await this.query('SELECT * FROM api_keys WHERE workspace_id = $1 ORDER BY created_at DESC', [
        workspaceId,
      ])
    ).map(toApiKey);
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.one('SELECT * FROM api_keys WHERE hash = $1', [hash]);
    return r ? toApiKey(r) : undefined;
  }

  async revokeApiKey(workspaceId: string, id: string, at: number): Promise<boolean> {
    return (
      (await this.changes(
        'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL',
        [at, id, workspaceId],
      )) > 0
    );
  }

  // Idempotency

  async getIdempotency(
    keyId: string,
    endpointId: string,
    idemKey: string,
  ): Promise<IdempotencyRecord | undefined> {
    const r = await this.one(
      'SELECT * FROM idempotency WHERE key_id = $1 AND endpoint_id = $2 AND idem_key = $3',
      [keyId, endpointId, idemKey],
    );
    return r
      ? {
          keyId: str(r['key_id']),
          endpointId: str(r['endpoint_id']),
          idemKey: str(r['idem_key']),
          requestHash: str(r['request_hash']),
          runId: strOrNull(r['run_id']),
          status: numOrNull(r['status']),
          body: strOrNull(r['body']),
          createdAt: num(r['created_at']),
        }
      : undefined;
  }

  async deleteIdempotencyBefore(at: number): Promise<number> {
    return this.changes('DELETE FROM idempotency WHERE created_at < $1', [at]);
  }

  // Audit

  async listAudit(workspaceId: string, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
    return (
      await this.query(
        'SELECT * FROM audit_log WHERE workspace_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3',
        [workspaceId, beforeSeq ?? null, limit],
      )
    ).map(toAudit);
  }

  async auditChain(workspaceId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return (
      await this.query('SELECT * FROM audit_log WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
        workspaceId,
        afterSeq,
        limit,
      ])
    ).map(toAudit);
  }

  async auditHead(workspaceId: string): Promise<AuditHead | undefined> {
    const r = await this.one('SELECT seq, hash, count, mac FROM audit_heads WHERE workspace_id = $1', [
      workspaceId,
    ]);
    return r
      ? { seq: num(r['seq']), hash: str(r['hash']), count: num(r['count']), mac: strOrNull(r['mac']) }
      : undefined;
  }

  // Run leases (queue mode, see leases.ts)

  /**
   * A claim is one conditional UPDATE ... RETURNING: under READ COMMITTED, of two workers claiming the same run
   * at once the second waits for the first's row lock, re-checks the condition on the row the first left (now
   * leased and live) and changes nothing, so exactly one gets the run.
   */
  async claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<RunRecord | undefined> {
    const r = await this.one(
      `UPDATE runs SET lease_owner = $1, lease_expires_at = $2 WHERE id = $3 AND (
         (status = 'queued' AND lease_expires_at IS NULL)
         OR (status = 'running' AND resume_claim IS NOT NULL AND lease_expires_at IS NULL)
         OR (status IN ('queued', 'running') AND lease_expires_at IS NOT NULL AND lease_expires_at < $4))
       RETURNING *`,
      [owner, now + leaseMs, runId, now],
    );
    return r ? toRun(r) : undefined;
  }

  async renewLease(runId: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return (
      (await this.changes('UPDATE runs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3', [
        now + leaseMs,
        runId,
        owner,
      ])) === 1
    );
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    await this.changes(
      'UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2',
      [runId, owner],
    );
  }

  async cancelQueued(runId: string, now: number): Promise<boolean> {
    return (
      (await this.changes(
        `UPDATE runs SET status = 'cancelled', finished_at = $1, ms = 0, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $2 AND status = 'queued' AND (lease_expires_at IS NULL OR lease_expires_at < $1)`,
        [now, runId],
      )) === 1
    );
  }

  async orphanedRuns(now: number, queuedBefore: number, limit: number): Promise<string[]> {
    return (
      await this.query(
        `SELECT id FROM runs WHERE (status = 'queued' AND lease_expires_at IS NULL AND started_at < $1)
           OR (status = 'running' AND resume_claim IS NOT NULL AND lease_expires_at IS NULL)
           OR (status IN ('queued', 'running') AND lease_expires_at IS NOT NULL AND lease_expires_at < $2)
         ORDER BY started_at LIMIT $3`,
        [queuedBefore, now, limit],
      )
    ).map((r) => str(r['id']));
  }
}
