import { describe, expect, it } from 'vitest';
import {
  canConnect,
  checkPortValue,
  coerceValue,
  coercionPairs,
  portSchemas,
  portTypes,
  resolvePorts,
} from './ports.js';

describe('ports', () => {
  it('connects same types and anything into any; refuses what the table does not list', () => {
    for (const t of portTypes) {
      expect(canConnect(t, t)).toEqual({ ok: true, coercion: 'identity' });
      expect(canConnect(t, 'any').ok).toBe(true);
    }
    expect(canConnect('number', 'text')).toEqual({ ok: true, coercion: 'toText' });
    expect(canConnect('any', 'table')).toEqual({ ok: true, coercion: 'checked' });
    expect(canConnect('text', 'number')).toEqual({
      ok: false,
      reason: 'a text output cannot feed a number input',
    });
    expect(canConnect('table', 'record').ok).toBe(false);
    expect(coercionPairs().length).toBeGreaterThan(portTypes.length * 2);
  });

  it('coerces values and checks them against the target type', () => {
    expect(coerceValue(3.5, 'toText', 'text')).toEqual({ ok: true, value: '3.5' });
    expect(coerceValue({ value: 0.8, band: 'low' }, 'scoreToNumber', 'number')).toEqual({
      ok: true,
      value: 0.8,
    });
    expect(coerceValue('hello', 'textToMessages', 'messages')).toEqual({
      ok: true,
      value: [{ role: 'user', content: 'hello' }],
    });
    expect(coerceValue('data:image/png;base64,iVBORw0K', 'dataUrlToBinary', 'image')).toEqual({
      ok: true,
      value: { mimeType: 'image/png', data: 'iVBORw0K' },
    });
    expect(coerceValue('data:audio/wav;base64,UklGR', 'dataUrlToBinary', 'image')).toMatchObject({
      ok: false,
    });
    expect(coerceValue('plain text', 'dataUrlToBinary', 'image')).toMatchObject({ ok: false });
    expect(coerceValue([1, 2], 'checked', 'table')).toMatchObject({
      ok: false,
      message: expect.stringContaining('at 0'),
    });
    expect(checkPortValue('decision', { outcome: 'approve', reasons: ['ok'], score: 1 })).toMatchObject({
      ok: true,
    });
    expect(checkPortValue('any', undefined)).toMatchObject({ ok: false });
  });

  it('derives ports from config: list items, object keys, JSON Schema types', () => {
    const layout = {
      inputs: [],
      outputs: [{ name: 'default', type: 'any' as const, required: false }],
      dynamicOutputs: {
        path: 'cases',
        mode: 'items' as const,
        nameKey: 'name',
        type: 'any' as const,
        required: false,
      },
    };
    expect(
      resolvePorts(layout, { cases: [{ name: 'high' }, { name: 'low' }, { name: 'bad name!' }] }).outputs.map(
        (p) => p.name,
      ),
    ).toEqual(['default', 'high', 'low']);
    const input = {
      inputs: [],
      outputs: [],
      dynamicOutputs: {
        path: 'schema.properties',
        mode: 'keys' as const,
        type: 'any' as const,
        typeFromJsonSchema: true,
      },
    };
    const schema = {
      properties: {
        age: { type: 'integer' },
        rows: { type: 'array', items: { type: 'object' } },
        tags: { type: 'array' },
        name: { type: ['string', 'null'] },
      },
    };
    expect(resolvePorts(input, { schema }).outputs.map((p) => `${p.name}:${p.type}`)).toEqual([
      'age:number',
      'rows:table',
      'tags:list',
      'name:text',
    ]);
    // Ports from a JSON Schema field carry its title and description, and the Chinese ones beside them.
    const titled = {
      properties: {
        amount: {
          type: 'number',
          title: 'Amount to invest',
          description: 'In CNY',
          zh: { title: '投资金额', description: '单位：元' },
        },
        language: { type: 'string', title: 'Language', zh: { title: '语言' } },
        bare: { type: 'string', zh: 'not an object' },
      },
    };
    expect(resolvePorts(input, { schema: titled }).outputs).toEqual([
      {
        name: 'amount',
        type: 'number',
        required: true,
        title: 'Amount to invest',
        description: 'In CNY',
        zh: { title: '投资金额', description: '单位：元' },
      },
      { name: 'language', type: 'text', required: true, title: 'Language', zh: { title: '语言' } },
      { name: 'bare', type: 'text', required: true },
    ]);
    expect(resolvePorts({ inputs: [], outputs: [] }, {}, { routeErrors: true }).outputs).toEqual([
      { name: 'error', type: 'error', required: false, title: 'Error' },
    ]);
  });

  it('takes a port type, requiredness and description from each config item when the spec names their keys', () => {
    const layout = {
      inputs: [],
      outputs: [],
      dynamicInputs: {
        path: 'inputs',
        mode: 'items' as const,
        typeKey: 'type',
        requiredKey: 'required',
        descriptionKey: 'description',
        type: 'any' as const,
      },
    };
    const config = {
      inputs: [
        { name: 'amount', type: 'number', description: 'EUR' },
        { name: 'rows', type: 'table', required: false },
        { name: 'odd', type: 'no-such-type' },
        { name: 'amount', type: 'text' },
        { name: 'bad name', type: 'text' },
        null,
        7,
      ],
    };
    expect(resolvePorts(layout, config).inputs).toEqual([
      { name: 'amount', type: 'number', required: true, description: 'EUR' },
      { name: 'rows', type: 'table', required: false },
      { name: 'odd', type: 'any', required: true },
    ]);
    // The derived types are what connections are checked against.
    const [amount, rows] = resolvePorts(layout, config).inputs;
    expect(canConnect('text', amount!.type).ok).toBe(false);
    expect(canConnect('list', rows!.type)).toEqual({ ok: true, coercion: 'checked' });
  });

  it('accepts a value of a port type exactly when its schema does', () => {
    class Point {
      x = 1;
    }
    const values: unknown[] = [
      'text',
      '',
      0,
      -1.5,
      NaN,
      Infinity,
      true,
      null,
      undefined,
      [],
      [1, 'a'],
      {},
      { a: 1 },
      Object.create(null),
      new Point(),
      new Date(0),
      new Map(),
      { constructor: 1 },
      { constructor: function Fake() {} },
      JSON.parse('{"__proto__": {"x": 1}}'),
    ];
    const outcome = (f: () => boolean) => {
      try {
        return f();
      } catch {
        return 'throws';
      }
    };
    const holey: unknown[] = new Array(2);
    holey[1] = { a: 1 };
    values.push([], [{ a: 1 }, {}], [{ a: 1 }, 2], [new Point()], [Object.create(null)], [[]], holey);
    for (const type of ['text', 'number', 'boolean', 'list', 'record', 'table'] as const) {
      values.forEach((value, i) => {
        expect([type, i, outcome(() => checkPortValue(type, value).ok)]).toEqual([
          type,
          i,
          outcome(() => portSchemas[type].safeParse(value).success),
        ]);
      });
    }
  });
});
