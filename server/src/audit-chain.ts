/**
 * The audit chain, verified and checkpointed. Each entry's hash covers its own stored text and the previous
 * entry's hash, so an entry altered, removed or reordered breaks the chain at that point; each entry's MAC (an
 * HMAC of its hash under a key derived from the master key, which is never in the database) makes the chain
 * impossible to recompute for someone who can only write the database file: a rewritten entry is the first whose
 * MAC fails. A checkpoint, exported for an auditor to keep, records a chain's head at a moment and is signed with
 * another derived key; verifying against it also catches what a MAC cannot: entries removed from the end together
 * with the head rolled back, or a rewrite by someone who had the master key, after the checkpoint was taken.
 * Hashes are computed over the exact stored strings (canonical JSON), never over re-serialised values. The
 * formulas live in audit-chain-core.mjs, shared with the writer thread that chains entries as it commits them.
 */
import { createHmac } from 'node:crypto';
import type { AuditCheckpoint } from '@finflow/contract';
import {
  chainHash as coreChainHash,
  deriveAuditKey,
  deriveCheckpointKey,
  entryMac,
  GENESIS_HASH,
  headMac,
} from '../src/audit-chain-core.mjs';
import { canonicalJson } from './hash.js';
import type { AuditEntry, AuditHead, AuditRow } from './repo/types.js';
import { safeEqual } from './security/crypto.js';

export { deriveAuditKey, deriveCheckpointKey, entryMac, GENESIS_HASH, headMac };

/** The keys of the audit log, both derived from the master key. */
export interface AuditKeys {
  /** Authenticates entries and heads (the writer thread has it too). */
  entries: Buffer;
  /** Signs exported checkpoints. */
  checkpoints: Buffer;
}

export function auditKeys(masterKey: Buffer): AuditKeys {
  return { entries: deriveAuditKey(masterKey), checkpoints: deriveCheckpointKey(masterKey) };
}

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
  return coreChainHash(prevHash, f.seq, f.workspaceId, f.at, f.actor, f.action, f.target, f.details);
}

/** A chain's head at a moment, signed by the server; an auditor keeps it and verifies against it later. */
// A checkpoint's shape is the API's (contract/src/manage.ts): auditors send it back to `POST /api/audit/verify`.
export { auditCheckpointSchema as checkpointSchema, type AuditCheckpoint } from '@finflow/contract';

function checkpointSignature(key: Buffer, cp: Omit<AuditCheckpoint, 'signature'>): string {
  const { kind, version, workspaceId, seq, count, hash, createdAt } = cp;
  return createHmac('sha256', key)
    .update(canonicalJson({ kind, version, workspaceId, seq, count, hash, createdAt }))
    .digest('hex');
}

export function signCheckpoint(
  key: Buffer,
  head: { workspaceId: string; seq: number; count: number; hash: string },
  createdAt = Date.now(),
): AuditCheckpoint {
  const body = {
    kind: 'finflow.audit-checkpoint' as const,
    version: 1 as const,
    workspaceId: head.workspaceId,
    seq: head.seq,
    count: head.count,
    hash: head.hash,
    createdAt,
  };
  return { ...body, signature: checkpointSignature(key, body) };
}

/** Whether a checkpoint was signed by this server's key and not altered since. */
export function checkpointGenuine(key: Buffer, cp: AuditCheckpoint): boolean {
  return safeEqual(cp.signature, checkpointSignature(key, cp));
}

export type VerifyResult =
  | { ok: true; entries: number; checkpoint?: { seq: number; count: number } }
  | { ok: false; entries: number; firstBroken: { seq: number; reason: string } };

/**
 * Walks one workspace's chain page by page; stops at the first broken link. With a checkpoint (already checked
 * genuine), the chain must still hold the checkpoint's entry, with the same hash, after the same count.
 */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private prevSeq = 0;
  private count = 0;
  private broken: { seq: number; reason: string } | undefined;
  private checkpointSeen: boolean;

  constructor(
    private readonly key: Buffer,
    private readonly checkpoint?: AuditCheckpoint,
  ) {
    this.checkpointSeen = !checkpoint || checkpoint.count === 0;
  }

  private fail(seq: number, reason: string): false {
    this.broken = { seq, reason };
    return false;
  }

  /** Feeds the next rows in order; returns false once the chain is broken. */
  feed(rows: readonly AuditRow[]): boolean {
    for (const row of rows) {
      if (this.broken) return false;
      const cp = this.checkpoint;
      if (cp && !this.checkpointSeen && row.seq > cp.seq) {
        return this.fail(
          row.seq,
          `the kept checkpoint holds entry ${cp.seq}, which is no longer in the chain: entries were removed`,
        );
      }
      this.count++;
      if (row.prevHash !== this.prev) {
        return this.fail(
          row.seq,
          this.count === 1
            ? 'the first entry of the chain does not start from the genesis hash (earlier entries were removed)'
            : `the entry does not follow entry ${this.prevSeq}: an entry between them was removed, or entry ${this.prevSeq} was altered`,
        );
      }
      if (chainHash(row.prevHash, row) !== row.hash)
        return this.fail(row.seq, 'the entry was altered after it was written (its hash does not match)');
      if (row.mac === null || !safeEqual(row.mac, entryMac(this.key, row.hash))) {
        return this.fail(
          row.seq,
          'the entry was forged: its hash was recomputed, but it does not carry the MAC that only the server can make',
        );
      }
      if (cp && row.seq === cp.seq) {
        this.checkpointSeen = true;
        if (row.hash !== cp.hash || this.count !== cp.count) {
          return this.fail(
            row.seq,
            'the chain up to this entry differs from the kept checkpoint: it was rewritten, with the master key, after the checkpoint was taken',
          );
        }
      }
      this.prev = row.hash;
      this.prevSeq = row.seq;
    }
    return true;
  }

  /** Checks the end of the chain against the recorded head (entries removed from the end) and the checkpoint. */
  finish(head: AuditHead | undefined, workspaceId: string): VerifyResult {
    if (!this.broken) {
      const cp = this.checkpoint;
      if (head && (head.seq !== this.prevSeq || head.hash !== this.prev || head.count !== this.count)) {
        this.fail(
          head.seq,
          `the chain ends at entry ${this.prevSeq || 'none'} but the recorded head is entry ${head.seq} (${head.count} entries): entries were removed or the head was altered`,
        );
      } else if (!head && this.count > 0) {
        this.fail(this.prevSeq, 'the chain has entries but no recorded head (the head was removed)');
      } else if (
        head &&
        (head.mac === null ||
          !safeEqual(head.mac, headMac(this.key, workspaceId, head.seq, head.hash, head.count)))
      ) {
        this.fail(head.seq, 'the recorded head was forged (its MAC does not match)');
      } else if (cp && !this.checkpointSeen) {
        this.fail(
          cp.seq,
          `the chain ends at entry ${this.prevSeq || 'none'} (${this.count} entries) but the kept checkpoint holds entry ${cp.seq} (${cp.count} entries): entries were removed from the end and the head rolled back`,
        );
      }
    }
    if (this.broken) return { ok: false, entries: this.count, firstBroken: this.broken };
    const cp = this.checkpoint;
    return cp
      ? { ok: true, entries: this.count, checkpoint: { seq: cp.seq, count: cp.count } }
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
