import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  connectionProblems,
  connectionSpecSchema,
  createConnectionResolver,
  destinationOf,
  flowDataClass,
  matchLegacyEndpoint,
  type ConnectionEvent,
  type ConnectionInfo,
  type ConnectionSpecInput,
} from './connections.js';
import type { AnyNodeDefinition } from './node.js';
import { createRegistry } from './registry.js';
import { testNodes } from './test-helpers/nodes.js';
import { prepareFlow } from './validate.js';

const info = (name: string, spec: ConnectionSpecInput): ConnectionInfo => ({
  name,
  ...connectionSpecSchema.parse(spec),
});

const workspace = [
  info('gateway', {
    kind: 'openai',
    baseUrl: 'https://llm.bank.example/v1',
    credential: 'prod-key',
    deployment: 'private',
    models: ['qwen2.5-72b'],
  }),
  info('cloud', {
    kind: 'openai',
    baseUrl: 'https://api.openai.com/v1',
    credential: 'openai',
    deployment: 'cloud',
  }),
  info('ollama', { kind: 'ollama', baseUrl: 'http://10.0.0.5:11434', deployment: 'private' }),
];

describe('the connection spec', () => {
  it('fills defaults by deployment and keeps data classes in order', () => {
    expect(workspace[0]?.dataClasses).toEqual(['public', 'internal', 'personal', 'confidential']);
    expect(workspace[1]?.dataClasses).toEqual(['public', 'internal']);
    const odd = info('x', {
      kind: 'openai',
      baseUrl: 'http://h/v1',
      deployment: 'cloud',
      dataClasses: ['personal', 'public'],
    });
    expect(odd.dataClasses).toEqual(['public', 'personal']);
    expect(odd).toMatchObject({ credential: null, models: [], pricing: null, description: '' });
  });

  it.each([
    [{ baseUrl: 'ftp://h/v1' }, 'http'],
    [{ baseUrl: 'https://user:sk-123@h/v1' }, 'password'],
    [{ baseUrl: 'https://h/v1#x' }, 'fragment'],
    [{ credential: '../etc' }, 'credential'],
    [{ kind: 'azure' }, 'kind'],
    [{ extra: 1 }, 'extra'],
    [{ pricing: { currency: 'usd', inputPer1kTokens: 1, outputPer1kTokens: 1 } }, 'currency'],
  ])('refuses %j', (change, where) => {
    const r = connectionSpecSchema.safeParse({
      kind: 'openai',
      baseUrl: 'https://h/v1',
      deployment: 'cloud',
      ...change,
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(new RegExp(where, 'i'));
  });
});

describe('version-1 endpoints', () => {
  it('compare by destination, not spelling', () => {
    expect(destinationOf('HTTPS://LLM.bank.example:443/v1/')).toBe('https://llm.bank.example/v1');
    expect(destinationOf('http://10.0.0.5:11434')).toBe('http://10.0.0.5:11434');
  });

  it('match the connection with the same kind, destination and credential', () => {
    const m = matchLegacyEndpoint(workspace, {
      provider: 'openai',
      baseUrl: 'https://llm.bank.example/v1/',
      credential: 'prod-key',
    });
    expect(m).toMatchObject({ ok: true, connection: { name: 'gateway' } });
    // No base URL meant api.openai.com.
    expect(matchLegacyEndpoint(workspace, { provider: 'openai', credential: 'openai' })).toMatchObject({
      ok: true,
      connection: { name: 'cloud' },
    });
    expect(
      matchLegacyEndpoint(workspace, { provider: 'ollama', baseUrl: 'http://10.0.0.5:11434/' }),
    ).toMatchObject({ ok: true, connection: { name: 'ollama' } });
  });

  it('refuse a bound credential sent elsewhere, and an unknown destination', () => {
    const stolen = matchLegacyEndpoint(workspace, {
      provider: 'openai',
      baseUrl: 'http://attacker.example:8080/v1',
      credential: 'prod-key',
    });
    expect(stolen).toMatchObject({ ok: false, code: 'CREDENTIAL_DESTINATION_MISMATCH' });
    expect(stolen.ok ? '' : stolen.message).toContain('"gateway"');
    // The right destination with another credential is not the connection either.
    expect(
      matchLegacyEndpoint(workspace, {
        provider: 'openai',
        baseUrl: 'https://llm.bank.example/v1',
        credential: 'openai',
      }),
    ).toMatchObject({ ok: false, code: 'CREDENTIAL_DESTINATION_MISMATCH' });
    expect(
      matchLegacyEndpoint(workspace, { provider: 'ollama', baseUrl: 'http://169.254.169.254/latest' }),
    ).toMatchObject({ ok: false, code: 'CONNECTION_REQUIRED' });
  });
});

describe('the data class of a flow', () => {
  it('is internal unless declared, and personal when the flow masks personal data', () => {
    expect(flowDataClass({})).toBe('internal');
    expect(flowDataClass({ settings: { dataClass: 'public' } })).toBe('public');
    expect(flowDataClass({ settings: { redact: { inputPaths: ['id'], nodes: [] } } })).toBe('personal');
    expect(
      flowDataClass({ settings: { dataClass: 'confidential', redact: { inputPaths: ['id'], nodes: [] } } }),
    ).toBe('confidential');
  });
});

// A node that declares its connection use, against the runtime's own test nodes.
const caller: AnyNodeDefinition = {
  type: 'test.caller',
  version: 1,
  meta: { title: 'caller', category: 'custom', description: 'calls a connection' },
  config: z.object({
    connection: z.string().optional(),
    legacy: z.object({ provider: z.enum(['openai', 'ollama']), baseUrl: z.string().optional() }).optional(),
    model: z.string().optional(),
    dataClass: z.enum(['public', 'internal', 'personal', 'confidential']).optional(),
    kind: z.enum(['openai', 'ollama']).default('openai'),
  }),
  inputs: {},
  outputs: {},
  timeoutMs: 1000,
  retry: { maxAttempts: 1, initialDelayMs: 1, backoff: 2, maxDelayMs: 1, nonRetryable: [] },
  connections: (c: {
    connection?: string;
    legacy?: never;
    model?: string;
    dataClass?: never;
    kind: 'openai';
  }) => [
    {
      path: c.connection === undefined ? ['legacy'] : ['connection'],
      name: c.connection,
      legacy: c.legacy,
      kinds: [c.kind],
      model: c.model,
      dataClass: c.dataClass,
    },
  ],
  run: () => ({}),
};
const registry = createRegistry([...testNodes(), caller]);

function problemsOf(config: Record<string, unknown>, settings?: Record<string, unknown>) {
  const r = prepareFlow(
    {
      schemaVersion: 1,
      id: 'f',
      name: 'f',
      nodes: [
        { id: 'in', type: 'io.input', version: 1 },
        { id: 'call', type: 'test.caller', version: 1, config },
        { id: 'out', type: 'io.output', version: 1, config: { name: 'o' } },
      ],
      edges: [{ id: 'e', from: { node: 'in', port: 'value' }, to: { node: 'out', port: 'value' } }],
      ...(settings ? { settings } : {}),
    },
    registry,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return connectionProblems(r.prepared, workspace);
}

describe('connection problems of a flow', () => {
  it('none when the connection exists and may take the call', () => {
    expect(problemsOf({ connection: 'gateway', model: 'qwen2.5-72b', dataClass: 'personal' })).toEqual([]);
    expect(
      problemsOf({ legacy: { provider: 'ollama', baseUrl: 'http://10.0.0.5:11434' }, kind: 'ollama' }),
    ).toEqual([]);
  });

  it.each([
    [{ connection: 'nope' }, undefined, 'CONNECTION_NOT_FOUND', ['connection'], 'no connection named "nope"'],
    [
      { connection: 'gateway', model: 'gpt-4o' },
      undefined,
      'CONNECTION_NOT_ALLOWED',
      ['connection'],
      'model',
    ],
    [{ connection: 'ollama' }, undefined, 'CONNECTION_NOT_ALLOWED', ['connection'], 'Ollama connection'],
    [
      { connection: 'cloud', dataClass: 'personal' },
      undefined,
      'CONNECTION_NOT_ALLOWED',
      ['connection'],
      'personal',
    ],
    [
      { connection: 'cloud' },
      { redact: { inputPaths: ['idNumber'], nodes: [] } },
      'CONNECTION_NOT_ALLOWED',
      ['connection'],
      'may not receive personal data',
    ],
    [
      { connection: 'cloud' },
      { dataClass: 'confidential' },
      'CONNECTION_NOT_ALLOWED',
      ['connection'],
      'confidential',
    ],
    [
      { legacy: { provider: 'openai', baseUrl: 'http://127.0.0.1:3000/api' } },
      undefined,
      'CONNECTION_REQUIRED',
      ['legacy'],
      'choose a connection',
    ],
  ])('%j in a flow with settings %j: %s', (config, settings, code, path, text) => {
    const problems = problemsOf(config, settings);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code, nodeId: 'call', path });
    expect(problems[0]?.message).toContain(text);
  });

  it('reports a credential bound to another destination', () => {
    const bound: AnyNodeDefinition = {
      ...caller,
      type: 'test.bound',
      connections: () => [
        {
          path: ['legacy'],
          legacy: { provider: 'openai', baseUrl: 'http://listener.example/v1', credential: 'prod-key' },
          kinds: ['openai'],
        },
      ],
    };
    const r = prepareFlow(
      {
        schemaVersion: 1,
        id: 'f',
        name: 'f',
        nodes: [
          { id: 'in', type: 'io.input', version: 1 },
          { id: 'b', type: 'test.bound', version: 1 },
          { id: 'out', type: 'io.output', version: 1, config: { name: 'o' } },
        ],
        edges: [{ id: 'e', from: { node: 'in', port: 'value' }, to: { node: 'out', port: 'value' } }],
      },
      createRegistry([...testNodes(), bound]),
    );
    expect(r.ok && connectionProblems(r.prepared, workspace)).toMatchObject([
      { code: 'CREDENTIAL_DESTINATION_MISMATCH', nodeId: 'b', path: ['legacy'] },
    ]);
  });
});

describe('the connection resolver', () => {
  it('checks each call, raising it to the flow class, and records uses once, refusals and routes each time', async () => {
    const events: ConnectionEvent[] = [];
    const resolver = createConnectionResolver({
      list: () => workspace,
      flowDataClass: 'internal',
      record: (e) => events.push(e),
    });
    const call = { name: 'cloud', nodeId: 'n', kinds: ['openai'] as const, dataClass: 'public' as const };
    await resolver.open(call);
    await resolver.open(call);
    await resolver.open({ ...call, route: { reasons: ['no personal data'] } });
    await expect(
      resolver.open({ ...call, dataClass: 'personal', piiTypes: ['CN_RESIDENT_ID'] }),
    ).rejects.toMatchObject({
      code: 'CONNECTION_NOT_ALLOWED',
    });
    await expect(resolver.open({ ...call, name: 'other' })).rejects.toMatchObject({
      code: 'CONNECTION_NOT_FOUND',
    });
    expect(events.map((e) => [e.type, e.connection, e.dataClass])).toEqual([
      ['used', 'cloud', 'internal'],
      ['routed', 'cloud', 'internal'],
      ['refused', 'cloud', 'personal'],
      ['refused', 'other', 'internal'],
    ]);
    expect(events[1]?.reasons).toEqual(['no personal data']);
    expect(events[2]?.piiTypes).toEqual(['CN_RESIDENT_ID']);
    const personalFlow = createConnectionResolver({ list: () => workspace, flowDataClass: 'personal' });
    await expect(personalFlow.open(call)).rejects.toMatchObject({ code: 'CONNECTION_NOT_ALLOWED' });
  });
});
