/**
 * The editor's in-memory model of a flow: React Flow nodes (flow nodes and sticky notes) and edges, converted to
 * and from the persisted flow document. Position lives on the React Flow node; everything else of a flow node
 * stays in `data.node` untouched, so a document loaded and saved without edits comes back the same.
 */
import type { Edge, Node } from '@xyflow/react';
import type { FlowDocument, FlowEdge, FlowNode } from '../api/types.js';

export interface StickyNote {
  id: string;
  text: string;
  position: { x: number; y: number };
  width?: number;
  height?: number;
  color?: string;
}

export type FlowNodeData = { node: Omit<FlowNode, 'ui'> };
export type NoteNodeData = { note: Omit<StickyNote, 'position'> };
export type FinflowNode = Node<FlowNodeData, 'finflow'>;
export type NoteNode = Node<NoteNodeData, 'note'>;
export type EditorNode = FinflowNode | NoteNode;
export type EditorEdge = Edge;

/** Everything of the document except nodes, edges and notes. */
export type FlowMeta = Omit<FlowDocument, 'nodes' | 'edges'>;

export const NOTE_PREFIX = 'note:';

export function isFlowNode(n: EditorNode): n is FinflowNode {
  return n.type === 'finflow';
}

export function toFlowNode(node: FlowNode, index: number): FinflowNode {
  const { ui, ...rest } = node;
  return {
    id: node.id,
    type: 'finflow',
    position: ui?.position ?? { x: (index % 6) * 280, y: Math.floor(index / 6) * 180 },
    // A size before React Flow has measured the node, so fitting the view and culling off-screen nodes work
    // in one pass on large flows.
    initialWidth: 232,
    initialHeight: 96,
    data: { node: rest },
  };
}

export function toNoteNode(note: StickyNote): NoteNode {
  const { position, ...rest } = note;
  return {
    // Notes share React Flow's id space with flow nodes; the prefix keeps them apart.
    id: `${NOTE_PREFIX}${note.id}`,
    type: 'note',
    position,
    data: { note: rest },
    style: { width: note.width ?? 220, height: note.height ?? 140 },
    zIndex: -1,
  };
}

export function toEdge(e: FlowEdge): EditorEdge {
  return {
    id: e.id,
    source: e.from.node,
    sourceHandle: e.from.port,
    target: e.to.node,
    targetHandle: e.to.port,
  };
}

export function fromDocument(doc: FlowDocument): {
  meta: FlowMeta;
  nodes: EditorNode[];
  edges: EditorEdge[];
} {
  const { nodes, edges, ...meta } = doc;
  const notes = (doc.ui?.notes ?? []) as StickyNote[];
  return {
    meta,
    nodes: [...notes.map(toNoteNode), ...nodes.map(toFlowNode)],
    edges: edges.map(toEdge),
  };
}

const round = (v: number) => Math.round(v * 10) / 10;

export function toDocument(
  meta: FlowMeta,
  nodes: readonly EditorNode[],
  edges: readonly EditorEdge[],
  viewport?: { x: number; y: number; zoom: number },
): FlowDocument {
  const flowNodes: FlowNode[] = [];
  const notes: StickyNote[] = [];
  for (const n of nodes) {
    const position = { x: round(n.position.x), y: round(n.position.y) };
    if (n.type === 'finflow') flowNodes.push({ ...n.data.node, ui: { position } } as FlowNode);
    else {
      const w = n.measured?.width ?? (typeof n.style?.width === 'number' ? n.style.width : undefined);
      const h = n.measured?.height ?? (typeof n.style?.height === 'number' ? n.style.height : undefined);
      notes.push({
        ...n.data.note,
        position,
        ...(w ? { width: Math.round(w) } : {}),
        ...(h ? { height: Math.round(h) } : {}),
      });
    }
  }
  const flowEdges: FlowEdge[] = edges.map((e) => ({
    id: e.id,
    from: { node: e.source, port: e.sourceHandle ?? '' },
    to: { node: e.target, port: e.targetHandle ?? '' },
  }));
  const ui: NonNullable<FlowDocument['ui']> = { ...(meta.ui ?? {}), notes };
  if (viewport)
    ui.viewport = {
      x: round(viewport.x),
      y: round(viewport.y),
      zoom: Math.round(viewport.zoom * 1000) / 1000,
    };
  return { ...meta, nodes: flowNodes, edges: flowEdges, ui } as FlowDocument;
}

/** A node id derived from its type (`risk.scorecard` -> `scorecard_1`), unique among `taken`. */
export function newNodeId(type: string, taken: ReadonlySet<string>): string {
  const base = (type.split('.').pop() ?? 'node').replace(/[^\w-]/g, '').slice(0, 48) || 'node';
  const stem = /^[A-Za-z_]/.test(base) ? base : `n_${base}`;
  for (let i = 1; ; i++) {
    const id = `${stem}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function newEdgeId(
  source: string,
  sourcePort: string,
  target: string,
  targetPort: string,
  taken: ReadonlySet<string>,
): string {
  const clean = (s: string) => s.replace(/[^\w-]/g, '');
  const base = `e_${clean(source)}_${clean(sourcePort)}_${clean(target)}_${clean(targetPort)}`.slice(0, 60);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base.slice(0, 56)}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function newNoteId(taken: ReadonlySet<string>): string {
  for (let i = 1; ; i++) {
    const id = `note_${i}`;
    if (!taken.has(`${NOTE_PREFIX}${id}`)) return id;
  }
}
