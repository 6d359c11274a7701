/**
 * Published endpoints with their status, call counts and keys, and the workspace's API keys. Per endpoint: a new
 * key scoped to it; per key: rotation (a new key with the same name and scope, the old one revoked at once) and
 * revocation. A new or rotated key is shown once, with a curl example.
 */
import { KeyRound, Plus, RefreshCw, Trash2 } from 'lucide-react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { RolloutBoardRow } from '@finflow/contract';
import type { ApiKey, ApiKeyCreated, Endpoint } from '../api/types.js';
import { errorText } from '../i18n/errors.js';
import { formatTime, useLang } from '../i18n/index.js';
import { CopyButton, endpointUrl } from '../panels/publish-dialog.js';
import { href } from '../router.js';
import { useSessionStore } from '../state/session-store.js';
import { Dialog } from '../ui/dialog.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

/** Keys that may call an endpoint: scoped to it, or to every endpoint. */
export function keysFor(keys: readonly ApiKey[], endpointId: string): ApiKey[] {
  return keys.filter((k) => k.endpoints === '*' || k.endpoints.includes(endpointId));
}

function NewKeyDialog(props: {
  endpoint: Endpoint;
  onClose: () => void;
  onCreated: (key: ApiKeyCreated) => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState(`${props.endpoint.slug} key`);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await api.createKey({ name: name.trim(), endpoints: [props.endpoint.id] }));
    } catch (err) {
      setError(errorText(t, err));
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      title={t('endpoints.newKeyTitle', { slug: props.endpoint.slug })}
      onClose={props.onClose}
      testId="new-key-dialog"
      footer={
        <>
          <button type="button" className="button ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button
            type="button"
            className="button primary"
            disabled={busy || !name.trim()}
            onClick={() => void create()}
            data-testid="confirm-new-key"
          >
            <KeyRound size={14} aria-hidden /> {t('endpoints.createKey')}
          </button>
        </>
      }
    >
      <label className="field">
        <span className="field-label">{t('endpoints.keyName')}</span>
        <input
          className="input"
          value={name}
          maxLength={200}
          autoFocus
          onChange={(e) => setName(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && name.trim() && void create()}
          data-testid="new-key-name"
        />
        <span className="field-help">{t('endpoints.newKeyHelp', { slug: props.endpoint.slug })}</span>
      </label>
      <ErrorBox>{error}</ErrorBox>
    </Dialog>
  );
}

function RotateDialog(props: {
  apiKey: ApiKey;
  onClose: () => void;
  onRotated: (key: ApiKeyCreated) => void;
}) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const rotate = async () => {
    setBusy(true);
    setError(null);
    try {
      props.onRotated(await api.rotateKey(props.apiKey.id));
    } catch (err) {
      setError(errorText(t, err));
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      title={t('endpoints.rotateTitle', { name: props.apiKey.name })}
      onClose={props.onClose}
      testId="rotate-dialog"
      footer={
        <>
          <button type="button" className="button ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button
            type="button"
            className="button danger"
            disabled={busy}
            onClick={() => void rotate()}
            data-testid="confirm-rotate"
          >
            <RefreshCw size={14} aria-hidden /> {t('endpoints.rotate')}
          </button>
        </>
      }
    >
      <p>{t('endpoints.rotateExplain', { prefix: props.apiKey.prefix })}</p>
      <ErrorBox>{error}</ErrorBox>
    </Dialog>
  );
}

