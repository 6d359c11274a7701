import { describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { mergeNode } from './merge.node.js';

describe('logic.merge', () => {
  it('passes on the first input that arrived, in the listed order', async () => {
    expect((await runNode(mergeNode, { config: {}, inputs: { b: 2 } })).outputs).toEqual({ value: 2 });
    expect((await runNode(mergeNode, { config: {}, inputs: { a: 1, b: 2 } })).outputs).toEqual({ value: 1 });
    expect(
      (await runNode(mergeNode, { config: { inputs: ['x', 'y', 'z'] }, inputs: { z: 'late' } })).outputs,
    ).toEqual({ value: 'late' });
  });

  it('collects every input that arrived', async () => {
    const r = await runNode(mergeNode, {
      config: { inputs: ['x', 'y', 'z'], mode: 'collect' },
      inputs: { x: 1, z: 3 },
    });
    expect(r.outputs).toEqual({ value: { x: 1, z: 3 } });
  });

  it('rejects duplicate input names', async () => {
    const r = await runNode(mergeNode, { config: { inputs: ['x', 'x'] }, inputs: { x: 1 } });
    expect(r.error?.code).toBe('INVALID_CONFIG');
  });
});
