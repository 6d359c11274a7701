/**
 * CPU per call, for the rollout's cpuMsPerCall gate. Node gives CPU time per process, not per async task, and the
 * calls of a server interleave on one thread, so each call is charged a fair share: the CPU the process used
 * between two events (a call starting or ending) is split evenly among the calls in flight in that interval. The
 * shares of all calls add up to the CPU the process used while any was in flight, and a call that runs alone is
 * charged exactly its own CPU. Work outside the tracked calls in the same interval (other flows, the HTTP layer)
 * is charged to them too, alike for champion and challenger, so the gate compares like with like.
 *
 * O(1) per event: a running sum of CPU per in-flight call (`perCall`), read at a call's start and at its end.
 */

export interface CpuTicket {
  /** `perCall` when the call started. */
  readonly mark: number;
  readonly startedAt: number;
  open: boolean;
}

/** A call left open this long (its answer never reached `end`) no longer counts as in flight. */
const STALE_MS = 10 * 60_000;

export class CpuLedger {
  private perCall = 0;
  private lastCpu: number;
  private readonly open = new Set<CpuTicket>();

  constructor(private readonly cpuMicros: () => number = defaultCpuMicros) {
    this.lastCpu = cpuMicros();
  }

  private settle(): void {
    const now = this.cpuMicros();
    if (this.open.size) this.perCall += (now - this.lastCpu) / 1000 / this.open.size;
    this.lastCpu = now;
  }

  begin(now = Date.now()): CpuTicket {
    this.settle();
    const t: CpuTicket = { mark: this.perCall, startedAt: now, open: true };
    this.open.add(t);
    return t;
  }

  /** The CPU ms charged to the call; 0 for a ticket already ended. */
  end(t: CpuTicket): number {
    if (!t.open) return 0;
    this.settle();
    t.open = false;
    this.open.delete(t);
    return Math.max(0, this.perCall - t.mark);
  }

  /** Forgets calls that never ended (their request failed before the run), so they stop diluting the rest. */
  sweep(now = Date.now()): void {
    for (const t of this.open) {
      if (now - t.startedAt > STALE_MS) {
        this.settle();
        t.open = false;
        this.open.delete(t);
      }
    }
  }

  get inFlight(): number {
    return this.open.size;
  }
}

function defaultCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
