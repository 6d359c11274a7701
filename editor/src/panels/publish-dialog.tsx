/**
 * Publishing a flow as an authenticated HTTP endpoint: choose the version and slug, create (or repoint) the
 * endpoint, create an API key scoped to it (shown once), then see the URL, a curl example and the OpenAPI document.
 */
import { Check, Copy, ExternalLink, FileJson, KeyRound } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { Endpoint, VersionInfo } from '../api/types.js';
import { inputNode, useEditorStore } from '../state/editor-store.js';
import { JsonTree } from '../views/pictures.js';
import { Dialog } from '../ui/dialog.js';
import { ErrorBox } from '../ui/error-box.js';

/** A URL slug from the flow name; names without enough Latin letters (Chinese names) use the flow id. */
export function slugify(name: string, flowId: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  if (s.replace(/-/g, '').length >= 3) return s;
  return `flow-${flowId
    .replace(/[^a-z0-9]/gi, '')
    .slice(-8)
    .toLowerCase()}`;
}

export function endpointUrl(ep: Pick<Endpoint, 'url' | 'slug'>): string {
  if (ep.url && /^https?:\/\//.test(ep.url)) return ep.url;
  return `${location.origin}${ep.url ?? `/v1/endpoints/${ep.slug}`}`;
}

/** The input node's example, used in the curl example when no run gave a real input. */
function exampleInput(): unknown {
  return inputNode(useEditorStore.getState())?.config['example'];
}

/**
 * The endpoint's OpenAPI document. The server serves it to API keys only, so it is fetched with the key just
 * created; without one, the curl command to fetch it is shown.
 */
function OpenApiView({ url, apiKey }: { url: string; apiKey: string | undefined }) {
  const { t } = useTranslation();
  const [doc, setDoc] = useState<unknown>(null);
  const [error, setError] = useState<string | null>(null);
  const fetchCurl = `curl -H 'Authorization: Bearer ${apiKey ?? '<API key>'}' '${url}'`;
  const load = async () => {
    setError(null);
    try {
      const res = await fetch(url, {
        headers: { Authorization: `Bearer ${apiKey ?? ''}`, Accept: 'application/json' },
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setDoc(await res.json());
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div className="field">
      <div className="field-label-row">
        <span className="field-label">{t('publish.openapi')}</span>
        {apiKey && doc === null && (
          <button
            type="button"
            className="button small"
            onClick={() => void load()}
            data-testid="openapi-load"
          >
            <ExternalLink size={12} /> {t('publish.showOpenapi')}
          </button>
        )}
      </div>
      <div className="copy-row">
        <code className="mono">{fetchCurl}</code>
        <CopyButton text={fetchCurl} label={t('common.copy')} />
      </div>
      <ErrorBox>{error}</ErrorBox>
      {doc !== null && (
        <div data-testid="openapi-doc">
          <JsonTree value={doc} />
        </div>
      )}
    </div>
  );
}

export function CopyButton({ text, label, icon }: { text: string; label: string; icon?: 'doc' }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="icon-button"
      aria-label={label}
      title={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        });
      }}
    >
      {done ? <Check size={14} /> : icon === 'doc' ? <FileJson size={14} /> : <Copy size={14} />}
    </button>
  );
}

