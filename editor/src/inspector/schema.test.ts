import { describe, expect, it } from 'vitest';
import {
  emptyValue,
  fieldDescription,
  fieldKind,
  fieldTitle,
  optionLabel,
  unwrapNullable,
  validateAgainst,
} from './schema.js';

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

  it('labels a field in the UI language, falling back to the English title and then the name', () => {
    // The shape zod emits for `.meta({ title, description, zh: { title, description, options } })`.
    const limit = {
      type: 'number',
      title: 'Limit',
      description: 'Largest notional per counterparty',
      zh: { title: '限额', description: '单一交易对手的最大名义本金' },
    };
    expect(fieldTitle(limit, 'limit', 'zh-CN')).toBe('限额');
    expect(fieldTitle(limit, 'limit', 'en')).toBe('Limit');
    expect(fieldDescription(limit, 'zh-CN')).toBe('单一交易对手的最大名义本金');
    expect(fieldDescription(limit, 'en')).toBe('Largest notional per counterparty');

    const englishOnly = { type: 'string', title: 'Amount column', description: 'Column of amounts' };
    expect(fieldTitle(englishOnly, 'field', 'zh-CN')).toBe('Amount column');
    expect(fieldDescription(englishOnly, 'zh-CN')).toBe('Column of amounts');
    const titleOnly = { type: 'string', title: 'Seed', zh: { title: '随机种子' } };
    expect(fieldDescription(titleOnly, 'zh-CN')).toBeUndefined();
    expect(fieldTitle({ type: 'string' }, 'field', 'zh-CN')).toBe('field');

    // A nullable field keeps its meta on the outer schema; unwrapping must not lose it.
    const nullable = unwrapNullable(
      { anyOf: [{ type: 'number' }, { type: 'null' }], title: 'Approve at', zh: { title: '批准线' } },
      {},
    );
    expect(fieldTitle(nullable.schema, 'approve', 'zh-CN')).toBe('批准线');
  });

  it('labels enum options in Chinese where the schema gives labels, and keeps the values', () => {
    const severity = {
      type: 'string',
      enum: ['high', 'medium', 'low'],
      title: 'Severity',
      zh: { title: '严重程度', options: { high: '高', medium: '中' } },
    };
    expect(fieldKind(severity, severity)).toEqual({ kind: 'enum', options: ['high', 'medium', 'low'] });
    expect(optionLabel('high', 'zh-CN', severity)).toBe('高');
    expect(optionLabel('low', 'zh-CN', severity)).toBe('low');
    expect(optionLabel('high', 'en', severity)).toBe('high');
    // Multi-select: the array's items carry the enum, the array carries the meta.
    const items = { type: 'string', enum: ['must', 'may'] };
    const modalities = {
      type: 'array',
      items,
      zh: { title: '包含的条款类型', options: { must: '义务（应当）' } },
    };
    expect(optionLabel('must', 'zh-CN', items, modalities)).toBe('义务（应当）');
    expect(optionLabel('may', 'zh-CN', items, modalities)).toBe('may');
  });
});

describe('connection fields', () => {
  it('get the connection widget with the kinds they accept, and the legacy endpoint its notice', () => {
    const root = {};
    expect(
      fieldKind({ type: 'string', widget: 'connection', connectionKinds: ['openai', 'ollama'] }, root),
    ).toEqual({ kind: 'connection', kinds: ['openai', 'ollama'] });
    expect(fieldKind({ type: 'string', widget: 'connection' }, root)).toEqual({
      kind: 'connection',
      kinds: [],
    });
    expect(fieldKind({ type: 'object', widget: 'legacy-endpoint', properties: {} }, root)).toEqual({
      kind: 'legacy-endpoint',
    });
  });
});
