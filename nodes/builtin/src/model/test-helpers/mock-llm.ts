/**
 * A scriptable model server on 127.0.0.1 for provider tests: OpenAI chat completions (SSE streaming and plain
 * JSON), embeddings, Ollama's NDJSON /api/chat, error statuses and requests that never get an answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type MockReply =
  { status?: number; json: unknown } | { sse: unknown[] } | { ndjson: unknown[] } | { hang: true };

export interface MockServer {
  url: string;
  requests: MockRequest[];
  /** Requests whose connection the client closed before an answer. */
  abandoned: number;
  close(): Promise<void>;
}

export async function startMockServer(
  handler: (req: MockRequest, index: number) => MockReply,
): Promise<MockServer> {
  const requests: MockRequest[] = [];
  const state = { abandoned: 0 };
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        body = { raw };
      }
      const request: MockRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
      };
      requests.push(request);
      const reply = handler(request, requests.length - 1);
      if ('hang' in reply) {
        hanging.add(res);
        res.on('close', () => {
          hanging.delete(res);
          state.abandoned++;
        });
        return;
      }
      if ('sse' in reply) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const event of reply.sse)
          res.write(`data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      if ('ndjson' in reply) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const line of reply.ndjson) res.write(`${JSON.stringify(line)}\n`);
        res.end();
        return;
      }
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get abandoned() {
      return state.abandoned;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The SSE events of a streamed OpenAI chat completion, one per token, then a usage event. */
export function openAiStream(
  tokens: readonly string[],
  model = 'mock-gpt',
  usage = { prompt_tokens: 12, completion_tokens: 5 },
): unknown[] {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model };
  return [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    ...tokens.map((t) => ({ ...base, choices: [{ index: 0, delta: { content: t }, finish_reason: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    {
      ...base,
      choices: [],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  ];
}

/** A non-streamed OpenAI chat completion with text content. */
export function openAiCompletion(content: string, model = 'mock-gpt'): unknown {
  return {
    id: 'chatcmpl-2',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 },
  };
}

export function openAiError(message: string, type = 'server_error'): unknown {
  return { error: { message, type, code: null, param: null } };
}

/** Ollama's streamed /api/chat reply: one NDJSON line per token and a final line with counts. */
export function ollamaStream(tokens: readonly string[], model = 'mock-llama'): unknown[] {
  const at = '2024-01-01T00:00:00Z';
  return [
    ...tokens.map((t) => ({
      model,
      created_at: at,
      message: { role: 'assistant', content: t },
      done: false,
    })),
    {
      model,
      created_at: at,
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 20,
      eval_count: tokens.length,
    },
  ];
}
