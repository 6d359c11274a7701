/**
 * Node types for the runtime's own tests. The runtime cannot import the SDK or the built-in nodes (they depend on
 * it), so its tests declare small definitions directly against the NodeDefinition contract.
 */
import { z } from 'zod';
import { NodeError, NodeWaiting } from '../errors.js';
import type { AnyNodeDefinition, NodeContext, Port } from '../node.js';
import type { PortType } from '../ports.js';
import { createRegistry } from '../registry.js';

const retry = { maxAttempts: 1, initialDelayMs: 1, backoff: 2, maxDelayMs: 100, nonRetryable: [] };

function p<T extends PortType>(type: T, required = true): Port<T, boolean> {
  return { type, required };
}

function def(
  partial: Partial<AnyNodeDefinition> & Pick<AnyNodeDefinition, 'type' | 'run'>,
): AnyNodeDefinition {
  return {
    version: 1,
    meta: { title: partial.type, category: 'custom', description: partial.type },
    config: z.object({}),
    inputs: {},
    outputs: {},
    timeoutMs: 5_000,
    retry,
    ...partial,
  };
}

/** Records the order in which nodes ran, for ordering assertions. */
export class Trace {
  readonly started: string[] = [];
  readonly finished: string[] = [];
  active = 0;
  maxActive = 0;
}

