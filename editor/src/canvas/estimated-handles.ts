/**
 * Where a flow node's handles are before React Flow has measured it. Large flows are culled (CULL_ABOVE_NODES in
 * canvas.tsx): a node out of view is not in the page, and React Flow draws no edge to a node whose handles it does
 * not know, so an edge leaving the screen would vanish until its other end had once been scrolled into view. Nodes
 * not yet measured therefore declare their handles from the layout flow-node.tsx and app.css give them (header,
 * then one 20 px row per port, inputs left and outputs right); the measurement replaces the estimate once drawn.
 */
import { Position, type NodeHandle } from '@xyflow/react';
import { nodePorts } from '../flow/ports.js';
import { NODE_SIZE, type EditorNode } from '../flow/model.js';
import { entryFor } from '../state/catalog-store.js';

/**
 * The first port row's top edge (node border, a header of two text lines, ports border and padding) and a handle's
 * place inside the node's 1 px border, as measured in Chromium for a node with a one-line title.
 */
export const PORTS_TOP = 1 + 49 + 1 + 4;
export const PORT_ROW = 20;
const HANDLE = 10;

const withHandles = new WeakMap<EditorNode, EditorNode>();

/** `node` with estimated handles when it is a flow node React Flow has not measured; otherwise `node` itself. */
export function withEstimatedHandles(node: EditorNode): EditorNode {
  if (node.type !== 'finflow' || node.measured) return node;
  let out = withHandles.get(node);
  if (!out) {
    const ports = nodePorts(entryFor(node.data.node.type), node.data.node);
    const at = (i: number) => PORTS_TOP + i * PORT_ROW + (PORT_ROW - HANDLE) / 2;
    const handles: NodeHandle[] = [
      ...ports.inputs.map((p, i) => ({
        id: p.name,
        type: 'target' as const,
        position: Position.Left,
        x: 1 - HANDLE / 2,
        y: at(i),
        width: HANDLE,
        height: HANDLE,
      })),
      ...ports.outputs.map((p, i) => ({
        id: p.name,
        type: 'source' as const,
        position: Position.Right,
        x: NODE_SIZE.width - 1 - HANDLE / 2,
        y: at(i),
        width: HANDLE,
        height: HANDLE,
      })),
    ];
    out = { ...node, handles };
    withHandles.set(node, out);
  }
  return out;
}
