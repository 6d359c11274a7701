/**
 * Runs flow versions over a labelled dataset and builds the evaluation report: each row's input, label, answer and
 * score through the bounded JSONata evaluators, runs at a bounded concurrency, each run's time per node, the
 * process CPU and memory while it ran, and model tokens from nodes that report `usage`. Used by `finflow eval` and
 * the server's evaluation service; the figures themselves are the pure functions of report.ts.
 */
import { compileExpression, evaluateExpression } from '../expressions.js';
import type { Runtime, StartOptions } from '../executor.js';
import type { RunEvent } from '../events.js';
import type { PreparedFlow } from '../validate.js';
import type { DatasetRow } from './dataset.js';
import {
  compareVersions,
  evaluationSpecSchema,
  performanceOf,
  qualityOf,
  type EvaluationReport,
  type EvaluationSpecInput,
  type RowResult,
  type EvaluationSpec,
} from './report.js';

export interface EvaluationVersion {
  /** How the report names it: "v3", "champion.json", "template credit-approval". */
  version: string;
  flow: PreparedFlow;
}

export interface EvaluationProgress {
  version: string;
  done: number;
  total: number;
}

export interface EvaluateFlowsOptions {
  runtime: Runtime;
  versions: readonly EvaluationVersion[];
  rows: readonly DatasetRow[];
  datasetName: string;
  spec: EvaluationSpecInput;
  onProgress?: (p: EvaluationProgress) => void;
  signal?: AbortSignal;
  /** Per-run options (services, a deadline). */
  start?: Omit<StartOptions, 'signal' | 'store'>;
  now?: () => Date;
}

export class EvaluationSpecError extends Error {
  override readonly name = 'EvaluationSpecError';
}

const MIB = 1024 * 1024;
/** Longest stretch the runner keeps the event loop before it lets timers and I/O in. */
const YIELD_EVERY_MS = 10;

