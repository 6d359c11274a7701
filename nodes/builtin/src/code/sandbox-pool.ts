/**
 * The server's side of the code sandbox: a small pool of sandbox processes (sandbox-process.mjs, forked with
 * `--no-node-snapshot` and an empty environment), each running isolates for several runs at once. A run is
 * sent over IPC with its limits lowered to the pool's ceilings and its inputs as JSON; logs stream back; the
 * result comes back as JSON text and is parsed here into plain data.
 *
 * The process is a second wall around isolated-vm: if it crashes (a V8 fatal error, an out-of-memory kill) or
 * stops answering, the runs in it fail with SANDBOX_CRASHED, it is killed if need be, and the next run starts a
 * new one. The server process never runs user code and is never blocked by it. Idle processes do not keep the
 * event loop alive, so a CLI run exits when it is done.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NodeError } from '@finflow/sdk';
import type { LogLevel } from '@finflow/runtime';
import {
  CodeErrorCodes,
  type CodeRunRequest,
  type CodeRunResult,
  type CodeSandbox,
  type SandboxLimits,
} from './sandbox.js';

const processFile = fileURLToPath(new URL('../../src/code/sandbox-process.mjs', import.meta.url));

export const defaultSandboxLimits: SandboxLimits = {
  maxMemoryMb: 256,
  maxCpuMs: 10_000,
  maxDataBytes: 8 * 1024 * 1024,
  maxLogs: 200,
  maxLogBytes: 64 * 1024,
};

/** The smallest heap isolated-vm accepts. */
export const MIN_MEMORY_MB = 8;

export interface SandboxPoolOptions {
  /** Sandbox processes (default 1). */
  processes?: number;
  /** Runs one process takes at once; more wait in a queue (default 4). */
  concurrency?: number;
  limits?: Partial<SandboxLimits>;
  /** How long a new process may take to say it is ready (default 15 s). */
  startTimeoutMs?: number;
  /** Extra time after a run's wall-clock limit before its process is presumed hung and killed (default 5 s). */
  graceMs?: number;
}

interface Pending {
  id: number;
  resolve(result: CodeRunResult): void;
  reject(error: NodeError): void;
  onLog: CodeRunRequest['onLog'];
  limits: CodeRunResult['limits'];
  timer: NodeJS.Timeout;
  cancelTimer?: NodeJS.Timeout;
  /** Log lines and bytes taken from the sandbox process for this run (the process enforces the same limits). */
  logs: number;
  logBytes: number;
  detach(): void;
}

interface SandboxProcess {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  stderr: string;
  alive: boolean;
  /** Why the pool killed it, when it did. */
  killReason?: string;
}

type Answer =
  | { t: 'ready'; pid: number }
  | { t: 'log'; id: number; level: LogLevel; message: string; data?: Record<string, unknown> }
  | { t: 'done'; id: number; ok: true; outputs: string; cpuMs: number; wallMs: number }
  | {
      t: 'done';
      id: number;
      ok: false;
      code: string;
      message: string;
      details?: Record<string, unknown>;
    }
  | { t: 'stats'; id: number; memory: NodeJS.MemoryUsage };

const levels = new Set(['debug', 'info', 'warn', 'error']);
/** What V8 prints when it aborts on an exhausted heap. */
const OUT_OF_MEMORY =
  /is_heap_oom = 1|Fatal process out of memory|Reached heap limit|JavaScript heap out of memory/;

export class SandboxPool implements CodeSandbox {
  readonly limits: SandboxLimits;
  private readonly size: number;
  private readonly concurrency: number;
  private readonly startTimeoutMs: number;
  private readonly graceMs: number;
  private readonly processes: (SandboxProcess | undefined)[];
  private readonly queue: (() => void)[] = [];
  private nextId = 1;
  private disposed = false;
  /** Sandbox processes that died or were killed (a measure of trouble, for logs and tests). */
  restarts = 0;

  constructor(options: SandboxPoolOptions = {}) {
    this.limits = { ...defaultSandboxLimits, ...options.limits };
    this.size = Math.max(1, options.processes ?? 1);
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.graceMs = options.graceMs ?? 5_000;
    this.processes = Array.from({ length: this.size }, () => undefined);
  }

  /** Process ids of the live sandbox processes (for measurements and tests). */
  pids(): number[] {
    return this.processes.flatMap((p) => (p?.alive && p.child.pid ? [p.child.pid] : []));
  }

  /** Starts the sandbox processes now rather than on the first run. */
  async warm(): Promise<void> {
    await Promise.all(this.processes.map((_, i) => this.processAt(i).ready));
  }

