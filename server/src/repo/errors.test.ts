import { describe, expect, it } from 'vitest';
import type { StorageConflict } from './errors.js';
import { isUniqueViolation, storageError, StorageUnavailable } from './errors.js';

/** An error shaped as node-postgres reports one from the server (a DatabaseError has `severity` and `code`). */
const pgError = (code: string, message: string) =>
  Object.assign(new Error(message), { severity: 'ERROR', code, constraint: 'endpoints_slug_key' });

describe('storage errors', () => {
  it('types duplicate keys by code, from Postgres and SQLite alike', () => {
    const pg = storageError(pgError('23505', 'duplicate key value violates unique constraint'));
    expect(isUniqueViolation(pg)).toBe(true);
    expect((pg as StorageConflict).constraint).toBe('endpoints_slug_key');
    const sqlite = storageError(
      Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }),
    );
    expect(isUniqueViolation(sqlite)).toBe(true);
  });

  it('never goes by the message: a text that mentions a constraint is not a conflict', () => {
    const err = new Error('UNIQUE constraint failed: endpoints.slug (PRIMARY KEY)');
    expect(storageError(err)).toBe(err);
    const check = pgError('23514', 'new row violates check constraint, unique in its way');
    expect(storageError(check)).toBe(check);
  });

  it('tells a database that is away from a statement that failed', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', '53300'])
      expect(storageError(pgError(code, 'x'))).toBeInstanceOf(StorageUnavailable);
    expect(storageError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(
      StorageUnavailable,
    );
    // A syntax error is the statement's fault, not the server's absence.
    const syntax = pgError('42601', 'syntax error');
    expect(storageError(syntax)).toBe(syntax);
  });
});
