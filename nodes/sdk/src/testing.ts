/**
 * Testing helpers for node authors: run one node with a fake context (injected services, secrets and clock),
 * with its config and inputs validated exactly as in a flow.
 */
import {
  connectionSpecSchema,
  createConnectionResolver,
  createRegistry,
  createRuntime,
  type AnyNodeDefinition,
  type ConnectionEvent,
  type ConnectionResolver,
  type ConnectionSpecInput,
  type DataClass,
  type RetryPolicy,
  type Services,
  type SingleNodeResult,
} from '@finflow/runtime';

export interface RunNodeOptions {
  config?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  services?: Partial<Services>;
  /** Credentials available through ctx.secret. */
  secrets?: Record<string, string>;
  /** Connections by name, resolved and checked as the server does (see `fakeConnections`). */
  connections?: Record<string, ConnectionSpecInput>;
  signal?: AbortSignal;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Other node types the node may run through ctx.engine. */
  registry?: readonly AnyNodeDefinition[];
}

export function fakeSecrets(values: Record<string, string>): NonNullable<Services['secrets']> {
  return { get: async (name) => (Object.hasOwn(values, name) ? values[name] : undefined) };
}

/**
 * Connections for a test, checked by the same rule as the server's; `events` collects what the server would
 * audit (uses, refusals, routing decisions).
 */
export function fakeConnections(
  specs: Record<string, ConnectionSpecInput>,
  options: { flowDataClass?: DataClass; events?: ConnectionEvent[] } = {},
): ConnectionResolver {
  const list = Object.entries(specs).map(([name, spec]) => ({ name, ...connectionSpecSchema.parse(spec) }));
  const events = options.events;
  return createConnectionResolver({
    list: () => list,
    ...(options.flowDataClass ? { flowDataClass: options.flowDataClass } : {}),
    ...(events ? { record: (e: ConnectionEvent) => events.push(e) } : {}),
  });
}

export function fixedClock(at: number | string): Services['clock'] {
  const ms = typeof at === 'string' ? Date.parse(at) : at;
  return { now: () => ms };
}

/** Runs a node once; the result says whether it succeeded, with outputs or error, logs and streamed chunks. */
export async function runNode(
  def: AnyNodeDefinition,
  options: RunNodeOptions = {},
): Promise<SingleNodeResult> {
  const services: Partial<Services> = { ...options.services };
  if (options.secrets) services.secrets = fakeSecrets(options.secrets);
  if (options.connections) services.connections = fakeConnections(options.connections);
  const runtime = createRuntime({
    registry: createRegistry([def, ...(options.registry ?? []).filter((d) => d !== def)]),
    services,
  });
  return runtime.runNode(
    {
      type: def.type,
      version: def.version,
      config: options.config ?? {},
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    },
    options.inputs ?? {},
    options.signal ? { signal: options.signal } : {},
  );
}

/** Runs a node and returns its outputs; throws with the node's error code and message if it failed. */
export async function runNodeOk(
  def: AnyNodeDefinition,
  options: RunNodeOptions = {},
): Promise<Record<string, unknown>> {
  const r = await runNode(def, options);
  if (r.status !== 'succeeded') {
    const err = new Error(`${def.type} failed: ${r.error?.code} ${r.error?.message}`) as Error & {
      code?: string;
    };
    if (r.error) err.code = r.error.code;
    throw err;
  }
  return r.outputs ?? {};
}
