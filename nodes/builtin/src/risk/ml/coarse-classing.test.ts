import { describe, expect, it } from 'vitest';
import { classingSpecSchema, fitClasses, rangeLabel } from './coarse-classing.js';
import { classIndex, type Row } from './encoding.js';

/** Rows of one column with the given number of (goods, bads) per value. */
function table(column: string, counts: Record<string, [number, number]>): { rows: Row[]; y: Uint8Array } {
  const rows: Row[] = [];
  const y: number[] = [];
  for (const [value, [goods, bads]] of Object.entries(counts)) {
    const v = /^\d+$/.test(value) ? Number(value) : value;
    for (let i = 0; i < goods + bads; i++) {
      rows.push({ [column]: v });
      y.push(i < goods ? 0 : 1);
    }
  }
  return { rows, y: Uint8Array.from(y) };
}

const spec = (s: unknown) => classingSpecSchema.parse(s);

describe('coarse classing', () => {
  it('pools adjacent classes whose bad rates run against the reviewed trend, and keeps groups apart', () => {
    // Expected: risk falls from a to d. The data has b worse than a: a and b pool; "none" stays apart.
    const { rows, y } = table('x', {
      a: [50, 50],
      b: [40, 60],
      c: [70, 30],
      d: [90, 10],
      none: [95, 5],
    });
    const { encoder, notes } = fitClasses(
      rows,
      y,
      'x',
      spec({ groups: [['a'], ['b'], ['c'], ['d']], apart: [['none']], trend: 'decreasing' }),
    );
    expect(encoder?.classes.map((c) => [c.levels, c.rows, c.bads, c.apart ?? false])).toEqual([
      [['a', 'b'], 200, 110, false],
      [['c'], 100, 30, false],
      [['d'], 100, 10, false],
      [['none'], 100, 5, true],
    ]);
    // Weights of evidence fall with the risk; the riskier than average class is positive.
    const woe = encoder?.classes.map((c) => c.woe) ?? [];
    expect(woe[0]).toBeGreaterThan(0);
    expect(woe[0]).toBeGreaterThan(woe[1] as number);
    expect(woe[1]).toBeGreaterThan(woe[2] as number);
    expect(notes).toEqual([
      "x: 4 classes pooled into 3, where the data's bad rates run against the reviewed decreasing trend",
    ]);
    expect(encoder && classIndex(encoder, 'b', 0)).toBe(0);
    expect(encoder && classIndex(encoder, 'unseen', 0)).toBe(-1);
  });

  it('leaves out a characteristic whose data contradicts the reviewed trend throughout', () => {
    // As German Credit's credit history against its documented categories: the "best" history has the most bads.
    const { rows, y } = table('history', { critical: [83, 17], delays: [68, 32], duly: [43, 57] });
    const { encoder, notes } = fitClasses(
      rows,
      y,
      'history',
      spec({ groups: [['critical'], ['delays'], ['duly']], trend: 'decreasing' }),
    );
    expect(encoder).toBeUndefined();
    expect(notes.at(-1)).toMatch(
      /^history: left out; its bad rates run against the reviewed trend throughout/,
    );
  });

  it('classes numbers by ranges and names them in English and Chinese', () => {
    const { rows, y } = table('months', { '6': [90, 10], '18': [70, 30], '30': [60, 40], '60': [40, 60] });
    const { encoder } = fitClasses(rows, y, 'months', spec({ cuts: [12, 24, 48], trend: 'increasing' }));
    if (!encoder) throw new Error('no encoder');
    expect(encoder.classes.map((c) => rangeLabel(encoder, c, 'en'))).toEqual([
      'below 12',
      '12 to 23',
      '24 to 47',
      '48 or more',
    ]);
    expect(encoder.classes.map((c) => rangeLabel(encoder, c, 'zh'))).toEqual([
      '低于 12',
      '12 至 23',
      '24 至 47',
      '48 及以上',
    ]);
    expect(classIndex(encoder, 47, 0)).toBe(2);
    expect(classIndex(encoder, 48, 0)).toBe(3);
    // A range without training rows joins its neighbour, so every number keeps a class.
    const sparse = fitClasses(
      rows,
      y,
      'months',
      spec({ cuts: [12, 20, 24, 48], trend: 'increasing' }),
    ).encoder;
    // (No training value lies in 20 to 23: that range joins 24 to 47.)
    expect(sparse?.classes.map((c) => [c.from, c.to])).toEqual([
      [undefined, 12],
      [12, 20],
      [20, 48],
      [48, undefined],
    ]);
  });

  it('refuses a category in no group, a category in two, and falling cuts', () => {
    const { rows, y } = table('x', { a: [5, 5], b: [5, 5] });
    expect(() => fitClasses(rows, y, 'x', spec({ groups: [['a']], trend: 'none' }))).toThrow(
      /"b" \(row 11\) is in no group/,
    );
    expect(() => fitClasses(rows, y, 'x', spec({ groups: [['a'], ['a', 'b']], trend: 'none' }))).toThrow(
      /"a" is in two groups/,
    );
    const n = table('n', { '1': [5, 5] });
    expect(() => fitClasses(n.rows, n.y, 'n', spec({ cuts: [5, 3], trend: 'none' }))).toThrow(
      /the cuts must rise/,
    );
    expect(() => spec({ groups: [], trend: 'none' })).toThrow();
    expect(() => spec({ cuts: [1], trend: 'up' })).toThrow();
  });
});
