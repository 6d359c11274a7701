/** logic.map: runs a node or a sub-flow for each item of a list, with bounded concurrency, keeping order. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

const nodeSpec = z
  .object({
    type: z
      .string()
      .min(1)
      .meta({ title: 'Node type', zh: { title: '节点类型' } }),
    version: z.int().min(1).optional(),
    config: z.record(z.string(), z.unknown()).default({}),
    inputPort: z
      .string()
      .optional()
      .meta({
        title: 'Item goes to input',
        description: 'Default: the node’s first required input',
        zh: { title: '元素传入的输入端口', description: '默认：该节点的第一个必填输入' },
      }),
    outputPort: z
      .string()
      .optional()
      .meta({
        title: 'Result is output',
        description: 'Default: the node’s first output',
        zh: { title: '结果取自的输出端口', description: '默认：该节点的第一个输出' },
      }),
  })
  .meta({ title: 'Node per item', zh: { title: '逐项执行的节点' } });

export const mapNode = defineNode({
  type: 'logic.map',
  version: 1,
  meta: {
    title: 'Map',
    category: 'logic',
    description:
      'Runs a node, or a whole sub-flow, for each item of a list and returns the results in the same order. Items of a sub-flow that are not objects are passed as { item }.',
    zh: { title: '逐项处理', description: '对列表中的每一项运行一个节点或子流程，并按原顺序返回结果。' },
    icon: 'repeat',
  },
  config: z
    .object({
      node: nodeSpec.optional(),
      flow: z
        .record(z.string(), z.unknown())
        .optional()
        .meta({ title: 'Sub-flow', widget: 'json', zh: { title: '子流程' } }),
      concurrency: z
        .int()
        .min(1)
        .max(64)
        .default(4)
        .meta({ title: 'Items at once', zh: { title: '并发处理数' } }),
    })
    .refine((c) => (c.node === undefined) !== (c.flow === undefined), 'give exactly one of `node` or `flow`'),
  inputs: { items: port('list', { title: 'Items', zh: { title: '条目' } }) },
  outputs: { results: port('list', { title: 'Results', zh: { title: '结果列表' } }) },
  timeoutMs: 300_000,
  validate(config, helpers) {
    if (config.node) {
      for (const p of helpers.validateNode(config.node))
        helpers.problem(`node: ${p.message}`, ['node', ...(p.path ?? [])]);
    }
    if (config.flow) {
      for (const p of helpers.validateFlow(config.flow)) {
        helpers.problem(`sub-flow ${p.code}${p.nodeId ? ` at ${p.nodeId}` : ''}: ${p.message}`, [
          'flow',
          ...(p.path ?? []),
        ]);
      }
    }
  },
  async run(ctx, { items }, config) {
    const results = new Array<unknown>(items.length);
    let next = 0;
    let done = 0;
    let stopped = false;
    const runOne = async (item: unknown): Promise<unknown> => {
      if (config.node) {
        const spec = config.node;
        const ports = ctx.engine.ports(spec);
        const inputPort =
          spec.inputPort ?? ports.inputs.find((p) => p.required)?.name ?? ports.inputs[0]?.name;
        const outputPort = spec.outputPort ?? ports.outputs[0]?.name;
        if (!inputPort || !outputPort)
          throw new NodeError(`${spec.type} has no input or output to map over`, 'INVALID_CONFIG');
        const outputs = await ctx.engine.runNode(
          {
            type: spec.type,
            ...(spec.version === undefined ? {} : { version: spec.version }),
            config: spec.config,
          },
          { [inputPort]: item },
        );
        return outputs[outputPort];
      }
      const input = item !== null && typeof item === 'object' && !Array.isArray(item) ? item : { item };
      const outputs = await ctx.engine.runFlow(config.flow as never, input);
      const names = Object.keys(outputs);
      return names.length === 1 ? outputs[names[0] as string] : outputs;
    };
    const worker = async () => {
      while (!stopped && next < items.length) {
        const i = next++;
        try {
          results[i] = await runOne(items[i]);
        } catch (err) {
          stopped = true;
          const e = err instanceof NodeError ? err : new NodeError(String(err), 'INTERNAL');
          throw new NodeError(`item ${i}: ${e.message}`, e.code, { details: { item: i } });
        }
        done++;
        ctx.stream({ done, total: items.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.concurrency, items.length) }, worker));
    return { results };
  },
});
