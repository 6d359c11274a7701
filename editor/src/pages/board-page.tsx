/**
 * The programme owner's rollout board (`#/rollouts`): every endpoint of every workspace the user belongs to, with
 * its stage, traffic split, gate health and what waits for a person. Opening a row in another workspace switches
 * the session there first, then shows that endpoint's rollout dashboard.
 */
import type { BoardRow } from '@finflow/contract';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import { errorText } from '../i18n/errors.js';
import { navigate } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

const gateKinds = ['pass', 'uncertain', 'breach', 'insufficient'] as const;

export function BoardPage() {
  const { t } = useTranslation();
  const current = useSessionStore((s) => s.session?.workspace?.id);
  const [rows, setRows] = useState<BoardRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.programmeBoard().then(setRows, (err: unknown) => setError(errorText(t, err)));
  }, [t]);

  const open = async (row: BoardRow) => {
    try {
      if (row.workspace.id !== current) await useSessionStore.getState().switchWorkspace(row.workspace.id);
      navigate({ name: 'rollout', endpointId: row.endpointId });
    } catch (err) {
      setError(errorText(t, err));
    }
  };

  const workspaces = [...new Set((rows ?? []).map((r) => r.workspace.name))];
  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page" data-testid="board-page">
        <div className="page-head">
          <div>
            <h1>{t('board.title')}</h1>
            <p className="muted">{t('board.subtitle', { n: workspaces.length })}</p>
          </div>
        </div>
        <ErrorBox>{error}</ErrorBox>
        <div className="card">
          <table className="list-table" data-testid="board-list">
            <thead>
              <tr>
                <th scope="col">{t('board.workspace')}</th>
                <th scope="col">{t('board.endpoint')}</th>
                <th scope="col">{t('board.stage')}</th>
                <th scope="col">{t('board.split')}</th>
                <th scope="col">{t('board.gates')}</th>
                <th scope="col" className="num">
                  {t('board.pending')}
                </th>
                <th scope="col">
                  <span className="visually-hidden">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows?.map((row) => (
                <tr key={row.endpointId} data-testid="board-row" data-slug={row.slug}>
                  <td>{row.workspace.name}</td>
                  <td>
                    <code>{row.slug}</code>
                    {row.flowName && <div className="muted small">{row.flowName}</div>}
                  </td>
                  <td>
                    {row.stage === 'none' ? (
                      <span className="muted">{t('endpoints.noRollout')}</span>
                    ) : (
                      <span className={`pill rollout-status-${row.rolloutStatus ?? 'active'}`}>
                        {t(`rollout.stage_${row.stage}`)}
                        {row.rolloutStatus && row.rolloutStatus !== 'active'
                          ? ` · ${t(`rollout.status_${row.rolloutStatus}`)}`
                          : ''}
                      </span>
                    )}
                  </td>
                  <td data-testid="board-split">
                    {row.split
                      .map((s) =>
                        t(`board.share_${s.role}`, {
                          version: s.version,
                          share: Math.round(s.share * 10) / 10,
                        }),
                      )
                      .join(' · ')}
                  </td>
                  <td className="board-gates" data-testid="board-gates">
                    {gateKinds.every((k) => row.gates[k] === 0) ? (
                      <span className="muted">—</span>
                    ) : (
                      gateKinds
                        .filter((k) => row.gates[k] > 0)
                        .map((k) => (
                          <span key={k} className={`pill gate-pill-${k}`}>
                            {t(`board.gate_${k}`, { n: row.gates[k] })}
                          </span>
                        ))
                    )}
                  </td>
                  <td className="num">
                    {row.pendingApprovals > 0 && (
                      <span className="pill gate-pill-pass">{t('board.approval')}</span>
                    )}{' '}
                    {row.openReviews > 0 && t('rollout.openReviews', { n: row.openReviews })}
                    {row.pendingApprovals === 0 && row.openReviews === 0 && <span className="muted">0</span>}
                  </td>
                  <td>
                    <button type="button" className="button small ghost" onClick={() => void open(row)}>
                      {t('board.open')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows && rows.length === 0 && <p className="muted empty">{t('board.empty')}</p>}
        </div>
      </main>
    </div>
  );
}
