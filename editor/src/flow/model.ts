/**
 * The editor's model of a flow, in two parts kept apart:
 * - the document (`FlowDoc`): the flow's records as they are saved (nodes with their position, notes, edges and
 *   the other fields), immutable and structurally shared, so undo history is a list of documents;
 * - view state (selection, React Flow's measured sizes, problems and diff marks), which is never saved or undone.
 * React Flow's node and edge arrays are derived from both (`toViewNodes`, `toViewEdges`), reusing the object of
 * every node whose inputs did not change, so a drag or a selection re-renders the nodes it touches only.
 */
import type { Edge, Node } from '@xyflow/react';
import type { FlowDocument, FlowEdge, FlowNode, Problem } from '../api/types.js';

export interface StickyNote {
  id: string;
  text: string;
  position: { x: number; y: number };
  width?: number;
  height?: number;
  color?: string;
}

/** A flow node as saved: the document's node, with its position always set. */
export type NodeRecord = FlowNode & { ui: { position: { x: number; y: number } } };

/** Everything of the document except nodes, edges and notes. */
export type FlowMeta = Omit<FlowDocument, 'nodes' | 'edges'>;

export interface FlowDoc {
  meta: FlowMeta;
  nodes: readonly NodeRecord[];
  notes: readonly StickyNote[];
  edges: readonly FlowEdge[];
}

export type DiffMark = 'added' | 'changed' | 'removed';

export interface Size {
  width: number;
  height: number;
}

export type FlowNodeData = { node: NodeRecord; problems?: readonly Problem[]; diff?: DiffMark };
export type NoteNodeData = { note: StickyNote };
export type FinflowNode = Node<FlowNodeData, 'finflow'>;
export type NoteNode = Node<NoteNodeData, 'note'>;
export type EditorNode = FinflowNode | NoteNode;
export type EditorEdge = Edge;

export const NOTE_PREFIX = 'note:';
export const NOTE_SIZE: Size = { width: 220, height: 140 };
/** A node's size before React Flow has measured it, so fitting the view and culling work in one pass. */
export const NODE_SIZE: Size = { width: 232, height: 96 };

export const noteViewId = (noteId: string) => `${NOTE_PREFIX}${noteId}`;

export function isFlowNode(n: EditorNode): n is FinflowNode {
  return n.type === 'finflow';
}

/** A document's node with a position: its saved one, or a place on a grid by its index. */
export function nodeRecord(node: FlowNode, index: number): NodeRecord {
  if (node.ui?.position) return node as NodeRecord;
  return { ...node, ui: { position: { x: (index % 6) * 280, y: Math.floor(index / 6) * 180 } } };
}

export function fromDocument(doc: FlowDocument): FlowDoc {
  const { nodes, edges, ...meta } = doc;
  return {
    meta,
    nodes: nodes.map(nodeRecord),
    notes: (doc.ui?.notes ?? []) as StickyNote[],
    edges,
  };
}

const round = (v: number) => Math.round(v * 10) / 10;
const rounded = (p: { x: number; y: number }) => ({ x: round(p.x), y: round(p.y) });

export function toDocument(doc: FlowDoc, viewport?: { x: number; y: number; zoom: number }): FlowDocument {
  const nodes = doc.nodes.map((n) => ({ ...n, ui: { ...n.ui, position: rounded(n.ui.position) } }));
  const notes = doc.notes.map((n) => ({
    ...n,
    position: rounded(n.position),
    ...(n.width !== undefined ? { width: Math.round(n.width) } : {}),
    ...(n.height !== undefined ? { height: Math.round(n.height) } : {}),
  }));
  const ui: NonNullable<FlowDocument['ui']> = { ...(doc.meta.ui ?? {}), notes };
  if (viewport)
    ui.viewport = {
      x: round(viewport.x),
      y: round(viewport.y),
      zoom: Math.round(viewport.zoom * 1000) / 1000,
    };
  return { ...doc.meta, nodes, edges: [...doc.edges], ui } as FlowDocument;
}

/** What a view node is made of; the same inputs give the same object back. */
interface NodeInputs {
  selected: boolean;
  measured: Size | undefined;
  problems: readonly Problem[] | undefined;
  diff: DiffMark | undefined;
}

/** Caches of derived view objects, one per editor store (reset when another flow loads). */
export class ViewCache {
  private readonly nodes = new Map<
    string,
    { rec: NodeRecord | StickyNote; in: NodeInputs; out: EditorNode }
  >();
  private readonly edges = new Map<
    string,
    { rec: FlowEdge; selected: boolean; problem: boolean; out: EditorEdge }
  >();

