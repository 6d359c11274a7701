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

/**
 * @param maxSize the largest serialised size, in characters (roughly: keys and strings count their length, every
 *   other value a few characters)
 */
export function toPlainValue(value: unknown, maxSize: number): unknown {
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
