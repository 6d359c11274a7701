/** The run timeline: one bar per node from start to finish; overlapping bars in separate lanes show parallelism. */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RunState } from '../api/types.js';
import { formatMs } from '../i18n/index.js';
import { useEditorStore } from '../state/editor-store.js';
import { ganttBars, isTerminal } from './run-state.js';

export function Gantt({ run }: { run: RunState }) {
  const { t } = useTranslation();
  const [now, setNow] = useState(() => Date.now());
  const live = !isTerminal(run.status);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(timer);
  }, [live]);
  const { bars, total } = ganttBars(run, live ? now : (run.finishedAt ?? now));
  if (!bars.length) return <p className="muted small">{t('run.noTimeline')}</p>;
  const lanes = Math.max(...bars.map((b) => b.lane)) + 1;
  return (
    <div className="gantt" data-testid="gantt" role="list" aria-label={t('run.timeline')}>
      <div className="gantt-scale">
        <span>0</span>
        <span>{formatMs(total / 2)}</span>
        <span>{formatMs(total)}</span>
      </div>
      {bars.map((b) => {
        const left = (b.start / total) * 100;
        const width = Math.max(0.8, ((b.end - b.start) / total) * 100);
        return (
          <button
            type="button"
            role="listitem"
            key={b.nodeId}
            className="gantt-row"
            onClick={() => useEditorStore.getState().requestFocus(b.nodeId)}
            title={`${b.nodeId}: ${formatMs(b.end - b.start)} (${t(`status.${b.status}`)})`}
          >
            <span className="gantt-label mono">{b.nodeId}</span>
            <span className="gantt-track">
              <span
                className={`gantt-bar status-${b.status}`}
                style={{ left: `${left}%`, width: `${width}%` }}
              />
            </span>
            <span className="gantt-ms">{formatMs(b.end - b.start)}</span>
          </button>
        );
      })}
      {lanes > 1 && <p className="muted small">{t('run.parallel', { count: lanes })}</p>}
    </div>
  );
}
