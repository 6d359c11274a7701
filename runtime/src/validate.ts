/**
 * Flow validation and preparation. `prepareFlow` checks a document against the registry and reports every
 * problem at once; a valid document becomes a `PreparedFlow`, the execution plan the scheduler runs (ports
 * resolved, coercions chosen, static configs parsed once). A flow that fails validation never starts.
 */
import type { z } from 'zod';
import {
  flowDocumentSchema,
  flowEdgeSchema,
  flowNodeSchema,
  migrateFlowDocument,
  type FlowDocument,
  type FlowEdge,
  type FlowNode,
  type OnError,
  type RetryPolicy,
} from './document.js';
import {
  compileExpression,
  configIsDynamic,
  findExpressions,
  referencedNodes,
  type ExpressionSite,
} from './expressions.js';
import type { AnyNodeDefinition, ValidateHelpers } from './node.js';
import { canConnect, resolvePorts, type Coercion, type NamedPort, type PortType } from './ports.js';
import type { Problem } from './problems.js';
import { definitionLayout } from './catalog.js';
import { resolveNodeVersion, type NodeRegistry } from './registry.js';

export const INPUT_NODE_TYPE = 'io.input';
export const OUTPUT_NODE_TYPE = 'io.output';

export interface PlanEdge {
  id: string;
  from: number;
  fromPort: string;
  to: number;
  toPort: string;
  coercion: Coercion;
  toType: PortType;
  /** The target input is required: the target is skipped if this edge is not taken. */
  toRequired: boolean;
}

export interface PlanNode {
  index: number;
  id: string;
  type: string;
  def: AnyNodeDefinition;
  node: FlowNode;
  /** Config after node-version migrations, before expressions are resolved. */
  rawConfig: Record<string, unknown>;
  /** The parsed config when it holds no expressions (parsed once, reused by every run). */
  config: unknown;
  /** The config holds expressions or `==` literals and is resolved and parsed before each run. */
  dynamic: boolean;
  inputs: NamedPort[];
  outputs: NamedPort[];
  inEdges: PlanEdge[];
  outEdges: PlanEdge[];
  retry: RetryPolicy;
  timeoutMs: number;
  onError: OnError;
  /** Ids of the nodes upstream of this one (computed on first use, for expression scopes). */
  ancestors?: string[];
  /** Whether an expression in its config can read `nodes` (computed on first use; see expressionReadsNodes). */
  configReadsNodes?: boolean;
}

export interface PreparedFlow {
  flow: FlowDocument;
  nodes: PlanNode[];
  byId: Map<string, PlanNode>;
  inputNode: PlanNode;
  /** io.output nodes with the result name each writes. */
  outputNodes: { node: PlanNode; name: string }[];
  /** The flow's input JSON Schema (the io.input node's `schema`), when it declares one. */
  inputSchema: Record<string, unknown> | undefined;
}

export type PrepareResult = { ok: true; prepared: PreparedFlow } | { ok: false; problems: Problem[] };

const pathOverlaps = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Parses a node config, ignoring issues located at (or around) expression strings, which are typed at run time. */
export function parseConfig(
  def: AnyNodeDefinition,
  config: Record<string, unknown>,
  sites: ExpressionSite[],
): { ok: true; value: unknown } | { ok: false; issues: z.core.$ZodIssue[] } {
  const r = (def.config as z.ZodType).safeParse(config);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.filter(
    (issue) => !sites.some((site) => pathOverlaps(issue.path as (string | number)[], site.path)),
  );
  return { ok: false, issues };
}

/** The kind of a config issue and its bounds, for messages in the editor's language. */
function issueParams(issue: z.core.$ZodIssue): Record<string, string | number> {
  const params: Record<string, string | number> = { issue: issue.code };
  const i = issue as unknown as Record<string, unknown>;
  for (const key of ['minimum', 'maximum', 'expected', 'origin'] as const) {
    const v = i[key];
    if (typeof v === 'number' || typeof v === 'string') params[key] = v;
    else if (typeof v === 'bigint') params[key] = Number(v);
  }
  return params;
}

interface NodeCheck {
  def: AnyNodeDefinition;
  rawConfig: Record<string, unknown>;
  parsed: { ok: true; value: unknown } | { ok: false };
  sites: ExpressionSite[];
  references: Map<string, (string | number)[]>;
}

