/**
 * Expression isolation through the real HTTP API: published flows whose expressions, regexes and schema patterns
 * are hostile (issue 10, finding 3). Every call ends with a failed run or a 400 with a clear code, nothing takes
 * the process down, and `/healthz` keeps answering while twenty such calls are in flight.
 */
import { closeExpressionPool, expressionPoolStats } from '@finflow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFlow,
  setupAdmin,
  startTestServer,
  type Client,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let admin: Client;
let key: string;

const edge = (id: string, from: string, fromPort: string, to: string, toPort: string) => ({
  id,
  from: { node: from, port: fromPort },
  to: { node: to, port: toPort },
});

const textSchema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };

/** input -> data.transform(expression) -> output */
function transformFlow(id: string, expression: string, schema: Record<string, unknown> = textSchema) {
  return {
    schemaVersion: 1,
    id,
    name: `Hostile ${id}`,
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema } },
      { id: 'map', type: 'data.transform', version: 1, config: { expression } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'result' } },
    ],
    edges: [edge('e1', 'in', 'value', 'map', 'data'), edge('e2', 'map', 'result', 'out', 'value')],
  };
}

/** input -> logic.branch(condition) -> two outputs */
function branchFlow(id: string, condition: string) {
  return {
    schemaVersion: 1,
    id,
    name: `Hostile ${id}`,
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: { schema: textSchema } },
      { id: 'decide', type: 'logic.branch', version: 1, config: { condition } },
      { id: 'yes', type: 'io.output', version: 1, config: { name: 'yes' } },
      { id: 'no', type: 'io.output', version: 1, config: { name: 'no' } },
    ],
    edges: [
      edge('e1', 'in', 'value', 'decide', 'value'),
      edge('e2', 'decide', 'true', 'yes', 'value'),
      edge('e3', 'decide', 'false', 'no', 'value'),
    ],
  };
}

const evil = `${'a'.repeat(28)}!`;

/**
 * Causes: EXPRESSION_FAILED names the bound the expression hit; TIMEOUT is the node's own time limit, reached when
 * twenty hostile calls at once keep the pool's processes busy (each hostile evaluation holds one for up to 1 s).
 */
const failed = ['EXPRESSION_FAILED', 'TIMEOUT'];

/** Each published flow, the input it is called with, and what the call must answer. */
const corpus: {
  slug: string;
  flow: unknown;
  input: unknown;
  status: number;
  code: string;
  cause?: string[];
}[] = [
  {
    slug: 'huge-pad',
    flow: transformFlow('hugePad', '$length($pad("x", 400000000))'),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'regex-transform',
    flow: transformFlow('regexTransform', '$match(data.text, /(a+)+$/)'),
    input: { text: evil },
    // The linear-time engine answers at once: no match, so the mapping gives nothing.
    status: 500,
    code: 'RUN_FAILED',
    cause: ['EMPTY_RESULT', 'TIMEOUT'],
  },
  {
    slug: 'regex-branch',
    flow: branchFlow('regexBranch', '$contains(value.text, /(a+)+$/)'),
    input: { text: evil },
    status: 200,
    code: '',
  },
  {
    slug: 'schema-pattern',
    flow: transformFlow('schemaPattern', 'data.text', {
      type: 'object',
      properties: { text: { type: 'string', pattern: '(a+)+$' } },
    }),
    input: { text: evil },
    status: 400,
    code: 'INVALID_INPUT',
  },
  {
    slug: 'endless-recursion',
    flow: transformFlow('endlessRecursion', '($f := function($n) { $f($n + 1) }; $f(0))'),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'deep-recursion',
    flow: transformFlow('deepRecursion', '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))'),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'huge-range',
    flow: transformFlow('hugeRange', '$count([1..100000000])'),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'string-doubling',
    flow: transformFlow('stringDoubling', '$length($reduce([1..40], function($a, $i) { $a & $a }, "x"))'),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'huge-sort',
    // A sort whose every comparison counts a 10,000-item range: about 200 billion steps, beyond the time bound on
    // any machine (a plain sort of 900,000 numbers is fast enough to be answered, and is not hostile).
    flow: transformFlow(
      'hugeSort',
      '$count($sort([1..900000], function($a, $b) { $count([1..10000]) > 0 and $a < $b }))',
    ),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
  {
    slug: 'shared-blowup',
    // Eleven levels of doubling a shared 100,000-item list: small in memory, 200 million items written out.
    flow: transformFlow(
      'sharedBlowup',
      '($a := [1..100000]; $reduce([1..11], function($acc, $i) { [$acc, $acc] }, $a))',
    ),
    input: { text: 'x' },
    status: 500,
    code: 'RUN_FAILED',
    cause: failed,
  },
];

async function call(slug: string, body: unknown): Promise<{ status: number; body: Loose }> {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  closeExpressionPool();
  t = await startTestServer();
  admin = await setupAdmin(t);
  for (const c of corpus) {
    const { id } = await createFlow(admin, c.flow);
    const r = await admin.post('/api/endpoints', { flowId: id, version: 1, slug: c.slug });
    if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
  }
  const k = await admin.post('/api/keys', { name: 'attacker', endpoints: '*' });
  key = k.body.key as string;
}, 60_000);

