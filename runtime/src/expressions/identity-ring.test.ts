import { describe, expect, it } from 'vitest';
import { IdentityRing } from './identity-ring.js';

describe('IdentityRing', () => {
  it('finds a value by the very object, not an equal one', () => {
    const ring = new IdentityRing<number>(4);
    const a = { x: 1 };
    ring.set(a, 7);
    expect(ring.get(a)).toBe(7);
    expect(ring.get({ x: 1 })).toBeUndefined();
  });

  it('keeps only the newest entries, and the newest value for an object set twice', () => {
    const ring = new IdentityRing<string>(4);
    const objects = Array.from({ length: 6 }, (_, i) => ({ i }));
    objects.forEach((o, i) => ring.set(o, `v${i}`));
    expect(objects.map((o) => ring.get(o))).toEqual([undefined, undefined, 'v2', 'v3', 'v4', 'v5']);
    ring.set(objects[5] as object, 'again');
    expect(ring.get(objects[5] as object)).toBe('again');
  });

  it('refuses a size that is not a power of two', () => {
    expect(() => new IdentityRing(6)).toThrow(RangeError);
    expect(() => new IdentityRing(0)).toThrow(RangeError);
  });
});
