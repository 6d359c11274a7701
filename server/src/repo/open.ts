/**
 * Opens the storage of a data directory: the master key first (the audit log is authenticated with a key derived
 * from it, and an upgrade may need it), then the repository (embedded SQLite in the data folder by default, or
 * Postgres when DATABASE_URL is a `postgres://` URL, for several servers on one database), checked against the key
 * the storage was created with, then migrated. The server and the CLI commands that write (`finflow admin`,
 * `finflow audit`) open it the same way.
 */
import { auditKeys, type AuditKeys } from '../audit-chain.js';
import type { ServerConfig } from '../config.js';
import { keyFingerprint, loadMasterKey, type LoadedKey } from '../security/crypto.js';
import { PostgresRepository } from './postgres.js';
import { RolloutStore, type RolloutStorage } from './rollout-store.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

/** In durability normal the WAL is fsynced this long after a commit (one fsync covers the commits meanwhile). */
export const NORMAL_SYNC_DELAY_MS = 10;

/** Where rollouts are kept: in the repository's own database (servers and queue-mode workers alike). */
export function rolloutStorageOf(repo: Repository): RolloutStorage {
  if (repo instanceof SqliteRepository) return new RolloutStore(repo.db);
  if (repo instanceof PostgresRepository) return repo.rolloutStorage();
  throw new Error(`the ${repo.kind} repository keeps no rollouts`);
}

export const isPostgresUrl = (url: string | undefined): url is string =>
  url !== undefined && /^postgres(ql)?:\/\//i.test(url);

export function openRepository(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<ServerConfig, 'durability'>>,
  /** Authenticates audit entries (derived from the master key); without it the audit log cannot be written. */
  auditKey?: Buffer,
): Repository {
  if (config.databaseUrl !== undefined) {
    if (!isPostgresUrl(config.databaseUrl)) {
      // Never fall back to SQLite silently: a cluster configured for a shared database must not split its data.
      throw new Error(
        'DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use SQLite in FINFLOW_DATA_DIR)',
      );
    }
    return new PostgresRepository({
      connectionString: config.databaseUrl,
      ...(auditKey ? { auditKey } : {}),
    });
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
