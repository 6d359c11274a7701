/**
 * Copy and paste of nodes, their inner edges and notes as JSON text, so a selection travels between flows (and
 * browser tabs) through the system clipboard. Pasted ids are made unique in the target flow and edges follow.
 */
import type { FlowEdge, FlowNode } from '../api/types.js';
import {
  newEdgeId,
  newNodeId,
  newNoteId,
  noteViewId,
  type FlowDoc,
  type NodeRecord,
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

/** The selected nodes and notes (view ids), with the edges between selected nodes. */
export function copySelection(doc: FlowDoc, selection: ReadonlySet<string>): ClipboardPayload | null {
  const nodes = doc.nodes.filter((n) => selection.has(n.id));
  const notes = doc.notes.filter((n) => selection.has(noteViewId(n.id)));
  if (!nodes.length && !notes.length) return null;
  const ids = new Set(nodes.map((n) => n.id));
  return {
    kind: CLIPBOARD_KIND,
    version: 1,
    nodes,
    notes,
    edges: doc.edges.filter((e) => ids.has(e.from.node) && ids.has(e.to.node)),
  };
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
 * Records for a payload pasted into a flow whose ids are `taken`: the selection keeps its shape, its top-left
 * corner lands at `at`, ids are made unique and edges follow their renamed nodes. `selection` holds the view ids
 * of what was pasted, so it can come selected.
 */
export function materialize(
  payload: ClipboardPayload,
  taken: { nodes: ReadonlySet<string>; notes: ReadonlySet<string>; edges: ReadonlySet<string> },
  at: { x: number; y: number },
): { nodes: NodeRecord[]; notes: StickyNote[]; edges: FlowEdge[]; selection: string[] } {
  const all = [
    ...payload.nodes.map((n) => n.ui?.position ?? { x: 0, y: 0 }),
    ...payload.notes.map((n) => n.position),
  ];
  const minX = Math.min(...all.map((p) => p.x));
  const minY = Math.min(...all.map((p) => p.y));
  const shift = (p: { x: number; y: number }) => ({ x: p.x - minX + at.x, y: p.y - minY + at.y });
  const nodeIds = new Set(taken.nodes);
  const noteIds = new Set(taken.notes);
  const edgeIds = new Set(taken.edges);
  const rename = new Map<string, string>();
  const nodes: NodeRecord[] = [];
  const notes: StickyNote[] = [];
  const selection: string[] = [];
  for (const n of payload.nodes) {
    const id = nodeIds.has(n.id) ? newNodeId(n.type, nodeIds) : n.id;
    nodeIds.add(id);
    rename.set(n.id, id);
    nodes.push({ ...n, id, ui: { ...n.ui, position: shift(n.ui?.position ?? { x: 0, y: 0 }) } });
    selection.push(id);
  }
  for (const note of payload.notes) {
    const id = noteIds.has(note.id) ? newNoteId(noteIds) : note.id;
    noteIds.add(id);
    notes.push({ ...note, id, position: shift(note.position) });
    selection.push(noteViewId(id));
  }
  const edges: FlowEdge[] = [];
  for (const e of payload.edges) {
    const source = rename.get(e.from.node);
    const target = rename.get(e.to.node);
    if (!source || !target) continue;
    const id = edgeIds.has(e.id) ? newEdgeId(source, e.from.port, target, e.to.port, edgeIds) : e.id;
    edgeIds.add(id);
    edges.push({ id, from: { node: source, port: e.from.port }, to: { node: target, port: e.to.port } });
  }
  return { nodes, notes, edges, selection };
}