  async run(request: CodeRunRequest): Promise<CodeRunResult> {
    if (this.disposed)
      throw new NodeError('the code sandbox is shut down', CodeErrorCodes.SANDBOX_UNAVAILABLE);
    const limits = {
      memoryMb: Math.max(MIN_MEMORY_MB, Math.min(Math.floor(request.memoryMb), this.limits.maxMemoryMb)),
      cpuMs: Math.max(1, Math.min(Math.floor(request.cpuMs), this.limits.maxCpuMs)),
    };
    let inputs: string;
    try {
      inputs = JSON.stringify(request.inputs);
    } catch (err) {
      throw new NodeError(`the inputs are not JSON data: ${(err as Error).message}`, 'INVALID_INPUT');
    }
    if (inputs.length > this.limits.maxDataBytes) {
      throw new NodeError(
        `the inputs are larger than ${this.limits.maxDataBytes} bytes as JSON`,
        CodeErrorCodes.INPUT_TOO_LARGE,
      );
    }
    const signal = request.signal;
    if (signal?.aborted) throw new NodeError('cancelled', 'CANCELLED');
    const sandbox = await this.slot(signal);
    // Code cannot wait for anything, so a run far past its CPU limit is stuck on a promise nothing settles.
    const wallMs = limits.cpuMs * 3 + 2_000;
    const id = this.nextId++;
    return new Promise<CodeRunResult>((resolve, reject) => {
      const onAbort = () => {
        const p = sandbox.pending.get(id);
        if (!p) return;
        sandbox.child.send({ t: 'cancel', id });
        // The process disposes the isolate and answers at once; one that does not is hung.
        p.cancelTimer ??= setTimeout(
          () => this.kill(sandbox, 'it did not stop a cancelled run'),
          this.graceMs,
        );
      };
      const pending: Pending = {
        id,
        resolve,
        reject,
        onLog: request.onLog,
        limits,
        timer: setTimeout(
          () => this.kill(sandbox, `a run did not finish ${this.graceMs} ms after its time limit`),
          wallMs + this.graceMs,
        ),
        logs: 0,
        logBytes: 0,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      sandbox.pending.set(id, pending);
      this.reference(sandbox);
      signal?.addEventListener('abort', onAbort, { once: true });
      sandbox.child.send(
        {
          t: 'run',
          id,
          language: request.language,
          code: request.code,
          inputs,
          memoryMb: limits.memoryMb,
          cpuMs: limits.cpuMs,
          wallMs,
          now: request.now,
          seed: request.seed,
          meta: request.meta,
          maxOutputBytes: this.limits.maxDataBytes,
          maxLogs: this.limits.maxLogs,
          maxLogBytes: this.limits.maxLogBytes,
        },
        (err) => {
          if (err)
            this.settle(
              sandbox,
              id,
              new NodeError(
                `the sandbox did not take the run: ${err.message}`,
                CodeErrorCodes.SANDBOX_CRASHED,
              ),
            );
        },
      );
    });
  }

  /** Memory of each sandbox process as it reports it (resident set size and V8 heap), for measurements. */
  async memory(): Promise<{ pid: number; rss: number; heapUsed: number }[]> {
    const out: { pid: number; rss: number; heapUsed: number }[] = [];
    for (const p of this.processes) {
      if (!p?.alive) continue;
      await p.ready;
      const memory = await new Promise<NodeJS.MemoryUsage | undefined>((resolve) => {
        const id = this.nextId++;
        const timer = setTimeout(() => resolve(undefined), 2_000);
        const listener = (m: Answer) => {
          if (m.t === 'stats' && m.id === id) {
            clearTimeout(timer);
            p.child.off('message', listener);
            resolve(m.memory);
          }
        };
        p.child.on('message', listener);
        p.child.send({ t: 'stats', id });
      });
      if (memory && p.child.pid) out.push({ pid: p.child.pid, rss: memory.rss, heapUsed: memory.heapUsed });
    }
    return out;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const wake of this.queue.splice(0)) wake();
    await Promise.all(
      this.processes.map(async (p, i) => {
        if (!p) return;
        this.processes[i] = undefined;
        this.failAll(p, new NodeError('the code sandbox is shut down', CodeErrorCodes.SANDBOX_UNAVAILABLE));
        if (p.alive) {
          const gone = new Promise<void>((done) => p.child.once('exit', () => done()));
          // Whoever awaits the shutdown waits for the exit, which an unreferenced process would not deliver.
          this.reference(p);
          p.child.kill('SIGKILL');
          await gone;
        }
      }),
    );
  }