/** Checks one node's type, version, config and expressions. Shared by flows and by `logic.map`'s inner node. */
function checkNode(
  registry: NodeRegistry,
  spec: { id?: string; type: string; version?: number | undefined; config?: unknown },
  problems: Problem[],
): NodeCheck | undefined {
  const nodeId = spec.id;
  const at = (p: Omit<Problem, 'nodeId'>): Problem => (nodeId === undefined ? p : { ...p, nodeId });
  const rawIn = (spec.config ?? {}) as Record<string, unknown>;
  const resolved = resolveNodeVersion(registry, spec.type, spec.version, rawIn);
  if ('error' in resolved) {
    problems.push(at({ code: 'UNKNOWN_NODE_TYPE', message: resolved.error, params: { type: spec.type } }));
    return undefined;
  }
  const { def, config: rawConfig } = resolved;
  const sites = findExpressions(rawConfig);
  const references = new Map<string, (string | number)[]>();
  for (const site of sites) {
    const compiled = compileExpression(site.source);
    if (!compiled.ok) {
      problems.push(at({ code: 'INVALID_EXPRESSION', message: compiled.message, path: site.path }));
    } else {
      for (const id of referencedNodes(compiled.expression))
        if (!references.has(id)) references.set(id, site.path);
    }
  }
  const parsed = parseConfig(def, rawConfig, sites);
  if (!parsed.ok) {
    for (const issue of parsed.issues) {
      problems.push(
        at({
          code: 'INVALID_CONFIG',
          message: issue.message,
          path: issue.path as (string | number)[],
          params: issueParams(issue),
        }),
      );
    }
  } else if (def.validate && sites.length === 0) {
    const helpers: ValidateHelpers = {
      problem(message, path = [], code = 'INVALID_CONFIG') {
        problems.push(at({ code, message, path }));
      },
      expression(source, path) {
        const c = compileExpression(source);
        if (!c.ok) problems.push(at({ code: 'INVALID_EXPRESSION', message: c.message, path }));
      },
      validateFlow: (flow) => validateFlow(flow, registry),
      validateNode: (inner) => {
        const innerProblems: Problem[] = [];
        checkNode(registry, inner, innerProblems);
        return innerProblems;
      },
    };
    def.validate(parsed.value, helpers);
  }
  return { def, rawConfig, parsed: parsed.ok ? parsed : { ok: false }, sites, references };
}

/** Every problem of a node spec (type, version, config) as it would be inside a flow. */
export function validateNodeSpec(
  registry: NodeRegistry,
  spec: { type: string; version?: number | undefined; config?: unknown },
): Problem[] {
  const problems: Problem[] = [];
  checkNode(registry, spec, problems);
  return problems;
}

/** Every problem of a flow document; an empty list means it can run. */
export function validateFlow(flow: unknown, registry: NodeRegistry): Problem[] {
  const r = prepareFlow(flow, registry);
  return r.ok ? [] : r.problems;
}

/** A policy with the fields an override sets (undefined fields keep the base's). */
export function mergeRetryPolicy(
  base: RetryPolicy,
  override: Partial<Record<keyof RetryPolicy, unknown>> | undefined,
): RetryPolicy {
  if (!override) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) if (v !== undefined) merged[k] = v;
  return merged as RetryPolicy;
}

