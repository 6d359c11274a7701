/**
 * The SQLite repository (better-sqlite3): the embedded default. WAL journal with synchronous=FULL, so a
 * committed transaction survives a power cut; foreign keys on; a busy timeout so `finflow admin create` can
 * write while the server runs. Statements are prepared once.
 *
 * Group commits (runs, run events, audit entries) are committed by a writer thread with a connection of its own
 * (db/writer-worker.mjs), whose transactions write the WAL without syncing it; the thread then fsyncs the WAL
 * file and reports the batch durable when that returns. Same guarantee as synchronous=FULL (the WAL is on disk
 * before a write counts as durable), but the transactions, the audit chain's hashing and the fsyncs take no time
 * from the event loop, and one fsync covers every batch written while the previous one ran. Everything else,
 * reads included, uses the main connection; WAL lets it read while the writer thread writes.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { RunEvent } from '@finflow/runtime';
import { entryMac, headMac } from '../audit-chain.js';
import { migrations as allMigrations, type Migration } from '../db/migrations.js';
import { startWorker, WriterThread } from '../db/writer-thread.js';
import { storageError } from './errors.js';
import { rowEvents } from './event-rows.js';
import type { RunLeases } from './leases.js';
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
  toRun,
  RUN_COLUMNS,
  toSession,
  toVersion,
  toWorkspace,
  toUser as toUserRow,
  type Row,
} from './rows.js';
import type {
  ApiKeyRecord,
  BatchCommit,
  AuditHead,
  AuditRow,
  ConnectionRecord,
  ArtefactRecord,
  ArtefactSummary,
  FederatedDatasetRecord,
  CredentialRecord,
  DeploymentRecord,
  EndpointRecord,
  EndpointStats,
  FeedbackQuery,
  DriftAlertRecord,
  EvaluationRecord,
  LearningRecord,
  RetrainJobRecord,
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

type Db = Database.Database;
type Stmt = Database.Statement;

export const DATABASE_FILE = 'finflow.db';

/** SQLite keeps booleans as 0/1: the shared mapper reads a boolean. */
const toUser = (r: Row): UserRecord => toUserRow({ ...r, instance_owner: r['instance_owner'] === 1 });

