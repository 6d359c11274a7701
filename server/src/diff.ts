/**
 * Differences between two versions of a flow: nodes and edges added or removed, and for nodes present in both
 * the fields that changed (config values down to the leaf). Canvas layout (`ui`) is left out: moving a node is
 * not a change of behaviour and would bury the ones that are.
 */
import type { FieldChange, FlowDiff } from '@finflow/contract';
import { canonicalJson } from './hash.js';

export type { FieldChange, FlowDiff };

const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Below this depth a changed subtree is reported as one change (documents are parsed within a smaller limit). */
const MAX_DIFF_DEPTH = 100;

function diffValues(before: unknown, after: unknown, path: string, out: FieldChange[], depth = 0): void {
  if (same(before, after)) return;
  if (depth >= MAX_DIFF_DEPTH) {
    out.push({ path, before: before ?? null, after: after ?? null });
    return;
  }
  const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (isPlain(before) && isPlain(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of [...keys].sort()) diffValues(before[k], after[k], join(k), out, depth + 1);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    for (let i = 0; i < before.length; i++) diffValues(before[i], after[i], join(i), out, depth + 1);
    return;
  }
  out.push({ path, before: before ?? null, after: after ?? null });
}

interface DocShape {
  name?: unknown;
  description?: unknown;
  tags?: unknown;
  settings?: unknown;
  nodes?: { id: string; ui?: unknown; [k: string]: unknown }[];
  edges?: { id: string; from: unknown; to: unknown }[];
}

export function diffFlows(beforeDoc: unknown, afterDoc: unknown): FlowDiff {
  const a = (beforeDoc ?? {}) as DocShape;
  const b = (afterDoc ?? {}) as DocShape;
  const flowFields: FieldChange[] = [];
  for (const key of ['name', 'description', 'tags', 'settings'] as const)
    diffValues(a[key], b[key], key, flowFields);

  const nodesA = new Map((a.nodes ?? []).map((n) => [n.id, n]));
  const nodesB = new Map((b.nodes ?? []).map((n) => [n.id, n]));
  const withoutLayout = ({ ui: _ui, id: _id, ...rest }: { id: string; ui?: unknown }) => rest;
  const changed: FlowDiff['nodes']['changed'] = [];
  for (const [id, nb] of nodesB) {
    const na = nodesA.get(id);
    if (!na) continue;
    const fields: FieldChange[] = [];
    diffValues(withoutLayout(na), withoutLayout(nb), '', fields);
    if (fields.length) changed.push({ id, fields });
  }

  // An edge is the same edge only if its id and both ends are unchanged; rewiring shows as removed + added.
  const edgeKey = (e: { id: string; from: unknown; to: unknown }) =>
    `${e.id}\u0000${canonicalJson([e.from, e.to])}`;
  const edgesA = new Map((a.edges ?? []).map((e) => [edgeKey(e), e.id]));
  const edgesB = new Map((b.edges ?? []).map((e) => [edgeKey(e), e.id]));

  return {
    flow: { fields: flowFields },
    nodes: {
      added: [...nodesB.keys()].filter((id) => !nodesA.has(id)),
      removed: [...nodesA.keys()].filter((id) => !nodesB.has(id)),
      changed,
    },
    edges: {
      added: [...edgesB].filter(([k]) => !edgesA.has(k)).map(([, id]) => id),
      removed: [...edgesA].filter(([k]) => !edgesB.has(k)).map(([, id]) => id),
    },
  };
}
