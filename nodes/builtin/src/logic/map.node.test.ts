import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { builtinNodes } from '../index.js';
import { mapNode } from './map.node.js';
import { flowOf, inputNode, outputNode } from '../test-helpers/flows.js';

const registry = builtinNodes;

describe('logic.map', () => {
  it('runs a node for each item, in order, with bounded concurrency', async () => {
    const r = await runNode(mapNode, {
      registry,
      config: {
        node: { type: 'data.transform', config: { expression: 'data.amount * 1.1' } },
        concurrency: 2,
      },
      inputs: { items: [{ amount: 100 }, { amount: 200 }, { amount: 300 }] },
    });
    expect(r.status).toBe('succeeded');
    expect((r.outputs?.['results'] as number[]).map((v) => Math.round(v))).toEqual([110, 220, 330]);
    expect(r.streamed.at(-1)).toEqual({ done: 3, total: 3 });
  });

  it('runs a sub-flow for each item and names the failing item', async () => {
    const sub = flowOf(
      [
        inputNode({ name: { type: 'string' } }, ['name']),
        { id: 't', type: 'data.template', config: { template: 'Dear {{ input.name }}' } },
        outputNode('o', 'greeting'),
      ],
      ['in.value->t.__unused'].slice(1).concat(['t.text->o.value']),
      'greet',
    );
    const r = await runNode(mapNode, {
      registry,
      config: { flow: sub },
      inputs: { items: [{ name: 'Li Wei' }, { name: 'Ann' }] },
    });
    expect(r.outputs).toEqual({ results: ['Dear Li Wei', 'Dear Ann'] });
    const bad = await runNode(mapNode, {
      registry,
      config: { flow: sub },
      inputs: { items: [{ name: 'Li' }, { nom: 'x' }] },
    });
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'INVALID_INPUT' } });
    expect(bad.error?.message).toMatch(/^item 1:/);
  });

  it('validates the inner node or sub-flow with the outer flow', async () => {
    const r = await runNode(mapNode, {
      registry,
      config: { node: { type: 'data.nothing', config: {} } },
      inputs: { items: [] },
    });
    expect(r.error?.message).toContain('unknown node type data.nothing');
    const both = await runNode(mapNode, { registry, config: {}, inputs: { items: [] } });
    expect(both.error?.message).toContain('exactly one of');
    const badFlow = await runNode(mapNode, {
      registry,
      config: { flow: { schemaVersion: 1, id: 'x', name: 'x', nodes: [], edges: [] } },
      inputs: { items: [] },
    });
    expect(badFlow.error?.message).toContain('NO_INPUT_NODE');
  });
});
