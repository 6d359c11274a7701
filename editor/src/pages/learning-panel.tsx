/**
 * The continuous-learning part of an endpoint's rollout dashboard: the last retraining (the new version, the
 * holdout comparison, what the masking kept out of training, the proposal) with a button that retrains now, and
 * the drift of the served version's inputs and score against its training baseline with the endpoint's thresholds.
 * The new version is only proposed: the rollout card above starts it.
 */
import { useCallback, useEffect, useState } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { Drift, Learning, ProposalReason, RetrainJob } from '@finflow/contract';
import { api, ApiError } from '../api/client.js';
import { formatTime, useLang } from '../i18n/index.js';
import { ErrorBox } from '../ui/error-box.js';
import { LearningSettings } from './learning-settings.js';

const JOB_POLL_MS = 1_000;

function psi(x: number | null): string {
  return x === null ? '—' : x.toFixed(3);
}

/**
 * A proposal reason in the UI language, from its code and figures (`learning.reason_<CODE>`); the server's English
 * message where the code has no wording (a job stored before reasons had codes).
 */
export function proposalReasonText(t: TFunction, r: ProposalReason): string {
  const key = `learning.reason_${r.code}`;
  const { measure, estimate, lo, hi } = r.params;
  const text = t(key, {
    measure: measure ? t(`learning.measure_${measure}`) : '',
    difference:
      estimate === undefined || lo === undefined || hi === undefined
        ? ''
        : `${estimate >= 0 ? '+' : ''}${estimate.toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}]`,
    defaultValue: '',
  });
  return text && text !== key ? text : r.message;
}

