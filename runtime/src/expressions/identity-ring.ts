/**
 * The last few objects seen, each with a value, found by identity: for a hot path that asks about the object it
 * handled a moment ago (a chain step's `$merge` and plain-JSON check read the value the step before made). A ring,
 * not a WeakMap: a WeakMap entry per value cost more than walking a small ring (issue 18, round 6). It keeps its
 * last few objects alive until they are overwritten.
 */
export class IdentityRing<V> {
  private readonly objects: (object | undefined)[];
  private readonly values: (V | undefined)[];
  private readonly mask: number;
  private next = 0;

  /** `size`: a power of two. */
  constructor(size: number) {
    if (size < 1 || (size & (size - 1)) !== 0) throw new RangeError('an IdentityRing size is a power of two');
    this.objects = new Array<object | undefined>(size).fill(undefined);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  /** The value remembered with this very object, newest first. */
  get(object: object): V | undefined {
    for (let i = 1; i <= this.mask + 1; i++) {
      const at = (this.next - i) & this.mask;
      if (this.objects[at] === object) return this.values[at];
    }
    return undefined;
  }

  /** Remembers a value with an object, overwriting the oldest entry. */
  set(object: object, value: V): void {
    const at = this.next & this.mask;
    this.objects[at] = object;
    this.values[at] = value;
    this.next = (this.next + 1) & this.mask;
  }
}