  node(rec: NodeRecord, inputs: NodeInputs): FinflowNode {
    const hit = this.nodes.get(rec.id);
    if (hit && hit.rec === rec && sameInputs(hit.in, inputs)) return hit.out as FinflowNode;
    // The node component is memoised on its data: keep the object when only selection or size changed (React
    // Flow measuring 500 nodes at open would otherwise re-render every one of them).
    const old = hit?.out.data as FlowNodeData | undefined;
    const data: FlowNodeData =
      old && old.node === rec && old.problems === inputs.problems && old.diff === inputs.diff
        ? old
        : {
            node: rec,
            ...(inputs.problems ? { problems: inputs.problems } : {}),
            ...(inputs.diff ? { diff: inputs.diff } : {}),
          };
    const out: FinflowNode = {
      id: rec.id,
      type: 'finflow',
      position: rec.ui.position,
      data,
      selected: inputs.selected,
      ...(inputs.measured
        ? { measured: inputs.measured }
        : { initialWidth: NODE_SIZE.width, initialHeight: NODE_SIZE.height }),
    };
    this.nodes.set(rec.id, { rec, in: inputs, out });
    return out;
  }

  note(note: StickyNote, inputs: NodeInputs): NoteNode {
    const id = noteViewId(note.id);
    const hit = this.nodes.get(id);
    if (hit && hit.rec === note && sameInputs(hit.in, inputs)) return hit.out as NoteNode;
    const width = note.width ?? NOTE_SIZE.width;
    const height = note.height ?? NOTE_SIZE.height;
    const out: NoteNode = {
      id,
      type: 'note',
      position: note.position,
      data: { note },
      selected: inputs.selected,
      style: { width, height },
      // Notes sit under the flow; their size is the document's (the note's own), not only what was measured.
      zIndex: -1,
      ...(inputs.measured ? { measured: inputs.measured } : {}),
    };
    this.nodes.set(id, { rec: note, in: inputs, out });
    return out;
  }

  edge(rec: FlowEdge, selected: boolean, problem: boolean): EditorEdge {
    const hit = this.edges.get(rec.id);
    if (hit && hit.rec === rec && hit.selected === selected && hit.problem === problem) return hit.out;
    const out: EditorEdge = {
      id: rec.id,
      source: rec.from.node,
      sourceHandle: rec.from.port,
      target: rec.to.node,
      targetHandle: rec.to.port,
      selected,
      ...(problem ? { className: 'has-problem' } : {}),
    };
    this.edges.set(rec.id, { rec, selected, problem, out });
    return out;
  }

  get size(): number {
    return this.nodes.size + this.edges.size;
  }

  /** Drops entries of ids no longer in the flow. */
  prune(nodeIds: ReadonlySet<string>, edgeIds: ReadonlySet<string>): void {
    for (const id of this.nodes.keys()) if (!nodeIds.has(id)) this.nodes.delete(id);
    for (const id of this.edges.keys()) if (!edgeIds.has(id)) this.edges.delete(id);
  }
}

function sameInputs(a: NodeInputs, b: NodeInputs): boolean {
  return (
    a.selected === b.selected && a.measured === b.measured && a.problems === b.problems && a.diff === b.diff
  );
}

export interface ViewState {
  selection: ReadonlySet<string>;
  edgeSelection: ReadonlySet<string>;
  measured: ReadonlyMap<string, Size>;
  problemsByNode: Readonly<Record<string, Problem[]>>;
  problemEdges: ReadonlySet<string>;
  diffMarks: Readonly<Record<string, DiffMark>> | null;
}

/** React Flow's nodes: notes first (they sit under the flow), then flow nodes in document order. */
export function toViewNodes(doc: FlowDoc, view: ViewState, cache: ViewCache): EditorNode[] {
  const out: EditorNode[] = [];
  for (const note of doc.notes) {
    const id = noteViewId(note.id);
    out.push(
      cache.note(note, {
        selected: view.selection.has(id),
        measured: view.measured.get(id),
        problems: undefined,
        diff: undefined,
      }),
    );
  }
  for (const rec of doc.nodes)
    out.push(
      cache.node(rec, {
        selected: view.selection.has(rec.id),
        measured: view.measured.get(rec.id),
        problems: view.problemsByNode[rec.id],
        diff: view.diffMarks?.[rec.id],
      }),
    );
  return out;
}

export function toViewEdges(doc: FlowDoc, view: ViewState, cache: ViewCache): EditorEdge[] {
  return doc.edges.map((e) => cache.edge(e, view.edgeSelection.has(e.id), view.problemEdges.has(e.id)));
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

/** A note id unique among the notes' ids. */
export function newNoteId(taken: ReadonlySet<string>): string {
  for (let i = 1; ; i++) {
    const id = `note_${i}`;
    if (!taken.has(id)) return id;
  }
}