export function PublishDialog(props: {
  flowId: string;
  flowName: string;
  sampleInput: unknown;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const [versions, setVersions] = useState<VersionInfo[]>([]);
  const [existing, setExisting] = useState<Endpoint | null>(null);
  const [version, setVersion] = useState<number | null>(null);
  const [slug, setSlug] = useState(slugify(props.flowName, props.flowId));
  const [withKey, setWithKey] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<{ endpoint: Endpoint; key?: string } | null>(null);
  const dirty = useEditorStore((s) => s.dirty);

  useEffect(() => {
    void api.versions(props.flowId).then((v) => {
      const sorted = [...v].sort((a, b) => b.number - a.number);
      setVersions(sorted);
      setVersion((cur) => cur ?? sorted[0]?.number ?? null);
    });
    void api.endpoints().then(
      (eps) => {
        const mine = eps.find((e) => e.flowId === props.flowId);
        if (mine) {
          setExisting(mine);
          setSlug(mine.slug);
        }
      },
      () => undefined,
    );
  }, [props.flowId]);

  const publish = async () => {
    if (version === null) return;
    setBusy(true);
    setError(null);
    try {
      const endpoint = existing
        ? await api.updateEndpoint(existing.id, { version, status: 'active' })
        : await api.createEndpoint({ flowId: props.flowId, version, slug });
      let key: string | undefined;
      if (withKey) key = (await api.createKey({ name: `${slug} key`, endpoints: [endpoint.id] })).key;
      setResult(key ? { endpoint, key } : { endpoint });
      useEditorStore.getState().notify('success', t('publish.done', { slug: endpoint.slug }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const url = result ? endpointUrl(result.endpoint) : '';
  const body = JSON.stringify(props.sampleInput ?? exampleInput() ?? {});
  const curl = result
    ? `curl -X POST '${url}' \\\n  -H 'Authorization: Bearer ${result.key ?? '<API key>'}' \\\n  -H 'Content-Type: application/json' \\\n  -d '${body.replace(/'/g, "'\\''")}'`
    : '';
  const openapi = result ? `${location.origin}/v1/endpoints/${result.endpoint.slug}/openapi.json` : '';

  return (
    <Dialog
      open
      title={t('publish.title')}
      onClose={props.onClose}
      wide
      testId="publish-dialog"
      footer={
        result ? (
          <button type="button" className="button primary" onClick={props.onClose}>
            {t('common.done')}
          </button>
        ) : (
          <>
            <button type="button" className="button ghost" onClick={props.onClose}>
              {t('common.cancel')}
            </button>
            <button
              type="button"
              className="button primary"
              disabled={busy || version === null || !/^[a-z0-9][a-z0-9-]*$/.test(slug)}
              onClick={() => void publish()}
              data-testid="confirm-publish"
            >
              {existing ? t('publish.update') : t('publish.publish')}
            </button>
          </>
        )
      }
    >
      {!result ? (
        <div className="form-grid">
          {dirty && <p className="notice-warn">{t('publish.unsaved')}</p>}
          <label className="field">
            <span className="field-label">{t('publish.version')}</span>
            <select
              className="input"
              value={version ?? ''}
              onChange={(e) => setVersion(Number(e.target.value))}
              data-testid="publish-version"
            >
              {versions.map((v) => (
                <option key={v.number} value={v.number}>
                  v{v.number} — {v.message || t('versions.noMessage')}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">{t('publish.slug')}</span>
            <div className="input-prefix">
              <span className="mono muted">/v1/endpoints/</span>
              <input
                className="input mono"
                value={slug}
                disabled={!!existing}
                onChange={(e) => setSlug(e.target.value.toLowerCase())}
                pattern="[a-z0-9][a-z0-9-]*"
                aria-describedby="slug-help"
                data-testid="publish-slug"
              />
            </div>
            <span className="field-help" id="slug-help">
              {existing ? t('publish.existing', { version: existing.flowVersion }) : t('publish.slugHelp')}
            </span>
          </label>
          <label className="check">
            <input type="checkbox" checked={withKey} onChange={(e) => setWithKey(e.target.checked)} />{' '}
            <KeyRound size={14} aria-hidden /> {t('publish.createKey')}
          </label>
          <ErrorBox>{error}</ErrorBox>
        </div>
      ) : (
        <div className="publish-result" data-testid="publish-result">
          <div className="field">
            <span className="field-label">{t('publish.url')}</span>
            <div className="copy-row">
              <code className="mono" data-testid="endpoint-url">
                {url}
              </code>
              <CopyButton text={url} label={t('common.copy')} />
            </div>
          </div>
          {result.key && (
            <div className="field">
              <span className="field-label">{t('publish.key')}</span>
              <div className="copy-row key">
                <code className="mono" data-testid="api-key">
                  {result.key}
                </code>
                <CopyButton text={result.key} label={t('common.copy')} />
              </div>
              <p className="notice-warn">{t('publish.keyOnce')}</p>
            </div>
          )}
          <div className="field">
            <span className="field-label">{t('publish.curl')}</span>
            <div className="copy-row">
              <pre className="code-block" data-testid="curl-example">
                {curl}
              </pre>
              <CopyButton text={curl} label={t('common.copy')} />
            </div>
          </div>
          <OpenApiView url={openapi} apiKey={result.key} />
        </div>
      )}
    </Dialog>
  );
}
