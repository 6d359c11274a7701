/**
 * The flow being edited. The document (`doc`: node, note and edge records, and the other fields) is kept apart
 * from view state (selection, React Flow's measured sizes, problems, diff marks): undo history holds documents
 * only, so selecting or measuring never becomes an undo step, and undo never changes what is selected. React
 * Flow's arrays (`viewNodes`, `viewEdges`) are derived from both after every change, reusing unchanged node
 * objects, so dragging one node re-renders that node only. Every edit goes through an action here, and every
 * action that changes the document records one undo step (typing into one field within a moment is one step).
 */
import type { EdgeChange, NodeChange } from '@xyflow/react';
import { create } from 'zustand';
import { useStoreWithEqualityFn } from 'zustand/traditional';
import type { CatalogEntry, FlowDocument, FlowNode, Problem, VersionInfo } from '../api/types.js';
import { materialize, type ClipboardPayload } from '../flow/clipboard.js';
import { checkConnection, type ConnectionAttempt, type ConnectResult } from '../flow/connect.js';
import {
  NOTE_PREFIX,
  ViewCache,
  fromDocument,
  newEdgeId,
  newNodeId,
  newNoteId,
  noteViewId,
  toDocument,
  toViewEdges,
  toViewNodes,
  type DiffMark,
  type EditorEdge,
  type EditorNode,
  type FlowDoc,
  type FlowMeta,
  type NodeRecord,
  type Size,
  type StickyNote,
} from '../flow/model.js';
import { entryFor } from './catalog-store.js';

export type { DiffMark };

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
  doc: FlowDoc;
  past: FlowDoc[];
  future: FlowDoc[];
  dirty: boolean;
  /** Bumps on every document change, so effects (live validation, drafts) can follow edits cheaply. */
  revision: number;

  // View state: never saved, never undone.
  selection: ReadonlySet<string>;
  edgeSelection: ReadonlySet<string>;
  measured: ReadonlyMap<string, Size>;
  /** A drag or resize is under way (panels that are costly to rebuild wait for its end). */
  gesturing: boolean;
  /** The pointer is down on the canvas: a click or the start of a drag (see `settledSelection`). */
  pointerDown: boolean;
  setPointerDown(down: boolean): void;
  problems: Problem[];
  problemsByNode: Readonly<Record<string, Problem[]>>;
  diffMarks: Readonly<Record<string, DiffMark>> | null;
  focusRequest: { nodeId: string; n: number } | null;
  notice: Notice | null;

  /** React Flow's nodes and edges, derived from the document and the view state. */
  viewNodes: EditorNode[];
  viewEdges: EditorEdge[];

  load(detail: { flow: { id: string }; version: VersionInfo | null; document: FlowDocument }): void;
  /** Replaces the document with another one as an edit (a restored draft): undoable, and unsaved. */
  replaceDocument(document: FlowDocument): void;
  reset(): void;
  documentNow(viewport?: { x: number; y: number; zoom: number }): FlowDocument;
  onNodesChange(changes: NodeChange<EditorNode>[]): void;
  onEdgesChange(changes: EdgeChange<EditorEdge>[]): void;
  /** Records the document before a drag or resize; `commitGesture` keeps it as an undo step if anything moved. */
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
  updateNote(id: string, patch: Partial<Omit<StickyNote, 'id'>>, coalesceKey?: string): void;
  updateMeta(patch: Partial<FlowMeta>, coalesceKey?: string): void;
  deleteSelection(): void;
  deleteElements(nodeIds: string[], edgeIds: string[]): void;
  selectAll(): void;
  selectOnly(nodeId: string | null): void;
  paste(payload: ClipboardPayload, at: { x: number; y: number }): void;
  /** Moves flow nodes and notes (view ids) to new positions, as one undo step. */
  applyPositions(positions: ReadonlyMap<string, { x: number; y: number }>): void;
  undo(): void;
  redo(): void;
  setProblems(problems: Problem[]): void;
  setDiffMarks(marks: Record<string, DiffMark> | null): void;
  markSaved(version: VersionInfo | null): void;
  requestFocus(nodeId: string): void;
  notify(kind: Notice['kind'], text: string): void;
}