  /** A ready process with room for one more run, waiting in line when all are full. */
  private async slot(signal: AbortSignal | undefined): Promise<SandboxProcess> {
    for (;;) {
      if (this.disposed)
        throw new NodeError('the code sandbox is shut down', CodeErrorCodes.SANDBOX_UNAVAILABLE);
      let best = -1;
      let load = Infinity;
      for (let i = 0; i < this.size; i++) {
        const n = this.processes[i]?.pending.size ?? 0;
        if (n < load) {
          load = n;
          best = i;
        }
      }
      if (load < this.concurrency) {
        const sandbox = this.processAt(best);
        await sandbox.ready;
        if (sandbox.alive) return sandbox;
        continue;
      }
      await new Promise<void>((wake) => {
        const onAbort = () => {
          const at = this.queue.indexOf(go);
          if (at >= 0) this.queue.splice(at, 1);
          wake();
        };
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          wake();
        };
        this.queue.push(go);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (signal?.aborted) throw new NodeError('cancelled', 'CANCELLED');
    }
  }

  private processAt(index: number): SandboxProcess {
    const existing = this.processes[index];
    if (existing?.alive) return existing;
    const sandbox = this.spawn();
    this.processes[index] = sandbox;
    sandbox.child.once('exit', () => {
      if (this.processes[index] === sandbox) this.processes[index] = undefined;
    });
    return sandbox;
  }

  private spawn(): SandboxProcess {
    const child = fork(processFile, [], {
      // isolated-vm needs --no-node-snapshot on Node 20+. Nothing of the server's environment (credentials,
      // keys, NODE_OPTIONS) is passed on, nor its flags (loaders, conditions).
      execArgv: ['--no-node-snapshot', '--max-old-space-size=256'],
      env: {},
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let markReady!: () => void;
    let markFailed!: (err: NodeError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    const sandbox: SandboxProcess = { child, ready, pending: new Map(), stderr: '', alive: true };
    const startTimer = setTimeout(() => {
      markFailed(
        new NodeError('the sandbox process did not start in time', CodeErrorCodes.SANDBOX_UNAVAILABLE),
      );
      child.kill('SIGKILL');
    }, this.startTimeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      sandbox.stderr = (sandbox.stderr + d.toString()).slice(-8_000);
    });
    child.on('message', (m: Answer) => this.onAnswer(sandbox, m, markReady, startTimer));
    child.on('error', (err) => {
      clearTimeout(startTimer);
      markFailed(
        new NodeError(
          `the sandbox process could not start: ${err.message}`,
          CodeErrorCodes.SANDBOX_UNAVAILABLE,
        ),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(startTimer);
      sandbox.alive = false;
      if (!this.disposed) this.restarts++;
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const last = sandbox.stderr.trim().split('\n').slice(-3).join(' | ');
      markFailed(
        new NodeError(
          `the sandbox process could not start (${why})${last ? `: ${last}` : ''}`,
          CodeErrorCodes.SANDBOX_UNAVAILABLE,
        ),
      );
      // V8 aborts the whole process when one allocation overshoots an isolate's heap before isolated-vm can
      // dispose of it (a hash table doubling, say). With one run in the process, that run was the culprit.
      const outOfMemory = !sandbox.killReason && OUT_OF_MEMORY.test(sandbox.stderr);
      if (outOfMemory && sandbox.pending.size === 1) {
        const [only] = sandbox.pending.values();
        this.failAll(
          sandbox,
          new NodeError(
            `the code used more than its ${only?.limits.memoryMb} MB of memory, which stopped the sandbox process; it is restarted for the next run`,
            CodeErrorCodes.MEMORY_LIMIT,
          ),
        );
        return;
      }
      const reason = sandbox.killReason ?? (outOfMemory ? `${why}: out of memory` : why);
      this.failAll(
        sandbox,
        new NodeError(
          `the sandbox process stopped during the run (${reason}); it is restarted for the next run`,
          CodeErrorCodes.SANDBOX_CRASHED,
          { details: { reason } },
        ),
      );
    });
    // A rejected start is reported to the runs that wait for it; nothing else must see it as unhandled.
    // While it starts, someone is waiting for it, so it keeps the event loop alive; once ready and idle, it
    // does not (a CLI run exits when its work is done).
    ready.then(
      () => {
        if (sandbox.pending.size === 0) this.unreference(sandbox);
      },
      () => undefined,
    );
    return sandbox;
  }

  private onAnswer(sandbox: SandboxProcess, m: Answer, markReady: () => void, startTimer: NodeJS.Timeout) {
    if (!m || typeof m !== 'object') return;
    if (m.t === 'ready') {
      clearTimeout(startTimer);
      markReady();
      return;
    }
    if (m.t === 'log') {
      const p = sandbox.pending.get(m.id);
      if (!p?.onLog || typeof m.message !== 'string') return;
      const level: LogLevel = levels.has(m.level) ? m.level : 'info';
      // The process already limits logs; the same limits here mean a subverted process cannot flood the run
      // (one line over, the process's own notice that lines were dropped, is let through).
      const data = m.data && typeof m.data === 'object' && !Array.isArray(m.data) ? m.data : undefined;
      const size = m.message.length + (data ? JSON.stringify(data).length : 0);
      if (p.logs > this.limits.maxLogs || p.logBytes + size > this.limits.maxLogBytes + 1_000) return;
      p.logs++;
      p.logBytes += size;
      try {
        if (data) p.onLog(level, m.message, data);
        else p.onLog(level, m.message);
      } catch {
        // A logger that throws must not lose the run.
      }
      return;
    }
    if (m.t !== 'done') return;
    if (m.ok) {
      if (typeof m.outputs !== 'string' || m.outputs.length > this.limits.maxDataBytes) {
        this.settle(
          sandbox,
          m.id,
          new NodeError(
            `the outputs are larger than ${this.limits.maxDataBytes} bytes as JSON`,
            CodeErrorCodes.OUTPUT_TOO_LARGE,
          ),
        );
        return;
      }
      let outputs: unknown;
      try {
        outputs = JSON.parse(m.outputs);
      } catch {
        outputs = undefined;
      }
      if (!outputs || typeof outputs !== 'object' || Array.isArray(outputs)) {
        this.settle(
          sandbox,
          m.id,
          new NodeError('the code returned something that is not data', CodeErrorCodes.OUTPUT_NOT_DATA),
        );
        return;
      }
      this.settle(sandbox, m.id, undefined, {
        outputs: outputs as Record<string, unknown>,
        cpuMs: Number(m.cpuMs) || 0,
        wallMs: Number(m.wallMs) || 0,
      });
      return;
    }
    const code = /^[A-Z][A-Z0-9_]*$/.test(m.code) ? m.code : CodeErrorCodes.SANDBOX_CRASHED;
    const details = m.details && typeof m.details === 'object' ? pruneDetails(m.details) : undefined;
    this.settle(
      sandbox,
      m.id,
      new NodeError(String(m.message).slice(0, 4_000), code, details ? { details } : {}),
    );
  }

  private settle(
    sandbox: SandboxProcess,
    id: number,
    error: NodeError | undefined,
    result?: Omit<CodeRunResult, 'limits'>,
  ): void {
    const p = sandbox.pending.get(id);
    if (!p) return;
    sandbox.pending.delete(id);
    clearTimeout(p.timer);
    if (p.cancelTimer) clearTimeout(p.cancelTimer);
    p.detach();
    if (sandbox.pending.size === 0) this.unreference(sandbox);
    this.queue.shift()?.();
    if (error) p.reject(error);
    else if (result) p.resolve({ ...result, limits: p.limits });
  }

  private failAll(sandbox: SandboxProcess, error: NodeError): void {
    for (const id of [...sandbox.pending.keys()]) this.settle(sandbox, id, error);
  }

  private kill(sandbox: SandboxProcess, reason: string): void {
    if (!sandbox.alive) return;
    sandbox.killReason = reason;
    sandbox.child.kill('SIGKILL');
  }

  /** The process, its IPC channel and its stderr pipe keep the event loop alive (a run is in progress). */
  private reference(sandbox: SandboxProcess): void {
    sandbox.child.ref();
    (sandbox.child.channel as { ref?: () => void } | undefined)?.ref?.();
    (sandbox.child.stderr as { ref?: () => void } | null)?.ref?.();
  }

  private unreference(sandbox: SandboxProcess): void {
    sandbox.child.unref();
    (sandbox.child.channel as { unref?: () => void } | undefined)?.unref?.();
    (sandbox.child.stderr as { unref?: () => void } | null)?.unref?.();
  }
}

/** Keeps only small primitive details (line, column, names) from what the sandbox process reported. */
function pruneDetails(details: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (typeof v === 'string') out[k] = v.slice(0, 200);
  }
  return Object.keys(out).length ? out : undefined;
}

let defaultPool: SandboxPool | undefined;

/** The pool the code node uses when no sandbox is injected (the CLI, tests), created on first use. */
export function defaultCodeSandbox(): SandboxPool {
  return (defaultPool ??= new SandboxPool());
}

/** Stops the default pool's processes (the server and tests call it on shutdown). */
export async function disposeCodeSandbox(): Promise<void> {
  const pool = defaultPool;
  defaultPool = undefined;
  await pool?.dispose();
}
