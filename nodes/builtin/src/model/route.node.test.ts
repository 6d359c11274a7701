import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, createRuntime, type ConnectionEvent } from '@finflow/runtime';
import { runNode } from '@finflow/sdk/testing';
import { piiCorpus } from '../compliance/test-helpers/datasets.js';
import { routeNode } from './route.node.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';
import { readBanking77 } from './test-helpers/datasets.js';
import { openAiStream, startMockServer, type MockServer } from './test-helpers/mock-llm.js';

// Two local mock providers: the bank's own model and a cheaper cloud model, each with a price per 1k tokens.
let privateLlm: MockServer;
let cloudLlm: MockServer;
beforeAll(async () => {
  privateLlm = await startMockServer(() => ({
    sse: openAiStream(['answered ', 'in house'], 'qwen2.5-72b', {
      prompt_tokens: 400,
      completion_tokens: 100,
    }),
  }));
  cloudLlm = await startMockServer(() => ({
    sse: openAiStream(['answered ', 'in the cloud'], 'gpt-4o-mini', {
      prompt_tokens: 400,
      completion_tokens: 100,
    }),
  }));
});
afterAll(async () => {
  await Promise.all([privateLlm.close(), cloudLlm.close()]);
});
beforeEach(() => {
  privateLlm.requests.length = 0;
  cloudLlm.requests.length = 0;
});

const connections = () => ({
  'bank-llm': openAiAt(privateLlm.url, {
    models: ['qwen2.5-72b'],
    pricing: { currency: 'CNY', inputPer1kTokens: 0.02, outputPer1kTokens: 0.06 },
  }),
  'cloud-llm': openAiAt(cloudLlm.url, {
    deployment: 'cloud',
    credential: 'cloud-key',
    models: ['gpt-4o-mini'],
    pricing: { currency: 'CNY', inputPer1kTokens: 0.001, outputPer1kTokens: 0.004 },
  }),
});

const config = (extra: Record<string, unknown> = {}) => ({
  private: 'bank-llm',
  cloud: 'cloud-llm',
  system: 'You are a helpful bank assistant.',
  prompt: '{{ message }}',
  variables: ['message'],
  ...extra,
});

interface Route {
  connection: string;
  deployment: string;
  dataClass: string;
  reasons: string[];
  piiTypes: string[];
  cost: number | null;
  baselineCost: number | null;
  costSaved: number | null;
  currency: string | null;
}

async function route(
  message: string,
  options: {
    extra?: Record<string, unknown>;
    inputs?: Record<string, unknown>;
    events?: ConnectionEvent[];
  } = {},
) {
  const { flowDataClass, ...extra } = (options.extra ?? {}) as { flowDataClass?: 'personal' };
  return runNode(routeNode, {
    config: config(extra),
    inputs: { message, ...options.inputs },
    ...withConnections(connections(), {
      ...(options.events ? { events: options.events } : {}),
      ...(flowDataClass ? { flowDataClass } : {}),
    }),
    secrets: { 'cloud-key': 'sk-cloud-abcdef123456' },
  });
}

