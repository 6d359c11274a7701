/**
 * The evaluation report: what to measure (the spec), what each evaluated row gave (the row records), and the
 * figures built from them: quality for classes, scores or text, response time and resources, and versions side by
 * side with paired intervals and McNemar's test. Pure functions over plain data, so the server stores a report,
 * the CLI prints it and the editor draws it from the same shape.
 */
import { z } from 'zod';
import type { FeatureDrift } from './drift.js';
import {
  adverseImpact,
  bayesThreshold,
  binaryMetrics,
  brierScore,
  classificationMetrics,
  costWeightedError,
  expectedCalibrationError,
  reliabilityCurve,
  rocAuc,
  rocCurve,
  thinCurve,
  type AdverseImpact,
  type BinaryMetrics,
  type ClassificationMetrics,
  type ReliabilityBin,
  type RocCurve,
} from './metrics.js';
import {
  bootstrapInterval,
  histogram,
  mcnemar,
  summarise,
  type HistogramBin,
  type Interval,
  type McNemarResult,
  type Summary,
} from './stats.js';

const expression = z.string().min(1).max(4_000);

/** What an evaluation measures. Expressions are JSONata, evaluated in the runtime's bounded evaluators. */
export const evaluationSpecSchema = z
  .object({
    /** A column of the dataset, or a JSONata expression over the row, giving the true label. */
    label: expression,
    /** JSONata over the row giving the flow's input; the row itself when absent. */
    input: expression.optional(),
    /** JSONata over the run's outputs (keyed by output name) giving the predicted class or text. */
    prediction: expression.optional(),
    /** JSONata over the outputs giving the probability of the positive class. */
    score: expression.optional(),
    /** classification: classes (and scores); text: answers checked against the label. */
    kind: z.enum(['classification', 'text']).default('classification'),
    /** The label value of the positive (bad, fraud) class, for binary figures, AUC and cost. */
    positive: z.union([z.string().max(200), z.number()]).optional(),
    /** Score at or above which a row is predicted positive when there is no prediction expression. */
    threshold: z.number().min(0).max(1).optional(),
    cost: z
      .object({ falseNegative: z.number().nonnegative(), falsePositive: z.number().nonnegative() })
      .optional(),
    /** text: exact (trimmed, case-sensitive), contains (the answer contains the label), or a JSONata check over { answer, label, row }. */
    textCheck: z.union([z.enum(['exact', 'contains']), z.object({ expression })]).default('exact'),
    /** A column held out of the model, for the adverse-impact ratio across its groups. */
    group: z.string().min(1).max(200).optional(),
    /** The predicted value that is favourable to the applicant (approve), for adverse impact. */
    favourable: z.union([z.string().max(200), z.number()]).optional(),
    concurrency: z.number().int().min(1).max(32).default(4),
    bootstrap: z.number().int().min(0).max(5_000).default(1_000),
    seed: z.number().int().default(1),
  })
  .strict();

export type EvaluationSpec = z.output<typeof evaluationSpecSchema>;
export type EvaluationSpecInput = z.input<typeof evaluationSpecSchema>;

/** What one dataset row gave under one flow version. */
export interface RowResult {
  index: number;
  status: 'succeeded' | 'failed' | 'cancelled' | 'waiting';
  label: string | null;
  predicted: string | null;
  score: number | null;
  /** Text checks: whether the check passed. Classes: predicted === label. Null when unknown. */
  correct: boolean | null;
  group?: string;
  error?: string;
  ms: number;
  /** Process CPU while the run was in flight (exact when runs do not overlap). */
  cpuMs: number;
  nodeMs: Record<string, number>;
  tokens: number;
}

export interface Quality {
  rows: number;
  /** Rows with a label. */
  labelled: number;
  accuracy: number;
  accuracyInterval?: Interval;
  classification?: ClassificationMetrics;
  binary?: BinaryMetrics & { positive: string; threshold?: number };
  cost?: { perRow: number; interval?: Interval; matrix: { falseNegative: number; falsePositive: number } };
  scores?: {
    rows: number;
    auc: number;
    aucInterval?: Interval;
    brier: number;
    expectedCalibrationError: number;
    roc: RocCurve;
    reliability: ReliabilityBin[];
  };
  adverseImpact?: AdverseImpact & { favourable: string };
}

