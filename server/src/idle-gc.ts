/**
 * Gives memory back after load (issue 18: RSS after load back near idle). V8 collects its old generation when it
 * needs room, not when the process goes quiet, so a server that served a burst keeps its heap grown, full of
 * garbage, until the next burst. When the process was started with `--expose-gc` (`npm start` passes it), this
 * watches the event loop's utilisation and, once a busy period has been followed by a quiet one, runs one full
 * collection. Without the flag it does nothing. The check itself costs one reading every interval.
 */
import { performance } from 'node:perf_hooks';

export interface IdleGcOptions {
  /** How often the event loop's utilisation is read (ms). */
  intervalMs?: number;
  /** Utilisation above which an interval counts as busy. */
  busyAbove?: number;
  /** Utilisation below which an interval counts as quiet. */
  quietBelow?: number;
  /** The collector to run (tests pass a fake); default `globalThis.gc` when exposed. */
  gc?: () => void;
  onCollect?: (ms: number) => void;
}

/** Starts the watch; the returned function stops it. */
export function startIdleGc(options: IdleGcOptions = {}): () => void {
  const gc = options.gc ?? (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => {};
  const busyAbove = options.busyAbove ?? 0.2;
  const quietBelow = options.quietBelow ?? 0.02;
  let last = performance.eventLoopUtilization();
  let busySince = false;
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (u > busyAbove) busySince = true;
    else if (busySince && u < quietBelow) {
      busySince = false;
      const t0 = performance.now();
      gc();
      options.onCollect?.(performance.now() - t0);
    }
  }, options.intervalMs ?? 2_000);
  timer.unref();
  return () => clearInterval(timer);
}
