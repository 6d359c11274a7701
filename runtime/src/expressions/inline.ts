/**
 * The inline evaluator: a synchronous JSONata evaluator for the expressions real flows are made of (paths,
 * filters, arithmetic, comparisons, conditionals, blocks and variables, object and array constructors, order-by,
 * lambdas and the pure built-in functions). It is compiled from JSONata's own AST into closures (no code is
 * generated) and mirrors JSONata's evaluator step by step: its sequences, singleton unwrapping, filters and
 * function signatures (JSONata's own signature objects validate the arguments, and JSONata's own implementations
 * of the pure built-ins do the work). A property test holds it equal to JSONata.
 *
 * It never decides anything JSONata would answer differently: whatever it does not cover, any error, and any
 * evaluation that outgrows its budget (time, depth, sequence and string sizes: see expressionLimits) makes it give
 * up, and the caller hands the expression to the isolated pool, where JSONata itself answers. Expressions are pure,
 * so running one again there is safe. This keeps the event loop free: the inline evaluator stops within its time
 * budget, and nothing it builds can reach a size that stalls or crashes the process.
 */
import jsonata from 'jsonata';
import type { Matcher, RE2JS } from 're2js';
import { compileLinear } from './linear-regex.js';
import { mergeObjects, objectOf } from './fast-object.js';

export interface InlineLimits {
  /**
   * CPU time the inline evaluator may spend before handing the expression over. CPU time, not wall time: on a
   * busy machine the thread is preempted, and that waiting is no work of ours that delays anyone else.
   */
  inlineMs: number;
  /** Wall time after which it hands over whatever the CPU clock says (a cap for a badly overloaded machine). */
  inlineWallMs: number;
  /** Longest sequence or array it builds. */
  inlineMaxItems: number;
  /** Longest string it builds (and largest value it serialises). */
  inlineMaxString: number;
  /** Deepest nesting of evaluations. */
  maxDepth: number;
  /** Longest text a regular expression is matched against inline (a longer one goes to the pool). */
  inlineMaxRegexText: number;
}

/** Thrown to give up: the expression goes to the pool. One object, no stack trace. */
const GIVE_UP: unique symbol = Symbol('inline evaluator gives up');

/** An expression (or part of one) the inline evaluator does not cover; found at compile time. */
class NotCovered extends Error {}

type Seq = unknown[] & {
  sequence?: boolean;
  keepSingleton?: boolean;
  outerWrapper?: boolean;
  cons?: boolean;
  tupleStream?: boolean;
};

interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  steps?: AstNode[];
  stages?: { type: string; expr: AstNode }[];
  predicate?: { type: string; expr: AstNode }[];
  group?: { lhs: [AstNode, AstNode][] };
  lhs?: AstNode | [AstNode, AstNode][];
  rhs?: AstNode;
  expression?: AstNode;
  expressions?: AstNode[];
  condition?: AstNode;
  then?: AstNode;
  else?: AstNode;
  procedure?: AstNode;
  arguments?: AstNode[];
  body?: AstNode;
  signature?: Signature;
  terms?: { descending: boolean; expression: AstNode }[];
  keepArray?: boolean;
  keepSingletonArray?: boolean;
  consarray?: boolean;
  thunk?: boolean;
  tuple?: boolean;
  focus?: string;
  index?: string;
  ancestor?: unknown;
}

interface Signature {
  validate(args: unknown[], context: unknown): unknown[];
}

/** One evaluation's state: its budget, depth and the timestamp `$now()` and `$millis()` give. */
class Run {
  fuel = FUEL_CHUNK;
  depth = 0;
  /** Set when the time budget ran out (as opposed to giving up on something not covered). */
  outOfTime = false;
  private readonly started = performance.now();
  /** CPU time (µs) and wall time when the clock was first read: most evaluations end before that. */
  private cpu0 = -1;
  private wall0 = 0;
  private stamp: number | undefined;
  constructor(readonly limits: InlineLimits) {}
  /** Charges work; reads the clocks every FUEL_CHUNK units. */
  tick(units = 1): void {
    if ((this.fuel -= units) > 0) return;
    this.fuel = FUEL_CHUNK;
    const now = performance.now();
    if (now - this.started > this.limits.inlineWallMs) this.outOfTime = true;
    else {
      const c = process.cpuUsage();
      const cpu = c.user + c.system;
      if (this.cpu0 < 0) {
        this.cpu0 = cpu;
        this.wall0 = now - this.started;
      } else if ((cpu - this.cpu0) / 1000 + this.wall0 > this.limits.inlineMs) this.outOfTime = true;
    }
    if (this.outOfTime) throw GIVE_UP;
  }
  get timestamp(): number {
    return (this.stamp ??= Date.now());
  }
}

const FUEL_CHUNK = 512;

type Code = (input: unknown, env: Frame, run: Run) => unknown;

/** Variables in scope: JSONata's frames (a block or a function call opens one). */
class Frame {
  private vars: Map<string, unknown> | undefined;
  /**
   * `$$` (bound as `$`) in a slot of its own: every evaluation's root frame binds it, and a Map for that one
   * variable was the largest allocation of an evaluation (issue 18, round 6).
   */
  private root: unknown;
  private hasRoot = false;
  constructor(private readonly parent: Frame | undefined) {}
  bind(name: string, value: unknown): void {
    if (name === '$') {
      this.root = value;
      this.hasRoot = true;
    } else (this.vars ??= new Map()).set(name, value);
  }
  lookup(name: string): unknown {
    if (name === '$') {
      if (this.hasRoot) return this.root;
    } else if (this.vars?.has(name)) return this.vars.get(name);
    return this.parent ? this.parent.lookup(name) : builtins.get(name);
  }
}

// ---------------------------------------------------------------- values, as JSONata's evaluator sees them

function createSequence(...items: unknown[]): Seq {
  const s: Seq = [];
  s.sequence = true;
  if (items.length === 1) s.push(items[0]);
  return s;
}

const isSequence = (v: unknown): v is Seq => Array.isArray(v) && (v as Seq).sequence === true;

/** A function value: a JavaScript function (so JSONata's natives see one) carrying how to call it. */
interface Callable {
  (): never;
  arity: number;
  invoke(args: unknown[], context: unknown, run: Run): unknown;
}

const isFunction = (v: unknown): v is Callable => typeof v === 'function';

function callable(arity: number, invoke: Callable['invoke']): Callable {
  const f = function () {
    throw GIVE_UP;
  } as unknown as Callable;
  f.arity = arity;
  f.invoke = invoke;
  return f;
}

/** JSONata's isNumeric: a non-NaN number; infinities are an error there, so here they give up. */
function isNumeric(n: unknown): n is number {
  if (typeof n !== 'number' || Number.isNaN(n)) return false;
  if (!Number.isFinite(n)) throw GIVE_UP;
  return true;
}

