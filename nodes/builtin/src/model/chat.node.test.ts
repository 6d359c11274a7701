import { afterEach, describe, expect, it } from 'vitest';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { inputNode } from '../io/input.node.js';
import { outputNode } from '../io/output.node.js';
import { chatNode } from './chat.node.js';
import { OFFLINE_MARKER } from './extractive.js';
import type { ModelProvider } from './services.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';
import {
  ollamaStream,
  openAiError,
  openAiStream,
  startMockServer,
  type MockServer,
} from './test-helpers/mock-llm.js';

const invoice = [
  'INVOICE INV-2024-0117',
  'Issued by Harbour Office Supplies Ltd on 1 March 2024.',
  'Bill to: Northwind Credit Union, 12 Quay Street.',
  '40 reams of A4 paper at $6.50 each: $260.00.',
  'Subtotal $260.00; VAT 20%: $52.00.',
  'Total due: $312.00, payable by 31 March 2024.',
  'Late payments accrue interest of 1.5% per month.',
].join('\n');

let servers: MockServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function mock(handler: Parameters<typeof startMockServer>[0]): Promise<MockServer> {
  const s = await startMockServer(handler);
  servers.push(s);
  return s;
}

const fastRetry = { initialDelayMs: 10, maxDelayMs: 20 };

describe('model.chat with the offline default', () => {
  it('quotes the sentences that answer the question and lists the figures, saying it is no LLM', async () => {
    const r = await runNode(chatNode, {
      config: {
        prompt: '{{ invoice }}\n\nWhat is the total due and when must it be paid?',
        variables: ['invoice'],
      },
      inputs: { invoice },
    });
    expect(r.status).toBe('succeeded');
    const out = r.outputs as {
      text: string;
      model: string;
      usage: Record<string, number>;
      latencyMs: number;
    };
    expect(out.text.startsWith(OFFLINE_MARKER)).toBe(true);
    const quoted = out.text.split('\n').filter((l) => /^\d\. /.test(l));
    expect(quoted[0]).toBe('1. Total due: $312.00, payable by 31 March 2024.');
    expect(out.text).toContain('Amounts: $6.50, $260.00, $52.00, $312.00');
    expect(out.text).toContain('Dates: 1 March 2024, 31 March 2024');
    expect(out.text).toContain('Percentages: 20%, 1.5%');
    expect(out.model).toBe('offline-extractive (no LLM)');
    expect(out.usage['outputTokens']).toBeGreaterThan(10);
    // The reply is streamed word by word and the pieces add up to the text.
    expect(r.streamed.length).toBeGreaterThan(10);
    expect(r.streamed.join('')).toBe(out.text);
  });

  it('is deterministic and honours max tokens and stop sequences', async () => {
    const config = {
      prompt: '{{ invoice }}\nWhat interest do late payments accrue?',
      variables: ['invoice'],
    };
    const a = await runNodeOk(chatNode, { config, inputs: { invoice } });
    const b = await runNodeOk(chatNode, { config, inputs: { invoice } });
    expect(a['text']).toBe(b['text']);
    expect(a['text']).toContain('1. Late payments accrue interest of 1.5% per month.');
    const short = await runNodeOk(chatNode, { config: { ...config, maxTokens: 6 }, inputs: { invoice } });
    expect((short['text'] as string).slice(OFFLINE_MARKER.length).trim().split(/\s+/)).toHaveLength(6);
    const stopped = await runNodeOk(chatNode, {
      config: { ...config, stop: ['Amounts:'] },
      inputs: { invoice },
    });
    expect(stopped['text']).not.toContain('Amounts:');
  });

  it('fails clearly on a missing template value', async () => {
    const r = await runNode(chatNode, { config: { prompt: 'Summarise {{ doc }}', variables: ['doc'] } });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('TEMPLATE_VARIABLE_MISSING');
    expect(r.attempts).toBe(1);
  });
});

