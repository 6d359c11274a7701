import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesRoot } from '@finflow/templates';
import { main } from './main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'finflow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const flow = {
  schemaVersion: 1,
  id: 'limit-check',
  name: 'Limit check',
  nodes: [
    {
      id: 'in',
      type: 'io.input',
      version: 1,
      config: {
        schema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] },
      },
    },
    { id: 'b', type: 'logic.branch', version: 1, config: { condition: 'value > 10000' } },
    {
      id: 'big',
      type: 'data.template',
      version: 1,
      config: { template: 'review {{ v }}', variables: ['v'] },
    },
    {
      id: 'small',
      type: 'data.template',
      version: 1,
      config: { template: 'approve {{ v }}', variables: ['v'] },
    },
    { id: 'm', type: 'logic.merge', version: 1, config: { inputs: ['x', 'y'] } },
    { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
  ],
  edges: [
    { id: 'e1', from: { node: 'in', port: 'amount' }, to: { node: 'b', port: 'value' } },
    { id: 'e2', from: { node: 'b', port: 'true' }, to: { node: 'big', port: 'v' } },
    { id: 'e3', from: { node: 'b', port: 'false' }, to: { node: 'small', port: 'v' } },
    { id: 'e4', from: { node: 'big', port: 'text' }, to: { node: 'm', port: 'x' } },
    { id: 'e5', from: { node: 'small', port: 'text' }, to: { node: 'm', port: 'y' } },
    { id: 'e6', from: { node: 'm', port: 'value' }, to: { node: 'out', port: 'value' } },
  ],
};
const flowFile = join(dir, 'flow.json');
writeFileSync(flowFile, JSON.stringify(flow));
const broken = join(dir, 'broken.json');
writeFileSync(
  broken,
  JSON.stringify({
    ...flow,
    edges: [
      ...flow.edges,
      { id: 'e7', from: { node: 'm', port: 'value' }, to: { node: 'ghost', port: 'value' } },
    ],
  }),
);
const notJson = join(dir, 'not.json');
writeFileSync(notJson, '{ "schemaVersion": 1,');

