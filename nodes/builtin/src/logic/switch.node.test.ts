import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { switchNode } from './switch.node.js';
import { flowOf, inputNode, outputNode, runFlow } from '../test-helpers/flows.js';

const cases = [
  { name: 'block', when: 'value.score >= 0.9' },
  { name: 'review', when: 'value.score >= 0.5' },
];

describe('logic.switch', () => {
  it('sends the value to the first case that holds, else to default', async () => {
    expect(
      (await runNode(switchNode, { config: { cases }, inputs: { value: { score: 0.95 } } })).outputs,
    ).toEqual({ block: { score: 0.95 } });
    expect(
      (await runNode(switchNode, { config: { cases }, inputs: { value: { score: 0.6 } } })).outputs,
    ).toEqual({ review: { score: 0.6 } });
    expect(
      (await runNode(switchNode, { config: { cases }, inputs: { value: { score: 0.1 } } })).outputs,
    ).toEqual({ default: { score: 0.1 } });
  });

  it('sends to every case that holds in "all" mode', async () => {
    const r = await runNode(switchNode, {
      config: { cases, mode: 'all' },
      inputs: { value: { score: 0.95 } },
    });
    expect(Object.keys(r.outputs ?? {})).toEqual(['block', 'review']);
  });

  it('rejects duplicate or reserved case names', async () => {
    const r = await runNode(switchNode, {
      config: { cases: [...cases, { name: 'block', when: 'true' }, { name: 'default', when: 'true' }] },
      inputs: { value: 1 },
    });
    expect(r.error?.message).toMatch(/two cases are named block/);
    expect(r.error?.message).toMatch(/"default" is the fallback/);
  });

  it('has one output per case in a flow, and skips the others', async () => {
    const flow = flowOf(
      [
        inputNode({ score: { type: 'number' } }),
        { id: 's', type: 'logic.switch', config: { cases } },
        outputNode('b', 'blocked'),
        outputNode('r', 'reviewed'),
        outputNode('d', 'passed'),
      ],
      ['in.value->s.value', 's.block->b.value', 's.review->r.value', 's.default->d.value'],
    );
    const r = await runFlow(flow, { score: 0.7 });
    expect(r.outputs).toEqual({ reviewed: { score: 0.7 } });
    expect(r.nodes['b']?.status).toBe('skipped');
  });
});
