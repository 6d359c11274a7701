/**
 * The rollout dashboard of one endpoint: stage timeline, the current split, gate panels with champion and
 * challenger side by side over time, pending approval and open reviews, the transition history, and the buttons
 * (advance, pause, resume, roll back, kill) that each ask for a reason; CPU per call of both sides, the pilot's
 * human review (before and after release) and the evaluation report the next stage needs. Starts a rollout when
 * there is none live.
 * Polls the server every 2 s while open.
 */
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client.js';
import { errorText } from '../i18n/errors.js';
import type { TFunction } from 'i18next';
import type { RolloutGate, RolloutPoint, RolloutStage, RolloutStatus } from '@finflow/contract';
import type { Endpoint } from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { href } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { AppHeader } from './app-header.js';
import { LearningPanel } from './learning-panel.js';
import { ErrorBox } from '../ui/error-box.js';

const POLL_MS = 2_000;
const stages: RolloutStage[] = ['shadow', 'pilot', 'expansion', 'optimisation'];
type Action = 'advance' | 'pause' | 'resume' | 'rollback' | 'kill';

/** One metric of the series for each side, per time slot (null where a side had no calls). */
function metricOf(p: RolloutPoint, metric: string): [number | null, number | null] {
  const rate = (k: number, n: number) => (n ? k / n : null);
  switch (metric) {
    case 'errorRate':
      return [rate(p.champion.errors, p.champion.calls), rate(p.challenger.errors, p.challenger.calls)];
    case 'p95LatencyMs':
      return [p.champion.p95Ms, p.challenger.p95Ms];
    case 'shadowDisagreement':
      return [null, rate(p.challenger.disagree, p.challenger.shadows)];
    case 'approvalRateDrift':
      return [rate(p.champion.approvals, p.champion.calls), rate(p.challenger.approvals, p.challenger.calls)];
    case 'cpuMsPerCall':
      return [p.champion.cpuMs, p.challenger.cpuMs];
    default:
      return [p.champion.calls, p.challenger.calls];
  }
}

/** A small two-line chart: champion and challenger over the window; says so when the window has no calls. */
function Chart({ series, metric, label }: { series: RolloutPoint[]; metric: string; label: string }) {
  const { t } = useTranslation();
  if (!series.some((p) => p.champion.calls + p.challenger.calls + p.challenger.shadows > 0))
    return (
      <p className="muted small rollout-chart-empty" data-testid="chart-empty">
        {t('rollout.noCalls')}
      </p>
    );
  const w = 260;
  const h = 70;
  const values = series.map((p) => metricOf(p, metric));
  const max = Math.max(1e-9, ...values.flatMap(([a, b]) => [a ?? 0, b ?? 0]));
  const line = (i: 0 | 1) =>
    values
      .map((v, x) => {
        const y = v[i];
        if (y === null) return null;
        return `${((x / Math.max(1, values.length - 1)) * w).toFixed(1)},${(h - (y / max) * (h - 6) - 3).toFixed(1)}`;
      })
      .filter((pt): pt is string => pt !== null)
      .join(' ');
  return (
    <svg className="rollout-chart" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={line(0)} className="line-champion" />
      <polyline points={line(1)} className="line-challenger" />
    </svg>
  );
}

function fmt(metric: string, v: number | null): string {
  if (v === null) return '—';
  if (metric === 'cpuMsPerCall') return `${v.toFixed(2)} ms`;
  return metric === 'p95LatencyMs' ? `${Math.round(v)} ms` : `${(v * 100).toFixed(1)} %`;
}

/** Mean CPU ms per call of one side over the window (calls weigh their slot's mean). */
function meanCpu(series: RolloutPoint[], side: 'champion' | 'challenger'): number | null {
  let sum = 0;
  let n = 0;
  for (const p of series) {
    const s = p[side];
    if (s.cpuMs === null || s.cpuMs === undefined) continue;
    sum += s.cpuMs * s.calls;
    n += s.calls;
  }
  return n ? sum / n : null;
}

