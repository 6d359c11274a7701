/**
 * The inspector for the selected node: its description, the config form generated from the catalog's JSON Schema,
 * its ports (title, type, required, connections), its run settings (retry, timeout, on error), and after a run what it received, produced and how long it took.
 */
import { AlertTriangle, Info } from 'lucide-react';
import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useTranslation } from 'react-i18next';
import type { CatalogEntry, FlowEdge, FlowNode, JsonSchema, Problem } from '../api/types.js';
import { nodeDescription, nodeTitle, useLang } from '../i18n/index.js';
import { NodeRunView } from '../run/node-run-view.js';
import { useCatalogStore } from '../state/catalog-store.js';
import {
  inputNode,
  settledSelection,
  useEditorStore,
  useNodeRecord,
  type EditorState,
} from '../state/editor-store.js';
import { useRunStore } from '../state/run-store.js';
import { categoryColors, nodeIcon } from '../ui/icons.js';
import { nodePorts } from '../flow/ports.js';
import { codeTypings } from './code-typings.js';
import { JsonFieldStandalone, SchemaForm, type Hint } from './schema-form.js';
import { validateAgainst } from './schema.js';
import { configIssueText, problemText } from '../flow/problems.js';
import { Segmented } from '../ui/segmented.js';
import { PortList } from './port-list.js';

type Tab = 'config' | 'ports' | 'settings' | 'result';

function ancestors(id: string, edges: readonly FlowEdge[]): string[] {
  const into = new Map<string, string[]>();
  for (const e of edges) (into.get(e.to.node) ?? into.set(e.to.node, []).get(e.to.node))?.push(e.from.node);
  const seen = new Set<string>();
  const stack = [id];
  while (stack.length) {
    const cur = stack.pop() as string;
    for (const s of into.get(cur) ?? [])
      if (!seen.has(s)) {
        seen.add(s);
        stack.push(s);
      }
  }
  return [...seen];
}

function inputFields(s: Pick<EditorState, 'doc'>): string[] {
  const props = (inputNode(s)?.config['schema'] as { properties?: Record<string, unknown> } | undefined)
    ?.properties;
  return props ? Object.keys(props) : [];
}

function useHints(node: Omit<FlowNode, 'ui'>): { prompt: Hint[]; expression: Hint[] } {
  // Narrow selections (names only), so moving nodes around does not re-render the inspector.
  const fields = useEditorStore(useShallow(inputFields));
  const edges = useEditorStore((s) => s.doc.edges);
  const up = useMemo(() => ancestors(node.id, edges), [node.id, edges]);
  return useMemo(() => {
    const vars = Array.isArray(node.config['variables'])
      ? (node.config['variables'] as unknown[]).filter((v): v is string => typeof v === 'string')
      : [];
    const fromInput = fields.map((f) => ({
      label: `input.${f}`,
      insert: `input.${f}`,
      detail: 'flow input',
    }));
    const fromNodes = up.map((id) => ({
      label: `nodes.${id}`,
      insert: `nodes.${id}`,
      detail: 'upstream result',
    }));
    return {
      prompt: [...vars.map((v) => ({ label: v, insert: v, detail: 'variable' })), ...fromInput, ...fromNodes],
      expression: [
        { label: 'input', insert: 'input', detail: 'flow input' },
        ...fromInput,
        ...fromNodes,
        { label: 'value', insert: 'value', detail: 'node input' },
      ],
    };
  }, [fields, up, node.config]);
}

