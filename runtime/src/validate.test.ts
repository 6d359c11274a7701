import { describe, expect, it } from 'vitest';
import { prepareFlow, validateFlow } from './validate.js';
import { problemCodes, type Problem } from './problems.js';
import { flow, testRegistry } from './test-helpers/nodes.js';

const registry = testRegistry();
const input = {
  id: 'in',
  type: 'io.input',
  config: { schema: { type: 'object', properties: { x: { type: 'number' }, s: { type: 'string' } } } },
};
const out = (id = 'o', name = id) => ({ id, type: 'io.output', config: { name } });
const step = (id: string, config: Record<string, unknown> = {}) => ({ id, type: 'test.step', config });
const codes = (problems: Problem[]) => problems.map((p) => p.code).sort();

describe('validateFlow', () => {
  it('accepts a valid flow', () => {
    expect(validateFlow(flow([input, step('a'), out()], ['in.x->a.in', 'a.out->o.value']), registry)).toEqual(
      [],
    );
  });

  it('reports INVALID_DOCUMENT with paths, and keeps checking the rest', () => {
    const doc = flow(
      [input, { id: '1bad id', type: 'test.step' }, step('a'), out()],
      ['in.x->a.in', 'a.out->o.value', 'a.out->ghost.in'],
    );
    (doc as Record<string, unknown>)['name'] = '';
    const problems = validateFlow(doc, registry);
    expect(problems).toContainEqual(expect.objectContaining({ code: 'INVALID_DOCUMENT', path: ['name'] }));
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'INVALID_DOCUMENT', path: ['nodes', 1, 'id'] }),
    );
    expect(problems).toContainEqual(expect.objectContaining({ code: 'DANGLING_EDGE', edgeId: 'e2' }));
    expect(validateFlow('not json', registry)).toEqual([
      { code: 'INVALID_DOCUMENT', message: 'a flow document is a JSON object' },
    ]);
    expect(validateFlow({ ...flow([input, out()], []), schemaVersion: 99 }, registry)[0]?.message).toMatch(
      /newer FinFlow/,
    );
  });

  it('reports every problem at once, each with the node or edge it concerns', () => {
    const doc = flow(
      [
        input,
        step('a'),
        step('a'),
        { id: 'u', type: 'test.nope' },
        step('bad', { add: 'lots' }),
        { id: 't', type: 'test.text' },
        { id: 'tb', type: 'test.table' },
        { id: 'x1', type: 'test.sum' },
        step('c1'),
        step('c2'),
        { id: 'ex', type: 'test.echo', config: { value: '=input.x +' } },
        { id: 'ex2', type: 'test.echo', config: { value: '=nodes.c1.out' } },
      ],
      [
        'in.x->a.in',
        'in.x->ghost.in',
        'in.x->a.nope',
        'in.value->tb.rows',
        'in.x->t.text',
        'in.s->t.text',
        'in.x->x1.a',
        'c1.out->c2.in',
        'c2.out->c1.in',
      ],
    );
    const problems = validateFlow(doc, registry);
    expect(new Set(codes(problems))).toEqual(
      new Set([
        'DUPLICATE_ID',
        'UNKNOWN_NODE_TYPE',
        'INVALID_CONFIG',
        'DANGLING_EDGE',
        'UNKNOWN_PORT',
        'PORT_TYPE_MISMATCH',
        'MULTIPLE_EDGES_INTO_PORT',
        'MISSING_REQUIRED_INPUT',
        'CYCLE',
        'NO_OUTPUT_NODE',
        'INVALID_EXPRESSION',
      ]),
    );
    expect(problems).toContainEqual({
      code: 'DUPLICATE_ID',
      message: 'two nodes have the id a',
      nodeId: 'a',
      params: { id: 'a' },
    });
    expect(problems).toContainEqual(expect.objectContaining({ code: 'UNKNOWN_NODE_TYPE', nodeId: 'u' }));
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'INVALID_CONFIG', nodeId: 'bad', path: ['add'] }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        code: 'UNKNOWN_PORT',
        edgeId: 'e2',
        message: expect.stringContaining('no input "nope"'),
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        code: 'PORT_TYPE_MISMATCH',
        edgeId: 'e3',
        message: expect.stringContaining('a record output cannot feed a table input'),
        // The values of the message, so an editor words it in its own language.
        params: expect.objectContaining({ fromType: 'record', toType: 'table' }),
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'MULTIPLE_EDGES_INTO_PORT', edgeId: 'e5' }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        code: 'MISSING_REQUIRED_INPUT',
        nodeId: 'x1',
        message: expect.stringContaining('"b"'),
      }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'CYCLE', message: 'cycle: c1 → c2 → c1' }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ code: 'INVALID_EXPRESSION', nodeId: 'ex', path: ['value'] }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        code: 'INVALID_EXPRESSION',
        nodeId: 'ex2',
        message: expect.stringContaining('not upstream'),
      }),
    );
  });

  it('names every node on a longer cycle in order, and self-loops', () => {
    const doc = flow(
      [input, step('a'), step('b'), step('c'), step('d'), out()],
      ['a.out->b.in', 'b.out->c.in', 'c.out->a.in', 'd.out->d.in', 'in.x->o.value'],
    );
    const cycles = validateFlow(doc, registry)
      .filter((p) => p.code === 'CYCLE')
      .map((p) => p.message)
      .sort();
    expect(cycles).toEqual(['cycle: a → b → c → a', 'cycle: d → d']);
  });

  it('requires exactly one input node and at least one output node', () => {
    expect(codes(validateFlow(flow([step('a')], []), registry))).toEqual(['NO_INPUT_NODE', 'NO_OUTPUT_NODE']);
    const two = validateFlow(flow([input, { ...input, id: 'in2' }, out()], ['in.x->o.value']), registry);
    expect(two).toEqual([expect.objectContaining({ code: 'MULTIPLE_INPUT_NODES', nodeId: 'in2' })]);
    const dupNames = validateFlow(
      flow([input, out('o1', 'r'), out('o2', 'r')], ['in.x->o1.value', 'in.s->o2.value']),
      registry,
    );
    expect(dupNames).toEqual([expect.objectContaining({ code: 'DUPLICATE_ID', nodeId: 'o2' })]);
  });

  it('accepts expressions where a typed value is expected, and rejects unknown node references', () => {
    const ok = flow(
      [input, step('a'), { id: 'e', type: 'test.echo', config: { value: '=nodes.a.out * 2' } }, out()],
      ['in.x->a.in', 'a.out->e.in', 'e.out->o.value'],
    );
    expect(validateFlow(ok, registry)).toEqual([]);
    const ghost = flow(
      [input, { id: 'e', type: 'test.echo', config: { value: '=nodes.ghost.out' } }, out()],
      ['in.x->e.in', 'e.out->o.value'],
    );
    expect(validateFlow(ghost, registry)[0]?.message).toContain('no node ghost');
  });

  it('builds a plan with resolved ports and coercions', () => {
    const r = prepareFlow(
      flow([input, { id: 't', type: 'test.text' }, out()], ['in.x->t.text', 't.out->o.value']),
      registry,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.prepared.byId.get('t');
    expect(t?.inEdges[0]).toMatchObject({ coercion: 'toText', toType: 'text', toRequired: true });
    expect(r.prepared.inputNode.outputs.map((p) => [p.name, p.type])).toEqual([
      ['value', 'record'],
      ['x', 'number'],
      ['s', 'text'],
    ]);
    expect(r.prepared.outputNodes.map((o) => o.name)).toEqual(['o']);
  });

  it('covers every problem code in this file', () => {
    // A guard: adding a code without a test here fails this test.
    const tested = [
      'INVALID_DOCUMENT',
      'DUPLICATE_ID',
      'UNKNOWN_NODE_TYPE',
      'DANGLING_EDGE',
      'UNKNOWN_PORT',
      'PORT_TYPE_MISMATCH',
      'MISSING_REQUIRED_INPUT',
      'MULTIPLE_EDGES_INTO_PORT',
      'CYCLE',
      'INVALID_CONFIG',
      'NO_INPUT_NODE',
      'MULTIPLE_INPUT_NODES',
      'NO_OUTPUT_NODE',
      'INVALID_EXPRESSION',
      // Against a workspace's connections: tested in connections.test.ts.
      'CONNECTION_NOT_FOUND',
      'CONNECTION_NOT_ALLOWED',
      'CONNECTION_REQUIRED',
      'CREDENTIAL_DESTINATION_MISMATCH',
    ];
    expect([...problemCodes].sort()).toEqual(tested.sort());
  });
});
