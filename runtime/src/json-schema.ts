/**
 * JSON Schema validation of flow inputs against the input node's schema, with field-level errors. Uses an
 * interpreting validator (@cfworker/json-schema): schemas are written by flow authors and must never become code.
 * Their `pattern`s run in a linear-time engine (RE2), never in V8's backtracking one: a published flow checks
 * caller input against them, and `(a+)+$` on 28 × "a" + "!" would otherwise hold the event loop for seconds.
 */
import { format, Validator, type Schema } from '@cfworker/json-schema';
import type { RE2JS } from 're2js';
import { compileLinear, linearRegexLimits, RegexRefused } from './expressions/linear-regex.js';

export interface FieldError {
  /** Dotted path of the field (`applicant.age`, `items.0.amount`); empty for the whole input. */
  path: string;
  message: string;
}

/** Keywords whose errors only summarise errors found deeper down. */
const summaryKeywords = new Set([
  'properties',
  'items',
  'prefixItems',
  'additionalItems',
  'allOf',
  'anyOf',
  'oneOf',
  'if',
  'then',
  'else',
  'contains',
  '$ref',
  'dependentSchemas',
  'unevaluatedProperties',
  'unevaluatedItems',
  'patternProperties',
]);

function pointerToKeys(pointer: string): string[] {
  return pointer
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A check that answers true only for values the full validator accepts: compiled (into closures, never code)
 * from schemas that use nothing but the plain keywords most input schemas are made of. A value it does not vouch
 * for goes to the full validator, which also words the errors. Flow inputs are validated on every run, and the
 * interpreting validator allocates a JSON Pointer string for every property it visits.
 */
type QuickCheck = (value: unknown) => boolean;

const quickChecks = new WeakMap<object, QuickCheck | null>();

const annotationKeywords = new Set([
  'title',
  'description',
  'default',
  'examples',
  '$comment',
  '$schema',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

const isPrimitive = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Code points, as JSON Schema counts string length. */
function codePoints(s: string): number {
  return /[\uD800-\uDFFF]/.test(s) ? [...s].length : s.length;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
    case 'boolean':
      return typeof value === type;
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && value % 1 === 0;
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default:
      return false;
  }
}

/** The quick check of a schema, or undefined when the schema uses a keyword it does not cover. */
function compileQuick(schema: unknown): QuickCheck | undefined {
  if (schema === true) return () => true;
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const checks: QuickCheck[] = [];
  for (const [keyword, arg] of Object.entries(schema as Record<string, unknown>)) {
    if (annotationKeywords.has(keyword)) continue;
    switch (keyword) {
      case 'type': {
        const types = Array.isArray(arg) ? arg : [arg];
        if (!types.every((t) => typeof t === 'string')) return undefined;
        checks.push((v) => types.some((t: string) => typeMatches(t, v)));
        break;
      }
      case 'properties': {
        if (!arg || typeof arg !== 'object' || Array.isArray(arg)) return undefined;
        const props: [string, QuickCheck][] = [];
        for (const [name, sub] of Object.entries(arg)) {
          const check = compileQuick(sub);
          if (!check) return undefined;
          props.push([name, check]);
        }
        checks.push((v) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return true;
          for (const [name, check] of props) {
            if (Object.hasOwn(v, name) && !check((v as Record<string, unknown>)[name])) return false;
          }
          return true;
        });
        break;
      }
      case 'required': {
        if (!Array.isArray(arg) || !arg.every((k) => typeof k === 'string')) return undefined;
        const keys = arg as string[];
        checks.push(
          (v) =>
            typeof v !== 'object' || v === null || Array.isArray(v) || keys.every((k) => Object.hasOwn(v, k)),
        );
        break;
      }
      case 'additionalProperties': {
        if (arg === true) break;
        if (arg !== false) return undefined;
        const declared = (schema as { properties?: unknown }).properties ?? {};
        if (typeof declared !== 'object' || declared === null) return undefined;
        checks.push((v) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return true;
          for (const key in v) if (!Object.hasOwn(declared, key)) return false;
          return true;
        });
        break;
      }
      case 'items': {
        const check = compileQuick(arg);
        if (!check || (schema as { prefixItems?: unknown }).prefixItems !== undefined) return undefined;
        checks.push((v) => !Array.isArray(v) || v.every((item) => check(item)));
        break;
      }
      case 'enum':
      case 'const': {
        const allowed = keyword === 'enum' ? arg : [arg];
        if (!Array.isArray(allowed) || !allowed.every(isPrimitive)) return undefined;
        checks.push((v) => allowed.includes(v));
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        if (typeof arg !== 'number') return undefined;
        const ok =
          keyword === 'minimum'
            ? (n: number) => n >= arg
            : keyword === 'maximum'
              ? (n: number) => n <= arg
              : keyword === 'exclusiveMinimum'
                ? (n: number) => n > arg
                : (n: number) => n < arg;
        checks.push((v) => typeof v !== 'number' || ok(v));
        break;
      }
      case 'minLength':
      case 'maxLength': {
        if (typeof arg !== 'number') return undefined;
        const min = keyword === 'minLength';
        checks.push((v) => typeof v !== 'string' || (min ? codePoints(v) >= arg : codePoints(v) <= arg));
        break;
      }
      case 'minItems':
      case 'maxItems': {
        if (typeof arg !== 'number') return undefined;
        const min = keyword === 'minItems';
        checks.push((v) => !Array.isArray(v) || (min ? v.length >= arg : v.length <= arg));
        break;
      }
      default:
        return undefined;
    }
  }
  // Values the full validator cannot take (undefined, functions) are left to it, so it reports them as it does.
  return (v) => {
    const t = typeof v;
    if (t !== 'object' && t !== 'string' && t !== 'number' && t !== 'boolean') return false;
    for (const check of checks) if (!check(v)) return false;
    return true;
  };
}