describe('model.chat with a reviewed wording for the offline default', () => {
  const config = {
    system: 'You write a short, plain note to the customer. Do not invent figures.',
    prompt: 'Invoice:\n{{ invoice }}\nQuestion: what is due, and by when?',
    offlineWording:
      'Thank you. The amount due on invoice {{ bill.number }} is {{ bill.total }}, payable by {{ bill.due }}.',
    variables: ['invoice', 'bill'],
  };
  const bill = { number: 'INV-2024-0117', total: '$312.00', due: '31 March 2024' };

  it('replies with the wording, filled from the structured results, when no LLM is configured', async () => {
    const r = await runNode(chatNode, { config, inputs: { invoice, bill } });
    expect(r.status).toBe('succeeded');
    const text = 'Thank you. The amount due on invoice INV-2024-0117 is $312.00, payable by 31 March 2024.';
    expect(r.outputs).toMatchObject({ text, model: 'reviewed wording (offline default, no LLM)' });
    expect(r.streamed.join('')).toBe(text);
  });

  it('uses the LLM when one is configured, and never the wording', async () => {
    const r = await runNode(chatNode, {
      config: { ...config, provider: 'connection', connection: 'local', model: 'qwen2.5' },
      inputs: { invoice, bill },
      services: {
        models: { chatModel: () => new FakeListChatModel({ responses: ['Please pay $312.00.'] }) },
        ...withConnections({
          local: { kind: 'ollama', baseUrl: 'http://127.0.0.1:11434', deployment: 'private' },
        }).services,
      },
    });
    expect(r.error).toBeUndefined();
    expect(r.outputs?.['text']).toBe('Please pay $312.00.');
  });

  it('checks the wording’s placeholders like the prompt’s', () => {
    const runtime = createRuntime({ registry: createRegistry([chatNode]) });
    const problems = runtime.validate({
      schemaVersion: 1,
      id: 'f',
      name: 'f',
      nodes: [
        {
          id: 'chat',
          type: 'model.chat',
          version: 1,
          config: { prompt: 'hi', offlineWording: 'Due: {{ totl }}', variables: ['total'] },
        },
      ],
      edges: [],
    });
    expect(problems.map((p) => p.message).join('\n')).toContain('{{ totl }} reads "totl"');
  });
});

