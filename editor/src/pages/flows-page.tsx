/**
 * The flow list (search, owner, last edit, version, published state) and creating a flow: empty, from the template
 * gallery (title, description, regulations and a preview of the graph), or imported from a JSON file.
 */
import { FilePlus2, Search, Send, Trash2, Upload, LayoutTemplate, Plus } from 'lucide-react';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client.js';
import type { CatalogEntry, FlowDocument, FlowSummary, Template } from '../api/types.js';
import { formatTime, localized, useLang } from '../i18n/index.js';
import { href, navigate } from '../router.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useSessionStore } from '../state/session-store.js';
import { Dialog } from '../ui/dialog.js';
import { categoryColors } from '../ui/icons.js';
import { tagLabel } from '../i18n/tags.js';
import { AppHeader } from './app-header.js';
import { PromoteDialog } from './promote-dialog.js';
import { ErrorBox } from '../ui/error-box.js';

/** A small drawing of a flow: nodes as boxes at their saved positions, edges as curves. */
export const GraphPreview = memo(function GraphPreview({
  flow,
  byType,
}: {
  flow: FlowDocument;
  byType: ReadonlyMap<string, CatalogEntry>;
}) {
  const nodes = flow.nodes ?? [];
  if (!nodes.length) return <div className="graph-preview empty" />;
  const W = 200;
  const H = 80;
  const pos = nodes.map((n, i) => n.ui?.position ?? { x: (i % 5) * 280, y: Math.floor(i / 5) * 160 });
  const minX = Math.min(...pos.map((p) => p.x));
  const minY = Math.min(...pos.map((p) => p.y));
  const maxX = Math.max(...pos.map((p) => p.x)) + W;
  const maxY = Math.max(...pos.map((p) => p.y)) + H;
  const at = new Map(nodes.map((n, i) => [n.id, pos[i] as { x: number; y: number }]));
  const pad = 40;
  return (
    <svg
      className="graph-preview"
      viewBox={`${minX - pad} ${minY - pad} ${maxX - minX + 2 * pad} ${maxY - minY + 2 * pad}`}
      preserveAspectRatio="xMidYMid meet"
      aria-hidden
    >
      {(flow.edges ?? []).map((e) => {
        const a = at.get(e.from.node);
        const b = at.get(e.to.node);
        if (!a || !b) return null;
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const dx = Math.max(40, (x2 - x1) / 2);
        return (
          <path
            key={e.id}
            d={`M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`}
            fill="none"
            stroke="#94a3b8"
            strokeWidth={6}
          />
        );
      })}
      {nodes.map((n, i) => {
        const p = pos[i] as { x: number; y: number };
        const cat =
          byType.get(n.type)?.meta.category ?? (n.type.split('.')[0] as keyof typeof categoryColors);
        return (
          <g key={n.id}>
            <rect x={p.x} y={p.y} width={W} height={H} rx={14} fill="#fff" stroke="#cbd5e1" strokeWidth={4} />
            <rect x={p.x} y={p.y} width={22} height={H} rx={10} fill={categoryColors[cat] ?? '#64748b'} />
          </g>
        );
      })}
    </svg>
  );
});

/** A blank flow: an input and an output, described in the language the analyst is using. */
function emptyDocument(name: string, description: string): FlowDocument {
  const id = `flow_${Date.now().toString(36)}`;
  return {
    schemaVersion: 1,
    id,
    name,
    description,
    nodes: [
      {
        id: 'input',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: {} } },
        ui: { position: { x: 0, y: 0 } },
      },
      {
        id: 'output',
        type: 'io.output',
        version: 1,
        config: { name: 'result' },
        ui: { position: { x: 520, y: 0 } },
      },
    ],
    edges: [],
    ui: { notes: [] },
  } as FlowDocument;
}

function NewFlowDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState('');
  const byType = useCatalogStore((s) => s.byType);
  const file = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void useCatalogStore.getState().loadCatalog();
    useCatalogStore
      .getState()
      .loadTemplates()
      .then(setTemplates, (err: Error) => {
        setTemplates([]);
        setError(err.message);
      });
  }, []);

  const created = (r: { flow: { id: string } }) => navigate({ name: 'flow', flowId: r.flow.id });
  const run = async (fn: () => Promise<{ flow: { id: string } }>) => {
    setBusy(true);
    setError(null);
    try {
      created(await fn());
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <Dialog open wide title={t('flows.newTitle')} onClose={onClose} testId="new-flow-dialog">
      <div className="new-flow-top">
        <label className="field grow">
          <span className="field-label">{t('flows.name')}</span>
          <input
            className="input"
            value={name}
            placeholder={t('flows.namePlaceholder')}
            onChange={(e) => setName(e.target.value)}
            data-testid="new-flow-name"
          />
        </label>
        <button
          type="button"
          className="button"
          disabled={busy}
          onClick={() =>
            void run(() =>
              api.createFlow({
                document: emptyDocument(name.trim() || t('flows.untitled'), t('flows.blankDescription')),
                message: t('flows.createdMessage'),
              }),
            )
          }
          data-testid="create-empty"
        >
          <FilePlus2 size={14} /> {t('flows.createEmpty')}
        </button>
        <button type="button" className="button ghost" disabled={busy} onClick={() => file.current?.click()}>
          <Upload size={14} /> {t('flows.import')}
        </button>
        <input
          ref={file}
          type="file"
          accept="application/json,.json"
          hidden
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (!f) return;
            void f.text().then((text) => {
              let doc: unknown;
              try {
                doc = JSON.parse(text);
              } catch {
                setError(t('flows.importInvalid'));
                return;
              }
              void run(() => api.importFlow(doc));
            });
          }}
        />
      </div>
      <ErrorBox>{error}</ErrorBox>
      <h3 className="gallery-title">
        <LayoutTemplate size={15} aria-hidden /> {t('flows.templates')}
      </h3>
      {templates === null && <p className="muted">{t('common.loading')}</p>}
      {templates?.length === 0 && !error && <p className="muted">{t('flows.noTemplates')}</p>}
      <div className="gallery" data-testid="template-gallery">
        {templates?.map((tpl) => (
          <button
            type="button"
            key={tpl.id}
            className="template-card"
            disabled={busy}
            onClick={() =>
              void run(() =>
                // Without a name, the flow takes the template's title in the language the analyst is using.
                api.createFlow({
                  templateId: tpl.id,
                  name: name.trim() || localized(tpl.title, lang),
                  language: lang,
                }),
              )
            }
            data-testid="template-card"
            data-template-id={tpl.id}
          >
            <GraphPreview flow={tpl.flow} byType={byType} />
            <div className="template-body">
              <div className="template-title">{localized(tpl.title, lang)}</div>
              <p className="template-desc">{localized(tpl.description, lang)}</p>
              <div className="template-tags">
                {tpl.regulations.slice(0, 3).map((r) => (
                  <span key={r} className="tag reg">
                    {r}
                  </span>
                ))}
                {tpl.tags.slice(0, 3).map((tag) => (
                  <span key={tag} className="tag" data-testid="template-tag">
                    {tagLabel(tag, lang)}
                  </span>
                ))}
              </div>
              <div className="muted small">
                {t('flows.nodeCount', { count: tpl.flow.nodes?.length ?? 0 })} ·{' '}
                {t('flows.fixtureCount', { count: tpl.fixtures.length })}
              </div>
            </div>
          </button>
        ))}
      </div>
    </Dialog>
  );
}

