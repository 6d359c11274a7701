// The one implementation of the audit chain's hashes, shared by the writer thread (db/writer-worker.mjs, which
// chains entries as it commits them) and the main thread (audit-chain.ts, which verifies and exports
// checkpoints). Plain JavaScript, so the worker runs it as-is from src/; typed by audit-chain-core.d.mts.
//
// Each entry has two values: `hash`, a SHA-256 over its stored fields and the previous entry's hash (the chain:
// an entry altered, removed or reordered breaks it), and `mac`, an HMAC-SHA-256 of that hash under the audit key.
// The audit key is derived from the master key, which is never in the database, so someone who can write the
// database file can recompute every SHA-256 but not one MAC: a rewritten entry is the first whose MAC fails.
import { createHash, createHmac, hkdfSync } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** The key that authenticates audit entries, derived from the master key (HKDF-SHA-256). */
export function deriveAuditKey(masterKey) {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'finflow audit chain v1', 32));
}

/** The key that signs exported checkpoints, derived apart from the entries' key. */
export function deriveCheckpointKey(masterKey) {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'finflow audit checkpoint v1', 32));
}

/** An entry's chain hash over its stored text (actor and details as canonical JSON). */
export function chainHash(prevHash, seq, workspaceId, at, actor, action, target, details) {
  return createHash('sha256')
    .update([prevHash, seq, workspaceId, at, actor, action, target, details].join('\n'))
    .digest('hex');
}

/** An entry's MAC: its hash (which covers its fields and every entry before it), authenticated (key: bytes or a KeyObject). */
export function entryMac(key, hash) {
  return createHmac('sha256', key).update('finflow.audit.entry\n').update(hash).digest('hex');
}

/** The MAC of a chain's recorded head (its last entry and count). */
export function headMac(key, workspaceId, seq, hash, count) {
  return createHmac('sha256', key)
    .update(['finflow.audit.head', workspaceId, seq, hash, count].join('\n'))
    .digest('hex');
}
