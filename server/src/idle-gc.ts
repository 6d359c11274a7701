/**
 * Gives memory back when the server goes quiet (issue 18: RSS after load back near idle, idle ≤ 90 MiB). V8
 * collects its old generation when it needs room, not when the process goes quiet, and it keeps its young
 * generation at the size it grew to (32 MiB after start-up alone: loading the modules allocates that much) until a
 * full collection finds the allocation rate low. When the process was started with `--expose-gc` (`npm start`
 * passes it), this watches the event loop's utilisation and, once a busy period (start-up counts as one) has been
 * followed by a quiet one, runs young-generation collections (scavenges) until the young generation has shrunk.
 * Without the flag it does nothing. The check itself costs one reading every interval.
 *
 * Why scavenges and not full collections (issue 18, round 5b): a forced full collection on a quiet server finds
 * the maps of per-call objects (HTTP parser, streams, crypto's Hash, the run's objects) dead, so V8 throws away
 * every optimised function that embedded one ("marking dependent code ... reason: weak objects"), and the next
 * calls run cold until TurboFan has compiled them again. Measured with the harness's shape (15 s quiet, 8 s of
 * c=1 echo), paired: 161-190 functions optimised again in every window and 1,709 µs of CPU a call with full
 * collections, 23-42 and 1,151-1,421 µs without. V8 shrinks the young generation after a scavenge as well as
 * after a full collection once it finds the allocation rate low, and a scavenge leaves the old generation and its
 * code alone (bench/README.md, "Round 5b: the JIT at c=1").
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
  /** Scavenges tried, one a quiet interval, until the young generation has shrunk. */
  maxCollections?: number;
  /** The collector to run (tests pass a fake); default a scavenge by `globalThis.gc` when exposed. */
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
 * Why more than one collection: V8 shrinks the young generation only in a collection that finds the allocation
 * rate low, and it measures that rate over the last few seconds. Right after a burst a collection frees the
 * garbage but keeps the grown young generation; a few quiet intervals later one shrinks it (measured: the sixth
 * scavenge at 1 s intervals, the fourth full collection at 2 s intervals, 32 → 1 MiB, about 30 MiB of RSS). So
 * while the server stays quiet this collects once an interval until the young generation has shrunk, at most
 * `maxCollections` times; a scavenge of a quiet heap is under a millisecond to a few.
 */
export function startIdleGc(options: IdleGcOptions = {}): () => void {
  const exposed = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
  const gc = options.gc ?? (typeof exposed === 'function' ? () => exposed({ type: 'minor' }) : undefined);
  if (typeof gc !== 'function') return () => {};
  const busyAbove = options.busyAbove ?? 0.2;
  const quietBelow = options.quietBelow ?? 0.02;
  const maxCollections = options.maxCollections ?? 8;
  const youngBytes = options.youngGenerationBytes ?? youngGenerationBytes;
  let last = performance.eventLoopUtilization();
  // Start-up is the first busy period: loading the modules grew the heap (the young generation to 32 MiB).
  let left = maxCollections;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (u > busyAbove) left = maxCollections;
    else if (left > 0 && u < quietBelow) {
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