/** Opens (creating if needed) the database file in `dataDir` with the durability pragmas. */
export function openDatabase(dataDir: string): Db {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  const fresh = !existsSync(file);
  const db = new Database(file);
  if (fresh) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

export interface SqliteOptions {
  /**
   * The key that authenticates audit entries (derived from the master key). Needed to write audit entries and
   * to upgrade a database whose audit log predates the MACs.
   */
  auditKey?: Buffer;
  /**
   * How long after a group commit its fsync starts (default 0: at once). Durability normal answers once a batch
   * is written, so the server lets one fsync cover a few milliseconds of commits.
   */
  walSyncDelayMs?: number;
}

/** WAL size at which checkpoints move to a worker thread. */
const CHECKPOINTER_AT = 2 * 1024 * 1024;
/** How long the checkpointer stays without new WAL frames before it ends (the next commit starts it again). */
const CHECKPOINTER_IDLE_STOP_MS = 30_000;

export class SqliteRepository implements Repository, RunLeases {
  readonly kind = 'sqlite' as const;
  private readonly stmts = new Map<string, Stmt>();
  /** Commits group writes on a thread of its own (see db/writer-worker.mjs). */
  private readonly writer: WriterThread;
  private checkpointer: Worker | undefined;
  private checkpointerStarted = false;
  /** The checkpointer ended after a quiet spell; the next commit starts it again. */
  private checkpointerIdle = false;

  constructor(
    readonly db: Db,
    private readonly file: string,
    private readonly migrationList: readonly Migration[] = allMigrations,
    options: SqliteOptions = {},
  ) {
    this.writer = new WriterThread({
      file,
      auditKey: options.auditKey,
      walLargeAt: CHECKPOINTER_AT,
      onWalLarge: () => this.startCheckpointer(),
      syncDelayMs: options.walSyncDelayMs ?? 0,
    });
    // Migrations that authenticate existing audit entries call these (see db/migrations.ts).
    const key = options.auditKey;
    const needKey = () => {
      throw new Error('upgrading the audit log needs the master key (the audit key is derived from it)');
    };
    db.function('finflow_audit_mac', { deterministic: true }, (hash: unknown) =>
      key ? entryMac(key, String(hash)) : needKey(),
    );
    db.function(
      'finflow_audit_head_mac',
      { deterministic: true },
      (workspaceId: unknown, seq: unknown, hash: unknown, count: unknown) =>
        key ? headMac(key, String(workspaceId), Number(seq), String(hash), Number(count)) : needKey(),
    );
  }

  static open(dataDir: string, options: SqliteOptions = {}): SqliteRepository {
    return new SqliteRepository(openDatabase(dataDir), join(dataDir, DATABASE_FILE), allMigrations, options);
  }

  /** Runs writes in an immediate transaction; a duplicate key surfaces as StorageConflict. */
  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      throw storageError(err);
    }
  }

  /** A statement prepared once per SQL text. */
  private q(sql: string): Stmt {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /**
   * Moves WAL checkpoints to a worker thread: automatic checkpoints would run inside a commit, copying pages and
   * fsyncing the database file while commits (and, on this connection, requests) wait. The worker (about 10 MB)
   * starts when the WAL first grows past CHECKPOINTER_AT bytes, i.e. under sustained writes; a quiet server
   * keeps SQLite's automatic checkpoints. Falls back to them if the worker cannot run. Once started, it ends
   * after CHECKPOINTER_IDLE_STOP_MS without new WAL frames and the next commit starts it again, so a server that
   * served a burst does not keep the thread's isolate.
   */
  private startCheckpointer(): void {
    if (this.checkpointerStarted) return;
    this.checkpointerStarted = true;
    this.runCheckpointer();
  }

  private runCheckpointer(): void {
    this.checkpointerIdle = false;
    const fallback = () => {
      this.checkpointer = undefined;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
      this.writer.setAutocheckpoint(1000);
    };
    try {
      const worker = startWorker(new URL('../../src/db/checkpoint-worker.mjs', import.meta.url), {
        workerData: { file: this.file, intervalMs: 250, idleStopMs: this.checkpointerIdleStopMs },
      });
      worker.unref();
      worker.on('error', fallback);
      worker.on('message', (m: { type: string; result?: { log: number; checkpointed: number } }) => {
        if (m.type === 'error') this.checkpointErrors++;
        else if (m.type === 'idle') {
          // The writer's automatic checkpoints stay off (its next commit starts the worker again); this
          // connection's rare writes (settings, accounts) checkpoint for themselves meanwhile.
          if (this.checkpointer === worker) this.checkpointer = undefined;
          if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
          this.checkpointerIdle = true;
          this.checkpointerStops++;
        } else if (m.result && m.result.checkpointed > 0) this.checkpointedFrames += m.result.checkpointed;
      });
      this.checkpointer = worker;
      this.db.pragma('wal_autocheckpoint = 0');
      this.writer.setAutocheckpoint(0);
    } catch {
      fallback();
    }
  }

  /** Quiet time after which the checkpointer ends (tests shorten it). */
  checkpointerIdleStopMs = CHECKPOINTER_IDLE_STOP_MS;
  /** Times the checkpointer ended after a quiet spell. */
  checkpointerStops = 0;

  /** Checkpoints the worker could not do; they are retried on the next tick. */
  checkpointErrors = 0;
  /** WAL frames the worker copied back into the database. */
  checkpointedFrames = 0;

  get checkpointerRunning(): boolean {
    return this.checkpointer !== undefined;
  }

  async migrate(): Promise<number[]> {
    return this.migrateSync();
  }

  migrateSync(): number[] {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => num(r['version'])),
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
      this.tx(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      });
      done.push(m.version);
    }
    return done;
  }

  async ping(): Promise<void> {
    this.q('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.writer.close();
    const worker = this.checkpointer;
    if (worker) {
      this.checkpointer = undefined;
      const stopped = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 2000))]);
      await worker.terminate();
    }
    if (this.leaseConn?.open) this.leaseConn.close();
    if (this.db.open) this.db.close();
  }

  /** Group writes go to the writer thread; `written` settles when this connection's reads see them. */
  commit(batch: WriteBatch): BatchCommit {
    if (this.checkpointerIdle) this.runCheckpointer();
    return this.writer.commit(batch);
  }

  /** After load: the threads collect their garbage, and every connection hands its page cache back. */
  releaseMemory(): void {
    this.writer.releaseMemory();
    this.checkpointer?.postMessage('releaseMemory');
    if (this.db.open) this.db.pragma('shrink_memory');
  }

  async getSetting(key: string): Promise<string | undefined> {
    const r = this.q('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined;
    return r ? str(r['value']) : undefined;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.q(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  // Workspaces, users, memberships, sessions

  async countUsers(): Promise<number> {
    return num((this.q('SELECT count(*) AS n FROM users').get() as Row)['n']);
  }

  async createWorkspace(ws: WorkspaceRecord): Promise<void> {
    this.q('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)').run(
      ws.id,
      ws.name,
      ws.createdAt,
    );
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    const r = this.q('SELECT * FROM workspaces WHERE id = ?').get(id) as Row | undefined;
    return r ? toWorkspace(r) : undefined;
  }

  async firstWorkspace(): Promise<WorkspaceRecord | undefined> {
    const r = this.q('SELECT * FROM workspaces ORDER BY created_at, id LIMIT 1').get() as Row | undefined;
    return r ? toWorkspace(r) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return (this.q('SELECT * FROM workspaces ORDER BY created_at, id').all() as Row[]).map(toWorkspace);
  }

  async workspacesOf(userId: string): Promise<{ workspace: WorkspaceRecord; role: Role }[]> {
    const rows = this.q(
      `SELECT w.*, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
       WHERE m.user_id = ? ORDER BY w.created_at, w.id`,
    ).all(userId) as Row[];
    return rows.map((r) => ({ workspace: toWorkspace(r), role: str(r['role']) as Role }));
  }

  async createUser(u: UserRecord): Promise<void> {
    this.tx(() =>
      this.q(
        'INSERT INTO users (id, email, name, password_hash, created_at, disabled_at, instance_owner) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(u.id, u.email, u.name, u.passwordHash, u.createdAt, u.disabledAt, u.instanceOwner ? 1 : 0),
    );
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.q('SELECT * FROM users ORDER BY email').all() as Row[]).map(toUser);
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = this.q('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
    return r ? toUser(r) : undefined;
  }

  async getUserByEmail(email: string): Promise<UserRecord | undefined> {
    const r = this.q('SELECT * FROM users WHERE email = ?').get(email) as Row | undefined;
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
    if (patch.name !== undefined) this.q('UPDATE users SET name = ? WHERE id = ?').run(patch.name, id);
    if (patch.email !== undefined) this.q('UPDATE users SET email = ? WHERE id = ?').run(patch.email, id);
    if (patch.instanceOwner !== undefined)
      this.q('UPDATE users SET instance_owner = ? WHERE id = ?').run(patch.instanceOwner ? 1 : 0, id);
    if (patch.passwordHash !== undefined)
      this.q('UPDATE users SET password_hash = ? WHERE id = ?').run(patch.passwordHash, id);
    if (patch.disabledAt !== undefined)
      this.q('UPDATE users SET disabled_at = ? WHERE id = ?').run(patch.disabledAt, id);
  }

  async setMembership(m: MemberRecord): Promise<void> {
    this.q(
      `INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role`,
    ).run(m.workspaceId, m.userId, m.role, m.createdAt);
  }

  async removeMembership(workspaceId: string, userId: string): Promise<void> {
    this.q('DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?').run(workspaceId, userId);
  }

  async getMembership(workspaceId: string, userId: string): Promise<MemberRecord | undefined> {
    const r = this.q('SELECT * FROM memberships WHERE workspace_id = ? AND user_id = ?').get(
      workspaceId,
      userId,
    ) as Row | undefined;
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
    const r = this.q(
      `SELECT m.* FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ? AND u.email = ?`,
    ).get(workspaceId, email) as Row | undefined;
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
    this.q(
      `INSERT INTO invitations (id, workspace_id, email, role, invited_by, invited_by_name, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, email) DO UPDATE SET id = excluded.id, role = excluded.role,
         invited_by = excluded.invited_by, invited_by_name = excluded.invited_by_name,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
    ).run(i.id, i.workspaceId, i.email, i.role, i.invitedBy, i.invitedByName, i.createdAt, i.expiresAt);
  }

  async getInvitation(id: string): Promise<InvitationRecord | undefined> {
    const r = this.q('SELECT * FROM invitations WHERE id = ?').get(id) as Row | undefined;
    return r ? toInvitation(r) : undefined;
  }

  async invitationsFor(
    email: string,
    now: number,
  ): Promise<(InvitationRecord & { workspace: WorkspaceRecord })[]> {
    const rows = this.q(
      `SELECT i.*, w.name AS w_name, w.created_at AS w_created_at FROM invitations i
       JOIN workspaces w ON w.id = i.workspace_id
       WHERE i.email = ? AND i.expires_at > ? ORDER BY i.created_at, i.id`,
    ).all(email, now) as Row[];
    return rows.map((r) => ({
      ...toInvitation(r),
      workspace: toWorkspace({ id: r['workspace_id'], name: r['w_name'], created_at: r['w_created_at'] }),
    }));
  }

  async workspaceInvitations(workspaceId: string, now: number): Promise<InvitationRecord[]> {
    return (
      this.q(
        'SELECT * FROM invitations WHERE workspace_id = ? AND expires_at > ? ORDER BY created_at, id',
      ).all(workspaceId, now) as Row[]
    ).map(toInvitation);
  }

  async deleteInvitation(id: string): Promise<boolean> {
    return this.q('DELETE FROM invitations WHERE id = ?').run(id).changes > 0;
  }

  async deleteExpiredInvitations(now: number): Promise<number> {
    return this.q('DELETE FROM invitations WHERE expires_at <= ?').run(now).changes;
  }

  async acceptInvitation(id: string, m: MemberRecord): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (this.q('DELETE FROM invitations WHERE id = ?').run(id).changes === 0) return false;
        this.q(
          `INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (workspace_id, user_id) DO NOTHING`,
        ).run(m.workspaceId, m.userId, m.role, m.createdAt);
        return true;
      })
      .immediate();
  }

  async listMembers(workspaceId: string): Promise<(MemberRecord & { user: UserRecord })[]> {
    const rows = this.q(
      `SELECT u.*, m.role, m.created_at AS member_since FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = ? ORDER BY u.email`,
    ).all(workspaceId) as Row[];
    return rows.map((r) => ({
      workspaceId,
      userId: str(r['id']),
      role: str(r['role']) as Role,
      createdAt: num(r['member_since']),
      user: toUser(r),
    }));
  }

  async createSession(s: SessionRecord): Promise<void> {
    this.q(
      `INSERT INTO sessions (token_hash, user_id, workspace_id, csrf_token, created_at, last_seen_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.tokenHash, s.userId, s.workspaceId, s.csrfToken, s.createdAt, s.lastSeenAt, s.expiresAt);
  }

  async getSession(tokenHash: string): Promise<SessionView | undefined> {
    const r = this.q(
      `SELECT s.*, u.id AS u_id, u.email AS u_email, u.name AS u_name, u.password_hash AS u_password_hash,
              u.created_at AS u_created_at, u.disabled_at AS u_disabled_at, u.instance_owner AS u_instance_owner,
              w.id AS w_id, w.name AS w_name, w.created_at AS w_created_at, m.role AS role
       FROM sessions s
       JOIN users u ON u.id = s.user_id
       LEFT JOIN workspaces w ON w.id = s.workspace_id
       LEFT JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id
       WHERE s.token_hash = ?`,
    ).get(tokenHash) as Row | undefined;
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
    if (patch.lastSeenAt !== undefined)
      this.q('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?').run(patch.lastSeenAt, tokenHash);
    if (patch.workspaceId !== undefined)
      this.q('UPDATE sessions SET workspace_id = ? WHERE token_hash = ?').run(patch.workspaceId, tokenHash);
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.q('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
  }

  async deleteSessionsOf(
    userId: string,
    options: { except?: string; workspaceId?: string } = {},
  ): Promise<void> {
    this.q(
      `DELETE FROM sessions WHERE user_id = ? AND (? IS NULL OR token_hash <> ?) AND (? IS NULL OR workspace_id = ?)`,
    ).run(
      userId,
      options.except ?? null,
      options.except ?? null,
      options.workspaceId ?? null,
      options.workspaceId ?? null,
    );
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    return this.q('DELETE FROM sessions WHERE expires_at < ?').run(now).changes;
  }

  // Flows and versions

  private insertVersion(v: VersionRecord): void {
    this.q(
      `INSERT INTO flow_versions (flow_id, number, document, hash, author_id, author_name, message, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(v.flowId, v.number, v.document, v.hash, v.authorId, v.authorName, v.message, v.createdAt);
  }

  async createFlow(f: FlowRecord, v: VersionRecord | readonly VersionRecord[]): Promise<void> {
    this.tx(() => {
      this.q(
        `INSERT INTO flows (id, workspace_id, name, description, tags, latest_version, created_at, created_by, updated_at, updated_by, deleted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
      ).run(
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
      );
      for (const one of Array.isArray(v) ? v : [v]) this.insertVersion(one);
    });
  }

  async addVersion(
    v: VersionRecord,
    f: Pick<FlowRecord, 'name' | 'description' | 'tags' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void> {
    this.tx(() => {
      // The version number is checked in the transaction: a concurrent save gets a primary key conflict.
      this.insertVersion(v);
      this.q(
        `UPDATE flows SET name = ?, description = ?, tags = ?, latest_version = ?, updated_at = ?, updated_by = ?
           WHERE id = ?`,
      ).run(f.name, f.description, JSON.stringify(f.tags), v.number, f.updatedAt, f.updatedBy, v.flowId);
    });
  }

  async getFlow(workspaceId: string, id: string): Promise<FlowRecord | undefined> {
    const r = this.q('SELECT * FROM flows WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL').get(
      id,
      workspaceId,
    ) as Row | undefined;
    return r ? toFlow(r) : undefined;
  }

  async listFlows(workspaceId: string, search?: string): Promise<FlowListItem[]> {
    const like = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
    const rows = this.q(
      `SELECT f.*, u.name AS updated_by_name,
              EXISTS (SELECT 1 FROM endpoints e WHERE e.flow_id = f.id AND e.status = 'active') AS published
       FROM flows f LEFT JOIN users u ON u.id = f.updated_by
       WHERE f.workspace_id = ? AND f.deleted_at IS NULL
         AND (? IS NULL OR f.name LIKE ? ESCAPE '\\' OR f.description LIKE ? ESCAPE '\\')
       ORDER BY f.updated_at DESC, f.id`,
    ).all(workspaceId, like ?? null, like ?? null, like ?? null) as Row[];
    return rows.map((r) => ({
      ...toFlow(r),
      updatedByName: strOrNull(r['updated_by_name']),
      published: num(r['published']) === 1,
    }));
  }

  async deleteFlow(workspaceId: string, id: string, at: number): Promise<boolean> {
    return (
      this.q('UPDATE flows SET deleted_at = ? WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL').run(
        at,
        id,
        workspaceId,
      ).changes > 0
    );
  }

  async listVersions(flowId: string): Promise<VersionRecord[]> {
    return (
      this.q('SELECT * FROM flow_versions WHERE flow_id = ? ORDER BY number DESC').all(flowId) as Row[]
    ).map(toVersion);
  }

  async getVersion(flowId: string, number: number): Promise<VersionRecord | undefined> {
    const r = this.q('SELECT * FROM flow_versions WHERE flow_id = ? AND number = ?').get(flowId, number) as
      Row | undefined;
    return r ? toVersion(r) : undefined;
  }

  // Runs

  async getRun(workspaceId: string, id: string): Promise<RunRecord | undefined> {
    const r = this.q(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ? AND workspace_id = ?`).get(
      id,
      workspaceId,
    ) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  async listRuns(workspaceId: string, f: RunFilter): Promise<RunRecord[]> {
    const rows = this.q(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE workspace_id = ?
         AND (? IS NULL OR flow_id = ?) AND (? IS NULL OR status = ?) AND (? IS NULL OR endpoint_id = ?)
         AND (? IS NULL OR started_at < ?)
       ORDER BY started_at DESC, id DESC LIMIT ?`,
    ).all(
      workspaceId,
      f.flowId ?? null,
      f.flowId ?? null,
      f.status ?? null,
      f.status ?? null,
      f.endpointId ?? null,
      f.endpointId ?? null,
      f.before ?? null,
      f.before ?? null,
      f.limit,
    ) as Row[];
    return rows.map(toRun);
  }

  async runEvents(runId: string, afterSeq: number): Promise<RunEvent[]> {
    // The chunk a run carries in its row (from seq 0, migration 14), then its run_events rows.
    const rows = this.q(
      `SELECT 0 AS seq, events AS data FROM runs WHERE id = ? AND events_last_seq > ?
       UNION ALL SELECT seq, data FROM run_events WHERE run_id = ? AND last_seq > ? ORDER BY seq`,
    ).all(runId, afterSeq, runId, afterSeq) as Row[];
    const out: RunEvent[] = [];
    for (const row of rows) rowEvents(str(row['data']), num(row['seq']), afterSeq, out);
    return out;
  }

  async lastEventSeq(runId: string): Promise<number> {
    const r = this.q(
      `SELECT max(coalesce((SELECT events_last_seq FROM runs WHERE id = ?), -1),
         coalesce((SELECT max(last_seq) FROM run_events WHERE run_id = ?), -1)) AS s`,
    ).get(runId, runId) as Row;
    return num(r['s']);
  }

  async runningRuns(): Promise<RunRecord[]> {
    return (
      this.q(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY started_at`).all() as Row[]
    ).map(toRun);
  }

  async getRunById(id: string): Promise<RunRecord | undefined> {
    const r = this.q(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  async runByBusinessKey(endpointId: string, businessKey: string): Promise<RunRecord | undefined> {
    const r = this.q(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE endpoint_id = ? AND business_key = ? ORDER BY started_at DESC, id DESC LIMIT 1`,
    ).get(endpointId, businessKey) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  // Review tasks

  async getReviewTask(workspaceId: string, id: string): Promise<ReviewTaskRecord | undefined> {
    const r = this.q('SELECT * FROM review_tasks WHERE id = ? AND workspace_id = ?').get(id, workspaceId) as
      Row | undefined;
    return r ? toReviewTask(r) : undefined;
  }

  async listReviewTasks(workspaceId: string, f: ReviewTaskFilter): Promise<ReviewTaskRecord[]> {
    // Open tasks: the longest waiting first; decided ones (history): the latest decision first.
    const history = f.status !== undefined && f.status !== 'open';
    const order = history ? 'coalesce(decided_at, created_at) DESC, id DESC' : 'created_at, id';
    const time = history ? 'coalesce(decided_at, created_at)' : 'created_at';
    const roles = f.roles === undefined ? null : JSON.stringify(f.roles);
    const rows = this.q(
      `SELECT * FROM review_tasks WHERE workspace_id = ?
         AND (? IS NULL OR status = ?) AND (? IS NULL OR queue = ?) AND (? IS NULL OR flow_id = ?)
         AND (? IS NULL OR ${time} < ?)
         AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(review_tasks.roles) r, json_each(?) u WHERE r.value = u.value))
       ORDER BY ${order} LIMIT ?`,
    ).all(
      workspaceId,
      f.status ?? null,
      f.status ?? null,
      f.queue ?? null,
      f.queue ?? null,
      f.flowId ?? null,
      f.flowId ?? null,
      f.before ?? null,
      f.before ?? null,
      roles,
      roles ?? '[]',
      f.limit,
    ) as Row[];
    return rows.map(toReviewTask);
  }

  async reviewQueues(workspaceId: string): Promise<{ queue: string; open: number; overdue: number }[]> {
    const rows = this.q(
      `SELECT queue, count(*) AS open, coalesce(sum(due_at IS NOT NULL AND due_at < ?), 0) AS overdue
       FROM review_tasks WHERE workspace_id = ? AND status = 'open' GROUP BY queue ORDER BY queue`,
    ).all(Date.now(), workspaceId) as Row[];
    return rows.map((r) => ({ queue: str(r['queue']), open: num(r['open']), overdue: num(r['overdue']) }));
  }

  async reviewTasksOfRun(runId: string): Promise<ReviewTaskRecord[]> {
    return (
      this.q('SELECT * FROM review_tasks WHERE run_id = ? ORDER BY created_at, id').all(runId) as Row[]
    ).map(toReviewTask);
  }

  async reviewTasksClaimedBy(token: string): Promise<ReviewTaskRecord[]> {
    return (
      this.q('SELECT * FROM review_tasks WHERE resumed_by = ? ORDER BY created_at, id').all(token) as Row[]
    ).map(toReviewTask);
  }

  async overdueReviewTasks(now: number, limit: number): Promise<ReviewTaskRecord[]> {
    return (
      this.q(
        `SELECT * FROM review_tasks WHERE status = 'open' AND escalated_at IS NULL AND due_at <= ?
         ORDER BY due_at LIMIT ?`,
      ).all(now, limit) as Row[]
    ).map(toReviewTask);
  }

  async nextReviewDue(): Promise<number | undefined> {
    const r = this.q(
      "SELECT min(due_at) AS due FROM review_tasks WHERE status = 'open' AND escalated_at IS NULL",
    ).get() as Row;
    return numOrNull(r['due']) ?? undefined;
  }

  async waitingRunsWithDecisions(): Promise<string[]> {
    return (
      this.q(
        `SELECT DISTINCT t.run_id AS id FROM review_tasks t JOIN runs r ON r.id = t.run_id
         WHERE t.status = 'decided' AND t.resumed_by IS NULL AND r.status = 'waiting'`,
      ).all() as Row[]
    ).map((r) => str(r['id']));
  }

  async reopenClaim(runId: string, token: string): Promise<boolean> {
    return this.tx(() => {
      const changed = this.q(
        "UPDATE runs SET status = 'waiting', resume_claim = NULL WHERE id = ? AND status = 'running' AND resume_claim = ?",
      ).run(runId, token).changes;
      if (changed === 0) return false;
      this.q(
        "UPDATE review_tasks SET status = 'open', resumed_by = NULL WHERE run_id = ? AND resumed_by = ? AND status = 'cancelled'",
      ).run(runId, token);
      this.q('UPDATE review_tasks SET resumed_by = NULL WHERE run_id = ? AND resumed_by = ?').run(
        runId,
        token,
      );
      return true;
    });
  }

  // Feedback

  async getFeedback(
    runId: string,
    source: FeedbackSource,
    dedupeKey: string,
  ): Promise<FeedbackRecord | undefined> {
    const r = this.q('SELECT * FROM feedback WHERE run_id = ? AND source = ? AND dedupe_key = ?').get(
      runId,
      source,
      dedupeKey,
    ) as Row | undefined;
    return r ? toFeedback(r) : undefined;
  }

  async feedbackOfRun(runId: string): Promise<FeedbackRecord[]> {
    return (
      this.q('SELECT * FROM feedback WHERE run_id = ? ORDER BY created_at, id').all(runId) as Row[]
    ).map(toFeedback);
  }

  async labelledDecisions(f: FeedbackQuery): Promise<FeedbackRecord[]> {
    const rows = this.q(
      `SELECT * FROM feedback WHERE workspace_id = ?
         AND (? IS NULL OR endpoint_id = ?) AND (? IS NULL OR flow_id = ?) AND (? IS NULL OR flow_version = ?)
         AND (? IS NULL OR source = ?) AND decided_at >= ? AND decided_at < ?
       ORDER BY decided_at, created_at, id LIMIT ?`,
    ).all(
      f.workspaceId,
      f.endpointId ?? null,
      f.endpointId ?? null,
      f.flowId ?? null,
      f.flowId ?? null,
      f.flowVersion ?? null,
      f.flowVersion ?? null,
      f.source ?? null,
      f.source ?? null,
      f.from,
      f.to,
      f.limit,
    ) as Row[];
    return rows.map(toFeedback);
  }

  // Credentials

  async listCredentials(workspaceId: string): Promise<CredentialRecord[]> {
    return (
      this.q('SELECT * FROM credentials WHERE workspace_id = ? ORDER BY name').all(workspaceId) as Row[]
    ).map(toCredential);
  }

  async getCredential(workspaceId: string, name: string): Promise<CredentialRecord | undefined> {
    const r = this.q('SELECT * FROM credentials WHERE workspace_id = ? AND name = ?').get(
      workspaceId,
      name,
    ) as Row | undefined;
    return r ? toCredential(r) : undefined;
  }

  async putCredential(c: CredentialRecord): Promise<'created' | 'updated'> {
    const existed = this.q('SELECT 1 FROM credentials WHERE workspace_id = ? AND name = ?').get(
      c.workspaceId,
      c.name,
    );
    this.q(
      `INSERT INTO credentials (workspace_id, name, description, sealed, created_at, updated_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, NULL)
       ON CONFLICT (workspace_id, name) DO UPDATE SET description = excluded.description, sealed = excluded.sealed,
         updated_at = excluded.updated_at`,
    ).run(c.workspaceId, c.name, c.description, c.sealed, c.createdAt, c.updatedAt);
    return existed ? 'updated' : 'created';
  }

  async deleteCredential(workspaceId: string, name: string): Promise<boolean> {
    return (
      this.q('DELETE FROM credentials WHERE workspace_id = ? AND name = ?').run(workspaceId, name).changes > 0
    );
  }

  // Model artefacts

  async putArtefact(a: ArtefactRecord): Promise<'created' | 'exists'> {
    const changes = this.q(
      `INSERT INTO model_artefacts (workspace_id, sha256, kind, node_type, content, bytes, flow_id, flow_version,
         created_at, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, sha256) DO NOTHING`,
    ).run(
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
    ).changes;
    return changes > 0 ? 'created' : 'exists';
  }

  async getArtefact(workspaceId: string, sha256: string): Promise<ArtefactRecord | undefined> {
    const r = this.q('SELECT * FROM model_artefacts WHERE workspace_id = ? AND sha256 = ?').get(
      workspaceId,
      sha256,
    ) as Row | undefined;
    return r ? { ...toArtefactSummary(r), content: str(r['content']) } : undefined;
  }

  async listArtefacts(workspaceId: string, limit: number, before?: number): Promise<ArtefactSummary[]> {
    return (
      this.q(
        `SELECT workspace_id, sha256, kind, node_type, bytes, flow_id, flow_version, created_at, created_by
         FROM model_artefacts WHERE workspace_id = ? AND created_at < ?
         ORDER BY created_at DESC, sha256 LIMIT ?`,
      ).all(workspaceId, before ?? Number.MAX_SAFE_INTEGER, limit) as Row[]
    ).map(toArtefactSummary);
  }

  // Federated datasets

  async listFederatedDatasets(workspaceId: string): Promise<FederatedDatasetRecord[]> {
    return (
      this.q('SELECT * FROM federated_datasets WHERE workspace_id = ? ORDER BY name').all(
        workspaceId,
      ) as Row[]
    ).map(toFederatedDataset);
  }

  async getFederatedDataset(workspaceId: string, name: string): Promise<FederatedDatasetRecord | undefined> {
    const r = this.q('SELECT * FROM federated_datasets WHERE workspace_id = ? AND name = ?').get(
      workspaceId,
      name,
    ) as Row | undefined;
    return r ? toFederatedDataset(r) : undefined;
  }

  async putFederatedDataset(d: FederatedDatasetRecord): Promise<'created' | 'updated'> {
    const existed = this.q('SELECT 1 FROM federated_datasets WHERE workspace_id = ? AND name = ?').get(
      d.workspaceId,
      d.name,
    );
    this.q(
      `INSERT INTO federated_datasets (workspace_id, name, description, columns, row_count, sealed_rows, api_keys,
         min_participants, created_at, created_by, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, name) DO UPDATE SET description = excluded.description,
         columns = excluded.columns, row_count = excluded.row_count, sealed_rows = excluded.sealed_rows,
         api_keys = excluded.api_keys, min_participants = excluded.min_participants,
         updated_at = excluded.updated_at`,
    ).run(
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
    );
    return existed ? 'updated' : 'created';
  }

  async deleteFederatedDataset(workspaceId: string, name: string): Promise<boolean> {
    return (
      this.q('DELETE FROM federated_datasets WHERE workspace_id = ? AND name = ?').run(workspaceId, name)
        .changes > 0
    );
  }

  // Connections

  async listConnections(workspaceId: string): Promise<ConnectionRecord[]> {
    return (
      this.q('SELECT * FROM connections WHERE workspace_id = ? ORDER BY name').all(workspaceId) as Row[]
    ).map(toConnection);
  }

  async getConnection(workspaceId: string, name: string): Promise<ConnectionRecord | undefined> {
    const r = this.q('SELECT * FROM connections WHERE workspace_id = ? AND name = ?').get(
      workspaceId,
      name,
    ) as Row | undefined;
    return r ? toConnection(r) : undefined;
  }

  async putConnection(c: ConnectionRecord): Promise<'created' | 'updated'> {
    const existed = this.q('SELECT 1 FROM connections WHERE workspace_id = ? AND name = ?').get(
      c.workspaceId,
      c.name,
    );
    this.q(
      `INSERT INTO connections (workspace_id, name, kind, base_url, credential, models, deployment, data_classes,
         pricing, description, created_at, created_by, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, name) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url,
         credential = excluded.credential, models = excluded.models, deployment = excluded.deployment,
         data_classes = excluded.data_classes, pricing = excluded.pricing, description = excluded.description,
         updated_at = excluded.updated_at`,
    ).run(
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
    );
    return existed ? 'updated' : 'created';
  }

  async deleteConnection(workspaceId: string, name: string): Promise<boolean> {
    return (
      this.q('DELETE FROM connections WHERE workspace_id = ? AND name = ?').run(workspaceId, name).changes > 0
    );
  }

  async connectionsUsing(workspaceId: string, credential: string): Promise<string[]> {
    return (
      this.q('SELECT name FROM connections WHERE workspace_id = ? AND credential = ? ORDER BY name').all(
        workspaceId,
        credential,
      ) as Row[]
    ).map((r) => str(r['name']));
  }

  // Evaluations

  async createEvaluation(e: EvaluationRecord): Promise<void> {
    this.q(
      `INSERT INTO evaluations (id, workspace_id, flow_id, versions, dataset_name, dataset_rows, dataset_sha256, spec,
         status, progress_done, progress_total, report, error, created_by, created_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
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
    // Only a running evaluation changes: a cancel or an interruption recorded meanwhile stands.
    return (
      this.q(
        `UPDATE evaluations SET ${keys.map((k) => `${columns[k]} = ?`).join(', ')} WHERE id = ? AND status = 'running'`,
      ).run(...keys.map((k) => patch[k] ?? null), id).changes > 0
    );
  }

  async getEvaluation(workspaceId: string, id: string): Promise<EvaluationRecord | undefined> {
    const r = this.q('SELECT * FROM evaluations WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as
      Row | undefined;
    return r ? toEvaluation(r) : undefined;
  }

  async listEvaluations(workspaceId: string, flowId: string, limit: number): Promise<EvaluationRecord[]> {
    return (
      this.q(
        `SELECT id, workspace_id, flow_id, versions, dataset_name, dataset_rows, dataset_sha256, spec, status,
           progress_done, progress_total, NULL AS report, error, created_by, created_at, finished_at
         FROM evaluations WHERE workspace_id = ? AND flow_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
      ).all(workspaceId, flowId, limit) as Row[]
    ).map(toEvaluation);
  }

  async interruptRunningEvaluations(at: number): Promise<number> {
    return this.q(
      `UPDATE evaluations SET status = 'interrupted', finished_at = ?,
         error = 'the server stopped while the evaluation ran' WHERE status = 'running'`,
    ).run(at).changes;
  }

  // Continuous learning

  async getLearning(workspaceId: string, endpointId: string): Promise<LearningRecord | undefined> {
    const r = this.q('SELECT * FROM learning_settings WHERE workspace_id = ? AND endpoint_id = ?').get(
      workspaceId,
      endpointId,
    ) as Row | undefined;
    return r ? toLearning(r) : undefined;
  }

  async putLearning(
    r: Pick<LearningRecord, 'workspaceId' | 'endpointId' | 'config' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void> {
    this.q(
      `INSERT INTO learning_settings (endpoint_id, workspace_id, config, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (endpoint_id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at,
         updated_by = excluded.updated_by`,
    ).run(r.endpointId, r.workspaceId, r.config, r.updatedAt, r.updatedBy);
  }

  async listLearning(): Promise<LearningRecord[]> {
    return (this.q('SELECT * FROM learning_settings ORDER BY endpoint_id').all() as Row[]).map(toLearning);
  }

  async claimLearning(endpointId: string, owner: string, now: number, until: number): Promise<boolean> {
    return (
      this.q(
        `UPDATE learning_settings SET lease_owner = ?, lease_until = ?
         WHERE endpoint_id = ? AND (lease_owner IS NULL OR lease_until < ? OR lease_owner = ?)`,
      ).run(owner, until, endpointId, now, owner).changes > 0
    );
  }

  async releaseLearning(
    endpointId: string,
    owner: string,
    done?: { lastRetrainAt: number; lastRetrainLabels: number },
  ): Promise<boolean> {
    return (
      this.q(
        `UPDATE learning_settings SET lease_owner = NULL, lease_until = NULL,
           last_retrain_at = COALESCE(?, last_retrain_at), last_retrain_labels = COALESCE(?, last_retrain_labels)
         WHERE endpoint_id = ? AND lease_owner = ?`,
      ).run(done?.lastRetrainAt ?? null, done?.lastRetrainLabels ?? null, endpointId, owner).changes > 0
    );
  }

  async setLearningBaseline(endpointId: string, baseline: string | null): Promise<void> {
    this.q('UPDATE learning_settings SET baseline = ? WHERE endpoint_id = ?').run(baseline, endpointId);
  }

  async createRetrainJob(j: RetrainJobRecord): Promise<void> {
    this.q(
      `INSERT INTO retrain_jobs (id, workspace_id, endpoint_id, status, trigger, detail, created_by, created_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      j.id,
      j.workspaceId,
      j.endpointId,
      j.status,
      j.trigger,
      j.detail,
      j.createdBy,
      j.createdAt,
      j.finishedAt,
    );
  }

  async finishRetrainJob(
    id: string,
    patch: Pick<RetrainJobRecord, 'status' | 'detail' | 'finishedAt'>,
  ): Promise<boolean> {
    return (
      this.q(
        `UPDATE retrain_jobs SET status = ?, detail = ?, finished_at = ? WHERE id = ? AND status = 'running'`,
      ).run(patch.status, patch.detail, patch.finishedAt, id).changes > 0
    );
  }

  async getRetrainJob(workspaceId: string, id: string): Promise<RetrainJobRecord | undefined> {
    const r = this.q('SELECT * FROM retrain_jobs WHERE workspace_id = ? AND id = ?').get(workspaceId, id) as
      Row | undefined;
    return r ? toRetrainJob(r) : undefined;
  }

  async listRetrainJobs(workspaceId: string, endpointId: string, limit: number): Promise<RetrainJobRecord[]> {
    return (
      this.q(
        `SELECT * FROM retrain_jobs WHERE workspace_id = ? AND endpoint_id = ?
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      ).all(workspaceId, endpointId, limit) as Row[]
    ).map(toRetrainJob);
  }

  async interruptRunningRetrainJobs(at: number, endpointId?: string): Promise<number> {
    return this.q(
      `UPDATE retrain_jobs SET status = 'interrupted', finished_at = ?
       WHERE status = 'running' AND (? IS NULL OR endpoint_id = ?)`,
    ).run(at, endpointId ?? null, endpointId ?? null).changes;
  }

  async addDriftAlert(a: DriftAlertRecord): Promise<void> {
    this.q(
      `INSERT INTO drift_alerts (id, workspace_id, endpoint_id, feature, psi, level, calls, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(a.id, a.workspaceId, a.endpointId, a.feature, a.psi, a.level, a.calls, a.createdAt);
  }

  async listDriftAlerts(workspaceId: string, endpointId: string, limit: number): Promise<DriftAlertRecord[]> {
    return (
      this.q(
        `SELECT * FROM drift_alerts WHERE workspace_id = ? AND endpoint_id = ?
         ORDER BY created_at DESC, id DESC LIMIT ?`,
      ).all(workspaceId, endpointId, limit) as Row[]
    ).map(toDriftAlert);
  }

  // Endpoints and deployments

  private insertDeployment(d: DeploymentRecord): void {
    this.q(
      `INSERT INTO deployments (id, workspace_id, endpoint_id, flow_id, targets, created_at, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(d.id, d.workspaceId, d.endpointId, d.flowId, JSON.stringify(d.targets), d.createdAt, d.createdBy);
  }

  async createEndpoint(e: EndpointRecord, d: DeploymentRecord): Promise<void> {
    this.tx(() => {
      this.q(
        `INSERT INTO endpoints (id, workspace_id, slug, flow_id, deployment_id, status, mode, timeout_ms, max_body_bytes,
             rate_limit_per_minute, created_at, created_by, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
      );
      this.insertDeployment(d);
    });
  }

  async getEndpoint(workspaceId: string, id: string): Promise<EndpointRecord | undefined> {
    const r = this.q('SELECT * FROM endpoints WHERE id = ? AND workspace_id = ?').get(id, workspaceId) as
      Row | undefined;
    return r ? toEndpoint(r) : undefined;
  }

  async getEndpointBySlug(slug: string): Promise<EndpointRecord | undefined> {
    const r = this.q('SELECT * FROM endpoints WHERE slug = ?').get(slug) as Row | undefined;
    return r ? toEndpoint(r) : undefined;
  }

  async listEndpoints(workspaceId: string): Promise<EndpointRecord[]> {
    return (
      this.q('SELECT * FROM endpoints WHERE workspace_id = ? ORDER BY slug').all(workspaceId) as Row[]
    ).map(toEndpoint);
  }

  async endpointStats(endpointIds: string[], since: number): Promise<Map<string, EndpointStats>> {
    const stats = new Map<string, EndpointStats>();
    const q = this.q(
      'SELECT count(*) AS total, coalesce(sum(started_at >= ?), 0) AS recent FROM runs WHERE endpoint_id = ?',
    );
    for (const id of endpointIds) {
      const r = q.get(since, id) as Row;
      stats.set(id, { total: num(r['total']), last24h: num(r['recent']) });
    }
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
    this.tx(() => {
      const cols: [string, unknown][] = [
        ['status', patch.status],
        ['mode', patch.mode],
        ['timeout_ms', patch.timeoutMs],
        ['max_body_bytes', patch.maxBodyBytes],
        ['rate_limit_per_minute', patch.rateLimitPerMinute],
        ['updated_at', patch.updatedAt],
        ['deployment_id', deployment?.id],
      ];
      for (const [col, value] of cols) {
        if (value !== undefined) this.q(`UPDATE endpoints SET ${col} = ? WHERE id = ?`).run(value, id);
      }
      if (deployment) this.insertDeployment(deployment);
    });
  }

  async getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    const r = this.q('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return r ? toDeployment(r) : undefined;
  }

  async listDeployments(endpointId: string): Promise<DeploymentRecord[]> {
    return (
      this.q('SELECT * FROM deployments WHERE endpoint_id = ? ORDER BY created_at DESC, rowid DESC').all(
        endpointId,
      ) as Row[]
    ).map(toDeployment);
  }

  // API keys

  async createApiKey(k: ApiKeyRecord): Promise<void> {
    this.insertApiKey(k);
  }

  private insertApiKey(k: ApiKeyRecord): void {
    this.q(
      `INSERT INTO api_keys (id, workspace_id, name, prefix, hash, endpoints, created_at, created_by, last_used_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
    ).run(
      k.id,
      k.workspaceId,
      k.name,
      k.prefix,
      k.hash,
      k.endpoints === '*' ? '*' : JSON.stringify(k.endpoints),
      k.createdAt,
      k.createdBy,
    );
  }

  async listApiKeys(workspaceId: string): Promise<ApiKeyRecord[]> {
    return (
      this.q('SELECT * FROM api_keys WHERE workspace_id = ? ORDER BY created_at DESC').all(
        workspaceId,
      ) as Row[]
    ).map(toApiKey);
  }

  async getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const r = this.q('SELECT * FROM api_keys WHERE hash = ?').get(hash) as Row | undefined;
    return r ? toApiKey(r) : undefined;
  }

  async revokeApiKey(workspaceId: string, id: string, at: number): Promise<boolean> {
    return (
      this.q(
        'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL',
      ).run(at, id, workspaceId).changes > 0
    );
  }

  async getApiKey(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined> {
    const r = this.q('SELECT * FROM api_keys WHERE id = ? AND workspace_id = ?').get(id, workspaceId) as
      Row | undefined;
    return r ? toApiKey(r) : undefined;
  }

  async rotateApiKey(workspaceId: string, oldId: string, next: ApiKeyRecord, at: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        const revoked = this.q(
          'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL',
        ).run(at, oldId, workspaceId).changes;
        if (revoked === 0) return false;
        this.insertApiKey(next);
        return true;
      })
      .immediate();
  }

  // Idempotency

  async getIdempotency(
    keyId: string,
    endpointId: string,
    idemKey: string,
  ): Promise<IdempotencyRecord | undefined> {
    const r = this.q('SELECT * FROM idempotency WHERE key_id = ? AND endpoint_id = ? AND idem_key = ?').get(
      keyId,
      endpointId,
      idemKey,
    ) as Row | undefined;
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
    return this.q('DELETE FROM idempotency WHERE created_at < ?').run(at).changes;
  }

  // Audit

  async listAudit(workspaceId: string, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
    return (
      this.q(
        'SELECT * FROM audit_log WHERE workspace_id = ? AND (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?',
      ).all(workspaceId, beforeSeq ?? null, beforeSeq ?? null, limit) as Row[]
    ).map(toAudit);
  }

  async auditChain(workspaceId: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
    return (
      this.q('SELECT * FROM audit_log WHERE workspace_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(
        workspaceId,
        afterSeq,
        limit,
      ) as Row[]
    ).map(toAudit);
  }

  async auditHead(workspaceId: string): Promise<AuditHead | undefined> {
    const r = this.q('SELECT seq, hash, count, mac FROM audit_heads WHERE workspace_id = ?').get(
      workspaceId,
    ) as Row | undefined;
    return r
      ? { seq: num(r['seq']), hash: str(r['hash']), count: num(r['count']), mac: strOrNull(r['mac']) }
      : undefined;
  }

  // Run leases (queue mode, see leases.ts)

  /**
   * Leases are written on a connection of their own with synchronous=NORMAL: a lease lost to a power cut only
   * looks expired (the run is taken over), so it needs no fsync of its own, and claims and renewals then cost the
   * event loop no disk flush.
   */
  private leaseConn: Db | undefined;

  private leaseDb(): Db {
    if (!this.leaseConn) {
      const db = new Database(this.file);
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      this.leaseConn = db;
    }
    return this.leaseConn;
  }

  private leaseStmts = new Map<string, Stmt>();

  private lq(sql: string): Stmt {
    let s = this.leaseStmts.get(sql);
    if (!s) this.leaseStmts.set(sql, (s = this.leaseDb().prepare(sql)));
    return s;
  }

  async claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<RunRecord | undefined> {
    const changed = this.lq(
      `UPDATE runs SET lease_owner = ?, lease_expires_at = ? WHERE id = ? AND (
         (status = 'queued' AND lease_expires_at IS NULL)
         OR (status = 'running' AND resume_claim IS NOT NULL AND lease_expires_at IS NULL)
         OR (status IN ('queued', 'running') AND lease_expires_at IS NOT NULL AND lease_expires_at < ?))`,
    ).run(owner, now + leaseMs, runId, now).changes;
    if (changed === 0) return undefined;
    const r = this.lq(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(runId) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  async renewLease(runId: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return (
      this.lq('UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?').run(
        now + leaseMs,
        runId,
        owner,
      ).changes === 1
    );
  }

  async releaseLease(runId: string, owner: string): Promise<void> {
    this.lq(
      'UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?',
    ).run(runId, owner);
  }

  async cancelQueued(runId: string, now: number): Promise<boolean> {
    return (
      this.lq(
        `UPDATE runs SET status = 'cancelled', finished_at = ?, ms = ?, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ? AND status = 'queued' AND (lease_expires_at IS NULL OR lease_expires_at < ?)`,
      ).run(now, 0, runId, now).changes === 1
    );
  }

  async orphanedRuns(now: number, queuedBefore: number, limit: number): Promise<string[]> {
    return (
      this.lq(
        `SELECT id FROM runs WHERE (status = 'queued' AND lease_expires_at IS NULL AND started_at < ?)
           OR (status = 'running' AND resume_claim IS NOT NULL AND lease_expires_at IS NULL)
           OR (status IN ('queued', 'running') AND lease_expires_at IS NOT NULL AND lease_expires_at < ?)
         ORDER BY started_at LIMIT ?`,
      ).all(queuedBefore, now, limit) as Row[]
    ).map((r) => str(r['id']));
  }
}