export function prepareFlow(input: unknown, registry: NodeRegistry): PrepareResult {
  const problems: Problem[] = [];
  const migrated = migrateFlowDocument(input);
  if (!migrated.ok) return { ok: false, problems: [{ code: 'INVALID_DOCUMENT', message: migrated.message }] };
  const doc = migrated.document;

  // Structure first, node by node and edge by edge, so one bad node does not hide the others' problems.
  const shell = flowDocumentSchema.safeParse({ ...doc, nodes: [], edges: [] });
  if (!shell.success) {
    for (const issue of shell.error.issues) {
      problems.push({
        code: 'INVALID_DOCUMENT',
        message: issue.message,
        path: issue.path as (string | number)[],
      });
    }
  }
  const rawNodes = Array.isArray(doc['nodes']) ? (doc['nodes'] as unknown[]) : [];
  const rawEdges = Array.isArray(doc['edges']) ? (doc['edges'] as unknown[]) : [];
  if (!Array.isArray(doc['nodes']))
    problems.push({ code: 'INVALID_DOCUMENT', message: '`nodes` must be a list', path: ['nodes'] });
  if (!Array.isArray(doc['edges']))
    problems.push({ code: 'INVALID_DOCUMENT', message: '`edges` must be a list', path: ['edges'] });

  const nodes: FlowNode[] = [];
  rawNodes.forEach((raw, i) => {
    const r = flowNodeSchema.safeParse(raw);
    if (r.success) nodes.push(r.data);
    else {
      const nodeId =
        typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
      for (const issue of r.error.issues) {
        const p: Problem = {
          code: 'INVALID_DOCUMENT',
          message: issue.message,
          path: ['nodes', i, ...(issue.path as (string | number)[])],
        };
        if (nodeId) p.nodeId = nodeId;
        problems.push(p);
      }
    }
  });
  const edges: FlowEdge[] = [];
  rawEdges.forEach((raw, i) => {
    const r = flowEdgeSchema.safeParse(raw);
    if (r.success) edges.push(r.data);
    else {
      const edgeId =
        typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
      for (const issue of r.error.issues) {
        const p: Problem = {
          code: 'INVALID_DOCUMENT',
          message: issue.message,
          path: ['edges', i, ...(issue.path as (string | number)[])],
        };
        if (edgeId) p.edgeId = edgeId;
        problems.push(p);
      }
    }
  });

  // Ids.
  const byId = new Map<string, FlowNode>();
  for (const n of nodes) {
    if (byId.has(n.id))
      problems.push({
        code: 'DUPLICATE_ID',
        message: `two nodes have the id ${n.id}`,
        nodeId: n.id,
        params: { id: n.id },
      });
    else byId.set(n.id, n);
  }
  const edgeIds = new Set<string>();
  for (const e of edges) {
    if (edgeIds.has(e.id))
      problems.push({
        code: 'DUPLICATE_ID',
        message: `two edges have the id ${e.id}`,
        edgeId: e.id,
        params: { id: e.id },
      });
    edgeIds.add(e.id);
  }

  // Node types, configs, expressions, ports.
  interface Checked extends NodeCheck {
    node: FlowNode;
    inputs: NamedPort[];
    outputs: NamedPort[];
  }
  const checked = new Map<string, Checked>();
  for (const node of byId.values()) {
    const c = checkNode(registry, node, problems);
    if (!c) continue;
    const portConfig = c.parsed.ok ? c.parsed.value : c.rawConfig;
    const ports = resolvePorts(definitionLayout(c.def), portConfig, {
      routeErrors: node.onError?.action === 'route',
    });
    checked.set(node.id, { ...c, node, inputs: ports.inputs, outputs: ports.outputs });
  }

  // Input and output nodes.
  const inputs = nodes.filter((n) => n.type === INPUT_NODE_TYPE);
  if (inputs.length === 0)
    problems.push({ code: 'NO_INPUT_NODE', message: `a flow needs one ${INPUT_NODE_TYPE} node` });
  if (inputs.length > 1) {
    for (const n of inputs.slice(1)) {
      problems.push({
        code: 'MULTIPLE_INPUT_NODES',
        message: `a flow has exactly one ${INPUT_NODE_TYPE} node`,
        nodeId: n.id,
      });
    }
  }
  const outputs = nodes.filter((n) => n.type === OUTPUT_NODE_TYPE);
  if (outputs.length === 0)
    problems.push({ code: 'NO_OUTPUT_NODE', message: `a flow needs at least one ${OUTPUT_NODE_TYPE} node` });
  const outputNames = new Map<string, string>();
  for (const n of outputs) {
    const c = checked.get(n.id);
    const name = c?.parsed.ok ? String((c.parsed.value as { name?: unknown }).name ?? n.id) : undefined;
    if (name === undefined) continue;
    const other = outputNames.get(name);
    if (other)
      problems.push({
        code: 'DUPLICATE_ID',
        message: `outputs ${other} and ${n.id} both write the result "${name}"`,
        nodeId: n.id,
        params: { output: name, other },
      });
    else outputNames.set(name, n.id);
  }

  // Edges.
  const validEdges: { edge: FlowEdge; coercion: Coercion; toType: PortType; toRequired: boolean }[] = [];
  const intoPort = new Map<string, string>();
  for (const edge of edges) {
    let dangling = false;
    for (const end of ['from', 'to'] as const) {
      if (!byId.has(edge[end].node)) {
        problems.push({
          code: 'DANGLING_EDGE',
          message: `edge ${end === 'from' ? 'starts at' : 'ends at'} unknown node ${edge[end].node}`,
          edgeId: edge.id,
          params: { node: edge[end].node },
        });
        dangling = true;
      }
    }
    if (dangling) continue;
    const key = `${edge.to.node}\u0000${edge.to.port}`;
    const first = intoPort.get(key);
    if (first) {
      problems.push({
        code: 'MULTIPLE_EDGES_INTO_PORT',
        message: `input ${edge.to.node}.${edge.to.port} is already fed by edge ${first}`,
        edgeId: edge.id,
        nodeId: edge.to.node,
        params: { node: edge.to.node, port: edge.to.port },
      });
    } else intoPort.set(key, edge.id);
    const from = checked.get(edge.from.node);
    const to = checked.get(edge.to.node);
    if (!from || !to) continue; // unknown types were reported already
    const out = from.outputs.find((p) => p.name === edge.from.port);
    const inp = to.inputs.find((p) => p.name === edge.to.port);
    if (!out)
      problems.push({
        code: 'UNKNOWN_PORT',
        message: `${edge.from.node} (${from.def.type}) has no output "${edge.from.port}"`,
        edgeId: edge.id,
        nodeId: edge.from.node,
        params: { node: edge.from.node, port: edge.from.port, side: 'output' },
      });
    if (!inp)
      problems.push({
        code: 'UNKNOWN_PORT',
        message: `${edge.to.node} (${to.def.type}) has no input "${edge.to.port}"`,
        edgeId: edge.id,
        nodeId: edge.to.node,
        params: { node: edge.to.node, port: edge.to.port, side: 'input' },
      });
    if (!out || !inp) continue;
    const check = canConnect(out.type, inp.type);
    if (!check.ok) {
      problems.push({
        code: 'PORT_TYPE_MISMATCH',
        message: `${edge.from.node}.${out.name} → ${edge.to.node}.${inp.name}: ${check.reason}`,
        edgeId: edge.id,
        // On the receiving node: that is where the analyst fixes it.
        nodeId: edge.to.node,
        params: {
          from: `${edge.from.node}.${out.name}`,
          to: `${edge.to.node}.${inp.name}`,
          fromType: out.type,
          toType: inp.type,
        },
      });
      continue;
    }
    validEdges.push({ edge, coercion: check.coercion, toType: inp.type, toRequired: inp.required });
  }

  // Required inputs.
  for (const [id, c] of checked) {
    for (const p of c.inputs) {
      if (p.required && !intoPort.has(`${id}\u0000${p.name}`)) {
        problems.push({
          code: 'MISSING_REQUIRED_INPUT',
          message: `input "${p.name}" of ${id} (${c.def.type}) is not connected`,
          nodeId: id,
          params: { port: p.name },
        });
      }
    }
  }

  // Cycles (over every edge between existing nodes, valid or not, since any of them would order the nodes).
  const succ = new Map<string, string[]>();
  for (const id of byId.keys()) succ.set(id, []);
  for (const e of edges)
    if (byId.has(e.from.node) && byId.has(e.to.node)) succ.get(e.from.node)?.push(e.to.node);
  for (const cycle of findCycles(succ)) {
    problems.push({
      code: 'CYCLE',
      message: `cycle: ${[...cycle, cycle[0]].join(' → ')}`,
      nodeId: cycle[0] as string,
      params: { cycle: [...cycle, cycle[0]].join(' → ') },
    });
  }

  // Expressions may only read ancestors, so every run sees the same values.
  const pred = new Map<string, string[]>();
  for (const id of byId.keys()) pred.set(id, []);
  for (const e of edges)
    if (byId.has(e.from.node) && byId.has(e.to.node)) pred.get(e.to.node)?.push(e.from.node);
  const ancestorsOf = (id: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(pred.get(id) ?? [])];
    while (stack.length) {
      const x = stack.pop() as string;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...(pred.get(x) ?? []));
    }
    return seen;
  };
  for (const [id, c] of checked) {
    if (c.references.size === 0) continue;
    const anc = ancestorsOf(id);
    for (const [ref, path] of c.references) {
      if (!anc.has(ref)) {
        problems.push({
          code: 'INVALID_EXPRESSION',
          message: byId.has(ref)
            ? `reads nodes.${ref}, which is not upstream of ${id}: connect it first so its result is ready`
            : `reads nodes.${ref}, but the flow has no node ${ref}`,
          nodeId: id,
          path,
          params: { ref, reason: byId.has(ref) ? 'not-upstream' : 'unknown-node' },
        });
      }
    }
  }

  if (problems.length) return { ok: false, problems };

  // Build the plan.
  const planNodes: PlanNode[] = [];
  const index = new Map<string, number>();
  for (const node of nodes) {
    const c = checked.get(node.id) as Checked;
    index.set(node.id, planNodes.length);
    const dynamic = configIsDynamic(c.rawConfig);
    planNodes.push({
      index: planNodes.length,
      id: node.id,
      type: node.type,
      def: c.def,
      node,
      rawConfig: c.rawConfig,
      config: dynamic ? undefined : (c.parsed as { value: unknown }).value,
      dynamic,
      inputs: c.inputs,
      outputs: c.outputs,
      inEdges: [],
      outEdges: [],
      retry: mergeRetryPolicy(c.def.retry, node.retry),
      timeoutMs: node.timeoutMs ?? c.def.timeoutMs,
      onError: node.onError ?? { action: 'fail' },
    });
  }
  for (const { edge, coercion, toType, toRequired } of validEdges) {
    const pe: PlanEdge = {
      id: edge.id,
      from: index.get(edge.from.node) as number,
      fromPort: edge.from.port,
      to: index.get(edge.to.node) as number,
      toPort: edge.to.port,
      coercion,
      toType,
      toRequired,
    };
    planNodes[pe.from]?.outEdges.push(pe);
    planNodes[pe.to]?.inEdges.push(pe);
  }
  // The shell parsed without problems (or we would have returned): its data plus the parsed nodes and edges.
  const flow: FlowDocument = { ...(shell.data as FlowDocument), nodes, edges };
  const inputNode = planNodes.find((n) => n.type === INPUT_NODE_TYPE) as PlanNode;
  const inputSchema = (inputNode.config as { schema?: Record<string, unknown> } | undefined)?.schema;
  return {
    ok: true,
    prepared: {
      flow,
      nodes: planNodes,
      byId: new Map(planNodes.map((n) => [n.id, n])),
      inputNode,
      outputNodes: planNodes
        .filter((n) => n.type === OUTPUT_NODE_TYPE)
        .map((n) => ({ node: n, name: String((n.config as { name?: unknown } | undefined)?.name ?? n.id) })),
      inputSchema,
    },
  };
}

