/**
 * The workspace's connections: where model, embeddings and transcription calls may go, with the key each sends,
 * the models it allows, where it runs and the data it may receive. Every role sees the list (flow authors choose
 * a connection by name); developers and admins add, change and delete them.
 */
import { Cable, Pencil, Plus, Trash2 } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { defaultDataClasses } from '@finflow/runtime/connection-spec';
import { api } from '../api/client.js';
import {
  dataClasses,
  type Connection,
  type ConnectionSpec,
  type Credential,
  type DataClass,
} from '../api/types.js';
import { formatTime, useLang } from '../i18n/index.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useSessionStore } from '../state/session-store.js';
import { Segmented } from '../ui/segmented.js';
import { AppHeader } from './app-header.js';
import { ErrorBox } from '../ui/error-box.js';

/** What a new connection may receive unless its writer says otherwise: the server's own default. */
const defaultClasses = defaultDataClasses;

interface Draft {
  name: string;
  kind: Connection['kind'];
  baseUrl: string;
  credential: string;
  models: string;
  deployment: Connection['deployment'];
  dataClasses: DataClass[];
  currency: string;
  inputPrice: string;
  outputPrice: string;
  description: string;
}

const emptyDraft = (): Draft => ({
  name: '',
  kind: 'openai',
  baseUrl: '',
  credential: '',
  models: '',
  deployment: 'private',
  dataClasses: defaultClasses('private'),
  currency: '',
  inputPrice: '',
  outputPrice: '',
  description: '',
});

const draftOf = (c: Connection): Draft => ({
  name: c.name,
  kind: c.kind,
  baseUrl: c.baseUrl,
  credential: c.credential ?? '',
  models: c.models.join(', '),
  deployment: c.deployment,
  dataClasses: [...c.dataClasses],
  currency: c.pricing?.currency ?? '',
  inputPrice: c.pricing ? String(c.pricing.inputPer1kTokens) : '',
  outputPrice: c.pricing ? String(c.pricing.outputPer1kTokens) : '',
  description: c.description,
});

function specOf(d: Draft): ConnectionSpec {
  return {
    kind: d.kind,
    baseUrl: d.baseUrl.trim(),
    credential: d.credential || null,
    models: d.models
      .split(/[,\s]+/)
      .map((m) => m.trim())
      .filter(Boolean),
    deployment: d.deployment,
    dataClasses: d.dataClasses,
    pricing: d.currency.trim()
      ? {
          currency: d.currency.trim().toUpperCase(),
          inputPer1kTokens: Number(d.inputPrice || 0),
          outputPer1kTokens: Number(d.outputPrice || 0),
        }
      : null,
    description: d.description,
  };
}

