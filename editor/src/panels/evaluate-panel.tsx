/**
 * The Evaluate tab: runs chosen versions of the flow on a labelled dataset (CSV or JSON Lines) on the server,
 * shows the progress, then the report: quality and response time per version, the versions side by side with
 * paired intervals and McNemar, and charts (ROC, confusion matrix, latency histogram, time per node). Reports are
 * stored by the server; earlier ones can be reopened and exported as Markdown or JSON.
 */
import { Download, FlaskConical, Square } from 'lucide-react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type {
  Comparison,
  EvaluationReport,
  HistogramBin,
  Interval,
  VersionReport,
} from '@finflow/runtime/evaluation';
import { api } from '../api/client.js';
import { subscribeEvaluations, type RunSubscription } from '../api/socket.js';
import type { Evaluation, StartEvaluationBody } from '@finflow/contract';
import type { VersionInfo } from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { useEditorStore } from '../state/editor-store.js';
import { ErrorBox } from '../ui/error-box.js';

const fmt = (x: number | undefined, digits = 3) =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
const ci = (i: Interval | undefined, digits = 3) =>
  i ? `${fmt(i.estimate, digits)} [${fmt(i.lo, digits)}, ${fmt(i.hi, digits)}]` : '–';

interface Form {
  label: string;
  input: string;
  prediction: string;
  score: string;
  positive: string;
  costFn: string;
  costFp: string;
  group: string;
  favourable: string;
  kind: 'classification' | 'text';
  textCheck: string;
}

const emptyForm: Form = {
  label: '',
  input: '',
  prediction: '',
  score: '',
  positive: '',
  costFn: '',
  costFp: '',
  group: '',
  favourable: '',
  kind: 'classification',
  textCheck: 'exact',
};

function specOf(f: Form): StartEvaluationBody['spec'] {
  const spec: StartEvaluationBody['spec'] = { label: f.label.trim(), kind: f.kind };
  const set = (k: 'input' | 'prediction' | 'score' | 'positive' | 'group' | 'favourable', v: string) => {
    if (v.trim()) spec[k] = v.trim();
  };
  set('input', f.input);
  set('prediction', f.prediction);
  set('score', f.score);
  set('positive', f.positive);
  set('group', f.group);
  set('favourable', f.favourable);
  if (f.costFn.trim() && f.costFp.trim())
    spec.cost = { falseNegative: Number(f.costFn), falsePositive: Number(f.costFp) };
  if (f.kind === 'text')
    spec.textCheck =
      f.textCheck === 'exact' || f.textCheck === 'contains' ? f.textCheck : { expression: f.textCheck };
  return spec;
}

