/**
 * The review inbox: tasks of the review queues the signed-in user may decide (open ones with their SLA countdown,
 * or the history of decided ones), filtered by queue; a task shows its case with the run view's pictures (the
 * decision so far with its reasons and attributions, masked personal data, the checklist) and takes the decision:
 * approve, override (another outcome, corrected fields) or reject, always with a reason.
 */
import { CheckCircle2, Clock, ExternalLink, Inbox, Loader2, RefreshCw, ShieldAlert } from 'lucide-react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client.js';
import type { ReviewDecisionRequest, ReviewQueue, ReviewTask } from '../api/types.js';
import { formatTime, useLang, type Lang } from '../i18n/index.js';
import {
  correctionValue,
  fieldText,
  formatDuration,
  REVIEWS_CHANGED,
  slaState,
  valueAt,
} from '../review/sla.js';
import { href, navigate } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { Segmented } from '../ui/segmented.js';
import { DecisionBadge, JsonTree, ValuesView } from '../views/pictures.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

/** The current time, ticking every `ms` (SLA countdowns). */
function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function SlaBadge({ task, now, lang }: { task: ReviewTask; now: number; lang: Lang }) {
  const { t } = useTranslation();
  if (task.status !== 'open') return null;
  const sla = slaState(task.dueAt, now);
  if (sla.kind === 'none') return null;
  const text =
    sla.kind === 'overdue'
      ? t('reviews.overdueBy', { time: formatDuration(sla.ms, lang) })
      : t('reviews.dueIn', { time: formatDuration(sla.ms, lang) });
  const cls = sla.kind === 'overdue' ? 'sla-overdue' : sla.urgent ? 'sla-urgent' : 'sla-ok';
  return (
    <span className={`pill sla ${cls}`} data-testid="sla-badge" title={formatTime(task.dueAt, lang)}>
      <Clock size={11} aria-hidden /> {text}
    </span>
  );
}

const taskTitle = (task: ReviewTask) => task.title || `${task.nodeId} · ${task.runId.slice(0, 8)}`;

const isTextList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');

/** A summary value on one line: lists of plain values joined, nothing as a dash. */
function summaryText(v: unknown): string | undefined {
  if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) return '—';
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return v.join(', ');
  if (typeof v !== 'object') return String(v);
  return undefined;
}

