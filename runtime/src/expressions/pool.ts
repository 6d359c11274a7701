/**
 * The expression pool: JSONata evaluations that cannot run inline (regexes, deep recursion, big ranges, anything
 * the inline evaluator does not cover or that outgrew its budget) run in a few child processes, so no expression
 * can block the server's event loop or crash it. Each evaluation has a hard time bound: at the bound its process
 * is killed and replaced. A process that dies (out of memory, a V8 fatal error on a huge value) fails only the
 * evaluation it was running. Processes start on first use, are shared by every run, and never keep the parent
 * alive when it is otherwise done.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface PoolLimits {
  timeoutMs: number;
  poolKillFactor: number;
  maxDepth: number;
  maxSequence: number;
  maxResultSize: number;
  poolSize: number;
  poolMemoryMb: number;
  poolQueue: number;
  poolQueueWaitMs: number;
}

/** Why an evaluation in the pool failed, in words for the flow's author. */
export class PoolEvaluationError extends Error {
  override readonly name = 'PoolEvaluationError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Job {
  id: number;
  source: string;
  data: unknown;
  bindings: Record<string, unknown> | undefined;
  resolve(value: unknown): void;
  reject(err: PoolEvaluationError): void;
  queueTimer?: NodeJS.Timeout;
}

interface Slot {
  child: ChildProcess | undefined;
  /** The process has loaded and said so: an evaluation's clock runs from then. */
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

type Reply =
  | { ready: true }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code?: string };

/**
 * The child's entry, compiled. Run from the TypeScript sources (tests), the pool starts the built one in dist/:
 * `npx tsc -b` after changing the child or the inline evaluator (npm install builds it).
 */
const childPath = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../dist/expressions/pool-child.js' : './pool-child.js',
    import.meta.url,
  ),
);

/** Time given past the bound for JSONata's own time check to answer before the process is killed. */
const KILL_GRACE_MS = 100;

/** The pool processes' niceness (0 is normal, 19 the lowest priority). */
const POOL_NICENESS = 5;

/** Longest a new process may take to load before it is given up on. */
const START_TIMEOUT_MS = 15_000;

