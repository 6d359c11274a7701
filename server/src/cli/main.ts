/**
 * The `finflow` command line: validate and run flows (files or templates), list the node catalog, run one node
 * alone, and (through the server modules) serve and administer. User mistakes get a one-line error and a
 * non-zero exit, never a stack trace.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  buildCatalog,
  connectionNamePattern,
  connectionProblems,
  connectionSpecSchema,
  createConnectionResolver,
  createRuntime,
  flowDataClass,
  flowDocumentJsonSchema,
  FlowInputError,
  FlowValidationError,
  formatProblem,
  MemoryRunStore,
  validateFlow,
  type ConnectionInfo,
  type ConnectionResolver,
  type DataClass,
  type NodeRegistry,
  type RunHandle,
  type Problem,
  type RunResult,
  type RunStore,
  type Runtime,
  type SecretResolver,
  type Services,
} from '@finflow/runtime';
import {
  builtinNodes,
  createBuiltinRegistry,
  createEgress,
  parseEgressAllowList,
  type Egress,
} from '@finflow/nodes';
import { getTemplate, listTemplates } from '@finflow/templates';
import { discoverPlugins, pluginSpecs } from '../plugins.js';
import { jsonMaxDepthFrom } from '../config.js';
import { maskingShape, redactSpecOf, RunMasker } from '../masking.js';
import { JsonInputError, parseJson, safeStringify } from '../security/safe-json.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export const USAGE = `Usage: finflow <command> [options]

Commands:
  validate <flow.json> [--json]                       check a flow document; exit 1 with its problems
  run <flow.json | template-id> [--input <file | JSON>] [--decisions <file | JSON>] [--json] [--events]
                                                      run a flow; exit 0 succeeded, 1 failed, 2 invalid,
                                                      3 waiting for a review (--decisions: by node id)
  catalog [--json]                                    list the node types
  node <type> [--config <file | JSON>] [--inputs <file | JSON>] [--json]
                                                      run one node alone (inputs keyed by input port)
  templates [--json]                                  list the scenario templates
  eval <flow.json | template-id | flowId@version> --dataset <file.csv | file.jsonl> --label <column | JSONata>
       [--versions <flow | flowId@version | version number,...>] [--data-dir <dir>] [--spec <file | JSON>] [--input <JSONata>] [--prediction <JSONata>]
       [--score <JSONata>] [--positive <label>] [--cost <fn>:<fp>] [--group <column>]
       [--favourable <value>] [--text-check exact|contains|<JSONata>] [--concurrency <n>]
       [--bootstrap <n>] [--limit <rows>] [--baseline <dataset>] [--json | --md] [--out <file>]
                                                      evaluate flow versions on a labelled dataset:
                                                      quality, latency, CPU, memory, tokens, paired
                                                      comparisons of the versions against the first;
                                                      --baseline adds the PSI drift of each column;
                                                      flowId@version reads a stored version from the data
                                                      directory (FINFLOW_DATA_DIR or --data-dir, DATABASE_URL)
  schema                                              print the JSON Schema of the flow document
  serve                                               serve the API, socket.io and the editor
  worker [--concurrency <n>]                          execute queued runs (queue mode: FINFLOW_MODE=queue,
                                                      REDIS_URL; see README)
  admin create --email <e> --name <n> [--password-stdin]
                                                      create an admin (the first is the instance owner)
  create-node <package-name> [--dir <folder>]         scaffold a node package (node, test, README, plugin key)
  dev <package dir> [--server <url>] [--once]         build and reload a node package into a running server
                                                      on every change (FINFLOW_EMAIL, FINFLOW_PASSWORD)
  audit checkpoint | verify [--workspace <id>] [--checkpoint <file>]
                                                      export a signed audit checkpoint; verify the chain
  rollout status|start|advance|pause|resume|rollback|kill <endpoint> [--reason <text>] [--version <n>]
                                                      drive a phased rollout on a running server
  flow promote <flow> --to <workspace> [--connection <from=to>]... [--credential <from=to>]...
                                                      promote a flow (history, model artefacts) into another
                                                      workspace on a running server, names remapped
  retrain <endpoint> [--reason <text>] [--no-wait] [--json] | --drift
                                                      retrain an endpoint's model from its feedback into a
                                                      new version (proposed, never published); --drift: PSI

Credentials for nodes run from the CLI come from FINFLOW_CREDENTIAL_<NAME> environment variables
(the credential "openai-prod" is FINFLOW_CREDENTIAL_OPENAI_PROD). Connections (the only way a node reaches
a model or transcription provider) come from FINFLOW_CONNECTIONS: a JSON object keyed by connection name,
inline or in a file, each value as PUT /api/connections/<name> takes it. FINFLOW_EGRESS_ALLOW opens
loopback, private or other internal addresses to them, as on the server.`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]}\n\n${USAGE}`);
  }
}

/** Reads JSON from a file, naming the file and the problem when it cannot. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`,
    );
  }
  return parseArgumentJson(text, path);
}

/** JSON given to the CLI, within the server's limits (nesting, finite numbers); a one-line error otherwise. */
function parseArgumentJson(text: string, where: string): unknown {
  try {
    return parseJson(text, { maxDepth: jsonMaxDepthFrom() });
  } catch (err) {
    if (!(err instanceof JsonInputError)) throw err;
    // "not valid JSON (<the parser's words>)", as before; the limits' messages say what they are.
    const m = /^not valid JSON: (.*)$/s.exec(err.message);
    throw new CliError(`${where}: ${m ? `not valid JSON (${m[1]})` : err.message}`);
  }
}

