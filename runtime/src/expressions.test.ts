import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from './executor.js';
import { testRegistry } from './test-helpers/nodes.js';
import {
  closeExpressionPool,
  compileExpression,
  evaluateExpressionNow,
  expressionLimits,
  expressionPoolStats,
  evaluateExpression,
  findExpressions,
  isExpression,
  referencedNodes,
  resolveConfig,
} from './expressions.js';

describe('expressions', () => {
  it('marks expressions with a leading = and literals with ==', async () => {
    expect(isExpression('=input.a')).toBe(true);
    expect(isExpression('==x')).toBe(false);
    expect(isExpression('plain')).toBe(false);
    expect(
      await resolveConfig(
        { a: '=input.n + 1', b: '==not an expression', c: ['=input.n', 2] },
        { input: { n: 1 } },
      ),
    ).toEqual({
      a: 2,
      b: '=not an expression',
      c: [1, 2],
    });
  });

  it('finds expression sites with their paths', () => {
    expect(findExpressions({ a: '=x', b: { c: ['y', '=z'] }, d: '==lit' })).toEqual([
      { path: ['a'], source: 'x' },
      { path: ['b', 'c', 1], source: 'z' },
    ]);
  });

  it('reports syntax errors with their position', () => {
    const r = compileExpression('input.a +');
    expect(r.ok).toBe(false);
    expect(compileExpression('   ')).toEqual({ ok: false, message: 'the expression is empty' });
  });

  it('bounds evaluation time and depth, and never evaluates JavaScript', async () => {
    await expect(evaluateExpression('($f := function($n) { $f($n + 1) }; $f(0))', {})).rejects.toMatchObject({
      code: 'EXPRESSION_FAILED',
    });
    await expect(evaluateExpression('$count([1..1000000].($string($) & "x"))', {})).rejects.toMatchObject({
      code: 'EXPRESSION_FAILED',
    });
    // JSONata reads `constructor` as a missing field: no route from an expression to JavaScript's Function.
    await expect(
      evaluateExpression('constructor.constructor("return process")()', {}),
    ).resolves.toBeUndefined();
    await expect(evaluateExpression('function($x){$x}', {})).rejects.toThrow(/function/);
  });

  it('lists the nodes an expression reads', () => {
    const c = compileExpression(
      'nodes.score.out.value > 0.5 and $count(nodes.rules.hits) = 0 and input.nodes.fake',
    );
    expect(c.ok && [...referencedNodes(c.expression)].sort()).toEqual(['rules', 'score']);
  });
});

/** A flow whose one node takes its config value from an expression: the executor evaluates it before the node. */
const echoFlow = (expression: string) => ({
  schemaVersion: 1,
  id: 'hostile',
  name: 'Hostile expression',
  nodes: [
    {
      id: 'in',
      type: 'io.input',
      version: 1,
      config: { schema: { type: 'object', properties: { text: { type: 'string' } } } },
    },
    { id: 'e', type: 'test.echo', version: 1, config: { value: `=${expression}` } },
    { id: 'o', type: 'io.output', version: 1, config: { name: 'o' } },
  ],
  edges: [
    { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'e', port: 'in' } },
    { id: 'e2', from: { node: 'e', port: 'out' }, to: { node: 'o', port: 'value' } },
  ],
});

/** Expressions that stopped or froze the server before they were isolated, and a few more of the same kind. */
const hostile = [
  '$length($pad("x", 400000000))',
  '$count($match(input.text, /(a+)+$/))',
  '($f := function($n) { $f($n + 1) }; $f(0))',
  '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000000))',
  '$count([1..100000000])',
  '$length($reduce([1..40], function($a, $i) { $a & $a }, "x"))',
  // A plain sort of 900,000 numbers is answered in time on a quiet machine; this one's comparisons each count a
  // 10,000-item range, beyond the bound on any machine.
  '$count($sort([1..900000], function($a, $b) { $count([1..10000]) > 0 and $a < $b }))',
  '$count($reduce([1..25], function($a, $i) { $append($a, $a) }, [1]))',
  '$length($string($reduce([1..30], function($a, $i) { { "l": $a, "r": $a } }, {})))',
];

describe('hostile expressions in a run', () => {
  afterEach(() => {
    expressionLimits.poolMemoryMb = 256;
    closeExpressionPool();
  });

  it('fail their node with EXPRESSION_FAILED and leave the event loop free', async () => {
    const runtime = createRuntime({ registry: testRegistry() });
    let running = hostile.length;
    let ticksWhileRunning = 0;
    const ticker = setInterval(() => {
      if (running > 0) ticksWhileRunning++;
    }, 10);
    const results = await Promise.all(
      hostile.map((expression) =>
        runtime.run(echoFlow(expression), { text: `${'a'.repeat(28)}!` }).finally(() => running--),
      ),
    );
    clearInterval(ticker);
    results.forEach((r, i) => {
      if (i === 1) {
        // The catastrophic regex is answered at once by the linear-time engine: no match.
        expect(r.outputs, hostile[i]).toEqual({ o: 0 });
        return;
      }
      expect(r.status, hostile[i]).toBe('failed');
      // EXPRESSION_FAILED names the bound hit; TIMEOUT is the node's own limit, reached when nine hostile
      // evaluations at once keep the pool's two processes busy (each holds one for up to 1 s).
      expect(['EXPRESSION_FAILED', 'TIMEOUT'], hostile[i]).toContain(r.nodes['e']?.error?.code);
    });
    // Timers kept firing while the runs were in flight: nothing held the event loop.
    expect(ticksWhileRunning).toBeGreaterThan(20);
  }, 60_000);

  it('survive a V8 fatal error in the pool: only the pool process dies, and it is replaced', async () => {
    // A small heap makes the out-of-memory crash quick; the same happens at any size.
    expressionLimits.poolMemoryMb = 16;
    closeExpressionPool();
    const before = expressionPoolStats().started;
    const crash = evaluateExpressionNow('$length($reduce([1..26], function($a, $i) { $a & $a }, "x"))', {});
    await expect(crash).rejects.toMatchObject({
      code: 'EXPRESSION_FAILED',
      message: expect.stringMatching(/ran out of memory or built a value too large/),
    });
    expressionLimits.poolMemoryMb = 256;
    // The next evaluation that needs the pool ($eval only runs there) gets a fresh process.
    expect(await evaluateExpression('$eval("1 + 1")', {})).toBe(2);
    expect(expressionPoolStats().started).toBeGreaterThan(before + 1);
  }, 30_000);
});