/** The evaluation report the next stage needs: met (which report), missing, or lost by the challenger. */
function EvaluationCard({ evaluation }: { evaluation: NonNullable<RolloutStatus['evaluation']> }) {
  const { t } = useTranslation();
  const d = evaluation.evidence?.accuracyDelta;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  return (
    <div
      className={`card gate rollout-evaluation gate-${evaluation.status === 'met' ? 'pass' : 'breach'}`}
      data-testid="rollout-evaluation"
    >
      <div className="gate-head">
        <strong>{t('rollout.evaluationTitle', { stage: t(`rollout.stage_${evaluation.stage}`) })}</strong>
        <span className={`pill gate-pill-${evaluation.status === 'met' ? 'pass' : 'breach'}`}>
          {t(`rollout.evaluation_${evaluation.status}`)}
        </span>
      </div>
      <div className="small muted">
        {t('rollout.evaluationNeed', {
          dataset: evaluation.dataset,
          margin: (evaluation.margin * 100).toFixed(1),
        })}
      </div>
      {evaluation.evidence && d && (
        <div className="small">
          {t('rollout.evaluationMet', {
            id: evaluation.evidence.evaluationId,
            rows: evaluation.evidence.rows,
            delta: pct(d.value),
            low: pct(d.low),
            high: pct(d.high),
          })}
        </div>
      )}
      {/* The server's reasons when the challenger lost (a missing report is said by the line above). */}
      {evaluation.status === 'not-met' && evaluation.message && (
        <div className="small">{evaluation.message}</div>
      )}
    </div>
  );
}

function GatePanel({ gate, series }: { gate: RolloutGate; series: RolloutPoint[] }) {
  const { t } = useTranslation();
  const name = t(`rollout.metric_${gate.metric}`, { defaultValue: gate.metric });
  return (
    <div className={`card gate gate-${gate.status}`} data-testid={`gate-${gate.metric}`}>
      <div className="gate-head">
        <strong>{name}</strong>
        <span className={`pill gate-pill-${gate.status}`}>{t(`rollout.gate_${gate.status}`)}</span>
      </div>
      <div className="small muted">
        {t('rollout.gateLine', {
          value: fmt(gate.metric, gate.value),
          low: fmt(gate.metric, gate.low),
          high: fmt(gate.metric, gate.high),
          threshold: fmt(gate.metric, gate.threshold),
          samples: gate.samples,
          min: gate.minSamples,
        })}
      </div>
      <div className="small muted">
        {t('rollout.champion')}: {fmt(gate.metric, gate.champion?.value ?? null)} ·{' '}
        {t(gate.action === 'rollback' ? 'rollout.actionRollback' : 'rollout.actionBlock')}
      </div>
      <Chart series={series} metric={gate.metric} label={name} />
    </div>
  );
}

/** An error in the UI language, with the server's code kept for whoever reports it. */
function withCode(t: TFunction, err: unknown): string {
  const text = errorText(t, err);
  return err instanceof ApiError && !text.includes(err.code) ? `${text} (${err.code})` : text;
}