function isArrayOfNumbers(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (!isNumeric(x)) return false;
  return true;
}

function isArrayOfStrings(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** JSONata's effective boolean value. */
function toBoolean(arg: unknown): boolean | undefined {
  if (arg === undefined) return undefined;
  if (Array.isArray(arg)) {
    if (arg.length === 1) return toBoolean(arg[0]);
    return arg.length > 1 && arg.some((v) => toBoolean(v));
  }
  if (typeof arg === 'string') return arg.length > 0;
  if (isNumeric(arg)) return arg !== 0;
  if (arg !== null && typeof arg === 'object') return Object.keys(arg).length > 0;
  return arg === true;
}

const boolize = (v: unknown) => toBoolean(v) ?? false;

function isDeepEqual(lhs: unknown, rhs: unknown, run: Run): boolean {
  run.tick();
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let i = 0; i < lhs.length; i++) if (!isDeepEqual(lhs[i], rhs[i], run)) return false;
      return true;
    }
    // JSONata compares own property names, arrays' included: an array and an object can be equal there.
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length) return false;
    for (let i = 0; i < lkeys.length; i++) if (lkeys[i] !== rkeys[i]) return false;
    for (const k of lkeys) {
      if (!isDeepEqual((lhs as Record<string, unknown>)[k], (rhs as Record<string, unknown>)[k], run))
        return false;
    }
    return true;
  }
  return false;
}

function checkItems(n: number, run: Run): void {
  if (n > run.limits.inlineMaxItems) throw GIVE_UP;
  run.tick(1 + (n >> 4));
}

function checkString(s: string, run: Run): string {
  if (s.length > run.limits.inlineMaxString) throw GIVE_UP;
  run.tick(1 + (s.length >> 8));
  return s;
}

/**
 * Gives up unless `value` written out as JSON stays within the string bound. Counts shared parts each time they
 * occur, as JSON.stringify would write them.
 */
function checkSerialisedSize(value: unknown, run: Run): void {
  let size = 0;
  const max = run.limits.inlineMaxString;
  const walk = (v: unknown, depth: number): void => {
    run.tick();
    if (depth > 500) throw GIVE_UP;
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const x of v) walk(x, depth + 1);
    } else if (v !== null && typeof v === 'object') {
      size += 2;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        size += k.length + 4;
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    } else size += 24;
    if (size > max) throw GIVE_UP;
  };
  walk(value, 0);
}

/** JSONata's `append` (sequence concatenation). */
function append(a: unknown, b: unknown, run: Run): unknown {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const left = Array.isArray(a) ? a : createSequence(a);
  const right = Array.isArray(b) ? b : [b];
  checkItems(left.length + right.length, run);
  return left.concat(right);
}

/** JSONata's name lookup (`fn.lookup`): arrays are mapped and flattened one level. */
function lookup(input: unknown, key: string, run: Run): unknown {
  if (Array.isArray(input)) {
    const result = createSequence();
    for (const item of input) {
      const res = lookup(item, key, run);
      if (res === undefined) continue;
      if (Array.isArray(res)) for (const v of res) result.push(v);
      else result.push(res);
    }
    checkItems(result.length, run);
    return result;
  }
  if (input !== null && typeof input === 'object' && Object.hasOwn(input, key)) {
    return (input as Record<string, unknown>)[key];
  }
  return undefined;
}

function flatten(arg: unknown, into: unknown[], run: Run): unknown[] {
  if (Array.isArray(arg)) for (const item of arg) flatten(item, into, run);
  else into.push(arg);
  run.tick();
  return into;
}

function recurseDescendants(input: unknown, results: unknown[], run: Run): void {
  run.tick();
  if (!Array.isArray(input)) results.push(input);
  if (Array.isArray(input)) for (const m of input) recurseDescendants(m, results, run);
  else if (input !== null && typeof input === 'object') {
    for (const key of Object.keys(input))
      recurseDescendants((input as Record<string, unknown>)[key], results, run);
  }
  if (results.length > run.limits.inlineMaxItems) throw GIVE_UP;
}

// ---------------------------------------------------------------- regular expressions

/** What a regex literal evaluates to: JSONata's matcher closure (`str => { match, start, end, groups, next }`). */
interface RegexMatcher extends Callable {
  regex: true;
}

interface MatchResult {
  match: string;
  start: number;
  end: number;
  groups: (string | undefined)[];
  next: Callable;
}

const isRegexMatcher = (v: unknown): v is RegexMatcher => isFunction(v) && (v as RegexMatcher).regex === true;

