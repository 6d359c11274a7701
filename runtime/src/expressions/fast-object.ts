/**
 * Objects with many keys that V8 keeps fast (issue 18, round 4). An object built key by key from `{}` (as
 * JSONata's `$merge` builds its result) turns into a dictionary, a hash table, once it holds about 16 keys added
 * by computed name; so does every object made with `Object.create(null)`. A dictionary is slow to walk, to copy,
 * to merge again and to write as JSON, and a 20-step `$merge` chain walks, copies and writes each step's growing
 * object: its steps cost more the longer the object. Here an object is made instead by copying a template that
 * already has its keys in order (`{...template}` copies V8's hidden class, so the copy is fast however many keys
 * it holds) and then setting the values, which changes no key. Templates are made once per key sequence (through
 * JSON.parse, which builds fast objects) and found through a trie of keys; their number is bounded.
 */

interface ShapeNode {
  next: Map<string, ShapeNode> | undefined;
  template: Record<string, unknown> | undefined;
}

/** Distinct key sequences given a template; past this, objects are built as before (correct, slower). */
const MAX_SHAPES = 4_000;
/** Objects with more keys than this are built as before: a template per long sequence is not worth keeping. */
const MAX_KEYS = 256;
let shapes = 0;
const root: ShapeNode = { next: undefined, template: undefined };

function templateFor(keys: readonly string[]): Record<string, unknown> | undefined {
  let node = root;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    let child = node.next?.get(k);
    if (!child) {
      if (shapes >= MAX_SHAPES) return undefined;
      child = { next: undefined, template: undefined };
      (node.next ??= new Map()).set(k, child);
    }
    node = child;
  }
  if (!node.template) {
    if (shapes >= MAX_SHAPES) return undefined;
    shapes++;
    // null values: a template field then takes any value without changing the class's layout twice.
    node.template = JSON.parse(`{${keys.map((k) => `${JSON.stringify(k)}:null`).join(',')}}`) as Record<
      string,
      unknown
    >;
  }
  return node.template;
}

/**
 * A plain object (Object.prototype) with `keys[i]` set to `values[i]`, in the order a `{}` given them by
 * assignment would enumerate them (integer-like keys first, as always). `keys` hold no duplicates and no
 * `__proto__` (the caller checks).
 */
export function objectOf(keys: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const template = keys.length > 16 && keys.length <= MAX_KEYS ? templateFor(keys) : undefined;
  const out: Record<string, unknown> = template ? { ...template } : {};
  for (let i = 0; i < keys.length; i++) out[keys[i] as string] = values[i];
  return out;
}

/**
 * JSONata's `$merge` (the keys of each object in turn, a later value replacing an earlier one in place), built with
 * `objectOf`. Undefined when an object has keys it does not own by enumeration (a prototype with enumerable keys)
 * or a `__proto__` key: the caller then uses JSONata's own implementation.
 */
export function mergeObjects(objects: readonly unknown[]): Record<string, unknown> | undefined {
  const keys: string[] = [];
  const values: unknown[] = [];
  for (let j = 0; j < objects.length; j++) {
    const o = objects[j];
    if (o === null || typeof o !== 'object') return undefined;
    const proto: unknown = Object.getPrototypeOf(o);
    if ((proto !== null && proto !== Object.prototype) || Array.isArray(o)) return undefined;
    const own = Object.keys(o);
    for (let i = 0; i < own.length; i++) {
      const k = own[i] as string;
      if (k === '__proto__') return undefined;
      const v = (o as Record<string, unknown>)[k];
      let at = -1;
      // A key seen in an earlier object keeps its place and takes the new value.
      for (let p = 0; p < j && at < 0; p++) if (Object.hasOwn(objects[p] as object, k)) at = keys.indexOf(k);
      if (at < 0) {
        keys.push(k);
        values.push(v);
      } else values[at] = v;
    }
  }
  return objectOf(keys, values);
}
