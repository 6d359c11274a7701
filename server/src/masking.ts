/**
 * PII masking of run records, audit entries and logs, where the flow marks personal data (`settings.redact`):
 * the marked input fields are replaced wholesale, the inputs and outputs of marked nodes are replaced wholesale,
 * and the marked input values are also scrubbed wherever they reappear downstream (copied into another node's
 * output, quoted in a log line), so personal data that moves through the flow stays masked. The caller of a
 * published endpoint still receives its real outputs; only what is stored or logged is masked.
 */
import type { FlowDocument, RunEvent } from '@finflow/runtime';

export const REDACTED = '[redacted]';

export interface RedactSpec {
  inputPaths: string[];
  nodes: string[];
}

export function redactSpecOf(flow: FlowDocument): RedactSpec | undefined {
  const r = flow.settings?.redact;
  if (!r || (r.inputPaths.length === 0 && r.nodes.length === 0)) return undefined;
  return { inputPaths: r.inputPaths, nodes: r.nodes };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Visits the values at a dotted path (`*` matches every key or index) and lets `edit` replace them. */
function editPath(root: unknown, segments: string[], edit: (value: unknown) => unknown): unknown {
  if (segments.length === 0) return edit(root);
  if (!isObject(root)) return root;
  const [head, ...rest] = segments as [string, ...string[]];
  if (Array.isArray(root)) {
    const copy = root.slice();
    for (let i = 0; i < copy.length; i++) {
      if (head === '*' || head === String(i)) copy[i] = editPath(copy[i], rest, edit);
    }
    return copy;
  }
  const copy: Record<string, unknown> = { ...root };
  for (const key of Object.keys(copy)) {
    if (head === '*' || head === key) copy[key] = editPath(copy[key], rest, edit);
  }
  return copy;
}

/** Masks one run's records: built from the flow's redact settings and the run's real input. */
export class RunMasker {
  private readonly paths: string[][];
  private readonly nodes: Set<string>;
  /** Marked string values (4+ characters) and numbers (5+ digits), scrubbed wherever they reappear. */
  private readonly strings: string[] = [];
  private readonly numbers = new Set<number>();

  constructor(
    spec: RedactSpec,
    input: unknown,
    private readonly shape: {
      /** The flow's io.input node ids (their outputs are the input's fields). */
      inputNodeIds: ReadonlySet<string>;
      /** io.output node id by result name. */
      outputNodes: ReadonlyMap<string, string>;
      /** Input ports fed directly by a marked node: they carry its outputs. */
      taintedInputs: ReadonlyMap<string, ReadonlySet<string>>;
    } = { inputNodeIds: new Set(), outputNodes: new Map(), taintedInputs: new Map() },
  ) {
    this.paths = spec.inputPaths.map((p) => p.split('.').filter(Boolean));
    this.nodes = new Set(spec.nodes);
    const collect = (v: unknown): void => {
      if (typeof v === 'string') {
        if (v.length >= 4 && !this.strings.includes(v)) this.strings.push(v);
      } else if (typeof v === 'number') {
        if (Number.isFinite(v) && Math.abs(v) >= 10_000) this.numbers.add(v);
      } else if (Array.isArray(v)) v.forEach(collect);
      else if (isObject(v)) Object.values(v).forEach(collect);
    };
    for (const p of this.paths)
      editPath(input, p, (v) => {
        collect(v);
        return v;
      });
    // Longest first, so a value containing another is replaced whole.
    this.strings.sort((a, b) => b.length - a.length);
  }

  /** The input with every marked field replaced. */
  maskInput(input: unknown): unknown {
    let out = input;
    for (const p of this.paths) out = editPath(out, p, () => REDACTED);
    return out;
  }

  /** Replaces marked values found anywhere inside `value`. */
  scrub(value: unknown): unknown {
    if (this.strings.length === 0 && this.numbers.size === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') {
        let s = v;
        for (const secret of this.strings) if (s.includes(secret)) s = s.split(secret).join(REDACTED);
        return s;
      }
      if (typeof v === 'number') return this.numbers.has(v) ? REDACTED : v;
      if (Array.isArray(v)) return v.map(walk);
      if (isObject(v)) {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = walk(x);
        return out;
      }
      return v;
    };
    return walk(value);
  }

  private wholesale(ports: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(ports)) out[k] = REDACTED;
    return out;
  }

  /** The input node's outputs: `value` is the whole input, every other port one top-level field. */
  private maskInputNodeOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [port, v] of Object.entries(outputs)) {
      out[port] =
        port === 'value'
          ? this.maskInput(v)
          : (this.maskInput({ [port]: v }) as Record<string, unknown>)[port];
    }
    return this.scrub(out) as Record<string, unknown>;
  }

  private ports(
    nodeId: string,
    ports: Record<string, unknown>,
    fromInputNode: boolean,
  ): Record<string, unknown> {
    if (this.nodes.has(nodeId)) return this.wholesale(ports);
    if (fromInputNode) return this.maskInputNodeOutputs(ports);
    return this.scrub(ports) as Record<string, unknown>;
  }

  private nodeInputs(nodeId: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const tainted = this.shape.taintedInputs.get(nodeId);
    if (this.nodes.has(nodeId) || !tainted) return this.ports(nodeId, inputs, false);
    const out: Record<string, unknown> = {};
    for (const [port, v] of Object.entries(inputs)) out[port] = tainted.has(port) ? REDACTED : this.scrub(v);
    return out;
  }

  maskEvent(e: RunEvent): RunEvent {
    switch (e.type) {
      case 'run.started':
        return { ...e, input: this.scrub(this.maskInput(e.input)) };
      case 'node.started':
        return { ...e, inputs: this.nodeInputs(e.nodeId, e.inputs) };
      case 'node.succeeded':
        return { ...e, outputs: this.ports(e.nodeId, e.outputs, this.shape.inputNodeIds.has(e.nodeId)) };
      case 'node.failed': {
        const masked = { ...e, error: this.scrub(e.error) as typeof e.error };
        if (e.outputs) masked.outputs = this.ports(e.nodeId, e.outputs, false);
        return masked;
      }
      case 'node.streamed':
        return { ...e, chunk: this.nodes.has(e.nodeId) ? REDACTED : this.scrub(e.chunk) };
      case 'node.logged': {
        const masked = { ...e, message: this.scrub(e.message) as string };
        if (e.data)
          masked.data = this.nodes.has(e.nodeId)
            ? this.wholesale(e.data)
            : (this.scrub(e.data) as Record<string, unknown>);
        return masked;
      }
      case 'node.retrying':
        return { ...e, error: this.scrub(e.error) as typeof e.error };
      case 'node.waiting':
        return { ...e, task: this.maskTask(e.nodeId, e.task) };
      case 'run.suspended':
        return { ...e, outputs: this.maskOutputs(e.outputs) };
      case 'run.resumed':
        return { ...e, decisions: this.scrub(e.decisions) as Record<string, unknown> };
      case 'run.finished': {
        const masked = { ...e, outputs: this.maskOutputs(e.outputs) };
        if (e.error) masked.error = this.scrub(e.error) as typeof e.error;
        return masked;
      }
      default:
        return e;
    }
  }

  /**
   * A waiting node's task (what a reviewer sees): a marked node's task is replaced wholesale; marked input values
   * are scrubbed wherever they appear; and a task built from an input port fed by a marked node (a review's
   * `case` or `decision`) has that part replaced, with the summary values taken from it.
   */
  maskTask(nodeId: string, task: Record<string, unknown>): Record<string, unknown> {
    if (this.nodes.has(nodeId)) return this.wholesale(task);
    const out = this.scrub(task) as Record<string, unknown>;
    const tainted = this.shape.taintedInputs.get(nodeId);
    if (!tainted) return out;
    for (const port of tainted) if (port in out) out[port] = REDACTED;
    if (tainted.has('case') && Array.isArray(out['summary']))
      out['summary'] = (out['summary'] as { path: unknown }[]).map((s) => ({
        path: s.path,
        value: REDACTED,
      }));
    return out;
  }

  /** Flow outputs as stored (audit, run records): outputs written by marked nodes are replaced too. */
  maskOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(outputs)) {
      const nodeId = this.shape.outputNodes.get(name);
      const marked =
        nodeId !== undefined &&
        (this.nodes.has(nodeId) || this.shape.taintedInputs.get(nodeId)?.has('value'));
      out[name] = marked ? REDACTED : this.scrub(v);
    }
    return out;
  }
}
