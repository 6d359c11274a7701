/**
 * The node palette: catalog entries grouped by category, with search. Drag an entry onto the canvas, or press
 * Enter on it to add it at the centre of the view (keyboard users).
 */
import { useReactFlow } from '@xyflow/react';
import { ChevronDown, ChevronRight, Search } from 'lucide-react';
import { memo, useMemo, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { nodeCategories, type CatalogEntry, type NodeCategory } from '../api/types.js';
import { nodeDescription, nodeTitle, useLang } from '../i18n/index.js';
import { useCatalogStore } from '../state/catalog-store.js';
import { useEditorStore } from '../state/editor-store.js';
import { categoryColors, nodeIcon } from '../ui/icons.js';
import { PALETTE_MIME } from './canvas.js';
import { rankEntries } from './search.js';

const PaletteItem = memo(function PaletteItem({
  entry,
  onAdd,
}: {
  entry: CatalogEntry;
  onAdd: (e: CatalogEntry) => void;
}) {
  const lang = useLang();
  const Icon = nodeIcon(entry.meta.icon, entry.meta.category);
  const onDragStart = (e: DragEvent) => {
    e.dataTransfer.setData(PALETTE_MIME, entry.type);
    e.dataTransfer.setData('text/plain', entry.type);
    e.dataTransfer.effectAllowed = 'copy';
  };
  const title = nodeTitle(entry, entry.type, lang);
  return (
    <li>
      <button
        type="button"
        className="palette-item"
        draggable
        onDragStart={onDragStart}
        onClick={() => onAdd(entry)}
        title={`${title}\n${nodeDescription(entry, lang)}`}
        data-testid="palette-item"
        data-node-type={entry.type}
      >
        <span
          className="node-icon small"
          style={{ background: categoryColors[entry.meta.category] }}
          aria-hidden
        >
          <Icon size={12} />
        </span>
        <span className="palette-text">
          <span className="palette-title">{title}</span>
          <span className="palette-desc">{nodeDescription(entry, lang)}</span>
        </span>
        {entry.meta.badge && <span className="badge">{entry.meta.badge}</span>}
      </button>
    </li>
  );
});

export function Palette({ readOnly }: { readOnly?: boolean }) {
  const { t } = useTranslation();
  const entries = useCatalogStore((s) => s.catalog?.nodes);
  const [query, setQuery] = useState('');
  const [closed, setClosed] = useState<ReadonlySet<NodeCategory>>(new Set());
  const rf = useReactFlow();
  const groups = useMemo(() => {
    const hits = rankEntries(entries ?? [], query);
    const by = new Map<NodeCategory, CatalogEntry[]>();
    for (const e of hits) {
      const cat = nodeCategories.includes(e.meta.category) ? e.meta.category : 'custom';
      const list = by.get(cat);
      if (list) list.push(e);
      else by.set(cat, [e]);
    }
    return nodeCategories.filter((c) => by.has(c)).map((c) => ({ category: c, entries: by.get(c) ?? [] }));
  }, [entries, query]);
  const onAdd = (entry: CatalogEntry) => {
    if (readOnly) return;
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const p = pane
      ? rf.screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 })
      : { x: 0, y: 0 };
    // Stagger repeated clicks so new nodes do not stack exactly.
    const n = useEditorStore.getState().doc.nodes.length % 5;
    useEditorStore.getState().addNode(entry, { x: p.x - 110 + n * 24, y: p.y - 40 + n * 24 });
  };
  return (
    <aside className="palette" aria-label={t('palette.title')} data-testid="palette">
      <div className="palette-search">
        <Search size={14} aria-hidden />
        <input
          className="input"
          type="search"
          placeholder={t('palette.search')}
          aria-label={t('palette.search')}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="palette-search"
        />
      </div>
      <div className="palette-groups">
        {groups.map(({ category, entries: list }) => {
          const open = query.trim() !== '' || !closed.has(category);
          return (
            <section key={category} className="palette-group">
              <button
                type="button"
                className="palette-group-header"
                aria-expanded={open}
                onClick={() =>
                  setClosed((s) => {
                    const next = new Set(s);
                    if (next.has(category)) next.delete(category);
                    else next.add(category);
                    return next;
                  })
                }
              >
                {open ? <ChevronDown size={14} /> : <ChevronRight size={14} />}
                <span className="cat-dot" style={{ background: categoryColors[category] }} aria-hidden />
                {t(`category.${category}`)}
                <span className="count">{list.length}</span>
              </button>
              {open && (
                <ul className="palette-list">
                  {list.map((e) => (
                    <PaletteItem key={e.type} entry={e} onAdd={onAdd} />
                  ))}
                </ul>
              )}
            </section>
          );
        })}
        {entries && groups.length === 0 && <p className="muted pad">{t('palette.none')}</p>}
        {!entries && <p className="muted pad">{t('common.loading')}</p>}
      </div>
      <p className="palette-hint">{t('palette.hint')}</p>
    </aside>
  );
}
