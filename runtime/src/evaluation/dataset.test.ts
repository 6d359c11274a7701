// Datasets as users give them (German Credit as CSV, JSON Lines) and as attackers might: too big, too many rows or
// columns, too deep, malformed, a header aiming at a prototype.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DatasetError, datasetLimits, formatOfName, parseDataset } from './dataset.js';

const root = new URL('../../../', import.meta.url);

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof DatasetError) return err.code;
    throw err;
  }
  return undefined;
}

describe('parseDataset', () => {
  it('reads German Credit as CSV, row for row equal to the UCI file', () => {
    const rows = parseDataset(
      readFileSync(new URL('datasets/german-credit/german-credit.csv', root), 'utf8'),
      'csv',
    );
    const uci = readFileSync(new URL('datasets/german-credit/german.data', root), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.trim().split(/\s+/));
    expect(rows).toHaveLength(1000);
    expect(rows.filter((r) => r['class'] === 2)).toHaveLength(300);
    rows.forEach((r, i) => expect(Object.values(r).map(String)).toEqual(uci[i]));
    expect(rows[0]).toMatchObject({
      checking_status: 'A11',
      duration: 6,
      credit_amount: 1169,
      age: 67,
      class: 1,
    });
  });

  it('reads quoted fields with separators, quotes and line breaks, CRLF, a BOM and semicolons', () => {
    const rows = parseDataset('\ufeffid;text;n\r\n1;"a; ""b""\nc";2.5\r\n2;plain;\r\n', 'csv');
    expect(rows).toEqual([
      { id: 1, text: 'a; "b"\nc', n: 2.5 },
      { id: 2, text: 'plain', n: '' },
    ]);
    // A quoted number stays text: the user said so.
    expect(parseDataset('a,b\n"007",7\n', 'csv')).toEqual([{ a: '007', b: 7 }]);
    expect(formatOfName('x.JSONL')).toBe('jsonl');
    expect(formatOfName('x.csv')).toBe('csv');
  });

  it('reads JSON Lines, skipping blank lines', () => {
    expect(parseDataset('{"q":"你好","a":{"x":1}}\n\n{"q":"b"}\n', 'jsonl')).toEqual([
      { q: '你好', a: { x: 1 } },
      { q: 'b' },
    ]);
  });

  it('refuses what is too big, too long, too wide, too deep or malformed, with the line', () => {
    const small = {
      ...datasetLimits,
      maxChars: 100,
      maxRows: 3,
      maxColumns: 3,
      maxFieldChars: 20,
      maxDepth: 4,
    };
    expect(code(() => parseDataset('x'.repeat(101), 'csv', small))).toBe('TOO_LARGE');
    expect(code(() => parseDataset('a\n1\n2\n3\n4\n', 'csv', small))).toBe('TOO_MANY_ROWS');
    expect(code(() => parseDataset('{"a":1}\n'.repeat(4), 'jsonl', small))).toBe('TOO_MANY_ROWS');
    expect(code(() => parseDataset('a,b,c,d\n1,2,3,4\n', 'csv', small))).toBe('TOO_MANY_COLUMNS');
    expect(code(() => parseDataset(`a\n"${'x'.repeat(30)}"\n`, 'csv', small))).toBe('FIELD_TOO_LONG');
    expect(code(() => parseDataset('{"a":[[[[[1]]]]]}\n', 'jsonl', small))).toBe('TOO_DEEP');
    // Nesting far beyond the parser's stack is refused, not a crash.
    expect(
      code(() => parseDataset(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, 'jsonl', datasetLimits)),
    ).toBeDefined();
    expect(code(() => parseDataset('a,b\n1\n', 'csv'))).toBe('MALFORMED');
    expect(code(() => parseDataset('a,b\n"1,2\n', 'csv'))).toBe('MALFORMED');
    expect(code(() => parseDataset('{"a":1}\n[1,2]\n', 'jsonl'))).toBe('MALFORMED');
    expect(code(() => parseDataset('{"a":\n', 'jsonl'))).toBe('MALFORMED');
    expect(code(() => parseDataset('', 'csv'))).toBe('EMPTY');
    expect(code(() => parseDataset('a,a\n1,2\n', 'csv'))).toBe('MALFORMED');
    expect(code(() => parseDataset('__proto__,b\n1,2\n', 'csv'))).toBe('MALFORMED');
    expect(() => parseDataset('a,b\n1,2\n3\n', 'csv')).toThrow('line 3: 1 fields where the header has 2');
  });
});
