/**
 * The selected node's ports in the inspector: each input and output with its title in the UI language, its type,
 * whether it is required, and what it is connected to (the peer node and port, titled the same way). The ports
 * are the canvas's (`nodePorts`), so ports derived from config (an input node's fields) are listed too.
 */
import { memo, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import type { CatalogEntry, FlowEdge, FlowNode, NamedPort } from '../api/types.js';
import { nodePorts } from '../flow/ports.js';
import { nodeTitle, portDescription, portTitle, useLang, type Lang } from '../i18n/index.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useEditorStore, type EditorState } from '../state/editor-store.js';

interface Peer {
  node: string;
  port: string;
}

/** The edges touching one node (a narrow selection: moving other nodes does not re-render the list). */
function edgesOf(id: string) {
  return (s: Pick<EditorState, 'doc'>): FlowEdge[] =>
    s.doc.edges.filter((e) => e.from.node === id || e.to.node === id);
}

function peerText(
  peer: Peer,
  side: 'inputs' | 'outputs',
  nodes: ReadonlyMap<string, Pick<FlowNode, 'id' | 'type' | 'label' | 'config' | 'onError'>>,
  byType: ReadonlyMap<string, CatalogEntry>,
  lang: Lang,
): string {
  const node = nodes.get(peer.node);
  if (!node) return `${peer.node}.${peer.port}`;
  const entry = byType.get(node.type);
  const port = nodePorts(entry, node)[side].find((p) => p.name === peer.port);
  const title = node.label || nodeTitle(entry, node.type, lang);
  return `${title} · ${port ? portTitle(port, lang) : peer.port}`;
}

export const PortList = memo(function PortList({
  node,
  entry,
}: {
  node: Pick<FlowNode, 'id' | 'config' | 'onError'>;
  entry: CatalogEntry | undefined;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const byType = useCatalogStore((s) => s.byType);
  const edges = useEditorStore(useShallow(edgesOf(node.id)));
  const peerIds = useMemo(
    () => [...new Set(edges.map((e) => (e.from.node === node.id ? e.to.node : e.from.node)))],
    [edges, node.id],
  );
  // The peer records themselves (stable until that node changes), so the selection is cheap to compare.
  const peerNodes = useEditorStore(useShallow((s) => s.doc.nodes.filter((n) => peerIds.includes(n.id))));
  const peers = useMemo(() => new Map(peerNodes.map((p) => [p.id, p])), [peerNodes]);
  const ports = nodePorts(entry, node);

  const section = (side: 'inputs' | 'outputs', list: readonly NamedPort[]) => (
    <section className="ip-section" data-testid={`ports-${side}`}>
      <h3 className="ip-section-title">{t(`ports.${side}`)}</h3>
      {list.length === 0 ? (
        <p className="muted small">{t(`ports.no_${side}`)}</p>
      ) : (
        <ul className="ip-list">
          {list.map((port) => {
            const links = edges
              .filter((e) =>
                side === 'inputs'
                  ? e.to.node === node.id && e.to.port === port.name
                  : e.from.node === node.id && e.from.port === port.name,
              )
              .map((e) =>
                side === 'inputs'
                  ? peerText(e.from, 'outputs', peers, byType, lang)
                  : peerText(e.to, 'inputs', peers, byType, lang),
              );
            const title = portTitle(port, lang);
            const help = portDescription(port, lang);
            return (
              <li key={port.name} className="ip-row" data-testid={`port-${side}-${port.name}`}>
                <div className="ip-head">
                  <span className="ip-title" data-testid="ip-title">
                    {title}
                  </span>
                  {title !== port.name && <span className="mono muted small">{port.name}</span>}
                  <span className="ip-type mono small">{port.type}</span>
                  <span className={`ip-req small ${port.required ? 'required' : 'muted'}`}>
                    {port.required ? t(`ports.required_${side}`) : t(`ports.optional_${side}`)}
                  </span>
                </div>
                {help && <div className="muted small">{help}</div>}
                <div className="small ip-links" data-testid="ip-links">
                  {links.length
                    ? `${t(side === 'inputs' ? 'ports.from' : 'ports.to')} ${links.join(lang === 'zh-CN' ? '；' : '; ')}`
                    : t('ports.unconnected')}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );

  return (
    <div className="ip-sections" data-testid="inspector-ports">
      {section('inputs', ports.inputs)}
      {section('outputs', ports.outputs)}
    </div>
  );
});
