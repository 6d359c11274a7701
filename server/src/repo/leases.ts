/**
 * Run leases for queue mode: which worker executes a run, until when. Kept apart from `Repository` so a
 * repository gains queue mode by implementing this too (`leasesOf` says clearly when one does not).
 *
 * A lease is a row-level claim with an expiry: a worker takes a queued run (or a run whose lease expired: its
 * worker is gone), renews the lease while the run executes, and releases it when the execution ends. Recovery
 * touches only runs whose lease expired, never a live run of another worker.
 */
import type { Repository, RunRecord } from './types.js';

export interface RunLeases {
  /**
   * Takes a run for `owner` until `now + leaseMs`: a queued run nobody holds, a run claimed to resume after a
   * review (running with a resume claim) that no worker holds yet, or a queued or running run whose lease
   * expired. Undefined when another worker holds it or it is no longer queued or running.
   */
  claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<RunRecord | undefined>;
  /** Extends the lease; false when `owner` no longer holds it (it expired and another worker took the run). */
  renewLease(runId: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
  /** Gives the lease up (the execution ended: finished, or waiting for a review). */
  releaseLease(runId: string, owner: string): Promise<void>;
  /**
   * Runs to hand to the queue again: queued before `queuedBefore` and held by nobody (their job may have been lost
   * with Redis), runs claimed to resume after a review that no worker holds, and queued or running runs whose
   * lease expired before `now`.
   */
  orphanedRuns(now: number, queuedBefore: number, limit: number): Promise<string[]>;
  /**
   * Ends a queued run as `cancelled` before any worker executes it: only while it is queued and no worker holds a
   * live lease on it (one conditional update, so a cancel and a claim racing for the run cannot both win). False
   * when a worker got it first (cancel it on that worker then) or it is no longer queued.
   */
  cancelQueued(runId: string, now: number): Promise<boolean>;
}

export function hasLeases(repo: Repository): repo is Repository & RunLeases {
  return typeof (repo as Partial<RunLeases>).claimRun === 'function';
}

export function leasesOf(repo: Repository): RunLeases {
  if (!hasLeases(repo))
    throw new Error(`the ${repo.kind} repository does not implement run leases, which queue mode needs`);
  return repo;
}