function quickCheckOf(schema: Record<string, unknown>): QuickCheck | null {
  let check = quickChecks.get(schema);
  if (check === undefined) {
    check = compileQuick(schema) ?? null;
    quickChecks.set(schema, check);
  }
  return check;
}

/**
 * Patterns reach the validator as formats named `finflow-pattern-<n>`: the validator checks a string against a
 * format by calling a function, where the pattern runs in the linear-time engine. The formats are registered once
 * per index; during one (synchronous) validation they read that schema's patterns from `active`.
 */
const PATTERN_FORMAT = 'finflow-pattern-';

interface PatternRun {
  patterns: RE2JS[];
  /** Characters checked so far in this validation. */
  checked: number;
  /** Pattern formats that failed because the string was over a bound (their message says so). */
  overLimit: Set<number>;
}

let active: PatternRun | undefined;

function patternFormat(index: number): string {
  const name = `${PATTERN_FORMAT}${index}`;
  format[name] ??= (s: string) => {
    const run = active;
    const re = run?.patterns[index];
    if (!run || !re) return true;
    run.checked += s.length;
    if (
      s.length > linearRegexLimits.maxSubjectLength ||
      run.checked > linearRegexLimits.maxCheckedPerValidation
    ) {
      run.overLimit.add(index);
      return false;
    }
    return re.test(s);
  };
  return name;
}

/** Keywords whose value is a schema, a list of schemas, or a map of them. */
const schemaKeywords = {
  one: [
    'additionalProperties',
    'items',
    'additionalItems',
    'contains',
    'propertyNames',
    'not',
    'if',
    'then',
    'else',
    'unevaluatedItems',
    'unevaluatedProperties',
  ],
  list: ['prefixItems', 'items', 'allOf', 'anyOf', 'oneOf'],
  map: ['properties', '$defs', 'definitions', 'dependentSchemas', 'dependencies'],
};

