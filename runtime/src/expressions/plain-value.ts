/**
 * What an expression may hand back to a flow: plain JSON values of a bounded size. JSONata sequences (arrays with
 * flags) become plain arrays, functions are refused, and the size is counted as the value would be written out,
 * so a result that shares one large part many times over (`[$a, $a, $a]` nested ten deep) cannot slip past the
 * bound and then blow up in JSON.stringify when the run is stored. Used on results of the inline evaluator and,
 * in the pool's processes, of JSONata.
 */
import { IdentityRing } from './identity-ring.js';

/** A failure an author can fix, worded for them. */
export class ValueRefused extends Error {
  override readonly name = 'ValueRefused';
}

const isFunctionValue = (v: object) => '_jsonata_lambda' in v || '_jsonata_function' in v;

/** JSONata's marks on the arrays it builds (sequences, tuple streams): such an array is copied to a plain one. */
const sequenceFlags = ['sequence', 'keepSingleton', 'outerWrapper', 'tupleStream', 'cons'];

/**
 * Values this module has seen to be plain (or made plain), with their size and depth, so a later result that holds
 * one, or was merged from one, is not walked through it again (issue 18, round 5: a 20-step `$merge` chain walked
 * each step's whole growing object, O(steps × size)). Only objects with Object.prototype are kept (never arrays,
 * to which JSONata adds its sequence marks): values an expression made, handed on from node to node.
 *
 * Why a value cannot have changed since it was seen: expressions never change a value (JSONata's operators and
 * the inline evaluator build new objects; pool results are copies), the code node's sandbox hands back copies,
 * and the built-in nodes that hand on what they are given are declared `pure`. Only in-process node code could
 * change one, and such code is trusted: its own outputs are not checked here in any case. The check guards what
 * an expression makes, and a part made by an earlier expression was checked then.
 */
const seen = new WeakMap<object, number | MergeHint>();
const DEPTHS = 2048;
/**
 * Values are remembered only past this many members walked: a WeakMap entry costs about 0.4 µs to make and look up
 * (measured: a one-key result 120 → 500 ns when every result was remembered), the walk a few nanoseconds a member.
 */
const REMEMBER_FROM = 64;

/**
 * What `mergeObjects` (fast-object.ts) knows of a merge's result: its first object's size and depth as seen here,
 * less what the keys the merge replaced weighed there (packed), and the keys set from the other objects. The result
 * is then checked by walking those keys only: the rest is the first object's, seen before. Depth is the first
 * object's (an upper bound when a replaced key held its deepest part: a result at the edge of the bound may be
 * refused that a full walk would pass, never the other way round).
 */
export type MergeHint = readonly [packed: number, keys: readonly string[]];

/**
 * The last few values seen to be plain, of any size, with their size and depth (packed): a chain step's check and
 * its `$merge` read the value the step before made a moment ago.
 */
const recentPlain = new IdentityRing<number>(8);

/**
 * The hint of the last merge (see MergeHint), handed to the check of its result in a slot rather than a WeakMap
 * entry: a merge's result is checked at once (it is the expression's value), or not by this path at all.
 */
let hinted: object | undefined;
let hintedWith: MergeHint | undefined;

/** What is known of a value: its packed size and depth when seen plain, the hint of the merge that made it, or undefined. */
function knownOf(value: object): number | MergeHint | undefined {
  if (value === hinted) {
    const hint = hintedWith;
    hinted = hintedWith = undefined;
    return hint;
  }
  return recentPlain.get(value) ?? seen.get(value);
}

/** The size and depth, packed (see `sizeOfPacked`), of a value seen to be plain (see `seen`), or undefined. */
export function seenPlain(value: object): number | undefined {
  const r = recentPlain.get(value);
  if (r !== undefined) return r;
  const p = seen.get(value);
  return typeof p === 'number' ? p : undefined;
}

export const sizeOfPacked = (packed: number) => Math.floor(packed / DEPTHS);
export const depthOfPacked = (packed: number) => packed % DEPTHS;

/** Size and depth packed into one number (a size up to 2^40, a depth up to 1,001). */
export const packPlain = (size: number, depth: number) => size * DEPTHS + depth;

/** The size a plain value member adds to its object: its key and the value (undefined when not known cheaply). */
export function memberSize(key: string, value: unknown): number | undefined {
  if (value === null) return key.length + 8;
  switch (typeof value) {
    case 'string':
      return key.length + 6 + value.length;
    case 'number':
    case 'boolean':
      return key.length + 12;
    case 'object': {
      const p = seenPlain(value);
      return p !== undefined ? key.length + 4 + Math.floor(p / DEPTHS) : undefined;
    }
    default:
      return undefined;
  }
}

/** Records what a merge's result is made of (see MergeHint). */
export function hintMerge(result: object, hint: MergeHint): void {
  hinted = result;
  hintedWith = hint;
}

