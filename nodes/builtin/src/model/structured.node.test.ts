import { afterEach, describe, expect, it } from 'vitest';
import { runNode } from '@finflow/sdk/testing';
import { structuredNode } from './structured.node.js';
import { ollamaStream, openAiCompletion, startMockServer, type MockServer } from './test-helpers/mock-llm.js';
import { openAiAt, withConnections } from './test-helpers/connections.js';

const invoice = [
  'INVOICE INV-2024-0117',
  'Issued by Harbour Office Supplies Ltd on 1 March 2024.',
  'Bill to: Northwind Credit Union, 12 Quay Street.',
  'Subtotal $260.00; VAT 20%: $52.00.',
  'Total due: $312.00, payable by 31 March 2024.',
  'Currency: USD. Payment method: bank transfer.',
].join('\n');

const schema = {
  type: 'object',
  properties: {
    invoiceNumber: { type: 'string', pattern: '^INV-\\d{4}-\\d{4}$' },
    totalDue: { type: 'number', description: 'Total amount due' },
    vatRate: { type: 'number', description: 'VAT rate in percent' },
    dueDate: { type: 'string', format: 'date', description: 'Date by which the total must be paid' },
    currency: { type: 'string', enum: ['USD', 'EUR', 'GBP'] },
    issuer: { type: 'string', description: 'Company that issued the invoice' },
  },
  required: ['invoiceNumber', 'totalDue', 'dueDate', 'currency'],
  additionalProperties: false,
};

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

const prompt = 'Extract the invoice fields.\n\n{{ invoice }}';

describe('model.structured with the offline default', () => {
  it('fills the schema only with values found in the text', async () => {
    const r = await runNode(structuredNode, {
      config: { prompt, variables: ['invoice'], schema },
      inputs: { invoice },
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs?.['data']).toEqual({
      invoiceNumber: 'INV-2024-0117',
      totalDue: 312,
      vatRate: 20,
      dueDate: '2024-03-31',
      currency: 'USD',
      issuer: 'Issued by Harbour Office Supplies Ltd on 1 March 2024.',
    });
    expect(r.outputs?.['model']).toBe('offline-extractive (no LLM)');
  });

  it('fails naming the required fields it cannot fill, instead of guessing', async () => {
    const r = await runNode(structuredNode, {
      config: {
        prompt,
        variables: ['invoice'],
        schema: {
          type: 'object',
          properties: {
            totalDue: { type: 'number' },
            overdue: { type: 'boolean', description: 'Whether the invoice is overdue' },
            riskTier: { type: 'string', enum: ['low', 'medium', 'high'] },
          },
          required: ['totalDue', 'overdue', 'riskTier'],
        },
      },
      inputs: { invoice },
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('OFFLINE_MODEL_UNSUPPORTED');
    expect(r.error?.message).toContain('"overdue" (a yes/no judgement needs an LLM)');
    expect(r.error?.message).toContain('"riskTier" (none of its allowed values appears in the text)');
    expect(r.error?.message).not.toContain('"totalDue"');
    expect(r.attempts).toBe(1);
  });
});

describe('model.structured against an OpenAI-compatible server', () => {
  it('asks for the JSON schema and returns the validated object', async () => {
    const reply = { invoiceNumber: 'INV-2024-0117', totalDue: 312, dueDate: '2024-03-31', currency: 'USD' };
    const server = await mock(() => ({ json: openAiCompletion(JSON.stringify(reply)) }));
    const r = await runNode(structuredNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'gpt-4o-mini',
        prompt,
        variables: ['invoice'],
        schema,
        schemaName: 'invoice',
      },
      inputs: { invoice },
      ...withConnections({ llm: openAiAt(server.url) }),
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs).toMatchObject({
      data: reply,
      model: 'openai:mock-gpt',
      usage: { inputTokens: 30, outputTokens: 10, estimated: false },
    });
    const format = server.requests[0]?.body['response_format'] as {
      type: string;
      json_schema: { name: string; schema: unknown };
    };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.name).toBe('invoice');
    expect(format.json_schema.schema).toMatchObject({ properties: { totalDue: { type: 'number' } } });
  });

  it('rejects a reply that does not conform, with the reasons', async () => {
    const server = await mock(() => ({
      json: openAiCompletion(
        JSON.stringify({ invoiceNumber: 'INV-17', totalDue: '312', dueDate: '2024-03-31', currency: 'USD' }),
      ),
    }));
    const r = await runNode(structuredNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'gpt-4o-mini',
        prompt,
        variables: ['invoice'],
        schema,
      },
      inputs: { invoice },
      ...withConnections({ llm: openAiAt(server.url) }),
      retry: { maxAttempts: 1 },
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('STRUCTURED_OUTPUT_INVALID');
    expect(r.error?.message).toContain('invoiceNumber');
    expect(r.error?.message).toContain('totalDue');
  });

  it('rejects a reply that is not JSON, quoting it', async () => {
    const server = await mock(() => ({ json: openAiCompletion('Sure! The total is $312.') }));
    const r = await runNode(structuredNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'gpt-4o-mini',
        prompt,
        variables: ['invoice'],
        schema,
      },
      inputs: { invoice },
      ...withConnections({ llm: openAiAt(server.url) }),
      retry: { maxAttempts: 1 },
    });
    expect(r.error?.code).toBe('STRUCTURED_OUTPUT_INVALID');
    expect(r.error?.message).toContain('not JSON');
    expect(r.error?.message).toContain('Sure! The');
  });

  it('uses tool calling when asked', async () => {
    const args = { invoiceNumber: 'INV-2024-0117', totalDue: 312, dueDate: '2024-03-31', currency: 'USD' };
    const server = await mock(() => ({
      json: {
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'local-model',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'result', arguments: JSON.stringify(args) },
                },
              ],
            },
            finish_reason: 'tool_calls',
          },
        ],
      },
    }));
    const r = await runNode(structuredNode, {
      config: {
        provider: 'connection',
        connection: 'llm',
        model: 'local-model',
        prompt,
        variables: ['invoice'],
        schema,
        method: 'functionCalling',
      },
      inputs: { invoice },
      ...withConnections({ llm: openAiAt(server.url) }),
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs?.['data']).toEqual(args);
    expect(server.requests[0]?.body['tools']).toBeDefined();
  });
});

describe('model.structured against Ollama', () => {
  it('passes the schema as the format and validates the reply', async () => {
    const reply = { invoiceNumber: 'INV-2024-0117', totalDue: 312, dueDate: '2024-03-31', currency: 'USD' };
    const server = await mock(() => ({ ndjson: ollamaStream([JSON.stringify(reply)]) }));
    const r = await runNode(structuredNode, {
      config: {
        provider: 'connection',
        connection: 'ollama',
        model: 'qwen2.5:7b',
        prompt,
        variables: ['invoice'],
        schema,
      },
      inputs: { invoice },
      ...withConnections({ ollama: { kind: 'ollama', baseUrl: server.url, deployment: 'private' } }),
    });
    expect(r.status).toBe('succeeded');
    expect(r.outputs?.['data']).toEqual(reply);
    expect(server.requests[0]?.body['format']).toMatchObject({ type: 'object', required: schema.required });
  });
});
