/**
 * The run panel: a form for the flow input generated from the input node's schema (prefilled from the template's
 * fixtures or the schema's example, its language field from the UI language), run and cancel, live progress from socket.io, streamed model tokens, the
 * run's outputs as pictures, its timeline, and the flow's run history.
 */
import { History, Loader2, Play, Square, UserCheck } from 'lucide-react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client.js';
import type { JsonSchema, Problem, ReviewTask, RunSummary, Template } from '../api/types.js';
import { errorText } from '../i18n/errors.js';
import { ProblemButton } from '../panels/problems-panel.js';
import { NodeRunView } from './node-run-view.js';
import { formatMs, formatTime, nodeTitle, useLang } from '../i18n/index.js';
import { SchemaForm, JsonFieldStandalone } from '../inspector/schema-form.js';
import { validateAgainst } from '../inspector/schema.js';
import { href, navigate } from '../router.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { inputNode, nodeById, selectSingleNodeId, useEditorStore } from '../state/editor-store.js';
import { useRunStore } from '../state/run-store.js';
import { ValuesView } from '../views/pictures.js';
import { Gantt } from './gantt.js';
import { fixtureForUi, requestLanguage, withUiLanguage } from './input-language.js';
import { isTerminal } from './run-state.js';
import { Segmented } from '../ui/segmented.js';
import { ErrorBox } from '../ui/error-box.js';

function useInputNode() {
  return useEditorStore(inputNode);
}

function useTemplateFixtures(): Template['fixtures'] {
  const templates = useCatalogStore((s) => s.templates);
  const meta = useEditorStore((s) => s.doc.meta);
  useEffect(() => {
    if (!templates)
      void useCatalogStore
        .getState()
        .loadTemplates()
        .catch(() => undefined);
  }, [templates]);
  return useMemo(() => {
    const match = templates?.find(
      (t) =>
        t.flow.id === meta.id || (meta.tags ?? []).includes(`template:${t.id}`) || t.flow.name === meta.name,
    );
    return match?.fixtures ?? [];
  }, [templates, meta]);
}

