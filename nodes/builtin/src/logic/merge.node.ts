/** logic.merge: joins alternative branches; runs when at least one of its inputs arrived. */
import { defineNode, port, z } from '@finflow/sdk';
import { portNamePattern } from '@finflow/runtime';

export const mergeNode = defineNode({
  type: 'logic.merge',
  version: 1,
  meta: {
    title: 'Merge',
    category: 'logic',
    description:
      'Joins branches: passes on the first of its inputs (in the listed order) that arrived, or collects all that arrived.',
    zh: {
      title: '合并',
      description: '汇合分支：输出第一个到达的输入（按列出的顺序），或收集所有到达的输入。',
    },
    icon: 'merge',
  },
  config: z.object({
    inputs: z
      .array(z.string().regex(portNamePattern))
      .min(2)
      .max(32)
      .default(['a', 'b'])
      .meta({
        title: 'Inputs',
        description: 'Names of the branches to join',
        zh: { title: '输入', description: '要汇合的分支名称' },
      }),
    mode: z
      .enum(['first', 'collect'])
      .default('first')
      .meta({
        title: 'Mode',
        description: 'first: the first input that arrived; collect: a record of all that arrived',
        zh: {
          title: '合并方式',
          description: '最先到达：取最先到达的输入；全部收集：将所有已到达的输入汇总为一条记录',
          options: { first: '最先到达', collect: '全部收集' },
        },
      }),
  }),
  outputs: { value: port('any', { title: 'Value' }) },
  dynamicInputs: { path: 'inputs', mode: 'items', type: 'any', required: false },
  timeoutMs: 1_000,
  // Hands on or builds plain JSON; changes nothing it is given (runs are recorded compactly).
  pure: true,
  validate(config, helpers) {
    if (new Set(config.inputs).size !== config.inputs.length)
      helpers.problem('input names must differ', ['inputs']);
  },
  run(_ctx, inputs, config) {
    const arrived = config.inputs.filter((name) => inputs[name] !== undefined);
    if (config.mode === 'collect') {
      return { value: Object.fromEntries(arrived.map((name) => [name, inputs[name]])) };
    }
    return { value: inputs[arrived[0] as string] };
  },
});
