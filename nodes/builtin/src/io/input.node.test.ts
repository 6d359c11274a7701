import { describe, expect, it } from 'vitest';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '../index.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

describe('io.input and io.output', () => {
  const flow = flowOf(
    [
      inputNode(
        {
          applicant: {
            type: 'object',
            properties: { age: { type: 'integer', minimum: 18 } },
            required: ['age'],
          },
          note: { type: 'string' },
        },
        ['applicant'],
      ),
      outputNode('a', 'applicant'),
      outputNode('n', 'note'),
    ],
    ['in.applicant->a.value', 'in.note->n.value'],
  );

  it('passes each field on its own output; optional absent fields are not taken', async () => {
    const r = await runFlow(flow, { applicant: { age: 30 } });
    expect(r.outputs).toEqual({ applicant: { age: 30 } });
    expect(r.nodes['n']?.status).toBe('skipped');
  });

  it('rejects input that does not match the schema, with field paths', () => {
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    expect(() => runtime.start(flow, { applicant: { age: 12 } })).toThrow(/applicant\.age/);
    expect(
      runtime
        .checkInput(runtime.prepare(flow), { note: 5 })
        .map((e) => e.path)
        .sort(),
    ).toEqual(['', 'note']);
  });

  it('rejects an input schema that is not an object schema, and duplicate result names', () => {
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const bad = flowOf(
      [
        {
          id: 'in',
          type: 'io.input',
          config: { schema: { type: 'array', properties: { x: { type: 'strin' } } } },
        },
        outputNode('o'),
      ],
      ['in.value->o.value'],
    );
    const problems = runtime.validate(bad);
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        ['schema', 'properties', 'x', 'type'],
        ['schema', 'type'],
      ]),
    );
  });
});
