/**
 * The flow editor: palette, canvas and a side panel (inspector, run, problems, versions), with save (a version
 * with a message), live validation against the server, publish, and a past run opened from the URL.
 */
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import {
  AlertTriangle,
  ArrowLeft,
  CircleDot,
  FlaskConical,
  Play,
  Rocket,
  Save,
  SlidersHorizontal,
  History,
  PanelRightClose,
  PanelRightOpen,
} from 'lucide-react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import { onCatalogChanged } from '../api/socket.js';
import { Canvas } from '../canvas/canvas.js';
import { Palette } from '../canvas/palette.js';
import { Inspector } from '../inspector/inspector.js';
import { ProblemsPanel } from '../panels/problems-panel.js';
import { PublishDialog } from '../panels/publish-dialog.js';
import { EvaluatePanel } from '../panels/evaluate-panel.js';
import { VersionsPanel } from '../panels/versions-panel.js';
import { navigate } from '../router.js';
import { RunPanel } from '../run/run-panel.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { selectSingleNodeId, useEditorStore } from '../state/editor-store.js';
import { useRunStore } from '../state/run-store.js';
import { useSessionStore } from '../state/session-store.js';
import { dropDraft, keepDraft, readDraft, type KeptDraft } from '../state/drafts.js';
import { formatTime, useLang } from '../i18n/index.js';
import { legibleFit } from '../canvas/fit.js';
import { Dialog } from '../ui/dialog.js';
import { Toast } from '../ui/toast.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

type SideTab = 'inspector' | 'run' | 'problems' | 'versions' | 'evaluate';

