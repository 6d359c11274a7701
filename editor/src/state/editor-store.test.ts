import { beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types.js';
import { testByType, testCatalog } from '../test-fixtures/catalog.js';
import { useCatalogStore } from './catalog-store.js';
import { sameExceptPosition, useEditorStore } from './editor-store.js';

const doc = {
  schemaVersion: 1,
  id: 'f',
  name: 'Flow',
  description: '',
  nodes: [
    { id: 'chat', type: 'model.chat', version: 1, config: {}, ui: { position: { x: 0, y: 0 } } },
    {
      id: 'card',
      type: 'risk.scorecard',
      version: 1,
      config: { threshold: 0.3 },
      ui: { position: { x: 300, y: 0 } },
    },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'r' }, ui: { position: { x: 600, y: 0 } } },
  ],
  edges: [],
  ui: { notes: [{ id: 'n1', text: 'Why', position: { x: 0, y: -200 } }] },
} as FlowDocument;

const store = () => useEditorStore.getState();
const ids = () => store().doc.nodes.map((n) => n.id);
const card = () => store().doc.nodes.find((n) => n.id === 'card');

beforeEach(() => {
  useCatalogStore.setState({
    catalog: { nodes: testCatalog, portTypes: [], coercions: [] },
    byType: testByType,
  });
  store().load({
    flow: { id: 'f' },
    version: { number: 1, hash: 'h', author: { id: null, name: 'Ada' }, message: '', createdAt: 0 },
    document: doc,
  });
});

describe('editor store', () => {
  it('undoes and redoes every kind of edit', () => {
    const id = store().addNode(testByType.get('io.output')!, { x: 10, y: 10 });
    expect(ids()).toContain(id);
    expect(
      store().connect({ source: 'chat', sourceHandle: 'text', target: 'out', targetHandle: 'value' }).ok,
    ).toBe(true);
    store().updateNode('card', { config: { threshold: 0.5 } });
    expect(store().past).toHaveLength(3);

    store().undo();
    expect(card()?.config).toEqual({ threshold: 0.3 });
    store().undo();
    expect(store().doc.edges).toHaveLength(0);
    store().undo();
    expect(ids()).not.toContain(id);
    store().redo();
    store().redo();
    expect(store().doc.edges).toHaveLength(1);
    expect(store().viewEdges).toHaveLength(1);
    expect(ids()).toContain(id);
    expect(store().dirty).toBe(true);
  });

  it('keeps selection and measured sizes out of the undo history', () => {
    store().onNodesChange([
      { type: 'dimensions', id: 'card', dimensions: { width: 232, height: 120 } },
      { type: 'select', id: 'card', selected: true },
    ]);
    expect(store().past).toHaveLength(0);
    expect(store().dirty).toBe(false);
    store().updateNode('card', { label: 'Score' });
    store().selectOnly('chat');
    store().undo();
    // The label is undone; what is selected and measured is not.
    expect(card()?.label).toBeUndefined();
    expect([...store().selection]).toEqual(['chat']);
    expect(store().viewNodes.find((n) => n.id === 'card')?.measured).toEqual({ width: 232, height: 120 });
  });

  it('records a drag as one undo step, and re-creates only the dragged node for React Flow', () => {
    const before = store().viewNodes;
    store().beginGesture();
    for (const x of [310, 320, 330])
      store().onNodesChange([{ type: 'position', id: 'card', position: { x, y: 5 }, dragging: true }]);
    store().commitGesture();
    expect(store().past).toHaveLength(1);
    expect(card()?.ui.position).toEqual({ x: 330, y: 5 });
    const after = store().viewNodes;
    expect(after.filter((n, i) => n !== before[i]).map((n) => n.id)).toEqual(['card']);
    store().undo();
    expect(card()?.ui.position).toEqual({ x: 300, y: 0 });
  });

  it('keeps a refused connection out of the flow and out of the history', () => {
    const r = store().connect({
      source: 'chat',
      sourceHandle: 'text',
      target: 'card',
      targetHandle: 'table',
    });
    expect(r.ok).toBe(false);
    expect(store().doc.edges).toHaveLength(0);
    expect(store().past).toHaveLength(0);
  });

  it('records typing into one field as one undo step', () => {
    for (const v of [0.31, 0.32, 0.33])
      store().updateNode('card', { config: { threshold: v } }, 'config.threshold');
    expect(store().past).toHaveLength(1);
    store().undo();
    expect(card()?.config).toEqual({ threshold: 0.3 });
  });

  it('deletes the selection with the edges that touch it, undoably', () => {
    store().connect({ source: 'chat', sourceHandle: 'text', target: 'out', targetHandle: 'value' });
    store().selectOnly('out');
    store().deleteSelection();
    expect(ids()).toEqual(['chat', 'card']);
    expect(store().doc.edges).toHaveLength(0);
    expect(store().selection.size).toBe(0);
    store().undo();
    expect(store().doc.edges).toHaveLength(1);
    const saved = store().documentNow();
    expect(saved.nodes.map((n) => n.id)).toEqual(['chat', 'card', 'out']);
    expect(saved.edges[0]).toMatchObject({
      from: { node: 'chat', port: 'text' },
      to: { node: 'out', port: 'value' },
    });
  });

  it('keeps a note resized by hand at its new size in the document', () => {
    store().beginGesture();
    store().onNodesChange([
      { type: 'dimensions', id: 'note:n1', dimensions: { width: 400.4, height: 210 }, resizing: true },
    ]);
    store().commitGesture();
    expect(store().documentNow().ui?.notes?.[0]).toMatchObject({ width: 400, height: 210 });
    expect(store().past).toHaveLength(1);
  });

  it('marks the nodes and edges that have problems in what React Flow draws', () => {
    store().connect({ source: 'chat', sourceHandle: 'text', target: 'out', targetHandle: 'value' });
    const edgeId = store().doc.edges[0]!.id;
    store().setProblems([
      { code: 'MISSING_REQUIRED_INPUT', message: 'x', nodeId: 'card', params: { port: 'table' } },
      { code: 'PORT_TYPE_MISMATCH', message: 'y', edgeId },
    ]);
    const view = store().viewNodes.find((n) => n.id === 'card');
    expect(view?.type === 'finflow' && view.data.problems?.map((p) => p.code)).toEqual([
      'MISSING_REQUIRED_INPUT',
    ]);
    expect(store().viewEdges[0]?.className).toBe('has-problem');
  });

  it('sees a node as unchanged when only its position moved', () => {
    const a = card()!;
    expect(sameExceptPosition(a, { ...a, ui: { position: { x: 1, y: 1 } } })).toBe(true);
    expect(sameExceptPosition(a, { ...a, label: 'x' })).toBe(false);
  });
});
