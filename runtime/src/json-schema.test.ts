import { Validator, type Schema } from '@cfworker/json-schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInputSchema, validateJsonSchema } from './json-schema.js';
import { linearRegexLimits } from './expressions/linear-regex.js';

/** What the interpreting validator alone says (the quick check must never accept what it refuses). */
const reference = (schema: object, value: unknown) =>
  new Validator(schema as Schema, '2020-12', false).validate(value).valid;

const leafSchema = fc.oneof(
  fc.constant({ type: 'string' }),
  fc.constant({ type: 'string', minLength: 2, maxLength: 4 }),
  fc.constant({ type: 'number', minimum: 0 }),
  fc.constant({ type: 'number', exclusiveMaximum: 10 }),
  fc.constant({ type: 'integer', maximum: 100 }),
  fc.constant({ type: ['integer', 'null'] }),
  fc.constant({ type: 'boolean', title: 'flag' }),
  fc.constant({ enum: ['a', 'b', 1, null] }),
  fc.constant({ const: 'fixed' }),
  fc.constant({ type: 'array', items: { type: 'number' }, maxItems: 3 }),
  fc.constant({ type: 'string', format: 'email' }),
  fc.constant({ type: 'string', pattern: '^x' }),
  fc.constant(true),
);

const objectSchema = fc
  .record({
    props: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'toString'), leafSchema, { maxKeys: 3 }),
    required: fc.subarray(['a', 'b', 'c', 'toString']),
    closed: fc.boolean(),
  })
  .map(({ props, required, closed }) => ({
    type: 'object',
    properties: props,
    required,
    ...(closed ? { additionalProperties: false } : {}),
  }));

const leafValue = fc.oneof(
  fc.string({ maxLength: 5 }),
  fc.constantFrom('a', 'b', 'fixed', 'x@y.example', '😀😀', 'xyz'),
  fc.integer({ min: -5, max: 120 }),
  fc.constantFrom(1.5, -0.25, 9.99, 10, 0),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }),
);

const objectValue = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), leafValue, { maxKeys: 4 });

describe('input validation', () => {
  it('accepts and refuses exactly what the interpreting JSON Schema validator does', () => {
    fc.assert(
      fc.property(objectSchema, fc.oneof(objectValue, leafValue), (schema, value) => {
        expect(validateJsonSchema(schema, value).length === 0).toBe(reference(schema, value));
      }),
      { numRuns: 3000 },
    );
  });

  it('names the field of each error', () => {
    const schema = {
      type: 'object',
      properties: { income: { type: 'number', minimum: 0 }, name: { type: 'string' } },
      required: ['income'],
    };
    expect(validateJsonSchema(schema, { income: 5, name: 'Li' })).toEqual([]);
    expect(
      validateJsonSchema(schema, { income: -1, name: 3 })
        .map((e) => e.path)
        .sort(),
    ).toEqual(['income', 'name']);
    expect(validateJsonSchema(schema, {}).map((e) => e.message)).toEqual([
      'Instance does not have required property "income".',
    ]);
  });
});

describe('patterns', () => {
  const schema = {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '(a+)+$' },
      iban: { type: 'string', format: 'email', pattern: '^[a-z]+@' },
      tags: { type: 'array', items: { anyOf: [{ type: 'string', pattern: '^#' }, { type: 'number' }] } },
    },
  };

  it('runs a catastrophic pattern on hostile input in linear time, with the usual verdicts', () => {
    // V8's backtracking engine needs seconds (doubling with each "a") for this one; the linear-time one answers.
    const hostile = `${'a'.repeat(40)}!`;
    expect(validateJsonSchema(schema, { code: hostile })).toEqual([
      { path: 'code', message: 'String does not match pattern.' },
    ]);
    expect(validateJsonSchema(schema, { code: 'xaaa' })).toEqual([]);
    expect(validateJsonSchema(schema, { iban: 'li@example.com' })).toEqual([]);
    expect(validateJsonSchema(schema, { iban: 'LI@example.com' })).toEqual([
      { path: 'iban', message: 'String does not match pattern.' },
    ]);
    expect(validateJsonSchema(schema, { tags: ['#a', 2] })).toEqual([]);
    expect(validateJsonSchema(schema, { tags: ['b'] }).length).toBeGreaterThan(0);
  });

  it('does not check strings past the length bound against a pattern', () => {
    const long = 'a'.repeat(linearRegexLimits.maxSubjectLength + 1);
    expect(validateJsonSchema(schema, { code: long })[0]?.message).toMatch(
      /too long to check against its pattern/,
    );
  });

  it('refuses, at validation, patterns that need backtracking and patternProperties', () => {
    expect(
      checkInputSchema({
        type: 'object',
        properties: { a: { type: 'string', pattern: '(x)\\1' }, b: { type: 'string', pattern: 'a(?=b)' } },
      }).map((p) => p.path.join('.')),
    ).toEqual(['properties.a.pattern', 'properties.b.pattern']);
    expect(checkInputSchema({ type: 'object', patternProperties: { '^x': {} } })[0]?.message).toMatch(
      /patternProperties is not supported/,
    );
    // At run time too (a schema that never went through flow validation): every value is refused, with why.
    expect(
      validateJsonSchema({ type: 'object', patternProperties: { '(a+)+$': {} } }, { aaaa: 1 })[0]?.message,
    ).toMatch(/cannot be used: patternProperties/);
  });
});