export interface Performance {
  runs: number;
  failed: number;
  waiting: number;
  latencyMs: Summary;
  latencyHistogram: HistogramBin[];
  nodes: { node: string; ms: Summary }[];
  cpuMs: Summary;
  /** Total process CPU over total runs (holds under concurrency, where per-run CPU overlaps). */
  cpuMsPerRun: number;
  /** Highest resident set size seen during the evaluation, MiB. */
  peakRssMiB: number;
  /** Highest heap growth over the heap at the start, MiB. */
  peakHeapGrowthMiB: number;
  tokens: { total: number; perRun: number };
  wallMs: number;
  concurrency: number;
}

export interface VersionReport {
  version: string;
  quality: Quality;
  performance: Performance;
}

export interface Comparison {
  baseline: string;
  challenger: string;
  /** Challenger minus baseline, paired bootstrap 95% intervals. */
  accuracy: Interval;
  auc?: Interval;
  /** Cost per row (lower is better): challenger minus baseline. */
  cost?: Interval;
  mcnemar: McNemarResult;
}

export interface EvaluationReport {
  formatVersion: 1;
  createdAt: string;
  dataset: { name: string; rows: number };
  spec: EvaluationSpec;
  versions: VersionReport[];
  comparisons: Comparison[];
  /** Population stability of the dataset's columns against a baseline dataset, when one was given. */
  drift?: { baseline: string; features: FeatureDrift[] };
}

const isLabelled = (r: RowResult) => r.label !== null;

/** Binary predictions of rows: from the predicted class when there is one, else the score against the threshold. */
function binaryOf(rows: readonly RowResult[], positive: string, threshold: number | undefined) {
  return rows.map((r) =>
    r.predicted !== null
      ? r.predicted === positive
        ? 1
        : 0
      : r.score !== null && threshold !== undefined && r.score >= threshold
        ? 1
        : 0,
  );
}

/** The threshold used when predictions come from scores: the spec's, else the cost matrix's Bayes threshold, else 0.5. */
export function thresholdOf(spec: EvaluationSpec): number {
  return spec.threshold ?? (spec.cost ? bayesThreshold(spec.cost) : 0.5);
}

/** Whether each row is right: the row's own check for text, the predicted class (or thresholded score) for classes. */
export function correctness(rows: readonly RowResult[], spec: EvaluationSpec): boolean[] {
  const positive = spec.positive === undefined ? undefined : String(spec.positive);
  const threshold = thresholdOf(spec);
  return rows.map((r) => {
    if (spec.kind === 'text' || r.predicted !== null) return r.correct === true;
    if (positive !== undefined && r.score !== null && r.label !== null)
      return r.score >= threshold === (r.label === positive);
    return false;
  });
}

function mean(xs: ArrayLike<number>, idx: Int32Array): number {
  let s = 0;
  for (const i of idx) s += xs[i] as number;
  return idx.length ? s / idx.length : NaN;
}

