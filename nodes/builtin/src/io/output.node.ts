/** io.output: one named result of the flow. A flow's results are its output nodes' values, keyed by name. */
import { portNamePattern } from '@finflow/runtime';
import { defineNode, port, z } from '@finflow/sdk';

export const outputNode = defineNode({
  type: 'io.output',
  version: 1,
  meta: {
    title: 'Flow output',
    category: 'io',
    description: 'Returns its input as a named result of the flow.',
    zh: { title: '流程输出', description: '将输入作为流程的一个具名结果返回。' },
    icon: 'logout',
  },
  config: z.object({
    name: z
      .string()
      .regex(portNamePattern, 'a result name starts with a letter and holds letters, digits, _ or -')
      .meta({ title: 'Result name', zh: { title: '结果名称' } }),
    description: z
      .string()
      .max(2000)
      .optional()
      .meta({ title: 'Description', zh: { title: '说明' } }),
    schema: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        title: 'Result schema',
        description: 'JSON Schema of the value, for API documentation',
        widget: 'json-schema',
        zh: { title: '结果 Schema', description: '该值的 JSON Schema，用于生成 API 文档' },
      }),
  }),
  inputs: { value: port('any', { title: 'Value' }) },
  timeoutMs: 1_000,
  // Hands on or builds plain JSON; changes nothing it is given (runs are recorded compactly).
  pure: true,
  run() {
    return {};
  },
});
