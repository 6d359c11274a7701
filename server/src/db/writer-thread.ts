/**
 * The main thread's side of the SQLite writer thread (writer-worker.mjs), which commits the group writes and
 * fsyncs them while the event loop goes on serving requests. Each batch is encoded as flat lists of values,
 * cheap to structured-clone (event JSON travels as the strings already built for it), and its `written` and
 * `durable` promises settle from the thread's acknowledgements. Batches are committed in the order they are
 * posted. The thread starts with the first commit; if it dies, the batches in flight fail and the next commit
 * starts a new one.
 */
import { MessageChannel, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import { canonicalJson } from '../hash.js';
import { storageError } from '../repo/errors.js';
import { chunkText, foldedChunks } from '../repo/event-rows.js';
import { reviewTaskValues } from '../repo/rows.js';
import type { BatchCommit, WriteBatch } from '../repo/types.js';

/** A batch as posted to the writer thread: each list holds its records' values one after another. */
export interface EncodedBatch {
  id: number;
  /**
   * 20 values a run: the columns of `runs` in table order, then the checkpoint, business key and start spec, then
   * its last event's seq and its events (one chunk from seq 0) when they go into its row (`foldedChunks`), or nulls.
   */
  runs?: unknown[];
  /** run id, seq, last seq, the events as one JSON array. */
  events?: unknown[];
  /** status, finished at, ms, sealed outputs or null, sealed checkpoint or null, run id. */
  runUpdates?: unknown[];
  /** 22 values a task: `reviewTaskValues` (repo/rows.ts), the columns of `review_tasks` in table order. */
  reviewTasks?: unknown[];
  /** status, approvals, decision, decided at, decided by, task id, expected approvals. */
  reviewDecisions?: unknown[];
  /** queue, escalated at, task id. */
  reviewEscalations?: unknown[];
  /** run id, token, cancel (0 or 1). */
  resumeClaims?: unknown[];
  /** 15 values a row: the columns of `feedback` in table order. */
  feedback?: unknown[];
  /** key id, endpoint id, idempotency key, request hash, run id, status, body, created at. */
  claims?: unknown[];
  /** status, body, run id, key id, endpoint id, idempotency key. */
  answers?: unknown[];
  /** at, key id. */
  keyUsage?: unknown[];
  /** at, workspace id, credential name. */
  credentialUsage?: unknown[];
  /** workspace id, at, actor, action, target, details: actor and details as the canonical JSON the hash covers. */
  audit?: unknown[];
}

type Ack =
  | { w: number; failed?: [number, string, string | undefined][]; d?: number; error?: string }
  | { d: number; error?: string }
  | { wal: number }
  | { stopped: true };

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers that do not wait must not see an unhandled rejection; the error reaches those that do.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface InFlight {
  id: number;
  written: Deferred;
  durable: Deferred;
}

/**
 * A Buffer that owns its whole memory, or a copy that does: a small Buffer is often a view into an 8 KiB pool,
 * and structured clone would copy the whole pool with it.
 */
function exact(b: Buffer | null | undefined): Uint8Array | null {
  if (!b) return null;
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : Uint8Array.prototype.slice.call(b);
}

export function encodeBatch(id: number, b: WriteBatch): EncodedBatch {
  const m: EncodedBatch = { id };
  const folded = foldedChunks(b);
  if (b.runs.length) {
    const v: unknown[] = [];
    for (const r of b.runs) {
      const chunk = folded?.get(r.id);
      v.push(
        r.id,
        r.workspaceId,
        r.flowId,
        r.flowVersion,
        r.status,
        r.trigger,
        r.endpointId,
        r.deploymentId,
        r.actor,
        r.rerunOf,
        exact(r.inputSealed),
        exact(r.outputsSealed),
        r.startedAt,
        r.finishedAt,
        r.ms,
        exact(r.checkpointSealed),
        r.businessKey,
        r.startSpec ?? null,
        chunk ? chunk.lastSeq : null,
        chunk ? chunkText(chunk) : null,
      );
    }
    m.runs = v;
  }
  if (b.events.length > (folded?.size ?? 0)) {
    const v: unknown[] = [];
    for (const e of b.events) if (folded?.get(e.runId) !== e) v.push(e.runId, e.seq, e.lastSeq, chunkText(e));
    m.events = v;
  }
  if (b.runUpdates.length) {
    const v: unknown[] = [];
    for (const u of b.runUpdates)
      v.push(u.status, u.finishedAt, u.ms, exact(u.outputsSealed), exact(u.checkpointSealed), u.id);
    m.runUpdates = v;
  }
  if (b.reviewTasks.length) {
    const v: unknown[] = [];
    for (const t of b.reviewTasks) v.push(...reviewTaskValues(t));
    m.reviewTasks = v;
  }
  if (b.reviewDecisions.length) {
    const v: unknown[] = [];
    for (const d of b.reviewDecisions)
      v.push(
        d.status,
        JSON.stringify(d.approvals),
        d.decision,
        d.decidedAt,
        d.decidedBy,
        d.id,
        d.expectApprovals,
      );
    m.reviewDecisions = v;
  }
  if (b.reviewEscalations.length) {
    const v: unknown[] = [];
    for (const e of b.reviewEscalations) v.push(e.queue, e.escalatedAt, e.id);
    m.reviewEscalations = v;
  }
  if (b.resumeClaims.length) {
    const v: unknown[] = [];
    for (const c of b.resumeClaims) v.push(c.runId, c.token, c.cancel ? 1 : 0);
    m.resumeClaims = v;
  }
  if (b.feedback.length) {
    const v: unknown[] = [];
    for (const f of b.feedback)
      v.push(
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
      );
    m.feedback = v;
  }
  if (b.idempotencyClaims.length) {
    const v: unknown[] = [];
    for (const i of b.idempotencyClaims)
      v.push(i.keyId, i.endpointId, i.idemKey, i.requestHash, i.runId, i.status, i.body, i.createdAt);
    m.claims = v;
  }
  if (b.idempotency.length) {
    const v: unknown[] = [];
    for (const i of b.idempotency) v.push(i.status, i.body, i.runId, i.keyId, i.endpointId, i.idemKey);
    m.answers = v;
  }
  if (b.keyUsage.size) {
    const v: unknown[] = [];
    for (const [id, at] of b.keyUsage) v.push(at, id);
    m.keyUsage = v;
  }
  if (b.credentialUsage.size) {
    const v: unknown[] = [];
    for (const c of b.credentialUsage.values()) v.push(c.at, c.workspaceId, c.name);
    m.credentialUsage = v;
  }
  if (b.audit.length) {
    const v: unknown[] = [];
    for (const d of b.audit)
      v.push(d.workspaceId, d.at, canonicalJson(d.actor), d.action, d.target, canonicalJson(d.details));
    m.audit = v;
  }
  return m;
}

/**
 * Node options for a worker thread: the process's, minus `--input-type`, which Node refuses for a worker's
 * entry file (a server started with `node --input-type=module -e ...` would otherwise get no workers at all), and
 * minus V8's flags (`--max-semi-space-size`, `--expose-gc`, `--trace-gc`: `npm start` passes some), which a
 * worker refuses too and which are process-wide anyway. Node names the flags it refuses in its error; those are
 * dropped on a second try, so a V8 flag this list does not know still leaves the server its workers.
 */
export function workerExecArgv(refused: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=') && !v8Flag.test(a) && !refused.has(a)) out.push(a);
  }
  return out;
}

