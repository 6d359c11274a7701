/**
 * Quick-add: a search box at the cursor (press "/" or double-click the canvas) that adds the chosen node there.
 * Opened by dropping a connection on empty canvas, it lists only nodes that can take that connection and wires
 * the new node up.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CatalogEntry, PortType } from '../api/types.js';
import { nodePorts } from '../flow/ports.js';
import { nodeTitle, useLang } from '../i18n/index.js';
import { entryFor, useCatalogStore } from '../state/catalog-store.js';
import { nodeById, useEditorStore } from '../state/editor-store.js';
import type { ConnectionAttempt } from '../flow/connect.js';
import { categoryColors, nodeIcon } from '../ui/icons.js';
import { fitsConnection, rankEntries } from './search.js';

function danglingType(c: ConnectionAttempt & { direction: 'out' | 'in' }): PortType | undefined {
  const id = c.direction === 'out' ? c.source : c.target;
  const n = nodeById(useEditorStore.getState(), id);
  if (!n) return undefined;
  const ports = nodePorts(entryFor(n.type), n);
  return c.direction === 'out'
    ? ports.outputs.find((p) => p.name === c.sourceHandle)?.type
    : ports.inputs.find((p) => p.name === c.targetHandle)?.type;
}

export function QuickAdd(props: {
  at: { x: number; y: number };
  connectFrom?: ConnectionAttempt & { direction: 'out' | 'in' };
  onPick: (entry: CatalogEntry) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const all = useCatalogStore((s) => s.catalog?.nodes);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const { connectFrom } = props;
  const fromType = useMemo(() => (connectFrom ? danglingType(connectFrom) : undefined), [connectFrom]);
  const results = useMemo(() => {
    let list = all ?? [];
    if (connectFrom && fromType)
      list = list.filter((e) => fitsConnection(e, fromType, connectFrom.direction));
    return rankEntries(list, query).slice(0, 40);
  }, [all, query, connectFrom, fromType]);
  useEffect(() => input.current?.focus(), []);
  useEffect(() => setActive(0), [query]);
  const pick = (e: CatalogEntry | undefined) => e && props.onPick(e);
  const listId = 'quick-add-list';
  return (
    <>
      <div className="quick-add-backdrop" onMouseDown={props.onClose} />
      <div
        className="quick-add"
        style={{ left: Math.max(8, props.at.x), top: Math.max(8, props.at.y) }}
        role="dialog"
        aria-label={t('quickAdd.title')}
        data-testid="quick-add"
      >
        <input
          ref={input}
          className="input"
          value={query}
          placeholder={t('quickAdd.placeholder')}
          aria-label={t('quickAdd.placeholder')}
          role="combobox"
          aria-expanded
          aria-controls={listId}
          aria-activedescendant={results[active] ? `qa-${results[active].type}` : undefined}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              setActive((a) => Math.min(results.length - 1, a + 1));
            } else if (e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((a) => Math.max(0, a - 1));
            } else if (e.key === 'Enter') {
              e.preventDefault();
              pick(results[active]);
            } else if (e.key === 'Escape') {
              e.preventDefault();
              props.onClose();
            }
            e.stopPropagation();
          }}
        />
        {connectFrom && fromType && (
          <div className="quick-add-hint">{t('quickAdd.compatible', { type: fromType })}</div>
        )}
        <ul className="quick-add-list" id={listId} role="listbox">
          {results.map((e, i) => {
            const Icon = nodeIcon(e.meta.icon, e.meta.category);
            return (
              <li
                key={e.type}
                id={`qa-${e.type}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : ''}
                onMouseEnter={() => setActive(i)}
                onMouseDown={(ev) => {
                  ev.preventDefault();
                  pick(e);
                }}
              >
                <span
                  className="node-icon small"
                  style={{ background: categoryColors[e.meta.category] }}
                  aria-hidden
                >
                  <Icon size={12} />
                </span>
                <span className="qa-title">{nodeTitle(e, e.type, lang)}</span>
                <span className="qa-type">{e.type}</span>
              </li>
            );
          })}
          {results.length === 0 && <li className="muted empty">{t('quickAdd.none')}</li>}
        </ul>
      </div>
    </>
  );
}
