import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { mergeObjects } from './fast-object.js';
import { toPlainValue, ValueRefused } from './plain-value.js';

describe('toPlainValue', () => {
  it('hands on a result that is already plain JSON as it is, without a copy', () => {
    const value = { id: 'req-1', a: 12.5, nested: { list: [1, 'two', null, true] }, f20: 400 };
    expect(toPlainValue(value, 1e6)).toBe(value);
  });

  it("turns JSONata's sequences into plain arrays and leaves out undefined members", async () => {
    const result = (await jsonata('{"xs": [1, 2, 3].($ * 2), "none": nothing}').evaluate({})) as Record<
      string,
      unknown
    >;
    const plain = toPlainValue(result, 1e6) as Record<string, unknown>;
    expect(plain).toEqual({ xs: [2, 4, 6] });
    expect(Object.keys(plain)).toEqual(['xs']);
    expect(Object.hasOwn(plain['xs'] as object, 'sequence')).toBe(false);
    expect(JSON.stringify(plain)).toBe('{"xs":[2,4,6]}');
  });

  it('copies arrays with undefined items and objects that are not plain', () => {
    const withHole = [1, undefined, 3];
    const out = toPlainValue(withHole, 1e6);
    expect(out).not.toBe(withHole);
    expect(JSON.stringify(out)).toBe('[1,null,3]');
    const nullProto = Object.assign(Object.create(null) as object, { a: 1 });
    const copied = toPlainValue(nullProto, 1e6);
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
  });

  it('refuses functions, results over the size bound and nesting past 1,000 levels, plain or not', () => {
    expect(() => toPlainValue({ f: () => 1 }, 1e6)).toThrow(ValueRefused);
    expect(() => toPlainValue({ text: 'x'.repeat(200) }, 100)).toThrow(/larger than 100 characters/);
    let deep: unknown = 1;
    for (let i = 0; i < 1_100; i++) deep = { d: deep };
    expect(() => toPlainValue(deep, 1e9)).toThrow(/deeper than 1,000 levels/);
  });

  // Round 5 (issue 18): a value seen to be plain is not walked again, and a merge of one is checked by what the
  // merge set. What the check refuses must not change.
  describe('values seen before, and merges of them', () => {
    // Large enough to be remembered (64 members or more); its size counted as the check counts: 2 + the text's
    // 4 + 4 + 62 + ten keys `kN` of 14 + sixty `kNN` of 15 = 1,112.
    const seen = () =>
      toPlainValue(
        { text: 'x'.repeat(60), ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 0])) },
        1e6,
      ) as Record<string, unknown>;

    it('still refuses a function, or leaves out an undefined member, that a merge adds to a checked value', () => {
      const base = seen();
      expect(() => toPlainValue(mergeObjects([base, { f: () => 1 }]), 1e6)).toThrow(ValueRefused);
      const withUndefined = mergeObjects([base, { u: undefined, v: 1 }]);
      const out = toPlainValue(withUndefined, 1e6);
      expect(out).not.toBe(withUndefined);
      expect(JSON.stringify(out)).toBe(JSON.stringify({ ...base, v: 1 }));
    });

    it('counts the checked part of a merge in the size bound, and a replaced value only once', () => {
      const base = seen();
      expect(toPlainValue(base, 1_112)).toBe(base);
      expect(() => toPlainValue(base, 1_111)).toThrow(/larger than 1,111 characters/);
      const grown = mergeObjects([base, { more: 'y'.repeat(60) }]) as object;
      expect(() => toPlainValue(grown, 1_150)).toThrow(/larger than 1,150 characters/);
      expect(toPlainValue(grown, 1e6)).toBe(grown);
      // 1,000 merges replacing the same key: the size stays that of one value, as a full walk counts it.
      let value = base;
      for (let i = 0; i < 1_000; i++) {
        value = toPlainValue(mergeObjects([value, { text: 'z'.repeat(60) }]), 1_150) as Record<
          string,
          unknown
        >;
      }
      expect(value['text']).toBe('z'.repeat(60));
    });

    it('counts a checked value as often as a result holds it', () => {
      const part = seen();
      expect(toPlainValue({ a: part, b: part }, 3_000)).toEqual({ a: part, b: part });
      expect(() => toPlainValue({ a: part, b: part, c: part }, 3_000)).toThrow(
        /larger than 3,000 characters/,
      );
    });

    it('refuses nesting past 1,000 levels built one checked level at a time', () => {
      let value: unknown = toPlainValue({ leaf: 1 }, 1e6);
      let refused: unknown;
      for (let i = 0; i < 1_100 && !refused; i++) {
        try {
          value = toPlainValue({ d: value }, 1e9);
        } catch (err) {
          refused = err;
        }
      }
      expect(refused).toBeInstanceOf(ValueRefused);
      expect((refused as Error).message).toMatch(/deeper than 1,000 levels/);
    });
  });
});