describe('model.chat with an injected model', () => {
  it('uses the model from services and streams its tokens', async () => {
    const seen: unknown[] = [];
    const models: ModelProvider = {
      chatModel(spec) {
        seen.push(spec);
        return new FakeListChatModel({ responses: ['The total due is $312.00.'] });
      },
    };
    const r = await runNode(chatNode, {
      config: {
        provider: 'connection',
        connection: 'gateway',
        model: 'gpt-test',
        prompt: 'Total of {{ invoice }}?',
        variables: ['invoice'],
        temperature: 0.3,
      },
      inputs: { invoice },
      services: {
        models,
        ...withConnections({
          gateway: {
            kind: 'openai',
            baseUrl: 'https://llm.example.com/v1',
            credential: 'openai',
            deployment: 'private',
          },
        }).services,
      },
      secrets: { openai: 'sk-test-1234567890' },
    });
    expect(r.error).toBeUndefined();
    expect(r.outputs?.['text']).toBe('The total due is $312.00.');
    expect(r.streamed.join('')).toBe('The total due is $312.00.');
    expect(seen[0]).toMatchObject({
      provider: 'openai',
      model: 'gpt-test',
      baseUrl: 'https://llm.example.com/v1',
      connection: 'gateway',
      apiKey: 'sk-test-1234567890',
      temperature: 0.3,
      maxTokens: 1024,
    });
  });

  it('runs in a flow: input → model.chat → output', async () => {
    const runtime = createRuntime({
      registry: createRegistry([inputNode, outputNode, chatNode]),
      services: {
        models: { chatModel: () => new FakeListChatModel({ responses: ['Pay $312.00 by 31 March 2024.'] }) },
        ...withConnections({
          local: { kind: 'ollama', baseUrl: 'http://127.0.0.1:11434', deployment: 'private' },
        }).services,
      },
    });
    const result = await runtime.run(
      {
        schemaVersion: 1,
        id: 'invoice_summary',
        name: 'Invoice summary',
        nodes: [
          {
            id: 'in',
            type: 'io.input',
            version: 1,
            config: {
              schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
            },
          },
          {
            id: 'chat',
            type: 'model.chat',
            version: 1,
            // Saved before connections: runs through the connection with the same kind and destination.
            config: {
              provider: 'ollama',
              model: 'qwen2.5',
              prompt: 'Summarise: {{ text }}',
              variables: ['text'],
            },
          },
          { id: 'out', type: 'io.output', version: 1, config: { name: 'summary' } },
        ],
        edges: [
          { id: 'e1', from: { node: 'in', port: 'text' }, to: { node: 'chat', port: 'text' } },
          { id: 'e2', from: { node: 'chat', port: 'text' }, to: { node: 'out', port: 'value' } },
        ],
      },
      { text: invoice },
    );
    expect(result.status).toBe('succeeded');
    expect(result.outputs['summary']).toBe('Pay $312.00 by 31 March 2024.');
  });

  it('refuses a connection config that names no connection before running', () => {
    const runtime = createRuntime({ registry: createRegistry([chatNode]) });
    const problems = runtime.validate({
      schemaVersion: 1,
      id: 'f',
      name: 'f',
      nodes: [
        { id: 'chat', type: 'model.chat', version: 2, config: { provider: 'connection', prompt: 'hi' } },
      ],
      edges: [],
    });
    const own = problems.filter((p) => p.nodeId === 'chat');
    expect(own).toMatchObject([{ code: 'INVALID_CONFIG', path: ['connection'] }]);
    expect(own[0]?.message).toContain('choose a connection');
  });
});

