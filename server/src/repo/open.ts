/**
 * Opens the storage of a data directory: the master key first (the audit log is authenticated with a key derived
 * from it, and an upgrade may need it), then the repository (SQLite in the data folder; Postgres is not in this
 * build), checked against the key the directory was created with, then migrated. The server and the CLI
 * commands that write (`finflow admin`, `finflow audit`) open it the same way.
 */
import { auditKeys, type AuditKeys } from '../audit-chain.js';
import type { ServerConfig } from '../config.js';
import { keyFingerprint, loadMasterKey, type LoadedKey } from '../security/crypto.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

/** In durability normal the WAL is fsynced this long after a commit (one fsync covers the commits meanwhile). */
export const NORMAL_SYNC_DELAY_MS = 10;

export function openRepository(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<ServerConfig, 'durability'>>,
  /** Authenticates audit entries (derived from the master key); without it the audit log cannot be written. */
  auditKey?: Buffer,
): Repository {
  if (config.databaseUrl && /^postgres(ql)?:/i.test(config.databaseUrl)) {
    throw new Error(
      'DATABASE_URL points at Postgres, but this build ships the SQLite repository only; unset DATABASE_URL to use SQLite in FINFLOW_DATA_DIR',
    );
  }
  return SqliteRepository.open(config.dataDir, {
    walSyncDelayMs: config.durability === 'normal' ? NORMAL_SYNC_DELAY_MS : 0,
    ...(auditKey ? { auditKey } : {}),
  });
}

const FINGERPRINT = 'master_key_fingerprint';

export interface Storage {
  repo: Repository;
  masterKey: LoadedKey;
  auditKeys: AuditKeys;
  /** Migration versions applied now. */
  applied: number[];
}

/** The master key, the repository keyed with it, checked and migrated; the repository is closed on failure. */
export async function openStorage(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir' | 'secretKey' | 'secretKeyFile' | 'durability'>,
): Promise<Storage> {
  const masterKey = loadMasterKey({ secretKey: config.secretKey, keyFile: config.secretKeyFile });
  const keys = auditKeys(masterKey.key);
  const repo = openRepository(config, keys.entries);
  try {
    const fingerprint = keyFingerprint(masterKey.key);
    // Checked before migrating: an upgrade that authenticates the audit log must not do it with the wrong key.
    let recorded: string | undefined;
    try {
      recorded = await repo.getSetting(FINGERPRINT);
    } catch {
      recorded = undefined; // a new database: no settings table yet
    }
    if (recorded !== undefined && recorded !== fingerprint) {
      throw new Error(
        'the master key (FINFLOW_SECRET_KEY or the key file) is not the one this data directory was created with; credentials and run inputs could not be decrypted',
      );
    }
    const applied = await repo.migrate();
    if (recorded === undefined) await repo.setSetting(FINGERPRINT, fingerprint);
    return { repo, masterKey, auditKeys: keys, applied };
  } catch (err) {
    await repo.close();
    throw err;
  }
}
