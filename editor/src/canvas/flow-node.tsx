/**
 * The one node component for every catalog entry: a header with the category icon and title, typed handles
 * coloured by port type (name and type on hover), and the node's live run status, problems and version-diff mark.
 * Memoised, and cheap to have hundreds of: problems and diff marks come in its data (derived by the editor store),
 * run status through narrow selectors (a run event re-renders one node), and the UI language from a small store
 * instead of react-i18next's hook, which builds a translation function in every node on every render.
 * Few elements and no clips of its own (bench/README.md "Editor"): the icon is a background image, the header and the
 * ports are grids rather than nested wrappers, a port's type is a hover pseudo-element, and text wraps rather than
 * being cut with `overflow: hidden`.
 */
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { portColors, type NamedPort } from '@finflow/runtime/ports';
import { AlertTriangle, Check, CircleDashed, Loader2, X } from 'lucide-react';
import { memo, type CSSProperties } from 'react';
import type { Problem } from '../api/types.js';
import { problemText } from '../flow/problems.js';
import {
  formatMs,
  nodeTitle,
  portDescription,
  portTitle,
  tr,
  useLangStore,
  type Lang,
} from '../i18n/index.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useRunStore } from '../state/run-store.js';
import { nodePorts } from '../flow/ports.js';
import type { FinflowNode } from '../flow/model.js';
import { categoryColors, nodeIcon } from '../ui/icons.js';
import { iconImage } from './icon-image.js';

/**
 * A port: its handle and its title in one row, placed in the ports grid by `row` (inputs left, outputs right).
 * The type shows on hover from `data-port-type` (a pseudo-element, not a node per port).
 */
function PortRow({
  port,
  side,
  row,
  lang,
}: {
  port: NamedPort;
  side: 'in' | 'out';
  row: number;
  lang: Lang;
}) {
  const color = portColors[port.type];
  const label = portTitle(port, lang);
  const description = portDescription(port, lang);
  const tip = `${label} · ${port.type}${port.required ? '' : ` (${tr('canvas.optionalPort')})`}${description ? `\n${description}` : ''}`;
  return (
    <div
      className={`port-row port-${side}`}
      title={tip}
      data-port-type={port.type}
      style={{ gridRow: row, '--port-color': color } as CSSProperties}
    >
      <Handle
        type={side === 'in' ? 'target' : 'source'}
        position={side === 'in' ? Position.Left : Position.Right}
        id={port.name}
        className={`port-handle${port.type === 'any' ? ' port-any' : ''}`}
        style={{ background: color, borderColor: color }}
        data-port={port.name}
        data-port-type={port.type}
      />
      <span className="port-label">{label}</span>
    </div>
  );
}

function StatusBadge({ id }: { id: string }) {
  const status = useRunStore((s) => s.run?.nodes[id]?.status);
  const ms = useRunStore((s) => s.run?.nodes[id]?.ms);
  useLangStore((s) => s.lang);
  if (!status || status === 'pending') return null;
  const t = tr;
  const icon =
    status === 'running' ? (
      <Loader2 size={12} className="spin" aria-hidden />
    ) : status === 'succeeded' ? (
      <Check size={12} aria-hidden />
    ) : status === 'failed' ? (
      <X size={12} aria-hidden />
    ) : (
      <CircleDashed size={12} aria-hidden />
    );
  return (
    <span className={`node-status status-${status}`} data-testid="node-status" data-status={status}>
      {icon}
      {t(`status.${status}`)}
      {ms !== undefined && status !== 'running' ? <span className="node-ms">{formatMs(ms)}</span> : null}
    </span>
  );
}

function FlowNodeView({ id, data, selected }: NodeProps<FinflowNode>) {
  const node = data.node;
  const entry = useCatalogStore((s) => s.byType.get(node.type));
  const lang = useLangStore((s) => s.lang);
  const { problems, diff } = data;
  const t = tr;
  const status = useRunStore((s) => s.run?.nodes[id]?.status);
  const ports = nodePorts(entry, node);
  const category = entry?.meta.category ?? 'custom';
  const Icon = nodeIcon(entry?.meta.icon, category);
  const title = node.label || nodeTitle(entry, node.type, lang);
  const classes = [
    'flow-node',
    selected ? 'selected' : '',
    problems?.length ? 'has-problem' : '',
    status ? `run-${status}` : '',
    diff ? `diff-${diff}` : '',
    entry ? '' : 'unknown-type',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={classes} data-testid="flow-node" data-node-id={id} data-node-type={node.type}>
      <div className="flow-node-header">
        <span
          className="node-icon"
          style={{ backgroundColor: categoryColors[category], backgroundImage: iconImage(Icon) }}
          aria-hidden
        />
        <div className="node-title" title={title}>
          {title}
        </div>
        <div className="node-subtitle">{node.label ? nodeTitle(entry, node.type, lang) : id}</div>
        {problems?.length ? (
          <span className="node-problem" aria-hidden>
            <AlertTriangle size={13} />
            {problems.length}
          </span>
        ) : null}
      </div>
      {problems?.length ? (
        // What is wrong, in the analyst's language, on the node itself.
        <div className="node-problems" data-testid="node-problems" role="note">
          {problemText(t, problems[0] as Problem, entry, lang)}
          {problems.length > 1 && (
            <span className="node-problems-more">{t('problems.more', { count: problems.length - 1 })}</span>
          )}
        </div>
      ) : null}
      {!entry && <div className="node-warning">{t('canvas.unknownType', { type: node.type })}</div>}
      {(ports.inputs.length > 0 || ports.outputs.length > 0) && (
        <div className="flow-node-ports">
          {ports.inputs.map((p, i) => (
            <PortRow key={`in:${p.name}`} port={p} side="in" row={i + 1} lang={lang} />
          ))}
          {ports.outputs.map((p, i) => (
            <PortRow key={`out:${p.name}`} port={p} side="out" row={i + 1} lang={lang} />
          ))}
        </div>
      )}
      <StatusBadge id={id} />
    </div>
  );
}

/**
 * What the node draws depends on its data and selection only; React Flow also passes its position and size, which
 * change when it measures or moves the node and would re-render all of them.
 */
export const FlowNodeComponent = memo(
  FlowNodeView,
  (a, b) => a.id === b.id && a.data === b.data && a.selected === b.selected,
);
