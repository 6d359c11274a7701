/**
 * Checks shared by the training and scoring nodes on table inputs: non-empty, columns present, a binary
 * target with both classes. Errors name the column and row so a user can fix the data.
 */
import { NodeError } from '@finflow/sdk';
import { categoryOf, isMissing, type Row } from './encoding.js';

export function requireRows(rows: readonly Row[], what = 'table'): void {
  if (!rows.length) throw new NodeError(`the ${what} has no rows`, 'EMPTY_TABLE');
}

/** Column names in order of first appearance across the rows. */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

export function requireColumns(rows: readonly Row[], columns: readonly string[], role: string): void {
  const present = new Set(columnsOf(rows));
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length) {
    const known = [...present].slice(0, 12).join(', ');
    throw new NodeError(
      `${role} ${missing.map((c) => `"${c}"`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the table (its columns: ${known}${present.size > 12 ? ', ...' : ''})`,
      'COLUMN_NOT_FOUND',
      { details: { missing } },
    );
  }
}

/**
 * 0/1 labels (1 = the positive class) from the target column. Every row needs a target; both classes must occur.
 */
export function binaryLabels(rows: readonly Row[], target: string, positiveClass: string): Uint8Array {
  const y = new Uint8Array(rows.length);
  let positives = 0;
  const others = new Map<string, number>();
  rows.forEach((row, i) => {
    const v = row[target];
    if (isMissing(v))
      throw new NodeError(`row ${i + 1} has no value in the target column "${target}"`, 'MISSING_TARGET');
    const level = categoryOf(v, target, i);
    if (level === positiveClass) {
      y[i] = 1;
      positives++;
    } else others.set(level, (others.get(level) ?? 0) + 1);
  });
  if (positives === 0 || positives === rows.length) {
    const seen = positives
      ? `every row has "${positiveClass}"`
      : `the positive class "${positiveClass}" never occurs (values seen: ${[...others.keys()].slice(0, 8).join(', ')})`;
    throw new NodeError(
      `the target column "${target}" needs both outcomes to learn from: ${seen}`,
      'SINGLE_CLASS_TARGET',
    );
  }
  return y;
}
