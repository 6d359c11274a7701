/**
 * The code node through the real HTTP API: hostile code in a saved flow, run by a signed-in analyst, fails with a
 * clear code while the server keeps answering; a canary secret in the server's environment never shows up in a
 * run record; and the server's sandbox ceilings apply.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  waitForRun,
  type TestServer,
} from './test-helpers/harness.js';

const CANARY = `server-canary-${randomBytes(12).toString('hex')}`;
let t: TestServer;
let admin: Client;
let analyst: Client;

beforeAll(async () => {
  process.env['FINFLOW_TEST_SERVER_CANARY'] = CANARY;
  t = await startTestServer({
    config: {
      codeSandbox: {
        processes: 1,
        concurrency: 4,
        maxMemoryMb: 16,
        maxCpuMs: 1_500,
        maxDataBytes: 64 * 1024,
      },
    },
  });
  admin = await setupAdmin(t);
  analyst = await addUser(t, admin, 'analyst');
});
afterAll(async () => {
  delete process.env['FINFLOW_TEST_SERVER_CANARY'];
  await t.destroy();
});

function codeFlow(code: string, id = 'code-flow', cpuMs = 5_000) {
  return {
    schemaVersion: 1,
    id,
    name: 'Fee with custom code',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] },
        },
      },
      {
        id: 'fee',
        type: 'code.javascript',
        version: 1,
        config: {
          inputs: [{ name: 'amount', type: 'number' }],
          outputs: [{ name: 'fee', type: 'number' }],
          code,
          cpuMs,
          memoryMb: 512,
        },
        timeoutMs: 10_000,
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'fee' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'amount' }, to: { node: 'fee', port: 'amount' } },
      { id: 'e2', from: { node: 'fee', port: 'fee' }, to: { node: 'out', port: 'value' } },
    ],
  };
}

async function run(code: string, amount = 1000, cpuMs?: number) {
  const { id } = await createFlow(analyst, codeFlow(code, 'code-flow', cpuMs));
  const started = await analyst.post(`/api/flows/${id}/runs`, { input: { amount } });
  expect(started.status).toBe(202);
  return started.body.runId as string;
}

describe('the code node through the server', () => {
  it('runs user code in a flow and records its logs in the run', async () => {
    const runId = await run(`export default function run({ amount }, ctx) {
      const fee = Math.max(5, Math.round(amount * 0.0125 * 100) / 100);
      ctx.log.info('fee computed', { amount, fee });
      return { fee };
    }`);
    const done = await waitForRun(analyst, runId);
    expect(done.status).toBe('succeeded');
    expect(done.run.outputs).toEqual({ fee: 12.5 });
    const events = (await analyst.get(`/api/runs/${runId}/events`)).body as {
      type: string;
      message?: string;
      data?: unknown;
    }[];
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'node.logged',
        message: 'fee computed',
        data: { amount: 1000, fee: 12.5 },
      }),
    );
    // The flow asked for more than the server allows: the ceilings applied and the run says so.
    expect(events.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        "memory limit lowered to the server's ceiling of 16 MB",
        "CPU time limit lowered to the server's ceiling of 1500 ms",
      ]),
    );
  });

  it('hostile code fails its run with a clear code while the server keeps answering', async () => {
    const attacks: [string, string, number?][] = [
      ['export default () => { for (;;) {} }', 'CODE_CPU_LIMIT'],
      ['export default async () => { for (;;) await null; }', 'CODE_CPU_LIMIT'],
      [
        'export default () => { const a = []; for (;;) a.push(new Array(1e5).fill(2.5)); }',
        'CODE_MEMORY_LIMIT',
      ],
      [
        'export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, { i, s: String(i) }); }',
        'CODE_MEMORY_LIMIT',
      ],
      // cpuMs 100: a wall-clock limit of 2.3 s.
      ['export default () => new Promise(() => {})', 'CODE_TIME_LIMIT', 100],
      [
        "import fs from 'node:fs';\nexport default () => ({ fee: fs.readFileSync('/etc/passwd').length })",
        'CODE_IMPORT_DENIED',
      ],
      [
        "export default () => ({ fee: Function('return process')().env.FINFLOW_TEST_SERVER_CANARY })",
        'CODE_ERROR',
      ],
      [
        'export default async () => ({ fee: (await import("node:child_process")).execSync("id") })',
        'CODE_ERROR',
      ],
      ["export default () => ({ fee: 'x'.repeat(100_000) })", 'CODE_OUTPUT_TOO_LARGE'],
    ];
    for (const [code, expected, cpuMs] of attacks) {
      const runId = await run(code, 1000, cpuMs);
      // While the sandbox works on it, the server answers.
      const health = await new Client(t.url).get('/healthz');
      expect(health.status).toBe(200);
      expect((await analyst.get('/api/flows')).status).toBe(200);
      const done = await waitForRun(analyst, runId, 30_000);
      expect(done.status, code).toBe('failed');
      expect(done.run.nodes.fee.error.code, code).toBe(expected);
      const record = JSON.stringify([done, (await analyst.get(`/api/runs/${runId}/events`)).body]);
      expect(record).not.toContain(CANARY);
    }
    // The sandbox serves the next run, and the server's own environment is untouched.
    const after = await waitForRun(
      analyst,
      await run('export default ({ amount }) => ({ fee: amount / 100 })', 250),
    );
    expect(after.run.outputs).toEqual({ fee: 2.5 });
    expect(process.env['FINFLOW_TEST_SERVER_CANARY']).toBe(CANARY);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a run cancelled through the API stops the code in the sandbox', async () => {
    const { id } = await createFlow(analyst, {
      ...codeFlow('export default () => { for (;;) {} }', 'spin'),
      settings: {},
    });
    const started = await analyst.post(`/api/flows/${id}/runs`, { input: { amount: 1 } });
    await new Promise((res) => setTimeout(res, 100));
    const cancel = await analyst.post(`/api/runs/${started.body.runId}/cancel`);
    expect(cancel.status).toBeLessThan(300);
    const done = await waitForRun(analyst, started.body.runId);
    expect(['cancelled', 'failed']).toContain(done.status);
    const next = await waitForRun(analyst, await run('export default ({ amount }) => ({ fee: amount })', 3));
    expect(next.run.outputs).toEqual({ fee: 3 });
  });

  it('the catalog offers the code node with its package, and its typed ports are checked on save', async () => {
    const catalog = await analyst.get('/api/catalog');
    const entry = catalog.body.nodes.find((n: { type: string }) => n.type === 'code.javascript');
    expect(entry.origin).toMatchObject({ package: '@finflow/nodes', source: 'builtin' });
    expect(entry.dynamicInputs).toMatchObject({ path: 'inputs', typeKey: 'type' });
    const bad = codeFlow('export default () => ({ fee: 1 })', 'bad-ports');
    (bad.nodes[1]!.config as { inputs: unknown }).inputs = [{ name: 'amount', type: 'text' }];
    (bad.nodes[0]!.config as { schema: unknown }).schema = {
      type: 'object',
      properties: { amount: { type: 'boolean' } },
    };
    const v = await analyst.post('/api/flows/validate', { document: bad });
    expect(v.body.problems).toEqual([]);
    (bad.nodes[1]!.config as { inputs: unknown }).inputs = [{ name: 'amount', type: 'table' }];
    const v2 = await analyst.post('/api/flows/validate', { document: bad });
    expect(v2.body.problems).toEqual([expect.objectContaining({ code: 'PORT_TYPE_MISMATCH' })]);
  });
});
