/**
 * The flow input's JSON Schema as a list of fields an analyst can edit (name, title and description in English
 * and Chinese, type, required, choices, bounds, format), and back. Only what the builder shows is rewritten: every
 * other keyword of a property (choice labels, examples, nested objects and arrays) is kept as it was, so the JSON
 * view and the field builder can be used in turn without losing anything.
 *
 * Titles in two languages follow the convention of node config fields: `title` and `description` in English,
 * the Chinese beside them in `zh: { title, description, options }`. The run form, the input node's ports and the
 * OpenAPI document (as `x-zh`) read them.
 */
import type { JsonSchema } from '../api/types.js';

export const fieldTypes = ['string', 'number', 'integer', 'boolean', 'enum', 'object', 'array'] as const;
export type FieldType = (typeof fieldTypes)[number];
export const stringFormats = ['', 'date', 'date-time', 'email', 'uri'] as const;

export interface FieldSpec {
  name: string;
  type: FieldType;
  required: boolean;
  /** Choices of an `enum` field, as typed (numbers stay numbers when every choice is one). */
  choices: string[];
  /** minimum/maximum for numbers, minLength/maxLength for text. */
  min?: number;
  max?: number;
  format: string;
  /** The label shown for the field (the run form, the input node's port); the name when empty. */
  title: string;
  description: string;
  /** The Chinese title and description (`zh.title`, `zh.description`). */
  titleZh: string;
  descriptionZh: string;
  /** The property's other keywords, kept as they were. */
  rest: Record<string, unknown>;
}

const shown = [
  'type',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'format',
  'title',
  'description',
] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function fieldsOf(schema: JsonSchema | undefined): FieldSpec[] {
  const props = isRecord(schema?.['properties']) ? (schema['properties'] as Record<string, unknown>) : {};
  const required = new Set(Array.isArray(schema?.['required']) ? (schema['required'] as string[]) : []);
  return Object.entries(props).map(([name, raw]) => {
    const p = isRecord(raw) ? raw : {};
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) if (!(shown as readonly string[]).includes(k)) rest[k] = v;
    const zh = isRecord(p['zh']) ? p['zh'] : {};
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const declared = typeof p['type'] === 'string' ? p['type'] : undefined;
    const type: FieldType = Array.isArray(p['enum'])
      ? 'enum'
      : (fieldTypes as readonly string[]).includes(declared ?? '')
        ? (declared as FieldType)
        : 'string';
    const numeric = type === 'number' || type === 'integer';
    const min = numeric ? p['minimum'] : p['minLength'];
    const max = numeric ? p['maximum'] : p['maxLength'];
    const spec: FieldSpec = {
      name,
      type,
      required: required.has(name),
      choices: Array.isArray(p['enum']) ? (p['enum'] as unknown[]).map(String) : [],
      format: typeof p['format'] === 'string' ? p['format'] : '',
      title: text(p['title']),
      description: text(p['description']),
      titleZh: text(zh['title']),
      descriptionZh: text(zh['description']),
      rest,
    };
    if (typeof min === 'number') spec.min = min;
    if (typeof max === 'number') spec.max = max;
    // An enum's declared type (string or number) is kept with the rest.
    if (type === 'enum' && declared) rest['type'] = declared;
    return spec;
  });
}

function property(f: FieldSpec): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (f.type === 'enum') {
    const numbers =
      f.choices.length > 0 && f.choices.every((c) => c.trim() !== '' && Number.isFinite(Number(c)));
    if (f.rest['type'] === undefined) p['type'] = numbers ? 'number' : 'string';
    p['enum'] = f.choices.map((c) => (numbers && f.rest['type'] !== 'string' ? Number(c) : c));
  } else p['type'] = f.type;
  if (f.type === 'number' || f.type === 'integer') {
    if (f.min !== undefined) p['minimum'] = f.min;
    if (f.max !== undefined) p['maximum'] = f.max;
  }
  if (f.type === 'string') {
    if (f.min !== undefined) p['minLength'] = f.min;
    if (f.max !== undefined) p['maxLength'] = f.max;
    if (f.format) p['format'] = f.format;
  }
  if (f.title) p['title'] = f.title;
  if (f.description) p['description'] = f.description;
  const out: Record<string, unknown> = { ...p, ...f.rest };
  // zh keeps what the builder does not show (choice labels); its title and description are the builder's.
  const { title: _title, description: _description, ...zhRest } = isRecord(f.rest['zh']) ? f.rest['zh'] : {};
  const zh: Record<string, unknown> = { ...zhRest };
  if (f.titleZh) zh['title'] = f.titleZh;
  if (f.descriptionZh) zh['description'] = f.descriptionZh;
  if (Object.keys(zh).length) out['zh'] = zh;
  else delete out['zh'];
  return out;
}

/** The schema with these fields (in this order); the schema's own other keywords are kept. */
export function schemaOf(fields: readonly FieldSpec[], base: JsonSchema | undefined): JsonSchema {
  const out: JsonSchema = { ...(base ?? {}), type: 'object' };
  out['properties'] = Object.fromEntries(fields.map((f) => [f.name, property(f)]));
  const required = fields.filter((f) => f.required).map((f) => f.name);
  if (required.length) out['required'] = required;
  else delete out['required'];
  return out;
}

export const fieldNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** What is wrong with a field's name among the others ('' when nothing). */
export function nameProblem(
  name: string,
  index: number,
  fields: readonly FieldSpec[],
): 'empty' | 'pattern' | 'taken' | '' {
  if (!name) return 'empty';
  if (!fieldNamePattern.test(name)) return 'pattern';
  if (fields.some((f, i) => i !== index && f.name === name)) return 'taken';
  return '';
}

/** A new field's name: `field_<n>` not yet used. */
export function newFieldName(fields: readonly FieldSpec[]): string {
  for (let n = fields.length + 1; ; n++)
    if (!fields.some((f) => f.name === `field_${n}`)) return `field_${n}`;
}
