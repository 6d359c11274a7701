// A third-party node package as the CLI and server load it through FINFLOW_PLUGINS.
import { defineNode, definePlugin, port, z } from '@finflow/sdk';

export const plugin = definePlugin({
  id: 'acme-double',
  nodes: [
    defineNode({
      type: 'custom.double',
      version: 1,
      meta: { title: 'Double', category: 'custom', description: 'Doubles a number', zh: { title: '翻倍' } },
      config: z.object({}),
      inputs: { x: port('number') },
      outputs: { y: port('number') },
      run: (_ctx, { x }) => ({ y: x * 2 }),
    }),
  ],
});
