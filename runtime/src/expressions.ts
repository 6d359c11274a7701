/**
 * JSONata expressions between nodes. A config string that starts with `=` is an expression, evaluated before the
 * node runs over `{ input, nodes: { <ancestor id>: outputs } }`; a literal string that starts with `=` is written
 * with `==`. Expressions are parsed (and their regular expressions checked) at validation time.
 *
 * Where an expression runs: the inline evaluator (expressions/inline.ts) answers the common subset synchronously
 * on the calling thread within a small time and size budget; everything else, and anything that outgrows that
 * budget, runs in the expression pool (expressions/pool.ts): child processes with a heap limit, killed and
 * replaced at the time bound. Regular expressions run in a linear-time engine (expressions/linear-regex.js).
 * So no expression can stop the process or hold the event loop for more than a few milliseconds.
 * `expressionLimits` is the one place the bounds are set. Nothing here evaluates JavaScript.
 */
import jsonata from 'jsonata';
import { ErrorCodes, NodeError } from './errors.js';
import { compileInline, type InlineLimits, type InlineProgram } from './expressions/inline.js';
import { compileLinear, linearRegexLimits, RegexRefused } from './expressions/linear-regex.js';
import { toPlainValue, ValueRefused } from './expressions/plain-value.js';
import { expressionCanReadNodes } from './expressions/scope-reads.js';
import { ExpressionPool, PoolEvaluationError } from './expressions/pool.js';

export { compileLinear, LinearRegExp, linearRegexLimits, RegexRefused } from './expressions/linear-regex.js';

export const EXPRESSION_PREFIX = '=';

/** Every bound on expressions, in one place. */
export const expressionLimits = {
  /**
   * Bound on one evaluation in the pool: the CPU time the inline evaluator may use there, and the time JSONata's
   * own check allows. A process still busy at `timeoutMs × poolKillFactor` of wall time (a single built-in call
   * that never returns) is killed and replaced.
   */
  timeoutMs: 1_000,
  /** See timeoutMs: wall-time headroom before a kill, for a machine so busy the pool gets little CPU. */
  poolKillFactor: 3,
  /** Deepest nesting of evaluations (JSONata's stack bound; recursion counts). */
  maxDepth: 300,
  /** Longest sequence an evaluation in the pool may build (JSONata's sequence bound). */
  maxSequence: 1_000_000,
  /** Largest result, counted in characters as it would be written out as JSON. */
  maxResultSize: 8_000_000,
  /** CPU time the inline evaluator may take on the calling thread before the pool takes the expression over. */
  inlineMs: 2,
  /** Wall time after which it hands over in any case (only reached when the machine is overloaded). */
  inlineWallMs: 20,
  /**
   * The inline CPU budget of an expression's first `inlineColdEvaluations` evaluations: code V8 has not optimised
   * yet runs several times slower, and the pool's processes would pay the same cold start again.
   */
  inlineColdMs: 20,
  inlineColdEvaluations: 3,
  /** Longest sequence or array the inline evaluator builds before handing over. */
  inlineMaxItems: 50_000,
  /** Longest string the inline evaluator builds (or serialises) before handing over. */
  inlineMaxString: 1_000_000,
  /** Longest text the inline evaluator matches a regular expression against (linear time: about 1 ms). */
  inlineMaxRegexText: 20_000,
  /** Processes in the pool. */
  poolSize: 2,
  /** Heap limit of each pool process, in MiB. */
  poolMemoryMb: 256,
  /** Evaluations that may wait for a pool process; more are refused at once. */
  poolQueue: 1_000,
  /** Longest wait for a pool process before the evaluation fails as busy. */
  poolQueueWaitMs: 10_000,
  /** Regular expressions: program size, and the text input-schema patterns check on the calling thread. */
  regex: linearRegexLimits,
};

export function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('=') && !value.startsWith('==');
}

/** `==x` is the literal string `=x`. */
export function isEscapedLiteral(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('==');
}

/** A parsed expression: its source, JSONata's AST, and its inline program when the inline evaluator covers it. */
export interface CompiledExpression {
  readonly source: string;
  ast(): unknown;
  /** Undefined when only the pool can run it (regular expressions, `%`, `@`, partial application, ...). */
  readonly inline: InlineProgram | undefined;
  /** Evaluations so far, counted up to `inlineColdEvaluations` (the first ones run before V8 has optimised). */
  evaluations: number;
  /** Whether it can read `nodes` from its input's root (expressions/scope-reads.ts), worked out on first use. */
  readsNodes: boolean | undefined;
}

interface JsonataError {
  message?: string;
  position?: number;
  token?: string;
  code?: string;
}

/** Compiled expressions by source, as the answer compileExpression gives (no object made per lookup). */
const cache = new Map<string, { ok: true; expression: CompiledExpression }>();
const CACHE_LIMIT = 2_000;

export type CompileResult = { ok: true; expression: CompiledExpression } | { ok: false; message: string };

