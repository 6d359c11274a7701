/**
 * Auto-layout: a left-to-right layered drawing (dagre) of the flow nodes, using their measured sizes. Sticky notes
 * keep their place; only nodes move.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { EditorEdge, EditorNode } from './model.js';

const DEFAULT_W = 240;
const DEFAULT_H = 120;

/** New top-left positions for the flow nodes (notes are left out). */
export function layoutPositions(
  nodes: readonly EditorNode[],
  edges: readonly EditorEdge[],
): Map<string, { x: number; y: number }> {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const flowNodes = nodes.filter((n) => n.type === 'finflow');
  const ids = new Set(flowNodes.map((n) => n.id));
  for (const n of flowNodes) {
    g.setNode(n.id, { width: n.measured?.width ?? DEFAULT_W, height: n.measured?.height ?? DEFAULT_H });
  }
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target, {}, e.id);
  layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const n of flowNodes) {
    const p = g.node(n.id);
    const w = n.measured?.width ?? DEFAULT_W;
    const h = n.measured?.height ?? DEFAULT_H;
    out.set(n.id, { x: Math.round(p.x - w / 2), y: Math.round(p.y - h / 2) });
  }
  return out;
}
