/**
 * Auto-layout: a left-to-right layered drawing (dagre) of the flow nodes, using their measured sizes. Sticky notes
 * keep their place; only nodes move.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { FlowDoc, Size } from './model.js';

const DEFAULT_W = 240;
const DEFAULT_H = 120;

/** New top-left positions of the flow nodes, by id (notes are left out). */
export function layoutPositions(
  doc: FlowDoc,
  measured: ReadonlyMap<string, Size>,
): Map<string, { x: number; y: number }> {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const size = (id: string) => measured.get(id) ?? { width: DEFAULT_W, height: DEFAULT_H };
  const ids = new Set(doc.nodes.map((n) => n.id));
  for (const n of doc.nodes) g.setNode(n.id, size(n.id));
  for (const e of doc.edges)
    if (ids.has(e.from.node) && ids.has(e.to.node)) g.setEdge(e.from.node, e.to.node, {}, e.id);
  layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const n of doc.nodes) {
    const p = g.node(n.id);
    const { width, height } = size(n.id);
    out.set(n.id, { x: Math.round(p.x - width / 2), y: Math.round(p.y - height / 2) });
  }
  return out;
}
