/** Chooses the repository for a configuration: SQLite in the data folder (Postgres is not in this build). */
import type { ServerConfig } from '../config.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

/** In durability normal the WAL is fsynced this long after a commit (one fsync covers the commits meanwhile). */
export const NORMAL_SYNC_DELAY_MS = 10;

export function openRepository(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<ServerConfig, 'durability'>>,
): Repository {
  if (config.databaseUrl && /^postgres(ql)?:/i.test(config.databaseUrl)) {
    throw new Error(
      'DATABASE_URL points at Postgres, but this build ships the SQLite repository only; unset DATABASE_URL to use SQLite in FINFLOW_DATA_DIR',
    );
  }
  return SqliteRepository.open(config.dataDir, {
    walSyncDelayMs: config.durability === 'normal' ? NORMAL_SYNC_DELAY_MS : 0,
  });
}