const emptyDoc: FlowDoc = {
  meta: { schemaVersion: 1, id: 'flow', name: '', description: '' } as FlowMeta,
  nodes: [],
  notes: [],
  edges: [],
};
const noSelection: ReadonlySet<string> = new Set();

let gesture: FlowDoc | null = null;
let lastCoalesce: { key: string; at: number } | null = null;
let noticeSeq = 0;
let cache = new ViewCache();

type Derived = Pick<EditorState, 'viewNodes' | 'viewEdges'>;
type ViewInputs = Pick<
  EditorState,
  'doc' | 'selection' | 'edgeSelection' | 'measured' | 'problemsByNode' | 'problems' | 'diffMarks'
>;

const problemEdgeSets = new WeakMap<Problem[], ReadonlySet<string>>();
function problemEdges(problems: Problem[]): ReadonlySet<string> {
  let set = problemEdgeSets.get(problems);
  if (!set) {
    set = new Set(problems.flatMap((p) => (p.edgeId ? [p.edgeId] : [])));
    problemEdgeSets.set(problems, set);
  }
  return set;
}

/**
 * The last arrays handed to React Flow, reused when nothing they are made of changed: React Flow rebuilds its
 * edge and connection lookups whenever it gets a new edges array (at every drag frame, that was the most costly
 * script of a drag).
 */
let lastNodes: { doc: FlowDoc['nodes']; notes: FlowDoc['notes']; key: unknown[]; out: EditorNode[] } | null =
  null;
