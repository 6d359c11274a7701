/**
 * PII masking of everything a run leaves behind or sends out, where the flow marks personal data
 * (`settings.redact`): stored events, run state (their fold), socket.io and SSE events, audit entries, logs and
 * error messages. The marked input fields, and the inputs and outputs of marked nodes, are replaced wholesale.
 * Everywhere else, marked values are found and replaced wherever they reappear: the whole value, any stretch of
 * it of 16 characters or more (6 when it holds Chinese, Japanese or Korean), the digit runs and e-mail addresses
 * inside it, and marked numbers of 5+ digits. The outputs of marked nodes join the marked values as the run goes
 * on, so text derived from a marked node (a transcript, an extraction) is masked downstream as well. Streamed
 * text (model tokens) is masked on the joined stream, not chunk by chunk, holding back the last characters that
 * could still turn out to be part of a marked value. The caller of a published endpoint still receives its real
 * outputs; only what is stored, logged or streamed is masked.
 */
import type { FlowDocument, PreparedFlow, RunEvent } from '@finflow/runtime';

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

/** What the masker needs to know of the flow's shape. */
export interface MaskingShape {
  /**
   * Every string and key of the flow document: design-time text (labels, prompts, port names, example values),
   * which a marked node may repeat in its outputs but which is not the run's personal data.
   */
  vocabulary: ReadonlySet<string>;
  /** The flow's io.input node ids (their outputs are the input's fields). */
  inputNodeIds: ReadonlySet<string>;
  /** io.output node id by result name. */
  outputNodes: ReadonlyMap<string, string>;
  /** Input ports fed directly by a marked node: they carry its outputs. */
  taintedInputs: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The shape of a prepared flow, for its masker. */
export function maskingShape(prepared: PreparedFlow, redact: RedactSpec | undefined): MaskingShape {
  const taintedInputs = new Map<string, Set<string>>();
  for (const node of prepared.nodes) {
    if (!redact?.nodes.includes(node.id)) continue;
    for (const edge of node.outEdges) {
      const to = prepared.nodes[edge.to];
      if (!to) continue;
      let ports = taintedInputs.get(to.id);
      if (!ports) taintedInputs.set(to.id, (ports = new Set()));
      ports.add(edge.toPort);
    }
  }
  const vocabulary = new Set<string>();
  const stack: unknown[] = [prepared.flow];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') vocabulary.add(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        vocabulary.add(k);
        stack.push(x);
      }
  }
  return {
    vocabulary,
    inputNodeIds: new Set(prepared.nodes.filter((n) => n.type === 'io.input').map((n) => n.id)),
    outputNodes: new Map(prepared.outputNodes.map((o) => [o.name, o.node.id])),
    taintedInputs,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Chinese, Japanese and Korean characters: a few of them already say a lot. */
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/;
/** A stretch of a marked value this long, copied anywhere, is masked (characters; with CJK, fewer). */
export const FRAGMENT_LENGTH = 16;
export const CJK_FRAGMENT_LENGTH = 6;
/** Marked strings longer than this are matched whole only (their stretches would fill memory). */
const MAX_INDEXED_LENGTH = 20_000;
/** Values nested deeper than this are replaced wholesale: masking fails closed, never with a stack overflow. */
export const MAX_MASK_DEPTH = 200;
/** Identifiers inside marked text: digit runs (cards, phones, IDs) and e-mail addresses. */
const IDENTIFIERS = /\d{6,}|[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[a-z]{2,}/gi;

/**
 * Whether a string a marked node produced says something about the person, rather than being one of the node's
 * labels or codes (`PERSON`, `CN_MOBILE`, `voice`) or text the flow itself holds. Marked input fields are masked
 * whatever they hold; this applies to what is learned from marked nodes as the run goes on.
 */
export function personalText(s: string, vocabulary: ReadonlySet<string>): boolean {
  if (vocabulary.has(s)) return false;
  if (/^[A-Z][A-Z0-9_]*$/.test(s)) return false;
  if (s.length < 12 && /^[a-z][a-z0-9_.-]*$/.test(s)) return false;
  return true;
}

/** Marked values, and where they (or long stretches of them) occur in other text. */
export class MarkedValues {
  private readonly wholes = new Set<string>();
  /** The whole values, longest first (so a value containing another is replaced whole). */
  private sorted: string[] = [];
  private readonly numbers = new Set<number>();
  private readonly fragments = new Set<string>();
  private readonly cjkFragments = new Set<string>();

  get empty(): boolean {
    return this.wholes.size === 0 && this.numbers.size === 0;
  }

  /**
   * Adds every string and number inside `value` (any depth: an explicit stack, no recursion), the strings that
   * pass `keep` when given.
   */
  add(value: unknown, keep?: (s: string) => boolean): void {
    const stack: unknown[] = [value];
    while (stack.length) {
      const v = stack.pop();
      if (typeof v === 'string') {
        if (!keep || keep(v)) this.addString(v);
      } else if (typeof v === 'number') {
        if (Number.isFinite(v) && Math.abs(v) >= 10_000) this.numbers.add(v);
      } else if (Array.isArray(v)) for (const x of v) stack.push(x);
      else if (isObject(v)) for (const x of Object.values(v)) stack.push(x);
    }
  }

  private addWhole(s: string): void {
    if (this.wholes.has(s)) return;
    this.wholes.add(s);
    this.sorted = [...this.wholes].sort((a, b) => b.length - a.length);
  }

  private addString(s: string): void {
    if (s.length >= 4 || (s.length >= 2 && CJK.test(s))) this.addWhole(s);
    for (const m of s.matchAll(IDENTIFIERS)) this.addWhole(m[0]);
    if (s.length > MAX_INDEXED_LENGTH) return;
    for (let i = 0; i + FRAGMENT_LENGTH <= s.length; i++)
      this.fragments.add(s.substring(i, i + FRAGMENT_LENGTH));
    for (let i = 0; i + CJK_FRAGMENT_LENGTH <= s.length; i++) {
      const f = s.substring(i, i + CJK_FRAGMENT_LENGTH);
      if (CJK.test(f)) this.cjkFragments.add(f);
    }
  }

  hasNumber(n: number): boolean {
    return this.numbers.has(n);
  }

  /** The stretches of `text` to mask, merged, in order. */
  matches(text: string): [number, number][] {
    const found: [number, number][] = [];
    for (const value of this.sorted) {
      if (value.length > text.length) continue;
      for (let i = text.indexOf(value); i >= 0; i = text.indexOf(value, i + value.length))
        found.push([i, i + value.length]);
    }
    if (this.fragments.size) {
      for (let i = 0; i + FRAGMENT_LENGTH <= text.length; i++)
        if (this.fragments.has(text.substring(i, i + FRAGMENT_LENGTH))) found.push([i, i + FRAGMENT_LENGTH]);
    }
    if (this.cjkFragments.size) {
      for (let i = 0; i + CJK_FRAGMENT_LENGTH <= text.length; i++)
        if (this.cjkFragments.has(text.substring(i, i + CJK_FRAGMENT_LENGTH)))
          found.push([i, i + CJK_FRAGMENT_LENGTH]);
    }
    if (found.length === 0) return found;
    found.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [found[0] as [number, number]];
    for (let k = 1; k < found.length; k++) {
      const [start, end] = found[k] as [number, number];
      const last = merged[merged.length - 1] as [number, number];
      if (start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    // A stretch that starts or ends on spaces keeps them: "said: [redacted] on", not "said:[redacted]on".
    for (const m of merged) {
      while (m[1] - m[0] > 1 && /\s/.test(text.charAt(m[0]))) m[0]++;
      while (m[1] - m[0] > 1 && /\s/.test(text.charAt(m[1] - 1))) m[1]--;
    }
    return merged;
  }

  /** `text` with every match replaced. */
  maskText(text: string, matches = this.matches(text), until = text.length): string {
    if (matches.length === 0) return text.slice(0, until);
    let out = '';
    let at = 0;
    for (const [start, end] of matches) {
      if (start >= until) break;
      out += text.slice(at, start) + REDACTED;
      at = end;
    }
    return out + text.slice(at, until);
  }
}

/** Streamed text has no event of its own after the last chunk; this much is held back until it is safe. */
const HOLD_BACK = FRAGMENT_LENGTH - 1;

/**
 * Masks one node's streamed text as one text: a marked value split across chunks is still found. Each chunk
 * gives what can be sent now; what could still become part of a marked value waits for the next chunk, and is
 * dropped when the node finishes (its final output, masked, follows in `node.succeeded`).
 */
class StreamMasker {
  private pending = '';

  constructor(private readonly marked: MarkedValues) {}

  push(chunk: string): string {
    const text = this.pending + chunk;
    const matches = this.marked.matches(text);
    let cut = Math.max(0, text.length - HOLD_BACK);
    // A match reaching into the held-back part may still grow: hold it back whole.
    for (const [start, end] of matches) if (start < cut && end > cut) cut = start;
    this.pending = text.slice(cut);
    return this.marked.maskText(text, matches, cut);
  }
}

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
  private readonly marked = new MarkedValues();
  private readonly streams = new Map<string, StreamMasker>();

  constructor(
    spec: RedactSpec,
    input: unknown,
    private readonly shape: MaskingShape = {
      vocabulary: new Set(),
      inputNodeIds: new Set(),
      outputNodes: new Map(),
      taintedInputs: new Map(),
    },
  ) {
    this.paths = spec.inputPaths.map((p) => p.split('.').filter(Boolean));
    this.nodes = new Set(spec.nodes);
    for (const p of this.paths)
      editPath(input, p, (v) => {
        this.marked.add(v);
        return v;
      });
  }

  /** The input with every marked field replaced. */
  maskInput(input: unknown): unknown {
    let out = input;
    for (const p of this.paths) out = editPath(out, p, () => REDACTED);
    return out;
  }

  /**
   * Replaces marked values found anywhere inside `value`, in keys too below the top level (top-level keys are
   * port and field names the flow declares); a value nested too deep is replaced whole.
   */
  scrub(value: unknown): unknown {
    if (this.marked.empty) return value;
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.marked.maskText(v);
      if (typeof v === 'number') return this.marked.hasNumber(v) ? REDACTED : v;
      if (!isObject(v)) return v;
      if (depth >= MAX_MASK_DEPTH) return REDACTED;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[depth ? this.marked.maskText(k) : k] = walk(x, depth + 1);
      return out;
    };
    return walk(value, 0);
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

  private streamed(nodeId: string, chunk: unknown): unknown {
    if (this.nodes.has(nodeId)) return REDACTED;
    if (typeof chunk !== 'string') return this.scrub(chunk);
    let stream = this.streams.get(nodeId);
    if (!stream) this.streams.set(nodeId, (stream = new StreamMasker(this.marked)));
    return stream.push(chunk);
  }

  /** A node finished: what its output holds becomes marked if the node is; its stream's held-back tail goes. */
  private finished(nodeId: string, outputs: Record<string, unknown> | undefined): void {
    this.streams.delete(nodeId);
    if (outputs && this.nodes.has(nodeId))
      this.marked.add(outputs, (s) => personalText(s, this.shape.vocabulary));
  }

  maskEvent(e: RunEvent): RunEvent {
    switch (e.type) {
      case 'run.started':
        return { ...e, input: this.scrub(this.maskInput(e.input)) };
      case 'node.started':
        return { ...e, inputs: this.nodeInputs(e.nodeId, e.inputs) };
      case 'node.succeeded':
        this.finished(e.nodeId, e.outputs);
        return { ...e, outputs: this.ports(e.nodeId, e.outputs, this.shape.inputNodeIds.has(e.nodeId)) };
      case 'node.failed': {
        this.finished(e.nodeId, e.outputs);
        const masked = { ...e, error: this.scrub(e.error) as typeof e.error };
        if (e.outputs) masked.outputs = this.ports(e.nodeId, e.outputs, false);
        return masked;
      }
      case 'node.streamed':
        return { ...e, chunk: this.streamed(e.nodeId, e.chunk) };
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
        // node.queued, node.skipped, run.interrupted: ids and reasons of the server's own, no data.
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
