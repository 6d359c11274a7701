/**
 * Optional in-process inference with node-llama-cpp (v3) on a GGUF file the user supplies. The package is not a
 * dependency of FinFlow: it is loaded only if installed (`npm install node-llama-cpp@3.21.1`), otherwise the node
 * fails with PROVIDER_UNAVAILABLE saying so. Loaded models are kept per file; each call gets its own context.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { availableParallelism } from 'node:os';
import { BaseChatModel, type BaseChatModelParams } from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { NodeError } from '@finflow/sdk';
import type { ChatModelSpec } from './services.js';

// The minimal surface of node-llama-cpp 3.x used here (the package is optional, so its types may be absent).
interface LlamaChatHistoryItem {
  type: 'system' | 'user' | 'model';
  text?: string;
  response?: string[];
}
interface LlamaChatSession {
  setChatHistory(history: LlamaChatHistoryItem[]): void;
  prompt(
    text: string,
    options: {
      maxTokens?: number;
      temperature?: number;
      signal?: AbortSignal;
      stopOnAbortSignal?: boolean;
      customStopTriggers?: string[];
      onTextChunk?: (chunk: string) => void;
    },
  ): Promise<string>;
}
interface LlamaContext {
  getSequence(): unknown;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(options: { threads?: number; contextSize?: number }): Promise<LlamaContext>;
}
interface NodeLlamaCpp {
  getLlama(): Promise<{ loadModel(options: { modelPath: string }): Promise<LlamaModel> }>;
  LlamaChatSession: new (options: { contextSequence: unknown }) => LlamaChatSession;
}

let lib: Promise<NodeLlamaCpp> | undefined;
const models = new Map<string, Promise<LlamaModel>>();

function loadLib(): Promise<NodeLlamaCpp> {
  // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
  const name = 'node-llama-cpp';
  lib ??= (import(name) as Promise<NodeLlamaCpp>).catch((err: unknown) => {
    lib = undefined;
    throw new NodeError(
      `the llama-cpp provider needs the optional package node-llama-cpp (npm install node-llama-cpp@3.21.1): ${err instanceof Error ? err.message : String(err)}`,
      'PROVIDER_UNAVAILABLE',
    );
  });
  return lib;
}

function checkPath(path: string | undefined): string {
  if (!path || !isAbsolute(path) || !/\.gguf$/i.test(path))
    throw new NodeError('the llama-cpp provider needs the absolute path of a .gguf file', 'INVALID_CONFIG');
  if (!existsSync(path) || !statSync(path).isFile())
    throw new NodeError(`no GGUF file at ${path}`, 'PROVIDER_UNAVAILABLE');
  return path;
}

class LlamaCppChatModel extends BaseChatModel {
  constructor(
    private readonly model: LlamaModel,
    private readonly mod: NodeLlamaCpp,
    private readonly spec: ChatModelSpec,
    params: BaseChatModelParams = {},
  ) {
    super(params);
  }

  _llmType(): string {
    return 'llama-cpp';
  }

  private async run(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    onTextChunk?: (chunk: string) => void,
  ): Promise<string> {
    // Two cores are common on servers here; one thread leaves the other for the event loop.
    const context = await this.model.createContext({ threads: Math.max(1, availableParallelism() - 1) });
    try {
      const session = new this.mod.LlamaChatSession({ contextSequence: context.getSequence() });
      const history: LlamaChatHistoryItem[] = messages
        .slice(0, -1)
        .map((m) =>
          m.type === 'ai'
            ? { type: 'model', response: [m.text] }
            : { type: m.type === 'system' ? 'system' : 'user', text: m.text },
        );
      session.setChatHistory(history);
      return await session.prompt(messages.at(-1)?.text ?? '', {
        ...(this.spec.maxTokens === undefined ? {} : { maxTokens: this.spec.maxTokens }),
        ...(this.spec.temperature === undefined ? {} : { temperature: this.spec.temperature }),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.stop?.length ? { customStopTriggers: options.stop } : {}),
        ...(onTextChunk ? { onTextChunk } : {}),
      });
    } finally {
      await context.dispose();
    }
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const text = await this.run(messages, options);
    return {
      generations: [
        { text, message: new AIMessage({ content: text, response_metadata: { model_name: 'llama-cpp' } }) },
      ],
    };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
  ): AsyncGenerator<ChatGenerationChunk> {
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    const running = this.run(messages, options, (chunk) => {
      queue.push(chunk);
      wake?.();
    })
      .catch((err: unknown) => {
        failure = err;
      })
      .finally(() => {
        done = true;
        wake?.();
      });
    while (!done || queue.length) {
      if (!queue.length) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      for (const piece of queue.splice(0))
        yield new ChatGenerationChunk({ text: piece, message: new AIMessageChunk({ content: piece }) });
    }
    await running;
    if (failure) throw failure;
  }
}

export async function createLlamaCppModel(spec: ChatModelSpec): Promise<BaseChatModel> {
  const path = checkPath(spec.modelPath);
  const mod = await loadLib();
  let model = models.get(path);
  if (!model) {
    model = mod.getLlama().then((llama) => llama.loadModel({ modelPath: path }));
    models.set(path, model);
    model.catch(() => models.delete(path));
  }
  return new LlamaCppChatModel(await model, mod, spec);
}