const v8Flag =
  /^--(expose[-_]gc|trace[-_]gc|(max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor|max[-_]old[-_]space[-_]size)(=|$)/;

/** A worker thread with the process's options (see workerExecArgv). */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  try {
    return new Worker(url, { ...options, execArgv: workerExecArgv() });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    const named = /flags?: (.*)$/.exec((err as Error).message)?.[1] ?? '';
    return new Worker(url, { ...options, execArgv: workerExecArgv(new Set(named.split(/,\s*/))) });
  }
}

/** A failed batch's error, typed (StorageConflict) when its code says a key exists or a condition was gone. */
function failure(message: string, code?: string): Error {
  const err = new Error(message);
  if (code) (err as Error & { code: string }).code = code;
  return storageError(err) as Error;
}

export interface WriterThreadOptions {
  /** The database file (WAL mode, migrated). */
  file: string;
  /** The key that authenticates audit entries (see audit-chain-core.mjs); without it, audit writes fail. */
  auditKey?: Buffer | undefined;
  /** The WAL size (bytes) past which `onWalLarge` is called, once. */
  walLargeAt: number;
  /**
   * How long after a commit the WAL is fsynced (0: at once). Durability normal, where answers wait for the commit
   * only, sets a few milliseconds, so one fsync covers the commits of that interval.
   */
  syncDelayMs?: number;
  onWalLarge(size: number): void;
}

/**
 * Batches posted and not yet committed past which `commit` waits for the thread: commits are the only
 * back-pressure on runs that produce events faster than the disk takes them (the event loop blocked on each
 * commit before the writes moved to a thread).
 */
const MAX_UNCOMMITTED = 4096;

export class WriterThread {
  /** The id of the last batch the thread committed, shared with it. */
  private readonly progress = new Int32Array(new SharedArrayBuffer(4));
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private nextId = 1;
  /** Posted, not acknowledged as written yet (in id order). */
  private unwritten: InFlight[] = [];
  /** Written, not acknowledged as durable yet (in id order). */
  private undurable: InFlight[] = [];
  private autocheckpoint: number | undefined;
  private stopping = false;
  private onStopped: (() => void) | undefined;

  constructor(private readonly options: WriterThreadOptions) {}

  get running(): boolean {
    return this.worker !== undefined;
  }