export function ReviewsPage({ taskId }: { taskId?: string }) {
  const { t } = useTranslation();
  const lang = useLang();
  const now = useNow();
  const [status, setStatus] = useState<'open' | 'decided'>('open');
  const [queue, setQueue] = useState('');
  const [tasks, setTasks] = useState<ReviewTask[] | null>(null);
  const [queues, setQueues] = useState<ReviewQueue[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    setError(null);
    api.reviews({ status, limit: 200, ...(queue ? { queue } : {}) }).then(setTasks, (err: Error) => {
      setTasks([]);
      setError(err.message);
    });
    api.reviewQueues().then(setQueues, () => setQueues([]));
  }, [status, queue]);
  useEffect(() => {
    load();
    // Other reviewers work the same queues: the list is refreshed while the page is open.
    const timer = setInterval(load, 15_000);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page reviews-page" data-testid="reviews-page">
        <div className="page-head">
          <div>
            <h1>{t('reviews.title')}</h1>
            <p className="muted">{t('reviews.subtitle')}</p>
          </div>
          <button type="button" className="button" onClick={load} data-testid="reviews-refresh">
            <RefreshCw size={14} /> {t('reviews.refresh')}
          </button>
        </div>
        <ErrorBox>{error}</ErrorBox>
        <div className="reviews-layout">
          <aside className="card review-list" aria-label={t('reviews.list')}>
            <div className="review-filters">
              <Segmented
                small
                label={t('reviews.show')}
                value={status}
                onChange={setStatus}
                options={[
                  { value: 'open' as const, label: t('reviews.open') },
                  { value: 'decided' as const, label: t('reviews.history') },
                ]}
              />
              <select
                className="input small"
                aria-label={t('reviews.queue')}
                value={queue}
                onChange={(e) => setQueue(e.target.value)}
                data-testid="review-queue-filter"
              >
                <option value="">{t('reviews.allQueues')}</option>
                {queues.map((q) => (
                  <option key={q.queue} value={q.queue}>
                    {q.queue} ({q.open}
                    {q.overdue ? ` · ${t('reviews.overdueCount', { n: q.overdue })}` : ''})
                  </option>
                ))}
              </select>
            </div>
            {tasks === null && <p className="muted small pad">{t('common.loading')}</p>}
            {tasks?.length === 0 && (
              <div className="empty-state small" data-testid="reviews-empty">
                <Inbox size={22} aria-hidden />
                <p>{status === 'open' ? t('reviews.emptyOpen') : t('reviews.emptyHistory')}</p>
              </div>
            )}
            <ul className="review-items" data-testid="review-items">
              {tasks?.map((task) => (
                <li key={task.id}>
                  <a
                    href={href({ name: 'reviews', taskId: task.id })}
                    className={`review-item${task.id === taskId ? ' active' : ''}`}
                    data-testid="review-item"
                    data-task-id={task.id}
                  >
                    <span className="review-item-title">{taskTitle(task)}</span>
                    <span className="review-item-meta">
                      <span className="pill">{task.queue}</span>
                      {task.status === 'open' ? (
                        <SlaBadge task={task} now={now} lang={lang} />
                      ) : (
                        task.decision && (
                          <DecisionBadge outcome={decidedOutcome(task) ?? task.decision.action} />
                        )
                      )}
                      {task.escalatedAt !== null && (
                        <span className="pill sla-urgent">{t('reviews.escalated')}</span>
                      )}
                      {task.status === 'open' && (task.task.approvalsRequired ?? 1) > 1 && (
                        <span className="pill">
                          {t('reviews.approvals', {
                            n: task.approvals.length,
                            of: task.task.approvalsRequired ?? 1,
                          })}
                        </span>
                      )}
                    </span>
                    <span className="muted small">
                      {formatTime(task.status === 'open' ? task.createdAt : task.decidedAt, lang)}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          </aside>
          <section className="review-detail">
            {taskId ? (
              <TaskView key={taskId} taskId={taskId} now={now} onDecided={load} />
            ) : (
              <div className="card empty-state">
                <Inbox size={28} aria-hidden />
                <p className="muted">{t('reviews.pick')}</p>
              </div>
            )}
          </section>
        </div>
      </main>
    </div>
  );
}

/** The outcome a decided task came to (as the node computes it from the action). */
function decidedOutcome(task: ReviewTask): string | undefined {
  const d = task.decision;
  if (!d) return undefined;
  if (d.action === 'approve') return task.task.approveOutcome;
  if (d.action === 'reject') return task.task.rejectOutcome;
  if (d.action === 'default') return task.task.sla?.defaultOutcome;
  return d.outcome;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function TaskView({ taskId, now, onDecided }: { taskId: string; now: number; onDecided(): void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const [task, setTask] = useState<ReviewTask | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    api.review(taskId).then(setTask, (err: Error) => setError(err.message));
  }, [taskId]);
  useEffect(reload, [reload]);

  if (error) return <ErrorBox>{error}</ErrorBox>;
  if (!task)
    return (
      <div className="card pad">
        <Loader2 className="spin" size={16} aria-label={t('common.loading')} />
      </div>
    );
  const caseValue = task.task.case;
  const decisionSoFar = task.task.decision;
  const checklist = isRecord(caseValue) && isTextList(caseValue['checklist']) ? caseValue['checklist'] : [];
  // Lists of sentences (reasons, factors) read best as lists; everything else gets the run view's pictures.
  const entries = isRecord(caseValue) ? Object.entries(caseValue).filter(([k]) => k !== 'checklist') : [];
  const lists = entries.filter((e): e is [string, string[]] => isTextList(e[1]));
  const caseShown = isRecord(caseValue)
    ? Object.fromEntries(entries.filter(([, v]) => !isTextList(v)))
    : undefined;
  const canDecide = !!role && (role === 'approver' || task.roles.includes(role));
  return (
    <div className="card review-task" data-testid="review-task" data-task-status={task.status}>
      <div className="review-task-head">
        <div>
          <h2>{taskTitle(task)}</h2>
          <div className="row gap-s wrap">
            <span className="pill">{task.queue}</span>
            <span className={`pill status-${task.status === 'open' ? 'waiting' : task.status}`}>
              {t(`reviews.status.${task.status}`)}
            </span>
            <SlaBadge task={task} now={now} lang={lang} />
            {task.escalatedAt !== null && (
              <span className="pill sla-urgent">
                {t('reviews.escalatedAt', { time: formatTime(task.escalatedAt, lang) })}
              </span>
            )}
            <span className="muted small">
              {t('reviews.created', { time: formatTime(task.createdAt, lang) })}
            </span>
          </div>
        </div>
        <a
          className="button small"
          href={href({ name: 'flow', flowId: task.flowId, runId: task.runId })}
          data-testid="review-open-run"
        >
          <ExternalLink size={13} /> {t('reviews.openRun')}
        </a>
      </div>

      {task.task.summary && task.task.summary.length > 0 && (
        <section className="review-section">
          <h3 className="section-title">{t('reviews.summary')}</h3>
          <dl className="review-summary" data-testid="review-summary">
            {task.task.summary.map((s) => (
              <div key={s.path}>
                <dt className="mono">{s.path}</dt>
                <dd>{summaryText(s.value) ?? <JsonTree value={s.value} />}</dd>
              </div>
            ))}
          </dl>
        </section>
      )}

      {decisionSoFar !== undefined && decisionSoFar !== null && (
        <section className="review-section" data-testid="review-decision-so-far">
          <h3 className="section-title">{t('reviews.decisionSoFar')}</h3>
          {isRecord(decisionSoFar) ? (
            <ValuesView values={{ decision: decisionSoFar }} />
          ) : (
            <p className="muted">{String(decisionSoFar)}</p>
          )}
        </section>
      )}

      <section className="review-section" data-testid="review-case">
        <h3 className="section-title">{t('reviews.case')}</h3>
        {lists.map(([k, items]) => (
          <div key={k} className="picture">
            <h4 className="picture-title mono">{k}</h4>
            <ul className="reasons">
              {items.map((item) => (
                <li key={item}>{item}</li>
              ))}
            </ul>
          </div>
        ))}
        {caseShown ? <ValuesView values={caseShown} /> : <p className="muted">{String(caseValue ?? '—')}</p>}
        {checklist.length > 0 && <Checklist items={checklist.map(String)} />}
      </section>

      {task.approvals.length > 0 && task.status === 'open' && (
        <section className="review-section notice-warn" data-testid="review-approvals">
          <ShieldAlert size={14} aria-hidden />{' '}
          {t('reviews.firstApproval', {
            name: task.approvals[0]?.reviewer.name ?? '',
            outcome: task.approvals[0]?.outcome ?? task.task.approveOutcome ?? '',
            reason: task.approvals[0]?.reason ?? '',
          })}
        </section>
      )}

      {task.status === 'decided' && task.decision && <DecidedView task={task} />}
      {task.status === 'cancelled' && <p className="muted">{t('reviews.cancelled')}</p>}

      {task.status === 'open' &&
        (canDecide ? (
          <DecisionForm
            task={task}
            onDone={() => {
              reload();
              onDecided();
            }}
          />
        ) : (
          <p className="muted" data-testid="review-cannot-decide">
            {t('reviews.cannotDecide', {
              roles: ['approver', ...task.roles.filter((r) => r !== 'approver')]
                .map((r) => t(`roles.${r}`))
                .join(', '),
            })}
          </p>
        ))}
    </div>
  );
}

/** The reviewer's own checklist: ticks are a working aid on this screen, not stored. */
function Checklist({ items }: { items: string[] }) {
  const { t } = useTranslation();
  const [done, setDone] = useState<Set<number>>(new Set());
  return (
    <div className="review-checklist" data-testid="review-checklist">
      <h4 className="small muted">{t('reviews.checklist')}</h4>
      {items.map((item, i) => (
        <label key={item} className="check-row">
          <input
            type="checkbox"
            checked={done.has(i)}
            onChange={() =>
              setDone((prev) => {
                const next = new Set(prev);
                if (next.has(i)) next.delete(i);
                else next.add(i);
                return next;
              })
            }
          />
          <span>{item}</span>
        </label>
      ))}
    </div>
  );
}

function DecidedView({ task }: { task: ReviewTask }) {
  const { t } = useTranslation();
  const lang = useLang();
  const d = task.decision;
  if (!d) return null;
  const bySla = task.decidedBy === 'system:sla';
  return (
    <section className="review-section decided" data-testid="review-decided">
      <h3 className="section-title">
        <CheckCircle2 size={14} aria-hidden /> {t('reviews.decision')}
      </h3>
      <div className="row gap-s wrap">
        <DecisionBadge outcome={decidedOutcome(task) ?? d.action} />
        <span className="pill">{t(`reviews.action.${d.action}`)}</span>
        <span className="muted small">
          {bySla
            ? t('reviews.bySla')
            : t('reviews.decidedBy', { names: d.reviewers.map((r) => r.name).join(', ') })}{' '}
          · {formatTime(task.decidedAt, lang)}
        </span>
      </div>
      {d.reason && <p className="review-reason">{d.reason}</p>}
      {d.corrections && Object.keys(d.corrections).length > 0 && (
        <dl className="review-summary">
          {Object.entries(d.corrections).map(([k, v]) => (
            <div key={k}>
              <dt className="mono">{k}</dt>
              <dd>{fieldText(v)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

/** Error codes the server gives a decision, in the reviewer's words. */
const decisionErrors = new Set([
  'MAKER_CHECKER',
  'FOUR_EYES_SAME_PERSON',
  'REVIEW_CLOSED',
  'REVIEW_FORBIDDEN',
  'INVALID_DECISION',
]);

function DecisionForm({ task, onDone }: { task: ReviewTask; onDone(): void }) {
  const { t } = useTranslation();
  const policy = task.task;
  const outcomes = policy.outcomes ?? [];
  const editable = policy.editableFields ?? [];
  const caseValue = isRecord(policy.case) ? policy.case : {};
  const pending = task.approvals[0];
  const [action, setAction] = useState<ReviewDecisionRequest['action']>('approve');
  const [outcome, setOutcome] = useState(
    outcomes.find((o) => o !== policy.approveOutcome && o !== policy.rejectOutcome) ?? outcomes[0] ?? '',
  );
  const [fields, setFields] = useState<Record<string, string>>(() =>
    Object.fromEntries(editable.map((p) => [p, fieldText(valueAt(caseValue, p))])),
  );
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const corrections = useMemo(() => {
    const out: Record<string, unknown> = {};
    const bad: string[] = [];
    for (const p of editable) {
      const original = valueAt(caseValue, p);
      const text = fields[p] ?? '';
      if (text === fieldText(original)) continue;
      const v = correctionValue(original, text);
      if (v === undefined) bad.push(p);
      else out[p] = v;
    }
    return { out, bad };
  }, [editable, caseValue, fields]);

  const submit = async () => {
    setError(null);
    setBusy(true);
    try {
      const body: ReviewDecisionRequest = { action, reason: reason.trim() };
      if (action === 'override') {
        body.outcome = outcome;
        if (Object.keys(corrections.out).length) body.corrections = corrections.out;
      }
      await api.decide(task.id, body);
      window.dispatchEvent(new Event(REVIEWS_CHANGED));
      onDone();
    } catch (err) {
      const code = err instanceof ApiError ? err.code : '';
      setError(
        decisionErrors.has(code)
          ? `${t(`reviews.errors.${code}`)} (${(err as Error).message})`
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };

  const confirming = !!pending && action === 'approve';
  const outcomeOf = (a: ReviewDecisionRequest['action']) =>
    a === 'approve'
      ? (pending?.outcome ?? policy.approveOutcome)
      : a === 'reject'
        ? policy.rejectOutcome
        : outcome;
  return (
    <form
      className="review-section decision-form"
      data-testid="decision-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 className="section-title">{t('reviews.decide')}</h3>
      {(policy.approvalsRequired ?? 1) > 1 && (
        <p className="notice-warn small" data-testid="four-eyes-notice">
          {t('reviews.fourEyes', { above: policy.fourEyes?.above ?? '', path: policy.fourEyes?.path ?? '' })}
        </p>
      )}
      <Segmented
        label={t('reviews.actionLabel')}
        value={action}
        onChange={setAction}
        options={[
          {
            value: 'approve' as const,
            label: confirming ? t('reviews.confirm') : t('reviews.action.approve'),
          },
          ...(outcomes.length ? [{ value: 'override' as const, label: t('reviews.action.override') }] : []),
          { value: 'reject' as const, label: t('reviews.action.reject') },
        ]}
      />
      <p className="small muted" data-testid="decision-outcome">
        {t('reviews.outcomeWillBe')} <strong>{outcomeOf(action) ?? '—'}</strong>
      </p>
      {action === 'override' && (
        <div className="override-fields">
          <label className="field">
            <span className="field-label">{t('reviews.outcome')}</span>
            <select
              className="input"
              value={outcome}
              onChange={(e) => setOutcome(e.target.value)}
              data-testid="override-outcome"
            >
              {outcomes.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          {editable.map((p) => {
            const original = valueAt(caseValue, p);
            // Text a reviewer writes (a reply to a customer) gets room; amounts and terms a line.
            const multiline = typeof original !== 'number' && typeof original !== 'boolean';
            const change = (text: string) => setFields({ ...fields, [p]: text });
            return (
              <label key={p} className="field">
                <span className="field-label mono">{p}</span>
                {multiline ? (
                  <textarea
                    className="input"
                    rows={4}
                    value={fields[p] ?? ''}
                    onChange={(e) => change(e.target.value)}
                    data-testid={`correction-${p}`}
                  />
                ) : (
                  <input
                    className="input"
                    value={fields[p] ?? ''}
                    onChange={(e) => change(e.target.value)}
                    data-testid={`correction-${p}`}
                  />
                )}
                {corrections.bad.includes(p) && (
                  <span className="field-error">{t('reviews.notANumber')}</span>
                )}
              </label>
            );
          })}
        </div>
      )}
      <label className="field">
        <span className="field-label">{t('reviews.reason')}</span>
        <textarea
          className="input"
          rows={3}
          value={reason}
          required
          maxLength={4000}
          placeholder={t('reviews.reasonHint')}
          onChange={(e) => setReason(e.target.value)}
          data-testid="decision-reason"
        />
      </label>
      <ErrorBox testId="decision-error">{error}</ErrorBox>
      <div className="row gap-s">
        <button
          type="submit"
          className={`button ${action === 'reject' ? 'danger' : 'primary'}`}
          disabled={busy || !reason.trim() || corrections.bad.length > 0}
          data-testid="decision-submit"
        >
          {busy && <Loader2 size={14} className="spin" />} {t('reviews.submit')}
        </button>
        <button type="button" className="button" onClick={() => navigate({ name: 'reviews' })}>
          {t('reviews.back')}
        </button>
      </div>
    </form>
  );
}
