/**
 * The flow being edited: React Flow nodes and edges, the document's other fields, undo/redo history, server
 * validation problems and version-diff highlights. Components read it through narrow selectors so that dragging
 * one node re-renders that node only. Every edit goes through an action here, and every action that changes the
 * document records one undo step (typing into one field within a moment is one step).
 */
import { applyEdgeChanges, applyNodeChanges, type EdgeChange, type NodeChange } from '@xyflow/react';
import { create } from 'zustand';
import type { CatalogEntry, FlowDocument, FlowNode, Problem, VersionInfo } from '../api/types.js';
import { materialize, type ClipboardPayload } from '../flow/clipboard.js';
import { checkConnection, type ConnectionAttempt, type ConnectResult } from '../flow/connect.js';
import {
  NOTE_PREFIX,
  fromDocument,
  newEdgeId,
  newNodeId,
  newNoteId,
  toDocument,
  toNoteNode,
  type EditorEdge,
  type EditorNode,
  type FinflowNode,
  type FlowMeta,
  type NoteNode,
  type StickyNote,
} from '../flow/model.js';
import { entryFor } from './catalog-store.js';

interface Snapshot {
  meta: FlowMeta;
  nodes: EditorNode[];
  edges: EditorEdge[];
}

export type DiffMark = 'added' | 'changed' | 'removed';

export interface Notice {
  kind: 'error' | 'info' | 'success';
  text: string;
  /** Increments so the same text shown twice still re-triggers the toast. */
  n: number;
}

const HISTORY_LIMIT = 200;
const COALESCE_MS = 1200;

export interface EditorState {
  flowId: string | null;
  version: VersionInfo | null;
  meta: FlowMeta;
  nodes: EditorNode[];
  edges: EditorEdge[];
  past: Snapshot[];
  future: Snapshot[];
  dirty: boolean;
  /** Bumps on every document change, so effects (live validation) can follow edits cheaply. */
  revision: number;
  problems: Problem[];
  problemsByNode: Readonly<Record<string, Problem[]>>;
  diffMarks: Readonly<Record<string, DiffMark>> | null;
  focusRequest: { nodeId: string; n: number } | null;
  notice: Notice | null;

  load(detail: { flow: { id: string }; version: VersionInfo | null; document: FlowDocument }): void;
  reset(): void;
  documentNow(viewport?: { x: number; y: number; zoom: number }): ReturnType<typeof toDocument>;
  onNodesChange(changes: NodeChange<EditorNode>[]): void;
  onEdgesChange(changes: EdgeChange<EditorEdge>[]): void;
  /** Records the state before a drag or resize; `commitGesture` keeps it as an undo step if anything moved. */
  beginGesture(): void;
  commitGesture(): void;
  connect(c: ConnectionAttempt): ConnectResult;
  addNode(entry: CatalogEntry, position: { x: number; y: number }, connectFrom?: ConnectionAttempt): string;
  addNote(position: { x: number; y: number }): string;
  updateNode(id: string, patch: Partial<Omit<FlowNode, 'id' | 'ui'>>, coalesceKey?: string): void;
  replaceNodeField<K extends keyof FlowNode>(
    id: string,
    key: K,
    value: FlowNode[K] | undefined,
    coalesceKey?: string,
  ): void;
  updateNote(id: string, patch: Partial<StickyNote>, coalesceKey?: string): void;
  updateMeta(patch: Partial<FlowMeta>, coalesceKey?: string): void;
  deleteSelection(): void;
  deleteElements(nodeIds: string[], edgeIds: string[]): void;
  selectAll(): void;
  selectOnly(nodeId: string | null): void;
  paste(payload: ClipboardPayload, at: { x: number; y: number }): void;
  applyPositions(positions: ReadonlyMap<string, { x: number; y: number }>): void;
  undo(): void;
  redo(): void;
  setProblems(problems: Problem[]): void;
  setDiffMarks(marks: Record<string, DiffMark> | null): void;
  markSaved(version: VersionInfo | null): void;
  requestFocus(nodeId: string): void;
  notify(kind: Notice['kind'], text: string): void;
}

const emptyMeta: FlowMeta = { schemaVersion: 1, id: 'flow', name: '', description: '' } as FlowMeta;

let gesture: Snapshot | null = null;
let lastCoalesce: { key: string; at: number } | null = null;
let noticeSeq = 0;

