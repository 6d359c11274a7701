import { describe, expect, it } from 'vitest';
import { defineNode, definePlugin, onFirstRun, port, z, NodeError } from './index.js';
import { fakeSecrets, runNode, runNodeOk } from './testing.js';

const meta = {
  title: 'Exposure limit',
  category: 'risk' as const,
  description: 'Flags positions above a limit',
};

const exposure = defineNode({
  type: 'risk.exposureLimit',
  version: 1,
  meta,
  config: z.object({ limit: z.number().positive().meta({ title: 'Limit' }) }),
  inputs: { positions: port('table') },
  outputs: { breaches: port('table'), decision: port('decision') },
  timeoutMs: 5_000,
  run(_ctx, { positions }, { limit }) {
    const breaches = positions.filter((row) => Number(row['notional']) > limit);
    return { breaches, decision: { outcome: breaches.length ? 'review' : 'pass' } };
  },
});

describe('defineNode', () => {
  it('declares a node whose config, inputs and outputs are checked when it runs', async () => {
    const out = await runNodeOk(exposure, {
      config: { limit: 100 },
      inputs: { positions: [{ notional: 50 }, { notional: 500 }] },
    });
    expect(out).toEqual({ breaches: [{ notional: 500 }], decision: { outcome: 'review' } });
    expect((await runNode(exposure, { config: { limit: -1 }, inputs: { positions: [] } })).error?.code).toBe(
      'INVALID_CONFIG',
    );
    expect((await runNode(exposure, { config: { limit: 1 }, inputs: { positions: 'x' } })).error?.code).toBe(
      'INVALID_INPUT',
    );
    await expect(runNodeOk(exposure, { config: { limit: 1 } })).rejects.toThrow(/INVALID_INPUT/);
  });

  it('fills defaults for timeout and retry', () => {
    expect(exposure.timeoutMs).toBe(5_000);
    expect(exposure.retry).toEqual({
      maxAttempts: 1,
      initialDelayMs: 500,
      backoff: 2,
      maxDelayMs: 30_000,
      nonRetryable: [],
    });
  });

  it('rejects malformed declarations at definition time', () => {
    const base = { version: 1, meta, config: z.object({}), run: () => ({}) };
    expect(() => defineNode({ ...base, type: 'NoCategory' })).toThrow(/category.camelName/);
    expect(() => defineNode({ ...base, type: 'risk.x', version: 0 })).toThrow(/positive integer/);
    expect(() =>
      defineNode({ ...base, type: 'risk.x', meta: { ...meta, category: 'misc' as never } }),
    ).toThrow(/unknown category/);
    expect(() => defineNode({ ...base, type: 'risk.x', config: z.string() as never })).toThrow(/z\.object/);
    expect(() => defineNode({ ...base, type: 'risk.x', inputs: { 'bad name': port('text') } })).toThrow(
      /invalid input port name/,
    );
    expect(() => port('money' as never)).toThrow(/unknown port type/);
  });

  it('gives nodes their secrets and errors with codes', async () => {
    const node = defineNode({
      type: 'model.keyed',
      version: 1,
      meta: { ...meta, category: 'model' },
      config: z.object({ credential: z.string() }),
      outputs: { ok: port('boolean') },
      async run(ctx, _inputs, { credential }) {
        const key = await ctx.secret(credential);
        if (key.length < 8) throw new NodeError('key too short', 'AUTH_FAILED');
        return { ok: true };
      },
    });
    expect(await runNodeOk(node, { config: { credential: 'k' }, secrets: { k: 'long-enough-key' } })).toEqual(
      { ok: true },
    );
    expect((await runNode(node, { config: { credential: 'k' }, secrets: { k: 'short' } })).error).toEqual({
      message: 'key too short',
      code: 'AUTH_FAILED',
    });
    expect(
      (await runNode(node, { config: { credential: 'nope' }, services: { secrets: fakeSecrets({}) } })).error
        ?.code,
    ).toBe('SECRET_NOT_FOUND');
    expect(() => new NodeError('x', 'lower-case')).toThrow(/SCREAMING_SNAKE/);
  });

  it('packages nodes as a plugin', () => {
    expect(definePlugin({ id: 'acme-risk', nodes: [exposure] }).nodes).toEqual([exposure]);
    expect(() => definePlugin({ id: 'Acme Risk', nodes: [exposure] })).toThrow(/kebab-case/);
    expect(() => definePlugin({ id: 'acme', nodes: [] })).toThrow(/at least one node/);
  });
});

describe('onFirstRun', () => {
  it('loads a node implementation on the first run only, and tries again after a failed load', async () => {
    let loads = 0;
    let fail = true;
    const engine = onFirstRun(async () => {
      loads++;
      if (fail) throw new Error('engine missing');
      return {
        over: (rows: Record<string, unknown>[], limit: number) =>
          rows.filter((r) => Number(r['notional']) > limit),
      };
    });
    const lazy = defineNode({
      type: 'risk.lazyLimit',
      version: 1,
      meta,
      config: z.object({ limit: z.number() }),
      inputs: { positions: port('table') },
      outputs: { breaches: port('table') },
      async run(_ctx, { positions }, { limit }) {
        return { breaches: (await engine()).over(positions, limit) };
      },
    });
    expect(loads).toBe(0);
    const options = { config: { limit: 100 }, inputs: { positions: [{ notional: 50 }, { notional: 500 }] } };
    expect((await runNode(lazy, options)).error?.message).toMatch(/engine missing/);
    fail = false;
    expect(await runNodeOk(lazy, options)).toEqual({ breaches: [{ notional: 500 }] });
    expect(await runNodeOk(lazy, options)).toEqual({ breaches: [{ notional: 500 }] });
    expect(loads).toBe(2);
  });
});
