import { describe, expect, it } from 'vitest';
import { emptyValue, fieldKind, unwrapNullable, validateAgainst } from './schema.js';

const schema = {
  type: 'object',
  properties: {
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    prompt: { type: 'string', widget: 'prompt' },
    key: { type: 'string', widget: 'secret' },
    mode: { type: 'string', enum: ['train', 'score'] },
    cases: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string', pattern: '^[a-z]+$' } },
        required: ['name'],
      },
    },
    free: { type: 'object', additionalProperties: {} },
    maybe: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
  },
  required: ['threshold'],
};

describe('config forms from JSON Schema', () => {
  it('picks the widget from metadata first, then enum, then the JSON type', () => {
    const p = schema.properties;
    expect(fieldKind(p.prompt, schema)).toEqual({ kind: 'monaco', widget: 'prompt' });
    expect(fieldKind(p.key, schema)).toEqual({ kind: 'secret' });
    expect(fieldKind(p.mode, schema)).toEqual({ kind: 'enum', options: ['train', 'score'] });
    expect(fieldKind(p.threshold, schema)).toEqual({ kind: 'number', integer: false });
    expect(fieldKind(p.cases, schema)).toEqual({ kind: 'array' });
    expect(fieldKind(p.free, schema)).toEqual({ kind: 'json' });
    const nullable = unwrapNullable(p.maybe, schema);
    expect(nullable.nullable).toBe(true);
    expect(fieldKind(nullable.schema, schema)).toEqual({ kind: 'number', integer: true });
  });

  it('reports validation messages at the path of the field', () => {
    const errors = validateAgainst(schema, { threshold: 1.5, cases: [{ name: 'OK' }, {}] });
    expect(errors.get('threshold')?.[0]?.keyword).toBe('maximum');
    expect(errors.get('cases.0.name')?.[0]?.keyword).toBe('pattern');
    expect(errors.get('cases.1.name')?.[0]?.keyword).toBe('required');
    expect(validateAgainst(schema, {}).get('threshold')?.[0]?.keyword).toBe('required');
    expect(validateAgainst(schema, { threshold: 0.3 }).size).toBe(0);
  });

  it('does not type-check a field that holds a JSONata expression', () => {
    expect(validateAgainst(schema, { threshold: '=input.limit' }).size).toBe(0);
    expect(validateAgainst(schema, { threshold: '==literal' }).get('threshold')?.[0]?.keyword).toBe('type');
  });

  it('starts new array items from their defaults and required fields', () => {
    expect(emptyValue(schema.properties.cases.items, schema)).toEqual({ name: '' });
    expect(emptyValue({ type: 'number', minimum: 5 }, schema)).toBe(5);
  });
});