function snapshot(s: Pick<EditorState, 'meta' | 'nodes' | 'edges'>): Snapshot {
  return { meta: s.meta, nodes: s.nodes, edges: s.edges };
}

/** The history fields for an edit made from state `s`. */
function record(
  s: EditorState,
  coalesceKey?: string,
): Pick<EditorState, 'past' | 'future' | 'dirty' | 'revision'> {
  const now = Date.now();
  const coalesce =
    coalesceKey !== undefined && lastCoalesce?.key === coalesceKey && now - lastCoalesce.at < COALESCE_MS;
  lastCoalesce = coalesceKey !== undefined ? { key: coalesceKey, at: now } : null;
  return {
    past: coalesce ? s.past : [...s.past.slice(-(HISTORY_LIMIT - 1)), snapshot(s)],
    future: coalesce ? s.future : [],
    dirty: true,
    revision: s.revision + 1,
  };
}

function graphView(nodes: readonly EditorNode[], edges: readonly EditorEdge[]) {
  const byId = new Map<string, FinflowNode>();
  for (const n of nodes) if (n.type === 'finflow') byId.set(n.id, n);
  return {
    node: (id: string) => byId.get(id)?.data.node,
    entry: entryFor,
    edges,
  };
}

/** Restores a snapshot, keeping React Flow's measured sizes of the nodes that are still there. */
function restore(s: EditorState, snap: Snapshot): Pick<EditorState, 'meta' | 'nodes' | 'edges'> {
  const current = new Map(s.nodes.map((n) => [n.id, n]));
  const nodes = snap.nodes.map((n) => {
    const cur = current.get(n.id);
    return cur && cur !== n && cur.measured && !n.measured
      ? ({ ...n, measured: cur.measured } as EditorNode)
      : n;
  });
  return { meta: snap.meta, nodes, edges: snap.edges };
}

function indexProblems(problems: Problem[]): Record<string, Problem[]> {
  const by: Record<string, Problem[]> = {};
  for (const p of problems) if (p.nodeId) (by[p.nodeId] ??= []).push(p);
  return by;
}

function markEdges(edges: EditorEdge[], problems: Problem[]): EditorEdge[] {
  const bad = new Set(problems.filter((p) => p.edgeId).map((p) => p.edgeId));
  let changed = false;
  const next = edges.map((e) => {
    const want = bad.has(e.id) ? 'has-problem' : undefined;
    if ((e.className || undefined) === want) return e;
    changed = true;
    const { className: _drop, ...rest } = e;
    return want ? { ...rest, className: want } : rest;
  });
  return changed ? next : edges;
}

