/**
 * The one node component for every catalog entry: a header with the category icon and title, typed handles
 * coloured by port type (name and type on hover), and the node's live run status, problems and version-diff mark.
 * Memoised; it reads run status and problems through narrow selectors, so a run event re-renders one node.
 */
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { portColors, type NamedPort } from '@finflow/runtime/ports';
import { AlertTriangle, Check, CircleDashed, Loader2, X } from 'lucide-react';
import { memo } from 'react';
import { useTranslation } from 'react-i18next';
import { formatMs, nodeTitle } from '../i18n/index.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useEditorStore } from '../state/editor-store.js';
import { useRunStore } from '../state/run-store.js';
import { nodePorts } from '../flow/ports.js';
import type { FinflowNode } from '../flow/model.js';
import { categoryColors, nodeIcon } from '../ui/icons.js';

function PortRow({ port, side }: { port: NamedPort; side: 'in' | 'out' }) {
  const color = portColors[port.type];
  const label = port.title ?? port.name;
  const tip = `${label} · ${port.type}${port.required ? '' : ' (optional)'}${port.description ? `\n${port.description}` : ''}`;
  return (
    <div className={`port-row port-${side}`} title={tip}>
      <Handle
        type={side === 'in' ? 'target' : 'source'}
        position={side === 'in' ? Position.Left : Position.Right}
        id={port.name}
        className={`port-handle${port.type === 'any' ? ' port-any' : ''}`}
        style={{ background: color, borderColor: color }}
        aria-label={`${label} (${port.type})`}
        data-port={port.name}
        data-port-type={port.type}
      />
      <span className="port-label">{label}</span>
      <span className="port-type" style={{ color }}>
        {port.type}
      </span>
    </div>
  );
}

function StatusBadge({ id }: { id: string }) {
  const status = useRunStore((s) => s.run?.nodes[id]?.status);
  const ms = useRunStore((s) => s.run?.nodes[id]?.ms);
  const { t } = useTranslation();
  if (!status || status === 'pending') return null;
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
  // One translation hook per node (hundreds of nodes on large flows).
  const { t, i18n } = useTranslation();
  const lang = i18n.language === 'en' ? 'en' : 'zh-CN';
  const problems = useEditorStore((s) => s.problemsByNode[id]);
  const diff = useEditorStore((s) => s.diffMarks?.[id]);
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
        <span className="node-icon" style={{ background: categoryColors[category] }} aria-hidden>
          <Icon size={14} />
        </span>
        <div className="node-titles">
          <div className="node-title" title={title}>
            {title}
          </div>
          <div className="node-subtitle">{node.label ? nodeTitle(entry, node.type, lang) : id}</div>
        </div>
        {problems?.length ? (
          <span
            className="node-problem"
            title={problems.map((p) => p.message).join('\n')}
            aria-label={t('problems.count', { count: problems.length })}
          >
            <AlertTriangle size={13} />
            {problems.length}
          </span>
        ) : null}
      </div>
      {!entry && <div className="node-warning">{t('canvas.unknownType', { type: node.type })}</div>}
      {(ports.inputs.length > 0 || ports.outputs.length > 0) && (
        <div className="flow-node-ports">
          <div className="ports-col ports-in">
            {ports.inputs.map((p) => (
              <PortRow key={p.name} port={p} side="in" />
            ))}
          </div>
          <div className="ports-col ports-out">
            {ports.outputs.map((p) => (
              <PortRow key={p.name} port={p} side="out" />
            ))}
          </div>
        </div>
      )}
      <StatusBadge id={id} />
    </div>
  );
}

export const FlowNodeComponent = memo(FlowNodeView);
