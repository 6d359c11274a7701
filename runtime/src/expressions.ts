/**
 * JSONata expressions between nodes. A config string that starts with `=` is an expression, evaluated before the
 * node runs over `{ input, nodes: { <ancestor id>: outputs } }`; a literal string that starts with `=` is written
 * with `==`. Expressions are parsed at validation time and evaluated with a time and depth bound. JSONata is an
 * interpreter: nothing here evaluates JavaScript.
 */
import jsonata from 'jsonata';
import { ErrorCodes, NodeError } from './errors.js';

export const EXPRESSION_PREFIX = '=';

export const expressionLimits = { timeoutMs: 1_000, maxDepth: 300 };

export function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('=') && !value.startsWith('==');
}

/** `==x` is the literal string `=x`. */
export function isEscapedLiteral(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('==');
}

export type CompiledExpression = ReturnType<typeof jsonata>;

interface JsonataError {
  message?: string;
  position?: number;
  token?: string;
  code?: string;
}

const cache = new Map<string, CompiledExpression>();
const CACHE_LIMIT = 2_000;

export type CompileResult = { ok: true; expression: CompiledExpression } | { ok: false; message: string };

/** Compiles JSONata source (without the `=` marker). Compiled expressions are cached by source. */
export function compileExpression(source: string): CompileResult {
  const hit = cache.get(source);
  if (hit) return { ok: true, expression: hit };
  if (!source.trim()) return { ok: false, message: 'the expression is empty' };
  try {
    const expression = jsonata(source, {
      timeout: expressionLimits.timeoutMs,
      stack: expressionLimits.maxDepth,
    });
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(source, expression);
    return { ok: true, expression };
  } catch (err) {
    const e = err as JsonataError;
    const at = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    return { ok: false, message: `${e.message ?? 'syntax error'}${at}` };
  }
}

/**
 * Plain JSON out: JSONata sequences (arrays with extra properties) become plain arrays, at any depth;
 * functions and lambdas are refused. Objects are copied only where something inside them changed.
 */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (
    typeof value === 'function' ||
    (value && typeof value === 'object' && ('_jsonata_lambda' in value || '_jsonata_function' in value))
  ) {
    throw new NodeError('the expression returned a function, not a value', ErrorCodes.EXPRESSION_FAILED);
  }
  if (value && typeof value === 'object') {
    let copy: Record<string, unknown> | undefined;
    // for...in rather than Object.entries: no array per object (results are plain objects, checked own keys).
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      const v: unknown = (value as Record<string, unknown>)[k];
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) continue;
      const n = normalize(v);
      if (n !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = n;
    }
    return copy ?? value;
  }
  return value;
}

/** Evaluates a compiled expression. Failures (including the time bound) are EXPRESSION_FAILED node errors. */
export async function evaluateCompiled(
  expression: CompiledExpression,
  data: unknown,
  bindings?: Record<string, unknown>,
  source?: string,
): Promise<unknown> {
  try {
    return normalize(await expression.evaluate(data, bindings));
  } catch (err) {
    if (err instanceof NodeError) throw err;
    const e = err as JsonataError;
    const what = source ? `\`${source.length > 80 ? `${source.slice(0, 77)}...` : source}\`` : 'expression';
    const reason =
      e.code === 'D1012'
        ? `took longer than ${expressionLimits.timeoutMs} ms`
        : e.code === 'D1011'
          ? `recursed deeper than ${expressionLimits.maxDepth}`
          : (e.message ?? String(err));
    throw new NodeError(`${what} failed: ${reason}`, ErrorCodes.EXPRESSION_FAILED);
  }
}

export async function evaluateExpression(
  source: string,
  data: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  const compiled = compileExpression(source);
  if (!compiled.ok)
    throw new NodeError(`invalid expression: ${compiled.message}`, ErrorCodes.EXPRESSION_FAILED);
  return evaluateCompiled(compiled.expression, data, bindings, source);
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

/** Replaces expressions by their values and `==` literals by their text, returning a new config. */
export async function resolveConfig(
  config: unknown,
  scope: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  if (isExpression(config)) return evaluateExpression(config.slice(1), scope, bindings);
  if (isEscapedLiteral(config)) return config.slice(1);
  if (Array.isArray(config)) return Promise.all(config.map((v) => resolveConfig(v, scope, bindings)));
  if (config && typeof config === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) out[k] = await resolveConfig(v, scope, bindings);
    return out;
  }
  return config;
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
