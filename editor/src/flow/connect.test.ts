import { describe, expect, it } from 'vitest';
import { testByType } from '../test-fixtures/catalog.js';
import { checkConnection, type GraphView } from './connect.js';

function graph(
  nodes: Record<string, { type: string; config?: Record<string, unknown> }>,
  edges: GraphView['edges'] = [],
): GraphView {
  return {
    node: (id) => {
      const n = nodes[id];
      return n ? { type: n.type, config: n.config ?? {} } : undefined;
    },
    entry: (type) => testByType.get(type),
    edges,
  };
}

describe('checkConnection', () => {
  const nodes = {
    chat: { type: 'model.chat' },
    card: { type: 'risk.scorecard' },
    out: { type: 'io.output' },
    input: {
      type: 'io.input',
      config: {
        schema: { type: 'object', properties: { amount: { type: 'number' }, name: { type: 'string' } } },
      },
    },
    sw: { type: 'logic.switch', config: { cases: [{ name: 'high', when: 'value > 1' }] } },
  };

  it('checks a code node’s ports, typed by its config, in both directions', () => {
    const withCode = {
      ...nodes,
      code: {
        type: 'code.javascript',
        config: {
          inputs: [{ name: 'amount', type: 'number' }],
          outputs: [{ name: 'rows', type: 'table' }],
        },
      },
    };
    const into = (sourceHandle: string) =>
      checkConnection(graph(withCode), {
        source: 'input',
        sourceHandle,
        target: 'code',
        targetHandle: 'amount',
      });
    expect(into('amount')).toEqual({ ok: true, from: 'number', to: 'number' });
    expect(into('name')).toEqual({
      ok: false,
      refusal: { code: 'type-mismatch', from: 'text', to: 'number' },
    });
    expect(
      checkConnection(graph(withCode), {
        source: 'code',
        sourceHandle: 'rows',
        target: 'card',
        targetHandle: 'table',
      }),
    ).toEqual({ ok: true, from: 'table', to: 'table' });
    expect(
      checkConnection(graph(withCode), {
        source: 'code',
        sourceHandle: 'rows',
        target: 'chat',
        targetHandle: 'messages',
      }),
    ).toEqual({ ok: false, refusal: { code: 'type-mismatch', from: 'table', to: 'messages' } });
  });

  it('refuses a text output into a table input, naming both types', () => {
    const r = checkConnection(graph(nodes), {
      source: 'chat',
      sourceHandle: 'text',
      target: 'card',
      targetHandle: 'table',
    });
    expect(r).toEqual({ ok: false, refusal: { code: 'type-mismatch', from: 'text', to: 'table' } });
  });

  it('accepts a coercible pair (number into any) and ports derived from config', () => {
    expect(
      checkConnection(graph(nodes), {
        source: 'input',
        sourceHandle: 'amount',
        target: 'out',
        targetHandle: 'value',
      }).ok,
    ).toBe(true);
    expect(
      checkConnection(graph(nodes), {
        source: 'sw',
        sourceHandle: 'high',
        target: 'out',
        targetHandle: 'value',
      }).ok,
    ).toBe(true);
    const missing = checkConnection(graph(nodes), {
      source: 'sw',
      sourceHandle: 'low',
      target: 'out',
      targetHandle: 'value',
    });
    expect(missing).toEqual({ ok: false, refusal: { code: 'unknown-port', port: 'low' } });
  });

  it('refuses a second edge into the same input', () => {
    const g = graph(nodes, [{ source: 'chat', target: 'out', targetHandle: 'value' }]);
    const r = checkConnection(g, {
      source: 'input',
      sourceHandle: 'value',
      target: 'out',
      targetHandle: 'value',
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.refusal.code).toBe('input-connected');
  });

  it('refuses an edge that closes a cycle, and a node feeding itself', () => {
    const g = graph(
      { a: { type: 'risk.scorecard' }, b: { type: 'risk.scorecard' }, c: { type: 'risk.scorecard' } },
      [
        { source: 'a', target: 'b', targetHandle: 'table' },
        { source: 'b', target: 'c', targetHandle: 'table' },
      ],
    );
    expect(
      checkConnection(g, { source: 'c', sourceHandle: 'model', target: 'a', targetHandle: 'model' }),
    ).toEqual({ ok: false, refusal: { code: 'cycle' } });
    expect(
      checkConnection(g, { source: 'a', sourceHandle: 'model', target: 'a', targetHandle: 'model' }),
    ).toEqual({ ok: false, refusal: { code: 'self' } });
    expect(
      checkConnection(g, { source: 'a', sourceHandle: 'model', target: 'c', targetHandle: 'model' }).ok,
    ).toBe(true);
  });
});
