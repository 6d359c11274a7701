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
import { depthOfPacked, hintMerge, memberSize, packPlain, seenPlain, sizeOfPacked } from './plain-value.js';
import { IdentityRing } from './identity-ring.js';

interface ShapeNode {
  readonly parent: ShapeNode | undefined;
  readonly key: string;
  readonly depth: number;
  next: Map<string, ShapeNode> | undefined;
  template: Record<string, unknown> | undefined;
}

/** Distinct key sequences given a template; past this, objects are built as before (correct, slower). */
const MAX_SHAPES = 4_000;
/** Objects with more keys than this are built as before: a template per long sequence is not worth keeping. */
const MAX_KEYS = 256;
/** Trie nodes (one per distinct key prefix), bounded with the templates. */
const MAX_NODES = 20_000;
let shapes = 0;
let trieNodes = 0;
const root: ShapeNode = { parent: undefined, key: '', depth: 0, next: undefined, template: undefined };

/**
 * The trie nodes of the last few merge results, so that merging one of them again (the next step of a chain) walks
 * only the added keys (a WeakMap here was the largest single cost of a 20-step `$merge` chain on the server: its
 * `set` about 6 µs a step at 10 calls in flight). A hint only: a result changed since (by a node not declared pure)
 * gets a template it does not match, which costs speed, never correctness (the template only makes V8 create the
 * hidden classes ahead).
 */
const recentShapes = new IdentityRing<ShapeNode>(8);

function child(node: ShapeNode, key: string): ShapeNode | undefined {
  let c = node.next?.get(key);
  if (!c) {
    if (trieNodes >= MAX_NODES) return undefined;
    trieNodes++;
    c = { parent: node, key, depth: node.depth + 1, next: undefined, template: undefined };
    (node.next ??= new Map()).set(key, c);
  }
  return c;
}

function walk(node: ShapeNode | undefined, keys: readonly string[]): ShapeNode | undefined {
  for (let i = 0; i < keys.length && node; i++) node = child(node, keys[i] as string);
  return node;
}

function templateAt(node: ShapeNode): Record<string, unknown> | undefined {
  if (node.template || shapes >= MAX_SHAPES || node.depth > MAX_KEYS) return node.template;
  shapes++;
  const keys: string[] = new Array(node.depth);
  for (let n: ShapeNode = node; n.parent; n = n.parent) keys[n.depth - 1] = n.key;
  // null values: a template field then takes any value without changing the class's layout twice.
  node.template = JSON.parse(`{${keys.map((k) => `${JSON.stringify(k)}:null`).join(',')}}`) as Record<
    string,
    unknown
  >;
  return node.template;
}

function templateFor(keys: readonly string[]): Record<string, unknown> | undefined {
  const node = walk(root, keys);
  return node ? templateAt(node) : undefined;
}

/**
 * A plain object (Object.prototype) with `keys[i]` set to `values[i]`, in the order a `{}` given them by
 * assignment would enumerate them (integer-like keys first, as always). `keys` hold no duplicates; a `__proto__`
 * key is made an own data property, never a prototype.
 */
export function objectOf(keys: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const template = keys.length > 16 && keys.length <= MAX_KEYS ? templateFor(keys) : undefined;
  const out: Record<string, unknown> = template ? { ...template } : {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (k === '__proto__')
      Object.defineProperty(out, k, {
        value: values[i],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    else out[k] = values[i];
  }
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
  // The others' keys, read once (a merge of two, the common case, needs no set to find repeated keys).
  const two = objects.length === 2;
  const secondKeys = two ? Object.keys(objects[1] as object) : undefined;
  let added: string[] | undefined;
  if (secondKeys) {
    // Most often every key of the second is new (a step adds its field): then the list is the second's keys.
    let fresh = 0;
    for (const k of secondKeys) if (!Object.hasOwn(first, k)) fresh++;
    if (fresh === secondKeys.length) added = fresh ? secondKeys : undefined;
    else if (fresh) added = secondKeys.filter((k) => !Object.hasOwn(first, k));
  } else {
    let seen: Set<string> | undefined;
    for (let j = 1; j < objects.length; j++) {
      for (const k of Object.keys(objects[j] as object)) {
        if (Object.hasOwn(first, k) || seen?.has(k)) continue;
        (seen ??= new Set()).add(k);
        (added ??= []).push(k);
      }
    }
  }
  // The trie node of the result's key sequence: from the first object's, when it is a recent merge result (a chain
  // step merges the step before's), else from the root. Its template is made once the result holds more than 16.
  let from = recentShapes.get(first);
  if (!from) {
    const keys = Object.keys(first);
    if (keys.length <= MAX_KEYS) from = walk(root, keys);
  }
  const shape = from && added ? walk(from, added) : from;
  if (shape && shape.depth > 16) templateAt(shape);
  // An object without a prototype is copied into a plain one, as JSONata's `{}` result is.
  const out: Record<string, unknown> = { ...first };
  // When the first object was seen to be plain JSON (an earlier result), the result's check walks only what the
  // merge set (plain-value.ts): its size is the first's less what the replaced keys weighed there.
  const known = seenPlain(first);
  let size = known === undefined ? 0 : sizeOfPacked(known);
  // The keys set from the others: a merge of two sets every key of the second.
  let set: string[] | undefined = known === undefined ? undefined : two ? secondKeys : [];
  let replaced: Set<string> | undefined;
  for (let j = 1; j < objects.length; j++) {
    const o = objects[j] as Record<string, unknown>;
    for (const k of secondKeys ?? Object.keys(o)) {
      if (set && Object.hasOwn(first, k)) {
        if (!two) {
          if (replaced?.has(k)) {
            out[k] = o[k];
            continue;
          }
          (replaced ??= new Set()).add(k);
          set.push(k);
        }
        const was = memberSize(k, first[k]);
        if (was === undefined) set = undefined;
        else size -= was;
      }
      out[k] = o[k];
    }
  }
  if (set) {
    if (!two && added) for (const k of added) set.push(k);
    hintMerge(out, [packPlain(size, depthOfPacked(known as number)), set]);
  }
  if (shape) recentShapes.set(out, shape);
  return out;
}
