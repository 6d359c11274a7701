/** logic.branch: routes its value to `true` or `false` by a JSONata condition; the other side is not taken. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

export const branchNode = defineNode({
  type: 'logic.branch',
  version: 1,
  meta: {
    title: 'Branch',
    category: 'logic',
    description:
      'Sends its value to "true" or "false" by a condition. Nodes after the side not taken are skipped. The condition sees `value`, `input` and `nodes`.',
    zh: { title: '条件分支', description: '按条件把值送往 "true" 或 "false"；未走的一侧后续节点被跳过。' },
    icon: 'fork',
  },
  config: z.object({
    condition: z
      .string()
      .min(1)
      .meta({
        title: 'Condition',
        description: 'JSONata, e.g. value.amount > 10000',
        widget: 'expression',
        zh: { title: '条件', description: 'JSONata，例如 value.amount > 10000' },
      }),
  }),
  inputs: { value: port('any', { title: 'Value', zh: { title: '值' } }) },
  outputs: {
    true: port('any', { title: 'True', zh: { title: '为真' }, required: false }),
    false: port('any', { title: 'False', zh: { title: '为假' }, required: false }),
  },
  timeoutMs: 5_000,
  validate(config, helpers) {
    helpers.expression(config.condition, ['condition']);
  },
  run(ctx, { value }, { condition }) {
    const route = (result: unknown) => {
      if (result !== undefined && typeof result !== 'boolean') {
        throw new NodeError(
          `the condition must give true or false, it gave ${JSON.stringify(result)?.slice(0, 80)}`,
          'CONDITION_NOT_BOOLEAN',
        );
      }
      if (result === undefined)
        ctx.log.warn('the condition gave no value (a missing field?); taking "false"');
      return result === true ? { true: value } : { false: value };
    };
    // Synchronous when the inline evaluator answers.
    const scope = ctx.scopeFor(condition);
    const result = ctx.evaluate(condition, { value, input: scope.input, nodes: scope.nodes });
    return result instanceof Promise ? result.then(route) : route(result);
  },
});
