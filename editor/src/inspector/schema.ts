/**
 * Reading a config JSON Schema (as zod emits it) to build a form: which widget a field gets, its title and help
 * in the UI language, and validation of a value (the runtime's JSON Schema validator), reported per field path.
 */
import { schemaErrors, type SchemaError } from '@finflow/runtime/json-schema';
import type { JsonSchema } from '../api/types.js';
import type { Lang } from '../i18n/index.js';

export type Widget =
  | 'code'
  | 'prompt'
  | 'expression'
  | 'secret'
  | 'connection'
  | 'legacy-endpoint'
  | 'json'
  | 'json-schema'
  | 'textarea';

export type FieldKind =
  | { kind: 'monaco'; widget: 'code' | 'prompt' | 'expression' | 'json' | 'json-schema' }
  | { kind: 'secret' }
  | { kind: 'connection'; kinds: string[] }
  | { kind: 'legacy-endpoint' }
  | { kind: 'textarea' }
  | { kind: 'enum'; options: (string | number | boolean)[] }
  | { kind: 'string' }
  | { kind: 'number'; integer: boolean }
  | { kind: 'boolean' }
  | { kind: 'array' }
  | { kind: 'object' }
  | { kind: 'json' };

const widgets = new Set([
  'code',
  'prompt',
  'expression',
  'secret',
  'connection',
  'legacy-endpoint',
  'json',
  'json-schema',
  'textarea',
]);

/** JSON Schema allows `true`/`false` as schemas; forms treat them as "anything". */
export function asSchema(x: unknown): JsonSchema {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as JsonSchema) : {};
}

export function resolveRef(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = asSchema(schema);
  for (let i = 0; i < 8 && typeof s['$ref'] === 'string'; i++) {
    const ref = s['$ref'] as string;
    if (!ref.startsWith('#/')) break;
    let cur: unknown = root;
    for (const part of ref.slice(2).split('/'))
      cur = (cur as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (!cur || typeof cur !== 'object') break;
    const { $ref: _ignored, ...rest } = s;
    s = { ...(cur as JsonSchema), ...rest };
  }
  return s;
}

/** Strips `null` from unions (nullable fields) and returns the single remaining branch, if any. */
export function unwrapNullable(
  schema: JsonSchema,
  root: JsonSchema,
): { schema: JsonSchema; nullable: boolean } {
  const s = resolveRef(schema, root);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    const nonNull = (branches as JsonSchema[]).filter((b) => resolveRef(b, root)['type'] !== 'null');
    if (nonNull.length === 1 && nonNull.length < branches.length) {
      const { [key]: _drop, ...rest } = s;
      return { schema: { ...rest, ...resolveRef(nonNull[0] as JsonSchema, root) }, nullable: true };
    }
  }
  if (Array.isArray(s['type']) && (s['type'] as string[]).includes('null')) {
    const types = (s['type'] as string[]).filter((t) => t !== 'null');
    return { schema: { ...s, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema: s, nullable: false };
}

function constOptions(s: JsonSchema, root: JsonSchema): (string | number | boolean)[] | null {
  if (Array.isArray(s['enum'])) return s['enum'] as (string | number | boolean)[];
  if ('const' in s) return [s['const'] as string];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    const opts: (string | number | boolean)[] = [];
    for (const b of branches as JsonSchema[]) {
      const r = resolveRef(b, root);
      if ('const' in r) opts.push(r['const'] as string);
      else if (Array.isArray(r['enum'])) opts.push(...(r['enum'] as string[]));
      else return null;
    }
    return opts;
  }
  return null;
}

/** The widget for a field: the schema's `widget` first, then `enum`, then the JSON type. */
export function fieldKind(schema: JsonSchema, root: JsonSchema): FieldKind {
  const s = schema;
  const widget = s['widget'];
  if (typeof widget === 'string' && widgets.has(widget)) {
    if (widget === 'secret') return { kind: 'secret' };
    if (widget === 'connection') {
      const kinds = s['connectionKinds'];
      return {
        kind: 'connection',
        kinds: Array.isArray(kinds) ? kinds.filter((k): k is string => typeof k === 'string') : [],
      };
    }
    if (widget === 'legacy-endpoint') return { kind: 'legacy-endpoint' };
    if (widget === 'textarea') return { kind: 'textarea' };
    return { kind: 'monaco', widget: widget as 'code' | 'prompt' | 'expression' | 'json' | 'json-schema' };
  }
  const options = constOptions(s, root);
  if (options) return { kind: 'enum', options };
  const type = Array.isArray(s['type']) ? undefined : s['type'];
  switch (type) {
    case 'string':
      return { kind: 'string' };
    case 'number':
      return { kind: 'number', integer: false };
    case 'integer':
      return { kind: 'number', integer: true };
    case 'boolean':
      return { kind: 'boolean' };
    case 'array':
      return { kind: 'array' };
    case 'object':
      return s['properties'] && typeof s['properties'] === 'object' ? { kind: 'object' } : { kind: 'json' };
    default:
      return { kind: 'json' };
  }
}

/**
 * Node definitions put Chinese text beside the English in a field's meta, `zh: { title, description, options }`
 * (options maps an enum value to its label); zod copies it into the JSON Schema as is.
 */
function chinese(schema: JsonSchema, lang: Lang): Record<string, unknown> | undefined {
  const zh = schema['zh'];
  return lang === 'zh-CN' && zh && typeof zh === 'object' && !Array.isArray(zh)
    ? (zh as Record<string, unknown>)
    : undefined;
}

function text(x: unknown): string | undefined {
  return typeof x === 'string' && x ? x : undefined;
}

/** A field's label: the title in the UI language, else the English title, else the property name. */
export function fieldTitle(schema: JsonSchema, name: string, lang: Lang): string {
  return text(chinese(schema, lang)?.['title']) ?? text(schema['title']) ?? name;
}

/** A field's help text in the UI language, falling back to the English description. */
export function fieldDescription(schema: JsonSchema, lang: Lang): string | undefined {
  return text(chinese(schema, lang)?.['description']) ?? text(schema['description']);
}

/**
 * The label of an enum option: its Chinese label from the first schema that has one (an array's items, then the
 * array), else the value itself. Values stay what is stored; only the label changes.
 */
export function optionLabel(option: string | number | boolean, lang: Lang, ...schemas: JsonSchema[]): string {
  for (const schema of schemas) {
    const options = chinese(schema, lang)?.['options'];
    if (options && typeof options === 'object') {
      const label = text((options as Record<string, unknown>)[String(option)]);
      if (label) return label;
    }
  }
  return String(option);
}

export function properties(schema: JsonSchema): [string, JsonSchema][] {
  const props = schema['properties'];
  if (!props || typeof props !== 'object') return [];
  return Object.entries(props as Record<string, unknown>).map(([k, v]) => [k, asSchema(v)]);
}

export function requiredKeys(schema: JsonSchema): ReadonlySet<string> {
  return new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
}

/** A config string that is a JSONata expression (`=...`, but not the escaped literal `==...`). */
export function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('=') && !value.startsWith('==');
}

