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

  it('gives an expression its ancestors’ outputs however it reaches them, and never another branch’s', async () => {
    // `sib` runs in a parallel branch (before `t` in the ready order): not an ancestor of `t`.
    const flow = (expression: string) =>
      flowOf(
        [
          inputNode({ v: { type: 'number' } }),
          { id: 'a', type: 'data.transform', config: { expression: '{"from": "a", "v": data.v}' } },
          { id: 'sib', type: 'data.transform', config: { expression: '{"from": "sib"}' } },
          { id: 't', type: 'data.transform', config: { expression } },
          outputNode('o', 'seen'),
        ],
        ['in.value->a.data', 'in.value->sib.data', 'a.result->t.data', 't.result->o.value'],
      );
    for (const expression of [
      '$string($lookup($$, "nodes"))',
      '$string($.nodes)',
      '$string($each(function($v, $k) { $k = "nodes" ? $v }))',
      '$eval("$string(nodes)")',
      '$string(**.from)',
    ]) {
      const seen = (await runFlow(flow(expression), { v: 3 })).outputs['seen'] as string;
      expect(seen, expression).toContain('a');
      expect(seen, expression).not.toContain('sib');
    }
    // One that cannot reach them answers as before.
    expect((await runFlow(flow('data.v * 2'), { v: 3 })).outputs).toEqual({ seen: 6 });
  });

  it('cannot change an ancestor’s output for the nodes after it', async () => {
    const flow = flowOf(
      [
        inputNode({ v: { type: 'number' } }),
        { id: 'a', type: 'data.transform', config: { expression: '{"v": data.v}' } },
        // Merges into a's output, and hands on a's output object itself: neither may change it.
        { id: 't', type: 'data.transform', config: { expression: '$merge([nodes.a.result, {"v": 99, "x": 1}])' } },
        { id: 'p', type: 'data.transform', config: { expression: 'nodes.a.result' } },
        { id: 'u', type: 'data.transform', config: { expression: '$merge([data, {"y": 2}])' } },
        { id: 'w', type: 'data.transform', config: { expression: '[nodes.a.result, nodes.t.result, nodes.u.result]' } },
        outputNode('o', 'all'),
      ],
      ['in.value->a.data', 'a.result->t.data', 't.result->p.data', 'p.result->u.data', 'u.result->w.data', 'w.result->o.value'],
    );
    expect((await runFlow(flow, { v: 3 })).outputs).toEqual({
      all: [{ v: 3 }, { v: 99, x: 1 }, { v: 3, y: 2 }],
    });
  });
});