describe('model.chat against an OpenAI-compatible server', () => {
  it('streams tokens over SSE, sends the key, parameters and stop, and reports usage and model', async () => {
    const server = await mock(() => ({
      sse: openAiStream(['The ', 'total ', 'is ', '$312.00.'], 'mock-gpt-2024'),
    }));
    const r = await runNode(chatNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'mock-gpt',
        system: 'You are a careful accounts assistant.',
        prompt: 'Total of: {{ invoice }}',
        variables: ['invoice'],
        temperature: 0.2,
        maxTokens: 64,
        stop: ['###'],
      },
      inputs: { invoice },
      ...withConnections({ llm: openAiAt(server.url, { credential: 'llm-key' }) }),
      secrets: { 'llm-key': 'sk-local-abcdef123456' },
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toMatchObject({
      text: 'The total is $312.00.',
      model: 'openai:mock-gpt-2024',
      usage: { inputTokens: 12, outputTokens: 5, totalTokens: 17, estimated: false },
    });
    expect(r.streamed).toEqual(['The ', 'total ', 'is ', '$312.00.']);
    const req = server.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers['authorization']).toBe('Bearer sk-local-abcdef123456');
    expect(req?.body).toMatchObject({
      model: 'mock-gpt',
      stream: true,
      temperature: 0.2,
      max_tokens: 64,
      stop: ['###'],
    });
    const messages = req?.body['messages'] as { role: string; content: string }[];
    expect(messages[0]).toEqual({ role: 'system', content: 'You are a careful accounts assistant.' });
    expect(messages[1]?.content).toContain('Total due: $312.00');
  });

  it('places earlier turns between the system prompt and the user prompt', async () => {
    const server = await mock(() => ({ sse: openAiStream(['Yes.']) }));
    await runNodeOk(chatNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'm',
        system: 'Be brief.',
        prompt: 'And the VAT?',
      },
      ...withConnections({ llm: openAiAt(server.url) }),
      inputs: {
        history: [
          { role: 'user', content: 'What is the total?' },
          { role: 'assistant', content: '$312.00.' },
        ],
      },
    });
    const messages = server.requests[0]?.body['messages'] as { role: string; content: string }[];
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'],
      ['user', 'What is the total?'],
      ['assistant', '$312.00.'],
      ['user', 'And the VAT?'],
    ]);
  });

  it('works without a key for a local server and sends a placeholder, not the environment key', async () => {
    const server = await mock(() => ({ sse: openAiStream(['ok']) }));
    const saved = process.env['OPENAI_API_KEY'];
    process.env['OPENAI_API_KEY'] = 'sk-from-environment-should-not-leak';
    try {
      const out = await runNodeOk(chatNode, {
        config: { provider: 'connection', connection: 'llm', model: 'local', prompt: 'hi' },
        ...withConnections({ llm: openAiAt(server.url) }),
      });
      expect(out['text']).toBe('ok');
    } finally {
      if (saved === undefined) delete process.env['OPENAI_API_KEY'];
      else process.env['OPENAI_API_KEY'] = saved;
    }
    expect(server.requests[0]?.headers['authorization']).toBe('Bearer no-key');
  });

  it('retries a rate limit (429) and then succeeds', async () => {
    const server = await mock((_req, i) =>
      i === 0
        ? { status: 429, json: openAiError('Rate limit reached', 'rate_limit_exceeded') }
        : { sse: openAiStream(['fine']) },
    );
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(server.url) }),
      retry: fastRetry,
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs?.['text']).toBe('fine');
    expect(r.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it('ends in PROVIDER_ERROR after the retry policy when the server keeps failing with 500', async () => {
    const server = await mock(() => ({ status: 500, json: openAiError('The server had an error') }));
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(server.url) }),
      retry: fastRetry,
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('PROVIDER_ERROR');
    expect(r.error?.message).toContain('HTTP 500');
    expect(r.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a refused credential (401) and never shows the key', async () => {
    const server = await mock(() => ({
      status: 401,
      json: openAiError('Incorrect API key provided: sk-wrong-9876543210', 'invalid_request_error'),
    }));
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(server.url, { credential: 'k' }) }),
      secrets: { k: 'sk-wrong-9876543210' },
      retry: fastRetry,
    });
    expect(r.error?.code).toBe('AUTH_FAILED');
    expect(r.attempts).toBe(1);
    expect(JSON.stringify(r.error)).not.toContain('sk-wrong-9876543210');
  });

  it('ends a hanging server at the node time-out and closes the connection', async () => {
    const server = await mock(() => ({ hang: true }));
    const started = Date.now();
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(server.url) }),
      timeoutMs: 500,
      retry: { maxAttempts: 1 },
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect.poll(() => server.abandoned).toBe(1);
  });

  it('reports an unreachable server', async () => {
    const server = await mock(() => ({ sse: [] }));
    const url = server.url;
    await server.close();
    servers = [];
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(url) }),
      retry: { maxAttempts: 1 },
    });
    expect(r.error?.code).toBe('PROVIDER_UNREACHABLE');
  });

  it("fails with SECRET_NOT_FOUND when the connection's credential is missing", async () => {
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt('http://127.0.0.1:9', { credential: 'absent' }) }),
      secrets: {},
    });
    expect(r.error?.code).toBe('SECRET_NOT_FOUND');
  });
});

