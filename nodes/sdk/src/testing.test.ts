import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineNode, port, z } from './index.js';
import { runNodeOk, type ConfigOf, type InputsOf, type OutputsOf } from './testing.js';

const feeNode = defineNode({
  type: 'custom.fee',
  version: 1,
  meta: { title: 'Fee', category: 'custom', description: 'A fee as a percentage with a minimum' },
  config: z.object({ ratePercent: z.number().default(1.25), minimum: z.number().default(5) }),
  inputs: { amount: port('number'), memo: port('text', { required: false }) },
  outputs: {
    fee: port('number'),
    decision: port('decision'),
    warning: port('text', { required: false }),
  },
  run(_ctx, { amount }, { ratePercent, minimum }) {
    const fee = Math.max(minimum, Math.round(amount * ratePercent) / 100);
    return { fee, decision: { outcome: fee > minimum ? 'charge' : 'minimum', reasons: [`${ratePercent}%`] } };
  },
});

describe('typed testing helpers', () => {
  it('runNodeOk returns the declared outputs with their port types', async () => {
    const out = await runNodeOk(feeNode, { inputs: { amount: 1000 } });
    expectTypeOf(out.fee).toEqualTypeOf<number>();
    expectTypeOf(out.decision.outcome).toEqualTypeOf<string>();
    expectTypeOf(out.decision.reasons).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(out.warning).toEqualTypeOf<string | undefined>();
    // Outputs derived from config are still reachable by name, as unknown.
    expectTypeOf(out['caseName']).toEqualTypeOf<unknown>();
    expect(out.fee + 1).toBe(13.5);
    expect(out.decision).toEqual({ outcome: 'charge', reasons: ['1.25%'] });
  });

  it('names the inputs and config a node takes', () => {
    expectTypeOf<InputsOf<typeof feeNode>>().toEqualTypeOf<{ amount: number } & { memo?: string }>();
    expectTypeOf<ConfigOf<typeof feeNode>>().toEqualTypeOf<{ ratePercent?: number; minimum?: number }>();
    expectTypeOf<OutputsOf<typeof feeNode>['fee']>().toEqualTypeOf<number>();
  });
});
