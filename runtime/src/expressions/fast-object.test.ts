import { describe, expect, it } from 'vitest';
import { mergeObjects, objectOf } from './fast-object.js';

/** What JSONata's $merge does (its own code): `{}` given each object's keys in turn. */
function reference(objects: Record<string, unknown>[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const o of objects) for (const k in o) result[k] = o[k];
  return result;
}

const wide = (n: number, prefix = 'k') =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));

describe('objects built fast', () => {
  it('hold their keys in the order assignment gives, with integer-like keys first, however many', () => {
    for (const n of [0, 3, 16, 17, 40]) {
      const keys = [...Object.keys(wide(n)), '7', 'z'];
      const values = keys.map((k) => `v${k}`);
      const o = objectOf(keys, values);
      const expected: Record<string, unknown> = {};
      keys.forEach((k, i) => (expected[k] = values[i]));
      expect(JSON.stringify(o)).toBe(JSON.stringify(expected));
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    }
    const hostile = objectOf(
      [...Object.keys(wide(20)), '__proto__'],
      [...Object.values(wide(20)), { polluted: 1 }],
    );
    expect(Object.hasOwn(hostile, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(hostile)).toBe(Object.prototype);
  });

  it('merge as JSONata merges: a replaced value keeps its place, new keys come last, in every chain step', () => {
    let data: Record<string, unknown> = { id: 'req-1', a: 12.5, b: 7 };
    for (let k = 1; k <= 30; k++) {
      const ext = k % 7 === 0 ? { a: k, [`f${k}`]: k * k, 3: 'x' } : { [`f${k}`]: k * k };
      const next = mergeObjects([data, ext]) as Record<string, unknown>;
      expect(JSON.stringify(next)).toBe(JSON.stringify(reference([data, ext])));
      data = next;
    }
    expect(mergeObjects([])).toEqual({});
    const many = [
      wide(20),
      wide(20, 'j'),
      { k3: 'again' },
      Object.assign(Object.create(null) as object, { n: 1 }),
    ];
    expect(JSON.stringify(mergeObjects(many))).toBe(JSON.stringify(reference(many)));
  });

  it('stay exact when an object merged before was changed since (the remembered key sequence is only a hint)', () => {
    const first = mergeObjects([wide(20), { x: 1 }]) as Record<string, unknown>;
    delete first['k3'];
    first['late'] = true;
    const next = mergeObjects([first, { y: 2 }]);
    expect(JSON.stringify(next)).toBe(JSON.stringify(reference([first, { y: 2 }])));
  });

  it('leave to JSONata what it would merge differently', () => {
    class Shaped {
      a = 1;
    }
    expect(mergeObjects([new Shaped(), { b: 2 }])).toBeUndefined();
    expect(mergeObjects([{ a: 1 }, [1, 2]])).toBeUndefined();
    expect(
      mergeObjects([{ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}') as object]),
    ).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