/** An option that is inline JSON when it starts like JSON, else a file path. */
export function jsonArgument(value: string, what: string): unknown {
  const trimmed = value.trim();
  if (/^[{["]/.test(trimmed) || trimmed === 'null' || /^-?\d/.test(trimmed))
    return parseArgumentJson(trimmed, what);
  return readJsonFile(value);
}

/** Credentials from FINFLOW_CREDENTIAL_<NAME> environment variables. */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return {
    get: async (name) => env[`FINFLOW_CREDENTIAL_${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`],
  };
}

/**
 * Connections from FINFLOW_CONNECTIONS: a JSON object keyed by connection name, inline or in a file, each value
 * as `PUT /api/connections/:name` takes it (the credential it names comes from FINFLOW_CREDENTIAL_<NAME>).
 */
export function envConnections(env: NodeJS.ProcessEnv = process.env): ConnectionInfo[] {
  const raw = env['FINFLOW_CONNECTIONS'];
  if (raw === undefined || !raw.trim()) return [];
  const value = jsonArgument(raw, 'FINFLOW_CONNECTIONS');
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new CliError('FINFLOW_CONNECTIONS: a JSON object keyed by connection name');
  return Object.entries(value as Record<string, unknown>).map(([name, spec]) => {
    if (!connectionNamePattern.test(name))
      throw new CliError(`FINFLOW_CONNECTIONS: "${name}" is not a connection name`);
    const parsed = connectionSpecSchema.safeParse(spec);
    if (!parsed.success)
      throw new CliError(
        `FINFLOW_CONNECTIONS: ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
      );
    return { name, ...parsed.data };
  });
}

/** The egress client of FINFLOW_EGRESS_ALLOW (public addresses only when unset). */
export function envEgress(env: NodeJS.ProcessEnv = process.env): Egress {
  try {
    return createEgress(parseEgressAllowList(env['FINFLOW_EGRESS_ALLOW']));
  } catch (err) {
    throw new CliError(`FINFLOW_EGRESS_ALLOW: ${(err as Error).message}`);
  }
}

/** What nodes run from the CLI are given: credentials, connections checked for the flow's data, egress. */
export function cliServices(
  connections: ConnectionInfo[],
  egress: Egress,
  dataClass: DataClass,
  io: Io,
): Partial<Services> & { connections: ConnectionResolver } {
  return {
    secrets: envSecrets(),
    egress,
    connections: createConnectionResolver({
      list: () => connections,
      flowDataClass: dataClass,
      // No audit trail here: refusals and routing decisions go to stderr.
      record: (e) => {
        if (e.type !== 'used')
          io.err(`[connection] ${e.type} ${e.connection} (${e.dataClass})${e.reason ? `: ${e.reason}` : ''}`);
      },
    }),
  };
}

/**
 * The built-in nodes plus the plugins the server would load: those named in FINFLOW_PLUGINS (one that fails is
 * a usage error), the packages in node_modules that declare a plugin, and the data directory's plugins folder
 * (one of those that fails is a warning, as the server logs it and starts without it).
 */
export async function makeRegistry(io: Io = stdio): Promise<NodeRegistry> {
  const env = process.env;
  const { plugins, failures } = await discoverPlugins({
    specs: pluginSpecs(env['FINFLOW_PLUGINS']),
    nodeModules: env['FINFLOW_DISCOVER_PLUGINS'] !== 'false',
    pluginsDir: resolve(env['FINFLOW_PLUGINS_DIR'] ?? join(env['FINFLOW_DATA_DIR'] ?? '.data', 'plugins')),
    taken: builtinNodes,
  });
  const named = failures.find((f) => f.source === 'env');
  if (named) throw new CliError(`FINFLOW_PLUGINS: plugin ${named.spec}: ${named.message}`);
  for (const f of failures) io.err(`finflow: warning: plugin ${f.spec} (${f.source}) left out: ${f.message}`);
  return createBuiltinRegistry(plugins.flatMap((p) => p.nodes));
}

async function makeRuntime(io: Io, store?: RunStore): Promise<Runtime> {
  return createRuntime({
    registry: await makeRegistry(io),
    services: { secrets: envSecrets() },
    ...(store ? { store } : {}),
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A flow from a file path, or a template by id. */
export function loadFlow(ref: string): { flow: unknown; label: string } {
  if (ref.endsWith('.json') || ref.includes('/') || isFile(ref))
    return { flow: readJsonFile(ref), label: ref };
  const template = getTemplate(ref);
  if (!template) {
    const ids = listTemplates().map((t) => t.meta.id);
    throw new CliError(
      `${ref}: no such file or template${ids.length ? ` (templates: ${ids.join(', ')})` : ''}`,
    );
  }
  return { flow: template.flow, label: `template ${ref}` };
}

async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new CliError(`validate takes one flow file\n\n${USAGE}`);
  const { flow, label } = loadFlow(file);
  const registry = await makeRegistry(io);
  const problems: Problem[] = validateFlow(flow, registry);
  // Whether a flow's connections exist depends on where it runs: checked when FINFLOW_CONNECTIONS says.
  if (!problems.length && process.env['FINFLOW_CONNECTIONS'])
    problems.push(...connectionProblems(createRuntime({ registry }).prepare(flow), envConnections()));
  if (values.json) io.out(JSON.stringify(problems.length ? { ok: false, problems } : { ok: true }, null, 2));
  else if (problems.length) {
    io.err(`${label}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const p of problems) io.err(`  ${formatProblem(p)}`);
  } else {
    const doc = flow as { nodes?: unknown[]; edges?: unknown[] };
    io.out(`${label} is valid (${doc.nodes?.length ?? 0} nodes, ${doc.edges?.length ?? 0} edges)`);
  }
  return problems.length ? 1 : 0;
}

function maskErrors(result: RunResult, masker: RunMasker): RunResult {
  const nodes: RunResult['nodes'] = {};
  for (const [id, n] of Object.entries(result.nodes))
    nodes[id] = n.error ? { ...n, error: masker.scrub(n.error) as typeof n.error } : n;
  return result.error
    ? { ...result, nodes, error: masker.scrub(result.error) as NonNullable<RunResult['error']> }
    : { ...result, nodes };
}

function summarise(result: RunResult) {
  const nodes: Record<string, { status: string; ms?: number; attempts: number; error?: unknown }> = {};
  for (const [id, n] of Object.entries(result.nodes)) {
    nodes[id] = {
      status: n.status,
      attempts: n.attempts,
      ...(n.ms === undefined ? {} : { ms: Math.round(n.ms * 1000) / 1000 }),
      ...(n.error ? { error: n.error } : {}),
    };
  }
  return {
    runId: result.runId,
    status: result.status,
    outputs: result.outputs,
    ...(result.error ? { error: result.error } : {}),
    ...(result.waiting ? { waiting: result.waiting } : {}),
    nodes,
  };
}

async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    input: { type: 'string', short: 'i' },
    decisions: { type: 'string' },
    json: { type: 'boolean' },
    events: { type: 'boolean' },
  });
  const [ref] = positionals;
  if (!ref || positionals.length > 1)
    throw new CliError(`run takes one flow file or template id\n\n${USAGE}`);
  const { flow, label } = loadFlow(ref);
  const input = values.input === undefined ? {} : jsonArgument(values.input, '--input');
  const decisions = values.decisions === undefined ? {} : jsonArgument(values.decisions, '--decisions');
  if (!decisions || typeof decisions !== 'object' || Array.isArray(decisions))
    throw new CliError('--decisions must be a JSON object: the decision of each waiting node, by node id');
  // The run's log, so a run that waits for a review can be resumed with the decisions given.
  const store = new MemoryRunStore();
  const runtime = await makeRuntime(io, store);
  const connections = envConnections();
  const egress = envEgress();
  let handle: RunHandle;
  let masker: RunMasker | undefined;
  try {
    const prepared = runtime.prepare(flow);
    const problems = connectionProblems(prepared, connections);
    if (problems.length) throw new FlowValidationError(problems);
    // The event stream is masked as the server masks stored and streamed events; the outputs printed at the
    // end are the run's real result, as an endpoint's caller gets it.
    const redact = redactSpecOf(prepared.flow);
    if (redact) masker = new RunMasker(redact, input, maskingShape(prepared, redact));
    handle = runtime.start(prepared, input, {
      store,
      services: cliServices(connections, egress, flowDataClass(prepared.flow), io),
    });
  } catch (err) {
    await egress.close();
    if (err instanceof FlowValidationError) {
      if (values.json) io.out(JSON.stringify({ ok: false, problems: err.problems }, null, 2));
      else {
        io.err(`${label} is not a valid flow:`);
        for (const p of err.problems) io.err(`  ${formatProblem(p)}`);
      }
      return 2;
    }
    if (err instanceof FlowInputError) {
      const where = values.input && !values.input.trim().startsWith('{') ? values.input : 'the input';
      if (values.json) io.out(JSON.stringify({ ok: false, inputErrors: err.errors }, null, 2));
      else
        io.err(
          `${where} does not match the flow's input schema: ${err.errors.map((e) => `${e.path || '(root)'} ${e.message}`).join('; ')}`,
        );
      return 2;
    }
    throw err;
  }
  const onSignal = () => handle.cancel('interrupted from the terminal');
  process.once('SIGINT', onSignal);
  try {
    let printed = -1;
    const print = async (h: typeof handle) => {
      if (!values.events) return;
      for await (const event of h.events()) {
        if (event.seq <= printed) continue;
        printed = event.seq;
        io.out(safeStringify(masker ? masker.maskEvent(event) : event).json);
      }
    };
    await print(handle);
    let raw = await handle.result;
    for (;;) {
      const waiting = raw.waiting ?? [];
      const given = waiting.filter((w) => (decisions as Record<string, unknown>)[w.nodeId] !== undefined);
      if (raw.status !== 'waiting' || given.length === 0) break;
      const chosen = Object.fromEntries(
        given.map((w) => [w.nodeId, (decisions as Record<string, unknown>)[w.nodeId]]),
      );
      handle = runtime.resume(flow, store.events(raw.runId), chosen, { store });
      await print(handle);
      raw = await handle.result;
    }
    // Error messages can quote the input; they are masked like the events.
    const result = masker ? maskErrors(raw, masker) : raw;
    if (values.json) io.out(JSON.stringify(summarise(result), null, 2));
    else if (!values.events) {
      const mark = result.status === 'succeeded' ? '✓' : '✗';
      io.out(`${mark} ${label} ${result.status} in ${result.ms.toFixed(1)} ms (run ${result.runId})`);
      if (result.error)
        io.out(
          `  error: ${result.error.code}${result.error.nodeId ? ` at ${result.error.nodeId}` : ''}: ${result.error.message}`,
        );
      for (const w of result.waiting ?? [])
        io.out(
          `  waiting: ${w.nodeId} in queue ${String(w.task['queue'] ?? '?')} (give its decision with --decisions '{"${w.nodeId}": {...}}')`,
        );
      io.out('outputs:');
      io.out(JSON.stringify(result.outputs, null, 2));
      io.out('nodes:');
      const width = Math.max(...Object.keys(result.nodes).map((k) => k.length), 4);
      for (const [id, n] of Object.entries(result.nodes)) {
        const ms = n.ms === undefined ? '' : `${n.ms.toFixed(1)} ms`;
        io.out(
          `  ${id.padEnd(width)}  ${n.status.padEnd(9)}  ${ms.padStart(10)}  ${n.attempts} attempt${n.attempts === 1 ? '' : 's'}${n.error ? `  ${n.error.code}: ${n.error.message}` : ''}`,
        );
      }
    }
    return result.status === 'succeeded' ? 0 : result.status === 'waiting' ? 3 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    await egress.close();
  }
}

async function catalogCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (positionals.length) throw new CliError(`catalog takes no arguments\n\n${USAGE}`);
  const catalog = buildCatalog(await makeRegistry(io));
  if (values.json) {
    io.out(JSON.stringify(catalog, null, 2));
    return 0;
  }
  const byCategory = new Map<string, typeof catalog>();
  for (const e of catalog) byCategory.set(e.meta.category, [...(byCategory.get(e.meta.category) ?? []), e]);
  for (const [category, entries] of byCategory) {
    io.out(`${category}`);
    for (const e of entries) {
      const ins = e.inputs.map((p) => `${p.name}:${p.type}${p.required ? '' : '?'}`).join(', ');
      const outs = e.outputs.map((p) => `${p.name}:${p.type}`).join(', ');
      io.out(`  ${`${e.type}@${e.version}`.padEnd(34)} ${e.meta.title}`);
      io.out(
        `  ${''.padEnd(34)} (${ins}) → (${outs})${e.dynamicInputs || e.dynamicOutputs ? ' + ports from config' : ''}`,
      );
    }
  }
  return 0;
}