describe('model.chat against Ollama', () => {
  it('streams the NDJSON reply of /api/chat', async () => {
    const server = await mock(() => ({ ndjson: ollamaStream(['Pay ', '$312.00', '.']) }));
    const r = await runNode(chatNode, {
      config: {
        provider: 'connection',
        connection: 'ollama',
        model: 'qwen2.5:7b',
        prompt: 'Total of {{ invoice }}?',
        variables: ['invoice'],
        maxTokens: 50,
      },
      inputs: { invoice },
      ...withConnections({ ollama: { kind: 'ollama', baseUrl: server.url, deployment: 'private' } }),
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toMatchObject({
      text: 'Pay $312.00.',
      usage: { inputTokens: 20, outputTokens: 3, estimated: false },
    });
    expect(r.streamed).toEqual(['Pay ', '$312.00', '.']);
    expect(server.requests[0]?.path).toBe('/api/chat');
    expect(server.requests[0]?.body).toMatchObject({
      model: 'qwen2.5:7b',
      stream: true,
      options: { num_predict: 50, temperature: 0 },
    });
  });

  it('maps an Ollama error status and ends a hang at the time-out', async () => {
    const missing = await mock(() => ({
      status: 404,
      json: { error: 'model "nope" not found, try pulling it first' },
    }));
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'ollama', model: 'nope', prompt: 'hi' },
      ...withConnections({ ollama: { kind: 'ollama', baseUrl: missing.url, deployment: 'private' } }),
    });
    expect(r.error?.code).toBe('MODEL_NOT_FOUND');
    expect(r.attempts).toBe(1);
    const hung = await mock(() => ({ hang: true }));
    const h = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'ollama', model: 'm', prompt: 'hi' },
      ...withConnections({ ollama: { kind: 'ollama', baseUrl: hung.url, deployment: 'private' } }),
      timeoutMs: 400,
      retry: { maxAttempts: 1 },
    });
    expect(h.error?.code).toBe('TIMEOUT');
    await expect.poll(() => hung.abandoned).toBe(1);
  });
});

