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
  type NodeDefinition,
  type PortMap,
  type PortValues,
  type ConnectionEvent,
  type ConnectionResolver,
  type ConnectionSpecInput,
  type DataClass,
  type RetryPolicy,
  type Services,
  type SingleNodeResult,
} from '@finflow/runtime';
import type { z } from 'zod';

/**
 * The outputs a node declares, typed by port: required outputs are always there, optional ones may be absent.
 * Ports derived from config (a switch's cases, a code node's outputs) are not known to the type and read as
 * `unknown` by name.
 */
// The other parameters are `any` as in AnyNodeDefinition: a definition's validate() is contravariant in its config.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type OutputsOf<D> =
  D extends NodeDefinition<any, any, infer O extends PortMap>
    ? PortValues<O> & Readonly<Record<string, unknown>>
    : Readonly<Record<string, unknown>>;

/** The inputs a node declares, typed by port. */
export type InputsOf<D> =
  D extends NodeDefinition<any, infer I extends PortMap, any> ? PortValues<I> : Record<string, unknown>;

/** The config a node accepts as written in a flow (fields with defaults may be left out). */
export type ConfigOf<D> = D extends NodeDefinition<infer C extends z.ZodType, any, any> ? z.input<C> : never;
/* eslint-enable @typescript-eslint/no-explicit-any */

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
  /** The decision a waiting node is resumed with (`ctx.resumedWith`). */
  resumedWith?: unknown;
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
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.resumedWith === undefined ? {} : { resumedWith: options.resumedWith }),
    },
  );
}

/**
 * Runs a node and returns its outputs, typed from the node's declared output ports; throws with the node's error
 * code and message if it failed.
 */
export async function runNodeOk<D extends AnyNodeDefinition>(
  def: D,
  options: RunNodeOptions = {},
): Promise<OutputsOf<D>> {
  const r = await runNode(def, options);
  if (r.status !== 'succeeded') {
    const err = new Error(`${def.type} failed: ${r.error?.code} ${r.error?.message}`) as Error & {
      code?: string;
    };
    if (r.error) err.code = r.error.code;
    throw err;
  }
  return (r.outputs ?? {}) as OutputsOf<D>;
}
