/**
 * The flow canvas: React Flow over the editor store, with connection checks that say why a connection is refused,
 * drop from the palette, quick-add at the cursor, the editor's keyboard actions (actions.ts), copy/paste through
 * the system clipboard, minimap and zoom controls. Built for large flows: nodes are memoised and cheap, zoomed
 * out they drop detail, and the styles keep painting and hit testing small (see the measured notes in app.css).
 */
import {
  Background,
  BackgroundVariant,
  ConnectionLineType,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  getBezierPath,
  useReactFlow,
  useStore,
  type ConnectionLineComponentProps,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeTypes,
  type OnConnectEnd,
} from '@xyflow/react';
import type { TFunction } from 'i18next';
import { Keyboard, LayoutGrid, Maximize, Redo2, StickyNote as NoteIcon, Undo2 } from 'lucide-react';
import {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type DragEvent,
  type MouseEvent as ReactMouseEvent,
} from 'react';
import { useTranslation } from 'react-i18next';
import { copySelection, parseClipboard, type ClipboardPayload } from '../flow/clipboard.js';
import { checkConnection, type ConnectRefusal, type ConnectionAttempt } from '../flow/connect.js';
import { layoutPositions } from '../flow/layout.js';
import type { EditorEdge, EditorNode } from '../flow/model.js';
import { actionForKey, actionTitle, type ActionContext } from './actions.js';
import { entryFor, useCatalogStore } from '../state/catalog-store.js';
import { useEditorStore } from '../state/editor-store.js';
import { categoryColors } from '../ui/icons.js';
import { noteColorName, noteColors } from '@finflow/runtime/document';
import { withEstimatedHandles } from './estimated-handles.js';
import { legibleFit } from './fit.js';
import { FlowNodeComponent } from './flow-node.js';
import { NoteNodeComponent } from './note-node.js';
import { QuickAdd } from './quick-add.js';
import { ShortcutsHelp } from './shortcuts-help.js';

export const PALETTE_MIME = 'application/x-finflow-node';

// Outside render, as React Flow requires for stable node types.
const nodeTypes: NodeTypes = { finflow: FlowNodeComponent, note: NoteNodeComponent };
const proOptions = { hideAttribution: true };
const defaultEdgeOptions = { type: 'default' as const };
// Stable props: a new function or object each render would re-render every minimap node while dragging.
const minimapColor = (n: EditorNode) =>
  n.type === 'note'
    ? noteColors[noteColorName(n.data.note.color)]
    : categoryColors[entryFor(n.data.node.type)?.meta.category ?? 'custom'];
/**
 * Levels of detail: below 0.55 nodes drop port labels and shadows, below 0.3 all their text (unreadable anyway,
 * and cheap to paint in large flows).
 */
const lodSelector = (s: { transform: [number, number, number] }) =>
  s.transform[2] < 0.3 ? ' lod-low lod-min' : s.transform[2] < 0.55 ? ' lod-low' : '';
/**
 * Large flows leave off-screen nodes and edges out of the page (React Flow's onlyRenderVisibleElements). With the
 * lighter node of flow-node.tsx this pays at 500 nodes (bench/README.md "Editor": open 10.8 to 3.9 s, pan frame p95
 * 183 to 67 ms under the same load); with the earlier node, mounting nodes while panning cost more than it saved.
 * Nodes not yet drawn declare estimated handles (estimated-handles.ts) so edges to them are still drawn.
 */
const CULL_ABOVE_NODES = 200;
const LOCAL_CLIPBOARD = 'finflow.clipboard';

export function refusalText(t: TFunction, r: ConnectRefusal): string {
  switch (r.code) {
    case 'type-mismatch':
      return t('connect.typeMismatch', { from: r.from, to: r.to });
    case 'cycle':
      return t('connect.cycle');
    case 'input-connected':
      return t('connect.inputConnected', { port: r.port });
    case 'self':
      return t('connect.self');
    case 'unknown-port':
      return t('connect.unknownPort', { port: r.port });
    case 'unknown-node':
      return t('connect.unknownNode');
  }
}