export class ExpressionPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  /** Processes started so far (replacements included): a test and the bench read it. */
  started = 0;

  constructor(private readonly limits: () => PoolLimits) {}

  /**
   * Evaluates in a pool process. When `signal` aborts (the node timed out, the run was cancelled), a waiting
   * evaluation leaves the queue, so abandoned work does not hold up the rest.
   */
  evaluate(
    source: string,
    data: unknown,
    bindings?: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const limits = this.limits();
    if (signal?.aborted) return Promise.reject(new PoolEvaluationError('cancelled'));
    if (this.queue.length >= limits.poolQueue) {
      return Promise.reject(
        new PoolEvaluationError(`the expression pool is busy (${limits.poolQueue} evaluations waiting)`),
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => this.abandon(job);
      const settle = () => signal?.removeEventListener('abort', onAbort);
      const job: Job = {
        id: this.nextId++,
        source,
        data,
        bindings,
        resolve: (v) => {
          settle();
          resolve(v);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      job.queueTimer = setTimeout(() => {
        const at = this.queue.indexOf(job);
        if (at < 0) return;
        this.queue.splice(at, 1);
        job.reject(
          new PoolEvaluationError(
            `the expression pool is busy: waited ${limits.poolQueueWaitMs} ms for a free evaluator`,
          ),
        );
      }, limits.poolQueueWaitMs);
      this.queue.push(job);
      this.dispatch();
    });
  }

  private abandon(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at >= 0) {
      this.queue.splice(at, 1);
      clearTimeout(job.queueTimer);
      job.reject(new PoolEvaluationError('cancelled'));
      return;
    }
    // A running evaluation is left to finish: its time bound ends it within a second anyway, mostly without a
    // kill, and every kill costs a new process (whose start blocks this thread for milliseconds).
    job.reject(new PoolEvaluationError('cancelled'));
    job.resolve = () => {};
    job.reject = () => {};
  }

  /** Stops every process (tests; a server stopping). Evaluations in flight fail. */
  close(): void {
    for (const slot of this.slots) this.retire(slot, 'the expression pool was closed');
    this.slots.length = 0;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.queueTimer);
      job.reject(new PoolEvaluationError('the expression pool was closed'));
    }
  }

  /** How many processes are alive (tests and the bench read it). */
  get alive(): number {
    return this.slots.filter((s) => s.child).length;
  }

  private dispatch(): void {
    const limits = this.limits();
    while (this.slots.length < limits.poolSize) {
      this.slots.push({ child: undefined, ready: false, job: undefined, timer: undefined });
    }
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      clearTimeout(job.queueTimer);
      this.start(slot, job, limits);
    }
  }

  private start(slot: Slot, job: Job, limits: PoolLimits): void {
    const child = (slot.child ??= this.spawn(slot, limits));
    slot.job = job;
    this.startClock(slot, limits);
    try {
      child.send({
        id: job.id,
        source: job.source,
        data: job.data,
        bindings: job.bindings,
        limits: {
          timeoutMs: limits.timeoutMs,
          maxDepth: limits.maxDepth,
          maxSequence: limits.maxSequence,
          maxResultSize: limits.maxResultSize,
        },
      });
    } catch (err) {
      // The data could not be copied to the process (a value structured clone refuses).
      clearTimeout(slot.timer);
      slot.job = undefined;
      job.reject(
        new PoolEvaluationError(`its data could not be passed to the evaluator: ${(err as Error).message}`),
      );
    }
  }

  /** The time bound of the slot's evaluation: from now if its process has loaded, else from when it has. */
  private startClock(slot: Slot, limits: PoolLimits): void {
    clearTimeout(slot.timer);
    slot.timer = slot.ready
      ? setTimeout(
          () => {
            this.retire(slot, `took longer than ${limits.timeoutMs} ms`);
            this.dispatch();
          },
          limits.timeoutMs * limits.poolKillFactor + KILL_GRACE_MS,
        )
      : setTimeout(() => {
          this.retire(slot, `its evaluator did not start within ${START_TIMEOUT_MS} ms`);
          this.dispatch();
        }, START_TIMEOUT_MS);
  }

  private spawn(slot: Slot, limits: PoolLimits): ChildProcess {
    this.started++;
    const child = fork(childPath, [], {
      // Only the heap limit: not the parent's flags (a test runner's loaders) and not its environment (secrets).
      execArgv: [`--max-old-space-size=${limits.poolMemoryMb}`],
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    // Below the server in the CPU scheduler: on a small machine a pool busy with hostile expressions must not
    // take the cores the event loop needs to answer everyone else.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, POOL_NICENESS);
      } catch {
        // Not permitted here (some containers): the pool still works, at the server's priority.
      }
    }
    child.on('message', (reply: Reply) => {
      if (slot.child !== child) return;
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.job) this.startClock(slot, limits);
        return;
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      clearTimeout(slot.timer);
      slot.job = undefined;
      if (reply.ok) job.resolve(reply.value);
      else job.reject(new PoolEvaluationError(reply.message, reply.code));
      this.dispatch();
    });
    const gone = (why: string) => {
      if (slot.child !== child) return;
      this.retire(slot, why);
      this.dispatch();
    };
    child.on('exit', (code, signal) =>
      gone(
        signal === 'SIGABRT' || signal === 'SIGTRAP' || code === 134 || code === 133
          ? 'its evaluator ran out of memory or built a value too large, and was replaced'
          : `its evaluator stopped (${signal ?? `exit code ${code}`}) and was replaced`,
      ),
    );
    child.on('error', (err) => gone(`its evaluator failed: ${err.message}`));
    // An idle pool never keeps the parent alive (a pending evaluation's timer does, while it runs).
    child.unref();
    child.channel?.unref();
    return child;
  }

  /** Kills a slot's process and fails its evaluation, if any, with `why`. */
  private retire(slot: Slot, why: string): void {
    clearTimeout(slot.timer);
    const { child, job } = slot;
    slot.child = undefined;
    slot.ready = false;
    slot.job = undefined;
    if (child) {
      child.removeAllListeners('message');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    job?.reject(new PoolEvaluationError(why, why.startsWith('took longer') ? 'D1012' : undefined));
  }
}