export function RolloutPage({ endpointId }: { endpointId: string }) {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const [status, setStatus] = useState<RolloutStatus | null | undefined>(undefined);
  const [endpoint, setEndpoint] = useState<Endpoint | undefined>(undefined);
  // A server error is kept as it came and worded at render time, so it follows a change of language.
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState('');
  const [startStage, setStartStage] = useState<'shadow' | 'pilot'>('shadow');

  const load = useCallback(() => {
    api.rollout(endpointId).then(
      (s) => setStatus(s),
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'NO_ROLLOUT') setStatus(null);
        else setError(err);
      },
    );
  }, [endpointId]);
  useEffect(() => {
    load();
    api.endpoints().then(
      (list) => setEndpoint(list.find((e) => e.id === endpointId)),
      () => undefined,
    );
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, [load, endpointId]);

  const act = (action: Action) => {
    if (!status) return;
    if (!reason.trim()) {
      setError(t('rollout.needReason'));
      return;
    }
    setBusy(true);
    setError(null);
    api.rolloutAction(status.id, action, reason.trim()).then(
      (s) => {
        setStatus(s);
        setReason('');
        setBusy(false);
      },
      (err: Error) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  const start = () => {
    const v = Number(version);
    if (!Number.isInteger(v) || v < 1 || !reason.trim()) {
      setError(t('rollout.needVersionReason'));
      return;
    }
    setBusy(true);
    setError(null);
    api.startRollout(endpointId, { challengerVersion: v, stage: startStage, reason: reason.trim() }).then(
      (s) => {
        setStatus(s);
        setReason('');
        setBusy(false);
      },
      (err: Error) => {
        setError(err);
        setBusy(false);
      },
    );
  };

  const live = status && (status.status === 'active' || status.status === 'paused');
  const canApprove = role === 'approver' || role === 'admin';
  const canOperate = role === 'approver' || role === 'admin' || role === 'developer';
  const canStart = role === 'admin' || role === 'developer';
  const stageIndex = status ? stages.indexOf(status.stage) : -1;
  // A rollout may start at the pilot: the shadow stage it skipped is not shown as done.
  const passed = new Set(status?.transitions.flatMap((x) => [x.fromStage, x.toStage]) ?? []);

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page rollout-page" data-testid="rollout-page">
        <div className="page-head">
          <div>
            <p className="small">
              <a href={href({ name: 'endpoints' })}>{t('rollout.back')}</a>
            </p>
            <h1>
              {t('rollout.title')} · <code className="mono">{endpoint?.slug ?? endpointId}</code>
            </h1>
            <p className="muted">{t('rollout.subtitle')}</p>
          </div>
        </div>
        {error != null && (
          <ErrorBox testId="rollout-error">{typeof error === 'string' ? error : withCode(t, error)}</ErrorBox>
        )}
        {status === null && <p className="muted">{t('rollout.none')}</p>}
        {status && (
          <>
            <ol className="stage-timeline" aria-label={t('rollout.timeline')}>
              {stages.map((s, i) => (
                <li
                  key={s}
                  className={
                    i === stageIndex
                      ? 'current'
                      : i < stageIndex
                        ? passed.has(s)
                          ? 'done'
                          : 'skipped'
                        : 'todo'
                  }
                  aria-current={i === stageIndex ? 'step' : undefined}
                >
                  <span className="stage-name">{t(`rollout.stage_${s}`)}</span>
                  {s === 'expansion' && (
                    <span className="small muted">{status.plan.steps.map((x) => `${x}%`).join(' → ')}</span>
                  )}
                </li>
              ))}
            </ol>
            <div className="card rollout-summary" data-testid="rollout-summary">
              <div>
                <span className={`pill rollout-status-${status.status}`}>
                  {t(`rollout.status_${status.status}`)}
                </span>{' '}
                {t('rollout.versions', {
                  champion: status.championVersion,
                  challenger: status.challengerVersion,
                })}
              </div>
              <div className="split-bar" aria-label={t('rollout.split')}>
                <div className="split-champion" style={{ width: `${100 - status.share}%` }}>
                  {100 - status.share > 8 ? `v${status.championVersion} ${100 - status.share}%` : ''}
                </div>
                <div className="split-challenger" style={{ width: `${status.share}%` }}>
                  {status.share > 8 ? `v${status.challengerVersion} ${status.share}%` : ''}
                </div>
              </div>
              <div className="small muted" data-testid="rollout-split">
                {t('rollout.splitLine', {
                  share: status.share,
                  subject: status.plan.subjectPath ?? t('rollout.apiKey'),
                })}
              </div>
              {status.reason && <div className="small">{t('rollout.reason', { reason: status.reason })}</div>}
              {live && status.awaitingApproval && (
                <div className="approval-banner" data-testid="awaiting-approval">
                  {t('rollout.awaiting', {
                    stage: status.next ? t(`rollout.stage_${status.next.stage}`) : '',
                  })}
                </div>
              )}
              <div className="small muted">
                {t('rollout.openReviews', { n: status.openReviews })} ·{' '}
                {t('rollout.held', { minutes: Math.floor(status.heldMs / 60_000) })}
              </div>
              {status.plan.review && (
                <div className="small" data-testid="rollout-review">
                  {status.plan.review.beforeRelease
                    ? t('rollout.reviewBefore', { queue: status.plan.review.queue })
                    : t('rollout.reviewNotBefore')}
                  {status.plan.review.sampleAfterRelease > 0 &&
                    ` · ${t('rollout.reviewAfter', {
                      share: Math.round(status.plan.review.sampleAfterRelease * 1000) / 10,
                      queue: status.plan.review.queue,
                    })}`}
                </div>
              )}
              <div className="small muted" data-testid="rollout-cpu">
                {t('rollout.cpuLine', {
                  champion: fmt('cpuMsPerCall', meanCpu(status.series, 'champion')),
                  challenger: fmt('cpuMsPerCall', meanCpu(status.series, 'challenger')),
                })}
              </div>
            </div>
            {live && (
              <div className="card rollout-actions">
                <label className="field">
                  <span>{t('rollout.reasonLabel')}</span>
                  <input
                    value={reason}
                    onChange={(e) => setReason(e.target.value)}
                    maxLength={2000}
                    placeholder={t('rollout.reasonPlaceholder')}
                    data-testid="rollout-reason"
                  />
                </label>
                <div className="button-row">
                  {canApprove && status.status === 'active' && status.next && (
                    <button
                      type="button"
                      className="button primary"
                      disabled={busy}
                      onClick={() => act('advance')}
                    >
                      {t('rollout.advance', {
                        stage: `${t(`rollout.stage_${status.next.stage}`)} ${status.next.share}%`,
                      })}
                    </button>
                  )}
                  {canOperate && status.status === 'active' && (
                    <button type="button" className="button" disabled={busy} onClick={() => act('pause')}>
                      {t('rollout.pause')}
                    </button>
                  )}
                  {canOperate && status.status === 'paused' && (
                    <button type="button" className="button" disabled={busy} onClick={() => act('resume')}>
                      {t('rollout.resume')}
                    </button>
                  )}
                  {canOperate && (
                    <button type="button" className="button" disabled={busy} onClick={() => act('rollback')}>
                      {t('rollout.rollback')}
                    </button>
                  )}
                  {canOperate && (
                    <button
                      type="button"
                      className="button danger"
                      disabled={busy}
                      onClick={() => act('kill')}
                    >
                      {t('rollout.kill')}
                    </button>
                  )}
                </div>
              </div>
            )}
            {live && status.evaluation && <EvaluationCard evaluation={status.evaluation} />}
            {status.gates.length > 0 && (
              <>
                <h2 className="section-heading">
                  {t('rollout.gates')}{' '}
                  <span className="legend small">
                    <span className="swatch champion" /> {t('rollout.champion')}{' '}
                    <span className="swatch challenger" /> {t('rollout.challenger')}
                  </span>
                </h2>
                <div className="gate-grid">
                  {status.gates.map((g) => (
                    <GatePanel key={g.metric} gate={g} series={status.series} />
                  ))}
                  <div className="card gate">
                    <strong>{t('rollout.calls')}</strong>
                    <Chart series={status.series} metric="calls" label={t('rollout.calls')} />
                  </div>
                  {!status.gates.some((g) => g.metric === 'cpuMsPerCall') && (
                    <div className="card gate" data-testid="cpu-chart">
                      <strong>{t('rollout.metric_cpuMsPerCall')}</strong>
                      <Chart
                        series={status.series}
                        metric="cpuMsPerCall"
                        label={t('rollout.metric_cpuMsPerCall')}
                      />
                    </div>
                  )}
                </div>
              </>
            )}
            <h2 className="section-heading">{t('rollout.history')}</h2>
            <div className="card">
              <table className="list-table" data-testid="rollout-history">
                <thead>
                  <tr>
                    <th scope="col">{t('rollout.when')}</th>
                    <th scope="col">{t('rollout.what')}</th>
                    <th scope="col">{t('rollout.who')}</th>
                    <th scope="col">{t('rollout.why')}</th>
                  </tr>
                </thead>
                <tbody>
                  {[...status.transitions].reverse().map((tr) => (
                    <tr key={tr.seq}>
                      <td className="nowrap">{formatTime(tr.at, lang)}</td>
                      <td>
                        {t(`rollout.transition_${tr.action}`, { defaultValue: tr.action })}:{' '}
                        {tr.fromStage ? `${t(`rollout.stage_${tr.fromStage}`)} → ` : ''}
                        {t(`rollout.stage_${tr.toStage}`)} ({tr.toShare}%)
                      </td>
                      <td>
                        {tr.actor.type === 'system' ? t('rollout.system') : (tr.actor.name ?? tr.actor.id)}
                      </td>
                      <td>{tr.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        {status !== undefined && (!live || status?.stage === 'optimisation') && canStart && (
          <div className="card rollout-start" data-testid="rollout-start">
            <h2>{t('rollout.start')}</h2>
            <div className="button-row">
              <label className="field">
                <span>{t('rollout.challengerVersion')}</span>
                <input
                  type="number"
                  min={1}
                  value={version}
                  onChange={(e) => setVersion(e.target.value)}
                  data-testid="rollout-version"
                />
              </label>
              <label className="field">
                <span>{t('rollout.firstStage')}</span>
                <select
                  value={startStage}
                  onChange={(e) => setStartStage(e.target.value as 'shadow' | 'pilot')}
                >
                  <option value="shadow">{t('rollout.stage_shadow')}</option>
                  <option value="pilot">{t('rollout.stage_pilot')}</option>
                </select>
              </label>
              <label className="field grow">
                <span>{t('rollout.reasonLabel')}</span>
                <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
              </label>
              <button type="button" className="button primary" disabled={busy} onClick={start}>
                {t('rollout.startButton')}
              </button>
            </div>
          </div>
        )}
        <LearningPanel endpointId={endpointId} canRetrain={canStart} />
      </main>
    </div>
  );
}
