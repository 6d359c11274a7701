import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { transformNode } from './transform.node.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

describe('data.transform', () => {
  it('maps data with JSONata', async () => {
    const r = await runNode(transformNode, {
      config: { expression: '{ "total": $sum(data.amount), "big": data[amount > 100].id }' },
      inputs: { data: [{ id: 'a', amount: 50 }, { id: 'b', amount: 500 }, { id: 'c', amount: 700 }] },
    });
    expect(r.outputs).toEqual({ result: { total: 1250, big: ['b', 'c'] } });
  });

  it('fails clearly when nothing matches, or gives null when asked', async () => {
    expect(await runNode(transformNode, { config: { expression: 'data.nope' }, inputs: { data: {} } })).toMatchObject({ status: 'failed', error: { code: 'EMPTY_RESULT' } });
    expect((await runNode(transformNode, { config: { expression: 'data.nope', emptyResult: 'null' }, inputs: { data: {} } })).outputs).toEqual({ result: null });
  });

  it('reads the flow input and upstream results in a flow', async () => {
    const flow = flowOf(
      [
        inputNode({ income: { type: 'number' }, debt: { type: 'number' } }),
        { id: 'dti', type: 'data.transform', config: { expression: '$round(input.debt / input.income, 3)' } },
        { id: 'label', type: 'data.transform', config: { expression: 'nodes.dti.result > 0.4 ? "high" : "ok"' } },
        outputNode('o', 'dti'),
        outputNode('l', 'label'),
      ],
      ['in.value->dti.data', 'dti.result->label.data', 'dti.result->o.value', 'label.result->l.value'],
    );
    expect((await runFlow(flow, { income: 10000, debt: 4500 })).outputs).toEqual({ dti: 0.45, label: 'high' });
  });
});