function settingsSchema(entry: CatalogEntry | undefined): JsonSchema {
  const r = entry?.retry;
  return {
    type: 'object',
    properties: {
      label: { type: 'string', title: 'label', maxLength: 200 },
      description: { type: 'string', title: 'description', maxLength: 4000, widget: 'textarea' },
      timeoutMs: {
        type: 'integer',
        title: 'timeoutMs',
        minimum: 1,
        maximum: 86_400_000,
        ...(entry ? { default: entry.timeoutMs } : {}),
      },
      retry: {
        type: 'object',
        title: 'retry',
        properties: {
          maxAttempts: {
            type: 'integer',
            title: 'maxAttempts',
            minimum: 1,
            maximum: 20,
            ...(r ? { default: r.maxAttempts } : {}),
          },
          initialDelayMs: {
            type: 'integer',
            title: 'initialDelayMs',
            minimum: 0,
            maximum: 600_000,
            ...(r ? { default: r.initialDelayMs } : {}),
          },
          backoff: {
            type: 'number',
            title: 'backoff',
            minimum: 1,
            maximum: 10,
            ...(r ? { default: r.backoff } : {}),
          },
          maxDelayMs: {
            type: 'integer',
            title: 'maxDelayMs',
            minimum: 0,
            maximum: 3_600_000,
            ...(r ? { default: r.maxDelayMs } : {}),
          },
          nonRetryable: {
            type: 'array',
            title: 'nonRetryable',
            items: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
          },
        },
      },
    },
  };
}

function translateSchema(schema: JsonSchema, t: (k: string) => string): JsonSchema {
  const props = schema['properties'] as Record<string, JsonSchema> | undefined;
  if (!props) return schema;
  const out: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(props)) {
    out[k] = translateSchema(
      {
        ...v,
        title: t(`settings.${k}`),
        ...(t(`settings.${k}Help`) !== `settings.${k}Help` ? { description: t(`settings.${k}Help`) } : {}),
      },
      t,
    );
  }
  return { ...schema, properties: out };
}

function OnErrorControl({ node, readOnly }: { node: Omit<FlowNode, 'ui'>; readOnly: boolean }) {
  const { t } = useTranslation();
  const replaceNodeField = useEditorStore((s) => s.replaceNodeField);
  const action = node.onError?.action ?? 'fail';
  const fallback = node.onError?.action === 'continue' ? node.onError.fallback : undefined;
  return (
    <div className="field">
      <div className="field-label-row">
        <span className="field-label">{t('settings.onError')}</span>
      </div>
      <Segmented
        label={t('settings.onError')}
        value={action}
        disabled={readOnly}
        onChange={(a) => replaceNodeField(node.id, 'onError', a === 'fail' ? undefined : { action: a })}
        options={(['fail', 'continue', 'route'] as const).map((a) => ({
          value: a,
          label: t(`settings.onError_${a}`),
        }))}
      />
      <p className="field-help">{t(`settings.onErrorHelp_${action}`)}</p>
      {action === 'continue' && (
        <>
          <div className="field-label-row">
            <span className="field-label">{t('settings.fallback')}</span>
          </div>
          <JsonFieldStandalone
            label={t('settings.fallback')}
            value={fallback}
            readOnly={readOnly}
            onChange={(v) =>
              replaceNodeField(
                node.id,
                'onError',
                v && typeof v === 'object'
                  ? { action: 'continue', fallback: v as Record<string, unknown> }
                  : { action: 'continue' },
                'fallback',
              )
            }
          />
        </>
      )}
    </div>
  );
}

/** With nothing selected: the flow's own description (saved in the document, shown in the flow list). */
function FlowDescription({ readOnly }: { readOnly: boolean }) {
  const { t } = useTranslation();
  const description = useEditorStore((s) => s.doc.meta.description ?? '');
  return (
    <div className="flow-description">
      <label className="field-label" htmlFor="flow-description">
        {t('inspector.flowDescription')}
      </label>
      <textarea
        id="flow-description"
        className="input"
        rows={3}
        maxLength={4000}
        value={description}
        readOnly={readOnly}
        data-testid="flow-description"
        onChange={(e) => useEditorStore.getState().updateMeta({ description: e.target.value }, 'description')}
      />
    </div>
  );
}

