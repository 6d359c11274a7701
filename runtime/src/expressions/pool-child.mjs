/**
 * One process of the expression pool (pool.ts): evaluates JSONata for the main process, one request at a time.
 * It is a separate process, not a worker thread, because V8 ends the whole process on some allocation failures
 * ("Fatal JavaScript invalid size error" from `$pad("x", 400000000)`, a heap limit reached by one huge array):
 * here that ends this child, which the pool replaces, and the server goes on. Regular expressions run in the
 * linear-time engine; the parent kills this process when an evaluation overruns its time bound.
 *
 * Messages in: { id, source, data, bindings, limits }. Out: { id, ok: true, value } or
 * { id, ok: false, message, code? }.
 */
import jsonata from 'jsonata';
import { LinearRegExp, RegexRefused } from './linear-regex.mjs';
import { toPlainValue, ValueRefused } from './plain-value.mjs';

/** @type {Map<string, ReturnType<typeof jsonata>>} */
const compiled = new Map();

/** @param {string} source @param {Record<string, number>} limits */
function compile(source, limits) {
  let expression = compiled.get(source);
  if (!expression) {
    expression = jsonata(source, {
      timeout: limits.timeoutMs,
      stack: limits.maxDepth,
      sequence: limits.maxSequence,
      RegexEngine: LinearRegExp,
    });
    if (compiled.size >= 500) compiled.delete(/** @type {string} */ (compiled.keys().next().value));
    compiled.set(source, expression);
  }
  return expression;
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof RegexRefused || err instanceof ValueRefused) return { message: err.message };
  const e = /** @type {{ message?: string, code?: string }} */ (err ?? {});
  if (err instanceof RangeError)
    return { message: `${e.message ?? 'a value is too large'} (a value grew too large)` };
  return { message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) };
}

process.on('message', async (/** @type {any} */ msg) => {
  const { id, source, data, bindings, limits } = msg;
  let reply;
  try {
    const value = await compile(source, limits).evaluate(data, bindings);
    reply = { id, ok: true, value: toPlainValue(value, limits.maxResultSize) };
  } catch (err) {
    reply = { id, ok: false, ...describe(err) };
  }
  process.send?.(reply);
});

// The parent went away: nothing is left to answer.
process.on('disconnect', () => process.exit(0));

// Loaded: the parent starts an evaluation's clock from here, not from the process start.
process.send?.({ ready: true });
