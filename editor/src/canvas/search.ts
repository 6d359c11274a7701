/** Matching catalog entries against a search box (titles in both languages, type id, description, tags). */
import { canConnect, type PortType } from '@finflow/runtime/ports';
import type { CatalogEntry } from '../api/types.js';

export function matchesSearch(entry: CatalogEntry, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  const hay = [
    entry.type,
    entry.meta.title,
    entry.meta.description,
    entry.meta.zh?.title ?? '',
    entry.meta.zh?.description ?? '',
    ...(entry.meta.tags ?? []),
    entry.meta.category,
  ]
    .join(' ')
    .toLowerCase();
  return q.split(/\s+/).every((word) => hay.includes(word));
}

/** Ranks title matches first, so typing "score" finds the scorecard before nodes that mention scores. */
export function rankEntries(entries: readonly CatalogEntry[], query: string): CatalogEntry[] {
  const q = query.trim().toLowerCase();
  const hits = entries.filter((e) => matchesSearch(e, q));
  if (!q) return hits;
  const rank = (e: CatalogEntry) =>
    e.meta.title.toLowerCase().startsWith(q) || (e.meta.zh?.title ?? '').startsWith(q)
      ? 0
      : e.meta.title.toLowerCase().includes(q) || (e.meta.zh?.title ?? '').includes(q) || e.type.includes(q)
        ? 1
        : 2;
  return hits
    .map((e, i) => ({ e, i, r: rank(e) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.e);
}

/** Whether a node type has a declared port that fits a dangling connection of `type` in `direction`. */
export function fitsConnection(entry: CatalogEntry, type: PortType, direction: 'out' | 'in'): boolean {
  return direction === 'out'
    ? entry.inputs.some((p) => canConnect(type, p.type).ok)
    : entry.outputs.some((p) => canConnect(p.type, type).ok);
}
