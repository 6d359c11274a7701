/**
 * Fitting the canvas to the flow without making it unreadable: a wide flow fitted whole is drawn so small that
 * node titles cannot be read (and below 0.55 the nodes drop their port labels). When the whole flow fits at a
 * legible zoom it is fitted; otherwise the canvas opens at that zoom on the flow's start (its left edge, centred on
 * the input node), and the minimap and the pan show the rest.
 */
import type { Edge, Node, ReactFlowInstance, Viewport } from '@xyflow/react';
import { getViewportForBounds } from '@xyflow/react';

/** The smallest zoom at which node titles (13 px) stay readable (about 9 px on screen). */
export const LEGIBLE_ZOOM = 0.7;
const MAX_ZOOM = 1.1;
const PADDING = 0.15;
const EDGE_PX = 40;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The viewport for `bounds` in a `width` × `height` pane: fitted when that is legible, else at LEGIBLE_ZOOM from
 * the flow's left edge with `anchor` (the input node's box) centred vertically.
 */
export function legibleViewport(bounds: Rect, width: number, height: number, anchor?: Rect): Viewport {
  const fitted = getViewportForBounds(bounds, width, height, 0.05, MAX_ZOOM, PADDING);
  if (fitted.zoom >= LEGIBLE_ZOOM) return fitted;
  const zoom = LEGIBLE_ZOOM;
  const focus = anchor ?? { x: bounds.x, y: bounds.y + bounds.height / 2 - 1, width: 1, height: 1 };
  let y = height / 2 - (focus.y + focus.height / 2) * zoom;
  // Keep the flow's top and bottom from leaving a gap when it is only a little taller than the pane.
  const top = bounds.y * zoom + y;
  const bottom = (bounds.y + bounds.height) * zoom + y;
  if (bounds.height * zoom + 2 * EDGE_PX <= height) y = height / 2 - (bounds.y + bounds.height / 2) * zoom;
  else if (top > EDGE_PX) y -= top - EDGE_PX;
  else if (bottom < height - EDGE_PX) y += height - EDGE_PX - bottom;
  return { x: EDGE_PX - bounds.x * zoom, y, zoom };
}

/** Fits the canvas legibly (see above); `duration` animates the move. */
export function legibleFit<N extends Node, E extends Edge>(rf: ReactFlowInstance<N, E>, duration = 0): void {
  const pane = document.querySelector('.react-flow');
  const nodes = rf.getNodes();
  if (!pane || nodes.length === 0) return;
  const { width, height } = pane.getBoundingClientRect();
  if (width === 0 || height === 0) return;
  const bounds = rf.getNodesBounds(nodes);
  const input = nodes.find((n) => (n.data as { node?: { type?: string } }).node?.type === 'io.input');
  const anchor = input ? rf.getNodesBounds([input]) : undefined;
  void rf.setViewport(legibleViewport(bounds, width, height, anchor), duration ? { duration } : undefined);
}