let lastEdges: { edges: FlowDoc['edges']; key: unknown[]; out: EditorEdge[] } | null = null;
const sameKey = (a: unknown[], b: unknown[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function derive(s: ViewInputs): Derived {
  const nodeKey = [s.selection, s.measured, s.problemsByNode, s.diffMarks];
  const edgeKey = [s.edgeSelection, s.problems];
  const nodesSame =
    lastNodes &&
    lastNodes.doc === s.doc.nodes &&
    lastNodes.notes === s.doc.notes &&
    sameKey(lastNodes.key, nodeKey);
  const edgesSame = lastEdges && lastEdges.edges === s.doc.edges && sameKey(lastEdges.key, edgeKey);
  if (nodesSame && edgesSame && lastNodes && lastEdges)
    return { viewNodes: lastNodes.out, viewEdges: lastEdges.out };
  const view = {
    selection: s.selection,
    edgeSelection: s.edgeSelection,
    measured: s.measured,
    problemsByNode: s.problemsByNode,
    problemEdges: problemEdges(s.problems),
    diffMarks: s.diffMarks,
  };
  const viewNodes = nodesSame && lastNodes ? lastNodes.out : toViewNodes(s.doc, view, cache);
  const viewEdges = edgesSame && lastEdges ? lastEdges.out : toViewEdges(s.doc, view, cache);
  lastNodes = { doc: s.doc.nodes, notes: s.doc.notes, key: nodeKey, out: viewNodes };
  lastEdges = { edges: s.doc.edges, key: edgeKey, out: viewEdges };
  if (cache.size > 2 * (viewNodes.length + viewEdges.length) + 64)
    cache.prune(new Set(viewNodes.map((n) => n.id)), new Set(viewEdges.map((e) => e.id)));
  return { viewNodes, viewEdges };
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
    past: coalesce ? s.past : [...s.past.slice(-(HISTORY_LIMIT - 1)), s.doc],
    future: coalesce ? s.future : [],
    dirty: true,
    revision: s.revision + 1,
  };
}

function graphView(doc: FlowDoc) {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  return {
    node: (id: string) => byId.get(id),
    entry: entryFor,
    edges: doc.edges.map((e) => ({ source: e.from.node, target: e.to.node, targetHandle: e.to.port })),
  };
}

function indexProblems(problems: Problem[]): Record<string, Problem[]> {
  const by: Record<string, Problem[]> = {};
  for (const p of problems) if (p.nodeId) (by[p.nodeId] ??= []).push(p);
  return by;
}

function withNode(doc: FlowDoc, id: string, fn: (n: NodeRecord) => NodeRecord): FlowDoc | null {
  const i = doc.nodes.findIndex((n) => n.id === id);
  const cur = doc.nodes[i];
  if (!cur) return null;
  const nodes = doc.nodes.slice();
  nodes[i] = fn(cur);
  return { ...doc, nodes };
}

/** Drops view state of elements that are gone. */
function keepExisting(doc: FlowDoc, ids: ReadonlySet<string>): ReadonlySet<string> {
  if (!ids.size) return ids;
  const exists = new Set([...doc.nodes.map((n) => n.id), ...doc.notes.map((n) => noteViewId(n.id))]);
  const kept = [...ids].filter((id) => exists.has(id));
  return kept.length === ids.size ? ids : new Set(kept);
}

const samePosition = (a: { x: number; y: number }, b: { x: number; y: number }) => a.x === b.x && a.y === b.y;

export const useEditorStore = create<EditorState>()((rawSet, get) => {
  /** Sets state and re-derives React Flow's arrays when anything they are made of changed. */
  const set = (patch: Partial<EditorState>) => {
    const s = get();
    const next = { ...s, ...patch };
    const changed =
      next.doc !== s.doc ||
      next.selection !== s.selection ||
      next.edgeSelection !== s.edgeSelection ||
      next.measured !== s.measured ||
      next.problems !== s.problems ||
      next.diffMarks !== s.diffMarks;
    rawSet(changed ? { ...patch, ...derive(next) } : patch);
  };
  const editDoc = (doc: FlowDoc, coalesceKey?: string, extra: Partial<EditorState> = {}) => {
    const s = get();
    set({ ...record(s, coalesceKey), doc, ...extra });
  };

  return {
    flowId: null,
    version: null,
    doc: emptyDoc,
    past: [],
    future: [],
    dirty: false,
    revision: 0,
    selection: noSelection,
    edgeSelection: noSelection,
    measured: new Map(),
    gesturing: false,
    pointerDown: false,
    problems: [],
    problemsByNode: {},
    diffMarks: null,
    focusRequest: null,
    notice: null,
    viewNodes: [],
    viewEdges: [],

    load(detail) {
      gesture = null;
      lastCoalesce = null;
      cache = new ViewCache();
      lastNodes = null;
      lastEdges = null;
      set({
        flowId: detail.flow.id,
        version: detail.version,
        doc: fromDocument(detail.document),
        past: [],
        future: [],
        dirty: false,
        revision: get().revision + 1,
        selection: noSelection,
        edgeSelection: noSelection,
        measured: new Map(),
        gesturing: false,
        problems: [],
        problemsByNode: {},
        diffMarks: null,
      });
    },
    replaceDocument(document) {
      lastCoalesce = null;
      const doc = fromDocument({ ...document, id: get().doc.meta.id });
      editDoc(doc, undefined, {
        selection: noSelection,
        edgeSelection: noSelection,
      });
    },
    reset() {
      gesture = null;
      cache = new ViewCache();
      lastNodes = null;
      lastEdges = null;
      set({
        flowId: null,
        version: null,
        doc: emptyDoc,
        past: [],
        future: [],
        dirty: false,
        selection: noSelection,
        edgeSelection: noSelection,
        measured: new Map(),
        gesturing: false,
        problems: [],
        problemsByNode: {},
        diffMarks: null,
      });
    },
    documentNow(viewport) {
      return toDocument(get().doc, viewport);
    },

    onNodesChange(changes) {
      // Removals go through deleteElements (with history); React Flow's own delete key is switched off.
      const s = get();
      let doc = s.doc;
      let selection: Set<string> | null = null;
      let measured: Map<string, Size> | null = null;
      const moved = new Map<string, { x: number; y: number }>();
      const resized = new Map<string, Size>();
      for (const c of changes) {
        if (c.type === 'select') {
          selection ??= new Set(s.selection);
          if (c.selected) selection.add(c.id);
          else selection.delete(c.id);
        } else if (c.type === 'position' && c.position) {
          moved.set(c.id, c.position);
        } else if (c.type === 'dimensions' && c.dimensions) {
          measured ??= new Map(s.measured);
          measured.set(c.id, { width: c.dimensions.width, height: c.dimensions.height });
          // A note resized by hand keeps its size in the document.
          if (c.resizing && c.id.startsWith(NOTE_PREFIX)) resized.set(c.id, c.dimensions);
        }
      }
      if (moved.size) {
        doc = {
          ...doc,
          nodes: doc.nodes.map((n) => {
            const p = moved.get(n.id);
            return p && !samePosition(p, n.ui.position) ? { ...n, ui: { ...n.ui, position: p } } : n;
          }),
        };
      }
      if (moved.size || resized.size) {
        doc = {
          ...doc,
          notes: doc.notes.map((n) => {
            const id = noteViewId(n.id);
            const p = moved.get(id);
            const size = resized.get(id);
            if (!p && !size) return n;
            return {
              ...n,
              ...(p ? { position: p } : {}),
              ...(size ? { width: Math.round(size.width), height: Math.round(size.height) } : {}),
            };
          }),
        };
      }
      const patch: Partial<EditorState> = {};
      // Moves are part of a gesture: its undo step is recorded when it ends (commitGesture).
      if (doc !== s.doc) patch.doc = doc;
      if (selection) patch.selection = selection;
      if (measured) patch.measured = measured;
      if (Object.keys(patch).length) set(patch);
    },
    onEdgesChange(changes) {
      const s = get();
      let selection: Set<string> | null = null;
      for (const c of changes) {
        if (c.type !== 'select') continue;
        selection ??= new Set(s.edgeSelection);
        if (c.selected) selection.add(c.id);
        else selection.delete(c.id);
      }
      if (selection) set({ edgeSelection: selection });
    },
    setPointerDown(down) {
      if (get().pointerDown !== down) set({ pointerDown: down });
    },
    beginGesture() {
      gesture = get().doc;
      set({ gesturing: true });
    },
    commitGesture() {
      const before = gesture;
      gesture = null;
      const s = get();
      if (!before || before === s.doc) {
        set({ gesturing: false });
        return;
      }
      lastCoalesce = null;
      set({
        gesturing: false,
        past: [...s.past.slice(-(HISTORY_LIMIT - 1)), before],
        future: [],
        dirty: true,
        revision: s.revision + 1,
      });
    },

    connect(c) {
      const s = get();
      const result = checkConnection(graphView(s.doc), c);
      if (!result.ok) return result;
      const taken = new Set(s.doc.edges.map((e) => e.id));
      const id = newEdgeId(c.source, c.sourceHandle ?? '', c.target, c.targetHandle ?? '', taken);
      editDoc({
        ...s.doc,
        edges: [
          ...s.doc.edges,
          {
            id,
            from: { node: c.source, port: c.sourceHandle ?? '' },
            to: { node: c.target, port: c.targetHandle ?? '' },
          },
        ],
      });
      return result;
    },

    addNode(entry, position, connectFrom) {
      const s = get();
      const taken = new Set(s.doc.nodes.map((n) => n.id));
      const id = newNodeId(entry.type, taken);
      const node: NodeRecord = {
        id,
        type: entry.type,
        version: entry.version,
        config: structuredClone(entry.defaultConfig),
        ui: { position },
      };
      let doc: FlowDoc = { ...s.doc, nodes: [...s.doc.nodes, node] };
      if (connectFrom) {
        // Dropped from a dangling connection: wire the new node to the first port that fits.
        const from =
          connectFrom.source === '' ? { ...connectFrom, source: id } : { ...connectFrom, target: id };
        const view = graphView(doc);
        const candidates =
          from.source === id
            ? entry.outputs.map((p) => ({ ...from, sourceHandle: p.name }))
            : entry.inputs.map((p) => ({ ...from, targetHandle: p.name }));
        const fit = candidates.find((c) => checkConnection(view, c).ok);
        if (fit) {
          const edgeTaken = new Set(doc.edges.map((e) => e.id));
          doc = {
            ...doc,
            edges: [
              ...doc.edges,
              {
                id: newEdgeId(
                  fit.source,
                  fit.sourceHandle ?? '',
                  fit.target,
                  fit.targetHandle ?? '',
                  edgeTaken,
                ),
                from: { node: fit.source, port: fit.sourceHandle ?? '' },
                to: { node: fit.target, port: fit.targetHandle ?? '' },
              },
            ],
          };
        }
      }
      editDoc(doc, undefined, { selection: new Set([id]), edgeSelection: noSelection });
      return id;
    },

    addNote(position) {
      const s = get();
      const id = newNoteId(new Set(s.doc.notes.map((n) => n.id)));
      const note: StickyNote = { id, text: '', position };
      editDoc({ ...s.doc, notes: [...s.doc.notes, note] }, undefined, {
        selection: new Set([noteViewId(id)]),
        edgeSelection: noSelection,
      });
      return noteViewId(id);
    },

    updateNode(id, patch, coalesceKey) {
      const doc = withNode(get().doc, id, (n) => ({ ...n, ...patch }));
      if (doc) editDoc(doc, coalesceKey ? `${id}:${coalesceKey}` : undefined);
    },
    replaceNodeField(id, key, value, coalesceKey) {
      const doc = withNode(get().doc, id, (n) => {
        const node = { ...n } as Record<string, unknown>;
        if (value === undefined || value === '') delete node[key];
        else node[key] = value;
        return node as NodeRecord;
      });
      if (doc) editDoc(doc, coalesceKey ? `${id}:${coalesceKey}` : undefined);
    },
    updateNote(id, patch, coalesceKey) {
      const noteId = id.startsWith(NOTE_PREFIX) ? id.slice(NOTE_PREFIX.length) : id;
      const s = get();
      const i = s.doc.notes.findIndex((n) => n.id === noteId);
      const cur = s.doc.notes[i];
      if (!cur) return;
      const notes = s.doc.notes.slice();
      notes[i] = { ...cur, ...patch };
      editDoc({ ...s.doc, notes }, coalesceKey ? `${noteViewId(noteId)}:${coalesceKey}` : undefined);
    },
    updateMeta(patch, coalesceKey) {
      const s = get();
      editDoc(
        { ...s.doc, meta: { ...s.doc.meta, ...patch } },
        coalesceKey ? `meta:${coalesceKey}` : undefined,
      );
    },

    deleteSelection() {
      const s = get();
      s.deleteElements([...s.selection], [...s.edgeSelection]);
    },
    deleteElements(nodeIds, edgeIds) {
      if (!nodeIds.length && !edgeIds.length) return;
      const s = get();
      const gone = new Set(nodeIds);
      const goneEdges = new Set(edgeIds);
      const doc: FlowDoc = {
        ...s.doc,
        nodes: s.doc.nodes.filter((n) => !gone.has(n.id)),
        notes: s.doc.notes.filter((n) => !gone.has(noteViewId(n.id))),
        edges: s.doc.edges.filter(
          (e) => !goneEdges.has(e.id) && !gone.has(e.from.node) && !gone.has(e.to.node),
        ),
      };
      editDoc(doc, undefined, {
        selection: keepExisting(doc, s.selection),
        edgeSelection: new Set([...s.edgeSelection].filter((id) => doc.edges.some((e) => e.id === id))),
      });
    },
    selectAll() {
      const { doc } = get();
      set({ selection: new Set([...doc.notes.map((n) => noteViewId(n.id)), ...doc.nodes.map((n) => n.id)]) });
    },
    selectOnly(nodeId) {
      const s = get();
      const same =
        nodeId === null ? s.selection.size === 0 : s.selection.size === 1 && s.selection.has(nodeId);
      if (same && s.edgeSelection.size === 0) return;
      set({ selection: nodeId === null ? noSelection : new Set([nodeId]), edgeSelection: noSelection });
    },
    paste(payload, at) {
      const s = get();
      const pasted = materialize(
        payload,
        {
          nodes: new Set(s.doc.nodes.map((n) => n.id)),
          notes: new Set(s.doc.notes.map((n) => n.id)),
          edges: new Set(s.doc.edges.map((e) => e.id)),
        },
        at,
      );
      editDoc(
        {
          ...s.doc,
          nodes: [...s.doc.nodes, ...pasted.nodes],
          notes: [...s.doc.notes, ...pasted.notes],
          edges: [...s.doc.edges, ...pasted.edges],
        },
        undefined,
        {
          selection: new Set(pasted.selection),
          edgeSelection: new Set(pasted.edges.map((e) => e.id)),
        },
      );
    },
    applyPositions(positions) {
      const s = get();
      let changed = false;
      const nodes = s.doc.nodes.map((n) => {
        const p = positions.get(n.id);
        if (!p || samePosition(p, n.ui.position)) return n;
        changed = true;
        return { ...n, ui: { ...n.ui, position: p } };
      });
      const notes = s.doc.notes.map((n) => {
        const p = positions.get(noteViewId(n.id));
        if (!p || samePosition(p, n.position)) return n;
        changed = true;
        return { ...n, position: p };
      });
      if (changed) editDoc({ ...s.doc, nodes, notes });
    },

    undo() {
      const s = get();
      const prev = s.past[s.past.length - 1];
      if (!prev) return;
      lastCoalesce = null;
      set({
        doc: prev,
        past: s.past.slice(0, -1),
        future: [s.doc, ...s.future].slice(0, HISTORY_LIMIT),
        dirty: true,
        revision: s.revision + 1,
        selection: keepExisting(prev, s.selection),
      });
    },
    redo() {
      const s = get();
      const next = s.future[0];
      if (!next) return;
      lastCoalesce = null;
      set({
        doc: next,
        past: [...s.past, s.doc],
        future: s.future.slice(1),
        dirty: true,
        revision: s.revision + 1,
        selection: keepExisting(next, s.selection),
      });
    },

    setProblems(problems) {
      set({ problems, problemsByNode: indexProblems(problems) });
    },
    setDiffMarks(diffMarks) {
      set({ diffMarks });
    },
    markSaved(version) {
      set({ dirty: false, version: version ?? get().version });
    },
    requestFocus(nodeId) {
      set({ focusRequest: { nodeId, n: (get().focusRequest?.n ?? 0) + 1 } });
    },
    notify(kind, text) {
      set({ notice: { kind, text, n: ++noticeSeq } });
    },
  };
});

/** The one selected flow node or note (view id), if exactly one is selected. */
export function selectSingleNodeId(s: Pick<EditorState, 'selection'>): string | null {
  if (s.selection.size !== 1) return null;
  return s.selection.values().next().value ?? null;
}

/** The record of a flow node, by id. */
export function nodeById(s: Pick<EditorState, 'doc'>, id: string | null): NodeRecord | undefined {
  return id === null ? undefined : s.doc.nodes.find((n) => n.id === id);
}

/** The same node but for its position: what a form shows is unchanged while the node is dragged. */
export function sameExceptPosition(a: NodeRecord | undefined, b: NodeRecord | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (k === 'ui') continue;
    if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k]) return false;
  }
  return true;
}

/** A node's record, re-rendering its reader when anything but its position changes. */
export function useNodeRecord(id: string | null): NodeRecord | undefined {
  return useStoreWithEqualityFn(useEditorStore, (s) => nodeById(s, id), sameExceptPosition);
}

/**
 * The selected node or note (view id), held still while the pointer is down or a drag or resize is under way:
 * React Flow selects a node on pointer-down, so the inspector would otherwise build the new node's form (Monaco
 * included) in the first frames of a drag; it now does once the pointer is up.
 */
let settled: string | null = null;
export function settledSelection(
  s: Pick<EditorState, 'selection' | 'gesturing' | 'pointerDown'>,
): string | null {
  if (!s.gesturing && !s.pointerDown) settled = selectSingleNodeId(s);
  return settled;
}

/** The flow's io.input node, if it has one. */
export function inputNode(s: Pick<EditorState, 'doc'>): NodeRecord | undefined {
  return s.doc.nodes.find((n) => n.type === 'io.input');
}
