/** data.transform: reshapes data with a JSONata mapping. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

export const transformNode = defineNode({
  type: 'data.transform',
  version: 1,
  meta: {
    title: 'Transform',
    category: 'data',
    description:
      'Maps data to a new shape with a JSONata expression. The expression sees `data` (this node’s input), `input` (the flow input) and `nodes` (upstream results).',
    zh: { title: '数据转换', description: '用 JSONata 表达式把数据映射成新的结构。' },
    icon: 'transform',
  },
  config: z.object({
    expression: z
      .string()
      .min(1)
      .meta({ title: 'Mapping', description: 'JSONata, e.g. { "total": $sum(data.items.amount) }', widget: 'expression', zh: { title: '映射表达式', description: 'JSONata，例如 { "total": $sum(data.items.amount) }' } }),
    emptyResult: z
      .enum(['error', 'null'])
      .default('error')
      .meta({ title: 'When nothing matches', description: 'error: fail the node; null: output null', zh: { title: '无匹配结果时', description: '报错：节点执行失败；输出 null：输出 null', options: { error: '报错', null: '输出 null' } } }),
  }),
  inputs: { data: port('any', { title: 'Data', zh: { title: '数据' }, required: false }) },
  outputs: { result: port('any', { title: 'Result', zh: { title: '结果' } }) },
  timeoutMs: 5_000,
  // Hands on or builds plain JSON; changes nothing it is given (runs are recorded compactly).
  pure: true,
  validate(config, helpers) {
    helpers.expression(config.expression, ['expression']);
  },
  run(ctx, { data }, { expression, emptyResult }) {
    // Synchronous when the inline evaluator answers: the node then costs no promise, no timer and no closure.
    // The ancestors' outputs only when the expression can read them (a chain's step then costs no walk of them).
    const scope = ctx.scopeFor(expression);
    const result = ctx.evaluate(expression, { data, input: scope.input, nodes: scope.nodes });
    return result instanceof Promise
      ? result.then((r) => finish(r, emptyResult))
      : finish(result, emptyResult);
  },
});

function finish(result: unknown, emptyResult: 'error' | 'null'): { result: unknown } {
  if (result === undefined) {
    if (emptyResult === 'null') return { result: null };
    throw new NodeError('the mapping gave no value (does every path it reads exist?)', 'EMPTY_RESULT');
  }
  return { result };
}
