/**
 * Whether a new edge may be drawn, and if not, why: the shared `canConnect` for port types, a cycle check and the
 * one-edge-per-input rule. The reason is structured so the canvas can show it in the user's language.
 */
import { canConnect, type PortType } from '@finflow/runtime/ports';
import type { CatalogEntry, FlowNode } from '../api/types.js';
import { nodePorts } from './ports.js';

export type ConnectRefusal =
  | { code: 'self' }
  | { code: 'unknown-node' }
  | { code: 'unknown-port'; port: string }
  | { code: 'type-mismatch'; from: PortType; to: PortType }
  | { code: 'cycle' }
  | { code: 'input-connected'; port: string };

export type ConnectResult =
  { ok: true; from: PortType; to: PortType } | { ok: false; refusal: ConnectRefusal };

export interface ConnectionAttempt {
  source: string;
  sourceHandle: string | null | undefined;
  target: string;
  targetHandle: string | null | undefined;
}

export interface GraphView {
  node(id: string): Pick<FlowNode, 'type' | 'config' | 'onError'> | undefined;
  entry(type: string): CatalogEntry | undefined;
  edges: readonly { source: string; target: string; targetHandle?: string | null | undefined }[];
}

/** Whether `to` already reaches `from` through existing edges (then from -> to closes a cycle). */
export function reaches(edges: GraphView['edges'], start: string, goal: string): boolean {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.source);
    if (list) list.push(e.target);
    else out.set(e.source, [e.target]);
  }
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length) {
    const cur = stack.pop() as string;
    if (cur === goal) return true;
    for (const next of out.get(cur) ?? [])
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
  }
  return false;
}

export function checkConnection(graph: GraphView, c: ConnectionAttempt): ConnectResult {
  if (c.source === c.target) return { ok: false, refusal: { code: 'self' } };
  const from = graph.node(c.source);
  const to = graph.node(c.target);
  if (!from || !to) return { ok: false, refusal: { code: 'unknown-node' } };
  const outPort = nodePorts(graph.entry(from.type), from).outputs.find((p) => p.name === c.sourceHandle);
  if (!outPort) return { ok: false, refusal: { code: 'unknown-port', port: c.sourceHandle ?? '' } };
  const inPort = nodePorts(graph.entry(to.type), to).inputs.find((p) => p.name === c.targetHandle);
  if (!inPort) return { ok: false, refusal: { code: 'unknown-port', port: c.targetHandle ?? '' } };
  const check = canConnect(outPort.type, inPort.type);
  if (!check.ok)
    return { ok: false, refusal: { code: 'type-mismatch', from: outPort.type, to: inPort.type } };
  if (graph.edges.some((e) => e.target === c.target && e.targetHandle === c.targetHandle)) {
    return { ok: false, refusal: { code: 'input-connected', port: inPort.title ?? inPort.name } };
  }
  if (reaches(graph.edges, c.target, c.source)) return { ok: false, refusal: { code: 'cycle' } };
  return { ok: true, from: outPort.type, to: inPort.type };
}
