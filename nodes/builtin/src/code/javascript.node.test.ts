import { createRegistry, validateFlow, type NodeLogger } from '@finflow/runtime';
import { fixedClock, runNode, runNodeOk } from '@finflow/sdk/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinNodes } from '../index.js';
import { codeNode } from './javascript.node.js';
import { SandboxPool } from './sandbox-pool.js';

const sandbox = new SandboxPool({ limits: { maxMemoryMb: 128, maxCpuMs: 2_000 } });
afterAll(() => sandbox.dispose());

const services = { codeSandbox: sandbox, clock: fixedClock('2026-03-01T09:30:00Z') };

const config = (code: string, extra: Record<string, unknown> = {}) => ({
  inputs: [
    { name: 'rows', type: 'table' },
    { name: 'threshold', type: 'number' },
  ],
  outputs: [
    { name: 'flagged', type: 'table' },
    { name: 'total', type: 'number' },
  ],
  code,
  ...extra,
});

const rows = [
  { id: 'T1', amount: 1200, currency: 'EUR' },
  { id: 'T2', amount: 98_000, currency: 'EUR' },
  { id: 'T3', amount: 15_500, currency: 'USD' },
];

describe('code.javascript', () => {
  it('runs its default code, written with defineRun', async () => {
    const out = await runNodeOk(codeNode, { services, inputs: { value: { id: 'T1' } } });
    expect(out).toEqual({ result: { id: 'T1' } });
  });

  it('runs JavaScript over typed inputs and returns typed outputs', async () => {
    const out = await runNodeOk(codeNode, {
      services,
      inputs: { rows, threshold: 10_000 },
      config: config(`
        export default function run({ rows, threshold }, ctx) {
          const flagged = rows.filter((r) => r.amount > threshold);
          ctx.log.info('flagged', { count: flagged.length });
          return { flagged, total: rows.reduce((s, r) => s + r.amount, 0) };
        }`),
    });
    expect(out).toEqual({ flagged: [rows[1], rows[2]], total: 114_700 });
  });

  it('runs TypeScript, transpiled first, and reports errors at the TypeScript line and column', async () => {
    const ts = `interface Row {
  id: string;
  amount: number;
}

type Inputs = { rows: Row[]; threshold: number };

export default function run({ rows, threshold }: Inputs): { flagged: Row[]; total: number } {
  const flagged: Row[] = rows.filter((r: Row) => r.amount > threshold);
  return { flagged, total: rows.length };
}
`;
    const ok = await runNodeOk(codeNode, {
      services,
      inputs: { rows, threshold: 50_000 },
      config: config(ts, { language: 'typescript' }),
    });
    expect(ok).toEqual({ flagged: [rows[1]], total: 3 });

    // Line 11 of the TypeScript (the interface lines are gone from the JavaScript that actually runs).
    const throwing = ts.replace(
      '  return { flagged',
      '  const missing: any = undefined;\n  missing.field.deeper = 1;\n  return { flagged',
    );
    const r = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config(throwing, { language: 'typescript' }),
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('CODE_ERROR');
    expect(r.error?.details).toMatchObject({ name: 'TypeError', line: 11, column: 11 });
    expect(r.error?.message).toMatch(
      /TypeError: Cannot read properties of undefined \(reading 'field'\) \(line 11, column 11\)/,
    );

    const syntax = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default function run(i: number {\n  return 1;\n}', { language: 'typescript' }),
    });
    expect(syntax.error).toMatchObject({ code: 'CODE_COMPILE_ERROR', details: { line: 1, column: 39 } });
  });

  it('reports JavaScript errors with the line and column of the throw, and syntax errors with theirs', async () => {
    const r = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config(
        'export default function run(inputs) {\n  const limit = inputs.threshold;\n  if (limit > 0) throw new RangeError(`limit ${limit} too low`);\n}',
      ),
    });
    expect(r.error).toMatchObject({
      code: 'CODE_ERROR',
      message: 'RangeError: limit 1 too low (line 3, column 24)',
      details: { name: 'RangeError', line: 3, column: 24 },
    });
    const syntax = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default function run() {\n  return { total: 1 +  };\n}'),
    });
    expect(syntax.error).toMatchObject({ code: 'CODE_COMPILE_ERROR', details: { line: 2, column: 24 } });
    const thrownString = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default function run() { throw "no reason" }'),
    });
    expect(thrownString.error).toMatchObject({ code: 'CODE_ERROR', message: 'Thrown: no reason' });
    const noExport = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('const x = 1;'),
    });
    expect(noExport.error?.code).toBe('CODE_NO_FUNCTION');
  });

  it('captures logs (ctx.log and console) into the run, with a cap on how many', async () => {
    const r = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config(`export default function run({ rows }, ctx) {
        ctx.log.warn('checking', { n: rows.length });
        console.log('first id', rows[0].id, { nested: true });
        for (let i = 0; i < 1000; i++) ctx.log.debug('line ' + i);
        return { flagged: [], total: 0 };
      }`),
    });
    expect(r.status).toBe('succeeded');
    expect(r.logs[0]).toEqual({ level: 'warn', message: 'checking', data: { n: 3 } });
    expect(r.logs[1]).toEqual({ level: 'info', message: 'first id T1 {"nested":true}' });
    // 200 lines at most (the pool's default), then one saying the rest were dropped.
    const debugLines = r.logs.filter((l) => l.level === 'debug' && l.message.startsWith('line '));
    expect(debugLines).toHaveLength(198);
    expect(r.logs.some((l) => /further log lines were dropped/.test(l.message))).toBe(true);
  });

  it('gives the code a fixed clock and a seeded random, so the same inputs give the same outputs', async () => {
    const code = `export default function run(_inputs, ctx) {
      return { flagged: [{ now: Date.now(), iso: new Date().toISOString(), ctxNow: ctx.now(),
        same: Date.now() === new Date().getTime(), formatted: new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC' }).format() }],
        total: Math.random() + ctx.random() };
    }`;
    const cfg = {
      ...config(code),
      outputs: [
        { name: 'flagged', type: 'table' },
        { name: 'total', type: 'number' },
      ],
    };
    const a = await runNodeOk(codeNode, { services, inputs: { rows, threshold: 1 }, config: cfg });
    const b = await runNodeOk(codeNode, { services, inputs: { rows, threshold: 1 }, config: cfg });
    expect(a).toEqual(b);
    expect(a['flagged']).toEqual([
      {
        now: Date.parse('2026-03-01T09:30:00Z'),
        iso: '2026-03-01T09:30:00.000Z',
        ctxNow: Date.parse('2026-03-01T09:30:00Z'),
        same: true,
        formatted: '01/03/2026',
      },
    ]);
    const other = await runNodeOk(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: { ...cfg, seed: 7 },
    });
    expect(other['total']).not.toBe(a['total']);
  });

  it('fails outputs that do not match the declared port types, and outputs that are not data', async () => {
    const wrongType = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => ({ flagged: "not a table", total: 1 })'),
    });
    expect(wrongType.error?.code).toBe('INVALID_OUTPUT');
    const undeclared = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => ({ flagged: [], total: 1, extra: true })'),
    });
    expect(undeclared.error).toMatchObject({
      code: 'INVALID_OUTPUT',
      message: expect.stringMatching(/undeclared output "extra"/),
    });
    const bigint = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => ({ flagged: [], total: 1n })'),
    });
    expect(bigint.error?.code).toBe('CODE_ERROR');
    expect(bigint.error?.message).toMatch(/BigInt/);
    const cyclic = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => { const a = {}; a.self = a; return { flagged: [a], total: 1 } }'),
    });
    expect(cyclic.error?.message).toMatch(/circular/i);
    const notObject = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => 42'),
    });
    expect(notObject.error?.code).toBe('CODE_OUTPUT_NOT_DATA');
  });

  it('lowers limits above the server ceiling and says so in the log', async () => {
    const r = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => ({ flagged: [], total: 0 })', { memoryMb: 1024, cpuMs: 60_000 }),
    });
    expect(r.status).toBe('succeeded');
    expect(r.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        "memory limit lowered to the server's ceiling of 128 MB",
        "CPU time limit lowered to the server's ceiling of 2000 ms",
      ]),
    );
  });

  it('honours cancellation and the node timeout: the sandbox stops the code and stays usable', async () => {
    const controller = new AbortController();
    const spin = config('export default () => { for (;;) {} }', { cpuMs: 2_000 });
    const cancelled = runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: spin,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    // Not CODE_CPU_LIMIT: the abort stopped the code before its 2 s of CPU ran out.
    expect((await cancelled).error?.code).toBe('CANCELLED');

    const timedOut = await runNode(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: { ...spin, cpuMs: 2_000 },
      timeoutMs: 150,
    });
    expect(timedOut.error?.code).toBe('TIMEOUT');
    // The sandbox disposed of the isolate: the next run is served at once.
    const after = await runNodeOk(codeNode, {
      services,
      inputs: { rows, threshold: 1 },
      config: config('export default () => ({ flagged: [], total: 1 })'),
    });
    expect(after).toEqual({ flagged: [], total: 1 });
  });

  it('declares its ports from config: validation checks connections and names against them', () => {
    const registry = createRegistry(builtinNodes);
    const flow = (codeConfig: Record<string, unknown>, from = 'amount') => ({
      schemaVersion: 1,
      id: 'code-ports',
      name: 'Code ports',
      nodes: [
        {
          id: 'in',
          type: 'io.input',
          version: 1,
          config: {
            schema: { type: 'object', properties: { amount: { type: 'number' }, name: { type: 'string' } } },
          },
        },
        { id: 'code', type: 'code.javascript', version: 1, config: codeConfig },
        { id: 'out', type: 'io.output', version: 1, config: { name: 'out' } },
      ],
      edges: [
        { id: 'e1', from: { node: 'in', port: from }, to: { node: 'code', port: 'amount' } },
        { id: 'e2', from: { node: 'code', port: 'doubled' }, to: { node: 'out', port: 'value' } },
      ],
    });
    const good = {
      inputs: [{ name: 'amount', type: 'number' }],
      outputs: [{ name: 'doubled', type: 'number' }],
      code: 'export default ({ amount }) => ({ doubled: amount * 2 })',
    };
    expect(validateFlow(flow(good), registry)).toEqual([]);
    expect(validateFlow(flow(good, 'name'), registry)).toEqual([
      expect.objectContaining({
        code: 'PORT_TYPE_MISMATCH',
        message: expect.stringMatching(/a text output cannot feed a number input/),
      }),
    ]);
    const renamed = { ...good, outputs: [{ name: 'twice', type: 'number' }] };
    expect(validateFlow(flow(renamed), registry)).toEqual([
      expect.objectContaining({
        code: 'UNKNOWN_PORT',
        message: expect.stringMatching(/no output "doubled"/),
      }),
    ]);
    const clashing = {
      ...good,
      inputs: [
        { name: 'amount', type: 'number' },
        { name: 'amount', type: 'text' },
      ],
      outputs: [
        { name: 'doubled', type: 'number' },
        { name: 'error', type: 'any' },
      ],
    };
    expect(validateFlow(flow(clashing), registry).map((p) => [p.code, p.path?.join('.')])).toEqual([
      ['INVALID_CONFIG', 'inputs.1.name'],
      ['INVALID_CONFIG', 'outputs.1.name'],
    ]);
    const badType = { ...good, inputs: [{ name: 'amount', type: 'integer' }] };
    expect(validateFlow(flow(badType), registry)[0]).toMatchObject({
      code: 'INVALID_CONFIG',
      path: ['inputs', 0, 'type'],
    });
    const huge = { ...good, code: 'x'.repeat(100_001) };
    expect(validateFlow(flow(huge), registry)[0]).toMatchObject({ code: 'INVALID_CONFIG', path: ['code'] });
  });

  it('routes the run logger into ctx.log even when the logger throws', async () => {
    const calls: string[] = [];
    const throwing: NodeLogger = {
      debug: () => {},
      info: (m) => {
        calls.push(m);
        throw new Error('logger down');
      },
      warn: () => {},
      error: () => {},
    };
    const result = await sandbox.run({
      language: 'javascript',
      code: 'export default (i, ctx) => { ctx.log.info("one"); ctx.log.info("two"); return { ok: true } }',
      inputs: {},
      memoryMb: 16,
      cpuMs: 500,
      now: 0,
      seed: 1,
      meta: { runId: 'r', nodeId: 'n', attempt: 1 },
      onLog: (level, message, data) => throwing[level](message, data),
    });
    expect(result.outputs).toEqual({ ok: true });
    expect(calls).toEqual(['one', 'two']);
  });
});
