/**
 * Version history: every saved version with its author and message; pick any two to see what changed (changed
 * nodes are highlighted on the canvas) and restore an old version as a new one.
 */
import { GitCompare, RotateCcw } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { FlowDiff, VersionInfo } from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { useEditorStore, type DiffMark } from '../state/editor-store.js';
import { ErrorBox } from '../ui/error-box.js';

function authorName(a: VersionInfo['author']): string {
  if (!a) return '—';
  return typeof a === 'string' ? a : a.name;
}

export function VersionsPanel({
  flowId,
  canEdit,
  onRestored,
}: {
  flowId: string;
  canEdit: boolean;
  onRestored: () => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const current = useEditorStore((s) => s.version?.number);
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [diff, setDiff] = useState<FlowDiff | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.versions(flowId).then(
      (v) => {
        const sorted = [...v].sort((a, b) => b.number - a.number);
        setVersions(sorted);
        if (sorted.length >= 2) {
          setTo((x) => x ?? sorted[0]?.number ?? null);
          setFrom((x) => x ?? sorted[1]?.number ?? null);
        }
      },
      (err: Error) => setError(err.message),
    );
  }, [flowId]);
  useEffect(load, [load, current]);
  useEffect(() => () => useEditorStore.getState().setDiffMarks(null), []);

  const compare = async () => {
    if (from === null || to === null) return;
    setError(null);
    try {
      const d = await api.diff(flowId, from, to);
      setDiff(d);
      const marks: Record<string, DiffMark> = {};
      for (const id of d.nodes.added) marks[id] = 'added';
      for (const c of d.nodes.changed) marks[c.id] = 'changed';
      useEditorStore.getState().setDiffMarks(marks);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const restore = async (n: number) => {
    if (!window.confirm(t('versions.confirmRestore', { n }))) return;
    try {
      await api.restore(flowId, n, t('versions.restoreMessage', { n }));
      useEditorStore.getState().notify('success', t('versions.restored', { n }));
      onRestored();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div className="versions-panel" data-testid="versions-panel">
      {versions && versions.length >= 2 && (
        <section className="panel-section">
          <h3 className="section-title">
            <GitCompare size={14} aria-hidden /> {t('versions.compare')}
          </h3>
          <div className="row gap-s wrap">
            <label className="small">
              {t('versions.from')}{' '}
              <select
                className="input small"
                value={from ?? ''}
                onChange={(e) => setFrom(Number(e.target.value))}
              >
                {versions.map((v) => (
                  <option key={v.number} value={v.number}>
                    v{v.number}
                  </option>
                ))}
              </select>
            </label>
            <label className="small">
              {t('versions.to')}{' '}
              <select
                className="input small"
                value={to ?? ''}
                onChange={(e) => setTo(Number(e.target.value))}
              >
                {versions.map((v) => (
                  <option key={v.number} value={v.number}>
                    v{v.number}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className="button small"
              onClick={() => void compare()}
              data-testid="compare-versions"
            >
              {t('versions.showDiff')}
            </button>
            {diff && (
              <button
                type="button"
                className="button small ghost"
                onClick={() => {
                  setDiff(null);
                  useEditorStore.getState().setDiffMarks(null);
                }}
              >
                {t('versions.clearDiff')}
              </button>
            )}
          </div>
          {diff && <DiffView diff={diff} />}
        </section>
      )}
      <ErrorBox>{error}</ErrorBox>
      <section className="panel-section">
        <h3 className="section-title">{t('versions.title')}</h3>
        {versions === null && <p className="muted small">{t('common.loading')}</p>}
        <ol className="version-list">
          {versions?.map((v) => (
            <li key={v.number} className={v.number === current ? 'current' : ''}>
              <div className="version-head">
                <strong>v{v.number}</strong>
                {v.number === current && <span className="pill">{t('versions.current')}</span>}
                <span className="muted small right">{formatTime(v.createdAt, lang)}</span>
              </div>
              <div className="version-msg">
                {v.message || <span className="muted">{t('versions.noMessage')}</span>}
              </div>
              <div className="version-foot">
                <span className="muted small">
                  {authorName(v.author)} · <span className="mono">{v.hash.slice(0, 8)}</span>
                </span>
                {canEdit && v.number !== current && (
                  <button type="button" className="button small ghost" onClick={() => void restore(v.number)}>
                    <RotateCcw size={12} /> {t('versions.restore')}
                  </button>
                )}
              </div>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

function DiffView({ diff }: { diff: FlowDiff }) {
  const { t } = useTranslation();
  const empty =
    !diff.nodes.added.length &&
    !diff.nodes.removed.length &&
    !diff.nodes.changed.length &&
    !diff.edges.added.length &&
    !diff.edges.removed.length;
  if (empty) return <p className="muted small">{t('versions.same')}</p>;
  return (
    <div className="diff" data-testid="diff-view">
      {diff.nodes.added.map((id) => (
        <div key={`a${id}`} className="diff-line added">
          + {t('versions.nodeAdded')}{' '}
          <button
            type="button"
            className="link mono"
            onClick={() => useEditorStore.getState().requestFocus(id)}
          >
            {id}
          </button>
        </div>
      ))}
      {diff.nodes.removed.map((id) => (
        <div key={`r${id}`} className="diff-line removed">
          − {t('versions.nodeRemoved')} <span className="mono">{id}</span>
        </div>
      ))}
      {diff.nodes.changed.map((c) => (
        <div key={`c${c.id}`} className="diff-line changed">
          ~{' '}
          <button
            type="button"
            className="link mono"
            onClick={() => useEditorStore.getState().requestFocus(c.id)}
          >
            {c.id}
          </button>
          <ul>
            {c.fields.map((f) => (
              <li key={f.path} className="small">
                <span className="mono">{f.path}</span>: <del>{JSON.stringify(f.before)}</del> →{' '}
                <ins>{JSON.stringify(f.after)}</ins>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {diff.edges.added.length > 0 && (
        <div className="diff-line added">
          + {t('versions.edgesAdded', { count: diff.edges.added.length })}
        </div>
      )}
      {diff.edges.removed.length > 0 && (
        <div className="diff-line removed">
          − {t('versions.edgesRemoved', { count: diff.edges.removed.length })}
        </div>
      )}
    </div>
  );
}