/** JSONata's evaluateRegex, over the linear-time engine, with its `lastIndex` walk. */
function regexMatcher(re: RE2JS, run: Run): RegexMatcher {
  let lastIndex = 0;
  let text: string | undefined;
  let matcher: Matcher | undefined;
  const exec = (str: string): { groups: (string | undefined)[]; index: number; end: number } | null => {
    if (str.length > run.limits.inlineMaxRegexText) throw GIVE_UP;
    run.tick(1 + ((str.length - lastIndex) >> 6));
    if (lastIndex > str.length) {
      lastIndex = 0;
      return null;
    }
    if (text !== str || !matcher) {
      matcher = re.matcher(str);
      text = str;
    }
    if (!matcher.find(lastIndex)) {
      lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let i = 0; i <= re.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
    lastIndex = matcher.end();
    return { groups, index: matcher.start(), end: matcher.end() };
  };
  const closure = (str: unknown, fromIndex?: unknown): MatchResult | undefined => {
    if (typeof str !== 'string') throw GIVE_UP;
    lastIndex = typeof fromIndex === 'number' && fromIndex ? fromIndex : 0;
    const m = exec(str);
    if (!m) return undefined;
    const whole = m.groups[0] as string;
    return {
      match: whole,
      start: m.index,
      end: m.index + whole.length,
      groups: m.groups.length > 1 ? m.groups.slice(1) : [],
      next: callable(0, () => {
        if (lastIndex >= str.length) return undefined;
        const next = closure(str, lastIndex);
        // JSONata's D1004: a pattern that matches the empty string would never progress.
        if (next && next.match === '') throw GIVE_UP;
        return next;
      }),
    };
  };
  const f = callable(2, (args) => closure(args[0], args[1])) as RegexMatcher;
  f.regex = true;
  return f;
}

/** JSONata's evaluateMatcher, for regex matchers only (a lambda posing as a matcher goes to the pool). */
function firstMatch(matcher: unknown, str: string, run: Run): MatchResult | undefined {
  if (!isRegexMatcher(matcher)) throw GIVE_UP;
  return matcher.invoke([str], null, run) as MatchResult | undefined;
}

function nextMatch(m: MatchResult, run: Run): MatchResult | undefined {
  return m.next.invoke([], null, run) as MatchResult | undefined;
}

/** JSONata's `$n` substitution for a string replacement of a regex match. */
function substitute(replacement: string, m: MatchResult): string {
  let out = '';
  let position = 0;
  let index = replacement.indexOf('$', position);
  while (index !== -1 && position < replacement.length) {
    out += replacement.substring(position, index);
    position = index + 1;
    const dollarVal = replacement.charAt(position);
    if (dollarVal === '$') {
      out += '$';
      position++;
    } else if (dollarVal === '0') {
      out += m.match;
      position++;
    } else {
      const maxDigits = m.groups.length === 0 ? 1 : Math.floor(Math.log(m.groups.length) * Math.LOG10E) + 1;
      index = parseInt(replacement.substring(position, position + maxDigits), 10);
      if (maxDigits > 1 && index > m.groups.length) {
        index = parseInt(replacement.substring(position, position + maxDigits - 1), 10);
      }
      if (!isNaN(index)) {
        if (m.groups.length > 0) {
          const sub = m.groups[index - 1];
          if (sub !== undefined) out += sub;
        }
        position += index.toString().length;
      } else {
        out += '$';
      }
    }
    index = replacement.indexOf('$', position);
  }
  return out + replacement.substring(position);
}

// ---------------------------------------------------------------- function application

/** JSONata's `apply` for the function values the inline evaluator makes. */
function applyFunction(proc: unknown, args: unknown[], context: unknown, run: Run): unknown {
  if (!isFunction(proc)) throw GIVE_UP;
  return proc.invoke(args, context, run);
}

function validateArgs(signature: Signature | undefined, args: unknown[], context: unknown): unknown[] {
  if (!signature) return args;
  try {
    return signature.validate(args, context);
  } catch {
    throw GIVE_UP;
  }
}

/** The arguments a higher-order function passes to its callback, by the callback's arity (JSONata's hofFuncArgs). */
function hofArgs(func: Callable, a: unknown, b: unknown, c: unknown): unknown[] {
  const args = [a];
  if (func.arity >= 2) args.push(b);
  if (func.arity >= 3) args.push(c);
  return args;
}

/** JSONata's merge sort, in the same comparison order (so an inconsistent comparator sorts as there). */
function mergeSort(arr: unknown[], swap: (a: unknown, b: unknown) => boolean, run: Run): unknown[] {
  if (arr.length <= 1) return arr;
  const middle = Math.floor(arr.length / 2);
  const left = mergeSort(arr.slice(0, middle), swap, run);
  const right = mergeSort(arr.slice(middle), swap, run);
  const merged: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    run.tick();
    if (swap(left[i], right[j])) merged.push(right[j++]);
    else merged.push(left[i++]);
  }
  while (i < left.length) merged.push(left[i++]);
  while (j < right.length) merged.push(right[j++]);
  return merged;
}

// ---------------------------------------------------------------- built-in functions

interface NativeDefinition {
  implementation: (...args: unknown[]) => unknown;
  signature?: Signature;
}

interface Focus {
  environment: undefined;
  input: unknown;
  options: undefined;
  createSequence: typeof createSequence;
}

/** JSONata's own definitions of its built-ins (implementation and signature), fetched once. */
const natives = new Map<string, NativeDefinition>();
{
  const names = [
    'sum',
    'count',
    'max',
    'min',
    'average',
    'string',
    'substring',
    'substringBefore',
    'substringAfter',
    'lowercase',
    'uppercase',
    'length',
    'trim',
    'pad',
    'match',
    'contains',
    'split',
    'replace',
    'join',
    'formatNumber',
    'formatBase',
    'number',
    'floor',
    'ceil',
    'round',
    'abs',
    'sqrt',
    'power',
    'random',
    'boolean',
    'not',
    'map',
    'zip',
    'filter',
    'single',
    'reduce',
    'sift',
    'keys',
    'lookup',
    'append',
    'exists',
    'spread',
    'merge',
    'reverse',
    'each',
    'assert',
    'type',
    'sort',
    'shuffle',
    'distinct',
    'base64encode',
    'base64decode',
    'encodeUrlComponent',
    'encodeUrl',
    'decodeUrlComponent',
    'decodeUrl',
    'toMillis',
    'fromMillis',
  ];
  // Evaluating `$name` hands back JSONata's definition of the built-in; an array of them fetches all at once.
  const defs = (await jsonata(`[${names.map((n) => `$${n}`).join(', ')}]`).evaluate(
    {},
  )) as NativeDefinition[];
  names.forEach((name, i) => natives.set(name, defs[i] as NativeDefinition));
}

function native(name: string): NativeDefinition {
  const def = natives.get(name);
  if (!def) throw new Error(`JSONata has no built-in $${name}`);
  return def;
}

type Impl = (this: Focus, run: Run, ...args: unknown[]) => unknown;

/** Guards run on the validated arguments before JSONata's implementation, for the built-ins that can grow. */
const guards: Record<string, (run: Run, args: unknown[]) => void> = {
  string(run, [arg]) {
    if (arg !== null && typeof arg === 'object') checkSerialisedSize(arg, run);
  },
  pad(run, [str, width, char]) {
    if (typeof str !== 'string' || typeof width !== 'number') return;
    const padLength = Math.abs(Math.trunc(width)) - str.length;
    const unit = typeof char === 'string' && char.length > 0 ? char.length : 1;
    if (padLength * unit > run.limits.inlineMaxString) throw GIVE_UP;
  },
  join(run, [strs, sep]) {
    if (!Array.isArray(strs)) return;
    let total = 0;
    const s = typeof sep === 'string' ? sep.length : 0;
    for (const x of strs) total += (typeof x === 'string' ? x.length : 0) + s;
    if (total > run.limits.inlineMaxString) throw GIVE_UP;
  },
  distinct(run, [arr]) {
    if (Array.isArray(arr)) run.tick((arr.length * arr.length) >> 2);
  },
  toMillis(_run, args) {
    // A picture turns into a regular expression inside JSONata: that form runs in the pool.
    if (args[1] !== undefined) throw GIVE_UP;
  },
};

