import { describe, expect, it } from 'vitest';
import {
  compileExpression,
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
