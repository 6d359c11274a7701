import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types.js';
import { copySelection, materialize, parseClipboard } from './clipboard.js';
import { fromDocument, toDocument, type EditorNode } from './model.js';

const doc = {
  schemaVersion: 1,
  id: 'credit',
  name: 'Credit approval',
  description: 'Scores applications',
  nodes: [
    {
      id: 'input',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: {} } },
      ui: { position: { x: 0, y: 0 } },
    },
    {
      id: 'scorecard_1',
      type: 'risk.scorecard',
      version: 1,
      config: { mode: 'score', threshold: 0.3 },
      label: 'Score',
      retry: { maxAttempts: 3 },
      ui: { position: { x: 300, y: 40 } },
    },
    {
      id: 'output',
      type: 'io.output',
      version: 1,
      config: { name: 'scores' },
      ui: { position: { x: 600, y: 40 } },
    },
  ],
  edges: [
    { id: 'e1', from: { node: 'input', port: 'value' }, to: { node: 'scorecard_1', port: 'table' } },
    { id: 'e2', from: { node: 'scorecard_1', port: 'scores' }, to: { node: 'output', port: 'value' } },
  ],
  ui: { notes: [{ id: 'n1', text: 'Policy v3', position: { x: 0, y: -160 }, width: 200, height: 100 }] },
} as FlowDocument;

describe('flow document model', () => {
  it('round-trips a document through the editor model unchanged', () => {
    const { meta, nodes, edges } = fromDocument(doc);
    expect(toDocument(meta, nodes, edges)).toEqual(doc);
  });
});

describe('copy and paste', () => {
  it('copies the selection with its inner edges and pastes it with fresh ids', () => {
    const { nodes, edges } = fromDocument(doc);
    const selected = nodes.map((n) =>
      n.id === 'scorecard_1' || n.id === 'output' ? { ...n, selected: true } : n,
    ) as EditorNode[];
    const payload = copySelection(selected, edges);
    expect(payload?.nodes.map((n) => n.id)).toEqual(['scorecard_1', 'output']);
    expect(payload?.edges.map((e) => e.id)).toEqual(['e2']);

    const parsed = parseClipboard(JSON.stringify(payload));
    expect(parsed).not.toBeNull();
    const pasted = materialize(
      parsed!,
      { nodes: new Set(nodes.map((n) => n.id)), edges: new Set(edges.map((e) => e.id)) },
      { x: 1000, y: 500 },
    );
    const ids = pasted.nodes.map((n) => n.id);
    expect(ids).toEqual(['scorecard_2', 'output_1']);
    expect(pasted.nodes[0]?.position).toEqual({ x: 1000, y: 500 });
    expect(pasted.nodes[1]?.position).toEqual({ x: 1300, y: 500 });
    expect(pasted.edges).toHaveLength(1);
    expect(pasted.edges[0]).toMatchObject({
      source: 'scorecard_2',
      target: 'output_1',
      sourceHandle: 'scores',
      targetHandle: 'value',
    });
    expect(pasted.edges[0]?.id).not.toBe('e2');
    // The copied config travels with the node.
    expect(pasted.nodes[0]?.type === 'finflow' && pasted.nodes[0].data.node.config).toEqual({
      mode: 'score',
      threshold: 0.3,
    });
  });

  it('ignores clipboard text that is not a FinFlow selection', () => {
    expect(parseClipboard('hello')).toBeNull();
    expect(parseClipboard('{"kind":"other","nodes":[],"edges":[]}')).toBeNull();
    expect(parseClipboard('{"kind":"finflow/nodes","nodes":[{"id":1}],"edges":[]}')).toBeNull();
  });
});
