/**
 * JSON Schema validation of flow inputs against the input node's schema, with field-level errors. Uses an
 * interpreting validator (@cfworker/json-schema): schemas are written by flow authors and must never become code.
 */
import { Validator, type Schema } from '@cfworker/json-schema';

export interface FieldError {
  /** Dotted path of the field (`applicant.age`, `items.0.amount`); empty for the whole input. */
  path: string;
  message: string;
}

const validators = new WeakMap<object, Validator>();

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

function validatorFor(schema: Record<string, unknown>): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    // `$schema` names the draft (2020-12 here); left in, the validator would try to resolve it as a reference.
    const { $schema: _draft, ...rest } = schema;
    validator = new Validator(rest as Schema, '2020-12', false);
    validators.set(schema, validator);
  }
  return validator;
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
  const result = validatorFor(schema).validate(value);
  if (result.valid) return [];
  return result.errors.map((e) => ({
    path: pointerToKeys(e.instanceLocation),
    keyword: e.keyword,
    message: e.error,
  }));
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
        new RegExp(node['pattern'], 'u');
      } catch {
        problems.push({
          path: [...path, 'pattern'],
          message: `invalid regular expression ${node['pattern']}`,
        });
      }
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
