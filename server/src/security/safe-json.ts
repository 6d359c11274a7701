/**
 * JSON from outside the process, within limits, and JSON out that never throws. Every body the server parses
 * (the API, published endpoints, socket.io packets) and every JSON argument of the CLI goes through `parseJson`:
 * one pass over the text refuses nesting deeper than a limit and numbers that overflow to ±Infinity before
 * `JSON.parse` builds anything, so nothing downstream (schema checks, hashing, masking, storage) meets a value
 * that would overflow its stack or that JSON cannot store. Values made inside a run (node outputs) are not
 * parsed; `safeStringify` stores them whatever their depth, cutting only what JSON.stringify itself cannot write.
 */
import { InvalidError } from '../services/errors.js';

/** Nesting (objects and arrays) accepted by default; `FINFLOW_JSON_MAX_DEPTH` changes it. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** A JSON text that is malformed or outside the limits: 400 with `code`. */
export class JsonInputError extends InvalidError {
  override readonly name = 'JsonInputError';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  while (j > 0) {
    let slashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Whether the text holds a digit, `e` or `E`, and a three-digit exponent (in a string or not). */
function bigExponent(text: string): boolean {
  for (const e of ['e', 'E']) {
    for (let i = text.indexOf(e); i >= 0; i = text.indexOf(e, i + 1)) {
      if (!isDigit(text.charCodeAt(i - 1))) continue;
      let j = i + 1;
      const sign = text.charCodeAt(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (isDigit(text.charCodeAt(j)) && isDigit(text.charCodeAt(j + 1)) && isDigit(text.charCodeAt(j + 2)))
        return true;
    }
  }
  return false;
}

/** Digits in a row from which a number can exceed the doubles (10^308 has 309). */
const LONG_RUN = 309;

/**
 * Whether the text holds a run of LONG_RUN digits: one sample every LONG_RUN - 1 characters lands in any such
 * run, and only sampled digits are measured (regular expressions for long runs backtrack on numeric text).
 */
function longDigitRun(text: string): boolean {
  for (let i = LONG_RUN - 2; i < text.length; i += LONG_RUN - 1) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    let end = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    while (end + 1 < text.length && isDigit(text.charCodeAt(end + 1))) end++;
    if (end - start + 1 >= LONG_RUN) return true;
  }
  return false;
}

/** Whether `text` holds more than `n` opening brackets in all (then it may nest deeper than `n`). */
function moreBracketsThan(text: string, n: number): boolean {
  let count = 0;
  for (const open of ['{', '[']) {
    for (let i = text.indexOf(open); i >= 0; i = text.indexOf(open, i + 1)) if (++count > n) return true;
  }
  return false;
}

function checkDepth(text: string, maxDepth: number): void {
  // Most bodies hold fewer brackets than the limit, and so cannot nest past it.
  if (!moreBracketsThan(text, maxDepth)) return;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new JsonInputError(
          'JSON_TOO_DEEP',
          `the JSON is nested more than ${maxDepth} levels deep (at character ${i})`,
          { maxDepth, offset: i },
        );
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

function checkNumbers(text: string): void {
  // Cheap searches first: nearly every body has no number that could overflow.
  if (!bigExponent(text) && !longDigitRun(text)) return;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (end < 0) return;
      i = end;
    } else if (c === 0x2d || isDigit(c)) {
      const start = i;
      let exponent = false;
      let exponentDigits = 0;
      for (; i + 1 < n; i++) {
        const d = text.charCodeAt(i + 1);
        if (d === 0x65 || d === 0x45) exponent = true;
        else if (isDigit(d)) {
          if (exponent) exponentDigits++;
        } else if (!(d === 0x2e || d === 0x2d || d === 0x2b)) break;
      }
      // Only an exponent of three digits or more, or 309+ digits, can leave the double range.
      if (exponentDigits >= 3 || i - start + 1 >= LONG_RUN) {
        const token = text.slice(start, i + 1);
        const value = Number(token);
        if (!Number.isNaN(value) && !Number.isFinite(value)) {
          throw new JsonInputError(
            'INVALID_INPUT',
            `the number ${token.length > 40 ? `${token.slice(0, 40)}…` : token} is too large to represent (numbers must be finite)`,
            { offset: start },
          );
        }
      }
    }
  }
}

/**
 * Checks JSON text for nesting deeper than `maxDepth` and for numbers JSON.parse would turn into ±Infinity
 * (`-1e309`, a 400-digit integer). Throws JsonInputError; malformed text is left to JSON.parse.
 */
export function checkJsonText(text: string, maxDepth: number): void {
  checkDepth(text, maxDepth);
  checkNumbers(text);
}

export interface ParseOptions {
  maxDepth?: number;
  /** Refuse `__proto__` and `constructor.prototype` keys (anything a client sends). Default true. */
  guardPrototype?: boolean;
}

const suspicious = /__proto__|constructor|\\u/;

function guard(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new JsonInputError('FORBIDDEN_KEY', 'JSON keys named "__proto__" are not accepted');
  // The reviver runs bottom-up, so a `constructor` object already holds its own `prototype` key here.
  if (
    key === 'constructor' &&
    value !== null &&
    typeof value === 'object' &&
    Object.hasOwn(value, 'prototype')
  ) {
    throw new JsonInputError('FORBIDDEN_KEY', 'JSON keys "constructor.prototype" are not accepted');
  }
  return value;
}

/** Parses JSON text within the limits; JsonInputError (INVALID_JSON, JSON_TOO_DEEP, INVALID_INPUT, FORBIDDEN_KEY). */
export function parseJson(text: string, options: ParseOptions = {}): unknown {
  checkJsonText(text, options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH);
  try {
    // The reviver costs a second walk, so it runs only when a dangerous key could be present at all.
    return options.guardPrototype !== false && suspicious.test(text)
      ? (JSON.parse(text, guard) as unknown)
      : (JSON.parse(text) as unknown);
  } catch (err) {
    if (err instanceof JsonInputError) throw err;
    throw new JsonInputError('INVALID_JSON', `not valid JSON: ${(err as Error).message}`);
  }
}

/** Nesting kept when a value is too deep (or otherwise impossible) for JSON.stringify. */
export const STORED_MAX_DEPTH = 256;
export const TOO_DEEP = '[nested too deep]';

/**
 * A copy of `value` that JSON.stringify can write: subtrees below `maxDepth` levels become TOO_DEEP, cycles
 * `[circular]`, BigInts their decimal text. Iterative, so any depth is safe.
 */
export function jsonSafeCopy(value: unknown, maxDepth = STORED_MAX_DEPTH): unknown {
  const convert = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      return (v as { toJSON(): unknown }).toJSON();
    return v;
  };
  const root = convert(value);
  if (root === null || typeof root !== 'object') return root;
  const copyOf = (v: object): unknown[] | Record<string, unknown> => (Array.isArray(v) ? [] : {});
  const out = copyOf(root);
  const onPath = new Set<object>([root]);
  // Each frame: the source, its copy, its keys, the next key, its depth.
  const stack: {
    src: object;
    dst: unknown[] | Record<string, unknown>;
    keys: string[];
    i: number;
    d: number;
  }[] = [{ src: root, dst: out, keys: Object.keys(root), i: 0, d: 1 }];
  while (stack.length) {
    const f = stack[stack.length - 1] as (typeof stack)[number];
    if (f.i >= f.keys.length) {
      onPath.delete(f.src);
      stack.pop();
      continue;
    }
    const key = f.keys[f.i++] as string;
    const child = convert((f.src as Record<string, unknown>)[key]);
    let copy: unknown = child;
    if (child !== null && typeof child === 'object') {
      if (onPath.has(child)) copy = '[circular]';
      else if (f.d >= maxDepth) copy = TOO_DEEP;
      else {
        copy = copyOf(child);
        onPath.add(child);
        stack.push({
          src: child,
          dst: copy as object as Record<string, unknown>,
          keys: Object.keys(child),
          i: 0,
          d: f.d + 1,
        });
      }
    }
    if (Array.isArray(f.dst)) f.dst[Number(key)] = copy;
    else f.dst[key] = copy;
  }
  return out;
}

/**
 * JSON.stringify that always returns text: values it cannot write (too deep for its recursion, cycles, BigInts)
 * are written from `jsonSafeCopy`. `cut` tells whether anything was replaced.
 */
export function safeStringify(value: unknown): { json: string; cut: boolean } {
  try {
    return { json: JSON.stringify(value) ?? 'null', cut: false };
  } catch {
    return { json: JSON.stringify(jsonSafeCopy(value)) ?? 'null', cut: true };
  }
}
