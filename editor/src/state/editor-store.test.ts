import { beforeEach, describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types.js';
import { testByType, testCatalog } from '../test-fixtures/catalog.js';
import { useCatalogStore } from './catalog-store.js';
import { useEditorStore } from './editor-store.js';

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
} as FlowDocument;

const store = () => useEditorStore.getState();

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
    expect(store().nodes.some((n) => n.id === id)).toBe(true);
    expect(
      store().connect({ source: 'chat', sourceHandle: 'text', target: 'out', targetHandle: 'value' }).ok,
    ).toBe(true);
    store().updateNode('card', { config: { threshold: 0.5 } });
    expect(store().past).toHaveLength(3);

    store().undo();
    expect(store().nodes.find((n) => n.id === 'card')?.data).toMatchObject({
      node: { config: { threshold: 0.3 } },
    });
    store().undo();
    expect(store().edges).toHaveLength(0);
    store().undo();
    expect(store().nodes.some((n) => n.id === id)).toBe(false);
    store().redo();
    store().redo();
    expect(store().edges).toHaveLength(1);
    expect(store().nodes.some((n) => n.id === id)).toBe(true);
    expect(store().dirty).toBe(true);
  });

  it('keeps a refused connection out of the flow and out of the history', () => {
    const r = store().connect({
      source: 'chat',
      sourceHandle: 'text',
      target: 'card',
      targetHandle: 'table',
    });
    expect(r.ok).toBe(false);
    expect(store().edges).toHaveLength(0);
    expect(store().past).toHaveLength(0);
  });

  it('records typing into one field as one undo step', () => {
    for (const v of [0.31, 0.32, 0.33])
      store().updateNode('card', { config: { threshold: v } }, 'config.threshold');
    expect(store().past).toHaveLength(1);
    store().undo();
    expect(store().nodes.find((n) => n.id === 'card')?.data).toMatchObject({
      node: { config: { threshold: 0.3 } },
    });
  });

  it('deletes the selection with the edges that touch it, undoably', () => {
    store().connect({ source: 'chat', sourceHandle: 'text', target: 'out', targetHandle: 'value' });
    store().selectOnly('out');
    store().deleteSelection();
    expect(store().nodes.map((n) => n.id)).toEqual(['chat', 'card']);
    expect(store().edges).toHaveLength(0);
    store().undo();
    expect(store().edges).toHaveLength(1);
    const saved = store().documentNow();
    expect(saved.nodes.map((n) => n.id)).toEqual(['chat', 'card', 'out']);
    expect(saved.edges[0]).toMatchObject({
      from: { node: 'chat', port: 'text' },
      to: { node: 'out', port: 'value' },
    });
  });
});
