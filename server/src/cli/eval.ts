/**
 * `finflow eval`: evaluates one or more flow versions (files, template ids, or stored versions `flowId@n`) on a
 * labelled dataset and prints the report as text, Markdown or JSON. The first flow is the baseline; each one after
 * it is compared with it (paired bootstrap intervals, McNemar). A progress bar goes to stderr when it is a terminal.
 *
 * Stored versions are read from the data directory's database (FINFLOW_DATA_DIR or --data-dir, or DATABASE_URL),
 * opened as `finflow audit` opens it, with the master key: like every CLI command the evaluation runs here, with
 * this machine's credentials and connections, and whoever holds the data directory and its key holds the flows.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadConfig } from '../config.js';
import { openStorage } from '../repo/open.js';
import { DATABASE_FILE } from '../repo/sqlite.js';
import type { Repository } from '../repo/types.js';
import { parseArgs } from 'node:util';
import {
  connectionProblems,
  createRuntime,
  evaluateFlows,
  EvaluationSpecError,
  flowDataClass,
  FlowValidationError,
  formatProblem,
  type EvaluationVersion,
} from '@finflow/runtime';
import {
  DatasetError,
  datasetDrift,
  datasetLimits,
  formatOfName,
  parseDataset,
  reportToMarkdown,
  type EvaluationReport,
  type EvaluationSpecInput,
} from '@finflow/runtime/evaluation';
import {
  CliError,
  cliServices,
  envConnections,
  envEgress,
  jsonArgument,
  loadFlow,
  makeRegistry,
  USAGE,
  type Io,
} from './main.js';

function parseOptions<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  argv: string[],
  options: O,
) {
  try {
    return parseArgs({
      args: argv,
      options: options as NonNullable<O>,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]}\n\n${USAGE}`);
  }
}

function number(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CliError(`${what} must be a number`);
  return n;
}

function readDataset(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return parseDataset(text, formatOfName(path), datasetLimits);
  } catch (err) {
    if (err instanceof DatasetError) throw new CliError(`${path}: ${err.message}`);
    throw err;
  }
}

/** The spec from --spec, then each option given on the command line over it. */
function specOf(values: Record<string, string | boolean | undefined>): EvaluationSpecInput {
  const base = values['spec'] === undefined ? {} : jsonArgument(String(values['spec']), '--spec');
  if (!base || typeof base !== 'object' || Array.isArray(base))
    throw new CliError('--spec must be a JSON object');
  const { $comment: _comment, ...spec } = base as Record<string, unknown>;
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  for (const k of ['label', 'input', 'prediction', 'score', 'positive', 'group', 'favourable'] as const)
    if (str(k) !== undefined) spec[k] = str(k);
  const check = str('text-check');
  if (check !== undefined) {
    spec['kind'] = 'text';
    spec['textCheck'] = check === 'exact' || check === 'contains' ? check : { expression: check };
  }
  const cost = str('cost');
  if (cost !== undefined) {
    const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(cost);
    if (!m) throw new CliError('--cost is <cost of a false negative>:<cost of a false positive>, e.g. 5:1');
    spec['cost'] = { falseNegative: Number(m[1]), falsePositive: Number(m[2]) };
  }
  for (const [k, key] of [
    ['threshold', 'threshold'],
    ['concurrency', 'concurrency'],
    ['bootstrap', 'bootstrap'],
    ['seed', 'seed'],
  ] as const) {
    const n = number(str(k), `--${k}`);
    if (n !== undefined) spec[key] = n;
  }
  if (spec['label'] === undefined)
    throw new CliError(`eval needs --label (a column or a JSONata expression)\n\n${USAGE}`);
  return spec as EvaluationSpecInput;
}

function bar() {
  if (!process.stderr.isTTY) return undefined;
  let last = '';
  return ({ version, done, total }: { version: string; done: number; total: number }) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `\r${version.slice(0, 30).padEnd(30)} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`;
    if (line === last) return;
    last = line;
    process.stderr.write(done === total ? `${line}\n` : line);
  };
}

/** `flowId@version`: a version stored on a server's data directory. */
const storedRef = /^([A-Za-z0-9][A-Za-z0-9_-]{0,99})@([1-9][0-9]{0,8})$/;

/**
 * The flow references to evaluate: the first as given, then each of --versions; a bare number in --versions is
 * another version of the first reference's stored flow (`finflow eval flw_x@3 --versions 4,5`).
 */