export function testNodes(trace = new Trace()): AnyNodeDefinition[] {
  return [
    def({
      type: 'io.input',
      config: z.object({ schema: z.record(z.string(), z.unknown()).default({ type: 'object' }) }),
      outputs: { value: p('record') },
      dynamicOutputs: {
        path: 'schema.properties',
        mode: 'keys',
        type: 'any',
        typeFromJsonSchema: true,
        required: false,
      },
      run: (ctx: NodeContext) => {
        const input = ctx.scope.input as Record<string, unknown>;
        return { ...input, value: input };
      },
    }),
    def({
      type: 'io.output',
      config: z.object({ name: z.string() }),
      inputs: { value: p('any') },
      run: () => ({}),
    }),
    // Adds `add` to its input after `delayMs`, recording start/finish order and concurrency.
    def({
      type: 'test.step',
      config: z.object({
        add: z.number().default(1),
        delayMs: z.number().default(0),
        label: z.string().optional(),
      }),
      inputs: { in: p('number', false) },
      outputs: { out: p('number') },
      async run(ctx, inputs, config: { add: number; delayMs: number }) {
        trace.started.push(ctx.nodeId);
        trace.active++;
        trace.maxActive = Math.max(trace.maxActive, trace.active);
        try {
          if (config.delayMs > 0) {
            await new Promise<void>((resolve, reject) => {
              const t = setTimeout(resolve, config.delayMs);
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t);
                reject(ctx.signal.reason as Error);
              });
            });
          }
          return { out: ((inputs['in'] as number | undefined) ?? 0) + config.add };
        } finally {
          trace.active--;
          trace.finished.push(ctx.nodeId);
        }
      },
    }),
    // Busy for `us` microseconds, synchronously: work that cannot be interrupted.
    def({
      type: 'test.spin',
      config: z.object({ us: z.number().default(50) }),
      inputs: { in: p('number', false) },
      outputs: { out: p('number') },
      run(_ctx, inputs, config: { us: number }) {
        const until = performance.now() + config.us / 1000;
        while (performance.now() < until);
        return { out: ((inputs['in'] as number | undefined) ?? 0) + 1 };
      },
    }),
    // Sums any number of numeric inputs a..d.
    def({
      type: 'test.sum',
      inputs: { a: p('number'), b: p('number'), c: p('number', false), d: p('number', false) },
      outputs: { out: p('number') },
      run(ctx, inputs) {
        trace.started.push(ctx.nodeId);
        trace.finished.push(ctx.nodeId);
        const values = ['a', 'b', 'c', 'd']
          .map((k) => inputs[k] as number | undefined)
          .filter((v) => v !== undefined);
        return { out: values.reduce((s, v) => s + v, 0) };
      },
    }),
    // Fails its first `failures` attempts with `code`, then succeeds.
    def({
      type: 'test.flaky',
      config: z.object({ failures: z.number(), code: z.string().default('UPSTREAM_DOWN') }),
      inputs: { in: p('any', false) },
      outputs: { out: p('number') },
      run(ctx, _inputs, config: { failures: number; code: string }) {
        if (ctx.attempt <= config.failures) throw new NodeError(`attempt ${ctx.attempt} failed`, config.code);
        return { out: ctx.attempt };
      },
    }),
    // Never finishes and ignores its signal: the runtime must still end it.
    def({
      type: 'test.hang',
      inputs: { in: p('any', false) },
      outputs: { out: p('any') },
      run: () => new Promise(() => {}),
    }),
    // Branch on a boolean config.
    def({
      type: 'test.if',
      config: z.object({ take: z.boolean() }),
      inputs: { in: p('any') },
      outputs: { yes: p('any', false), no: p('any', false) },
      run: (_ctx, inputs, config: { take: boolean }) =>
        config.take ? { yes: inputs['in'] } : { no: inputs['in'] },
    }),
    // Joins: first arrived of a, b.
    def({
      type: 'test.merge',
      inputs: { a: p('any', false), b: p('any', false) },
      outputs: { out: p('any') },
      run: (_ctx, inputs) => ({ out: inputs['a'] ?? inputs['b'] }),
    }),
    // Emits text of a declared type for coercion and output-validation tests.
    def({
      type: 'test.emit',
      config: z.object({ value: z.unknown() }),
      inputs: { in: p('any', false) },
      outputs: { text: p('text', false), number: p('number', false), any: p('any', false) },
      run: (_ctx, _inputs, config: { value: unknown }) => config.value as Record<string, unknown>,
    }),
    def({
      type: 'test.text',
      inputs: { text: p('text') },
      outputs: { out: p('text') },
      run: (_ctx, inputs) => ({ out: inputs['text'] }),
    }),
    def({
      type: 'test.table',
      inputs: { rows: p('table') },
      outputs: { count: p('number') },
      run: (_ctx, inputs) => ({ count: (inputs['rows'] as unknown[]).length }),
    }),
    // Reads a secret and logs it (the log must be redacted).
    def({
      type: 'test.secret',
      config: z.object({ name: z.string() }),
      inputs: { in: p('any', false) },
      outputs: { length: p('number') },
      async run(ctx, _inputs, config: { name: string }) {
        const value = await ctx.secret(config.name);
        ctx.log.info(`connecting with key ${value}`, { key: value });
        ctx.stream('token-1 ');
        return { length: value.length };
      },
    }),
    // Waits for a decision `{ add }` (adds it to its input) or `{ expire: true }` (fails REVIEW_EXPIRED).
    def({
      type: 'test.wait',
      config: z.object({ queue: z.string().default('q') }),
      inputs: { in: p('number', false) },
      outputs: { out: p('number') },
      run(ctx, inputs, config: { queue: string }) {
        trace.started.push(ctx.nodeId);
        trace.finished.push(ctx.nodeId);
        const decision = ctx.resumedWith as { add?: number; expire?: boolean } | undefined;
        const value = (inputs['in'] as number | undefined) ?? 0;
        if (decision === undefined) throw new NodeWaiting({ queue: config.queue, value });
        if (decision.expire) throw new NodeError('nobody decided in time', 'REVIEW_EXPIRED');
        return { out: value + (decision.add ?? 0) };
      },
    }),
    // Evaluates a config value (possibly an expression) and returns it.
    def({
      type: 'test.echo',
      config: z.object({ value: z.number() }),
      inputs: { in: p('any', false) },
      outputs: { out: p('number') },
      run: (_ctx, _inputs, config: { value: number }) => ({ out: config.value }),
    }),
  ];
}

export function testRegistry(trace = new Trace()) {
  return createRegistry(testNodes(trace));
}

type NodeSpec = { id: string; type: string; config?: Record<string, unknown>; [k: string]: unknown };

/** Builds a flow document from nodes and `from.port->to.port` edge strings. */
export function flow(nodes: NodeSpec[], edges: string[], extra: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    id: 'test-flow',
    name: 'Test flow',
    nodes: nodes.map((n) => ({ version: 1, config: {}, ...n })),
    edges: edges.map((e, i) => {
      const [from, to] = e.split('->') as [string, string];
      const [fn, fp] = from.split('.') as [string, string];
      const [tn, tp] = to.split('.') as [string, string];
      return { id: `e${i}`, from: { node: fn, port: fp }, to: { node: tn, port: tp } };
    }),
    ...extra,
  };
}