function asLabel(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function asScore(v: unknown): number | null {
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** A column name as it is, else JSONata over the row. */
async function fromRow(source: string, row: DatasetRow): Promise<unknown> {
  if (Object.hasOwn(row, source)) return row[source];
  return evaluateExpression(source, row);
}

function tokensOf(outputs: Record<string, unknown>): number {
  let total = 0;
  for (const v of Object.values(outputs)) {
    const usage = v && typeof v === 'object' ? (v as { totalTokens?: unknown; usage?: unknown }) : undefined;
    const u =
      usage && 'totalTokens' in usage ? usage : (usage?.usage as { totalTokens?: unknown } | undefined);
    if (u && typeof u.totalTokens === 'number' && Number.isFinite(u.totalTokens)) total += u.totalTokens;
  }
  return total;
}

async function evaluateRow(
  o: EvaluateFlowsOptions,
  spec: EvaluationSpec,
  flow: PreparedFlow,
  row: DatasetRow,
  index: number,
  memory: { sample(): void },
): Promise<RowResult> {
  let label: string | null = null;
  let group: string | undefined;
  const base = { index, predicted: null, score: null, correct: null, cpuMs: 0, nodeMs: {}, tokens: 0, ms: 0 };
  try {
    label = asLabel(await fromRow(spec.label, row));
    if (spec.group !== undefined) group = asLabel(await fromRow(spec.group, row)) ?? '(none)';
  } catch (err) {
    return { ...base, status: 'failed', label, error: `label: ${(err as Error).message}` };
  }
  const withGroup = group === undefined ? {} : { group };
  let tokens = 0;
  const store = {
    append(e: RunEvent) {
      if (e.type === 'node.succeeded') {
        tokens += tokensOf(e.outputs);
        memory.sample();
      }
    },
  };
  const cpu0 = process.cpuUsage();
  try {
    const input = spec.input === undefined ? row : await evaluateExpression(spec.input, row);
    // A signal per run, linked to the evaluation's and unlinked after, so listeners do not pile up on one signal.
    const run = new AbortController();
    const abort = () => run.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', abort, { once: true });
    const result = await o.runtime
      .run(flow, input, { ...o.start, store, signal: run.signal })
      .finally(() => o.signal?.removeEventListener('abort', abort));
    const cpu = process.cpuUsage(cpu0);
    const nodeMs: Record<string, number> = {};
    for (const [id, n] of Object.entries(result.nodes)) if (n.ms !== undefined) nodeMs[id] = n.ms;
    const common = {
      index,
      label,
      ...withGroup,
      ms: result.ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      nodeMs,
      tokens,
    };
    if (result.status === 'failed' || result.status === 'cancelled')
      return {
        ...common,
        status: result.status,
        predicted: null,
        score: null,
        correct: label === null ? null : false,
        error: result.error ? `${result.error.code}: ${result.error.message}` : result.status,
      };
    const outputs = result.outputs;
    const predicted =
      spec.prediction === undefined ? null : asLabel(await evaluateExpression(spec.prediction, outputs));
    const score = spec.score === undefined ? null : asScore(await evaluateExpression(spec.score, outputs));
    let correct: boolean | null = null;
    if (label !== null && predicted !== null) {
      if (spec.kind === 'classification') correct = predicted === label;
      else if (spec.textCheck === 'exact') correct = predicted.trim() === label.trim();
      else if (spec.textCheck === 'contains') correct = predicted.includes(label.trim());
      else
        correct = Boolean(
          await evaluateExpression(spec.textCheck.expression, { answer: predicted, label, row }),
        );
    }
    return { ...common, status: result.status, predicted, score, correct };
  } catch (err) {
    const cpu = process.cpuUsage(cpu0);
    return {
      ...base,
      ...withGroup,
      status: 'failed',
      label,
      correct: label === null ? null : false,
      cpuMs: (cpu.user + cpu.system) / 1000,
      error: (err as Error).message,
    };
  }
}

/** The spec with its defaults, or EvaluationSpecError saying what is wrong or missing. */
export function parseEvaluationSpec(input: unknown): EvaluationSpec {
  const parsed = evaluationSpecSchema.safeParse(input);
  if (!parsed.success)
    throw new EvaluationSpecError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; '),
    );
  const spec = parsed.data;
  if (
    spec.kind === 'classification' &&
    spec.prediction === undefined &&
    (spec.score === undefined || spec.positive === undefined)
  )
    throw new EvaluationSpecError(
      'a classification needs a prediction expression, or a score with the positive class',
    );
  if (spec.kind === 'text' && spec.prediction === undefined)
    throw new EvaluationSpecError('a text evaluation needs a prediction expression (the answer to check)');
  for (const [name, source] of [
    ['label', spec.label],
    ['input', spec.input],
    ['prediction', spec.prediction],
    ['score', spec.score],
    ['group', spec.group],
    ['textCheck', typeof spec.textCheck === 'object' ? spec.textCheck.expression : undefined],
  ] as const) {
    if (source === undefined) continue;
    const compiled = compileExpression(source);
    // A plain column name is also valid JSONata (a path), so every field compiles or is refused here.
    if (!compiled.ok) throw new EvaluationSpecError(`${name}: ${compiled.message}`);
  }
  return spec;
}

/** Evaluates each version on every row (versions one after the other, rows at the spec's concurrency). */
export async function evaluateFlows(o: EvaluateFlowsOptions): Promise<EvaluationReport> {
  const spec = parseEvaluationSpec(o.spec);
  const perVersion: { version: string; rows: RowResult[]; process: Parameters<typeof performanceOf>[1] }[] =
    [];
  for (const v of o.versions) {
    const heap0 = process.memoryUsage().heapUsed;
    let peakRss = process.memoryUsage.rss();
    let peakHeap = heap0;
    let samples = 0;
    const memory = {
      sample() {
        // Every 8th node is enough to find the peak and keeps the sampling out of the figures.
        if (samples++ % 8) return;
        const m = process.memoryUsage();
        if (m.rss > peakRss) peakRss = m.rss;
        if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
      },
    };
    const rows: RowResult[] = new Array<RowResult>(o.rows.length);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    let done = 0;
    let lastYield = performance.now();
    const worker = async () => {
      for (;;) {
        // Runs of quick flows settle in microtasks alone: without a turn of the event loop now and then, an
        // evaluation would hold the server (requests, sockets, timers) until its last row.
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          lastYield = performance.now();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (o.signal?.aborted) return;
        const i = next++;
        if (i >= o.rows.length) return;
        rows[i] = await evaluateRow(o, spec, v.flow, o.rows[i] as DatasetRow, i, memory);
        done++;
        o.onProgress?.({ version: v.version, done, total: o.rows.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, o.rows.length) }, worker));
    if (o.signal?.aborted)
      throw o.signal.reason instanceof Error ? o.signal.reason : new Error('evaluation cancelled');
    const cpu = process.cpuUsage(cpu0);
    memory.sample();
    perVersion.push({
      version: v.version,
      rows,
      process: {
        cpuMsTotal: (cpu.user + cpu.system) / 1000,
        peakRssMiB: peakRss / MIB,
        peakHeapGrowthMiB: Math.max(0, peakHeap - heap0) / MIB,
        wallMs: performance.now() - t0,
        concurrency: spec.concurrency,
      },
    });
  }
  const [baseline, ...challengers] = perVersion;
  return {
    formatVersion: 1,
    createdAt: (o.now?.() ?? new Date()).toISOString(),
    dataset: { name: o.datasetName, rows: o.rows.length },
    spec,
    versions: perVersion.map((v) => ({
      version: v.version,
      quality: qualityOf(v.rows, spec),
      performance: performanceOf(v.rows, v.process),
    })),
    comparisons: baseline ? challengers.map((c) => compareVersions(baseline, c, spec)) : [],
  };
}