function SaveDialog({
  onClose,
  onSave,
}: {
  onClose: () => void;
  onSave: (message: string) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await onSave(message.trim() || t('save.defaultMessage'));
      onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      title={t('save.title')}
      onClose={onClose}
      testId="save-dialog"
      footer={
        <>
          <button type="button" className="button ghost" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button
            type="button"
            className="button primary"
            disabled={busy}
            onClick={() => void submit()}
            data-testid="confirm-save"
          >
            {t('save.save')}
          </button>
        </>
      }
    >
      <label className="field">
        <span className="field-label">{t('save.message')}</span>
        <input
          className="input"
          autoFocus
          value={message}
          placeholder={t('save.placeholder')}
          onChange={(e) => setMessage(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && void submit()}
          data-testid="save-message"
        />
      </label>
      <ErrorBox>{error}</ErrorBox>
    </Dialog>
  );
}

function useLiveValidation(enabled: boolean) {
  const revision = useEditorStore((s) => s.revision);
  const flowId = useEditorStore((s) => s.flowId);
  const catalogReady = useCatalogStore((s) => s.catalog !== null);
  useEffect(() => {
    if (!enabled || !flowId || !catalogReady) return;
    let stale = false;
    const timer = setTimeout(() => {
      const doc = useEditorStore.getState().documentNow();
      api.validate(doc).then(
        (r) => !stale && useEditorStore.getState().setProblems(r.problems ?? []),
        () => undefined,
      );
    }, 600);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [revision, flowId, enabled, catalogReady]);
}

/**
 * The side panel's left edge, dragged (or moved with the arrow keys) to make results as wide as the analyst needs:
 * from 320 px to all but 360 px of the window.
 */
function PanelResizer({
  label,
  width,
  onResize,
}: {
  label: string;
  width: number;
  onResize: (width: number) => void;
}) {
  const clamp = (w: number) => Math.round(Math.min(Math.max(w, 320), Math.max(320, window.innerWidth - 360)));
  const widthNow = (el: HTMLElement) => el.parentElement?.getBoundingClientRect().width ?? 400;
  return (
    <div
      className="side-resizer"
      role="separator"
      aria-orientation="vertical"
      aria-label={label}
      aria-valuenow={width}
      aria-valuemin={320}
      aria-valuemax={Math.max(320, window.innerWidth - 360)}
      tabIndex={0}
      data-testid="panel-resizer"
      onPointerDown={(e) => {
        const el = e.currentTarget;
        el.setPointerCapture(e.pointerId);
        const right = el.parentElement?.getBoundingClientRect().right ?? window.innerWidth;
        const move = (ev: PointerEvent) => onResize(clamp(right - ev.clientX));
        const up = () => {
          el.removeEventListener('pointermove', move);
          el.removeEventListener('pointerup', up);
        };
        el.addEventListener('pointermove', move);
        el.addEventListener('pointerup', up);
      }}
      onKeyDown={(e) => {
        if (e.key === 'ArrowLeft') onResize(clamp(widthNow(e.currentTarget) + 40));
        if (e.key === 'ArrowRight') onResize(clamp(widthNow(e.currentTarget) - 40));
      }}
    />
  );
}

/** Keeps the unsaved draft in the browser while it is dirty, and drops it once it is saved (drafts.ts). */
function useDraftKeeping(flowId: string) {
  useEffect(() => {
    const keep = () => {
      const s = useEditorStore.getState();
      if (s.flowId !== flowId || !s.dirty) return;
      keepDraft(flowId, {
        baseVersion: s.version?.number ?? null,
        savedAt: Date.now(),
        document: s.documentNow(),
      });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = useEditorStore.subscribe((s, prev) => {
      if (s.flowId !== flowId) return;
      if (!s.dirty) {
        // Saved (or a version restored over it): the kept copy is no longer needed.
        if (prev.dirty && prev.flowId === flowId) dropDraft(flowId);
        return;
      }
      if (s.revision === prev.revision && prev.dirty) return;
      clearTimeout(timer);
      timer = setTimeout(keep, 400);
    });
    window.addEventListener('pagehide', keep);
    return () => {
      // Runs before the load effect's cleanup resets the store (effects clean up in declaration order).
      clearTimeout(timer);
      unsubscribe();
      window.removeEventListener('pagehide', keep);
      keep();
    };
  }, [flowId]);
}

function EditorBody({ flowId, runId }: { flowId: string; runId?: string }) {
  const { t } = useTranslation();
  const rf = useReactFlow();
  const role = useSessionStore((s) => s.session?.user.role);
  const canEdit = role !== 'viewer' && role !== 'approver';
  const canPublish = role === 'admin' || role === 'developer';
  const name = useEditorStore((s) => s.doc.meta.name);
  const dirty = useEditorStore((s) => s.dirty);
  const version = useEditorStore((s) => s.version);
  const problemCount = useEditorStore((s) => s.problems.length);
  const loadedId = useEditorStore((s) => s.flowId);
  const hasSelection = useEditorStore((s) => selectSingleNodeId(s) !== null);
  const [tab, setTab] = useState<SideTab>(runId ? 'run' : 'inspector');
  const [wide, setWide] = useState(false);
  const [panelWidth, setPanelWidth] = useState<number | null>(null);
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const lastSelection = useRef(hasSelection);
  const [kept, setKept] = useState<KeptDraft | null>(null);
  const lang = useLang();
  useDraftKeeping(flowId);

  // React Flow's helper object changes once its viewport is ready; loading must not follow it (that fetched and
  // rebuilt the whole flow a second time on every open).
  const rfRef = useRef(rf);
  rfRef.current = rf;
  const load = useCallback(async () => {
    setError(null);
    setKept(null);
    try {
      const detail = await api.flow(flowId);
      const editor = useEditorStore.getState();
      editor.load(detail);
      // A draft kept from an earlier visit is offered, unless it is what was just loaded.
      const draft = readDraft(flowId);
      if (draft && JSON.stringify(draft.document) !== JSON.stringify(editor.documentNow())) setKept(draft);
      else if (draft) dropDraft(flowId);
      const vp = detail.document.ui?.viewport;
      requestAnimationFrame(() => {
        if (vp) void rfRef.current.setViewport(vp);
        else legibleFit(rfRef.current);
      });
    } catch (err) {
      setError((err as Error).message);
    }
  }, [flowId]);

  // A developer reloaded a plugin (`finflow dev`): the palette and the inspector follow without a page reload.
  useEffect(() => onCatalogChanged(() => void useCatalogStore.getState().reloadCatalog()), []);

  useEffect(() => {
    void useCatalogStore.getState().loadCatalog();
    void load();
    return () => {
      useRunStore.getState().clear();
      useEditorStore.getState().reset();
    };
  }, [load]);

  useEffect(() => {
    if (runId) {
      setTab('run');
      void useRunStore
        .getState()
        .open(runId)
        .catch((err: Error) => useEditorStore.getState().notify('error', err.message));
    }
  }, [runId]);

  // Selecting a node shows its inspector, unless a run is shown on the Run tab: that tab then shows the node's result.
  useEffect(() => {
    if (hasSelection && !lastSelection.current)
      setTab((tab) => (tab === 'run' && useRunStore.getState().run ? 'run' : 'inspector'));
    lastSelection.current = hasSelection;
  }, [hasSelection]);

  useLiveValidation(canEdit);

  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (useEditorStore.getState().dirty) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, []);
  // Ctrl+S and Ctrl+Enter, from the canvas's action registry.
  const openSave = useCallback(() => canEdit && setSaving(true), [canEdit]);
  const requestRun = useCallback(() => {
    setTab('run');
    useRunStore.getState().requestStart();
  }, []);

  const save = async (message: string) => {
    const s = useEditorStore.getState();
    const doc = s.documentNow(rf.getViewport());
    const r = await api.saveFlow(flowId, doc, message);
    const v = r.version ?? (await api.flow(flowId)).version;
    s.markSaved(v);
    s.notify('success', t('save.saved', { n: v.number }));
  };

  const sampleInput = useRunStore((s) => s.run?.input);

  if (error) {
    return (
      <div className="page-error">
        <AlertTriangle size={20} /> {error}
        <button type="button" className="button" onClick={() => navigate({ name: 'flows' })}>
          {t('flows.back')}
        </button>
      </div>
    );
  }

  return (
    <div className="editor-layout">
      <div className="editor-bar">
        <button
          type="button"
          className="icon-button"
          onClick={() => navigate({ name: 'flows' })}
          aria-label={t('flows.back')}
          title={t('flows.back')}
        >
          <ArrowLeft size={16} />
        </button>
        <input
          className="flow-name"
          value={name}
          aria-label={t('flows.name')}
          readOnly={!canEdit}
          onChange={(e) => useEditorStore.getState().updateMeta({ name: e.target.value }, 'name')}
          data-testid="flow-name"
        />
        <span className="save-state" data-testid="save-state">
          {loadedId ? (
            dirty ? (
              <>
                <CircleDot size={12} className="dirty-dot" /> {t('save.unsaved')}
              </>
            ) : (
              t('save.savedAs', { n: version?.number ?? '—' })
            )
          ) : (
            t('common.loading')
          )}
        </span>
        <div className="spacer" />
        {canEdit && (
          <button
            type="button"
            className="button"
            onClick={() => setSaving(true)}
            data-testid="save"
            disabled={!loadedId}
          >
            <Save size={14} /> {t('save.save')}
          </button>
        )}
        <button type="button" className="button" onClick={() => setTab('run')} data-testid="open-run">
          <Play size={14} /> {t('run.run')}
        </button>
        {canPublish && (
          <button
            type="button"
            className="button primary"
            onClick={() => setPublishing(true)}
            data-testid="publish"
            disabled={!loadedId}
          >
            <Rocket size={14} /> {t('publish.publish')}
          </button>
        )}
      </div>
      {kept && (
        <div className="draft-banner" role="status" data-testid="draft-banner">
          <span>
            {kept.baseVersion === null
              ? t('save.draftFoundNew', { time: formatTime(kept.savedAt, lang) })
              : t('save.draftFound', { time: formatTime(kept.savedAt, lang), n: kept.baseVersion })}
          </span>
          <button
            type="button"
            className="button primary small"
            data-testid="draft-restore"
            onClick={() => {
              const s = useEditorStore.getState();
              s.replaceDocument(kept.document);
              s.notify('info', t('save.draftRestored'));
              setKept(null);
            }}
          >
            {t('save.draftRestore')}
          </button>
          <button
            type="button"
            className="button ghost small"
            data-testid="draft-discard"
            onClick={() => {
              dropDraft(flowId);
              setKept(null);
            }}
          >
            {t('save.draftDiscard')}
          </button>
        </div>
      )}
      <div className="editor-main">
        {canEdit && <Palette />}
        <Canvas readOnly={!canEdit} onSave={openSave} onRun={requestRun} />
        <aside
          className={`side-panel${wide ? ' wide' : ''}`}
          aria-label={t('editor.sidePanel')}
          style={panelWidth === null ? undefined : { width: panelWidth }}
        >
          <PanelResizer
            label={t('editor.resizePanel')}
            width={panelWidth ?? (wide ? Math.min(680, Math.round(window.innerWidth * 0.52)) : 400)}
            onResize={(w) => {
              setWide(false);
              setPanelWidth(w);
            }}
          />
          <div className="tabs">
            {/* The tablist holds only the tabs; the widen button beside them is not a tab. */}
            <div className="tab-list" role="tablist">
              <button
                role="tab"
                type="button"
                aria-selected={tab === 'inspector'}
                className={tab === 'inspector' ? 'active' : ''}
                onClick={() => setTab('inspector')}
                data-testid="tab-inspector"
              >
                <SlidersHorizontal size={14} /> {t('editor.inspector')}
              </button>
              <button
                role="tab"
                type="button"
                aria-selected={tab === 'run'}
                className={tab === 'run' ? 'active' : ''}
                onClick={() => setTab('run')}
                data-testid="tab-run"
              >
                <Play size={14} /> {t('editor.run')}
              </button>
              <button
                role="tab"
                type="button"
                aria-selected={tab === 'problems'}
                className={tab === 'problems' ? 'active' : ''}
                onClick={() => setTab('problems')}
                data-testid="tab-problems"
              >
                <AlertTriangle size={14} /> {t('editor.problems')}
                {problemCount > 0 && <span className="tab-badge">{problemCount}</span>}
              </button>
              <button
                role="tab"
                type="button"
                aria-selected={tab === 'versions'}
                className={tab === 'versions' ? 'active' : ''}
                onClick={() => setTab('versions')}
                data-testid="tab-versions"
              >
                <History size={14} /> {t('editor.versions')}
              </button>
              <button
                role="tab"
                type="button"
                aria-selected={tab === 'evaluate'}
                className={tab === 'evaluate' ? 'active' : ''}
                onClick={() => {
                  setTab('evaluate');
                  // The report's tables and charts need the room.
                  setWide(true);
                }}
                data-testid="tab-evaluate"
              >
                <FlaskConical size={14} /> {t('editor.evaluate')}
              </button>
            </div>
            <button
              type="button"
              className="tab-tool"
              onClick={() => {
                setPanelWidth(null);
                setWide((w) => !w);
              }}
              aria-pressed={wide}
              aria-label={wide ? t('editor.narrow') : t('editor.widen')}
              title={wide ? t('editor.narrow') : t('editor.widen')}
            >
              {wide ? <PanelRightClose size={15} /> : <PanelRightOpen size={15} />}
            </button>
          </div>
          <div className="side-body" role="tabpanel">
            {tab === 'inspector' && <Inspector readOnly={!canEdit} />}
            {tab === 'run' && <RunPanel flowId={flowId} canRun={role !== 'viewer' && role !== 'approver'} />}
            {tab === 'problems' && <ProblemsPanel />}
            {tab === 'evaluate' && (
              <EvaluatePanel flowId={flowId} canRun={role !== 'viewer' && role !== 'approver'} />
            )}
            {tab === 'versions' && (
              <VersionsPanel flowId={flowId} canEdit={canEdit} onRestored={() => void load()} />
            )}
          </div>
        </aside>
      </div>
      {saving && <SaveDialog onClose={() => setSaving(false)} onSave={save} />}
      {publishing && (
        <PublishDialog
          flowId={flowId}
          flowName={name}
          sampleInput={sampleInput}
          onClose={() => setPublishing(false)}
        />
      )}
      <Toast />
    </div>
  );
}

export function EditorPage({ flowId, runId }: { flowId: string; runId?: string }) {
  return (
    <div className="app-shell">
      <AppHeader />
      <ReactFlowProvider>
        <EditorBody flowId={flowId} {...(runId ? { runId } : {})} />
      </ReactFlowProvider>
    </div>
  );
}