export const useEditorStore = create<EditorState>()((set, get) => ({
  flowId: null,
  version: null,
  meta: emptyMeta,
  nodes: [],
  edges: [],
  past: [],
  future: [],
  dirty: false,
  revision: 0,
  problems: [],
  problemsByNode: {},
  diffMarks: null,
  focusRequest: null,
  notice: null,

  load(detail) {
    const { meta, nodes, edges } = fromDocument(detail.document);
    gesture = null;
    lastCoalesce = null;
    set({
      flowId: detail.flow.id,
      version: detail.version,
      meta,
      nodes,
      edges,
      past: [],
      future: [],
      dirty: false,
      revision: get().revision + 1,
      problems: [],
      problemsByNode: {},
      diffMarks: null,
    });
  },
  reset() {
    set({
      flowId: null,
      version: null,
      meta: emptyMeta,
      nodes: [],
      edges: [],
      past: [],
      future: [],
      dirty: false,
      problems: [],
      problemsByNode: {},
      diffMarks: null,
    });
  },
  documentNow(viewport) {
    const s = get();
    return toDocument(s.meta, s.nodes, s.edges, viewport);
  },

  onNodesChange(changes) {
    // Removals go through deleteElements (with history); React Flow's own delete key is switched off.
    const kept = changes.filter((c) => c.type !== 'remove' && c.type !== 'add' && c.type !== 'replace');
    if (!kept.length) return;
    set((s) => ({ nodes: applyNodeChanges(kept, s.nodes) }));
  },
  onEdgesChange(changes) {
    const kept = changes.filter((c) => c.type === 'select');
    if (!kept.length) return;
    set((s) => ({ edges: applyEdgeChanges(kept, s.edges) }));
  },
  beginGesture() {
    gesture = snapshot(get());
  },
  commitGesture() {
    const before = gesture;
    gesture = null;
    if (!before) return;
    const s = get();
    const prev = new Map(before.nodes.map((n) => [n.id, n]));
    const moved = s.nodes.some((n) => {
      const p = prev.get(n.id);
      return (
        !p ||
        p.position.x !== n.position.x ||
        p.position.y !== n.position.y ||
        (n.type === 'note' &&
          (p.measured?.width !== n.measured?.width || p.measured?.height !== n.measured?.height))
      );
    });
    if (!moved) return;
    lastCoalesce = null;
    set({
      past: [...s.past.slice(-(HISTORY_LIMIT - 1)), before],
      future: [],
      dirty: true,
      revision: s.revision + 1,
    });
  },

  connect(c) {
    const s = get();
    const result = checkConnection(graphView(s.nodes, s.edges), c);
    if (!result.ok) return result;
    const taken = new Set(s.edges.map((e) => e.id));
    const id = newEdgeId(c.source, c.sourceHandle ?? '', c.target, c.targetHandle ?? '', taken);
    const edge: EditorEdge = {
      id,
      source: c.source,
      sourceHandle: c.sourceHandle ?? null,
      target: c.target,
      targetHandle: c.targetHandle ?? null,
    };
    set({ ...record(s), edges: [...s.edges, edge] });
    return result;
  },

  addNode(entry, position, connectFrom) {
    const s = get();
    const taken = new Set(s.nodes.map((n) => n.id));
    const id = newNodeId(entry.type, taken);
    const node: FinflowNode = {
      id,
      type: 'finflow',
      position,
      selected: true,
      data: {
        node: { id, type: entry.type, version: entry.version, config: structuredClone(entry.defaultConfig) },
      },
    };
    const nodes = [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
    set({ ...record(s), nodes, edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)) });
    if (connectFrom) {
      // Dropped from a dangling connection: wire the new node to the first port that fits.
      const from =
        connectFrom.source === '' ? { ...connectFrom, source: id } : { ...connectFrom, target: id };
      const after = get();
      const view = graphView(after.nodes, after.edges);
      const candidates =
        from.source === id
          ? entry.outputs.map((p) => ({ ...from, sourceHandle: p.name }))
          : entry.inputs.map((p) => ({ ...from, targetHandle: p.name }));
      const fit = candidates.find((c) => checkConnection(view, c).ok);
      if (fit) {
        const edgeTaken = new Set(after.edges.map((e) => e.id));
        const edge: EditorEdge = {
          id: newEdgeId(fit.source, fit.sourceHandle ?? '', fit.target, fit.targetHandle ?? '', edgeTaken),
          source: fit.source,
          sourceHandle: fit.sourceHandle ?? null,
          target: fit.target,
          targetHandle: fit.targetHandle ?? null,
        };
        set({ edges: [...after.edges, edge] });
      }
    }
    return id;
  },

  addNote(position) {
    const s = get();
    const taken = new Set(s.nodes.map((n) => n.id));
    const noteId = newNoteId(taken);
    const note: NoteNode = { ...toNoteNode({ id: noteId, text: '', position }), selected: true };
    set({ ...record(s), nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), note] });
    return note.id;
  },

  updateNode(id, patch, coalesceKey) {
    const s = get();
    const i = s.nodes.findIndex((n) => n.id === id);
    const cur = s.nodes[i];
    if (!cur || cur.type !== 'finflow') return;
    const nodes = s.nodes.slice();
    nodes[i] = { ...cur, data: { node: { ...cur.data.node, ...patch } } };
    // Ports may have gone (a removed switch case): drop edges that now hang loose.
    set({ ...record(s, coalesceKey ? `${id}:${coalesceKey}` : undefined), nodes });
  },
  replaceNodeField(id, key, value, coalesceKey) {
    const s = get();
    const i = s.nodes.findIndex((n) => n.id === id);
    const cur = s.nodes[i];
    if (!cur || cur.type !== 'finflow') return;
    const node = { ...cur.data.node } as Record<string, unknown>;
    if (value === undefined || value === '') delete node[key];
    else node[key] = value;
    const nodes = s.nodes.slice();
    nodes[i] = { ...cur, data: { node: node as FinflowNode['data']['node'] } };
    set({ ...record(s, coalesceKey ? `${id}:${coalesceKey}` : undefined), nodes });
  },
  updateNote(id, patch, coalesceKey) {
    const s = get();
    const rfId = id.startsWith(NOTE_PREFIX) ? id : `${NOTE_PREFIX}${id}`;
    const i = s.nodes.findIndex((n) => n.id === rfId);
    const cur = s.nodes[i];
    if (!cur || cur.type !== 'note') return;
    const nodes = s.nodes.slice();
    const { position, ...rest } = patch;
    nodes[i] = { ...cur, ...(position ? { position } : {}), data: { note: { ...cur.data.note, ...rest } } };
    set({ ...record(s, coalesceKey ? `${rfId}:${coalesceKey}` : undefined), nodes });
  },
  updateMeta(patch, coalesceKey) {
    const s = get();
    set({ ...record(s, coalesceKey ? `meta:${coalesceKey}` : undefined), meta: { ...s.meta, ...patch } });
  },

  deleteSelection() {
    const s = get();
    get().deleteElements(
      s.nodes.filter((n) => n.selected).map((n) => n.id),
      s.edges.filter((e) => e.selected).map((e) => e.id),
    );
  },
  deleteElements(nodeIds, edgeIds) {
    if (!nodeIds.length && !edgeIds.length) return;
    const s = get();
    const gone = new Set(nodeIds);
    const goneEdges = new Set(edgeIds);
    set({
      ...record(s),
      nodes: s.nodes.filter((n) => !gone.has(n.id)),
      edges: s.edges.filter((e) => !goneEdges.has(e.id) && !gone.has(e.source) && !gone.has(e.target)),
    });
  },
  selectAll() {
    set((s) => ({ nodes: s.nodes.map((n) => (n.selected ? n : { ...n, selected: true })) }));
  },
  selectOnly(nodeId) {
    set((s) => ({
      nodes: s.nodes.map((n) => {
        const want = n.id === nodeId;
        return !!n.selected === want ? n : { ...n, selected: want };
      }),
      edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
    }));
  },
  paste(payload, at) {
    const s = get();
    const pasted = materialize(
      payload,
      { nodes: new Set(s.nodes.map((n) => n.id)), edges: new Set(s.edges.map((e) => e.id)) },
      at,
    );
    set({
      ...record(s),
      nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...pasted.nodes],
      edges: [...s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...pasted.edges],
    });
  },
  applyPositions(positions) {
    const s = get();
    set({
      ...record(s),
      nodes: s.nodes.map((n) => {
        const p = positions.get(n.id);
        return p && (p.x !== n.position.x || p.y !== n.position.y) ? { ...n, position: p } : n;
      }),
    });
  },

  undo() {
    const s = get();
    const prev = s.past[s.past.length - 1];
    if (!prev) return;
    lastCoalesce = null;
    set({
      ...restore(s, prev),
      past: s.past.slice(0, -1),
      future: [snapshot(s), ...s.future].slice(0, HISTORY_LIMIT),
      dirty: true,
      revision: s.revision + 1,
    });
  },
  redo() {
    const s = get();
    const next = s.future[0];
    if (!next) return;
    lastCoalesce = null;
    set({
      ...restore(s, next),
      past: [...s.past, snapshot(s)],
      future: s.future.slice(1),
      dirty: true,
      revision: s.revision + 1,
    });
  },

  setProblems(problems) {
    set((s) => ({ problems, problemsByNode: indexProblems(problems), edges: markEdges(s.edges, problems) }));
  },
  setDiffMarks(diffMarks) {
    set({ diffMarks });
  },
  markSaved(version) {
    set((s) => ({ dirty: false, version: version ?? s.version }));
  },
  requestFocus(nodeId) {
    set((s) => ({ focusRequest: { nodeId, n: (s.focusRequest?.n ?? 0) + 1 } }));
  },
  notify(kind, text) {
    set({ notice: { kind, text, n: ++noticeSeq } });
  },
}));

/** The one selected flow node, if exactly one node is selected. */
export function selectSingleNodeId(s: EditorState): string | null {
  let found: string | null = null;
  for (const n of s.nodes) {
    if (!n.selected) continue;
    if (found !== null) return null;
    found = n.id;
  }
  return found;
}