describe('model.route', () => {
  it('never sends a prompt with a resident ID number to the cloud (every such record of the zh/en PII corpus)', async () => {
    const withId = piiCorpus().filter((r) => r.spans.some((s) => s.label === 'CN_RESIDENT_ID'));
    expect(withId.length).toBeGreaterThan(50);
    for (const record of withId) {
      const events: ConnectionEvent[] = [];
      const r = await route(record.text, { events });
      expect(r.error).toBeUndefined();
      const out = r.outputs as { text: string; route: Route };
      expect(out.text).toBe('answered in house');
      expect(out.route).toMatchObject({
        connection: 'bank-llm',
        deployment: 'private',
        dataClass: 'personal',
      });
      expect(out.route.piiTypes).toContain('CN_RESIDENT_ID');
      expect(out.route.reasons).toContain('the cloud connection may not receive personal data');
      // The decision is recorded for the audit trail, with the PII types and never the values.
      const routed = events.find((e) => e.type === 'routed');
      expect(routed).toMatchObject({ connection: 'bank-llm', deployment: 'private', dataClass: 'personal' });
      const id = record.spans.find((s) => s.label === 'CN_RESIDENT_ID')!.value;
      expect(JSON.stringify(events)).not.toContain(id);
    }
    expect(cloudLlm.requests).toHaveLength(0);
    expect(privateLlm.requests).toHaveLength(withId.length);
  });

  it('sends ordinary banking questions (BANKING77) to the cloud and reports the cost saved', async () => {
    const questions = readBanking77('test')
      .filter((r) => r.label === 'card_arrival' || r.label === 'exchange_rate')
      .map((r) => r.text);
    expect(questions.length).toBe(80);
    const toCloud: Route[] = [];
    for (const q of questions) {
      const r = await route(q);
      const out = r.outputs as { route: Route };
      if (out.route.deployment === 'cloud') toCloud.push(out.route);
    }
    expect(toCloud.length).toBe(questions.length);
    expect(cloudLlm.requests).toHaveLength(questions.length);
    expect(cloudLlm.requests[0]?.headers['authorization']).toBe('Bearer sk-cloud-abcdef123456');
    expect(privateLlm.requests).toHaveLength(0);
    // 400 prompt and 100 reply tokens: 0.0008 CNY in the cloud against 0.014 CNY on the private model.
    expect(toCloud[0]).toMatchObject({
      connection: 'cloud-llm',
      dataClass: 'internal',
      cost: 0.0008,
      baselineCost: 0.014,
      costSaved: 0.0132,
      currency: 'CNY',
    });
    expect(toCloud[0]?.reasons).toEqual(['the cloud connection may receive internal data']);
  });

  it('follows a classification input, the flow data class and the budget', async () => {
    const question = 'What is the current USD to EUR exchange rate?';
    const classified = await route(question, { inputs: { classification: 'Confidential' } });
    expect((classified.outputs as { route: Route }).route).toMatchObject({
      deployment: 'private',
      dataClass: 'confidential',
      reasons: ['classified as confidential', 'the cloud connection may not receive confidential data'],
      costSaved: 0,
    });
    const personalFlow = await route(question, { extra: { flowDataClass: 'personal' } });
    expect((personalFlow.outputs as { route: Route }).route.reasons).toEqual([
      'the flow handles personal data',
      'the cloud connection may not receive personal data',
    ]);
    const budget = await route(question, { extra: { maxCloudCost: 0.0001, maxTokens: 4000 } });
    expect((budget.outputs as { route: Route }).route).toMatchObject({ deployment: 'private' });
    expect((budget.outputs as { route: Route }).route.reasons.at(-1)).toMatch(/over the budget of 0.0001/);
    expect(cloudLlm.requests).toHaveLength(0);
    const bad = await route(question, { inputs: { classification: 'secret-ish' } });
    expect(bad.error?.code).toBe('INVALID_INPUT');
  });

  it('refuses, and records the refusal, when not even the private connection may take the data', async () => {
    const events: ConnectionEvent[] = [];
    const r = await runNode(routeNode, {
      config: config(),
      inputs: { message: '客户黄强的身份证号码是610113197610282440，请核实。' },
      ...withConnections(
        {
          ...connections(),
          'bank-llm': openAiAt(privateLlm.url, { dataClasses: ['public', 'internal'] }),
        },
        { events },
      ),
    });
    expect(r.error?.code).toBe('CONNECTION_NOT_ALLOWED');
    expect(events.map((e) => [e.type, e.connection, e.dataClass])).toEqual([
      ['refused', 'bank-llm', 'personal'],
    ]);
    expect(privateLlm.requests).toHaveLength(0);
    expect(cloudLlm.requests).toHaveLength(0);
  });

  it('is checked at validation: both connections, different, the private one allowed the flow data', () => {
    const runtime = createRuntime({ registry: createRegistry([routeNode]) });
    const problems = runtime.validate({
      schemaVersion: 1,
      id: 'f',
      name: 'f',
      nodes: [
        { id: 'r', type: 'model.route', version: 1, config: { prompt: 'x', private: 'a', cloud: 'a' } },
      ],
      edges: [],
    });
    expect(problems.filter((p) => p.nodeId === 'r').map((p) => p.message)).toEqual([
      'the private and the cloud connection are the same',
    ]);
  });
});
