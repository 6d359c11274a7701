/** Node types that exist only in tests: a node that waits (to catch runs in flight) and one that reads a secret. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

export const sleepNode = defineNode({
  type: 'custom.sleep',
  version: 1,
  meta: { title: 'Sleep (test)', category: 'custom', description: 'Waits, then passes its value on' },
  config: z.object({ ms: z.int().min(0).max(600_000).default(1000) }),
  inputs: { value: port('any') },
  outputs: { value: port('any') },
  timeoutMs: 600_000,
  async run(ctx, { value }, { ms }) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(new NodeError('stopped', 'CANCELLED'));
        },
        { once: true },
      );
    });
    ctx.stream(`slept ${ms} ms`);
    return { value };
  },
});

export const secretEchoNode = defineNode({
  type: 'custom.secretLength',
  version: 1,
  meta: {
    title: 'Secret length (test)',
    category: 'custom',
    description: 'Reads a credential and reports its length',
  },
  config: z.object({ credential: z.string().min(1) }),
  inputs: { value: port('any', { required: false }) },
  outputs: { length: port('number') },
  timeoutMs: 5_000,
  async run(ctx, _inputs, { credential }) {
    const secret = await ctx.secret(credential);
    ctx.log.info(`using ${secret} for the call`);
    return { length: secret.length };
  },
});

/** Builds a value nested `depth` levels deep (iteratively), as a node or an expression could. */
export const deepNode = defineNode({
  type: 'custom.deep',
  version: 1,
  meta: { title: 'Deep value (test)', category: 'custom', description: 'Outputs a deeply nested record' },
  config: z.object({ depth: z.int().min(1).max(1_000_000).default(5000) }),
  inputs: { value: port('any', { required: false }) },
  outputs: { value: port('record') },
  timeoutMs: 5_000,
  run(_ctx, { value }, { depth }) {
    let v: Record<string, unknown> = { leaf: value ?? null };
    for (let i = 1; i < depth; i++) v = { a: v };
    return { value: v };
  },
});

export const testNodes = [sleepNode, secretEchoNode, deepNode];
