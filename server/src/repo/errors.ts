/**
 * Errors a repository raises in its own terms, whatever the database underneath: a write that would duplicate a
 * key (a flow version saved twice at once, a slug taken) and a conditional write whose condition was gone (a
 * review task someone else decided). Each implementation maps its engine's error codes to these (SQLite's
 * extended result codes, Postgres's SQLSTATE), so services never match error text.
 */

export type StorageConflictCode = 'UNIQUE_VIOLATION' | 'REVIEW_CONFLICT';

export class StorageConflict extends Error {
  override readonly name = 'StorageConflict';
  constructor(
    readonly code: StorageConflictCode,
    message: string,
    /** The index or constraint that refused the write, when the engine names it. */
    readonly constraint?: string,
  ) {
    super(message);
  }
}

/** True when a write failed because a row with the same key exists. */
export function isUniqueViolation(err: unknown): err is StorageConflict {
  return err instanceof StorageConflict && err.code === 'UNIQUE_VIOLATION';
}

/** SQLite's extended result codes for a key that already exists (better-sqlite3 puts them in `code`). */
const sqliteUniqueCodes = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/** Postgres SQLSTATE 23505, unique_violation. */
export const PG_UNIQUE_VIOLATION = '23505';

/** The typed error for an engine error that carries a duplicate-key code; anything else unchanged. */
export function storageError(err: unknown): unknown {
  if (err instanceof StorageConflict || typeof err !== 'object' || err === null) return err;
  const { code, message, constraint } = err as { code?: unknown; message?: unknown; constraint?: unknown };
  if (code === 'REVIEW_CONFLICT') return new StorageConflict('REVIEW_CONFLICT', String(message));
  if ((typeof code === 'string' && sqliteUniqueCodes.has(code)) || code === PG_UNIQUE_VIOLATION) {
    return new StorageConflict(
      'UNIQUE_VIOLATION',
      String(message),
      typeof constraint === 'string' ? constraint : undefined,
    );
  }
  return err;
}
