/**
 * A Map for entries that come and go all the time (the runs in flight, calls waiting on an idempotency key) whose
 * deleted entries let go of their values at once.
 *
 * Why not a plain Map: V8 grows and shrinks a Map's hash table by building a new one and keeping the old one,
 * with the entries it held and a link to its successor, for iterators still walking it. A table that reached the
 * old generation (a full collection promotes the table in use) is not traced by a young-generation collection
 * but treated as live, so every value that was in it, and through the links every value that passed through the
 * tables after it, survives each scavenge and is promoted, until the next full collection, which promotes the
 * table then in use and starts the chain again. Measured on the endpoint path (issue 18, round 6, bench/README.md
 * "Round 6: p99 at c=10"): after the first full collection under load, 2.5-3.3 MB survived each scavenge instead
 * of 0.15-0.25 MB (whole calls: a run in flight reaches its request, response and batch), and a full collection
 * followed every 1.5 s. Here the table holds a small box per entry, emptied on delete, so an old table keeps
 * only emptied boxes and keys.
 */
interface Box<V> {
  value: V | undefined;
}

export class ReleasingMap<K, V> {
  private readonly map = new Map<K, Box<V>>();

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    const box = this.map.get(key);
    if (box) box.value = value;
    else this.map.set(key, { value });
    return this;
  }

  delete(key: K): boolean {
    const box = this.map.get(key);
    if (!box) return false;
    box.value = undefined;
    return this.map.delete(key);
  }

  /** The values, in insertion order. */
  *values(): IterableIterator<V> {
    for (const box of this.map.values()) yield box.value as V;
  }
}