  commit(batch: WriteBatch): BatchCommit {
    let port: MessagePort;
    try {
      port = this.start();
    } catch (err) {
      const failed = Promise.reject(err);
      failed.catch(() => {});
      return { written: failed, durable: failed };
    }
    this.waitForRoom();
    const entry: InFlight = { id: this.nextId++, written: deferred(), durable: deferred() };
    const message = encodeBatch(entry.id, batch);
    if (this.unwritten.length === 0 && this.undurable.length === 0) port.ref();
    this.unwritten.push(entry);
    port.postMessage(message);
    return { written: entry.written.promise, durable: entry.durable.promise };
  }

  /** Blocks while the thread is more than MAX_UNCOMMITTED batches behind (a disk far slower than the runs). */
  private waitForRoom(): void {
    for (;;) {
      const committed = Atomics.load(this.progress, 0);
      if (this.nextId - 1 - committed <= MAX_UNCOMMITTED || !this.worker) return;
      Atomics.wait(this.progress, 0, committed, 100);
    }
  }

  /** Asks the thread to collect its garbage and shrink its connection's cache (when it is running). */
  releaseMemory(): void {
    this.port?.postMessage({ releaseMemory: true });
  }

  /** Sets the thread's automatic checkpoint threshold (pages; 0 turns it off). */
  setAutocheckpoint(pages: number): void {
    this.autocheckpoint = pages;
    this.port?.postMessage({ autocheckpoint: pages });
  }

  private start(): MessagePort {
    if (this.port) return this.port;
    const { port1, port2 } = new MessageChannel();
    const worker = startWorker(new URL('../../src/db/writer-worker.mjs', import.meta.url), {
      workerData: {
        file: this.options.file,
        port: port1,
        walLargeAt: this.options.walLargeAt,
        syncDelayMs: this.options.syncDelayMs ?? 0,
        progress: this.progress,
        auditKey: this.options.auditKey ? new Uint8Array(this.options.auditKey) : null,
      },
      transferList: [port1],
    });
    // Only batches in flight keep the process alive (the port is referenced while there are some).
    worker.unref();
    port2.unref();
    port2.on('message', (m: Ack) => this.onMessage(m));
    worker.on('error', (err) => this.fail(worker, err));
    worker.on('exit', (code) => {
      if (this.stopping) this.onStopped?.();
      else this.fail(worker, new Error(`the database writer thread stopped (exit code ${code})`));
    });
    this.worker = worker;
    this.port = port2;
    if (this.autocheckpoint !== undefined) port2.postMessage({ autocheckpoint: this.autocheckpoint });
    return port2;
  }

  private onMessage(m: Ack): void {
    if ('w' in m) {
      const failed = m.failed && new Map(m.failed.map(([id, message, code]) => [id, failure(message, code)]));
      while (this.unwritten.length && (this.unwritten[0] as InFlight).id <= m.w) {
        const e = this.unwritten.shift() as InFlight;
        const err = failed?.get(e.id);
        if (err) {
          e.written.reject(err);
          e.durable.reject(err);
        } else {
          e.written.resolve();
          this.undurable.push(e);
        }
      }
    }
    if ('d' in m && m.d !== undefined) {
      const err = m.error === undefined ? undefined : failure(`the WAL could not be synced: ${m.error}`);
      while (this.undurable.length && (this.undurable[0] as InFlight).id <= m.d) {
        const e = this.undurable.shift() as InFlight;
        if (err) e.durable.reject(err);
        else e.durable.resolve();
      }
    }
    if ('wal' in m) this.options.onWalLarge(m.wal);
    else if ('stopped' in m) this.onStopped?.();
    if (this.unwritten.length === 0 && this.undurable.length === 0) this.port?.unref();
  }

  /** The thread died: what it had not acknowledged fails, and the next commit starts a new thread. */
  private fail(worker: Worker, err: unknown): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.port?.close();
    this.port = undefined;
    void worker.terminate();
    // The lost batches count as settled: a new thread starts from the next id.
    Atomics.store(this.progress, 0, this.nextId - 1);
    for (const e of this.unwritten.splice(0)) {
      e.written.reject(err);
      e.durable.reject(err);
    }
    for (const e of this.undurable.splice(0)) e.durable.reject(err);
  }

  /** Commits and syncs what was posted, then stops the thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    const port = this.port;
    if (!worker || !port) return;
    this.stopping = true;
    const stopped = new Promise<void>((resolve) => (this.onStopped = resolve));
    port.ref();
    port.postMessage({ stop: true });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    await worker.terminate();
    port.close();
    this.worker = undefined;
    this.port = undefined;
    this.stopping = false;
    const err = new Error('the database was closed before the write was acknowledged');
    for (const e of this.unwritten.splice(0)) {
      e.written.reject(err);
      e.durable.reject(err);
    }
    for (const e of this.undurable.splice(0)) e.durable.reject(err);
  }
}