/** Built-ins JSONata implements asynchronously (they call functions back): synchronous ports of its code. */
const ports: Record<string, Impl> = {
  map(run, arr, func) {
    if (arr === undefined) return undefined;
    const result = this.createSequence();
    const a = arr as unknown[];
    for (let i = 0; i < a.length; i++) {
      const res = invokeCallback(func, hofArgs(func as Callable, a[i], i, a), run);
      if (res !== undefined) result.push(res);
    }
    return result;
  },
  filter(run, arr, func) {
    if (arr === undefined) return undefined;
    const result = this.createSequence();
    const a = arr as unknown[];
    for (let i = 0; i < a.length; i++) {
      if (toBoolean(invokeCallback(func, hofArgs(func as Callable, a[i], i, a), run))) result.push(a[i]);
    }
    return result;
  },
  single(run, arr, func) {
    if (arr === undefined) return undefined;
    let found = false;
    let result: unknown;
    const a = arr as unknown[];
    for (let i = 0; i < a.length; i++) {
      const positive =
        func === undefined
          ? true
          : toBoolean(invokeCallback(func, hofArgs(func as Callable, a[i], i, a), run));
      if (positive) {
        if (found) throw GIVE_UP;
        result = a[i];
        found = true;
      }
    }
    if (!found) throw GIVE_UP;
    return result;
  },
  reduce(run, sequence, func, init) {
    if (sequence === undefined) return undefined;
    const f = func as Callable;
    if (f.arity < 2) throw GIVE_UP;
    const s = sequence as unknown[];
    let result: unknown;
    let index: number;
    if (init === undefined && s.length > 0) {
      result = s[0];
      index = 1;
    } else {
      result = init;
      index = 0;
    }
    while (index < s.length) {
      const args = [result, s[index]];
      if (f.arity >= 3) args.push(index);
      if (f.arity >= 4) args.push(s);
      result = invokeCallback(f, args, run);
      index++;
    }
    return result;
  },
  merge(_run, objects) {
    if (objects === undefined) return undefined;
    // JSONata's result turns into a dictionary past about 16 keys; this one stays fast (fast-object.ts).
    return mergeObjects(objects as unknown[]) ?? native('merge').implementation(objects);
  },
  each(run, obj, func) {
    const result = this.createSequence();
    const o = obj as Record<string, unknown>;
    for (const key of typeof obj === 'object' && obj !== null ? Object.keys(obj) : []) {
      const val = invokeCallback(func, hofArgs(func as Callable, o[key], key, o), run);
      if (val !== undefined) result.push(val);
    }
    return result;
  },
  sift(run, arg, func) {
    const result: Record<string, unknown> = Object.create(null);
    const o = arg as Record<string, unknown>;
    for (const key of typeof arg === 'object' && arg !== null ? Object.keys(arg) : []) {
      const entry = o[key];
      if (toBoolean(invokeCallback(func, hofArgs(func as Callable, entry, key, o), run))) result[key] = entry;
    }
    return Object.keys(result).length === 0 ? undefined : result;
  },
  sort(run, arr, comparator) {
    if (arr === undefined) return undefined;
    const a = arr as unknown[];
    if (a.length <= 1) return a;
    let swap: (x: unknown, y: unknown) => boolean;
    if (comparator === undefined) {
      if (!isArrayOfNumbers(a) && !isArrayOfStrings(a)) throw GIVE_UP;
      swap = (x, y) => (x as number) > (y as number);
    } else {
      // JavaScript truthiness of the comparator's answer, as JSONata's `if (await comp(...))` has it.
      swap = (x, y) => Boolean(invokeCallback(comparator, [x, y], run));
    }
    return mergeSort(a, swap, run);
  },
  contains(run, str, token) {
    if (str === undefined || token === undefined) return undefined;
    if (typeof token === 'string') return (str as string).indexOf(token) !== -1;
    return firstMatch(token, str as string, run) !== undefined;
  },
  match(run, str, regex, limit) {
    if (str === undefined) return undefined;
    if ((limit as number) < 0) throw GIVE_UP;
    const result = this.createSequence();
    if (limit === undefined || (limit as number) > 0) {
      let count = 0;
      let m = firstMatch(regex, str as string, run);
      while (m !== undefined && (limit === undefined || count < (limit as number))) {
        result.push({ match: m.match, index: m.start, groups: m.groups });
        m = nextMatch(m, run);
        count++;
      }
      checkItems(result.length, run);
    }
    return result;
  },
  split(run, str, separator, limit) {
    if (str === undefined) return undefined;
    if ((limit as number) < 0) throw GIVE_UP;
    if (limit !== undefined && !((limit as number) > 0)) return [];
    const s = str as string;
    if (typeof separator === 'string') {
      const result = s.split(separator, limit as number | undefined);
      checkItems(result.length, run);
      return result;
    }
    const result: string[] = [];
    let count = 0;
    let m = firstMatch(separator, s, run);
    if (m === undefined) return [s];
    let start = 0;
    while (m !== undefined && (limit === undefined || count < (limit as number))) {
      result.push(s.substring(start, m.start));
      start = m.end;
      m = nextMatch(m, run);
      count++;
    }
    if (limit === undefined || count < (limit as number)) result.push(s.substring(start));
    checkItems(result.length, run);
    return result;
  },
  replace(run, str, pattern, replacement, limit) {
    if (str === undefined) return undefined;
    if (pattern === '' || (limit as number) < 0) throw GIVE_UP;
    const s = str as string;
    if (limit !== undefined && !((limit as number) > 0)) return s;
    let result = '';
    let position = 0;
    let count = 0;
    if (typeof pattern === 'string') {
      if (typeof replacement !== 'string') throw GIVE_UP;
      let index = s.indexOf(pattern, position);
      while (index !== -1 && (limit === undefined || count < (limit as number))) {
        result += s.substring(position, index) + replacement;
        if (result.length > run.limits.inlineMaxString) throw GIVE_UP;
        run.tick();
        position = index + pattern.length;
        count++;
        index = s.indexOf(pattern, position);
      }
      return checkString(result + s.substring(position), run);
    }
    let m = firstMatch(pattern, s, run);
    if (m === undefined) return s;
    while (m !== undefined && (limit === undefined || count < (limit as number))) {
      result += s.substring(position, m.start);
      const replaced =
        typeof replacement === 'string' ? substitute(replacement, m) : invokeCallback(replacement, [m], run);
      if (typeof replaced !== 'string') throw GIVE_UP;
      result += replaced;
      if (result.length > run.limits.inlineMaxString) throw GIVE_UP;
      position = m.start + m.match.length;
      count++;
      m = nextMatch(m, run);
    }
    return checkString(result + s.substring(position), run);
  },
  now(run, picture, timezone) {
    return native('fromMillis').implementation.call(this, run.timestamp, picture, timezone);
  },
  millis(run) {
    return run.timestamp;
  },
};

/** Signatures of the ported built-ins that JSONata binds per expression rather than in its static frame. */
const extraSignatures: Record<string, Signature> = {};
{
  const [now, millis] = (await jsonata('[$now, $millis]').evaluate({})) as NativeDefinition[];
  if (now?.signature) extraSignatures['now'] = now.signature;
  if (millis?.signature) extraSignatures['millis'] = millis.signature;
}