export function evalRefs(first: string, versions: string | undefined): string[] {
  const more = (versions ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const stored = storedRef.exec(first);
  return [
    first,
    ...more.map((r) => {
      if (!/^[0-9]+$/.test(r)) return r;
      if (!stored)
        throw new CliError(`--versions ${r}: a version number needs a stored flow (flowId@version) first`);
      return `${stored[1]}@${r}`;
    }),
  ];
}

/** Reads stored versions from the data directory, opening it once and only when a reference needs it. */
class StoredFlows {
  private repo: Repository | undefined;
  constructor(private readonly dataDir: string | undefined) {}

  async load(ref: string): Promise<{ flow: unknown; label: string } | undefined> {
    const m = storedRef.exec(ref);
    if (!m || isFile(ref)) return undefined;
    const [, flowId = '', n = ''] = m;
    if (!this.repo) {
      const env =
        this.dataDir === undefined ? process.env : { ...process.env, FINFLOW_DATA_DIR: this.dataDir };
      const config = loadConfig(env);
      // Never create a database where the user mistyped a directory: stored flows are read, not made.
      if (config.databaseUrl === undefined && !existsSync(join(config.dataDir, DATABASE_FILE)))
        throw new CliError(
          `${ref}: ${config.dataDir} holds no FinFlow database (--data-dir or FINFLOW_DATA_DIR)`,
        );
      try {
        this.repo = (await openStorage(config)).repo;
      } catch (err) {
        throw new CliError(`${ref}: cannot open the data directory: ${(err as Error).message}`);
      }
    }
    const version = await this.repo.getVersion(flowId, Number(n));
    if (!version) throw new CliError(`${ref}: no version ${n} of flow ${flowId} in the data directory`);
    return { flow: JSON.parse(version.document) as unknown, label: `${flowId}@${n}` };
  }

  async close(): Promise<void> {
    await this.repo?.close();
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const f = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

function printText(report: EvaluationReport, io: Io) {
  io.out(`Evaluation on ${report.dataset.name} (${report.dataset.rows} rows)`);
  for (const v of report.versions) {
    const q = v.quality;
    const p = v.performance;
    io.out(`\n${v.version}`);
    const acc = q.accuracyInterval;
    io.out(
      `  accuracy   ${f(q.accuracy)}${acc ? ` [${f(acc.lo)}, ${f(acc.hi)}]` : ''} on ${q.labelled} labelled rows`,
    );
    if (q.binary)
      io.out(
        `  positive "${q.binary.positive}": precision ${f(q.binary.precision)} recall ${f(q.binary.recall)} F1 ${f(q.binary.f1)} specificity ${f(q.binary.specificity)}`,
      );
    else if (q.classification)
      io.out(
        `  macro precision ${f(q.classification.macro.precision)} recall ${f(q.classification.macro.recall)} F1 ${f(q.classification.macro.f1)}`,
      );
    if (q.scores) {
      const i = q.scores.aucInterval;
      io.out(
        `  AUC        ${f(q.scores.auc)}${i ? ` [${f(i.lo)}, ${f(i.hi)}]` : ''}  Brier ${f(q.scores.brier)}  ECE ${f(q.scores.expectedCalibrationError)}`,
      );
    }
    if (q.cost) {
      const i = q.cost.interval;
      io.out(
        `  cost/row   ${f(q.cost.perRow)}${i ? ` [${f(i.lo)}, ${f(i.hi)}]` : ''} (FN ${q.cost.matrix.falseNegative}, FP ${q.cost.matrix.falsePositive})`,
      );
    }
    if (q.adverseImpact)
      io.out(
        `  adverse impact: min ratio ${f(q.adverseImpact.minRatio)} (${q.adverseImpact.fourFifths}) over ${q.adverseImpact.groups.map((g) => `${g.group} ${f(g.rate)}`).join(', ')}`,
      );
    io.out(
      `  latency ms p50 ${f(p.latencyMs.p50, 2)} p95 ${f(p.latencyMs.p95, 2)} p99 ${f(p.latencyMs.p99, 2)}; CPU ${f(p.cpuMsPerRun, 2)} ms/run; peak RSS ${f(p.peakRssMiB, 0)} MiB; tokens ${f(p.tokens.perRun, 1)}/run; ${p.failed} failed, ${p.waiting} waiting`,
    );
    const slow = p.nodes.slice(0, 5).map((n) => `${n.node} ${f(n.ms.p50, 2)}`);
    if (slow.length) io.out(`  slowest nodes (p50 ms): ${slow.join(', ')}`);
  }
  if (report.drift) {
    io.out(`\ndrift against ${report.drift.baseline} (PSI; warn ≥ 0.1, alert ≥ 0.25)`);
    for (const d of report.drift.features.slice(0, 10))
      io.out(`  ${d.name.padEnd(24)} ${f(d.psi)} ${d.level}`);
  }
  for (const c of report.comparisons) {
    io.out(`\n${c.challenger} − ${c.baseline} (paired bootstrap 95% CI)`);
    io.out(
      `  Δ accuracy ${f(c.accuracy.estimate)} [${f(c.accuracy.lo)}, ${f(c.accuracy.hi)}]; McNemar p ${f(c.mcnemar.pValue, 4)} (${c.mcnemar.method}, ${c.mcnemar.b} vs ${c.mcnemar.c})`,
    );
    if (c.auc) io.out(`  Δ AUC ${f(c.auc.estimate)} [${f(c.auc.lo)}, ${f(c.auc.hi)}]`);
    if (c.cost) io.out(`  Δ cost/row ${f(c.cost.estimate)} [${f(c.cost.lo)}, ${f(c.cost.hi)}]`);
  }
}

export async function evalCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(argv, {
    dataset: { type: 'string', short: 'd' },
    label: { type: 'string', short: 'l' },
    versions: { type: 'string' },
    spec: { type: 'string' },
    input: { type: 'string' },
    prediction: { type: 'string' },
    score: { type: 'string' },
    positive: { type: 'string' },
    threshold: { type: 'string' },
    cost: { type: 'string' },
    group: { type: 'string' },
    favourable: { type: 'string' },
    'text-check': { type: 'string' },
    concurrency: { type: 'string' },
    bootstrap: { type: 'string' },
    seed: { type: 'string' },
    limit: { type: 'string' },
    baseline: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
    md: { type: 'boolean' },
    out: { type: 'string', short: 'o' },
  } as const);
  const [ref] = positionals;
  if (!ref || positionals.length > 1)
    throw new CliError(`eval takes one flow file, template id or flowId@version\n\n${USAGE}`);
  if (!values.dataset) throw new CliError(`eval needs --dataset <file.csv | file.jsonl>\n\n${USAGE}`);
  if (values.json && values.md) throw new CliError('--json and --md exclude each other');
  const spec = specOf(values);
  let rows = readDataset(values.dataset);
  // Read before the runs, so a bad baseline file is reported at once.
  const baseline = values.baseline ? readDataset(values.baseline) : undefined;
  const limit = number(values.limit, '--limit');
  if (limit !== undefined) rows = rows.slice(0, Math.max(0, Math.floor(limit)));
  const refs = evalRefs(ref, values.versions);
  const runtime = createRuntime({ registry: await makeRegistry(io) });
  const connections = envConnections();
  const versions: EvaluationVersion[] = [];
  const stored = new StoredFlows(values['data-dir']);
  const loaded: { flow: unknown; label: string }[] = [];
  try {
    for (const r of refs) loaded.push((await stored.load(r)) ?? loadFlow(r));
  } finally {
    await stored.close();
  }
  for (const { flow, label } of loaded) {
    try {
      const prepared = runtime.prepare(flow);
      const problems = connectionProblems(prepared, connections);
      if (problems.length) throw new FlowValidationError(problems);
      versions.push({ version: label, flow: prepared });
    } catch (err) {
      if (!(err instanceof FlowValidationError)) throw err;
      io.err(`${label} is not a valid flow:`);
      for (const p of err.problems) io.err(`  ${formatProblem(p)}`);
      return 2;
    }
  }
  const egress = envEgress();
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted from the terminal'));
  process.once('SIGINT', onSignal);
  let report: EvaluationReport;
  const progress = bar();
  try {
    const dataClass = versions.map((v) => flowDataClass(v.flow.flow));
    report = await evaluateFlows({
      runtime,
      versions,
      rows,
      datasetName: basename(values.dataset),
      spec,
      signal: controller.signal,
      ...(progress ? { onProgress: progress } : {}),
      start: { services: cliServices(connections, egress, dataClass[0] ?? 'internal', io) },
    });
  } catch (err) {
    if (err instanceof EvaluationSpecError) throw new CliError(`the evaluation spec: ${err.message}`);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    await egress.close();
  }
  if (values.baseline && baseline) {
    report.drift = { baseline: basename(values.baseline), features: datasetDrift(baseline, rows) };
  }
  const text = values.json
    ? JSON.stringify(report, null, 2)
    : values.md
      ? reportToMarkdown(report)
      : undefined;
  if (values.out) writeFileSync(values.out, text ?? JSON.stringify(report, null, 2));
  if (text !== undefined) io.out(text);
  else printText(report, io);
  return 0;
}
