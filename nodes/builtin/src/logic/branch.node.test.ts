import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { branchNode } from './branch.node.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

describe('logic.branch', () => {
  it('routes the value by the condition', async () => {
    const big = await runNode(branchNode, {
      config: { condition: 'value.amount > 10000' },
      inputs: { value: { amount: 25000 } },
    });
    expect(big.outputs).toEqual({ true: { amount: 25000 } });
    const small = await runNode(branchNode, {
      config: { condition: 'value.amount > 10000' },
      inputs: { value: { amount: 5 } },
    });
    expect(small.outputs).toEqual({ false: { amount: 5 } });
  });

  it('refuses a condition that is not boolean, and takes false (with a warning) when it gives nothing', async () => {
    const r = await runNode(branchNode, {
      config: { condition: 'value.amount' },
      inputs: { value: { amount: 5 } },
    });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'CONDITION_NOT_BOOLEAN' } });
    const missing = await runNode(branchNode, {
      config: { condition: 'value.missing > 1' },
      inputs: { value: {} },
    });
    expect(missing.outputs).toEqual({ false: {} });
  });

  it('skips the side not taken in a flow, and sees the flow input', async () => {
    const flow = flowOf(
      [
        inputNode({ amount: { type: 'number' }, vip: { type: 'boolean' } }),
        { id: 'b', type: 'logic.branch', config: { condition: 'value > 10000 and $not(input.vip)' } },
        { id: 'review', type: 'data.template', config: { template: 'review {{ v }}', variables: ['v'] } },
        { id: 'auto', type: 'data.template', config: { template: 'auto {{ v }}', variables: ['v'] } },
        { id: 'm', type: 'logic.merge', config: { inputs: ['r', 'a'] } },
        outputNode('o', 'route'),
      ],
      [
        'in.amount->b.value',
        'b.true->review.v',
        'b.false->auto.v',
        'review.text->m.r',
        'auto.text->m.a',
        'm.value->o.value',
      ],
    );
    const r1 = await runFlow(flow, { amount: 50000, vip: false });
    expect(r1.outputs).toEqual({ route: 'review 50000' });
    expect(r1.nodes['auto']?.status).toBe('skipped');
    const r2 = await runFlow(flow, { amount: 50000, vip: true });
    expect(r2.outputs).toEqual({ route: 'auto 50000' });
  });

  it('fails validation for a condition that does not parse', async () => {
    const r = await runNode(branchNode, { config: { condition: 'value >' }, inputs: { value: 1 } });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'INVALID_CONFIG' } });
    expect(r.error?.message).toContain('INVALID_EXPRESSION');
  });
});