/** Quality figures of one version's rows (unlabelled rows left out; a failed run counts as wrong). */
export function qualityOf(all: readonly RowResult[], spec: EvaluationSpec): Quality {
  const rows = all.filter(isLabelled);
  const correct = correctness(rows, spec).map((c) => (c ? 1 : 0));
  const iterations = spec.bootstrap;
  const accuracyInterval = bootstrapInterval(rows.length, (idx) => mean(correct, idx), {
    iterations,
    seed: spec.seed,
  });
  const q: Quality = {
    rows: all.length,
    labelled: rows.length,
    accuracy: accuracyInterval.estimate,
    ...(iterations ? { accuracyInterval: strip(accuracyInterval) } : {}),
  };
  if (spec.kind === 'text') return q;
  const positive = spec.positive === undefined ? undefined : String(spec.positive);
  const threshold = thresholdOf(spec);
  const hasPredictions = rows.some((r) => r.predicted !== null);
  if (hasPredictions)
    q.classification = classificationMetrics(
      rows.map((r) => r.label as string),
      rows.map((r) => r.predicted ?? '(no answer)'),
    );
  if (positive !== undefined) {
    const y = rows.map((r) => (r.label === positive ? 1 : 0));
    const p = binaryOf(rows, positive, threshold);
    q.binary = { ...binaryMetrics(y, p), positive, ...(hasPredictions ? {} : { threshold }) };
    if (spec.cost) {
      const c = spec.cost;
      const perRowCost = y.map((yi, i) =>
        yi === 1 && p[i] === 0 ? c.falseNegative : yi === 0 && p[i] === 1 ? c.falsePositive : 0,
      );
      const interval = bootstrapInterval(rows.length, (idx) => mean(perRowCost, idx), {
        iterations,
        seed: spec.seed,
      });
      q.cost = {
        perRow: costWeightedError(q.binary, c),
        matrix: c,
        ...(iterations ? { interval: strip(interval) } : {}),
      };
    }
    const scored = rows
      .map((r, i) => ({ s: r.score, y: y[i] as number }))
      .filter((x) => x.s !== null && Number.isFinite(x.s));
    if (scored.length) {
      const s = Float64Array.from(scored, (x) => x.s as number);
      const ys = Int8Array.from(scored, (x) => x.y);
      const auc = bootstrapInterval(scored.length, (idx) => rocAuc(pick(s, idx), pick(ys, idx)), {
        iterations,
        seed: spec.seed,
      });
      q.scores = {
        rows: scored.length,
        auc: auc.estimate,
        ...(iterations ? { aucInterval: strip(auc) } : {}),
        brier: brierScore(s, ys),
        expectedCalibrationError: expectedCalibrationError(reliabilityCurve(s, ys, 10)),
        roc: thinCurve(rocCurve(s, ys), 200),
        reliability: reliabilityCurve(s, ys, 10),
      };
    }
  }
  if (spec.group !== undefined && spec.favourable !== undefined) {
    const favourable = String(spec.favourable);
    const grouped = all.filter((r) => r.group !== undefined);
    if (grouped.length)
      q.adverseImpact = {
        ...adverseImpact(
          grouped.map((r) => r.group as string),
          grouped.map((r) => r.predicted === favourable),
        ),
        favourable,
      };
  }
  return q;
}

