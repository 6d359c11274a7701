/** Helpers for tests that run built-in nodes inside small flows. */
import { createRuntime, type RunResult, type Services } from '@finflow/runtime';
import { createBuiltinRegistry } from '../index.js';

type NodeSpec = { id: string; type: string; config?: Record<string, unknown>; [k: string]: unknown };

export function flowOf(nodes: NodeSpec[], edges: string[], id = 'test') {
  return {
    schemaVersion: 1,
    id,
    name: id,
    nodes: nodes.map((n) => ({ version: 1, config: {}, ...n })),
    edges: edges.map((e, i) => {
      const [from, to] = e.split('->') as [string, string];
      const [fn, fp] = from.split('.') as [string, string];
      const [tn, tp] = to.split('.') as [string, string];
      return { id: `e${i}`, from: { node: fn, port: fp }, to: { node: tn, port: tp } };
    }),
  };
}

export function inputNode(properties: Record<string, unknown>, required: string[] = []) {
  return { id: 'in', type: 'io.input', config: { schema: { type: 'object', properties, required } } };
}

export function outputNode(id: string, name = id) {
  return { id, type: 'io.output', config: { name } };
}

export async function runFlow(
  flow: unknown,
  input: unknown,
  services?: Partial<Services>,
): Promise<RunResult> {
  const runtime = createRuntime({ registry: createBuiltinRegistry(), ...(services ? { services } : {}) });
  return runtime.run(flow, input);
}
