/**
 * One process of the expression pool (pool.ts): evaluates expressions for the main process, one at a time. It is a
 * separate process, not a worker thread, because V8 ends the whole process on some allocation failures ("Fatal
 * JavaScript invalid size error" from `$pad("x", 400000000)`, a heap limit reached by one huge array, even inside
 * a worker thread): here that ends this child, which the pool replaces, and the server goes on. The parent kills
 * this process when an evaluation overruns its time bound.
 *
 * Here the inline evaluator runs first with the whole time bound as its budget (it is several times faster than
 * JSONata's asynchronous evaluator on heavy expressions); JSONata answers what it does not cover or gives up on.
 * Regular expressions run in the linear-time engine either way.
 *
 * Messages in: { id, source, data, bindings, limits }. Out: { ready: true } once loaded, then per request
 * { id, ok: true, value } or { id, ok: false, message, code? }.
 */
import jsonata from 'jsonata';
import { compileInline, type InlineLimits, type InlineProgram } from './inline.js';
import { LinearRegExp, RegexRefused } from './linear-regex.js';
import { toPlainValue, ValueRefused } from './plain-value.js';

interface Request {
  id: number;
  source: string;
  data: unknown;
  bindings: Record<string, unknown> | undefined;
  limits: { timeoutMs: number; maxDepth: number; maxSequence: number; maxResultSize: number };
}

interface Compiled {
  expression: ReturnType<typeof jsonata>;
  /** JSONata reads these at each evaluation: the time left after the inline evaluator's attempt goes here. */
  options: { timeout: number; stack: number; sequence: number; RegexEngine: RegExpConstructor };
  inline: InlineProgram | undefined;
}

/** JSONata's own $pad, for the guarded one bound in its place. */
const nativePad = ((await jsonata('$pad').evaluate({})) as { implementation: (...a: unknown[]) => unknown })
  .implementation;

/** Longest string `$pad` makes here: past it V8 ends the process ("invalid size") or runs for seconds. */
const MAX_PAD = 64_000_000;

/**
 * `$pad` with its width checked first: JSONata builds the padding as an array of that many items, so
 * `$pad("x", 400000000)` would hold this process for seconds and then end it. The answer is JSONata's below the
 * bound and an error past it.
 */
function guardedPad(str: unknown, width: unknown, char: unknown): unknown {
  if (
    typeof width === 'number' &&
    Math.abs(Math.trunc(width)) * Math.max(1, String(char ?? ' ').length) > MAX_PAD
  ) {
    throw {
      code: 'PAD_TOO_LONG',
      message: `$pad: the result would be longer than ${MAX_PAD.toLocaleString('en')} characters`,
    };
  }
  return nativePad(str, width, char);
}

const compiled = new Map<string, Compiled>();

function compile(source: string, limits: Request['limits']): Compiled {
  let c = compiled.get(source);
  if (!c) {
    const options = {
      timeout: limits.timeoutMs,
      stack: limits.maxDepth,
      sequence: limits.maxSequence,
      // JSONata's types want the whole RegExp constructor; it calls only `new` and `exec` (see linear-regex.js).
      RegexEngine: LinearRegExp as unknown as RegExpConstructor,
    };
    const expression = jsonata(source, options as jsonata.JsonataOptions);
    expression.registerFunction('pad', guardedPad, '<s-ns?:s>');
    c = { expression, options, inline: compileInline(expression.ast()) };
    if (compiled.size >= 500) compiled.delete(compiled.keys().next().value as string);
    compiled.set(source, c);
  }
  return c;
}

/** The inline evaluator's budget here: the whole time bound, and sizes up to JSONata's own bounds. */
function inlineLimits(limits: Request['limits']): InlineLimits {
  return {
    inlineMs: limits.timeoutMs,
    inlineWallMs: limits.timeoutMs * 2,
    inlineMaxItems: limits.maxSequence - 1,
    inlineMaxString: 64_000_000,
    inlineMaxRegexText: 16_000_000,
    // Half JSONata's: the inline evaluator counts depth a little differently, so it leaves the edge to JSONata.
    maxDepth: Math.floor(limits.maxDepth / 2),
  };
}

function describe(err: unknown): { message: string; code?: string } {
  if (err instanceof RegexRefused || err instanceof ValueRefused) return { message: err.message };
  const e = (err ?? {}) as { message?: string; code?: string };
  if (err instanceof RangeError)
    return { message: `${e.message ?? 'a value is too large'} (a value grew too large)` };
  return { message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) };
}

/** JSONata's time-bound error, as its own timeout raises it. */
const timedOut = (limits: Request['limits']) => ({
  code: 'D1012',
  message: `Expression evaluation timeout: ${limits.timeoutMs} ms`,
});

async function evaluate(req: Request): Promise<unknown> {
  const started = performance.now();
  const c = compile(req.source, req.limits);
  if (c.inline) {
    const outcome = c.inline(req.data, req.bindings, inlineLimits(req.limits));
    if (outcome.done) return outcome.value;
    // Out of time: answer so now, rather than start JSONata with nothing left and be killed at the bound.
    if (outcome.outOfTime) throw timedOut(req.limits);
  }
  // JSONata's own (cooperative, wall-clock) time check gets what is left, so it answers before the parent's kill.
  c.options.timeout = Math.max(1, req.limits.timeoutMs * 2 - (performance.now() - started));
  return c.expression.evaluate(req.data, req.bindings);
}

process.on('message', (req: Request) => {
  evaluate(req).then(
    (value) => {
      let reply;
      try {
        reply = { id: req.id, ok: true, value: toPlainValue(value, req.limits.maxResultSize) };
      } catch (err) {
        reply = { id: req.id, ok: false, ...describe(err) };
      }
      process.send?.(reply);
    },
    (err: unknown) => process.send?.({ id: req.id, ok: false, ...describe(err) }),
  );
});

// The parent went away: nothing is left to answer.
process.on('disconnect', () => process.exit(0));

// Loaded: the parent starts an evaluation's clock from here, not from the process start.
process.send?.({ ready: true });
