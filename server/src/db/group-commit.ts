/**
 * Group commit: writes from every run and request gathered during one event-loop turn are committed in one
 * transaction at the end of the turn, and one fsync makes every batch written so far durable. Each writer gets
 * a promise that settles when its writes are durable (durability `full`, the default) or when they are written
 * (durability `normal`: they survive the process but not the machine until the fsync that follows within
 * milliseconds, SQLite's synchronous=NORMAL guarantee). A run finishes, and an endpoint answers, only then.
 */
import { batchSize, emptyBatch, type Repository, type WriteBatch } from '../repo/types.js';

export type Durability = 'full' | 'normal';

interface Pending {
  batch: WriteBatch;
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommitter {
  private pending: Pending | undefined;
  /** Settles when the last batch handed to the repository is written (batches are applied in order). */
  private written: Promise<void> = Promise.resolve();
  /** Settles when the last batch handed to the repository is durable. */
  private durable: Promise<void> = Promise.resolve();
  private scheduled = false;
  commits = 0;

  constructor(
    private readonly repo: Repository,
    private readonly durability: Durability = 'full',
    private readonly onCommit?: (size: number, ms: number) => void,
  ) {}

  /** Adds writes to the current batch; the promise settles when they are committed. */
  write(fill: (batch: WriteBatch) => void): Promise<void> {
    const p = this.current();
    fill(p.batch);
    this.schedule();
    return p.promise;
  }

  /**
   * The batch being gathered, to add writes to directly (it commits at the end of this event-loop turn), and
   * the promise that settles when it is committed.
   */
  open(): { batch: WriteBatch; promise: Promise<void> } {
    const p = this.current();
    this.schedule();
    return p;
  }

  private current(): Pending {
    if (!this.pending) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Callers that do not wait still must not see an unhandled rejection; the error reaches those that do.
      promise.catch(() => {});
      this.pending = { batch: emptyBatch(), promise, resolve, reject };
    }
    return this.pending;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Commits what is pending now; resolves when everything written so far is committed (as durable as configured). */
  flush(): Promise<void> {
    const p = this.pending;
    if (!p) return this.durability === 'full' ? this.durable : this.written;
    this.pending = undefined;
    const size = batchSize(p.batch);
    if (size === 0) {
      p.resolve();
      return p.promise;
    }
    const t0 = performance.now();
    // The repository applies batches in the order they are handed over, so the latest batch's promises
    // settle after every earlier batch's.
    const { written, durable } = this.repo.commit(p.batch);
    const committed = this.durability === 'full' ? durable : written;
    void committed.then(
      () => {
        this.commits++;
        this.onCommit?.(size, performance.now() - t0);
      },
      () => {},
    );
    this.written = written.catch(() => {});
    this.durable = durable.catch(() => {});
    committed.then(p.resolve, p.reject);
    return p.promise;
  }

  /**
   * Commits writes in a batch of their own, handed to the repository after everything pending (order is kept).
   * For conditional writes (review decisions, resume claims): when one finds its condition gone, the repository
   * refuses only this batch, and the promise rejects with its error (code REVIEW_CONFLICT).
   */
  commitAlone(fill: (batch: WriteBatch) => void): Promise<void> {
    void this.flush().catch(() => {});
    const batch = emptyBatch();
    fill(batch);
    const t0 = performance.now();
    const { written, durable } = this.repo.commit(batch);
    this.written = written.catch(() => {});
    this.durable = durable.catch(() => {});
    const committed = this.durability === 'full' ? durable : written;
    void committed.then(
      () => {
        this.commits++;
        this.onCommit?.(batchSize(batch), performance.now() - t0);
      },
      () => {},
    );
    return committed;
  }

  /** Commits what is pending now; resolves once reads see everything written so far (not waiting for fsync). */
  visible(): Promise<void> {
    void this.flush().catch(() => {});
    return this.written;
  }
}