/** A key just created or rotated: shown once, with how to call an endpoint with it. */
function KeyReveal(props: { created: ApiKeyCreated; endpoint: Endpoint | undefined; onClose: () => void }) {
  const { t } = useTranslation();
  const url = props.endpoint ? endpointUrl(props.endpoint) : `${location.origin}/v1/endpoints/<slug>`;
  const curl = `curl -X POST '${url}' \\\n  -H 'Authorization: Bearer ${props.created.key}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{}'`;
  return (
    <Dialog
      open
      wide
      title={t('endpoints.keyCreatedTitle', { name: props.created.name })}
      onClose={props.onClose}
      testId="key-reveal"
      footer={
        <button
          type="button"
          className="button primary"
          onClick={props.onClose}
          data-testid="key-reveal-done"
        >
          {t('common.done')}
        </button>
      }
    >
      <div className="field">
        <span className="field-label">{t('publish.key')}</span>
        <div className="copy-row key">
          <code className="mono" data-testid="revealed-key">
            {props.created.key}
          </code>
          <CopyButton text={props.created.key} label={t('common.copy')} />
        </div>
        <p className="notice-warn">{t('publish.keyOnce')}</p>
      </div>
      <div className="field">
        <span className="field-label">{t('publish.curl')}</span>
        <div className="copy-row">
          <pre className="code-block">{curl}</pre>
          <CopyButton text={curl} label={t('common.copy')} />
        </div>
      </div>
    </Dialog>
  );
}