function graph() {
  const { doc } = useEditorStore.getState();
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  return {
    node: (id: string) => byId.get(id),
    entry: entryFor,
    edges: doc.edges.map((e) => ({ source: e.from.node, target: e.to.node, targetHandle: e.to.port })),
  };
}

function attemptFrom(
  fromNode: string,
  fromHandle: { id?: string | null; type: string },
  toNode: string,
  toHandle: { id?: string | null },
): ConnectionAttempt {
  // A drag may start at an input and end at an output: normalise to output -> input.
  return fromHandle.type === 'source'
    ? {
        source: fromNode,
        sourceHandle: fromHandle.id ?? null,
        target: toNode,
        targetHandle: toHandle.id ?? null,
      }
    : {
        source: toNode,
        sourceHandle: toHandle.id ?? null,
        target: fromNode,
        targetHandle: fromHandle.id ?? null,
      };
}

/** The line drawn while connecting; over a handle that refuses, it turns red and says why. */
function ConnectionLine(props: ConnectionLineComponentProps) {
  const { t } = useTranslation();
  const [path] = getBezierPath({
    sourceX: props.fromX,
    sourceY: props.fromY,
    sourcePosition: props.fromPosition,
    targetX: props.toX,
    targetY: props.toY,
    targetPosition: props.toPosition,
  });
  let reason: string | null = null;
  if (props.toHandle && props.toNode && props.connectionStatus === 'invalid') {
    const r = checkConnection(
      graph(),
      attemptFrom(props.fromNode.id, props.fromHandle, props.toNode.id, props.toHandle),
    );
    if (!r.ok) reason = refusalText(t, r.refusal);
  }
  return (
    <g className={`connection-line${reason ? ' refused' : ''}`}>
      <path d={path} fill="none" strokeWidth={2} />
      {reason && (
        <foreignObject
          x={props.toX + 12}
          y={props.toY - 14}
          width={320}
          height={60}
          style={{ overflow: 'visible' }}
        >
          <div className="connect-reason" data-testid="connect-reason">
            {reason}
          </div>
        </foreignObject>
      )}
    </g>
  );
}

function isEditable(el: EventTarget | null): boolean {
  const h = el as HTMLElement | null;
  if (!h || !h.tagName) return false;
  return (
    h.isContentEditable ||
    ['INPUT', 'TEXTAREA', 'SELECT'].includes(h.tagName) ||
    !!h.closest('.monaco-editor')
  );
}

interface QuickAddState {
  screen: { x: number; y: number };
  flow: { x: number; y: number };
  connectFrom?: ConnectionAttempt & { fromType?: string; direction: 'out' | 'in' };
}

