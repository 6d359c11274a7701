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
 * JSONata's `$merge` (the keys of each object in turn, a later value replacing an earlier one in place). The result
 * is a copy of the first object (`{...first}` copies its hidden class, so its values are not read one by one) with
 * the others' keys set on it; the template of the whole key sequence is made first, so that V8 finds the hidden
 * class each added key leads to instead of turning the copy into a dictionary. Undefined when an object is not a
 * plain one (a prototype with enumerable keys would be merged by JSONata's `for in`) or has a `__proto__` key:
 * the caller then uses JSONata's own implementation.
 */
export function mergeObjects(objects: readonly unknown[]): Record<string, unknown> | undefined {
  if (objects.length === 0) return {};
  for (let j = 0; j < objects.length; j++) {
    const o = objects[j];
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== null && proto !== Object.prototype) return undefined;
    if (Object.hasOwn(o, '__proto__')) return undefined;
  }
  const first = objects[0] as Record<string, unknown>;
  const firstKeys = Object.keys(first);
  let added: string[] | undefined;
  let seen: Set<string> | undefined;
  for (let j = 1; j < objects.length; j++) {
    for (const k of Object.keys(objects[j] as object)) {
      if (Object.hasOwn(first, k) || seen?.has(k)) continue;
      (seen ??= new Set()).add(k);
      (added ??= []).push(k);
    }
  }
  const total = firstKeys.length + (added?.length ?? 0);
  if (total > 16 && total <= MAX_KEYS) templateFor(added ? [...firstKeys, ...added] : firstKeys);
  // An object without a prototype is copied into a plain one, as JSONata's `{}` result is.
  const out: Record<string, unknown> = { ...first };
  for (let j = 1; j < objects.length; j++) {
    const o = objects[j] as Record<string, unknown>;
    for (const k of Object.keys(o)) out[k] = o[k];
  }
  return out;
}