export function EvaluatePanel({ flowId, canRun }: { flowId: string; canRun: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  const current = useEditorStore((s) => s.version?.number);
  const [versions, setVersions] = useState<VersionInfo[]>([]);
  const [chosen, setChosen] = useState<number[]>([]);
  const [file, setFile] = useState<{ name: string; content: string } | null>(null);
  const [form, setForm] = useState<Form>(emptyForm);
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const [history, setHistory] = useState<Evaluation[]>([]);
  const [error, setError] = useState<string | null>(null);
  const poll = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const sub = useRef<RunSubscription | undefined>(undefined);

  const loadHistory = useCallback(() => {
    api.evaluations(flowId).then(setHistory, (err: Error) => setError(err.message));
  }, [flowId]);

  useEffect(() => {
    api.versions(flowId).then(
      (v) => {
        const sorted = [...v].sort((a, b) => b.number - a.number);
        setVersions(sorted);
        setChosen((c) => (c.length ? c : sorted[0] ? [sorted[0].number] : []));
      },
      (err: Error) => setError(err.message),
    );
    loadHistory();
  }, [flowId, current, loadHistory]);
  useEffect(
    () => () => {
      clearTimeout(poll.current);
      sub.current?.close();
    },
    [],
  );

  // Progress arrives over socket.io as it happens; a slow poll covers a socket that is down.
  const follow = useCallback(
    (id: string) => {
      clearTimeout(poll.current);
      sub.current?.close();
      let finished = false;
      const load = async () => {
        try {
          const e = await api.evaluation(id);
          setEvaluation(e);
          if (e.status === 'running') poll.current = setTimeout(() => void load(), 5_000);
          else if (!finished) {
            finished = true;
            sub.current?.close();
            loadHistory();
          }
        } catch (err) {
          setError((err as Error).message);
        }
      };
      sub.current = subscribeEvaluations((p) => {
        if (p.id !== id || finished) return;
        if (p.status === 'running')
          setEvaluation((e) => (e && e.id === id ? { ...e, progress: p.progress } : e));
        else {
          clearTimeout(poll.current);
          void load();
        }
      });
      void load();
    },
    [loadHistory],
  );

  const pick = async (f: File | undefined) => {
    if (!f) return;
    setFile({ name: f.name, content: await f.text() });
  };

  const start = async () => {
    if (!file) return;
    setError(null);
    try {
      // The baseline is the oldest chosen version; the others are compared with it.
      const ordered = [...chosen].sort((a, b) => a - b);
      const e = await api.startEvaluation(flowId, {
        versions: ordered,
        dataset: {
          name: file.name,
          format: /\.(jsonl|ndjson)$/i.test(file.name) ? 'jsonl' : 'csv',
          content: file.content,
        },
        spec: specOf(form),
      });
      setEvaluation(e);
      follow(e.id);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const field = (key: keyof Form, label: string, placeholder = '', mono = true) => (
    <label className="eval-field">
      <span className="small">{label}</span>
      <input
        className={`input small${mono ? ' mono' : ''}`}
        value={form[key]}
        placeholder={placeholder}
        onChange={(e) => setForm((f) => ({ ...f, [key]: e.target.value }))}
        data-testid={`eval-${key}`}
      />
    </label>
  );

  const running = evaluation?.status === 'running';
  return (
    <div className="evaluate-panel" data-testid="evaluate-panel">
      {canRun && (
        <section className="panel-section">
          <h3 className="section-title">
            <FlaskConical size={14} aria-hidden /> {t('evaluate.title')}
          </h3>
          <p className="muted small">{t('evaluate.intro')}</p>
          <div className="eval-versions" role="group" aria-label={t('evaluate.versions')}>
            <span className="small">{t('evaluate.versions')}</span>
            {versions.slice(0, 8).map((v) => (
              <label key={v.number} className="small checkbox">
                <input
                  type="checkbox"
                  checked={chosen.includes(v.number)}
                  onChange={(e) =>
                    setChosen((c) => (e.target.checked ? [...c, v.number] : c.filter((n) => n !== v.number)))
                  }
                />
                v{v.number}
              </label>
            ))}
          </div>
          <label className="eval-field">
            <span className="small">{t('evaluate.dataset')}</span>
            <input
              type="file"
              accept=".csv,.jsonl,.ndjson,text/csv"
              onChange={(e) => void pick(e.target.files?.[0])}
              data-testid="eval-dataset"
            />
            {file && (
              <span className="muted small">
                {file.name} · {t('evaluate.kilobytes', { n: Math.ceil(file.content.length / 1024) })}
              </span>
            )}
          </label>
          <div className="eval-grid">
            {field('label', t('evaluate.label'), 'class')}
            <label className="eval-field">
              <span className="small">{t('evaluate.kind')}</span>
              <select
                className="input small"
                value={form.kind}
                onChange={(e) => setForm((f) => ({ ...f, kind: e.target.value as Form['kind'] }))}
              >
                <option value="classification">{t('evaluate.kindClassification')}</option>
                <option value="text">{t('evaluate.kindText')}</option>
              </select>
            </label>
            {field('prediction', t('evaluate.prediction'), 'decision.outcome')}
            {form.kind === 'classification'
              ? field('score', t('evaluate.score'), 'decision.probability')
              : field('textCheck', t('evaluate.textCheck'), 'exact | contains | JSONata')}
            {form.kind === 'classification' && field('positive', t('evaluate.positive'), '2')}
            {form.kind === 'classification' && (
              <div className="eval-field">
                <span className="small">{t('evaluate.cost')}</span>
                <div className="row gap-s">
                  <input
                    className="input small"
                    aria-label={t('evaluate.costFn')}
                    placeholder={t('evaluate.costFn')}
                    value={form.costFn}
                    onChange={(e) => setForm((f) => ({ ...f, costFn: e.target.value }))}
                  />
                  <input
                    className="input small"
                    aria-label={t('evaluate.costFp')}
                    placeholder={t('evaluate.costFp')}
                    value={form.costFp}
                    onChange={(e) => setForm((f) => ({ ...f, costFp: e.target.value }))}
                  />
                </div>
              </div>
            )}
            {field('group', t('evaluate.group'), 'foreign_worker')}
            {field('favourable', t('evaluate.favourable'), '1')}
          </div>
          <label className="eval-field">
            <span className="small">{t('evaluate.input')}</span>
            <textarea
              className="input small mono"
              rows={3}
              value={form.input}
              placeholder={t('evaluate.inputPlaceholder')}
              onChange={(e) => setForm((f) => ({ ...f, input: e.target.value }))}
              data-testid="eval-input"
            />
          </label>
          <div className="row gap-s">
            <button
              type="button"
              className="button primary small"
              disabled={!file || !form.label.trim() || !chosen.length || running}
              onClick={() => void start()}
              data-testid="eval-start"
            >
              <FlaskConical size={12} /> {t('evaluate.start')}
            </button>
            {running && evaluation && (
              <button
                type="button"
                className="button small ghost"
                onClick={() =>
                  void api.cancelEvaluation(evaluation.id).catch((e: Error) => setError(e.message))
                }
              >
                <Square size={12} /> {t('evaluate.cancel')}
              </button>
            )}
          </div>
        </section>
      )}
      <ErrorBox>{error}</ErrorBox>
      {evaluation && (
        <section className="panel-section" data-testid="eval-result">
          <div className="row gap-s">
            <h3 className="section-title">{t(`evaluate.status.${evaluation.status}`)}</h3>
            <span className="muted small">
              {evaluation.dataset.name} · {t('evaluate.rows', { n: evaluation.dataset.rows })}
            </span>
          </div>
          {running && (
            <progress
              className="eval-progress"
              max={evaluation.progress.total}
              value={evaluation.progress.done}
              aria-label={t('evaluate.progress')}
              data-testid="eval-progress"
            />
          )}
          {evaluation.error && evaluation.status !== 'cancelled' && (
            <p className="error-box small">{evaluation.error}</p>
          )}
          {evaluation.report && <ReportView id={evaluation.id} report={evaluation.report} />}
        </section>
      )}
      {history.length > 0 && (
        <section className="panel-section">
          <h3 className="section-title">{t('evaluate.history')}</h3>
          <ol className="version-list">
            {history.map((e) => (
              <li key={e.id}>
                <button type="button" className="link" onClick={() => follow(e.id)}>
                  {e.versions.map((v) => `v${v}`).join(' · ')} · {e.dataset.name}
                </button>
                <span className="muted small right">
                  {t(`evaluate.status.${e.status}`)} · {formatTime(e.createdAt, lang)}
                </span>
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}

function ReportView({ id, report }: { id: string; report: EvaluationReport }) {
  const { t } = useTranslation();
  const downloadJson = () => {
    const url = URL.createObjectURL(
      new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }),
    );
    const a = document.createElement('a');
    a.href = url;
    a.download = `evaluation-${id}.json`;
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <div className="eval-report">
      <div className="row gap-s">
        <a
          className="button small ghost"
          href={`/api/evaluations/${encodeURIComponent(id)}?format=md`}
          download
        >
          <Download size={12} /> {t('evaluate.exportMd')}
        </a>
        <button type="button" className="button small ghost" onClick={downloadJson}>
          <Download size={12} /> {t('evaluate.exportJson')}
        </button>
      </div>
      <h4 className="small">{t('evaluate.quality')}</h4>
      <table className="eval-table" data-testid="eval-quality">
        <thead>
          <tr>
            <th>{t('evaluate.version')}</th>
            <th>{t('evaluate.accuracy')}</th>
            <th>{t('evaluate.precision')}</th>
            <th>{t('evaluate.recall')}</th>
            <th>F1</th>
            <th>AUC</th>
            <th>Brier</th>
            <th>{t('evaluate.costPerRow')}</th>
          </tr>
        </thead>
        <tbody>
          {report.versions.map((v) => {
            const q = v.quality;
            const b = q.binary ?? q.classification?.macro;
            return (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td className="mono">
                  {ci(q.accuracyInterval ?? { estimate: q.accuracy, lo: NaN, hi: NaN })}
                </td>
                <td className="mono">{fmt(b?.precision)}</td>
                <td className="mono">{fmt(b?.recall)}</td>
                <td className="mono">{fmt(b?.f1)}</td>
                <td className="mono">
                  {q.scores ? ci(q.scores.aucInterval ?? { estimate: q.scores.auc, lo: NaN, hi: NaN }) : '–'}
                </td>
                <td className="mono">{fmt(q.scores?.brier)}</td>
                <td className="mono">
                  {q.cost ? ci(q.cost.interval ?? { estimate: q.cost.perRow, lo: NaN, hi: NaN }) : '–'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {report.versions.some((v) => v.quality.adverseImpact) && (
        <p className="small" data-testid="eval-adverse">
          {report.versions.map((v) =>
            v.quality.adverseImpact ? (
              <span key={v.version}>
                {t('evaluate.adverseImpact', {
                  version: v.version,
                  ratio: fmt(v.quality.adverseImpact.minRatio),
                  verdict: t(`evaluate.fourFifths.${v.quality.adverseImpact.fourFifths}`),
                })}{' '}
              </span>
            ) : null,
          )}
        </p>
      )}
      {report.comparisons.length > 0 && <Comparisons comparisons={report.comparisons} />}
      <h4 className="small">{t('evaluate.performance')}</h4>
      <table className="eval-table" data-testid="eval-performance">
        <thead>
          <tr>
            <th>{t('evaluate.version')}</th>
            <th>p50 ms</th>
            <th>p95 ms</th>
            <th>p99 ms</th>
            <th>{t('evaluate.cpuPerRun')}</th>
            <th>{t('evaluate.peakRss')}</th>
            <th>{t('evaluate.tokens')}</th>
            <th>{t('evaluate.failed')}</th>
          </tr>
        </thead>
        <tbody>
          {report.versions.map((v) => {
            const p = v.performance;
            return (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td className="mono">{fmt(p.latencyMs.p50, 1)}</td>
                <td className="mono">{fmt(p.latencyMs.p95, 1)}</td>
                <td className="mono">{fmt(p.latencyMs.p99, 1)}</td>
                <td className="mono">{fmt(p.cpuMsPerRun, 2)}</td>
                <td className="mono">{fmt(p.peakRssMiB, 0)}</td>
                <td className="mono">{fmt(p.tokens.perRun, 1)}</td>
                <td className="mono">{p.failed}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {report.versions.map((v) => (
        <VersionCharts key={v.version} v={v} />
      ))}
    </div>
  );
}

function Comparisons({ comparisons }: { comparisons: Comparison[] }) {
  const { t } = useTranslation();
  return (
    <>
      <h4 className="small">{t('evaluate.comparisons')}</h4>
      <table className="eval-table" data-testid="eval-comparisons">
        <thead>
          <tr>
            <th>{t('evaluate.challenger')}</th>
            <th>Δ {t('evaluate.accuracy')}</th>
            <th>Δ AUC</th>
            <th>Δ {t('evaluate.costPerRow')}</th>
            <th>McNemar p</th>
          </tr>
        </thead>
        <tbody>
          {comparisons.map((c) => (
            <tr key={c.challenger}>
              <td>
                {c.challenger} − {c.baseline}
              </td>
              <td className="mono">{ci(c.accuracy)}</td>
              <td className="mono">{ci(c.auc)}</td>
              <td className="mono">{ci(c.cost)}</td>
              <td className="mono">{fmt(c.mcnemar.pValue, 4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{t('evaluate.comparisonHelp')}</p>
    </>
  );
}

const W = 220;
const H = 150;

function VersionCharts({ v }: { v: VersionReport }) {
  const { t } = useTranslation();
  const roc = v.quality.scores?.roc;
  const confusion = v.quality.classification?.confusion;
  const nodes = v.performance.nodes.slice(0, 8);
  const maxNode = Math.max(...nodes.map((n) => n.ms.p50), 1e-9);
  return (
    <div className="eval-charts" data-testid="eval-charts">
      <h4 className="small">{v.version}</h4>
      <div className="eval-chart-grid">
        {roc && (
          <figure>
            <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('evaluate.roc')}>
              <rect x="0" y="0" width={W} height={H} className="chart-frame" />
              <line x1="0" y1={H} x2={W} y2="0" className="chart-diagonal" />
              <polyline
                className="chart-line"
                points={roc.fpr
                  .map((x, i) => `${(x * W).toFixed(1)},${((1 - (roc.tpr[i] ?? 0)) * H).toFixed(1)}`)
                  .join(' ')}
              />
            </svg>
            <figcaption className="small muted">
              {t('evaluate.roc')} · AUC {fmt(v.quality.scores?.auc)}
            </figcaption>
          </figure>
        )}
        {confusion && confusion.classes.length <= 12 && (
          <figure>
            <table className="eval-confusion" aria-label={t('evaluate.confusion')}>
              <thead>
                <tr>
                  <th className="muted small">{t('evaluate.trueVsPredicted')}</th>
                  {confusion.classes.map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {confusion.classes.map((c, i) => {
                  const row = confusion.matrix[i] ?? [];
                  const total = row.reduce((s, x) => s + x, 0) || 1;
                  return (
                    <tr key={c}>
                      <th>{c}</th>
                      {row.map((n, j) => (
                        <td
                          key={j}
                          className={i === j ? 'diag' : ''}
                          style={{ '--share': (n / total).toFixed(3) } as React.CSSProperties}
                        >
                          {n}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <figcaption className="small muted">{t('evaluate.confusion')}</figcaption>
          </figure>
        )}
        <figure>
          <Histogram bins={v.performance.latencyHistogram} label={t('evaluate.latencyHistogram')} />
          <figcaption className="small muted">{t('evaluate.latencyHistogram')}</figcaption>
        </figure>
        <figure>
          <div className="eval-node-bars" aria-label={t('evaluate.perNode')}>
            {nodes.map((n) => (
              <div key={n.node} className="eval-node-bar">
                <span className="mono small">{n.node}</span>
                <span className="bar" style={{ width: `${Math.max(2, (n.ms.p50 / maxNode) * 100)}%` }} />
                <span className="mono small">{fmt(n.ms.p50, 2)}</span>
              </div>
            ))}
          </div>
          <figcaption className="small muted">{t('evaluate.perNode')}</figcaption>
        </figure>
      </div>
    </div>
  );
}

function Histogram({ bins, label }: { bins: HistogramBin[]; label: string }) {
  const max = Math.max(...bins.map((b) => b.count), 1);
  const w = W / Math.max(bins.length, 1);
  return (
    <svg viewBox={`0 0 ${W} ${H + 14}`} role="img" aria-label={label}>
      {bins.map((b, i) => (
        <rect
          key={i}
          className="chart-bar"
          x={i * w + 1}
          y={H - (b.count / max) * H}
          width={Math.max(1, w - 2)}
          height={(b.count / max) * H}
        >
          <title>
            {fmt(b.from, 1)}–{fmt(b.to, 1)} ms: {b.count}
          </title>
        </rect>
      ))}
      <text x="0" y={H + 12} className="chart-axis">
        {fmt(bins[0]?.from, 1)} ms
      </text>
      <text x={W} y={H + 12} textAnchor="end" className="chart-axis">
        {fmt(bins.at(-1)?.to, 1)} ms
      </text>
    </svg>
  );
}
