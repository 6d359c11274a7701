/** io.input: the flow's entry point. Its config is the flow's input contract, a JSON Schema for the request. */
import { checkInputSchema } from '@finflow/runtime';
import { defineNode, port, z } from '@finflow/sdk';

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
      .meta({
        title: 'Input schema',
        description: 'JSON Schema of the flow input',
        widget: 'json-schema',
        zh: { title: '输入 Schema', description: '流程输入的 JSON Schema' },
      }),
    example: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        title: 'Example input',
        description: 'Prefills the run form',
        widget: 'json',
        zh: { title: '示例输入', description: '用于预填运行表单' },
      }),
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
  // Hands on or builds plain JSON; changes nothing it is given (runs are recorded compactly).
  pure: true,
  validate(config, helpers) {
    for (const p of checkInputSchema(config.schema)) helpers.problem(p.message, ['schema', ...p.path]);
  },
  run(ctx, _inputs, config) {
    // The runtime checked the input against this schema before the run started (runtime.start refuses a run
    // whose input does not fit), so the node only hands it on.
    const record = ctx.scope.input as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    const properties = (config.schema['properties'] ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(properties)) if (record[key] !== undefined) fields[key] = record[key];
    return { ...fields, value: record };
  },
});