function invokeCallback(func: unknown, args: unknown[], run: Run): unknown {
  return applyFunction(func, args, null, run);
}

/** What JSONata's signature check counts as an object (`o`): not null, an array or a function. */
const isObjectArg = (v: unknown): boolean =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  (v as { _jsonata_function?: unknown })._jsonata_function !== true &&
  (v as { _jsonata_lambda?: unknown })._jsonata_lambda !== true;

/**
 * Arguments that JSONata's signature check would hand back as they are, recognised without it (it builds the
 * arguments' type string and matches a regular expression on every call): `$merge` of one array of objects, every
 * step of a merge chain. Anything else goes through the check.
 */
const fastSignatures: Partial<Record<string, (args: unknown[]) => boolean>> = {
  merge: (args) => args.length === 1 && Array.isArray(args[0]) && (args[0] as unknown[]).every(isObjectArg),
};

/** Built-ins by name, as function values: ports, guarded JSONata implementations, or "run this in the pool". */
const builtins = new Map<string, Callable>();
{
  const focusFor = (context: unknown): Focus => ({
    environment: undefined,
    input: context,
    options: undefined,
    createSequence,
  });
  for (const [name, def] of natives) {
    const port = ports[name];
    const guard = guards[name];
    builtins.set(
      name,
      callable(def.implementation.length, (args, context, run) => {
        run.tick();
        const validated = fastSignatures[name]?.(args) ? args : validateArgs(def.signature, args, context);
        for (const a of validated) {
          if (Array.isArray(a)) checkItems(a.length, run);
          else if (typeof a === 'string' && a.length > run.limits.inlineMaxString) throw GIVE_UP;
        }
        guard?.(run, validated);
        let result: unknown;
        try {
          result = port
            ? port.call(focusFor(context), run, ...validated)
            : def.implementation.apply(focusFor(context), validated);
        } catch (err) {
          if (err === GIVE_UP) throw err;
          throw GIVE_UP;
        }
        if (result instanceof Promise) throw GIVE_UP;
        if (typeof result === 'string') checkString(result, run);
        else if (Array.isArray(result)) checkItems(result.length, run);
        return result;
      }),
    );
  }
  for (const name of ['now', 'millis'] as const) {
    const port = ports[name] as Impl;
    const signature = extraSignatures[name];
    builtins.set(
      name,
      callable(name === 'now' ? 2 : 0, (args, context, run) => {
        const validated = validateArgs(signature, args, context);
        try {
          return port.call(focusFor(context), run, ...validated);
        } catch {
          throw GIVE_UP;
        }
      }),
    );
  }
  // Built-ins left to the pool: $eval, $clone, $error, pictures parsed into V8 regular expressions
  // ($parseInteger, $formatInteger).
  for (const name of ['eval', 'clone', 'error', 'parseInteger', 'formatInteger']) {
    builtins.set(
      name,
      callable(1, () => {
        throw GIVE_UP;
      }),
    );
  }
}

// ---------------------------------------------------------------- the compiler

interface CompileContext {
  /** Inside an array constructor item or an object constructor value, which JSONata evaluates concurrently. */
  concurrent: boolean;
}

/** Compiles a node as JSONata's `evaluate` runs it: the node, then its predicates and group, then unwrapping. */
function compileNode(expr: AstNode, ctx: CompileContext): Code {
  const core = compileCore(expr, ctx);
  const filters = (expr.predicate ?? []).map((p) => {
    if (p.type !== 'filter') throw new NotCovered(`predicate ${p.type}`);
    return compileFilter(p.expr, ctx);
  });
  const group = expr.type !== 'path' && expr.group ? compileGroup(expr.group.lhs, ctx) : undefined;
  const keepArray = expr.keepArray === true;
  return (input, env, run) => {
    if (++run.depth > run.limits.maxDepth) throw GIVE_UP;
    run.tick();
    let result = core(input, env, run);
    for (const filter of filters) result = filter(result, env, run);
    if (group) result = group(result, env, run);
    if (result && isSequence(result) && !result.tupleStream) {
      if (keepArray) result.keepSingleton = true;
      if (result.length === 0) result = undefined;
      else if (result.length === 1) result = result.keepSingleton ? result : result[0];
    }
    run.depth--;
    return result;
  };
}

/** JSONata's evaluateFilter. */
function compileFilter(
  predicate: AstNode,
  ctx: CompileContext,
): (input: unknown, env: Frame, run: Run) => unknown {
  if (predicate.type === 'number') {
    const at = Math.floor(predicate.value as number);
    return (input) => {
      const items = Array.isArray(input) ? input : createSequence(input);
      const index = at < 0 ? items.length + at : at;
      const item: unknown = items[index];
      if (item === undefined) return createSequence();
      if (Array.isArray(item)) return item;
      return createSequence(item);
    };
  }
  const test = compileNode(predicate, ctx);
  return (input, env, run) => {
    const results = createSequence();
    const items = Array.isArray(input) ? input : createSequence(input);
    for (let index = 0; index < items.length; index++) {
      const item: unknown = items[index];
      let res = test(item, env, run);
      if (isNumeric(res)) res = [res];
      if (isArrayOfNumbers(res)) {
        for (const n of res as number[]) {
          let i = Math.floor(n);
          if (i < 0) i = items.length + i;
          if (i === index) results.push(item);
        }
      } else if (toBoolean(res)) results.push(item);
    }
    return results;
  };
}

