/**
 * The inline expression evaluator against JSONata on every expression the six templates evaluate, with the data
 * each one sees in a real run of each fixture: whenever the inline evaluator answers, JSONata (as the isolated
 * pool runs it) answers the same, byte for byte once written out.
 */
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import {
  compileExpression,
  createRegistry,
  createRuntime,
  evaluateCompiledNow,
  expressionLimits,
  findExpressions,
  LinearRegExp,
  MemoryRunStore,
  type AnyNodeDefinition,
  type NodeContext,
} from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { listTemplates } from '@finflow/templates';

interface Seen {
  template: string;
  source: string;
  data: unknown;
}

/** The built-in nodes, each recording the expressions it evaluates and the data they see. */
function recordingRegistry(seen: Seen[], template: string, flowNodes: { id: string; config?: unknown }[]) {
  const base = createBuiltinRegistry();
  const defs: AnyNodeDefinition[] = [];
  for (const def of base.list()) {
    for (const v of base.versions(def.type)) {
      const d = base.get(def.type, v) as AnyNodeDefinition;
      defs.push({
        ...d,
        run(ctx: NodeContext, inputs: Record<string, unknown>, config: unknown) {
          const raw = flowNodes.find((n) => n.id === ctx.nodeId)?.config;
          for (const site of findExpressions(raw))
            seen.push({ template, source: site.source, data: ctx.scope });
          const recording = new Proxy(ctx, {
            get(target, prop) {
              if (prop === 'evaluate') {
                return (source: string, data: unknown, bindings?: Record<string, unknown>) => {
                  seen.push({ template, source, data });
                  return target.evaluate(source, data, bindings);
                };
              }
              const value: unknown = Reflect.get(target, prop, target);
              return typeof value === 'function'
                ? (value as (...a: unknown[]) => unknown).bind(target)
                : value;
            },
          });
          return d.run(recording, inputs, config);
        },
      });
    }
  }
  return createRegistry(defs);
}

const written = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));

/** JSON's own view of a value (sequences are arrays; functions, if any, vanish as they would when stored). */
const toPlain = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

describe('the inline evaluator on the templates', () => {
  it('answers every template expression exactly as JSONata does', async () => {
    const seen: Seen[] = [];
    for (const template of listTemplates()) {
      const nodes = (template.flow['nodes'] ?? []) as { id: string; config?: unknown }[];
      // What is compared is each expression's answer, not the run's speed: the templates' deadlines (anti-fraud's
      // is 2 s) are lifted, as the recording wrapper and a busy machine slow the run.
      const settings = { ...(template.flow['settings'] as object | undefined) };
      delete (settings as { deadlineMs?: number }).deadlineMs;
      const flow = { ...template.flow, settings };
      const store = new MemoryRunStore();
      const runtime = createRuntime({ registry: recordingRegistry(seen, template.meta.id, nodes), store });
      for (const fixture of template.fixtures) {
        let result = await runtime.run(flow, fixture.input);
        // Cases a person decides wait for the fixture's reviewers, whose decisions resume them.
        while (result.status === 'waiting') {
          const waiting = (result.waiting ?? []).filter((w) => fixture.decisions?.[w.nodeId] !== undefined);
          if (waiting.length === 0) break;
          const decisions = Object.fromEntries(waiting.map((w) => [w.nodeId, fixture.decisions?.[w.nodeId]]));
          result = await runtime.resume(flow, store.events(result.runId), decisions).result;
        }
        expect(result.status, `${template.meta.id}/${fixture.name}: ${JSON.stringify(result.error)}`).toBe(
          'succeeded',
        );
      }
    }
    let inline = 0;
    let covered = 0;
    for (const { template, source, data } of seen) {
      const compiled = compileExpression(source);
      if (!compiled.ok) throw new Error(`${template}: ${compiled.message}`);
      const expected = written(
        await jsonata(source, {
          RegexEngine: LinearRegExp as unknown as RegExpConstructor,
          stack: expressionLimits.maxDepth,
          sequence: expressionLimits.maxSequence,
        } as jsonata.JsonataOptions).evaluate(data),
      );
      // As a run evaluates it: inline within the budget, or handed to the pool.
      const answer = evaluateCompiledNow(compiled.expression, data);
      if (!(answer instanceof Promise)) {
        inline++;
        expect(written(answer), `${template}: ${source}`).toBe(expected);
      } else answer.catch(() => undefined);
      // As the pool's processes evaluate it (the inline evaluator with the whole time bound): the same value.
      const unbounded = compiled.expression.inline?.(data, undefined, {
        ...expressionLimits,
        inlineMs: 60_000,
        inlineWallMs: 60_000,
      });
      if (unbounded?.done) {
        covered++;
        expect(written(toPlain(unbounded.value)), `${template}: ${source}`).toBe(expected);
      }
    }
    expect(seen.length).toBeGreaterThan(100);
    // The inline evaluator covers every template expression (how many fit its time budget on the main thread
    // depends on the machine's load: the rest are answered in the pool, by the same evaluator).
    expect(covered).toBe(seen.length);
    expect(inline).toBeGreaterThan(0);
  }, 300_000);
});