export function FlowsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const role = useSessionStore((s) => s.session?.user.role);
  const canEdit = role !== 'viewer' && role !== 'approver';
  const canPromote = role === 'admin' || role === 'developer';
  const [promoting, setPromoting] = useState<FlowSummary | null>(null);
  const [search, setSearch] = useState('');
  const [flows, setFlows] = useState<FlowSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    const timer = setTimeout(() => {
      api.flows(search.trim() || undefined).then(
        (f) => {
          if (!stale) {
            setFlows(f);
            setError(null);
          }
        },
        (err: Error) => !stale && setError(err.message),
      );
    }, 200);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [search, reload]);

  const sorted = useMemo(
    () =>
      [...(flows ?? [])].sort((a, b) => new Date(b.updatedAt).getTime() - new Date(a.updatedAt).getTime()),
    [flows],
  );

  return (
    <div className="app-shell">
      <AppHeader />
      <main className="page" data-testid="flows-page">
        <div className="page-head">
          <div>
            <h1>{t('flows.title')}</h1>
            <p className="muted">{t('flows.subtitle')}</p>
          </div>
          <div className="spacer" />
          <div className="search-box">
            <Search size={14} aria-hidden />
            <input
              className="input"
              type="search"
              value={search}
              placeholder={t('flows.search')}
              aria-label={t('flows.search')}
              onChange={(e) => setSearch(e.target.value)}
              data-testid="flow-search"
            />
          </div>
          {canEdit && (
            <button
              type="button"
              className="button primary"
              onClick={() => setCreating(true)}
              data-testid="new-flow"
            >
              <Plus size={14} /> {t('flows.new')}
            </button>
          )}
        </div>
        <ErrorBox>{error}</ErrorBox>
        <div className="card">
          <table className="list-table" data-testid="flow-list">
            <thead>
              <tr>
                <th scope="col">{t('flows.name')}</th>
                <th scope="col">{t('flows.owner')}</th>
                <th scope="col">{t('flows.lastEdit')}</th>
                <th scope="col">{t('flows.version')}</th>
                <th scope="col">{t('flows.state')}</th>
                <th scope="col" aria-label={t('common.actions')} />
              </tr>
            </thead>
            <tbody>
              {sorted.map((f) => (
                <tr key={f.id} data-testid="flow-row">
                  <td>
                    <a className="flow-link" href={href({ name: 'flow', flowId: f.id })}>
                      {f.name}
                    </a>
                    {f.description && <div className="muted small clamp">{f.description}</div>}
                  </td>
                  <td>{f.updatedBy?.name ?? '—'}</td>
                  <td className="nowrap">{formatTime(f.updatedAt, lang)}</td>
                  <td>v{f.latestVersion}</td>
                  <td>
                    {f.published ? (
                      <span className="pill status-succeeded">{t('flows.published')}</span>
                    ) : (
                      <span className="pill">{t('flows.draft')}</span>
                    )}
                  </td>
                  <td className="right nowrap">
                    {canPromote && (
                      <button
                        type="button"
                        className="icon-button"
                        aria-label={t('promote.action', { name: f.name })}
                        title={t('promote.action', { name: f.name })}
                        onClick={() => setPromoting(f)}
                        data-testid="promote-flow"
                      >
                        <Send size={14} />
                      </button>
                    )}
                    {canEdit && (
                      <button
                        type="button"
                        className="icon-button danger"
                        aria-label={t('flows.delete', { name: f.name })}
                        title={t('flows.delete', { name: f.name })}
                        onClick={() => {
                          if (!window.confirm(t('flows.confirmDelete', { name: f.name }))) return;
                          void api.deleteFlow(f.id).then(
                            () => setReload((n) => n + 1),
                            (err: Error) => setError(err.message),
                          );
                        }}
                      >
                        <Trash2 size={14} />
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {flows !== null && sorted.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty-row">
                    {search ? t('flows.noMatch') : t('flows.empty')}
                  </td>
                </tr>
              )}
              {flows === null && !error && (
                <tr>
                  <td colSpan={6} className="empty-row">
                    {t('common.loading')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </main>
      {creating && <NewFlowDialog onClose={() => setCreating(false)} />}
      {promoting && <PromoteDialog flow={promoting} onClose={() => setPromoting(null)} />}
    </div>
  );
}
