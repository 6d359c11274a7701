/**
 * Auto-layout: a left-to-right layered drawing (dagre) of the flow nodes, using their measured sizes. Sticky notes
 * keep their place unless the new layout puts a node under one: those move into a row above the nodes.
 */
import { Graph, layout } from '@dagrejs/dagre';
import { notesOffNodes } from '@finflow/runtime/document';
import { NOTE_SIZE, noteViewId, type FlowDoc, type Size } from './model.js';

const DEFAULT_W = 240;
const DEFAULT_H = 120;

/** New top-left positions of the flow nodes by id, and of the notes that would cover a node by view id. */
export function layoutPositions(
  doc: FlowDoc,
  measured: ReadonlyMap<string, Size>,
): Map<string, { x: number; y: number }> {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  // A copy each time: dagre writes x and y into the label it is given, which must not be the measured size.
  const size = (id: string): Size => {
    const m = measured.get(id);
    return m ? { width: m.width, height: m.height } : { width: DEFAULT_W, height: DEFAULT_H };
  };
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
  const nodeBoxes = doc.nodes.map((n) => ({ ...(out.get(n.id) ?? n.ui.position), ...size(n.id) }));
  const noteBoxes = doc.notes.map((n) => {
    const m = measured.get(noteViewId(n.id));
    return {
      id: n.id,
      ...n.position,
      width: m?.width ?? n.width ?? NOTE_SIZE.width,
      height: m?.height ?? n.height ?? NOTE_SIZE.height,
    };
  });
  for (const [id, box] of notesOffNodes(noteBoxes, nodeBoxes))
    out.set(noteViewId(id), { x: Math.round(box.x), y: Math.round(box.y) });
  return out;
}