afterAll(async () => {
  await t.destroy();
});

describe('hostile expressions through the HTTP API', () => {
  it('fail their own run with a clear code, while /healthz answers throughout and the server stays up', async () => {
    const startedBefore = expressionPoolStats().started;
    let inFlight = 0;
    let healthzDuringCalls = 0;
    const calls = Array.from({ length: 20 }, (_, i) => {
      const c = corpus[i % corpus.length] as (typeof corpus)[number];
      inFlight++;
      return call(c.slug, c.input).then((r) => {
        inFlight--;
        return { c, r };
      });
    });
    // Health checks while the hostile calls run: each must come back while calls are still in flight.
    const probe = (async () => {
      while (inFlight > 0) {
        const r = await fetch(`${t.url}/healthz`);
        expect(r.status).toBe(200);
        if (inFlight > 0) healthzDuringCalls++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const results = await Promise.all(calls);
    await probe;
    for (const { c, r } of results) {
      expect(r.status, `${c.slug}: ${JSON.stringify(r.body)}`).toBe(c.status);
      if (c.code) expect(r.body.error.code, c.slug).toBe(c.code);
      if (c.cause)
        expect(c.cause, `${c.slug}: ${r.body.error.message}`).toContain(r.body.error.details.cause);
    }
    expect(healthzDuringCalls).toBeGreaterThan(3);
    // Whatever happened in the pool's processes stayed there: the pool still has its processes.
    expect(expressionPoolStats().started).toBeGreaterThan(startedBefore);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    // And ordinary expressions still work after all that.
    const ok = await call('regex-branch', { text: 'plain text' });
    expect(ok.status).toBe(200);
    expect(ok.body.outputs).toEqual({ no: { text: 'plain text' } });
  }, 120_000);

  it('names the problem in the error message', async () => {
    const recursion = await call('endless-recursion', { text: 'x' });
    expect(recursion.body.error.message).toMatch(/took longer than 1000 ms/);
    const range = await call('huge-range', { text: 'x' });
    expect(range.body.error.message).toMatch(/range operator/);
    const pattern = await call('schema-pattern', { text: evil });
    expect(pattern.body.error.details.fields).toEqual([
      { path: 'text', message: 'String does not match pattern.' },
    ]);
  }, 60_000);

  it('refuses to publish regexes and patterns that need a backtracking engine', async () => {
    const backref = await createFlow(admin, transformFlow('backref', '$match(data.text, /(a)\\1/)'));
    const r1 = await admin.post('/api/endpoints', { flowId: backref.id, version: 1, slug: 'backref' });
    expect(r1.status).toBe(422);
    expect(r1.body.error.code).toBe('INVALID_FLOW');
    expect(JSON.stringify(r1.body.error.details.problems)).toMatch(
      /backreferences and lookaround are not supported/,
    );
    const lookahead = await createFlow(
      admin,
      transformFlow('lookahead', 'data.text', {
        type: 'object',
        properties: { text: { type: 'string', pattern: 'a(?=b)' } },
      }),
    );
    const r2 = await admin.post('/api/endpoints', { flowId: lookahead.id, version: 1, slug: 'lookahead' });
    expect(r2.status).toBe(422);
    expect(JSON.stringify(r2.body.error.details.problems)).toMatch(/not accepted/);
  });
});
