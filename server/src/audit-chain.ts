/**
 * The audit hash chain: each entry's hash covers its own stored text and the previous entry's hash, so an entry
 * altered, removed or reordered in the database breaks the chain at that point. Hashes are computed over the
 * exact stored strings (canonical JSON), never over re-serialised values.
 */
import { sha256 } from './hash.js';
import type { AuditEntry, AuditHead, AuditRow } from './repo/types.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainFields {
  seq: number;
  workspaceId: string;
  at: number;
  /** Canonical JSON of the actor. */
  actor: string;
  action: string;
  target: string;
  /** Canonical JSON of the details. */
  details: string;
}

export function chainHash(prevHash: string, f: ChainFields): string {
  return sha256([prevHash, f.seq, f.workspaceId, f.at, f.actor, f.action, f.target, f.details].join('\n'));
}

export type VerifyResult =
  | { ok: true; entries: number }
  | { ok: false; entries: number; firstBroken: { seq: number; reason: string } };

/** Walks one workspace's chain page by page; stops at the first broken link. */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private prevSeq = 0;
  private count = 0;
  private broken: { seq: number; reason: string } | undefined;

  /** Feeds the next rows in order; returns false once the chain is broken. */
  feed(rows: readonly AuditRow[]): boolean {
    for (const row of rows) {
      if (this.broken) return false;
      this.count++;
      if (row.prevHash !== this.prev) {
        this.broken = {
          seq: row.seq,
          reason:
            this.count === 1
              ? 'the first entry of the chain does not start from the genesis hash (earlier entries were removed)'
              : `the entry does not follow entry ${this.prevSeq}: an entry between them was removed, or entry ${this.prevSeq} was altered`,
        };
        return false;
      }
      if (chainHash(row.prevHash, row) !== row.hash) {
        this.broken = {
          seq: row.seq,
          reason: 'the entry was altered after it was written (its hash does not match)',
        };
        return false;
      }
      this.prev = row.hash;
      this.prevSeq = row.seq;
    }
    return true;
  }

  /** Checks the end of the chain against the recorded head (entries removed from the end). */
  finish(head: AuditHead | undefined): VerifyResult {
    if (!this.broken) {
      if (head && (head.seq !== this.prevSeq || head.hash !== this.prev || head.count !== this.count)) {
        this.broken = {
          seq: head.seq,
          reason: `the chain ends at entry ${this.prevSeq || 'none'} but the recorded head is entry ${head.seq} (${head.count} entries): entries were removed or the head was altered`,
        };
      } else if (!head && this.count > 0) {
        this.broken = {
          seq: this.prevSeq,
          reason: 'the chain has entries but no recorded head (the head was removed)',
        };
      }
    }
    return this.broken
      ? { ok: false, entries: this.count, firstBroken: this.broken }
      : { ok: true, entries: this.count };
  }
}

export function entryFromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    workspaceId: row.workspaceId,
    at: row.at,
    actor: JSON.parse(row.actor) as AuditEntry['actor'],
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