export function Inspector({ readOnly }: { readOnly?: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  const selectedId = useEditorStore(settledSelection);
  const node = useNodeRecord(selectedId);
  const problems = useEditorStore((s) => (selectedId ? s.problemsByNode[selectedId] : undefined));
  const entry = useCatalogStore((s) => (node ? s.byType.get(node.type) : undefined));
  const credentials = useCatalogStore((s) => s.credentials);
  const hasRun = useRunStore(
    (s) => !!(selectedId && s.run?.nodes[selectedId] && s.run.nodes[selectedId].status !== 'pending'),
  );
  const [tab, setTab] = useState<Tab>('config');
  useEffect(() => {
    if (hasRun) setTab('result');
    else setTab((cur) => (cur === 'result' ? 'config' : cur));
  }, [hasRun, selectedId]);
  const connections = useCatalogStore((s) => s.connections);
  useEffect(() => {
    if (credentials === null) void useCatalogStore.getState().loadCredentials();
  }, [credentials]);
  useEffect(() => {
    if (connections === null) void useCatalogStore.getState().loadConnections();
  }, [connections]);

  if (!selectedId) {
    return (
      <>
        <div className="inspector-empty">
          <Info size={18} aria-hidden />
          <p>{t('inspector.nothingSelected')}</p>
          <p className="muted">{t('inspector.tip')}</p>
        </div>
        <FlowDescription readOnly={!!readOnly} />
      </>
    );
  }
  if (!node)
    return (
      <div className="inspector-empty">
        <p>{t('inspector.noteSelected')}</p>
      </div>
    );
  return (
    <NodeInspector
      key={node.id}
      node={node}
      entry={entry}
      tab={tab}
      setTab={setTab}
      hasRun={hasRun}
      problems={problems ?? []}
      readOnly={!!readOnly}
      lang={lang}
    />
  );
}

function NodeInspector(props: {
  node: Omit<FlowNode, 'ui'>;
  entry: CatalogEntry | undefined;
  tab: Tab;
  setTab: (t: Tab) => void;
  hasRun: boolean;
  problems: Problem[];
  readOnly: boolean;
  lang: 'zh-CN' | 'en';
}) {
  const { t } = useTranslation();
  const { node, entry, tab, setTab, readOnly } = props;
  const updateNode = useEditorStore((s) => s.updateNode);
  const replaceNodeField = useEditorStore((s) => s.replaceNodeField);
  const credentials = useCatalogStore((s) => s.credentials);
  const connections = useCatalogStore((s) => s.connections);
  const hints = useHints(node);
  const errors = useMemo(
    () => (entry ? validateAgainst(entry.configSchema, node.config) : new Map()),
    [entry, node.config],
  );
  const serverErrors = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of props.problems) {
      if (!p.path?.length) continue;
      // Under its field, the field's name is already there: only what is wrong with it.
      const text = p.code === 'INVALID_CONFIG' ? configIssueText(t, p) : problemText(t, p, entry, props.lang);
      m.set(p.path.join('.'), [...(m.get(p.path.join('.')) ?? []), text]);
    }
    return m;
  }, [props.problems, t, entry, props.lang]);
  const general = props.problems.filter((p) => !p.path?.length);
  // A node with a code field (the code node) gets its code checked against declarations of its own ports.
  const code = useMemo(() => {
    const fields = (entry?.configSchema['properties'] ?? {}) as Record<string, { widget?: unknown }>;
    if (!entry || !Object.values(fields).some((f) => f?.widget === 'code')) return undefined;
    const ports = nodePorts(entry, node);
    return {
      language: node.config['language'] === 'typescript' ? ('typescript' as const) : ('javascript' as const),
      typings: codeTypings(ports.inputs, ports.outputs),
    };
  }, [entry, node]);
  const Icon = nodeIcon(entry?.meta.icon, entry?.meta.category);
  const sSchema = useMemo(() => translateSchema(settingsSchema(entry), t), [entry, t]);
  const settingsValue = useMemo(() => {
    const v: Record<string, unknown> = {};
    if (node.label !== undefined) v['label'] = node.label;
    if (node.description !== undefined) v['description'] = node.description;
    if (node.timeoutMs !== undefined) v['timeoutMs'] = node.timeoutMs;
    v['retry'] = node.retry ?? {};
    return v;
  }, [node.label, node.description, node.timeoutMs, node.retry]);

  return (
    <div className="inspector" data-testid="inspector">
      <header className="inspector-head">
        <span
          className="node-icon"
          style={{
            background: entry ? undefined : '#6b7280',
            backgroundColor: entry ? categoryColors[entry.meta.category] : undefined,
          }}
          aria-hidden
        >
          <Icon size={15} />
        </span>
        <div>
          <h2 className="inspector-title">{node.label || nodeTitle(entry, node.type, props.lang)}</h2>
          <div className="inspector-sub mono">
            {node.id} · {node.type} v{node.version}
          </div>
        </div>
      </header>
      {entry && <p className="inspector-desc">{nodeDescription(entry, props.lang)}</p>}
      {entry?.origin && (
        <p className="inspector-origin muted" data-testid="node-origin">
          {t(entry.origin.source === 'builtin' ? 'inspector.package' : 'inspector.pluginPackage', {
            name: entry.origin.package,
            version: entry.origin.version,
          })}
        </p>
      )}
      {code && tab === 'config' && <p className="field-help">{t('inspector.codeTypings')}</p>}
      {general.length > 0 && (
        <ul className="inline-problems">
          {general.map((p, i) => (
            <li key={i}>
              <AlertTriangle size={13} aria-hidden /> {problemText(t, p, entry, props.lang)}
            </li>
          ))}
        </ul>
      )}
      <div className="tabs small" role="tablist">
        {(['config', 'ports', 'settings', ...(props.hasRun ? (['result'] as const) : [])] as Tab[]).map(
          (k) => (
            <button
              key={k}
              role="tab"
              type="button"
              aria-selected={tab === k}
              className={tab === k ? 'active' : ''}
              onClick={() => setTab(k)}
              data-testid={`inspector-tab-${k}`}
            >
              {t(`inspector.${k}`)}
            </button>
          ),
        )}
      </div>
      <div className="inspector-body">
        {tab === 'config' &&
          (entry ? (
            Object.keys((entry.configSchema['properties'] as object | undefined) ?? {}).length ? (
              <SchemaForm
                schema={entry.configSchema}
                value={node.config}
                ctx={{
                  errors,
                  serverErrors,
                  credentials,
                  connections,
                  promptHints: hints.prompt,
                  expressionHints: hints.expression,
                  readOnly,
                  allowExpressions: true,
                  ...(code ? { code } : {}),
                }}
                onChange={(config, path) => updateNode(node.id, { config }, `config.${path}`)}
              />
            ) : (
              <p className="muted">{t('inspector.noConfig')}</p>
            )
          ) : (
            <p className="muted">{t('canvas.unknownType', { type: node.type })}</p>
          ))}
        {tab === 'ports' && <PortList node={node} entry={entry} />}
        {tab === 'settings' && (
          <>
            <SchemaForm
              schema={sSchema}
              value={settingsValue}
              ctx={{ errors: validateAgainst(sSchema, settingsValue), readOnly }}
              onChange={(next, path) => {
                const key = path.split('.')[0] as 'label' | 'description' | 'timeoutMs' | 'retry';
                let v = next[key];
                if (key === 'retry' && v && typeof v === 'object') {
                  const clean = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
                  v = Object.keys(clean).length ? clean : undefined;
                }
                replaceNodeField(node.id, key, v as never, path);
              }}
            />
            <OnErrorControl node={node} readOnly={readOnly} />
          </>
        )}
        {tab === 'result' && <NodeRunView nodeId={node.id} />}
      </div>
    </div>
  );
}
