/**
 * The documented federated-training example (examples/federated-scorecard) stays a valid flow: it validates
 * against the built-in nodes, and against a workspace with its three `finflow` connections it has no connection
 * problem, while a model connection in a holder's place is refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  connectionProblems,
  connectionSpecSchema,
  prepareFlow,
  validateFlow,
  type ConnectionInfo,
} from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';

const flow = JSON.parse(
  readFileSync(new URL('../../examples/federated-scorecard/flow.json', import.meta.url), 'utf8'),
) as unknown;

const connection = (name: string, kind: 'finflow' | 'openai'): ConnectionInfo => ({
  name,
  ...connectionSpecSchema.parse({
    kind,
    baseUrl: `https://${name}.bank.example`,
    credential: null,
    deployment: 'private',
  }),
});

describe('the federated scorecard example', () => {
  const registry = createBuiltinRegistry();

  it('is a valid flow', () => {
    expect(validateFlow(flow, registry)).toEqual([]);
  });

  it('needs finflow connections for its holders', () => {
    const prepared = prepareFlow(flow, registry);
    if (!prepared.ok) throw new Error('invalid');
    const holders = ['bank-cars', 'bank-retail', 'bank-general'];
    expect(
      connectionProblems(
        prepared.prepared,
        holders.map((h) => connection(h, 'finflow')),
      ),
    ).toEqual([]);
    const problems = connectionProblems(prepared.prepared, [
      connection('bank-cars', 'openai'),
      connection('bank-retail', 'finflow'),
    ]);
    expect(problems.map((p) => p.code).sort()).toEqual(['CONNECTION_NOT_ALLOWED', 'CONNECTION_NOT_FOUND']);
  });
});
