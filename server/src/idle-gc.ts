/**
 * Gives memory back when the server goes quiet (issue 18: RSS after load back near idle, idle ≤ 90 MiB). V8
 * collects its old generation when it needs room, not when the process goes quiet, and it keeps its young
 * generation at the size it grew to (32 MiB after start-up alone: loading the modules allocates that much) until a
 * full collection finds the allocation rate low. When the process was started with `--expose-gc` (`npm start`
 * passes it), this watches the event loop's utilisation and, once a busy period (start-up counts as one) has been
 * followed by a quiet one, runs full collections until the young generation has shrunk. Without the flag it does nothing. The check itself costs
 * one reading every interval.
 *
 * "Quiet" means quiet for a while (20 s by default), not a pause between bursts: a forced full collection also
 * discards the optimised code whose embedded objects (maps of per-call objects, crypto's Hash objects) died, so a
 * server collected in every short pause recompiles its endpoint path on each burst. Measured (bench/README.md,
 * "Round 5b: the JIT at c=1"): with a collection in each 15 s pause, 161-183 functions were optimised again every
 * 8 s of c=1 calls at 1,709 µs of CPU a call, against 23-42 and 1,151-1,421 µs without.
 */
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface IdleGcOptions {
  /** How often the event loop's utilisation is read (ms). */
  intervalMs?: number;
  /** Utilisation above which an interval counts as busy. */
  busyAbove?: number;
  /** Utilisation below which an interval counts as quiet. */
  quietBelow?: number;
  /** Full collections tried, one a quiet interval, until the young generation has shrunk. */
  maxCollections?: number;
  /**
   * Quiet intervals in a row before the first collection of a quiet period (default 10: 20 s at the default
   * interval), so that pauses between bursts keep the compiled code.
   */
  quietIntervals?: number;
  /** The collector to run (tests pass a fake); default `globalThis.gc` when exposed. */
  gc?: () => void;
  /** The young generation's size in bytes (tests pass a fake); default from `v8.getHeapSpaceStatistics`. */
  youngGenerationBytes?: () => number;
  onCollect?: (ms: number) => void;
}

/** The young generation's size after V8 has shrunk it (1 MiB a semi-space, at most 2 MiB in all). */
export const SHRUNK_YOUNG_GENERATION = 4 * 1024 * 1024;

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Starts the watch; the returned function stops it.
 *
 * Why more than one collection: V8 shrinks the young generation only in a full collection that finds the
 * allocation rate low, and it measures that rate over the last few seconds of collections. Right after a burst a
 * full collection frees the garbage but keeps the grown young generation; two or three quiet intervals later one
 * shrinks it (measured: the fourth collection at 2 s intervals at the latest, 32 → 1 MiB, about 30 MiB of RSS). So
 * while the server stays quiet this collects once an interval until the young generation has shrunk, at most
 * `maxCollections` times; each is a few milliseconds on a 30 MB heap.
 */
export function startIdleGc(options: IdleGcOptions = {}): () => void {
  const gc = options.gc ?? (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => {};
  const busyAbove = options.busyAbove ?? 0.2;
  const quietBelow = options.quietBelow ?? 0.02;
  const maxCollections = options.maxCollections ?? 6;
  const quietIntervals = Math.max(1, options.quietIntervals ?? 10);
  const youngBytes = options.youngGenerationBytes ?? youngGenerationBytes;
  let last = performance.eventLoopUtilization();
  // Start-up is the first busy period: loading the modules grew the heap (the young generation to 32 MiB).
  let left = maxCollections;
  let quietFor = 0;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (u > busyAbove) left = maxCollections;
    // Any interval that is not quiet starts the count again.
    quietFor = u < quietBelow ? quietFor + 1 : 0;
    if (left > 0 && quietFor >= quietIntervals) {
      const t0 = performance.now();
      gc();
      options.onCollect?.(performance.now() - t0);
      left = youngBytes() <= SHRUNK_YOUNG_GENERATION ? 0 : left - 1;
      // The collection's own time is not load.
      last = performance.eventLoopUtilization();
    }
  }, options.intervalMs ?? 2_000);
  timer.unref();
  return () => clearInterval(timer);
}
