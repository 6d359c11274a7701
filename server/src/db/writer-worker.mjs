// The SQLite writer thread: owns the connection that commits group writes (runs, run events, audit entries,
// idempotency answers, last-used times), so transactions, audit hashing and fsyncs never take time from the
// event loop that serves requests. The main thread posts one encoded batch per event-loop turn (format in
// writer-thread.ts); batches that queued up meanwhile are drained and committed in one transaction. Each commit
// is acknowledged as soon as readers can see it ({ w: last id }) and again once a sync of the WAL has made it
// durable ({ d: last id }). The two are pipelined: the sync runs on libuv's pool while this thread goes on
// committing the batches posted meanwhile, and the next sync covers all of those, so under durability full the
// disk flushes group N while group N+1 is gathered and committed (the event loop and this thread used to take
// turns: the thread blocked in the sync while the requests of the next group waited). With `syncDelayMs`
// (durability normal, where answers wait only for the commit) a sync starts that long after the first commit it
// covers, so one sync serves the commits of a whole interval.
// Plain JavaScript: it runs as-is from src/ and dist/.
import { closeSync, existsSync, fdatasync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { createSecretKey } from 'node:crypto';
import { dirname } from 'node:path';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { chainHash, entryMac, GENESIS_HASH, headMac } from '../audit-chain-core.mjs';

/**
 * @type {{ file: string, port: import('node:worker_threads').MessagePort, walLargeAt: number, syncDelayMs: number,
 *   progress: Int32Array, auditKey: Uint8Array | null }}
 */
const { file, port, walLargeAt, syncDelayMs, progress, auditKey } = workerData;
// Imported once as a key object: an HMAC given raw key bytes imports them again on every entry and head.
const macKey = auditKey ? createSecretKey(Buffer.from(auditKey)) : undefined;

const db = new Database(file);
// WAL commits are not synced by SQLite on this connection: this thread syncs the WAL itself (below), which
// gives synchronous=FULL's guarantee without a sync per transaction. The sync is fdatasync, as SQLite's own on
// Linux: it makes the written frames and the file's size durable and skips the modification time, whose journal
// commit is what made an fsync cost milliseconds (SQLite rewrites the WAL from its start after each checkpoint,
// so most commits overwrite blocks the file already has and the fdatasync has no metadata to write).
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');

/** @type {Record<string, import('better-sqlite3').Statement> | undefined} */
let statements;
function sql() {
  statements ??= {
    run: db.prepare(
      `INSERT INTO runs (id, workspace_id, flow_id, flow_version, status, trigger, endpoint_id, deployment_id, actor,
         rerun_of, input_sealed, outputs_sealed, started_at, finished_at, ms, checkpoint_sealed, business_key, start_spec,
         events_last_seq, events)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    event: db.prepare('INSERT INTO run_events (run_id, seq, last_seq, data) VALUES (?, ?, ?, ?)'),
    runUpdate: db.prepare(
      `UPDATE runs SET status = ?, finished_at = ?, ms = ?, outputs_sealed = coalesce(?, outputs_sealed),
         checkpoint_sealed = coalesce(?, checkpoint_sealed) WHERE id = ?`,
    ),
    reviewTask: db.prepare(
      `INSERT OR IGNORE INTO review_tasks (id, workspace_id, run_id, node_id, flow_id, flow_version, endpoint_id,
         deployment_id, queue, roles, title, status, due_at, escalated_at, starter, task, approvals, decision, decided_at,
         decided_by, resumed_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    reviewDecision: db.prepare(
      `UPDATE review_tasks SET status = ?, approvals = ?, decision = ?, decided_at = ?, decided_by = ?
       WHERE id = ? AND status = 'open' AND approvals = ?`,
    ),
    reviewEscalation: db.prepare(
      `UPDATE review_tasks SET queue = ?, escalated_at = ? WHERE id = ? AND status = 'open' AND escalated_at IS NULL`,
    ),
    claimDecided: db.prepare(
      `UPDATE runs SET status = 'running', resume_claim = ? WHERE id = ? AND status = 'waiting'
         AND EXISTS (SELECT 1 FROM review_tasks WHERE run_id = runs.id AND status = 'decided' AND resumed_by IS NULL)`,
    ),
    claimCancel: db.prepare(
      `UPDATE runs SET status = 'running', resume_claim = ? WHERE id = ? AND status = 'waiting'`,
    ),
    markResumed: db.prepare(
      `UPDATE review_tasks SET resumed_by = ? WHERE run_id = ? AND status = 'decided' AND resumed_by IS NULL`,
    ),
    cancelTasks: db.prepare(
      `UPDATE review_tasks SET status = 'cancelled', resumed_by = ? WHERE run_id = ? AND status = 'open'`,
    ),
    feedback: db.prepare(
      `INSERT OR IGNORE INTO feedback (id, workspace_id, run_id, flow_id, flow_version, endpoint_id, deployment_id, source,
         label, prediction, dedupe_key, request_hash, actor, decided_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    claim: db.prepare(
      `INSERT OR IGNORE INTO idempotency (key_id, endpoint_id, idem_key, request_hash, run_id, status, body, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    answer: db.prepare(
      'UPDATE idempotency SET status = ?, body = ?, run_id = coalesce(?, run_id) WHERE key_id = ? AND endpoint_id = ? AND idem_key = ?',
    ),
    keyUsage: db.prepare('UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?'),
    credentialUsage: db.prepare(
      'UPDATE credentials SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE workspace_id = ? AND name = ?',
    ),
    auditSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM audit_log').pluck(),
    auditHead: db.prepare('SELECT seq, hash, count FROM audit_heads WHERE workspace_id = ?'),
    audit: db.prepare(
      'INSERT INTO audit_log (seq, workspace_id, at, actor, action, target, details, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    auditHeadSet: db.prepare(
      `INSERT INTO audit_heads (workspace_id, seq, hash, count, mac) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, count = excluded.count,
         mac = excluded.mac`,
    ),
  };
  return statements;
}

/** Runs a statement once per `width` values of a flat list. */
function each(stmt, values, width) {
  if (!values) return;
  for (let i = 0; i < values.length; i += width) stmt.run(values.slice(i, i + width));
}

/**
 * Chains, authenticates and inserts audit entries ([workspaceId, at, actor, action, target, details] each, JSON
 * already canonical).
 */
function appendAudit(s, a) {
  if (!macKey) throw new Error('the writer thread has no audit key: audit entries cannot be written');
  let seq = s.auditSeq.get();
  const heads = new Map();
  for (let i = 0; i < a.length; i += 6) {
    const workspaceId = a[i];
    const head = heads.get(workspaceId) ??
      s.auditHead.get(workspaceId) ?? { seq: 0, hash: GENESIS_HASH, count: 0 };
    seq++;
    const [at, actor, action, target, details] = [a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5]];
    const hash = chainHash(head.hash, seq, workspaceId, at, actor, action, target, details);
    s.audit.run(
      seq,
      workspaceId,
      at,
      actor,
      action,
      target,
      details,
      head.hash,
      hash,
      entryMac(macKey, hash),
    );
    heads.set(workspaceId, { seq, hash, count: head.count + 1 });
  }
  for (const [workspaceId, h] of heads)
    s.auditHeadSet.run(
      workspaceId,
      h.seq,
      h.hash,
      h.count,
      headMac(macKey, workspaceId, h.seq, h.hash, h.count),
    );
}

/** A conditional write that found nothing to change: someone else acted first, so the whole batch is refused. */
function conflict(message) {
  return Object.assign(new Error(message), { code: 'REVIEW_CONFLICT' });
}

/** Review decisions apply only to the state they were made against; claims follow them in the same transaction. */
function applyReviews(s, b) {
  each(s.reviewTask, b.reviewTasks, 22);
  const d = b.reviewDecisions;
  if (d) {
    for (let i = 0; i < d.length; i += 7) {
      if (s.reviewDecision.run(d.slice(i, i + 7)).changes === 0)
        throw conflict(`review task ${d[i + 5]} was decided or changed by someone else`);
    }
  }
  const e = b.reviewEscalations;
  if (e) {
    for (let i = 0; i < e.length; i += 3) {
      if (s.reviewEscalation.run(e.slice(i, i + 3)).changes === 0)
        throw conflict(`review task ${e[i + 2]} was closed or escalated already`);
    }
  }
  const c = b.resumeClaims;
  if (c) {
    for (let i = 0; i < c.length; i += 3) {
      const [runId, token, cancel] = [c[i], c[i + 1], c[i + 2]];
      if (cancel) {
        if (s.claimCancel.run(token, runId).changes) {
          s.cancelTasks.run(token, runId);
          s.markResumed.run(token, runId);
        }
      } else if (s.claimDecided.run(token, runId).changes) s.markResumed.run(token, runId);
    }
  }
}

function apply(b) {
  const s = sql();
  each(s.run, b.runs, 20);
  each(s.event, b.events, 4);
  each(s.runUpdate, b.runUpdates, 6);
  applyReviews(s, b);
  each(s.feedback, b.feedback, 15);
  each(s.claim, b.claims, 8);
  each(s.answer, b.answers, 6);
  each(s.keyUsage, b.keyUsage, 2);
  each(s.credentialUsage, b.credentialUsage, 3);
  if (b.audit) appendAudit(s, b.audit);
}

const commitAll = db.transaction((batches) => {
  for (const b of batches) apply(b);
});

let writtenId = 0;
let syncedId = 0;
let syncing = false;
let stopping = false;
let stopped = false;
let walReported = false;
/** @type {number | undefined} */
let walFd;

/** An open descriptor of the WAL file (reopened if SQLite replaced the file). */
function wal() {
  if (walFd !== undefined) {
    const stat = fstatSync(walFd);
    if (!walReported && stat.size > walLargeAt) {
      walReported = true;
      port.postMessage({ wal: stat.size });
    }
    if (stat.nlink > 0) return walFd;
    closeSync(walFd);
    walFd = undefined;
  }
  if (existsSync(`${file}-wal`)) {
    walFd = openSync(`${file}-wal`, 'r+');
    // A new WAL's directory entry must be durable too before anything in it counts as durable.
    const dir = openSync(dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
  return walFd;
}

/** One fsync at a time; each covers every batch written before it started. */
function sync() {
  if (syncing || syncedId === writtenId) {
    if (!syncing && stopping) stop();
    return;
  }
  const upTo = writtenId;
  let fd;
  try {
    fd = wal();
  } catch (err) {
    syncedId = upTo;
    port.postMessage({ d: upTo, error: String(err?.message ?? err) });
    sync();
    return;
  }
  if (fd === undefined) {
    // No WAL file: nothing was written through it.
    syncedId = upTo;
    port.postMessage({ d: upTo });
    sync();
    return;
  }
  syncing = true;
  const done = (err) => {
    syncing = false;
    syncedId = upTo;
    port.postMessage(err ? { d: upTo, error: err.message } : { d: upTo });
    sync();
  };
  // With a delay (durability normal: nobody waits for the fsync), one fsync covers every commit of the delay.
  if (syncDelayMs > 0 && !stopping) setTimeout(() => fdatasync(fd, done), syncDelayMs);
  else fdatasync(fd, done);
}

function stop() {
  if (stopped) return;
  stopped = true;
  if (walFd !== undefined) closeSync(walFd);
  walFd = undefined;
  db.close();
  port.postMessage({ stopped: true });
  port.close();
}

/** Commits batches in one transaction; if that fails, one by one, so only the failing batch is refused. */
function commit(batches) {
  const failed = [];
  try {
    commitAll.immediate(batches);
  } catch (err) {
    if (batches.length === 1) failed.push([batches[0].id, String(err?.message ?? err), err?.code]);
    else {
      for (const b of batches) {
        try {
          commitAll.immediate([b]);
        } catch (e) {
          failed.push([b.id, String(e?.message ?? e), e?.code]);
        }
      }
    }
  }
  writtenId = batches[batches.length - 1].id;
  port.postMessage(failed.length ? { w: writtenId, failed } : { w: writtenId });
  // The main thread reads this (and may wait on it) when it gets too far ahead.
  Atomics.store(progress, 0, writtenId);
  Atomics.notify(progress, 0);
}

/**
 * The server went quiet (server/src/idle-gc.ts): this thread's isolate collects (when the process has
 * `--expose-gc`; asked again on each quiet interval, V8 then shrinks the young generation that load grew) and the
 * connection hands its page cache back.
 */
function releaseMemory() {
  globalThis.gc?.();
  db.pragma('shrink_memory');
}

/** Batches taken from the queue per transaction at most; the rest wait for the next turn (after an fsync starts). */
const MAX_GROUP = 256;

function handle(message) {
  const batches = [];
  let m = message;
  for (;;) {
    if (m.id !== undefined) batches.push(m);
    else {
      if (batches.length) commit(batches.splice(0));
      if (m.autocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${Number(m.autocheckpoint)}`);
      if (m.releaseMemory) releaseMemory();
      if (m.stop) stopping = true;
    }
    if (batches.length >= MAX_GROUP) break;
    m = receiveMessageOnPort(port)?.message;
    if (m === undefined) break;
  }
  if (batches.length) commit(batches);
  sync();
}

port.on('message', handle);