function ConnectionForm(props: {
  initial: Draft;
  editing: boolean;
  credentials: Credential[];
  onSaved(): void;
  onCancel(): void;
}) {
  const { t } = useTranslation();
  const [d, setD] = useState<Draft>(props.initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((cur) => ({ ...cur, [key]: value }));
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.putConnection(d.name, specOf(d));
      props.onSaved();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="card connection-form"
      data-testid="connection-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h2>{props.editing ? t('connections.edit', { name: d.name }) : t('connections.new')}</h2>
      <div className="connection-grid">
        <label className="field">
          <span className="field-label">{t('connections.name')}</span>
          <input
            className="input mono"
            value={d.name}
            disabled={props.editing}
            required
            pattern="[A-Za-z][A-Za-z0-9_.\-]{0,63}"
            onChange={(e) => set('name', e.target.value)}
            data-testid="connection-name"
          />
        </label>
        <label className="field">
          <span className="field-label">{t('connections.kind')}</span>
          <select
            className="input"
            value={d.kind}
            onChange={(e) => set('kind', e.target.value as Draft['kind'])}
            data-testid="connection-kind"
          >
            <option value="openai">{t('connections.kind_openai')}</option>
            <option value="ollama">{t('connections.kind_ollama')}</option>
            <option value="finflow">{t('connections.kind_finflow')}</option>
          </select>
        </label>
        <label className="field wide">
          <span className="field-label">{t('connections.baseUrl')}</span>
          <input
            className="input mono"
            value={d.baseUrl}
            required
            placeholder="https://llm.bank.internal/v1"
            onChange={(e) => set('baseUrl', e.target.value)}
            data-testid="connection-url"
          />
          <span className="field-help">{t('connections.baseUrlHelp')}</span>
        </label>
        <label className="field">
          <span className="field-label">{t('connections.credential')}</span>
          <select
            className="input"
            value={d.credential}
            onChange={(e) => set('credential', e.target.value)}
            data-testid="connection-credential"
          >
            <option value="">{t('connections.noCredential')}</option>
            {props.credentials.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">{t('connections.models')}</span>
          <input
            className="input mono"
            value={d.models}
            placeholder="qwen2.5-72b, gpt-4o-mini"
            onChange={(e) => set('models', e.target.value)}
          />
          <span className="field-help">{t('connections.modelsHelp')}</span>
        </label>
        <div className="field">
          <span className="field-label">{t('connections.deployment')}</span>
          <Segmented<Connection['deployment']>
            label={t('connections.deployment')}
            value={d.deployment}
            options={[
              { value: 'private', label: t('connections.deployment_private') },
              { value: 'cloud', label: t('connections.deployment_cloud') },
            ]}
            onChange={(v) =>
              setD((cur) => ({
                ...cur,
                deployment: v,
                // Follow the default while the writer has not chosen classes of their own.
                dataClasses:
                  cur.dataClasses.join() === defaultClasses(cur.deployment).join()
                    ? defaultClasses(v)
                    : cur.dataClasses,
              }))
            }
          />
        </div>
        <fieldset className="field fieldset wide">
          <legend>{t('connections.dataClasses')}</legend>
          <div className="checks">
            {dataClasses.map((c) => (
              <label key={c} className="check">
                <input
                  type="checkbox"
                  checked={d.dataClasses.includes(c)}
                  onChange={(e) =>
                    set(
                      'dataClasses',
                      dataClasses.filter((x) => (x === c ? e.target.checked : d.dataClasses.includes(x))),
                    )
                  }
                  data-testid={`connection-class-${c}`}
                />
                {t(`connections.class_${c}`)}
              </label>
            ))}
          </div>
          <span className="field-help">{t('connections.dataClassesHelp')}</span>
        </fieldset>
        <div className="field wide">
          <span className="field-label">{t('connections.pricing')}</span>
          <div className="price-row">
            <input
              className="input mono"
              aria-label={t('connections.currency')}
              placeholder="CNY"
              value={d.currency}
              maxLength={3}
              onChange={(e) => set('currency', e.target.value)}
            />
            <input
              className="input"
              type="number"
              min={0}
              step="any"
              aria-label={t('connections.inputPrice')}
              placeholder={t('connections.inputPrice')}
              value={d.inputPrice}
              onChange={(e) => set('inputPrice', e.target.value)}
            />
            <input
              className="input"
              type="number"
              min={0}
              step="any"
              aria-label={t('connections.outputPrice')}
              placeholder={t('connections.outputPrice')}
              value={d.outputPrice}
              onChange={(e) => set('outputPrice', e.target.value)}
            />
          </div>
          <span className="field-help">{t('connections.pricingHelp')}</span>
        </div>
        <label className="field wide">
          <span className="field-label">{t('connections.description')}</span>
          <input
            className="input"
            value={d.description}
            maxLength={2000}
            onChange={(e) => set('description', e.target.value)}
          />
        </label>
      </div>
      <ErrorBox>{error}</ErrorBox>
      <div className="form-actions">
        <button type="button" className="button ghost" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="button primary" disabled={busy} data-testid="connection-save">
          {t('connections.save')}
        </button>
      </div>
    </form>
  );
}

export function ConnectionsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const canManage = role === 'admin' || role === 'developer';
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [form, setForm] = useState<{ draft: Draft; editing: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.connections().then(setConnections, (err: Error) => setError(err.message));
    if (canManage) api.credentials().then(setCredentials, () => setCredentials([]));
    // The inspector's connection lists follow.
    void useCatalogStore.getState().loadConnections();
  }, [canManage]);
  useEffect(load, [load]);

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page" data-testid="connections-page">
        <div className="page-head">
          <div>
            <h1>{t('connections.title')}</h1>
            <p className="muted">{t(canManage ? 'connections.subtitle' : 'connections.subtitleReadOnly')}</p>
          </div>
          <div className="spacer" />
          {canManage && !form && (
            <button
              type="button"
              className="button primary"
              onClick={() => setForm({ draft: emptyDraft(), editing: false })}
              data-testid="new-connection"
            >
              <Plus size={14} aria-hidden /> {t('connections.new')}
            </button>
          )}
        </div>
        <ErrorBox>{error}</ErrorBox>
        {form && (
          <ConnectionForm
            key={form.draft.name || 'new'}
            initial={form.draft}
            editing={form.editing}
            credentials={credentials}
            onCancel={() => setForm(null)}
            onSaved={() => {
              setForm(null);
              load();
            }}
          />
        )}
        <div className="card">
          <table className="list-table" data-testid="connection-list">
            <thead>
              <tr>
                <th scope="col">{t('connections.name')}</th>
                <th scope="col">{t('connections.baseUrl')}</th>
                <th scope="col">{t('connections.credential')}</th>
                <th scope="col">{t('connections.models')}</th>
                <th scope="col">{t('connections.deployment')}</th>
                <th scope="col">{t('connections.dataClasses')}</th>
                <th scope="col">{t('connections.updated')}</th>
                <th scope="col" aria-label={t('common.actions')} />
              </tr>
            </thead>
            <tbody>
              {connections?.map((c) => (
                <tr key={c.name}>
                  <td>
                    <div className="mono">{c.name}</div>
                    <div className="muted small">{t(`connections.kind_${c.kind}`)}</div>
                  </td>
                  <td className="mono small break">{c.baseUrl}</td>
                  <td className="mono small">{c.credential ?? '—'}</td>
                  <td className="small">
                    {c.models.length ? c.models.join(', ') : t('connections.anyModel')}
                  </td>
                  <td>
                    <span
                      className={`pill ${c.deployment === 'private' ? 'status-succeeded' : 'status-running'}`}
                    >
                      {t(`connections.deployment_${c.deployment}`)}
                    </span>
                  </td>
                  <td className="small">
                    {c.dataClasses.map((d) => t(`connections.class_${d}`)).join(t('common.listSeparator'))}
                  </td>
                  <td className="nowrap small">{formatTime(c.updatedAt ?? null, lang)}</td>
                  <td className="right nowrap">
                    {canManage && (
                      <>
                        <button
                          type="button"
                          className="icon-button"
                          aria-label={t('connections.editAction', { name: c.name })}
                          title={t('connections.editAction', { name: c.name })}
                          onClick={() => setForm({ draft: draftOf(c), editing: true })}
                        >
                          <Pencil size={14} />
                        </button>
                        <button
                          type="button"
                          className="icon-button danger"
                          aria-label={t('connections.delete', { name: c.name })}
                          title={t('connections.delete', { name: c.name })}
                          onClick={() => {
                            if (window.confirm(t('connections.confirmDelete', { name: c.name })))
                              void api
                                .deleteConnection(c.name)
                                .then(load, (err: Error) => setError(err.message));
                          }}
                        >
                          <Trash2 size={14} />
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
              {connections?.length === 0 && (
                <tr>
                  <td colSpan={8} className="empty-row">
                    <Cable size={16} aria-hidden /> {t('connections.empty')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </main>
    </div>
  );
}