function pick<T extends Float64Array | Int8Array>(xs: T, idx: Int32Array): T {
  const out = new (xs.constructor as new (n: number) => T)(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = xs[idx[i] as number] as number;
  return out;
}

function strip(i: Interval): Interval {
  return { estimate: i.estimate, lo: i.lo, hi: i.hi };
}

/** Latency, per-node time, CPU and tokens of one version's rows; the process figures come from the runner. */
export function performanceOf(
  rows: readonly RowResult[],
  process: {
    cpuMsTotal: number;
    peakRssMiB: number;
    peakHeapGrowthMiB: number;
    wallMs: number;
    concurrency: number;
  },
): Performance {
  const nodeIds = new Set<string>();
  for (const r of rows) for (const id of Object.keys(r.nodeMs)) nodeIds.add(id);
  const tokens = rows.reduce((s, r) => s + r.tokens, 0);
  return {
    runs: rows.length,
    failed: rows.filter((r) => r.status === 'failed' || r.status === 'cancelled').length,
    waiting: rows.filter((r) => r.status === 'waiting').length,
    latencyMs: summarise(rows.map((r) => r.ms)),
    latencyHistogram: histogram(
      rows.map((r) => r.ms),
      20,
      0.99,
    ),
    nodes: [...nodeIds]
      .map((node) => ({
        node,
        ms: summarise(rows.flatMap((r) => (r.nodeMs[node] === undefined ? [] : [r.nodeMs[node]]))),
      }))
      .sort((a, b) => b.ms.mean - a.ms.mean),
    cpuMs: summarise(rows.map((r) => r.cpuMs)),
    cpuMsPerRun: rows.length ? process.cpuMsTotal / rows.length : NaN,
    peakRssMiB: process.peakRssMiB,
    peakHeapGrowthMiB: process.peakHeapGrowthMiB,
    tokens: { total: tokens, perRun: rows.length ? tokens / rows.length : 0 },
    wallMs: process.wallMs,
    concurrency: process.concurrency,
  };
}

/**
 * A challenger against a baseline on the same rows: paired bootstrap intervals of the differences (each resample
 * keeps both versions' answers on a row together) and McNemar's test on which rows each got right.
 */
export function compareVersions(
  baseline: { version: string; rows: readonly RowResult[] },
  challenger: { version: string; rows: readonly RowResult[] },
  spec: EvaluationSpec,
): Comparison {
  const byIndex = new Map(challenger.rows.map((r) => [r.index, r]));
  const pairs = baseline.rows.filter(isLabelled).flatMap((a) => {
    const b = byIndex.get(a.index);
    return b ? [[a, b] as const] : [];
  });
  const a = pairs.map(([x]) => x);
  const b = pairs.map(([, y]) => y);
  const ca = correctness(a, spec);
  const cb = correctness(b, spec);
  const diff = ca.map((x, i) => (cb[i] ? 1 : 0) - (x ? 1 : 0));
  const options = { iterations: spec.bootstrap, seed: spec.seed };
  const out: Comparison = {
    baseline: baseline.version,
    challenger: challenger.version,
    accuracy: strip(bootstrapInterval(pairs.length, (idx) => mean(diff, idx), options)),
    mcnemar: mcnemar(ca, cb),
  };
  const positive = spec.positive === undefined ? undefined : String(spec.positive);
  if (positive !== undefined && spec.kind === 'classification') {
    const y = a.map((r) => (r.label === positive ? 1 : 0));
    const threshold = thresholdOf(spec);
    if (spec.cost) {
      const c = spec.cost;
      const rowCost = (p: number[]) =>
        y.map((yi, i) =>
          yi === 1 && p[i] === 0 ? c.falseNegative : yi === 0 && p[i] === 1 ? c.falsePositive : 0,
        );
      const costA = rowCost(binaryOf(a, positive, threshold));
      const costB = rowCost(binaryOf(b, positive, threshold));
      const d = costB.map((x, i) => x - (costA[i] as number));
      out.cost = strip(bootstrapInterval(pairs.length, (idx) => mean(d, idx), options));
    }
    const both = pairs.flatMap(([x, z], i) =>
      x.score !== null && z.score !== null ? [{ sa: x.score, sb: z.score, y: y[i] as number }] : [],
    );
    if (both.length) {
      const sa = Float64Array.from(both, (p) => p.sa);
      const sb = Float64Array.from(both, (p) => p.sb);
      const ys = Int8Array.from(both, (p) => p.y);
      out.auc = strip(
        bootstrapInterval(
          both.length,
          (idx) => rocAuc(pick(sb, idx), pick(ys, idx)) - rocAuc(pick(sa, idx), pick(ys, idx)),
          options,
        ),
      );
    }
  }
  return out;
}

/**
 * Whether a challenger may enter a pilot: it must not lose to the champion beyond `margin` on accuracy (the
 * interval's lower end above −margin) and, where there is a cost, not cost more beyond `margin` per row.
 */
export function challengerHolds(c: Comparison, margin: number): { holds: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (!(c.accuracy.lo >= -margin))
    reasons.push(`accuracy may be ${fmt(-c.accuracy.lo)} lower than the champion's (margin ${fmt(margin)})`);
  if (c.cost && !(c.cost.hi <= margin))
    reasons.push(`cost per row may be ${fmt(c.cost.hi)} higher than the champion's (margin ${fmt(margin)})`);
  return { holds: reasons.length === 0, reasons };
}

const fmt = (x: number, digits = 4) => (Number.isFinite(x) ? String(Number(x.toFixed(digits))) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const ci = (i: Interval | undefined, f: (x: number) => string = fmt) =>
  i ? `${f(i.estimate)} [${f(i.lo)}, ${f(i.hi)}]` : '–';

/** The report as Markdown: a table per version, then the comparisons. */
export function reportToMarkdown(report: EvaluationReport): string {
  const out: string[] = [
    `# Evaluation on ${report.dataset.name} (${report.dataset.rows} rows)`,
    '',
    `Created ${report.createdAt}.`,
    '',
  ];
  out.push(
    '## Quality',
    '',
    '| version | labelled | accuracy [95% CI] | precision | recall | F1 | AUC [95% CI] | Brier | cost/row [95% CI] |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const v of report.versions) {
    const q = v.quality;
    const b = q.binary;
    const m = q.classification?.macro;
    out.push(
      `| ${v.version} | ${q.labelled} | ${ci(q.accuracyInterval ?? { estimate: q.accuracy, lo: NaN, hi: NaN }, pct)} | ${fmt(b?.precision ?? m?.precision ?? NaN)} | ${fmt(b?.recall ?? m?.recall ?? NaN)} | ${fmt(b?.f1 ?? m?.f1 ?? NaN)} | ${q.scores ? ci(q.scores.aucInterval ?? { estimate: q.scores.auc, lo: NaN, hi: NaN }) : '–'} | ${q.scores ? fmt(q.scores.brier) : '–'} | ${q.cost ? ci(q.cost.interval ?? { estimate: q.cost.perRow, lo: NaN, hi: NaN }) : '–'} |`,
    );
  }
  for (const v of report.versions) {
    const c = v.quality.classification?.confusion;
    if (!c) continue;
    out.push(
      '',
      `### Confusion matrix, ${v.version} (rows: true, columns: predicted)`,
      '',
      `| | ${c.classes.join(' | ')} |`,
      `|---|${c.classes.map(() => '---').join('|')}|`,
    );
    c.classes.forEach((cls, i) => out.push(`| **${cls}** | ${(c.matrix[i] ?? []).join(' | ')} |`));
    const ai = v.quality.adverseImpact;
    if (ai) {
      out.push(
        '',
        `### Adverse impact, ${v.version} (favourable: ${ai.favourable}; four-fifths rule: ${ai.fourFifths})`,
        '',
        '| group | rows | favourable | rate | ratio |',
        '|---|---|---|---|---|',
      );
      for (const g of ai.groups)
        out.push(`| ${g.group} | ${g.count} | ${g.selected} | ${pct(g.rate)} | ${fmt(g.ratio, 3)} |`);
    }
  }
  out.push(
    '',
    '## Response time and resources',
    '',
    '| version | runs | failed | p50 ms | p95 ms | p99 ms | CPU ms/run | peak RSS MiB | tokens/run |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const v of report.versions) {
    const p = v.performance;
    out.push(
      `| ${v.version} | ${p.runs} | ${p.failed} | ${fmt(p.latencyMs.p50, 2)} | ${fmt(p.latencyMs.p95, 2)} | ${fmt(p.latencyMs.p99, 2)} | ${fmt(p.cpuMsPerRun, 2)} | ${fmt(p.peakRssMiB, 1)} | ${fmt(p.tokens.perRun, 1)} |`,
    );
  }
  for (const v of report.versions) {
    out.push(
      '',
      `### Time per node, ${v.version}`,
      '',
      '| node | p50 ms | p95 ms | p99 ms |',
      '|---|---|---|---|',
    );
    for (const n of v.performance.nodes)
      out.push(`| ${n.node} | ${fmt(n.ms.p50, 3)} | ${fmt(n.ms.p95, 3)} | ${fmt(n.ms.p99, 3)} |`);
  }
  if (report.comparisons.length) {
    out.push(
      '',
      '## Versions compared (challenger − baseline, paired bootstrap 95% CI)',
      '',
      '| baseline | challenger | Δ accuracy | Δ AUC | Δ cost/row | McNemar p |',
      '|---|---|---|---|---|---|',
    );
    for (const c of report.comparisons)
      out.push(
        `| ${c.baseline} | ${c.challenger} | ${ci(c.accuracy)} | ${ci(c.auc)} | ${ci(c.cost)} | ${fmt(c.mcnemar.pValue)} (${c.mcnemar.method}, ${c.mcnemar.b}/${c.mcnemar.c}) |`,
      );
  }
  if (report.drift) {
    out.push(
      '',
      `## Drift against ${report.drift.baseline} (population stability index)`,
      '',
      '| column | PSI | level |',
      '|---|---|---|',
    );
    for (const d of report.drift.features) out.push(`| ${d.name} | ${fmt(d.psi)} | ${d.level} |`);
  }
  return `${out.join('\n')}\n`;
}
