/**
 * Copy and paste of nodes, their inner edges and notes as JSON text, so a selection travels between flows (and
 * browser tabs) through the system clipboard. Pasted ids are made unique in the target flow and edges follow.
 */
import type { FlowEdge, FlowNode } from '../api/types.js';
import {
  NOTE_PREFIX,
  newEdgeId,
  newNodeId,
  newNoteId,
  toEdge,
  toFlowNode,
  toNoteNode,
  type EditorEdge,
  type EditorNode,
  type StickyNote,
} from './model.js';

export const CLIPBOARD_KIND = 'finflow/nodes';

export interface ClipboardPayload {
  kind: typeof CLIPBOARD_KIND;
  version: 1;
  nodes: FlowNode[];
  edges: FlowEdge[];
  notes: StickyNote[];
}

export function copySelection(
  nodes: readonly EditorNode[],
  edges: readonly EditorEdge[],
): ClipboardPayload | null {
  const selected = nodes.filter((n) => n.selected);
  if (!selected.length) return null;
  const ids = new Set(selected.map((n) => n.id));
  const payload: ClipboardPayload = { kind: CLIPBOARD_KIND, version: 1, nodes: [], edges: [], notes: [] };
  for (const n of selected) {
    if (n.type === 'finflow')
      payload.nodes.push({ ...n.data.node, ui: { position: n.position } } as FlowNode);
    else
      payload.notes.push({
        ...n.data.note,
        position: n.position,
        ...(n.measured?.width ? { width: n.measured.width } : {}),
        ...(n.measured?.height ? { height: n.measured.height } : {}),
      });
  }
  for (const e of edges)
    if (ids.has(e.source) && ids.has(e.target))
      payload.edges.push({
        id: e.id,
        from: { node: e.source, port: e.sourceHandle ?? '' },
        to: { node: e.target, port: e.targetHandle ?? '' },
      });
  return payload;
}

/** The payload in clipboard text, or null when the text is something else. */
export function parseClipboard(text: string): ClipboardPayload | null {
  if (!text.trimStart().startsWith('{')) return null;
  try {
    const v = JSON.parse(text) as Partial<ClipboardPayload>;
    if (v.kind !== CLIPBOARD_KIND || !Array.isArray(v.nodes) || !Array.isArray(v.edges)) return null;
    const okNode = (n: unknown) =>
      !!n &&
      typeof n === 'object' &&
      typeof (n as FlowNode).id === 'string' &&
      typeof (n as FlowNode).type === 'string';
    if (!v.nodes.every(okNode)) return null;
    return {
      kind: CLIPBOARD_KIND,
      version: 1,
      nodes: v.nodes,
      edges: v.edges,
      notes: Array.isArray(v.notes) ? v.notes : [],
    };
  } catch {
    return null;
  }
}

/**
 * Editor nodes and edges for a payload pasted into a flow whose ids are `taken`: the selection keeps its shape,
 * its top-left corner lands at `at`, and the pasted elements come selected.
 */
export function materialize(
  payload: ClipboardPayload,
  taken: { nodes: ReadonlySet<string>; edges: ReadonlySet<string> },
  at: { x: number; y: number },
): { nodes: EditorNode[]; edges: EditorEdge[] } {
  const all = [
    ...payload.nodes.map((n) => n.ui?.position ?? { x: 0, y: 0 }),
    ...payload.notes.map((n) => n.position),
  ];
  const minX = Math.min(...all.map((p) => p.x));
  const minY = Math.min(...all.map((p) => p.y));
  const shift = (p: { x: number; y: number }) => ({ x: p.x - minX + at.x, y: p.y - minY + at.y });
  const nodeIds = new Set(taken.nodes);
  const edgeIds = new Set(taken.edges);
  const rename = new Map<string, string>();
  const nodes: EditorNode[] = [];
  payload.nodes.forEach((n, i) => {
    const id = nodeIds.has(n.id) ? newNodeId(n.type, nodeIds) : n.id;
    nodeIds.add(id);
    rename.set(n.id, id);
    const node = toFlowNode({ ...n, id, ui: { position: shift(n.ui?.position ?? { x: 0, y: 0 }) } }, i);
    nodes.push({ ...node, selected: true });
  });
  for (const note of payload.notes) {
    const id = nodeIds.has(`${NOTE_PREFIX}${note.id}`) ? newNoteId(nodeIds) : note.id;
    nodeIds.add(`${NOTE_PREFIX}${id}`);
    nodes.push({ ...toNoteNode({ ...note, id, position: shift(note.position) }), selected: true });
  }
  const edges: EditorEdge[] = [];
  for (const e of payload.edges) {
    const source = rename.get(e.from.node);
    const target = rename.get(e.to.node);
    if (!source || !target) continue;
    const id = edgeIds.has(e.id) ? newEdgeId(source, e.from.port, target, e.to.port, edgeIds) : e.id;
    edgeIds.add(id);
    edges.push({
      ...toEdge({ id, from: { node: source, port: e.from.port }, to: { node: target, port: e.to.port } }),
      selected: true,
    });
  }
  return { nodes, edges };
}
