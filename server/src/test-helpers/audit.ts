/** Test helpers for the audit log: what an attacker with write access to the database file can do. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { chainHash, entryMac, GENESIS_HASH, headMac } from '../audit-chain.js';
import { DATABASE_FILE } from '../repo/sqlite.js';

interface Row {
  seq: number;
  workspace_id: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/**
 * What someone with write access to the database file (and not the master key) can do at best: change one entry,
 * recompute every SHA-256 after it, and set the recorded head to match. With `key`, the MACs too (someone who
 * also stole the master key).
 */
export function rewriteChain(
  dataDir: string,
  seq: number,
  edit: (details: string) => string,
  key?: Buffer,
): void {
  const db = new Database(join(dataDir, DATABASE_FILE));
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
    const workspaceId = db
      .prepare('SELECT workspace_id FROM audit_log WHERE seq = ?')
      .pluck()
      .get(seq) as string;
    const rows = db
      .prepare('SELECT * FROM audit_log WHERE workspace_id = ? ORDER BY seq')
      .all(workspaceId) as Row[];
    let prev = GENESIS_HASH;
    let count = 0;
    const update = db.prepare(
      'UPDATE audit_log SET details = ?, prev_hash = ?, hash = ?, mac = coalesce(?, mac) WHERE seq = ?',
    );
    for (const r of rows) {
      count++;
      const details = r.seq === seq ? edit(r.details) : r.details;
      const hash = chainHash(prev, {
        seq: r.seq,
        workspaceId: r.workspace_id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        details,
      });
      update.run(details, prev, hash, key ? entryMac(key, hash) : null, r.seq);
      prev = hash;
    }
    const last = rows[rows.length - 1] as Row;
    db.prepare(
      'UPDATE audit_heads SET seq = ?, hash = ?, count = ?, mac = coalesce(?, mac) WHERE workspace_id = ?',
    ).run(last.seq, prev, count, key ? headMac(key, workspaceId, last.seq, prev, count) : null, workspaceId);
  } finally {
    db.close();
  }
}

/** Someone's version of an entry's details. */
export const forge = (details: string) =>
  details.replace(/^\{/, details === '{}' ? '{"forged":true' : '{"forged":true,');