export function Canvas(props: { readOnly?: boolean; onSave: () => void; onRun: () => void }) {
  const { t } = useTranslation();
  const nodes = useEditorStore((s) => s.viewNodes);
  const edges = useEditorStore((s) => s.viewEdges);
  const onNodesChange = useEditorStore((s) => s.onNodesChange);
  const onEdgesChange = useEditorStore((s) => s.onEdgesChange);
  const beginGesture = useEditorStore((s) => s.beginGesture);
  const commitGesture = useEditorStore((s) => s.commitGesture);
  const focusRequest = useEditorStore((s) => s.focusRequest);
  const canUndo = useEditorStore((s) => s.past.length > 0);
  const canRedo = useEditorStore((s) => s.future.length > 0);
  const catalogReady = useCatalogStore((s) => s.catalog !== null);
  const rf = useReactFlow<EditorNode, EditorEdge>();
  const wrapper = useRef<HTMLDivElement>(null);
  const pointer = useRef({ x: 0, y: 0 });
  const [quickAdd, setQuickAdd] = useState<QuickAddState | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const readOnly = !!props.readOnly;
  const lod = useStore(lodSelector);
  const culled = nodes.length > CULL_ABOVE_NODES;
  const drawn = useMemo(() => (culled ? nodes.map(withEstimatedHandles) : nodes), [nodes, culled]);

  const isValidConnection: IsValidConnection<EditorEdge> = useCallback(
    (c) =>
      checkConnection(graph(), {
        source: c.source,
        sourceHandle: c.sourceHandle ?? null,
        target: c.target,
        targetHandle: c.targetHandle ?? null,
      }).ok,
    [],
  );

  const onConnect = useCallback(
    (c: { source: string; sourceHandle: string | null; target: string; targetHandle: string | null }) => {
      const r = useEditorStore.getState().connect(c);
      if (!r.ok) useEditorStore.getState().notify('error', refusalText(t, r.refusal));
    },
    [t],
  );

  const onConnectEnd: OnConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (!state.fromNode || !state.fromHandle) return;
      if (state.toHandle && state.toNode && state.isValid === false) {
        const r = checkConnection(
          graph(),
          attemptFrom(state.fromNode.id, state.fromHandle, state.toNode.id, state.toHandle),
        );
        if (!r.ok) useEditorStore.getState().notify('error', refusalText(t, r.refusal));
        return;
      }
      if (!state.toHandle && !state.toNode && !readOnly) {
        // Dropped on empty canvas: offer the nodes that can take (or feed) this port, placed where it was dropped.
        const point = 'changedTouches' in event ? event.changedTouches[0] : event;
        if (!point || !wrapper.current) return;
        const box = wrapper.current.getBoundingClientRect();
        const flow = rf.screenToFlowPosition({ x: point.clientX, y: point.clientY });
        const out = state.fromHandle.type === 'source';
        setQuickAdd({
          screen: { x: point.clientX - box.left, y: point.clientY - box.top },
          flow,
          connectFrom: out
            ? {
                source: state.fromNode.id,
                sourceHandle: state.fromHandle.id ?? null,
                target: '',
                targetHandle: null,
                direction: 'out',
              }
            : {
                source: '',
                sourceHandle: null,
                target: state.fromNode.id,
                targetHandle: state.fromHandle.id ?? null,
                direction: 'in',
              },
        });
      }
    },
    [rf, t, readOnly],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(PALETTE_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);
  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(PALETTE_MIME);
      const entry = type ? entryFor(type) : undefined;
      if (!entry || readOnly) return;
      e.preventDefault();
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      useEditorStore.getState().addNode(entry, { x: p.x - 110, y: p.y - 30 });
    },
    [rf, readOnly],
  );

  const openQuickAddAt = useCallback(
    (clientX: number, clientY: number) => {
      if (!wrapper.current || readOnly) return;
      const box = wrapper.current.getBoundingClientRect();
      setQuickAdd({
        screen: { x: clientX - box.left, y: clientY - box.top },
        flow: rf.screenToFlowPosition({ x: clientX, y: clientY }),
      });
    },
    [rf, readOnly],
  );

  const autoLayout = useCallback(() => {
    const s = useEditorStore.getState();
    s.applyPositions(layoutPositions(s.doc, s.measured));
    requestAnimationFrame(() => legibleFit(rf, 250));
  }, [rf]);

  const addNoteAtCenter = useCallback(() => {
    const box = wrapper.current?.getBoundingClientRect();
    if (!box) return;
    const p = rf.screenToFlowPosition({
      x: box.left + box.width / 2 - 110,
      y: box.top + box.height / 2 - 70,
    });
    useEditorStore.getState().addNote(p);
  }, [rf]);

  // The editor's keyboard actions (actions.ts), while focus is on the canvas or the page; save and run also
  // from fields.
  const { onSave, onRun } = props;
  useEffect(() => {
    const ctx: ActionContext = {
      readOnly,
      undo: () => useEditorStore.getState().undo(),
      redo: () => useEditorStore.getState().redo(),
      selectAll: () => useEditorStore.getState().selectAll(),
      deleteSelection: () => useEditorStore.getState().deleteSelection(),
      quickAdd: () => openQuickAddAt(pointer.current.x, pointer.current.y),
      autoLayout,
      fitView: () => legibleFit(rf, 250),
      addNote: addNoteAtCenter,
      save: onSave,
      run: onRun,
      escape: () => {
        setQuickAdd(null);
        setHelpOpen(false);
        useEditorStore.getState().selectOnly(null);
      },
      toggleHelp: () => setHelpOpen((v) => !v),
    };
    const onKey = (e: KeyboardEvent) => {
      if (document.querySelector('dialog[open]')) return;
      const action = actionForKey(e, { inField: isEditable(e.target), readOnly });
      if (!action?.run) return;
      e.preventDefault();
      action.run(ctx);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [rf, readOnly, autoLayout, addNoteAtCenter, openQuickAddAt, onSave, onRun]);

  // Copy, cut and paste through the system clipboard (JSON text), so selections move between flows and tabs.
  useEffect(() => {
    const onCopy = (e: ClipboardEvent, cut: boolean) => {
      if (isEditable(e.target) || document.querySelector('dialog[open]')) return;
      const s = useEditorStore.getState();
      const payload = copySelection(s.doc, s.selection);
      if (!payload) return;
      const text = JSON.stringify(payload, null, 2);
      e.clipboardData?.setData('text/plain', text);
      e.preventDefault();
      try {
        localStorage.setItem(LOCAL_CLIPBOARD, text);
      } catch {
        // The system clipboard still has it.
      }
      s.notify('info', t('canvas.copied', { count: payload.nodes.length + payload.notes.length }));
      if (cut && !readOnly) s.deleteSelection();
    };
    const copy = (e: ClipboardEvent) => onCopy(e, false);
    const cut = (e: ClipboardEvent) => onCopy(e, true);
    const paste = (e: ClipboardEvent) => {
      if (readOnly || isEditable(e.target) || document.querySelector('dialog[open]')) return;
      let payload: ClipboardPayload | null = parseClipboard(e.clipboardData?.getData('text/plain') ?? '');
      if (!payload) {
        try {
          payload = parseClipboard(localStorage.getItem(LOCAL_CLIPBOARD) ?? '');
        } catch {
          payload = null;
        }
      }
      if (!payload) return;
      e.preventDefault();
      const at = rf.screenToFlowPosition(pointer.current);
      useEditorStore.getState().paste(payload, at);
    };
    document.addEventListener('copy', copy);
    document.addEventListener('cut', cut);
    document.addEventListener('paste', paste);
    return () => {
      document.removeEventListener('copy', copy);
      document.removeEventListener('cut', cut);
      document.removeEventListener('paste', paste);
    };
  }, [rf, t, readOnly]);

  // A request to show a node (from the problems list or a timeline bar).
  useEffect(() => {
    if (!focusRequest) return;
    const n = rf.getInternalNode(focusRequest.nodeId);
    if (!n) return;
    const w = n.measured.width ?? 220;
    const h = n.measured.height ?? 100;
    void rf.setCenter(n.internals.positionAbsolute.x + w / 2, n.internals.positionAbsolute.y + h / 2, {
      zoom: Math.max(rf.getZoom(), 0.9),
      duration: 300,
    });
    useEditorStore.getState().selectOnly(focusRequest.nodeId);
  }, [focusRequest, rf]);

  const onMouseMove = useCallback((e: ReactMouseEvent) => {
    pointer.current = { x: e.clientX, y: e.clientY };
  }, []);

  // While the pointer is down on the canvas, the inspector keeps what it shows (settledSelection).
  useEffect(() => {
    const up = () => useEditorStore.getState().setPointerDown(false);
    window.addEventListener('pointerup', up);
    window.addEventListener('pointercancel', up);
    return () => {
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', up);
    };
  }, []);
  const onPointerDownCapture = useCallback(() => useEditorStore.getState().setPointerDown(true), []);

  const onDoubleClick = useCallback(
    (e: ReactMouseEvent) => {
      if ((e.target as HTMLElement).classList.contains('react-flow__pane'))
        openQuickAddAt(e.clientX, e.clientY);
    },
    [openQuickAddAt],
  );

  return (
    <div
      className={`canvas${lod}`}
      ref={wrapper}
      onMouseMove={onMouseMove}
      onPointerDownCapture={onPointerDownCapture}
      onDoubleClick={onDoubleClick}
      data-testid="canvas"
      data-culled={culled ? 'true' : undefined}
      aria-label={t('canvas.label')}
    >
      <ReactFlow<EditorNode, EditorEdge>
        nodes={drawn}
        edges={edges}
        nodeTypes={nodeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStart={beginGesture}
        onNodeDragStop={commitGesture}
        onSelectionDragStart={beginGesture}
        onSelectionDragStop={commitGesture}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        connectionLineComponent={ConnectionLine}
        connectionLineType={ConnectionLineType.Bezier}
        onDragOver={onDragOver}
        onDrop={onDrop}
        deleteKeyCode={null}
        multiSelectionKeyCode={['Shift', 'Meta', 'Control']}
        selectionKeyCode="Shift"
        zoomOnDoubleClick={false}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        onlyRenderVisibleElements={culled}
        minZoom={0.05}
        maxZoom={2}
        proOptions={proOptions}
        elevateNodesOnSelect={false}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} color="#cbd2dc" />
        <Controls showInteractive={false} position="bottom-left" />
        <MiniMap
          pannable
          zoomable
          position="bottom-right"
          ariaLabel={t('canvas.minimap')}
          nodeColor={minimapColor}
          nodeStrokeWidth={0}
          maskColor="rgba(241, 244, 248, 0.7)"
        />
        <Panel position="top-left" className="canvas-tools" aria-label={t('canvas.tools')}>
          <button
            type="button"
            className="tool"
            onClick={() => useEditorStore.getState().undo()}
            disabled={!canUndo || readOnly}
            title={actionTitle(t, 'undo')}
            aria-label={t('canvas.undo')}
            data-testid="undo"
          >
            <Undo2 size={16} />
          </button>
          <button
            type="button"
            className="tool"
            onClick={() => useEditorStore.getState().redo()}
            disabled={!canRedo || readOnly}
            title={actionTitle(t, 'redo')}
            aria-label={t('canvas.redo')}
            data-testid="redo"
          >
            <Redo2 size={16} />
          </button>
          <span className="tool-sep" />
          <button
            type="button"
            className="tool"
            onClick={autoLayout}
            disabled={readOnly}
            title={actionTitle(t, 'layout')}
            aria-label={t('canvas.autoLayout')}
            data-testid="auto-layout"
          >
            <LayoutGrid size={16} />
          </button>
          <button
            type="button"
            className="tool"
            onClick={() => legibleFit(rf, 250)}
            title={actionTitle(t, 'fit')}
            aria-label={t('canvas.fit')}
          >
            <Maximize size={16} />
          </button>
          <button
            type="button"
            className="tool"
            onClick={addNoteAtCenter}
            disabled={readOnly}
            title={actionTitle(t, 'note')}
            aria-label={t('canvas.addNote')}
            data-testid="add-note"
          >
            <NoteIcon size={16} />
          </button>
          <span className="tool-sep" />
          <button
            type="button"
            className="tool"
            onClick={() => setHelpOpen(true)}
            title={actionTitle(t, 'help')}
            aria-label={t('canvas.shortcuts')}
          >
            <Keyboard size={16} />
          </button>
        </Panel>
        {catalogReady && nodes.length === 0 && (
          <Panel position="top-center" className="canvas-empty">
            {t('canvas.empty')}
          </Panel>
        )}
      </ReactFlow>
      {quickAdd && (
        <QuickAdd
          at={quickAdd.screen}
          {...(quickAdd.connectFrom ? { connectFrom: quickAdd.connectFrom } : {})}
          onClose={() => setQuickAdd(null)}
          onPick={(entry) => {
            const cf = quickAdd.connectFrom;
            useEditorStore
              .getState()
              .addNode(
                entry,
                { x: quickAdd.flow.x - (cf?.direction === 'in' ? 230 : 10), y: quickAdd.flow.y - 30 },
                cf,
              );
            setQuickAdd(null);
          }}
        />
      )}
      {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
    </div>
  );
}