describe('finflow CLI', () => {
  it('validates: exit 0 when valid, 1 with every problem (also as JSON)', async () => {
    const ok = capture();
    expect(await main(['validate', flowFile], ok.io)).toBe(0);
    expect(ok.out[0]).toContain('is valid (6 nodes, 6 edges)');
    const bad = capture();
    expect(await main(['validate', broken, '--json'], bad.io)).toBe(1);
    expect(JSON.parse(bad.out.join('\n'))).toEqual({
      ok: false,
      problems: [expect.objectContaining({ code: 'DANGLING_EDGE', edgeId: 'e7' })],
    });
  });

  it('names the file and the problem for unreadable or malformed files, without a stack trace', async () => {
    const missing = capture();
    expect(await main(['validate', join(dir, 'nope.json')], missing.io)).toBe(2);
    expect(missing.err).toEqual([`finflow: ${join(dir, 'nope.json')}: no such file`]);
    const malformed = capture();
    expect(await main(['run', notJson, '--input', '{}'], malformed.io)).toBe(2);
    expect(malformed.err[0]).toMatch(new RegExp(`^finflow: ${notJson}: not valid JSON`));
    expect(malformed.err.join('\n')).not.toContain('    at ');
  });

  it('runs a flow with inline or file input and prints the result as JSON', async () => {
    const c = capture();
    expect(await main(['run', flowFile, '--input', '{"amount": 25000}', '--json'], c.io)).toBe(0);
    const result = JSON.parse(c.out.join('\n'));
    expect(result).toMatchObject({ status: 'succeeded', outputs: { decision: 'review 25000' } });
    expect(result.nodes.small).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(result.nodes.big).toMatchObject({ status: 'succeeded', attempts: 1, ms: expect.any(Number) });
    const inputFile = join(dir, 'input.json');
    writeFileSync(inputFile, JSON.stringify({ amount: 10 }));
    const c2 = capture();
    expect(await main(['run', flowFile, '--input', inputFile, '--json'], c2.io)).toBe(0);
    expect(JSON.parse(c2.out.join('\n')).outputs).toEqual({ decision: 'approve 10' });
  });

  it('streams events as NDJSON', async () => {
    const c = capture();
    expect(await main(['run', flowFile, '--input', '{"amount": 1}', '--events'], c.io)).toBe(0);
    const events = c.out.map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });

  it('stops at a human review with exit 3, and goes on with the decisions given', async () => {
    const fixtures = new URL('../../../templates/credit-approval/fixtures/', import.meta.url).pathname;
    const input = join(fixtures, 'borderline-review.json');
    const waiting = capture();
    expect(await main(['run', 'credit-approval', '--input', input, '--json'], waiting.io)).toBe(3);
    const paused = JSON.parse(waiting.out.join('\n'));
    expect(paused).toMatchObject({
      status: 'waiting',
      waiting: [{ nodeId: 'underwriter', task: { queue: 'credit-underwriting' } }],
    });
    const text = capture();
    expect(await main(['run', 'credit-approval', '--input', input], text.io)).toBe(3);
    expect(text.out.join('\n')).toContain('waiting: underwriter in queue credit-underwriting');
    const decided = capture();
    const decisions = join(fixtures, 'borderline-review.review.json');
    expect(
      await main(
        ['run', 'credit-approval', '--input', input, '--decisions', decisions, '--events'],
        decided.io,
      ),
    ).toBe(0);
    const events = decided.out.map((l) => JSON.parse(l) as { type: string; seq: number });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['run.suspended', 'run.resumed']));
    expect(events.at(-1)).toMatchObject({
      type: 'run.finished',
      status: 'succeeded',
      outputs: { humanReview: { outcome: 'approve' } },
    });
    const bad = capture();
    await expect(
      main(['run', 'credit-approval', '--input', input, '--decisions', '[1]'], bad.io),
    ).resolves.toBe(2);
  });

  it('masks the event stream of a flow that marks personal data; the final outputs stay real', async () => {
    const input = join(dir, 'applicant.json');
    const fixture = join(templatesRoot, 'credit-approval', 'fixtures', 'borderline-review.json');
    writeFileSync(input, readFileSync(fixture));
    const applicant = (
      JSON.parse(readFileSync(fixture, 'utf8')) as { applicant: { name: string; idNumber: string } }
    ).applicant;
    // It waits for the underwriter; the reviewer's decision is given so the stream runs to its end.
    const decisions = join(templatesRoot, 'credit-approval', 'fixtures', 'borderline-review.review.json');
    const c = capture();
    expect(
      await main(['run', 'credit-approval', '--input', input, '--decisions', decisions, '--events'], c.io),
    ).toBe(0);
    const events = c.out.join('\n');
    expect(events).toContain('[redacted]');
    expect(events).not.toContain(applicant.name);
    expect(events).not.toContain(applicant.idNumber);
    // Refused alike: JSON nested past the limit and numbers JSON cannot hold.
    const deep = capture();
    expect(
      await main(['run', 'credit-approval', '--input', `${'['.repeat(100)}${']'.repeat(100)}`], deep.io),
    ).toBe(2);
    expect(deep.err[0]).toMatch(/nested more than 64 levels/);
    const huge = capture();
    expect(await main(['run', flowFile, '--input', '{"amount": -1e309}'], huge.io)).toBe(2);
    expect(huge.err[0]).toMatch(/finite/);
  });

  it('exits 2 on input that does not match the schema and on invalid flows', async () => {
    const c = capture();
    expect(await main(['run', flowFile, '--input', '{"amount": "lots"}'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/amount/);
    const v = capture();
    expect(await main(['run', broken, '--input', '{"amount": 1}'], v.io)).toBe(2);
    expect(v.err.join('\n')).toContain('DANGLING_EDGE');
    const u = capture();
    expect(await main(['run'], u.io)).toBe(2);
    expect(await main(['frobnicate'], u.io)).toBe(2);
    expect(await main(['run', 'no-such-template'], u.io)).toBe(2);
  });

  it('lists the catalog and runs one node alone', async () => {
    const c = capture();
    expect(await main(['catalog', '--json'], c.io)).toBe(0);
    const catalog = JSON.parse(c.out.join('\n')) as { type: string; configSchema: unknown }[];
    expect(catalog.map((e) => e.type)).toEqual(
      expect.arrayContaining(['io.input', 'logic.branch', 'data.template']),
    );
    const n = capture();
    expect(
      await main(
        [
          'node',
          'data.template',
          '--config',
          '{"template":"Hi {{ who }}","variables":["who"]}',
          '--inputs',
          '{"who":"Ann"}',
          '--json',
        ],
        n.io,
      ),
    ).toBe(0);
    expect(JSON.parse(n.out.join('\n'))).toMatchObject({ status: 'succeeded', outputs: { text: 'Hi Ann' } });
    const bad = capture();
    expect(await main(['node', 'data.template', '--config', '{"template":1}', '--json'], bad.io)).toBe(2);
    expect(JSON.parse(bad.out.join('\n'))).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_CONFIG' },
    });
    const unknown = capture();
    expect(await main(['node', 'data.nope'], unknown.io)).toBe(2);
  });

  it('loads node plugins named in FINFLOW_PLUGINS', async () => {
    const before = process.env['FINFLOW_PLUGINS'];
    process.env['FINFLOW_PLUGINS'] = join(import.meta.dirname, 'test-fixtures/double-plugin.mjs');
    try {
      const c = capture();
      expect(await main(['node', 'custom.double', '--inputs', '{"x":21}', '--json'], c.io)).toBe(0);
      expect(JSON.parse(c.out.join('\n'))).toMatchObject({ status: 'succeeded', outputs: { y: 42 } });
      process.env['FINFLOW_PLUGINS'] = './no-such-plugin.mjs';
      const bad = capture();
      expect(await main(['catalog'], bad.io)).toBe(2);
      expect(bad.err[0]).toMatch(/^finflow: FINFLOW_PLUGINS: /);
    } finally {
      if (before === undefined) delete process.env['FINFLOW_PLUGINS'];
      else process.env['FINFLOW_PLUGINS'] = before;
    }
  });

  it('reaches model providers only through FINFLOW_CONNECTIONS, under FINFLOW_EGRESS_ALLOW', async () => {
    const heard: { authorization: string | undefined }[] = [];
    const llm = createServer((req, res) => {
      heard.push({ authorization: req.headers.authorization });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm' };
        res.write(
          `data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { content: 'hello' } }] })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
      });
    });
    await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;
    const chatFlow = join(dir, 'chat.json');
    writeFileSync(
      chatFlow,
      JSON.stringify({
        schemaVersion: 1,
        id: 'chat',
        name: 'Chat',
        nodes: [
          { id: 'in', type: 'io.input', version: 1, config: {} },
          {
            id: 'chat',
            type: 'model.chat',
            version: 2,
            config: { provider: 'connection', connection: 'local', model: 'm', prompt: 'hi' },
          },
          { id: 'out', type: 'io.output', version: 1, config: { name: 'text' } },
        ],
        edges: [{ id: 'e', from: { node: 'chat', port: 'text' }, to: { node: 'out', port: 'value' } }],
      }),
    );
    const vars = ['FINFLOW_CONNECTIONS', 'FINFLOW_EGRESS_ALLOW', 'FINFLOW_CREDENTIAL_LOCAL_KEY'];
    const saved = vars.map((v) => process.env[v]);
    const connections = JSON.stringify({
      local: { kind: 'openai', baseUrl, credential: 'local-key', deployment: 'private' },
    });
    try {
      process.env['FINFLOW_CREDENTIAL_LOCAL_KEY'] = 'sk-cli-0123456789';
      const none = capture();
      expect(await main(['run', chatFlow], none.io)).toBe(2);
      expect(none.err.join('\n')).toContain('CONNECTION_NOT_FOUND');

      process.env['FINFLOW_CONNECTIONS'] = connections;
      const strict = capture();
      expect(await main(['run', chatFlow, '--json'], strict.io)).toBe(1);
      expect(JSON.parse(strict.out.join('\n')).nodes.chat.error.code).toBe('EGRESS_DENIED');
      expect(heard).toHaveLength(0);

      process.env['FINFLOW_EGRESS_ALLOW'] = 'loopback';
      const ok = capture();
      expect(await main(['run', chatFlow, '--json'], ok.io)).toBe(0);
      expect(JSON.parse(ok.out.join('\n')).outputs).toEqual({ text: 'hello' });
      expect(heard[0]?.authorization).toBe('Bearer sk-cli-0123456789');

      process.env['FINFLOW_CONNECTIONS'] =
        '{"local":{"kind":"openai","baseUrl":"ftp://x","deployment":"private"}}';
      const bad = capture();
      expect(await main(['run', chatFlow], bad.io)).toBe(2);
      expect(bad.err[0]).toMatch(/^finflow: FINFLOW_CONNECTIONS: local: baseUrl/);
      process.env['FINFLOW_CONNECTIONS'] = connections;
      process.env['FINFLOW_EGRESS_ALLOW'] = '10.0.0.0/99';
      const badAllow = capture();
      expect(await main(['run', chatFlow], badAllow.io)).toBe(2);
      expect(badAllow.err[0]).toMatch(/^finflow: FINFLOW_EGRESS_ALLOW: /);
    } finally {
      vars.forEach((v, i) => {
        const before = saved[i];
        if (before === undefined) delete process.env[v];
        else process.env[v] = before;
      });
      llm.closeAllConnections();
      await new Promise((r) => llm.close(r));
    }
  });

  it('is installed as the finflow command', async () => {
    const bin = join(import.meta.dirname, '../../bin/finflow.js');
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      'run',
      flowFile,
      '--input',
      '{"amount":20000}',
      '--json',
    ]);
    expect(JSON.parse(stdout).outputs).toEqual({ decision: 'review 20000' });
  });
});
