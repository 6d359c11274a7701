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

function pointerToPath(pointer: string): string {
  return pointer
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** Validates a value; returns every leaf error (an empty list when valid). */
export function validateJsonSchema(schema: Record<string, unknown>, value: unknown): FieldError[] {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new Validator(schema as Schema, '2020-12', false);
    validators.set(schema, validator);
  }
  const result = validator.validate(value);
  if (result.valid) return [];
  const leaves = result.errors.filter((e) => !summaryKeywords.has(e.keyword));
  const errors = (leaves.length ? leaves : result.errors).map((e) => ({
    path: pointerToPath(e.instanceLocation),
    message: e.error,
  }));
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