interface Prepared {
  validator: Validator | undefined;
  patterns: RE2JS[];
  /** Keyword locations of `allOf`s added to hold a pattern next to a format of the schema's own. */
  addedAllOf: Set<string>;
  /** Why the schema cannot be used (a pattern the linear-time engine refuses, patternProperties). */
  refused: string | undefined;
}

/**
 * A copy of the schema with each `pattern` replaced by its format (see PATTERN_FORMAT). `patternProperties` is
 * refused: the validator would match its patterns against property names in V8's engine.
 */
function prepareSchema(schema: Record<string, unknown>): Prepared {
  const prepared: Prepared = {
    validator: undefined,
    patterns: [],
    addedAllOf: new Set(),
    refused: undefined,
  };
  const rewrite = (node: unknown, pointer: string): unknown => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return node;
    const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
    if (out['patternProperties'] !== undefined) {
      prepared.refused ??= 'patternProperties is not supported (use propertyNames with a pattern)';
    }
    for (const k of schemaKeywords.one) {
      if (out[k] !== undefined && !Array.isArray(out[k])) out[k] = rewrite(out[k], `${pointer}/${k}`);
    }
    for (const k of schemaKeywords.list) {
      const v = out[k];
      if (Array.isArray(v)) out[k] = v.map((s, i) => rewrite(s, `${pointer}/${k}/${i}`));
    }
    for (const k of schemaKeywords.map) {
      const v = out[k];
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        out[k] = Object.fromEntries(
          Object.entries(v).map(([name, s]) => [
            name,
            rewrite(s, `${pointer}/${k}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`),
          ]),
        );
      }
    }
    if (typeof out['format'] === 'string' && out['format'].startsWith(PATTERN_FORMAT)) delete out['format'];
    const pattern = out['pattern'];
    if (typeof pattern === 'string') {
      delete out['pattern'];
      try {
        prepared.patterns.push(compileLinear(pattern, {}));
      } catch (err) {
        if (!(err instanceof RegexRefused)) throw err;
        prepared.refused ??= err.message;
        return out;
      }
      const name = patternFormat(prepared.patterns.length - 1);
      if (out['format'] === undefined) out['format'] = name;
      else {
        const allOf = Array.isArray(out['allOf']) ? out['allOf'] : [];
        if (!Array.isArray(out['allOf'])) prepared.addedAllOf.add(`${pointer}/allOf`);
        out['allOf'] = [...allOf, { format: name }];
      }
    }
    return out;
  };
  // `$schema` names the draft (2020-12 here); left in, the validator would try to resolve it as a reference.
  const { $schema: _draft, ...rest } = schema;
  const rewritten = rewrite(rest, '#') as Schema;
  if (!prepared.refused) prepared.validator = new Validator(rewritten, '2020-12', false);
  return prepared;
}

const preparedSchemas = new WeakMap<object, Prepared>();

function preparedFor(schema: Record<string, unknown>): Prepared {
  let prepared = preparedSchemas.get(schema);
  if (!prepared) {
    prepared = prepareSchema(schema);
    preparedSchemas.set(schema, prepared);
  }
  return prepared;
}

/** One error as the validator reports it: the instance path as keys, the keyword, the message. */
export interface SchemaError {
  path: string[];
  keyword: string;
  message: string;
}

/**
 * Every error the validator reports for a value, summaries included (an empty list when valid). The editor builds
 * its per-field messages from these; `validateJsonSchema` gives the leaf errors with dotted paths.
 */