/** JSONata's evaluateGroupExpression (object constructors, and `{...}` after a path). */
function compileGroup(
  pairs: [AstNode, AstNode][],
  ctx: CompileContext,
): (input: unknown, env: Frame, run: Run) => unknown {
  const inner: CompileContext = { ...ctx, concurrent: true };
  const compiled = pairs.map(([k, v]) => [compileNode(k, ctx), compileNode(v, inner)] as const);
  return (input, env, run) => {
    // JSONata pushes an undefined entry into an empty input array, so a literal object is still made. It mutates
    // that array, which the rest of the evaluation may see (`[[1..0]][{"": true}]` is `[null]`): an empty array
    // that is a value is left to JSONata; an empty sequence of our own making is replaced by a copy.
    if (Array.isArray(input) && input.length === 0 && !isSequence(input)) throw GIVE_UP;
    if (!Array.isArray(input)) {
      const made = singleGroup(compiled, input, env, run);
      if (made !== undefined) return made;
    }
    let items = Array.isArray(input) ? input : createSequence(input);
    if (items.length === 0) items = [undefined];
    // An object, not a Map: JSONata visits the groups in object key order (integer-like keys first).
    const groups: Record<string, { data: unknown; exprIndex: number }> = Object.create(null);
    for (const item of items) {
      for (let pairIndex = 0; pairIndex < compiled.length; pairIndex++) {
        const key = (compiled[pairIndex] as (typeof compiled)[number])[0](item, env, run);
        if (key === undefined) continue;
        if (typeof key !== 'string' || key === '_jsonata_lambda' || key === '_jsonata_function')
          throw GIVE_UP;
        const entry = groups[key];
        if (entry) {
          if (entry.exprIndex !== pairIndex) throw GIVE_UP;
          entry.data = append(entry.data, item, run);
        } else groups[key] = { data: item, exprIndex: pairIndex };
      }
    }
    const keys: string[] = [];
    const values: unknown[] = [];
    let protoKey = false;
    for (const key of Object.keys(groups)) {
      const entry = groups[key] as { data: unknown; exprIndex: number };
      const value = (compiled[entry.exprIndex] as (typeof compiled)[number])[1](entry.data, env, run);
      if (value === undefined) continue;
      protoKey ||= key === '__proto__';
      keys.push(key);
      values.push(value);
    }
    // A plain object V8 keeps fast (fast-object.ts), which a result then needs no copy into; one with a key named
    // `__proto__` is made without a prototype, so that the key stays data.
    if (!protoKey) return objectOf(keys, values);
    const result: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < keys.length; i++) result[keys[i] as string] = values[i];
    return result;
  };
}

/** An array index as a property key: V8 and JSONata enumerate such keys first, in numeric order. */
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/**
 * An object constructor over one input item (not an array: the common `{"k": v}`), without the groups an input
 * sequence needs: each pair's key, then its value, in the pairs' order, which is the order JSONata's groups give
 * when no key repeats and none is an array index. Undefined, having built nothing, when one does (or is
 * `__proto__`, or there are more than 16 pairs): the caller then takes the general way, which evaluates the keys
 * again (they have no effects). Up to 16 keys set on `{}` make the object `objectOf` makes (fast-object.ts).
 */
function singleGroup(
  compiled: readonly (readonly [Code, Code])[],
  input: unknown,
  env: Frame,
  run: Run,
): Record<string, unknown> | undefined {
  const n = compiled.length;
  if (n > 16) return undefined;
  // Keys by pair (undefined: the pair gives no key); one pair, the most common, needs no list.
  let only: string | undefined;
  const keys: (string | undefined)[] | undefined = n > 1 ? new Array<string | undefined>(n) : undefined;
  for (let i = 0; i < n; i++) {
    const key = (compiled[i] as readonly [Code, Code])[0](input, env, run);
    if (key === undefined) continue;
    if (
      typeof key !== 'string' ||
      key === '__proto__' ||
      key === '_jsonata_lambda' ||
      key === '_jsonata_function' ||
      (INDEX_KEY.test(key) && Number(key) < 4_294_967_295) ||
      (keys !== undefined && keys.includes(key))
    )
      return undefined;
    if (keys) keys[i] = key;
    else only = key;
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = keys ? keys[i] : only;
    if (key === undefined) continue;
    const value = (compiled[i] as readonly [Code, Code])[1](input, env, run);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

type StepCode = (input: Seq | unknown[], env: Frame, run: Run, lastStep: boolean) => unknown;

function compileStep(step: AstNode, first: boolean, ctx: CompileContext): StepCode {
  if (step.tuple || step.focus !== undefined || step.index !== undefined || step.ancestor !== undefined) {
    throw new NotCovered('a path with @, # or %');
  }
  const stages = (step.stages ?? []).map((s) => {
    if (s.type !== 'filter') throw new NotCovered(`stage ${s.type}`);
    return compileFilter(s.expr, ctx);
  });
  if (first && step.consarray) {
    const code = compileNode(step, ctx);
    return (input, env, run) => code(input, env, run);
  }
  if (step.type === 'sort') {
    const sort = compileSort(step, ctx);
    return (input, env, run) => {
      let result = sort(input, env, run);
      for (const stage of stages) result = stage(result, env, run);
      return result;
    };
  }
  const code = compileNode(step, ctx);
  return (input, env, run, lastStep) => {
    const result: unknown[] = [];
    for (const item of input) {
      let res = code(item, env, run);
      for (const stage of stages) res = stage(res, env, run);
      if (res !== undefined) result.push(res);
    }
    if (lastStep && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0]))
      return result[0];
    const out = createSequence();
    for (const res of result) {
      if (!Array.isArray(res) || (res as Seq).cons) out.push(res);
      else for (const v of res) out.push(v);
    }
    checkItems(out.length, run);
    return out;
  };
}

/** JSONata's evaluateSortExpression (the `^(...)` step). */
function compileSort(step: AstNode, ctx: CompileContext): (input: unknown, env: Frame, run: Run) => unknown {
  const terms = (step.terms ?? []).map((t) => ({
    descending: t.descending,
    code: compileNode(t.expression, ctx),
  }));
  return (input, env, run) => {
    if (input === undefined) return undefined;
    const items = input as unknown[];
    if (items.length <= 1) return items;
    const swap = (a: unknown, b: unknown): boolean => {
      let comp = 0;
      for (let i = 0; comp === 0 && i < terms.length; i++) {
        const term = terms[i] as (typeof terms)[number];
        const aa = term.code(a, env, run);
        const bb = term.code(b, env, run);
        const at = typeof aa;
        const bt = typeof bb;
        if (at === 'undefined') {
          comp = bt === 'undefined' ? 0 : 1;
          continue;
        }
        if (bt === 'undefined') {
          comp = -1;
          continue;
        }
        if (!(at === 'string' || at === 'number') || !(bt === 'string' || bt === 'number') || at !== bt) {
          throw GIVE_UP;
        }
        if (aa === bb) continue;
        comp = (aa as number) < (bb as number) ? -1 : 1;
        if (term.descending) comp = -comp;
      }
      return comp === 1;
    };
    return mergeSort(items, swap, run);
  };
}