export function RunPanel({ flowId, canRun }: { flowId: string; canRun: boolean }) {
  const { t } = useTranslation();
  const inputNode = useInputNode();
  const fixtures = useTemplateFixtures();
  const run = useRunStore((s) => s.run);
  const starting = useRunStore((s) => s.starting);
  const schema = (inputNode?.config['schema'] as JsonSchema | undefined) ?? {
    type: 'object',
    properties: {},
  };
  const example = inputNode?.config['example'] as Record<string, unknown> | undefined;
  const [input, setInput] = useState<Record<string, unknown>>({});
  const [fixture, setFixture] = useState('');
  const [raw, setRaw] = useState(false);
  const [serverFields, setServerFields] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [blocked, setBlocked] = useState<Problem[]>([]);
  const [prefilled, setPrefilled] = useState(false);
  // Once a run is shown, the (often long) input form folds away so the result is what the panel shows first.
  const [formOpen, setFormOpen] = useState(true);

  const lang = useLang();
  // Prefill once: the first template fixture, else the schema's example; a language the input does not name
  // follows the UI language (and keeps following it until the analyst picks one).
  useEffect(() => {
    if (prefilled) return;
    const first = fixtureForUi(fixtures, lang);
    if (first && first.input && typeof first.input === 'object') {
      setInput(withUiLanguage(schema, first.input as Record<string, unknown>, lang));
      setFixture(first.name);
      setPrefilled(true);
    } else if (example) {
      setInput(withUiLanguage(schema, example, lang));
      setPrefilled(true);
    } else if (inputNode) {
      setInput((prev) => withUiLanguage(schema, prev, lang));
    }
  }, [fixtures, example, prefilled, schema, lang, inputNode]);
  const previousLang = useRef(lang);
  useEffect(() => {
    const before = requestLanguage(previousLang.current);
    previousLang.current = lang;
    setInput((prev) => (prev['language'] === before ? { ...prev, language: requestLanguage(lang) } : prev));
  }, [lang]);

  const errors = useMemo(() => validateAgainst(schema, input), [schema, input]);

  const start = useCallback(async () => {
    setError(null);
    setServerFields(new Map());
    setBlocked([]);
    setFormOpen(false);
    const editor = useEditorStore.getState();
    try {
      // Unsaved edits run as a draft, without a version; otherwise the version on the canvas runs.
      await useRunStore
        .getState()
        .start(
          flowId,
          editor.dirty || !editor.version
            ? { input, document: editor.documentNow() }
            : { input, version: editor.version.number },
        );
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code === 'INVALID_INPUT' && Array.isArray(err.details?.['fields'])) {
          const m = new Map<string, string[]>();
          for (const f of err.details['fields'] as {
            path: string | (string | number)[];
            message: string;
          }[]) {
            const key = Array.isArray(f.path)
              ? f.path.join('.')
              : String(f.path).replace(/^\//, '').replace(/\//g, '.');
            m.set(key, [...(m.get(key) ?? []), f.message]);
          }
          setServerFields(m);
        }
        if (err.code === 'INVALID_FLOW' && Array.isArray(err.details?.['problems'])) {
          // The problems go on the nodes and are listed here, in the analyst's language.
          const problems = err.details['problems'] as Problem[];
          useEditorStore.getState().setProblems(problems);
          setBlocked(problems);
          return;
        }
      }
      setError(errorText(t, err));
    }
  }, [flowId, input, t]);

  // Ctrl+Enter (the editor's run action) asks for a run; a request made before this panel opened counts too.
  const startRequest = useRunStore((s) => s.startRequest);
  const handled = useRef(0);
  useEffect(() => {
    if (startRequest === handled.current) return;
    handled.current = startRequest;
    if (canRun && inputNode) void start();
  }, [startRequest, start, canRun, inputNode]);

  const running = !!run && !isTerminal(run.status);
  return (
    <div className="run-panel" data-testid="run-panel">
      <section className="panel-section">
        <div className="section-head">
          <h3 className="section-title">{t('run.input')}</h3>
          <div className="row gap-s">
            {fixtures.length > 0 && (
              <select
                className="input small"
                aria-label={t('run.fixture')}
                value={fixture}
                data-testid="fixture-select"
                onChange={(e) => {
                  const f = fixtures.find((x) => x.name === e.target.value);
                  setFixture(e.target.value);
                  if (f) setInput(withUiLanguage(schema, f.input as Record<string, unknown>, lang));
                }}
              >
                {/* Prefilled from the schema's example before the samples arrived: say so, not the first sample. */}
                {fixture === '' && <option value="">{t('run.exampleInput')}</option>}
                {fixtures.map((f) => (
                  <option key={f.name} value={f.name}>
                    {t('run.sample')}: {f.name}
                  </option>
                ))}
              </select>
            )}
            <Segmented
              small
              label={t('run.inputMode')}
              value={raw}
              onChange={setRaw}
              options={[
                { value: false, label: t('run.form') },
                { value: true, label: 'JSON' },
              ]}
            />
          </div>
        </div>
        {!inputNode && <p className="muted">{t('run.noInputNode')}</p>}
        {inputNode && run && (
          <button
            type="button"
            className="button ghost small"
            aria-expanded={formOpen}
            onClick={() => setFormOpen((o) => !o)}
            data-testid="toggle-run-form"
          >
            {formOpen ? t('run.hideInput') : t('run.showInput')}
          </button>
        )}
        {inputNode &&
          (formOpen || !run) &&
          (raw ? (
            <JsonFieldStandalone
              label={t('run.input')}
              value={input}
              height={220}
              onChange={(v) => setInput(v && typeof v === 'object' ? (v as Record<string, unknown>) : {})}
            />
          ) : (
            <div className="run-form">
              <SchemaForm
                schema={schema}
                value={input}
                ctx={{ errors, serverErrors: serverFields }}
                onChange={(next) => setInput(next)}
              />
            </div>
          ))}
        <div className="run-actions">
          {running ? (
            <button
              type="button"
              className="button danger"
              onClick={() => void useRunStore.getState().cancel()}
              data-testid="cancel-run"
            >
              <Square size={14} /> {t('run.cancel')}
            </button>
          ) : (
            <button
              type="button"
              className="button primary"
              disabled={!canRun || starting || !inputNode}
              onClick={() => void start()}
              data-testid="start-run"
            >
              {starting ? <Loader2 size={14} className="spin" /> : <Play size={14} />} {t('run.run')}
            </button>
          )}
          <span className="muted small">Ctrl+Enter</span>
        </div>
        <ErrorBox testId="run-error">{error}</ErrorBox>
        {blocked.length > 0 && (
          <ErrorBox testId="run-blocked">
            <p>{t('problems.runBlocked', { count: blocked.length })}</p>
            <ul className="problem-list compact">
              {blocked.slice(0, 8).map((p, i) => (
                <li key={i}>
                  <ProblemButton problem={p} />
                </li>
              ))}
            </ul>
            {blocked.length > 8 && <p>{t('problems.more', { count: blocked.length - 8 })}</p>}
          </ErrorBox>
        )}
      </section>
      {run && <SelectedNodeResult />}
      {run && <RunSummaryView />}
      <RunHistory flowId={flowId} />
    </div>
  );
}

