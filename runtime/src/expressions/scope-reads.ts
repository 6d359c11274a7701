/**
 * Whether an expression can see the `nodes` of its scope (its ancestors' outputs), decided once from its syntax,
 * so that a node whose expression cannot read them is not given them: building that scope walked every ancestor
 * at every step, O(steps) a step (issue 18, round 6). The answer only ever errs towards "it can": an expression
 * said not to read `nodes` gets an empty object there, which it cannot tell from the real one.
 *
 * How an expression reaches the root of its input, where `nodes` lives: the name `nodes` (anywhere, quoted or not);
 * `$` and `$$`; the wildcards `*` and `**` and the parent operator `%`; and JSONata's built-in functions whose
 * signature takes the context as their first argument when it is left out (`$keys()`, `$lookup("nodes")`,
 * `$each(fn)`, `$string()`, ...), including one handed on as a value or called partially. `$eval` evaluates a
 * string against the context. A lambda with a signature may take the context the same way. Anything of these
 * answers "it can".
 */

/** Built-ins whose signature never takes the context (no `-` in it): safe however they are called or passed. */
const CONTEXT_FREE = new Set([
  'sum',
  'count',
  'max',
  'min',
  'average',
  'join',
  'random',
  'map',
  'zip',
  'filter',
  'single',
  'reduce',
  'append',
  'exists',
  'merge',
  'reverse',
  'error',
  'assert',
  'type',
  'sort',
  'shuffle',
  'distinct',
  'now',
  'millis',
]);

/**
 * Built-ins that take the context when their first argument is left out, with their number of parameters: a call
 * that passes them all cannot have the context put in front (no parameter of theirs takes several arguments).
 * `eval` is not here: it reads the context whatever it is given.
 */
const CONTEXT_TAKING: ReadonlyMap<string, number> = new Map([
  ['string', 2],
  ['substring', 3],
  ['substringBefore', 2],
  ['substringAfter', 2],
  ['lowercase', 1],
  ['uppercase', 1],
  ['length', 1],
  ['trim', 1],
  ['pad', 3],
  ['match', 3],
  ['contains', 2],
  ['replace', 4],
  ['split', 3],
  ['formatNumber', 3],
  ['formatBase', 2],
  ['formatInteger', 2],
  ['parseInteger', 2],
  ['number', 1],
  ['floor', 1],
  ['ceil', 1],
  ['round', 2],
  ['abs', 1],
  ['sqrt', 1],
  ['power', 2],
  ['boolean', 1],
  ['not', 1],
  ['base64encode', 1],
  ['base64decode', 1],
  ['encodeUrlComponent', 1],
  ['encodeUrl', 1],
  ['decodeUrlComponent', 1],
  ['decodeUrl', 1],
  ['toMillis', 2],
  ['fromMillis', 3],
]);

/** Built-ins that read the context however they are called, or take it as their first argument. */
const BUILTIN_OTHERS = new Set(['eval', 'sift', 'keys', 'lookup', 'spread', 'each', 'clone']);

const isBuiltin = (name: string) =>
  CONTEXT_FREE.has(name) || CONTEXT_TAKING.has(name) || BUILTIN_OTHERS.has(name);

interface AstNode {
  type?: unknown;
  value?: unknown;
  procedure?: AstNode;
  arguments?: AstNode[];
  signature?: unknown;
  lhs?: unknown;
  focus?: unknown;
  index?: unknown;
}

/**
 * Whether an expression (JSONata's parsed tree) can read `nodes` from the root of its input. Names the expression
 * binds itself (`:=`, lambda parameters, `@$x`, `#$i`) are its own values, unless they reuse a built-in's name (a
 * binding is scoped to its block, so the built-in may still be what a call elsewhere reaches).
 */
export function expressionCanReadNodes(ast: unknown): boolean {
  const bound = new Set<string>();
  const seen = new Set<unknown>();
  let reads = false;
  const bind = (name: unknown) => {
    if (typeof name !== 'string') return;
    if (isBuiltin(name)) reads = true;
    bound.add(name);
  };
  // First the names bound anywhere (a call may come before its binding in the tree).
  const collect = (node: unknown) => {
    if (reads || !node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as AstNode;
    if (n.type === 'bind') {
      const lhs = n.lhs as AstNode | undefined;
      if (lhs?.type === 'variable') bind(lhs.value);
    }
    if (n.type === 'lambda') for (const a of n.arguments ?? []) bind(a.value);
    bind(n.focus);
    bind(n.index);
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') collect(v);
    }
  };
  collect(ast);
  seen.clear();
  const walk = (node: unknown) => {
    if (reads || !node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as AstNode;
    switch (n.type) {
      case 'name':
        if (n.value === 'nodes') reads = true;
        break;
      case 'wildcard':
      case 'descendant':
      case 'parent':
      case 'partial':
        reads = true;
        return;
      case 'lambda':
        if (n.signature !== undefined) reads = true;
        break;
      case 'variable':
        if (variableReads(n.value, undefined, bound)) reads = true;
        break;
      case 'function': {
        const p = n.procedure;
        if (p?.type === 'variable') {
          if (variableReads(p.value, n.arguments?.length ?? 0, bound)) reads = true;
          for (const a of n.arguments ?? []) walk(a);
          return;
        }
        break;
      }
      default:
        break;
    }
    for (const v of Object.values(n)) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') walk(v);
    }
  };
  walk(ast);
  return reads;
}

/**
 * Whether a variable reaches the root: `$` and `$$` do; a built-in does unless it never takes the context, or it
 * is called (`args`: how many arguments) with every parameter given. Other names are the expression's own values
 * or the caller's bindings.
 */
function variableReads(name: unknown, args: number | undefined, bound: ReadonlySet<string>): boolean {
  if (typeof name !== 'string' || name === '' || name === '$') return true;
  if (bound.has(name)) return false;
  if (CONTEXT_FREE.has(name)) return false;
  const params = CONTEXT_TAKING.get(name);
  if (params !== undefined) return args === undefined || args < params;
  return BUILTIN_OTHERS.has(name);
}