/** Regular expression literals in an AST (JSONata has compiled each into a RegExp, never run). */
function regexLiterals(ast: unknown): RegExp[] {
  const found: RegExp[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as { type?: unknown; value?: unknown };
    if (n.type === 'regex' && n.value instanceof RegExp) found.push(n.value);
    for (const v of Object.values(node)) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') walk(v);
    }
  };
  walk(ast);
  return found;
}

/** Compiles JSONata source (without the `=` marker). Compiled expressions are cached by source. */
export function compileExpression(source: string): CompileResult {
  const hit = cache.get(source);
  if (hit) return hit;
  if (!source.trim()) return { ok: false, message: 'the expression is empty' };
  let ast: unknown;
  try {
    ast = jsonata(source).ast();
  } catch (err) {
    const e = err as JsonataError;
    const at = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    return {
      ok: false,
      message:
        err instanceof RangeError
          ? 'the expression is nested too deeply'
          : `${e.message ?? 'syntax error'}${at}`,
    };
  }
  try {
    for (const re of regexLiterals(ast))
      compileLinear(re.source, { ignoreCase: re.ignoreCase, multiline: re.multiline });
  } catch (err) {
    if (err instanceof RegexRefused) return { ok: false, message: err.message };
    throw err;
  }
  const expression: CompiledExpression = {
    source,
    ast: () => ast,
    inline: compileInline(ast),
    evaluations: 0,
    readsNodes: undefined,
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  const compiled = { ok: true as const, expression };
  cache.set(source, compiled);
  return compiled;
}

const pool = new ExpressionPool(() => expressionLimits);

/** The pool's process counts (tests and benchmarks read them). */
export function expressionPoolStats(): { started: number; alive: number } {
  return { started: pool.started, alive: pool.alive };
}

/** Stops the pool's processes (a server shutting down; tests). It starts again on the next evaluation. */
export function closeExpressionPool(): void {
  pool.close();
}

function describe(source: string | undefined): string {
  return source ? `\`${source.length > 80 ? `${source.slice(0, 77)}...` : source}\`` : 'expression';
}

function failure(source: string | undefined, reason: string): NodeError {
  return new NodeError(`${describe(source)} failed: ${reason}`, ErrorCodes.EXPRESSION_FAILED);
}

function poolFailure(err: unknown, source: string | undefined): NodeError {
  if (err instanceof NodeError) return err;
  const e = err as JsonataError;
  const reason =
    e.code === 'D1012'
      ? `took longer than ${expressionLimits.timeoutMs} ms`
      : e.code === 'D1011'
        ? `recursed deeper than ${expressionLimits.maxDepth}`
        : err instanceof PoolEvaluationError || err instanceof Error
          ? err.message
          : String(err);
  return failure(source, reason);
}

export interface EvaluateOptions {
  /**
   * The caller's abort signal, asked for only when the expression goes to the pool (making one costs time on
   * the inline path): when it aborts, the pool drops or kills the evaluation. A method, so that a caller that
   * is itself the holder of a signal (a node attempt's context) passes itself and allocates nothing per call.
   */
  poolSignal?(): AbortSignal;
}

/**
 * The inline evaluator's bounds on this thread. Its depth bound is half JSONata's: it counts nesting a little
 * differently, so it leaves the edge to JSONata (which then answers, in the pool) rather than answer where JSONata
 * would fail.
 */
function inlineLimits(cold: boolean): InlineLimits {
  const l = expressionLimits;
  if (derived?.from !== l.maxDepth) {
    derived = { from: l.maxDepth, limits: { ...l, maxDepth: Math.floor(l.maxDepth / 2) } };
  }
  // The other fields are read live, so a change to expressionLimits applies at once (set one by one: an object
  // literal to assign from was one allocation per evaluation).
  const ms = cold ? l.inlineColdMs : l.inlineMs;
  const limits = derived.limits;
  limits.inlineMs = ms;
  limits.inlineWallMs = l.inlineWallMs * (ms / l.inlineMs);
  limits.inlineMaxItems = l.inlineMaxItems;
  limits.inlineMaxString = l.inlineMaxString;
  limits.inlineMaxRegexText = l.inlineMaxRegexText;
  return limits;
}
let derived: { from: number; limits: InlineLimits } | undefined;

/**
 * Evaluates a compiled expression: the value itself when the inline evaluator answers (the common case, no
 * promise and no event-loop turn), otherwise a promise of the pool's answer. Failures are EXPRESSION_FAILED node
 * errors, thrown or rejected.
 */
export function evaluateCompiledNow(
  expression: CompiledExpression,
  data: unknown,
  bindings?: Record<string, unknown>,
  source: string = expression.source,
  options: EvaluateOptions = {},
): unknown {
  if (expression.inline) {
    const cold = expression.evaluations < expressionLimits.inlineColdEvaluations;
    if (cold) expression.evaluations++;
    const outcome = expression.inline(data, bindings, inlineLimits(cold));
    if (outcome.done) {
      try {
        return toPlainValue(outcome.value, expressionLimits.maxResultSize);
      } catch (err) {
        if (err instanceof ValueRefused) throw failure(source, err.message);
        throw err;
      }
    }
  }
  return pool.evaluate(expression.source, data, bindings, options.poolSignal?.()).catch((err: unknown) => {
    throw poolFailure(err, source);
  });
}

/** Evaluates a compiled expression. Failures (including the time bound) are EXPRESSION_FAILED node errors. */
export async function evaluateCompiled(
  expression: CompiledExpression,
  data: unknown,
  bindings?: Record<string, unknown>,
  source?: string,
): Promise<unknown> {
  return evaluateCompiledNow(expression, data, bindings, source);
}

/** Like evaluateExpression, but the value itself when the inline evaluator answers (see evaluateCompiledNow). */
export function evaluateExpressionNow(
  source: string,
  data: unknown,
  bindings?: Record<string, unknown>,
  options?: EvaluateOptions,
): unknown {
  const compiled = compileExpression(source);
  if (!compiled.ok)
    throw new NodeError(`invalid expression: ${compiled.message}`, ErrorCodes.EXPRESSION_FAILED);
  return evaluateCompiledNow(compiled.expression, data, bindings, source, options);
}

export async function evaluateExpression(
  source: string,
  data: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  return evaluateExpressionNow(source, data, bindings);
}

/**
 * Whether an expression (source without the `=` marker) can read `nodes` from its input's root; true when it does
 * not compile (its evaluation fails in any case). A node whose expression cannot is given no ancestors' outputs.
 */
export function expressionReadsNodes(source: string): boolean {
  const compiled = compileExpression(source);
  if (!compiled.ok) return true;
  const e = compiled.expression;
  return (e.readsNodes ??= expressionCanReadNodes(e.ast()));
}

/** Whether any expression in a config can read `nodes` (see expressionReadsNodes). */
export function configReadsNodes(config: unknown): boolean {
  return findExpressions(config).some((site) => expressionReadsNodes(site.source));
}

export interface ExpressionSite {
  path: (string | number)[];
  /** Source without the `=` marker. */
  source: string;
}

/** Every expression string in a config, with its path. */
export function findExpressions(config: unknown): ExpressionSite[] {
  const sites: ExpressionSite[] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    if (isExpression(value)) sites.push({ path, source: value.slice(1) });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(config, []);
  return sites;
}

/** Whether a config holds anything the runtime must rewrite before each run (expressions or `==` literals). */
export function configIsDynamic(config: unknown): boolean {
  if (typeof config === 'string') return isExpression(config) || isEscapedLiteral(config);
  if (Array.isArray(config)) return config.some(configIsDynamic);
  if (config && typeof config === 'object') return Object.values(config).some(configIsDynamic);
  return false;
}

const isPromise = (v: unknown): v is Promise<unknown> => v instanceof Promise;

/**
 * Replaces expressions by their values and `==` literals by their text, returning a new config: synchronously
 * when every expression was answered inline, else a promise.
 */
export function resolveConfigNow(
  config: unknown,
  scope: unknown,
  bindings?: Record<string, unknown>,
  options?: EvaluateOptions,
): unknown {
  if (isExpression(config)) return evaluateExpressionNow(config.slice(1), scope, bindings, options);
  if (isEscapedLiteral(config)) return config.slice(1);
  if (Array.isArray(config)) {
    const items = config.map((v) => resolveConfigNow(v, scope, bindings, options));
    return items.some(isPromise) ? Promise.all(items) : items;
  }
  if (config && typeof config === 'object') {
    const out: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const [k, v] of Object.entries(config)) {
      const r = resolveConfigNow(v, scope, bindings, options);
      if (isPromise(r)) pending.push(r.then((value) => void (out[k] = value)));
      else out[k] = r;
    }
    return pending.length ? Promise.all(pending).then(() => out) : out;
  }
  return config;
}

/** Replaces expressions by their values and `==` literals by their text, returning a new config. */
export async function resolveConfig(
  config: unknown,
  scope: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  return resolveConfigNow(config, scope, bindings);
}

interface AstNode {
  type?: string;
  value?: unknown;
  steps?: AstNode[];
  [key: string]: unknown;
}

/**
 * Node ids an expression reads through `nodes.<id>`, so validation can require them to be ancestors (which keeps
 * a run deterministic: an ancestor has always finished when its descendant's expressions are evaluated).
 */
export function referencedNodes(expression: CompiledExpression): Set<string> {
  const ids = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as AstNode;
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const [first, second] = n.steps;
      if (first?.type === 'name' && first.value === 'nodes' && second?.type === 'name') {
        ids.add(String(second.value));
      }
    }
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') walk(v);
    }
  };
  walk(expression.ast());
  return ids;
}
