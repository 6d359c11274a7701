import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../api/types.js';
import { fieldsOf, nameProblem, newFieldName, schemaOf } from './schema-fields.js';

function inputSchema(template: string): JsonSchema {
  const flow = JSON.parse(
    readFileSync(new URL(`../../../templates/${template}/flow.json`, import.meta.url), 'utf8'),
  ) as { nodes: { type: string; config: { schema: JsonSchema } }[] };
  const node = flow.nodes.find((n) => n.type === 'io.input');
  if (!node) throw new Error(`${template} has no input`);
  return node.config.schema;
}

describe('the input field builder', () => {
  it.each([
    'credit-approval',
    'anti-fraud',
    'wealth-recommendation',
    'robo-advisory',
    'compliance-automation',
    'multimodal-customer-service',
  ])('reads and writes back the %s input schema unchanged', (template) => {
    const schema = inputSchema(template);
    expect(schemaOf(fieldsOf(schema), schema)).toEqual(schema);
  });

  it('writes what an analyst sets: type, required, choices, bounds, format, description', () => {
    const fields = fieldsOf({ type: 'object', properties: {} });
    fields.push(
      {
        name: 'amount',
        type: 'number',
        required: true,
        choices: [],
        min: 0,
        max: 5_000_000,
        format: '',
        description: 'Loan amount (CNY)',
        title: '',
        titleZh: '',
        descriptionZh: '',
        rest: {},
      },
      {
        name: 'channel',
        type: 'enum',
        required: false,
        choices: ['app', 'branch'],
        format: '',
        description: '',
        title: '',
        titleZh: '',
        descriptionZh: '',
        rest: {},
      },
      {
        name: 'term',
        type: 'enum',
        required: true,
        choices: ['12', '24', '36'],
        format: '',
        description: '',
        title: '',
        titleZh: '',
        descriptionZh: '',
        rest: {},
      },
      {
        name: 'date',
        type: 'string',
        required: true,
        choices: [],
        format: 'date',
        description: '',
        title: '',
        titleZh: '',
        descriptionZh: '',
        rest: {},
      },
    );
    const schema = schemaOf(fields, { type: 'object', title: '申请' });
    expect(schema).toEqual({
      type: 'object',
      title: '申请',
      properties: {
        amount: { type: 'number', minimum: 0, maximum: 5_000_000, description: 'Loan amount (CNY)' },
        channel: { type: 'string', enum: ['app', 'branch'] },
        term: { type: 'number', enum: [12, 24, 36] },
        date: { type: 'string', format: 'date' },
      },
      required: ['amount', 'term', 'date'],
    });
    // Back again: the same fields.
    expect(fieldsOf(schema).map((f) => [f.name, f.type, f.required, f.choices])).toEqual([
      ['amount', 'number', true, []],
      ['channel', 'enum', false, ['app', 'branch']],
      ['term', 'enum', true, ['12', '24', '36']],
      ['date', 'string', true, []],
    ]);
  });

  it('writes a title and a Chinese title and description beside the English, keeping the Chinese choice labels', () => {
    const schema = {
      type: 'object',
      properties: {
        language: { type: 'string', enum: ['zh', 'en'], zh: { options: { zh: '中文', en: '英文' } } },
      },
    };
    const [field] = fieldsOf(schema);
    if (!field) throw new Error('no field');
    expect([field.title, field.titleZh, field.descriptionZh]).toEqual(['', '', '']);
    const titled = schemaOf(
      [{ ...field, title: 'Language', titleZh: '语言', descriptionZh: '客户文本的语言' }],
      schema,
    );
    expect(titled['properties']).toEqual({
      language: {
        type: 'string',
        enum: ['zh', 'en'],
        title: 'Language',
        zh: { title: '语言', description: '客户文本的语言', options: { zh: '中文', en: '英文' } },
      },
    });
    const [back] = fieldsOf(titled);
    expect([back?.title, back?.titleZh, back?.descriptionZh]).toEqual(['Language', '语言', '客户文本的语言']);
    // Cleared again: the Chinese title and description go, the choice labels stay.
    const cleared = schemaOf([{ ...field, titleZh: '' }], titled);
    expect((cleared['properties'] as Record<string, JsonSchema>)['language']?.['zh']).toEqual({
      options: { zh: '中文', en: '英文' },
    });
  });

  it('refuses empty, malformed and duplicate names, and proposes free ones', () => {
    const fields = fieldsOf({
      type: 'object',
      properties: { a: { type: 'string' }, field_2: { type: 'number' } },
    });
    expect(nameProblem('', 0, fields)).toBe('empty');
    expect(nameProblem('1st', 0, fields)).toBe('pattern');
    expect(nameProblem('a b', 0, fields)).toBe('pattern');
    expect(nameProblem('field_2', 0, fields)).toBe('taken');
    expect(nameProblem('a', 0, fields)).toBe('');
    expect(newFieldName(fields)).toBe('field_3');
  });
});