function compilePath(expr: AstNode, ctx: CompileContext): Code {
  const steps = (expr.steps ?? []).map((s, i) => compileStep(s, i === 0, ctx));
  const firstIsVariable = expr.steps?.[0]?.type === 'variable';
  const keepSingletonArray = expr.keepSingletonArray === true;
  const group = expr.group ? compileGroup(expr.group.lhs, ctx) : undefined;
  const last = steps.length - 1;
  const names = plainNames(expr);
  return (input, env, run) => {
    if (names && !Array.isArray(input)) {
      // `data` or `data.a.b` over one item whose values on the way are not arrays: what the steps' sequences of one
      // item come to once the path's result is unwrapped (compileNode), without making them.
      let v = input;
      for (let i = 0; i < names.length && v !== undefined; i++) {
        const key = names[i] as string;
        v =
          v !== null && typeof v === 'object' && Object.hasOwn(v, key)
            ? (v as Record<string, unknown>)[key]
            : undefined;
        if (Array.isArray(v)) break;
      }
      if (!Array.isArray(v)) return v;
    }
    let inputSequence: unknown[] = Array.isArray(input) && !firstIsVariable ? input : createSequence(input);
    let resultSequence: unknown;
    for (let i = 0; i <= last; i++) {
      resultSequence = (steps[i] as StepCode)(inputSequence, env, run, i === last);
      if (resultSequence === undefined || (resultSequence as unknown[]).length === 0) break;
      inputSequence = resultSequence as unknown[];
    }
    if (keepSingletonArray) {
      let rs = resultSequence as Seq;
      if (Array.isArray(rs) && rs.cons && !rs.sequence) rs = createSequence(rs);
      // JSONata flags whatever came out; only a sequence of ours can carry the flag without touching the data.
      if (isSequence(rs)) rs.keepSingleton = true;
      else if (!Array.isArray(rs)) throw GIVE_UP;
      resultSequence = rs;
    }
    if (group) resultSequence = group(resultSequence, env, run);
    return resultSequence;
  };
}

/**
 * The names of a path made of plain names only (`data.a.b`: no filters, groups, sorts, array constructors or
 * singleton marks on it or its steps), whose value over one item compilePath may read directly; else undefined.
 */
function plainNames(expr: AstNode): string[] | undefined {
  const steps = expr.steps ?? [];
  if (!steps.length || expr.keepSingletonArray || expr.group || expr.keepArray || expr.predicate?.length)
    return undefined;
  const names: string[] = [];
  for (const step of steps) {
    if (
      step.type !== 'name' ||
      typeof step.value !== 'string' ||
      step.stages?.length ||
      step.predicate?.length ||
      step.group ||
      step.keepArray ||
      step.consarray ||
      step.tuple ||
      step.focus !== undefined ||
      step.index !== undefined ||
      step.ancestor !== undefined
    )
      return undefined;
    names.push(step.value);
  }
  return names;
}

function compileFunctionCall(
  expr: AstNode,
  ctx: CompileContext,
): (input: unknown, env: Frame, run: Run, applyTo?: { context: unknown }) => unknown {
  const procedure = compileNode(expr.procedure as AstNode, ctx);
  const args = (expr.arguments ?? []).map((a) => compileNode(a, ctx));
  return (input, env, run, applyTo) => {
    const proc = procedure(input, env, run);
    const values: unknown[] = applyTo ? [applyTo.context] : [];
    for (const arg of args) values.push(arg(input, env, run));
    return applyFunction(proc, values, input, run);
  };
}

/**
 * A tail call, as JSONata's thunk: its procedure and arguments, applied by the calling function's `invoke` with
 * that call's context. Its value skips the post-processing (singleton unwrapping) of the nodes it passes through on
 * the way out, exactly as JSONata's trampoline does.
 */
class TailCall {
  constructor(
    readonly proc: unknown,
    readonly args: unknown[],
  ) {}
}

function compileLambda(expr: AstNode, ctx: CompileContext): Code {
  if (expr.thunk) {
    const call = expr.body as AstNode;
    const procedure = compileNode(call.procedure as AstNode, ctx);
    const args = (call.arguments ?? []).map((a) => compileNode(a, ctx));
    return (input, env, run) => {
      const proc = procedure(input, env, run);
      return new TailCall(
        proc,
        args.map((a) => a(input, env, run)),
      );
    };
  }
  const body = compileNode(expr.body as AstNode, { ...ctx, concurrent: false });
  const params = (expr.arguments ?? []).map((a) => {
    if (a.type !== 'variable') throw new NotCovered('a lambda parameter that is not a variable');
    return a.value as string;
  });
  const signature = expr.signature;
  return (input, env) =>
    callable(params.length, (args, context, run) => {
      const validated = validateArgs(signature, args, context);
      const frame = new Frame(env);
      params.forEach((p, i) => frame.bind(p, validated[i]));
      let result = body(input, frame, run);
      while (result instanceof TailCall) result = applyFunction(result.proc, result.args, context, run);
      return result;
    });
}

function compileBinary(expr: AstNode, ctx: CompileContext): Code {
  const lhs = compileNode(expr.lhs as AstNode, ctx);
  const rhs = compileNode(expr.rhs as AstNode, ctx);
  const op = expr.value as string;
  switch (op) {
    case 'and':
      return (input, env, run) => boolize(lhs(input, env, run)) && boolize(rhs(input, env, run));
    case 'or':
      return (input, env, run) => boolize(lhs(input, env, run)) || boolize(rhs(input, env, run));
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        if ((l !== undefined && !isNumeric(l)) || (r !== undefined && !isNumeric(r))) throw GIVE_UP;
        if (l === undefined || r === undefined) return undefined;
        const a = l as number;
        const b = r as number;
        return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
      };
    case '=':
    case '!=':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        if (l === undefined || r === undefined) return false;
        if (isFunction(l) || isFunction(r)) throw GIVE_UP;
        const eq = isDeepEqual(l, r, run);
        return op === '=' ? eq : !eq;
      };
    case '<':
    case '<=':
    case '>':
    case '>=':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        const lt = typeof l;
        const rt = typeof r;
        const lc = lt === 'undefined' || lt === 'string' || lt === 'number';
        const rc = rt === 'undefined' || rt === 'string' || rt === 'number';
        if (!lc || !rc) throw GIVE_UP;
        if (lt === 'undefined' || rt === 'undefined') return undefined;
        if (lt !== rt) throw GIVE_UP;
        const a = l as number;
        const b = r as number;
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      };
    case '&':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        return checkString(stringOf(l, run).concat(stringOf(r, run)), run);
      };
    case '..':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        if ((l !== undefined && !Number.isInteger(l)) || (r !== undefined && !Number.isInteger(r)))
          throw GIVE_UP;
        if (l === undefined || r === undefined) return undefined;
        const a = l as number;
        const b = r as number;
        if (a > b) return undefined;
        checkItems(b - a + 1, run);
        const result = createSequence();
        for (let i = a; i <= b; i++) result.push(i);
        return result;
      };
    case 'in':
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const r = rhs(input, env, run);
        if (l === undefined || r === undefined) return false;
        const list = Array.isArray(r) ? r : [r];
        run.tick(list.length >> 4);
        return list.some((x) => x === l);
      };
    default:
      throw new NotCovered(`operator ${op}`);
  }
}

/** `$string` as `&` uses it: JSONata's implementation, after the size guard. */
function stringOf(v: unknown, run: Run): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') checkSerialisedSize(v, run);
  try {
    return native('string').implementation(v) as string;
  } catch {
    throw GIVE_UP;
  }
}