export function pathKey(path: readonly (string | number)[]): string {
  return path.join('.');
}

function readPath(value: unknown, path: readonly string[]): unknown {
  let cur = value;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

// Summary errors that only say "a child failed"; the child's own error is more useful.
const summaryKeywords = new Set([
  'properties',
  'items',
  'prefixItems',
  'allOf',
  'anyOf',
  'oneOf',
  'additionalProperties',
  '$ref',
  'unevaluatedProperties',
  'contains',
]);

function humanize(unit: SchemaError): string {
  // cfworker messages look like: Instance has "x" ... ; keep them short.
  return unit.message
    .replace(/^Instance does not match .*?:\s*/, '')
    .replace(/^Instance /, '')
    .replace(/\.$/, '');
}

/**
 * Field errors of a value against a schema, keyed by dotted path (`''` for the whole value). Fields holding a
 * JSONata expression are not type-checked here: their value exists only at run time.
 */
export interface FieldError {
  keyword: string;
  message: string;
}

export function validateAgainst(schema: JsonSchema, value: unknown): Map<string, FieldError[]> {
  const out = new Map<string, FieldError[]>();
  for (const unit of schemaErrors(schema, value)) {
    if (summaryKeywords.has(unit.keyword)) continue;
    let path = unit.path;
    // A missing property is reported on its parent; the form shows it on the field itself.
    if (unit.keyword === 'required') {
      const m = /"([^"]+)"/.exec(unit.message);
      if (m?.[1]) path = [...path, m[1]];
    }
    if (isExpression(readPath(value, path))) continue;
    const key = path.join('.');
    const list = out.get(key) ?? [];
    const message = humanize(unit);
    if (!list.some((e) => e.keyword === unit.keyword)) list.push({ keyword: unit.keyword, message });
    out.set(key, list);
  }
  return out;
}

/** A starting value for a new array item or a newly shown field. */
export function emptyValue(schema: JsonSchema, root: JsonSchema): unknown {
  const s = unwrapNullable(schema, root).schema;
  if ('default' in s) return structuredClone(s['default']);
  const k = fieldKind(s, root);
  switch (k.kind) {
    case 'enum':
      return k.options[0];
    case 'number':
      return typeof s['minimum'] === 'number' ? s['minimum'] : 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object': {
      const obj: Record<string, unknown> = {};
      const req = requiredKeys(s);
      for (const [key, sub] of properties(s)) if (req.has(key)) obj[key] = emptyValue(sub, root);
      return obj;
    }
    case 'json':
      return s['type'] === 'object' ? {} : null;
    case 'monaco':
      return k.widget === 'json' || k.widget === 'json-schema' ? {} : '';
    default:
      return '';
  }
}