export function LearningPanel({ endpointId, canRetrain }: { endpointId: string; canRetrain: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  const [learning, setLearning] = useState<Learning | null>(null);
  const [job, setJob] = useState<RetrainJob | null>(null);
  const [drift, setDrift] = useState<Drift | null>(null);
  const [driftNote, setDriftNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);

  const load = useCallback(() => {
    api.learning(endpointId).then(setLearning, (err: Error) => setError(err.message));
    api.retrainJobs(endpointId).then(
      (jobs) => setJob(jobs[0] ?? null),
      () => undefined,
    );
    api.drift(endpointId).then(
      (d) => {
        setDrift(d);
        setDriftNote(null);
      },
      (err: unknown) => {
        setDrift(null);
        if (err instanceof ApiError && (err.code === 'NO_BASELINE' || err.code === 'LEARNING_NOT_CONFIGURED'))
          setDriftNote(t('learning.noBaseline'));
        else setDriftNote((err as Error).message);
      },
    );
  }, [endpointId, t]);
  useEffect(load, [load]);

  // While a retraining runs, follow it.
  useEffect(() => {
    if (job?.status !== 'running') return;
    const timer = setTimeout(() => {
      api.retrainJobs(endpointId).then(
        (jobs) => {
          setJob(jobs[0] ?? null);
          if (jobs[0]?.status !== 'running') load();
        },
        () => undefined,
      );
    }, JOB_POLL_MS);
    return () => clearTimeout(timer);
  }, [job, endpointId, load]);

  const retrain = () => {
    setError(null);
    api
      .retrain(endpointId)
      .then(setJob, (err: Error) =>
        setError(err instanceof ApiError ? `${err.code}: ${err.message}` : err.message),
      );
  };

  const rows = drift
    ? [...(drift.score ? [{ ...drift.score, name: t('learning.score') }] : []), ...drift.features]
    : [];
  return (
    <section className="learning" data-testid="learning-panel">
      <h2 className="section-heading">{t('learning.title')}</h2>
      <ErrorBox>{error}</ErrorBox>
      <div className="card">
        {learning && editing ? (
          <LearningSettings
            endpointId={endpointId}
            learning={learning}
            onSaved={(next) => {
              setLearning(next);
              setEditing(false);
              load();
            }}
            onCancel={() => setEditing(false)}
          />
        ) : learning?.config ? (
          <div className="small muted" data-testid="learning-settings">
            {t('learning.settings', {
              node: learning.config.nodeId,
              labels: learning.labels,
              holdout: Math.round(learning.config.holdout * 100),
            })}
            {learning.config.schedule
              ? ` · ${t('learning.schedule', {
                  hours: learning.config.schedule.everyHours,
                  labels: learning.config.schedule.minNewLabels,
                })}`
              : ''}
          </div>
        ) : (
          <div className="small muted" data-testid="learning-not-configured">
            {t(canRetrain ? 'learning.notConfigured' : 'learning.notConfiguredReadOnly')}
          </div>
        )}
        {canRetrain && learning && !editing && (
          <div className="button-row">
            <button
              type="button"
              className="button"
              onClick={() => setEditing(true)}
              data-testid="learning-settings-edit"
            >
              {learning.config ? t('learning.editSettings') : t('learning.setUp')}
            </button>
          </div>
        )}
        {job ? (
          <div className="retrain-job" data-testid="retrain-job">
            <div>
              <span className={`pill retrain-${job.status}`}>{t(`learning.status_${job.status}`)}</span>{' '}
              {job.newVersion !== undefined
                ? t('learning.newVersion', { version: job.newVersion, champion: job.championVersion })
                : ''}{' '}
              <span className="small muted">{formatTime(job.createdAt, lang)}</span>
            </div>
            {job.comparison && (
              <table className="list-table compact" data-testid="retrain-comparison">
                <thead>
                  <tr>
                    <th scope="col">{t('learning.measure')}</th>
                    <th scope="col">{t('learning.championCol', { version: job.championVersion })}</th>
                    <th scope="col">{t('learning.newCol', { version: job.newVersion })}</th>
                    <th scope="col">{t('learning.difference')}</th>
                  </tr>
                </thead>
                <tbody>
                  {(['accuracy', 'auc', 'cost'] as const).map((k) => {
                    const f = job.comparison?.[k];
                    if (!f) return null;
                    const d = f.difference;
                    return (
                      <tr key={k}>
                        <td>{t(`learning.measure_${k}`)}</td>
                        <td>{f.champion === null ? '—' : f.champion.toFixed(3)}</td>
                        <td>{f.challenger === null ? '—' : f.challenger.toFixed(3)}</td>
                        <td>
                          {d
                            ? `${d.estimate >= 0 ? '+' : ''}${d.estimate.toFixed(3)} [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}]`
                            : '—'}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            {job.excluded && job.excluded.length > 0 && (
              <div className="small" data-testid="retrain-excluded">
                {t('learning.excluded', { columns: job.excluded.map((e) => e.column).join(', ') })}
              </div>
            )}
            {job.proposal && (
              <div className="small" data-testid="retrain-proposal">
                {job.proposal.stage
                  ? t('learning.proposed', { stage: t(`rollout.stage_${job.proposal.stage}`) })
                  : t('learning.notProposed')}{' '}
                <span className="muted">
                  {job.proposal.reasons.map((r) => proposalReasonText(t, r)).join('; ')}
                </span>
              </div>
            )}
            {job.error && <div className="small error">{job.error}</div>}
          </div>
        ) : (
          <div className="small muted">{t('learning.noJobs')}</div>
        )}
        {canRetrain && learning?.config && (
          <div className="button-row">
            <button
              type="button"
              className="button primary"
              disabled={job?.status === 'running'}
              onClick={retrain}
              data-testid="retrain-button"
            >
              {job?.status === 'running' ? t('learning.retraining') : t('learning.retrain')}
            </button>
          </div>
        )}
      </div>
      <h3 className="section-heading">{t('learning.drift')}</h3>
      <div className="card" data-testid="drift-panel">
        {drift ? (
          <>
            <div className="small muted">
              {t('learning.driftLine', {
                version: drift.version,
                calls: drift.calls,
                rows: drift.baseline.rows,
                watch: drift.thresholds.watch,
                alert: drift.thresholds.alert,
              })}
            </div>
            <table className="list-table compact">
              <thead>
                <tr>
                  <th scope="col">{t('learning.feature')}</th>
                  <th scope="col">PSI</th>
                  <th scope="col">{t('learning.level')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((f) => (
                  <tr key={f.name} data-testid={`drift-${f.name}`}>
                    <td>{f.name}</td>
                    <td>{psi(f.psi)}</td>
                    <td>
                      <span className={`pill drift-${f.level}`}>{t(`learning.level_${f.level}`)}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : (
          <div className="small muted">{driftNote}</div>
        )}
      </div>
    </section>
  );
}
