import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
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
});