async function nodeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' },
    inputs: { type: 'string', short: 'i' },
    json: { type: 'boolean' },
    version: { type: 'string' },
  });
  const [type] = positionals;
  if (!type || positionals.length > 1) throw new CliError(`node takes one node type\n\n${USAGE}`);
  const config = values.config === undefined ? {} : jsonArgument(values.config, '--config');
  const inputs = values.inputs === undefined ? {} : jsonArgument(values.inputs, '--inputs');
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new CliError('--config must be a JSON object');
  if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs))
    throw new CliError('--inputs must be a JSON object keyed by input port');
  const version = values.version === undefined ? undefined : Number(values.version);
  if (version !== undefined && (!Number.isInteger(version) || version < 1))
    throw new CliError('--version must be a positive integer');
  const registry = await makeRegistry(io);
  if (!registry.get(type)) throw new CliError(`unknown node type ${type} (see \`finflow catalog\`)`);
  const egress = envEgress();
  const result = await createRuntime({
    registry,
    services: cliServices(envConnections(), egress, 'internal', io),
  })
    .runNode(
      { type, config, ...(version === undefined ? {} : { version }) },
      inputs as Record<string, unknown>,
    )
    .finally(() => egress.close());
  const report = {
    status: result.status,
    outputs: result.outputs ?? {},
    ms: Math.round(result.ms * 1000) / 1000,
    ...(result.error ? { error: result.error } : {}),
  };
  if (values.json) io.out(JSON.stringify(report, null, 2));
  else {
    if (result.status === 'succeeded') io.out(JSON.stringify(report.outputs, null, 2));
    else io.err(`${type} failed: ${result.error?.code}: ${result.error?.message}`);
    for (const l of result.logs) io.err(`[${l.level}] ${l.message}`);
  }
  if (result.status === 'succeeded') return 0;
  return result.error?.code === 'INVALID_CONFIG' || result.error?.code === 'INVALID_INPUT' ? 2 : 1;
}