/** The node clicked on the canvas while the run is shown: what it received and produced in this run. */
function SelectedNodeResult() {
  const { t } = useTranslation();
  const lang = useLang();
  const nodeId = useEditorStore(selectSingleNodeId);
  const type = useEditorStore((s) => (nodeId ? nodeById(s, nodeId)?.type : undefined));
  const label = useEditorStore((s) => (nodeId ? nodeById(s, nodeId)?.label : undefined));
  const inRun = useRunStore((s) => (nodeId ? !!s.run?.nodes[nodeId] : false));
  const byType = useCatalogStore((s) => s.byType);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (nodeId && inRun) ref.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }, [nodeId, inRun]);
  if (!nodeId || !type) return null;
  return (
    <section className="panel-section" ref={ref} data-testid="run-node-result">
      <h3 className="section-title">
        {t('run.nodeResult', { node: label || nodeTitle(byType.get(type), type, lang) })}
      </h3>
      <NodeRunView nodeId={nodeId} />
    </section>
  );
}

function RunSummaryView() {
  const { t } = useTranslation();
  const lang = useLang();
  const run = useRunStore((s) => s.run);
  const byType = useCatalogStore((s) => s.byType);
  const flowVersion = useRunStore((s) => s.flowVersion);
  const editorVersion = useEditorStore((s) => s.version?.number);
  const flowId = useEditorStore((s) => s.flowId);
  if (!run) return null;
  const nodes = Object.values(run.nodes);
  // A draft run ran what was on the canvas then; its flowVersion is only the version it was edited from.
  const draft = run.meta?.['trigger'] === 'draft';
  const otherVersion =
    !draft &&
    flowVersion !== null &&
    editorVersion !== undefined &&
    flowVersion !== editorVersion &&
    isTerminal(run.status);
  const showVersion = async () => {
    if (!flowId || flowVersion === null) return;
    const editor = useEditorStore.getState();
    if (editor.dirty && !window.confirm(t('run.discardForVersion'))) return;
    const v = await api.version(flowId, flowVersion);
    editor.load({ flow: { id: flowId }, version: v.version, document: v.document });
  };
  const counts = nodes.reduce<Record<string, number>>(
    (acc, n) => ((acc[n.status] = (acc[n.status] ?? 0) + 1), acc),
    {},
  );
  const streaming = nodes.filter((n) => n.streamed);
  return (
    <>
      <section className="panel-section" data-testid="run-summary" data-run-status={run.status}>
        <div className="section-head">
          <h3 className="section-title">{t('run.result')}</h3>
          <span className={`pill status-${run.status}`} data-testid="run-status">
            {run.status === 'running' && <Loader2 size={12} className="spin" />}{' '}
            {t(`runStatus.${run.status}`)}
          </span>
        </div>
        {draft && (
          <p className="notice-info" data-testid="run-draft-notice">
            {t('run.draftRun', { n: flowVersion })}
          </p>
        )}
        {otherVersion && (
          <p className="notice-warn" data-testid="run-version-notice">
            {t('run.otherVersion', { run: flowVersion, current: editorVersion })}{' '}
            <button type="button" className="link" onClick={() => void showVersion()}>
              {t('run.showVersion', { n: flowVersion })}
            </button>
          </p>
        )}
        <div className="run-counts">
          {(['succeeded', 'running', 'waiting', 'queued', 'failed', 'skipped'] as const).map((s) =>
            counts[s] ? (
              <span key={s} className={`count-chip status-${s}`}>
                {t(`status.${s}`)} {counts[s]}
              </span>
            ) : null,
          )}
          <span className="muted small">
            {formatMs(run.ms ?? (run.startedAt ? Date.now() - run.startedAt : undefined))}
          </span>
          <span className="muted small mono">{run.runId}</span>
        </div>
        {run.status === 'waiting' && <WaitingReviews runId={run.runId} lastSeq={run.lastSeq} />}
        {run.error && (
          <ErrorBox>
            <strong className="mono">{run.error.code}</strong>
            {run.error.nodeId && <span className="mono"> @ {run.error.nodeId}</span>}
            <p>{run.error.message}</p>
          </ErrorBox>
        )}
        {streaming.map((n) => (
          <div key={n.id} className="stream-box">
            <div className="small muted">
              {nodeTitle(byType.get(n.type), n.type, lang)} · {t('run.streamed')}
            </div>
            <pre className="result-text streamed" data-testid="run-streamed">
              {n.streamed}
              {n.status === 'running' && <span className="caret" />}
            </pre>
          </div>
        ))}
        {run.outputs && Object.keys(run.outputs).length > 0 && (
          <ValuesView values={run.outputs} testId="run-outputs" />
        )}
        {typeof run.input === 'object' && run.input !== null && run.status !== 'running' && (
          <details className="details">
            <summary>{t('run.inputUsed')}</summary>
            <pre className="result-text">{JSON.stringify(run.input, null, 2)}</pre>
          </details>
        )}
      </section>
      <section className="panel-section">
        <h3 className="section-title">{t('run.timeline')}</h3>
        <Gantt run={run} />
      </section>
    </>
  );
}

