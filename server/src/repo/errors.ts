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

/**
 * The database cannot be reached or is shutting down (Postgres stopped or restarting, the network away): the
 * request fails at once with 503 and may be retried; nothing was half-written (transactions roll back).
 */
export class StorageUnavailable extends Error {
  override readonly name = 'StorageUnavailable';
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(message: string) {
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

/**
 * Postgres SQLSTATEs that mean the server is away rather than the statement wrong: class 08 (connection exception),
 * 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many connections).
 */
const pgUnavailable = /^(08...|57P0[123]|53300)$/;
/** Node's socket errors when a database server cannot be reached. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The typed error for an engine error that carries a duplicate-key or unavailability code; anything else unchanged. */
export function storageError(err: unknown): unknown {
  if (
    err instanceof StorageConflict ||
    err instanceof StorageUnavailable ||
    typeof err !== 'object' ||
    err === null
  )
    return err;
  const { code, message, constraint } = err as { code?: unknown; message?: unknown; constraint?: unknown };
  if (code === 'REVIEW_CONFLICT') return new StorageConflict('REVIEW_CONFLICT', String(message));
  if (typeof code === 'string' && (networkCodes.has(code) || ('severity' in err && pgUnavailable.test(code))))
    return new StorageUnavailable(`the database is unavailable (${code})`);
  if ((typeof code === 'string' && sqliteUniqueCodes.has(code)) || code === PG_UNIQUE_VIOLATION) {
    return new StorageConflict(
      'UNIQUE_VIOLATION',
      String(message),
      typeof constraint === 'string' ? constraint : undefined,
    );
  }
  return err;
}