export function schemaErrors(schema: Record<string, unknown>, value: unknown): SchemaError[] {
  if (quickCheckOf(schema)?.(value)) return [];
  const prepared = preparedFor(schema);
  if (!prepared.validator) {
    return [
      {
        path: [],
        keyword: 'pattern',
        message: `the schema cannot be used: ${prepared.refused ?? 'invalid'}`,
      },
    ];
  }
  const run: PatternRun = { patterns: prepared.patterns, checked: 0, overLimit: new Set() };
  active = run;
  let result;
  try {
    result = prepared.validator.validate(value);
  } finally {
    active = undefined;
  }
  if (result.valid) return [];
  const errors: SchemaError[] = [];
  for (const e of result.errors) {
    if (e.keyword === 'allOf' && prepared.addedAllOf.has(e.keywordLocation)) continue;
    const formatName = /finflow-pattern-(\d+)/.exec(e.keyword === 'format' ? e.error : '');
    if (formatName) {
      const over = run.overLimit.has(Number(formatName[1]));
      errors.push({
        path: pointerToKeys(e.instanceLocation),
        keyword: 'pattern',
        message: over
          ? `String is too long to check against its pattern (over ${linearRegexLimits.maxSubjectLength.toLocaleString('en')} characters, or ${linearRegexLimits.maxCheckedPerValidation.toLocaleString('en')} in all).`
          : 'String does not match pattern.',
      });
      continue;
    }
    errors.push({ path: pointerToKeys(e.instanceLocation), keyword: e.keyword, message: e.error });
  }
  return errors;
}

/** Validates a value; returns every leaf error (an empty list when valid). */
export function validateJsonSchema(schema: Record<string, unknown>, value: unknown): FieldError[] {
  const all = schemaErrors(schema, value);
  if (!all.length) return [];
  const leaves = all.filter((e) => !summaryKeywords.has(e.keyword));
  const errors = (leaves.length ? leaves : all).map((e) => ({ path: e.path.join('.'), message: e.message }));
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const knownTypes = new Set(['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']);

/**
 * Structural checks of a flow's input schema: an object schema whose properties are schemas with known types.
 * Returns messages with their paths inside the schema.
 */
export function checkInputSchema(schema: unknown): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
    return [{ path: [], message: 'the input schema must be a JSON Schema object' }];
  }
  const walk = (s: unknown, path: (string | number)[]) => {
    if (typeof s === 'boolean') return;
    if (!s || typeof s !== 'object' || Array.isArray(s)) {
      problems.push({ path, message: 'expected a JSON Schema object' });
      return;
    }
    const node = s as Record<string, unknown>;
    const types = Array.isArray(node['type'])
      ? node['type']
      : node['type'] === undefined
        ? []
        : [node['type']];
    for (const t of types) {
      if (typeof t !== 'string' || !knownTypes.has(t))
        problems.push({ path: [...path, 'type'], message: `unknown type ${String(t)}` });
    }
    if (
      node['required'] !== undefined &&
      (!Array.isArray(node['required']) || node['required'].some((r) => typeof r !== 'string'))
    ) {
      problems.push({ path: [...path, 'required'], message: '`required` must be a list of property names' });
    }
    if (typeof node['pattern'] === 'string') {
      try {
        compileLinear(node['pattern'], {});
      } catch (err) {
        problems.push({
          path: [...path, 'pattern'],
          message:
            err instanceof RegexRefused ? err.message : `invalid regular expression ${node['pattern']}`,
        });
      }
    }
    if (node['patternProperties'] !== undefined) {
      problems.push({
        path: [...path, 'patternProperties'],
        message: 'patternProperties is not supported (use propertyNames with a pattern)',
      });
    }
    const props = node['properties'];
    if (props !== undefined) {
      if (!props || typeof props !== 'object' || Array.isArray(props)) {
        problems.push({ path: [...path, 'properties'], message: '`properties` must be an object' });
      } else {
        for (const [k, v] of Object.entries(props)) walk(v, [...path, 'properties', k]);
      }
    }
    if (node['items'] !== undefined && !Array.isArray(node['items'])) walk(node['items'], [...path, 'items']);
  };
  walk(schema, []);
  const root = schema as Record<string, unknown>;
  if (root['type'] !== undefined && root['type'] !== 'object') {
    problems.push({
      path: ['type'],
      message: 'a flow input is a JSON object: the schema type must be "object"',
    });
  }
  return problems;
}