export function EndpointsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const canManage = role === 'admin' || role === 'developer';
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [flowNames, setFlowNames] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [newKeyFor, setNewKeyFor] = useState<Endpoint | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [revealed, setRevealed] = useState<{ key: ApiKeyCreated; endpoint: Endpoint | undefined } | null>(
    null,
  );
  const [filter, setFilter] = useState<string | null>(null);
  const [board, setBoard] = useState<ReadonlyMap<string, RolloutBoardRow>>(new Map());
  const load = useCallback(() => {
    api.endpoints().then(setEndpoints, (err: unknown) => setError(errorText(t, err)));
    api.rolloutBoard().then(
      (rows) => setBoard(new Map(rows.map((r) => [r.endpointId, r]))),
      () => undefined,
    );
    api.flows().then(
      (flows) => setFlowNames(new Map(flows.map((f) => [f.id, f.name]))),
      () => undefined,
    );
    if (canManage) api.keys().then(setKeys, () => setKeys([]));
  }, [canManage, t]);
  useEffect(load, [load]);

  const byId = useMemo(() => new Map((endpoints ?? []).map((e) => [e.id, e])), [endpoints]);
  const shownKeys = filter && keys ? keysFor(keys, filter) : keys;
  const firstEndpointOf = (k: Pick<ApiKey, 'endpoints'>) =>
    k.endpoints === '*' ? undefined : byId.get(k.endpoints[0] ?? '');

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page" data-testid="endpoints-page">
        <div className="page-head">
          <div>
            <h1>{t('endpoints.title')}</h1>
            <p className="muted">{t('endpoints.subtitle')}</p>
          </div>
          <div className="spacer" />
          <a className="button ghost" href={href({ name: 'board' })} data-testid="board-link">
            {t('board.link')}
          </a>
        </div>
        <ErrorBox>{error}</ErrorBox>
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
                {canManage && <th scope="col">{t('endpoints.keys')}</th>}
                <th scope="col">{t('endpoints.created')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('common.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {endpoints?.map((ep) => {
                const active = keys ? keysFor(keys, ep.id).filter((k) => !k.revokedAt).length : 0;
                return (
                  <tr key={ep.id} data-testid="endpoint-row" data-slug={ep.slug}>
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
                        {t(`endpoints.status_${ep.status}`)}
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
                    <td className="num">{ep.calls.last24h}</td>
                    <td className="num">{ep.calls.total}</td>
                    {canManage && (
                      <td>
                        <button
                          type="button"
                          className={`link${filter === ep.id ? ' active' : ''}`}
                          aria-pressed={filter === ep.id}
                          onClick={() => setFilter(filter === ep.id ? null : ep.id)}
                          data-testid="endpoint-key-count"
                        >
                          {t('endpoints.activeKeys', { count: active })}
                        </button>
                      </td>
                    )}
                    <td className="nowrap">{formatTime(ep.createdAt, lang)}</td>
                    <td className="right nowrap">
                      {canManage && (
                        <>
                          <button
                            type="button"
                            className="button small ghost"
                            onClick={() => setNewKeyFor(ep)}
                            data-testid="new-key"
                          >
                            <Plus size={13} aria-hidden /> {t('endpoints.newKey')}
                          </button>
                          <button
                            type="button"
                            className="button small ghost"
                            onClick={() =>
                              void api
                                .updateEndpoint(ep.id, {
                                  status: ep.status === 'active' ? 'disabled' : 'active',
                                })
                                .then(load, (err: unknown) => setError(errorText(t, err)))
                            }
                          >
                            {ep.status === 'active' ? t('endpoints.disable') : t('endpoints.enable')}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
              {endpoints?.length === 0 && (
                <tr>
                  <td colSpan={9} className="empty-row">
                    {t('endpoints.empty')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {canManage && (
          <>
            <div className="section-head-row">
              <h2 className="section-heading">
                <KeyRound size={16} aria-hidden /> {t('endpoints.keys')}
              </h2>
              {filter && (
                <button
                  type="button"
                  className="chip"
                  onClick={() => setFilter(null)}
                  data-testid="key-filter"
                  aria-label={t('endpoints.clearFilter')}
                >
                  {t('endpoints.keysOf', { slug: byId.get(filter)?.slug ?? filter })} ×
                </button>
              )}
            </div>
            <div className="card">
              <table className="list-table" data-testid="key-list">
                <thead>
                  <tr>
                    <th scope="col">{t('endpoints.keyName')}</th>
                    <th scope="col">{t('endpoints.prefix')}</th>
                    <th scope="col">{t('endpoints.scope')}</th>
                    <th scope="col">{t('endpoints.lastUsed')}</th>
                    <th scope="col">{t('endpoints.status')}</th>
                    <th scope="col">
                      <span className="visually-hidden">{t('common.actions')}</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shownKeys?.map((k) => (
                    <tr key={k.id} data-testid="key-row" data-key-id={k.id} data-revoked={!!k.revokedAt}>
                      <td>{k.name}</td>
                      <td className="mono">{k.prefix}…</td>
                      <td>
                        {k.endpoints === '*'
                          ? t('endpoints.allEndpoints')
                          : k.endpoints.map((id) => byId.get(id)?.slug ?? id).join(', ')}
                      </td>
                      <td className="nowrap">{formatTime(k.lastUsedAt, lang)}</td>
                      <td>
                        {k.revokedAt ? (
                          <span className="pill status-failed">{t('endpoints.revoked')}</span>
                        ) : (
                          <span className="pill status-succeeded">{t('endpoints.active')}</span>
                        )}
                      </td>
                      <td className="right nowrap">
                        {!k.revokedAt && (
                          <>
                            <button
                              type="button"
                              className="button small ghost"
                              onClick={() => setRotating(k)}
                              data-testid="rotate-key"
                            >
                              <RefreshCw size={13} aria-hidden /> {t('endpoints.rotate')}
                            </button>
                            <button
                              type="button"
                              className="icon-button danger"
                              aria-label={t('endpoints.revokeNamed', { name: k.name })}
                              title={t('endpoints.revoke')}
                              onClick={() => {
                                if (window.confirm(t('endpoints.confirmRevoke', { name: k.name })))
                                  void api
                                    .revokeKey(k.id)
                                    .then(load, (err: unknown) => setError(errorText(t, err)));
                              }}
                            >
                              <Trash2 size={14} />
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                  {shownKeys?.length === 0 && (
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
      {newKeyFor && (
        <NewKeyDialog
          endpoint={newKeyFor}
          onClose={() => setNewKeyFor(null)}
          onCreated={(key) => {
            setRevealed({ key, endpoint: newKeyFor });
            setNewKeyFor(null);
            load();
          }}
        />
      )}
      {rotating && (
        <RotateDialog
          apiKey={rotating}
          onClose={() => setRotating(null)}
          onRotated={(key) => {
            setRevealed({ key, endpoint: firstEndpointOf(key) });
            setRotating(null);
            load();
          }}
        />
      )}
      {revealed && (
        <KeyReveal created={revealed.key} endpoint={revealed.endpoint} onClose={() => setRevealed(null)} />
      )}
    </div>
  );
}
