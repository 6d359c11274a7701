import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { expressionReadsNodes } from '../expressions.js';

/** A root as the data nodes give their expressions: the node's input, the flow input, the ancestors' outputs. */
const root = (nodes: Record<string, unknown>) => ({
  data: { a: 2, b: 3, list: [1, 2, 3], text: 'nodes' },
  input: { amount: 120 },
  nodes,
});
const ancestors = { up: { result: { secret: 'ancestor value', n: 7 } } };

async function answer(source: string, nodes: Record<string, unknown>): Promise<string> {
  try {
    return JSON.stringify((await jsonata(source).evaluate(root(nodes))) ?? null);
  } catch (err) {
    return `error ${(err as { code?: string }).code ?? String(err)}`;
  }
}

describe('whether an expression can read its ancestors’ outputs', () => {
  // Each reaches `nodes` by a different way in: every one must be given them.
  const reaching = [
    'nodes.up.result.n',
    '"nodes".up.result.n',
    '`nodes`.up.result.n',
    '$.nodes.up.result.n',
    '$$.nodes.up.result.n',
    '$keys($lookup($$, "nodes"))',
    '$each(function($v, $k) { $v })',
    '$lookup("nodes").up.result.n',
    '$each(function($v, $k) { $string($v) })',
    '$string()',
    '$eval("nodes.up.result.n")',
    '*.up.result.n',
    '**.secret',
    '$sift(function($v, $k) { $k = "nodes" })',
    '$spread()',
    '($f := $lookup; $f("nodes")).up.result.n',
    '(($lookup := function($x) { 1 }); 0) + $count($lookup("nodes").up)',
    '(function($x)<x-:x>{ $x })().nodes.up.result.n',
    '$clone().nodes.up.result.n',
    'data.list.($$.nodes.up.result.n)',
    '"nodes" ~> $lookup()',
  ];
  it.each(reaching)('%s: given them (it reads them)', async (source) => {
    expect(expressionReadsNodes(source)).toBe(true);
    // The case is real: what it answers depends on the ancestors' outputs.
    expect(await answer(source, ancestors)).not.toBe(await answer(source, {}));
  });

  // Ways in that JSONata itself refuses or that read nothing here: still given them, the rule errs that way.
  it.each([
    '$map(["nodes"], $lookup)',
    '{nodes: 1}',
    '$keys()',
    '$count(data.list[$ > 1])',
    '$string(data.a)',
  ])('%s: given them', (source) => expect(expressionReadsNodes(source)).toBe(true));

  // What flows use (the endpoint benchmarks' steps among them), and expressions near the edge of the rule.
  const local = [
    '$merge([data, {"f1": 1}])',
    '{"score": 0.3 * data.a + 0.25 * data.b}',
    '($s := [data.a, data.b]; {"best": $reduce([0..1], function($b, $i) { $s[$i] > $s[$b] ? $i : $b }, 0), "total": $sum($s)})',
    '$round(data.a / data.b, 2)',
    'input.amount > 100 ? "big" : "small"',
    'data.list@$x.($x * 2)',
    '$map(data.list, function($v) { $v + 1 })',
    '$string(data.a, true)',
    '$substring(data.text, 0, 3)',
    'data.text',
  ];
  it.each(local)('%s: not given them, and answers the same without them', async (source) => {
    expect(expressionReadsNodes(source)).toBe(false);
    expect(await answer(source, {})).toBe(await answer(source, ancestors));
  });

  it('gives them to an expression that does not compile (its node fails on it in any case)', () => {
    expect(expressionReadsNodes('data.(')).toBe(true);
  });
});