/**
 * Whether the value is already what toPlainValue would make of it: plain objects and arrays only, no JSONata
 * marks, no `undefined` members, no functions, within the size and depth bounds. Then the value itself is handed
 * on instead of a copy (most expression results are: a step of a 20-node chain is a fresh object from $merge).
 * Walks without allocating, and not through parts seen before (see `seen`); anything unusual answers false and the
 * copying walk decides, with its errors. On success the value is remembered with its size and depth.
 */
function alreadyPlain(value: unknown, maxSize: number): boolean {
  let size = 0;
  let deepest = 0;
  let walked = 0;
  const check = (v: unknown, depth: number): boolean => {
    walked++;
    if (v === null) size += 4;
    else if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'object') {
      if (depth > 1_000 || isFunctionValue(v)) return false;
      if (depth > deepest) deepest = depth;
      const proto = Object.getPrototypeOf(v) as unknown;
      if (Array.isArray(v)) {
        if (proto !== Array.prototype) return false;
        for (const flag of sequenceFlags) if (Object.hasOwn(v, flag)) return false;
        size += 2 + v.length;
        if (size > maxSize) return false;
        for (let i = 0; i < v.length; i++) {
          if (!(i in v) || v[i] === undefined || !check(v[i], depth + 1)) return false;
        }
        return true;
      }
      // Objects without a prototype (all of JSONata's) are copied on purpose: V8 keeps them as dictionaries, and
      // handing them on instead made a 20-step $merge chain slower, not faster (issue 18, round 3: CPU per call up
      // in three of three paired runs), since every later step reads and copies them. The inline evaluator's object
      // constructors and $merge build plain objects V8 keeps fast (fast-object.ts), which pass as they are.
      if (proto !== Object.prototype) return false;
      const known = knownOf(v);
      if (typeof known === 'number') {
        // Not walked, so not counted: the WeakMap takes only values whose own walk was long (the ring takes any).
        const below = depth + (known % DEPTHS);
        if (below > 1_000) return false;
        if (below > deepest) deepest = below;
        size += Math.floor(known / DEPTHS);
        return size <= maxSize;
      }
      const hint = known;
      if (hint) {
        // A merge of a value seen before: only the keys the merge set are walked.
        const packed = hint[0];
        const below = depth + (packed % DEPTHS);
        if (below > 1_000) return false;
        if (below > deepest) deepest = below;
        size += Math.floor(packed / DEPTHS);
        const keys = hint[1];
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i] as string;
          const item = (v as Record<string, unknown>)[k];
          if (item === undefined || !Object.hasOwn(v, k)) return false;
          size += k.length + 4;
          if (size > maxSize || !check(item, depth + 1)) return false;
        }
        return size <= maxSize;
      }
      size += 2;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) return false;
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) return false;
        size += k.length + 4;
        if (size > maxSize || !check(item, depth + 1)) return false;
      }
      return true;
    } else if (typeof v === 'number' || typeof v === 'boolean') size += 8;
    else return false;
    return size <= maxSize;
  };
  if (!check(value, 0)) return false;
  remember(value, size, deepest, walked >= REMEMBER_FROM);
  return true;
}

function remember(value: unknown, size: number, depth: number, large: boolean): void {
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const packed = packPlain(size, depth);
    recentPlain.set(value, packed);
    if (large) seen.set(value, packed);
  }
}

/**
 * @param maxSize the largest serialised size, in characters (roughly: keys and strings count their length, every
 *   other value a few characters)
 */
export function toPlainValue(value: unknown, maxSize: number): unknown {
  if (alreadyPlain(value, maxSize)) return value;
  let size = 0;
  const tooBig = () =>
    new ValueRefused(`the result is larger than ${maxSize.toLocaleString('en')} characters written out`);
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || v === undefined) {
      size += 4;
    } else if (typeof v === 'string') {
      size += v.length + 2;
    } else if (typeof v === 'function' || (typeof v === 'object' && isFunctionValue(v))) {
      throw new ValueRefused('the expression returned a function, not a value');
    } else if (typeof v === 'object') {
      if (depth > 1_000) throw new ValueRefused('the result is nested deeper than 1,000 levels');
      if (depth > deepest) deepest = depth;
      if (Array.isArray(v)) {
        size += 2 + v.length;
        if (size > maxSize) throw tooBig();
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) out[i] = walk(v[i], depth + 1);
        return out;
      }
      size += 2;
      const out: Record<string, unknown> = {};
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const item = (v as Record<string, unknown>)[k];
        if (item === undefined) continue;
        size += k.length + 4;
        if (size > maxSize) throw tooBig();
        out[k] = walk(item, depth + 1);
      }
      return out;
    } else {
      size += 8;
    }
    if (size > maxSize) throw tooBig();
    return v;
  };
  let deepest = 0;
  const out = walk(value, 0);
  remember(out, size, deepest, size >= REMEMBER_FROM * 8);
  return out;
}
