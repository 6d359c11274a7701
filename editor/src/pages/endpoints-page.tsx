/** Published endpoints with their status and call counts (enable/disable), and the workspace's API keys. */
import { KeyRound, Trash2 } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { ApiKey, Endpoint, RolloutBoardRow } from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { CopyButton, endpointUrl } from '../panels/publish-dialog.js';
import { href } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { AppHeader } from './app-header.js';

export function EndpointsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const canManage = role === 'admin' || role === 'developer';
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [flowNames, setFlowNames] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [board, setBoard] = useState<ReadonlyMap<string, RolloutBoardRow>>(new Map());
  const load = useCallback(() => {
    api.endpoints().then(setEndpoints, (err: Error) => setError(err.message));
    api.rolloutBoard().then(
      (rows) => setBoard(new Map(rows.map((r) => [r.endpointId, r]))),
      () => undefined,
    );
    api.flows().then(
      (flows) => setFlowNames(new Map(flows.map((f) => [f.id, f.name]))),
      () => undefined,
    );
    if (canManage) api.keys().then(setKeys, () => setKeys([]));
  }, [canManage]);
  useEffect(load, [load]);

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page" data-testid="endpoints-page">
        <div className="page-head">
          <div>
            <h1>{t('endpoints.title')}</h1>
            <p className="muted">{t('endpoints.subtitle')}</p>
          </div>
        </div>
        {error && (
          <div className="error-box" role="alert">
            {error}
          </div>
        )}
        <div className="card">
          <table className="list-table" data-testid="endpoint-list">
            <thead>
              <tr>
                <th scope="col">{t('endpoints.slug')}</th>
                <th scope="col">{t('endpoints.flow')}</th>
                <th scope="col">{t('endpoints.status')}</th>
                <th scope="col">{t('endpoints.rollout')}</th>
                <th scope="col" className="num">
                  {t('endpoints.calls24h')}
                </th>
                <th scope="col" className="num">
                  {t('endpoints.callsTotal')}
                </th>
                <th scope="col">{t('endpoints.created')}</th>
                <th scope="col" aria-label={t('common.actions')} />
              </tr>
            </thead>
            <tbody>
              {endpoints?.map((ep) => (
                <tr key={ep.id}>
                  <td>
                    <div className="copy-row inline">
                      <code className="mono">{ep.slug}</code>
                      <CopyButton text={endpointUrl(ep)} label={t('common.copy')} />
                      <CopyButton
                        text={`curl -H 'Authorization: Bearer <API key>' '${endpointUrl(ep)}/openapi.json'`}
                        label={t('endpoints.copyOpenapi')}
                        icon="doc"
                      />
                    </div>
                  </td>
                  <td>
                    <a href={href({ name: 'flow', flowId: ep.flowId })}>
                      {flowNames.get(ep.flowId) ?? ep.flowId}
                    </a>{' '}
                    <span className="muted small">v{ep.flowVersion}</span>
                  </td>
                  <td>
                    <span
                      className={`pill ${ep.status === 'active' ? 'status-succeeded' : 'status-skipped'}`}
                    >
                      {t(`endpoints.status_${ep.status}`, { defaultValue: ep.status })}
                    </span>
                  </td>
                  <td>
                    <a
                      href={href({ name: 'rollout', endpointId: ep.id })}
                      data-testid={`rollout-link-${ep.slug}`}
                    >
                      {(() => {
                        const r = board.get(ep.id)?.rollout;
                        if (!r) return t('endpoints.noRollout');
                        const live = r.status === 'active' || r.status === 'paused';
                        return live
                          ? `${t(`rollout.stage_${r.stage}`)} · ${r.share}%`
                          : t(`rollout.status_${r.status}`);
                      })()}
                    </a>
                  </td>
                  <td className="num">{ep.calls?.last24h ?? '—'}</td>
                  <td className="num">{ep.calls?.total ?? '—'}</td>
                  <td className="nowrap">{formatTime(ep.createdAt, lang)}</td>
                  <td className="right">
                    {canManage && (
                      <button
                        type="button"
                        className="button small ghost"
                        onClick={() =>
                          void api
                            .updateEndpoint(ep.id, { status: ep.status === 'active' ? 'disabled' : 'active' })
                            .then(load, (err: Error) => setError(err.message))
                        }
                      >
                        {ep.status === 'active' ? t('endpoints.disable') : t('endpoints.enable')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {endpoints?.length === 0 && (
                <tr>
                  <td colSpan={8} className="empty-row">
                    {t('endpoints.empty')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {canManage && (
          <>
            <h2 className="section-heading">
              <KeyRound size={16} aria-hidden /> {t('endpoints.keys')}
            </h2>
            <div className="card">
              <table className="list-table" data-testid="key-list">
                <thead>
                  <tr>
                    <th scope="col">{t('endpoints.keyName')}</th>
                    <th scope="col">{t('endpoints.prefix')}</th>
                    <th scope="col">{t('endpoints.scope')}</th>
                    <th scope="col">{t('endpoints.lastUsed')}</th>
                    <th scope="col">{t('endpoints.status')}</th>
                    <th scope="col" aria-label={t('common.actions')} />
                  </tr>
                </thead>
                <tbody>
                  {keys?.map((k) => (
                    <tr key={k.id}>
                      <td>{k.name}</td>
                      <td className="mono">{k.prefix}…</td>
                      <td>
                        {k.endpoints === '*'
                          ? t('endpoints.allEndpoints')
                          : k.endpoints
                              .map((id) => endpoints?.find((e) => e.id === id)?.slug ?? id)
                              .join(', ')}
                      </td>
                      <td className="nowrap">{formatTime(k.lastUsedAt, lang)}</td>
                      <td>
                        {k.revokedAt ? (
                          <span className="pill status-failed">{t('endpoints.revoked')}</span>
                        ) : (
                          <span className="pill status-succeeded">{t('endpoints.active')}</span>
                        )}
                      </td>
                      <td className="right">
                        {!k.revokedAt && (
                          <button
                            type="button"
                            className="icon-button danger"
                            aria-label={t('endpoints.revoke')}
                            title={t('endpoints.revoke')}
                            onClick={() => {
                              if (window.confirm(t('endpoints.confirmRevoke', { name: k.name })))
                                void api.revokeKey(k.id).then(load, (err: Error) => setError(err.message));
                            }}
                          >
                            <Trash2 size={14} />
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                  {keys?.length === 0 && (
                    <tr>
                      <td colSpan={6} className="empty-row">
                        {t('endpoints.noKeys')}
                      </td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </>
        )}
      </main>
    </div>
  );
}
