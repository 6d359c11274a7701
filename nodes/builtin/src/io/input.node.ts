/** io.input: the flow's entry point. Its config is the flow's input contract, a JSON Schema for the request. */
import { checkInputSchema, validateJsonSchema } from '@finflow/runtime';
import { defineNode, NodeError, port, z } from '@finflow/sdk';

export const inputNode = defineNode({
  type: 'io.input',
  version: 1,
  meta: {
    title: 'Flow input',
    category: 'io',
    description:
      'The request a flow receives, described by a JSON Schema; each top-level field is also an output.',
    zh: { title: '流程输入', description: '流程接收的请求，由 JSON Schema 描述；每个顶层字段也是一个输出。' },
    icon: 'login',
  },
  config: z.object({
    schema: z
      .record(z.string(), z.unknown())
      .default({ type: 'object', properties: {} })
      .meta({ title: 'Input schema', description: 'JSON Schema of the flow input', widget: 'json-schema' }),
    example: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ title: 'Example input', description: 'Prefills the run form', widget: 'json' }),
  }),
  outputs: { value: port('record', { title: 'Whole input' }) },
  dynamicOutputs: {
    path: 'schema.properties',
    mode: 'keys',
    type: 'any',
    typeFromJsonSchema: true,
    required: false,
  },
  timeoutMs: 1_000,
  validate(config, helpers) {
    for (const p of checkInputSchema(config.schema)) helpers.problem(p.message, ['schema', ...p.path]);
  },
  run(ctx, _inputs, config) {
    const input = ctx.scope.input;
    // The runtime checks the input before a run starts; this guards direct use of the node (finflow node).
    const errors = validateJsonSchema(config.schema, input);
    if (errors.length) {
      throw new NodeError(
        `input does not match the schema: ${errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ')}`,
        'INVALID_INPUT',
        { details: { errors } },
      );
    }
    const record = input as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    const properties = (config.schema['properties'] ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(properties)) if (record[key] !== undefined) fields[key] = record[key];
    return { ...fields, value: record };
  },
});