describe('model.chat with node-llama-cpp', () => {
  it('says what to install, or that the file is missing, instead of failing obscurely', async () => {
    const r = await runNode(chatNode, {
      config: { provider: 'llama-cpp', modelPath: '/nonexistent/model.gguf', prompt: 'hi' },
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(r.error?.message).toMatch(/no GGUF file|node-llama-cpp/);
  });
});

describe('model.chat and connections', () => {
  const legacyFlow = (config: Record<string, unknown>) => ({
    schemaVersion: 1,
    id: 'legacy',
    name: 'Saved before connections',
    nodes: [
      { id: 'in', type: 'io.input', version: 1, config: {} },
      { id: 'chat', type: 'model.chat', version: 1, config: { prompt: 'Summarise the account', ...config } },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'text' } },
    ],
    edges: [{ id: 'e', from: { node: 'chat', port: 'text' }, to: { node: 'out', port: 'value' } }],
  });

  it('runs a version-1 node through the connection that binds its base URL and credential', async () => {
    const gateway = await mock(() => ({ sse: openAiStream(['via the gateway']) }));
    const runtime = createRuntime({
      registry: createRegistry([inputNode, outputNode, chatNode]),
      services: {
        ...withConnections({ gateway: openAiAt(gateway.url, { credential: 'prod-key' }) }).services,
        secrets: { get: async (n) => (n === 'prod-key' ? 'sk-prod-0123456789' : undefined) },
      },
    });
    const ok = await runtime.run(
      legacyFlow({ provider: 'openai', model: 'm', baseUrl: `${gateway.url}/v1/`, credential: 'prod-key' }),
      {},
    );
    expect(ok.status).toBe('succeeded');
    expect(ok.outputs['text']).toBe('via the gateway');
    expect(gateway.requests[0]?.headers['authorization']).toBe('Bearer sk-prod-0123456789');
  });

  it('refuses a version-1 node that sends a bound credential elsewhere: the other host hears nothing', async () => {
    const gateway = await mock(() => ({ sse: openAiStream(['x']) }));
    const listener = await mock(() => ({ sse: openAiStream(['stolen']) }));
    const runtime = createRuntime({
      registry: createRegistry([inputNode, outputNode, chatNode]),
      services: {
        ...withConnections({ gateway: openAiAt(gateway.url, { credential: 'prod-key' }) }).services,
        secrets: { get: async () => 'sk-prod-0123456789' },
      },
    });
    const stolen = await runtime.run(
      legacyFlow({ provider: 'openai', model: 'm', baseUrl: `${listener.url}/v1`, credential: 'prod-key' }),
      {},
    );
    expect(stolen.status).toBe('failed');
    expect(stolen.error).toMatchObject({ code: 'CREDENTIAL_DESTINATION_MISMATCH', nodeId: 'chat' });
    expect(stolen.error?.message).toContain('"gateway"');
    const keyless = await runtime.run(
      legacyFlow({ provider: 'ollama', model: 'm', baseUrl: listener.url }),
      {},
    );
    expect(keyless.error?.code).toBe('CONNECTION_REQUIRED');
    expect(listener.requests).toHaveLength(0);
    expect(gateway.requests).toHaveLength(0);
  });

  it('refuses a prompt with personal data on a cloud connection, before anything is sent', async () => {
    const cloud = await mock(() => ({ sse: openAiStream(['x']) }));
    const events: unknown[] = [];
    const r = await runNode(chatNode, {
      config: {
        provider: 'connection',
        connection: 'cloud',
        model: 'm',
        prompt: '客户身份证号 11010519491231002X，请总结其账户情况',
      },
      ...withConnections(
        { cloud: openAiAt(cloud.url, { deployment: 'cloud' }) },
        { events: events as never[] },
      ),
    });
    expect(r.error?.code).toBe('CONNECTION_NOT_ALLOWED');
    expect(r.error?.message).toContain('may not receive personal data');
    expect(r.attempts).toBe(1);
    expect(cloud.requests).toHaveLength(0);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'refused',
        connection: 'cloud',
        dataClass: 'personal',
        piiTypes: ['CN_RESIDENT_ID'],
      }),
    ]);
    // The same connection takes a prompt without personal data.
    const fine = await runNode(chatNode, {
      config: {
        provider: 'connection',
        connection: 'cloud',
        model: 'm',
        prompt: 'Explain what a mortgage offset is',
      },
      ...withConnections({ cloud: openAiAt(cloud.url, { deployment: 'cloud' }) }),
    });
    expect(fine.status).toBe('succeeded');
    expect(cloud.requests).toHaveLength(1);
  });

  it('keeps to the models a connection allows', async () => {
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'gpt-4-expensive', prompt: 'hi' },
      ...withConnections({ llm: openAiAt('http://127.0.0.1:9', { models: ['gpt-4o-mini'] }) }),
    });
    expect(r.error?.code).toBe('CONNECTION_NOT_ALLOWED');
    expect(r.error?.message).toContain('does not allow the model "gpt-4-expensive"');
  });

  it('reaches no loopback server under the default egress policy', async () => {
    const server = await mock(() => ({ sse: openAiStream(['x']) }));
    const { services } = withConnections({ llm: openAiAt(server.url, { credential: 'k' }) });
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      services: { connections: services.connections! },
      secrets: { k: 'sk-never-sent-123456' },
    });
    expect(r.error?.code).toBe('EGRESS_DENIED');
    expect(r.attempts).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  it('reports a failing server by status and code, never by the page it sent', async () => {
    const page = await mock(() => ({
      status: 500,
      json: { error: { message: 'INTERNAL-ONLY: db01.corp password rotation failed', code: 'server_error' } },
    }));
    const r = await runNode(chatNode, {
      config: { provider: 'connection', connection: 'llm', model: 'm', prompt: 'hi' },
      ...withConnections({ llm: openAiAt(page.url) }),
      retry: { maxAttempts: 1 },
    });
    expect(r.error?.code).toBe('PROVIDER_ERROR');
    expect(r.error?.message).toContain('HTTP 500 Internal Server Error (server_error)');
    expect(JSON.stringify(r.error)).not.toContain('INTERNAL-ONLY');
  });
});
