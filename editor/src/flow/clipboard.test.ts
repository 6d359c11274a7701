import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types.js';
import { copySelection, materialize, parseClipboard } from './clipboard.js';
import { fromDocument, toDocument } from './model.js';

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
    expect(toDocument(fromDocument(doc))).toEqual(doc);
  });
});

describe('copy and paste', () => {
  it('copies the selection with its inner edges and pastes it with fresh ids', () => {
    const model = fromDocument(doc);
    const payload = copySelection(model, new Set(['scorecard_1', 'output']));
    expect(payload?.nodes.map((n) => n.id)).toEqual(['scorecard_1', 'output']);
    expect(payload?.edges.map((e) => e.id)).toEqual(['e2']);

    const parsed = parseClipboard(JSON.stringify(payload));
    expect(parsed).not.toBeNull();
    const pasted = materialize(
      parsed!,
      {
        nodes: new Set(model.nodes.map((n) => n.id)),
        notes: new Set(model.notes.map((n) => n.id)),
        edges: new Set(model.edges.map((e) => e.id)),
      },
      { x: 1000, y: 500 },
    );
    expect(pasted.nodes.map((n) => n.id)).toEqual(['scorecard_2', 'output_1']);
    expect(pasted.selection).toEqual(['scorecard_2', 'output_1']);
    expect(pasted.nodes[0]?.ui.position).toEqual({ x: 1000, y: 500 });
    expect(pasted.nodes[1]?.ui.position).toEqual({ x: 1300, y: 500 });
    expect(pasted.edges).toEqual([
      {
        id: expect.not.stringMatching(/^e2$/),
        from: { node: 'scorecard_2', port: 'scores' },
        to: { node: 'output_1', port: 'value' },
      },
    ]);
    // The copied config travels with the node.
    expect(pasted.nodes[0]?.config).toEqual({ mode: 'score', threshold: 0.3 });
  });

  it('copies and pastes notes, renamed when their id is taken', () => {
    const model = fromDocument(doc);
    const payload = copySelection(model, new Set(['note:n1']));
    expect(payload?.notes.map((n) => n.text)).toEqual(['Policy v3']);
    const pasted = materialize(
      payload!,
      { nodes: new Set(), notes: new Set(['n1']), edges: new Set() },
      { x: 10, y: 20 },
    );
    expect(pasted.notes).toEqual([{ ...doc.ui!.notes[0], id: 'note_1', position: { x: 10, y: 20 } }]);
    expect(pasted.selection).toEqual(['note:note_1']);
  });

  it('ignores clipboard text that is not a FinFlow selection', () => {
    expect(parseClipboard('hello')).toBeNull();
    expect(parseClipboard('{"kind":"other","nodes":[],"edges":[]}')).toBeNull();
    expect(parseClipboard('{"kind":"finflow/nodes","nodes":[{"id":1}],"edges":[]}')).toBeNull();
  });
});
