/**
 * What an expression may hand back to a flow: plain JSON values of a bounded size. JSONata sequences (arrays with
 * flags) become plain arrays, functions are refused, and the size is counted as the value would be written out,
 * so a result that shares one large part many times over (`[$a, $a, $a]` nested ten deep) cannot slip past the
 * bound and then blow up in JSON.stringify when the run is stored. Used on results of the inline evaluator and,
 * in the pool's processes, of JSONata.
 */

/** A failure an author can fix, worded for them. */
export class ValueRefused extends Error {
  override readonly name = 'ValueRefused';
}

const isFunctionValue = (v: object) => '_jsonata_lambda' in v || '_jsonata_function' in v;

/** JSONata's marks on the arrays it builds (sequences, tuple streams): such an array is copied to a plain one. */
const sequenceFlags = ['sequence', 'keepSingleton', 'outerWrapper', 'tupleStream', 'cons'];

/**
 * Whether the value is already what toPlainValue would make of it: plain objects and arrays only, no JSONata
 * marks, no `undefined` members, no functions, within the size and depth bounds. Then the value itself is handed
 * on instead of a copy (most expression results are: a step of a 20-node chain is a fresh object from $merge).
 * Walks without allocating; anything unusual answers false and the copying walk decides, with its errors.
 */
function alreadyPlain(value: unknown, maxSize: number): boolean {
  let size = 0;
  const check = (v: unknown, depth: number): boolean => {
    if (v === null) size += 4;
    else if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'object') {
      if (depth > 1_000 || isFunctionValue(v)) return false;
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
  return check(value, 0);
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
  return walk(value, 0);
}
