/**
 * Chooses the repository for a configuration: embedded SQLite in the data folder (the default), or Postgres when
 * DATABASE_URL is a `postgres://` (or `postgresql://`) URL, for several servers on one database.
 */
import type { ServerConfig } from '../config.js';
import { PostgresRepository } from './postgres.js';
import { SqliteRepository } from './sqlite.js';
import type { Repository } from './types.js';

/** In durability normal the WAL is fsynced this long after a commit (one fsync covers the commits meanwhile). */
export const NORMAL_SYNC_DELAY_MS = 10;

export const isPostgresUrl = (url: string | undefined): url is string =>
  url !== undefined && /^postgres(ql)?:\/\//i.test(url);

export function openRepository(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'> & Partial<Pick<ServerConfig, 'durability'>>,
): Repository {
  if (config.databaseUrl !== undefined) {
    if (!isPostgresUrl(config.databaseUrl)) {
      // Never fall back to SQLite silently: a cluster configured for a shared database must not split its data.
      throw new Error(
        'DATABASE_URL must be a postgres:// or postgresql:// URL (unset it to use SQLite in FINFLOW_DATA_DIR)',
      );
    }
    return new PostgresRepository({ connectionString: config.databaseUrl });
  }
  return SqliteRepository.open(config.dataDir, {
    walSyncDelayMs: config.durability === 'normal' ? NORMAL_SYNC_DELAY_MS : 0,
  });
}