/** Ids of every node upstream of `node`, computed once per plan node. */
export function ancestorsOf(prepared: PreparedFlow, node: PlanNode): string[] {
  if (node.ancestors) return node.ancestors;
  const seen = new Set<number>();
  const stack = node.inEdges.map((e) => e.from);
  while (stack.length) {
    const i = stack.pop() as number;
    if (seen.has(i)) continue;
    seen.add(i);
    for (const e of prepared.nodes[i]?.inEdges ?? []) stack.push(e.from);
  }
  node.ancestors = [...seen].map((i) => (prepared.nodes[i] as PlanNode).id);
  return node.ancestors;
}

/** Elementary cycles, one per strongly connected component that has one (Tarjan, iterative). */
export function findCycles(succ: Map<string, string[]>): string[][] {
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of succ.keys()) {
    if (indexOf.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    indexOf.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1] as { v: string; i: number };
      const next = succ.get(frame.v) ?? [];
      if (frame.i < next.length) {
        const w = next[frame.i++] as string;
        if (!indexOf.has(w)) {
          indexOf.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.v, Math.min(low.get(frame.v) as number, indexOf.get(w) as number));
        }
      } else {
        work.pop();
        const parent = work[work.length - 1];
        if (parent) low.set(parent.v, Math.min(low.get(parent.v) as number, low.get(frame.v) as number));
        if (low.get(frame.v) === indexOf.get(frame.v)) {
          const comp: string[] = [];
          let w: string;
          do {
            w = stack.pop() as string;
            onStack.delete(w);
            comp.push(w);
          } while (w !== frame.v);
          const selfLoop = comp.length === 1 && (succ.get(frame.v) ?? []).includes(frame.v);
          if (comp.length > 1 || selfLoop) components.push(comp);
        }
      }
    }
  }
  // Walk each component to an actual cycle through its first node, so the message names nodes in order.
  return components.map((comp) => {
    const members = new Set(comp);
    const first = [...comp].sort()[0] as string;
    const path = [first];
    const seen = new Set([first]);
    for (;;) {
      const cur = path[path.length - 1] as string;
      const nexts = (succ.get(cur) ?? []).filter((n) => members.has(n));
      if (nexts.includes(first)) return path;
      const step = nexts.find((n) => !seen.has(n));
      if (!step) {
        // Dead end inside the component: back up (a cycle through `first` exists, so this terminates).
        path.pop();
        if (!path.length) return comp;
        continue;
      }
      seen.add(step);
      path.push(step);
    }
  });
}