function compileArrayConstructor(expr: AstNode, ctx: CompileContext): Code {
  const inner: CompileContext = { ...ctx, concurrent: true };
  const items = (expr.expressions ?? []).map((item) => ({
    nested: item.value === '[',
    code: compileNode(item, inner),
  }));
  const cons = expr.consarray === true;
  return (input, env, run) => {
    let result: unknown = [];
    for (const item of items) {
      const value = item.code(input, env, run);
      if (value === undefined) continue;
      if (item.nested) (result as unknown[]).push(value);
      else result = append(result, value, run);
    }
    checkItems((result as unknown[]).length, run);
    if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
    return result;
  };
}

function compileCore(expr: AstNode, ctx: CompileContext): Code {
  switch (expr.type) {
    case 'path':
      return compilePath(expr, ctx);
    case 'binary':
      return compileBinary(expr, ctx);
    case 'unary': {
      if (expr.value === '-') {
        const operand = compileNode(expr.expression as AstNode, ctx);
        return (input, env, run) => {
          const v = operand(input, env, run);
          if (v === undefined) return undefined;
          if (!isNumeric(v)) throw GIVE_UP;
          return -v;
        };
      }
      if (expr.value === '[') return compileArrayConstructor(expr, ctx);
      if (expr.value === '{') {
        const group = compileGroup(expr.lhs as [AstNode, AstNode][], ctx);
        return (input, env, run) => group(input, env, run);
      }
      throw new NotCovered(`unary ${String(expr.value)}`);
    }
    case 'name': {
      const key = expr.value as string;
      return (input, _env, run) => lookup(input, key, run);
    }
    case 'string':
    case 'number':
    case 'value': {
      const value = expr.value;
      return () => value;
    }
    case 'wildcard':
      return (input, _env, run) => {
        let results: unknown = createSequence();
        let from = input;
        if (Array.isArray(from) && (from as Seq).outerWrapper && from.length > 0) from = from[0];
        if (from !== null && typeof from === 'object' && !isFunction(from)) {
          for (const key of Object.keys(from)) {
            const value = (from as Record<string, unknown>)[key];
            if (Array.isArray(value)) results = append(results, flatten(value, [], run), run);
            else (results as unknown[]).push(value);
          }
        }
        checkItems((results as unknown[]).length, run);
        return results;
      };
    case 'descendant':
      return (input, _env, run) => {
        if (input === undefined) return undefined;
        const results = createSequence();
        recurseDescendants(input, results, run);
        return results.length === 1 ? results[0] : results;
      };
    case 'condition': {
      const condition = compileNode(expr.condition as AstNode, ctx);
      const then = compileNode(expr.then as AstNode, ctx);
      const otherwise = expr.else ? compileNode(expr.else, ctx) : undefined;
      return (input, env, run) => {
        if (toBoolean(condition(input, env, run))) return then(input, env, run);
        return otherwise?.(input, env, run);
      };
    }
    case 'block': {
      const inner: CompileContext = { ...ctx, concurrent: false };
      const parts = (expr.expressions ?? []).map((e) => compileNode(e, inner));
      return (input, env, run) => {
        const frame = new Frame(env);
        let result: unknown;
        for (const part of parts) result = part(input, frame, run);
        return result;
      };
    }
    case 'bind': {
      // JSONata evaluates array items and object values concurrently: a binding there races with its readers.
      if (ctx.concurrent) throw new NotCovered('a binding inside a constructor');
      const name = (expr.lhs as AstNode).value as string;
      const rhs = compileNode(expr.rhs as AstNode, ctx);
      return (input, env, run) => {
        const value = rhs(input, env, run);
        env.bind(name, value);
        return value;
      };
    }
    case 'variable': {
      const name = expr.value as string;
      if (name === '')
        return (input) => (input && (input as Seq).outerWrapper ? (input as unknown[])[0] : input);
      return (_input, env) => env.lookup(name);
    }
    case 'function': {
      const call = compileFunctionCall(expr, ctx);
      return (input, env, run) => call(input, env, run);
    }
    case 'lambda':
      return compileLambda(expr, ctx);
    case 'apply': {
      const lhs = compileNode(expr.lhs as AstNode, ctx);
      const rhs = expr.rhs as AstNode;
      if (rhs.type === 'function') {
        // JSONata calls the function directly here, without its evaluate wrapper.
        const call = compileFunctionCall(rhs, ctx);
        return (input, env, run) => call(input, env, run, { context: lhs(input, env, run) });
      }
      const func = compileNode(rhs, ctx);
      return (input, env, run) => {
        const l = lhs(input, env, run);
        const f = func(input, env, run);
        if (!isFunction(f) || isFunction(l)) throw GIVE_UP;
        return applyFunction(f, [l], null, run);
      };
    }
    case 'regex': {
      const literal = expr.value as RegExp;
      let re: RE2JS;
      try {
        re = compileLinear(literal.source, { ignoreCase: literal.ignoreCase, multiline: literal.multiline });
      } catch {
        throw new NotCovered('a regular expression the linear-time engine refuses');
      }
      return (_input, _env, run) => regexMatcher(re, run);
    }
    default:
      // partial application, transform, parent (%): the pool runs these.
      throw new NotCovered(expr.type);
  }
}

/** A compiled inline program, or undefined when the expression uses something only the pool runs. */
export type InlineProgram = (
  data: unknown,
  bindings: Record<string, unknown> | undefined,
  limits: InlineLimits,
) => InlineOutcome;

/** `outOfTime`: the inline evaluator gave up because its time budget ran out. */
export type InlineOutcome = { done: true; value: unknown } | { done: false; outOfTime?: true };

const NOT_DONE: InlineOutcome = { done: false };
const OUT_OF_TIME: InlineOutcome = { done: false, outOfTime: true };

export function compileInline(ast: unknown): InlineProgram | undefined {
  let program: Code;
  try {
    program = compileNode(ast as AstNode, { concurrent: false });
  } catch (err) {
    if (err instanceof NotCovered) return undefined;
    throw err;
  }
  return (data, bindings, limits) => {
    const run = new Run(limits);
    const root = new Frame(undefined);
    if (bindings) for (const k of Object.keys(bindings)) root.bind(k, bindings[k]);
    root.bind('$', data);
    let input = data;
    if (Array.isArray(input) && !isSequence(input)) {
      const wrapped = createSequence(input);
      wrapped.outerWrapper = true;
      input = wrapped;
    }
    try {
      return { done: true, value: program(input, root, run) };
    } catch (err) {
      // GIVE_UP, or anything JSONata's own code threw (an error there too): JSONata answers in the pool.
      void err;
      return run.outOfTime ? OUT_OF_TIME : NOT_DONE;
    }
  };
}