/** The review tasks a waiting run waits for, with their queue and due time, linked to the inbox. */
function WaitingReviews({ runId, lastSeq }: { runId: string; lastSeq: number }) {
  const { t } = useTranslation();
  const lang = useLang();
  const [tasks, setTasks] = useState<ReviewTask[]>([]);
  useEffect(() => {
    let stop = false;
    api.runReviews(runId).then(
      (r) => !stop && setTasks(r.filter((x) => x.status === 'open')),
      () => undefined,
    );
    return () => {
      stop = true;
    };
  }, [runId, lastSeq]);
  return (
    <div className="waiting-box" data-testid="run-waiting">
      <strong>
        <UserCheck size={14} aria-hidden /> {t('run.waitingTitle')}
      </strong>
      <p className="small">{t('run.waitingBody')}</p>
      <ul>
        {tasks.map((task) => (
          <li key={task.id}>
            <span className="pill">{task.queue}</span> {task.title}{' '}
            {task.dueAt !== null && (
              <span className="muted small">{t('run.dueAt', { time: formatTime(task.dueAt, lang) })}</span>
            )}{' '}
            <a href={href({ name: 'reviews', taskId: task.id })} data-testid="run-waiting-task">
              {t('run.openTask')}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

function RunHistory({ flowId }: { flowId: string }) {
  const { t } = useTranslation();
  const lang = useLang();
  const current = useRunStore((s) => s.run);
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const terminal = current ? isTerminal(current.status) : true;
  useEffect(() => {
    let stop = false;
    api.runs({ flowId, limit: 20 }).then(
      (r) => !stop && setRuns(r),
      () => !stop && setRuns([]),
    );
    return () => {
      stop = true;
    };
  }, [flowId, current?.runId, terminal]);
  return (
    <section className="panel-section">
      <h3 className="section-title">
        <History size={14} aria-hidden /> {t('run.history')}
      </h3>
      {runs === null && <p className="muted small">{t('common.loading')}</p>}
      {runs?.length === 0 && <p className="muted small">{t('run.noRuns')}</p>}
      <ul className="run-list" data-testid="run-history">
        {runs?.map((r) => (
          <li key={r.id}>
            <button
              type="button"
              className={`run-item${current?.runId === r.id ? ' active' : ''}`}
              onClick={() => navigate({ name: 'flow', flowId, runId: r.id })}
            >
              <span className={`dot status-${r.status}`} aria-hidden />
              <span>{formatTime(r.startedAt, lang)}</span>
              <span className="muted small">
                {r.trigger === 'draft' ? t('run.draftOf', { n: r.flowVersion }) : `v${r.flowVersion}`}
              </span>
              <span className="muted small">{t(`runStatus.${r.status}`)}</span>
              <span className="muted small right">{formatMs(r.ms ?? undefined)}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