function templatesCommand(argv: string[], io: Io): number {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  const templates = listTemplates();
  if (values.json) {
    io.out(
      JSON.stringify(
        templates.map((t) => ({ ...t.meta, fixtures: t.fixtures.map((f) => f.file) })),
        null,
        2,
      ),
    );
    return 0;
  }
  for (const t of templates) {
    io.out(`${t.meta.id.padEnd(30)} ${t.meta.title.en} · ${t.meta.title.zh}`);
    for (const f of t.fixtures) io.out(`  ${''.padEnd(28)} fixture ${resolve(f.file)}`);
  }
  return 0;
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, io);
      case 'run':
        return await runCommand(rest, io);
      case 'catalog':
        return await catalogCommand(rest, io);
      case 'node':
        return await nodeCommand(rest, io);
      case 'templates':
        return templatesCommand(rest, io);
      case 'eval': {
        const { evalCommand } = await import('./eval.js');
        return await evalCommand(rest, io);
      }
      case 'schema':
        io.out(JSON.stringify(flowDocumentJsonSchema(), null, 2));
        return 0;
      case 'serve': {
        const { serveCommand } = await import('./serve.js');
        return await serveCommand(rest);
      }
      case 'worker': {
        const { workerCommand } = await import('./worker.js');
        return await workerCommand(rest);
      }
      case 'admin': {
        const { adminCommand } = await import('./admin.js');
        return await adminCommand(rest);
      }
      case 'create-node': {
        const { createNodeCommand } = await import('./create-node.js');
        return createNodeCommand(rest, io);
      }
      case 'dev': {
        const { devCommand } = await import('./dev.js');
        return await devCommand(rest, io);
      }
      case 'audit': {
        const { auditCommand } = await import('./audit.js');
        return await auditCommand(rest);
      }
      case 'flow': {
        const { flowCommand } = await import('./flow.js');
        return await flowCommand(rest, io);
      }
      case 'rollout': {
        const { rolloutCommand } = await import('./rollout.js');
        return await rolloutCommand(rest, io);
      }
      case 'retrain': {
        const { retrainCommand } = await import('./retrain.js');
        return await retrainCommand(rest, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new CliError(`unknown command ${command}\n\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`finflow: ${err.message}`);
      return err.exitCode;
    }
    io.err(
      `finflow: internal error: ${(err as Error).message ?? String(err)}${process.env['FINFLOW_DEBUG'] ? `\n${(err as Error).stack}` : ' (set FINFLOW_DEBUG=1 for details)'}`,
    );
    return 70;
  }
}
