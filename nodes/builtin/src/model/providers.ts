/**
 * The default model provider, used when a run injects none. Each backend's package is imported only when a
 * flow first uses it: ChatOpenAI for OpenAI-compatible servers, ChatOllama for the native Ollama API,
 * node-llama-cpp (optional, user-supplied GGUF) and the offline extractive model. Retries belong to the node's
 * retry policy, so the clients' own retries are off; the node's signal closes connections on time-out.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { NodeError } from '@finflow/sdk';
import type { ChatModelSpec, EmbeddingsSpec, ModelProvider } from './services.js';

const OPENAI_URL = 'https://api.openai.com/v1';
const OLLAMA_URL = 'http://127.0.0.1:11434';
// OpenAI-compatible local servers ignore the key, but the client insists on one; a placeholder keeps it from
// falling back to OPENAI_API_KEY in the server's environment.
const NO_KEY = 'no-key';

/** fetch bound to the node's signal, so a hung server is disconnected when the node times out. */
function fetchWithSignal(signal: AbortSignal | undefined): typeof fetch {
  if (!signal) return fetch;
  return (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

function requireKey(spec: { baseUrl?: string; apiKey?: string }, what: string): string {
  if (spec.apiKey) return spec.apiKey;
  if (!spec.baseUrl || spec.baseUrl.replace(/\/+$/, '') === OPENAI_URL)
    throw new NodeError(`${what} at api.openai.com needs an API key credential`, 'AUTH_FAILED');
  return NO_KEY;
}

async function openAiChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { ChatOpenAI } = await import('@langchain/openai');
  return new ChatOpenAI({
    model: spec.model as string,
    apiKey: requireKey(spec, 'the OpenAI API'),
    maxRetries: 0,
    ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
    ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
    configuration: { baseURL: spec.baseUrl ?? OPENAI_URL, fetch: fetchWithSignal(spec.signal) },
  });
}

async function ollamaChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { ChatOllama } = await import('@langchain/ollama');
  return new ChatOllama({
    model: spec.model as string,
    baseUrl: spec.baseUrl ?? OLLAMA_URL,
    maxRetries: 0,
    fetch: fetchWithSignal(spec.signal),
    ...(spec.apiKey ? { headers: { Authorization: `Bearer ${spec.apiKey}` } } : {}),
    ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
    ...(spec.maxTokens === undefined ? {} : { numPredict: spec.maxTokens }),
  });
}

async function offlineChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { OfflineExtractiveChatModel } = await import('./offline-model.js');
  return new OfflineExtractiveChatModel(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens });
}

async function llamaCppChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { createLlamaCppModel } = await import('./llama-cpp-model.js');
  return createLlamaCppModel(spec);
}

async function offlineEmbeddings(spec: EmbeddingsSpec): Promise<EmbeddingsInterface> {
  const { loadOfflineEmbeddings } = await import('./offline-embeddings.js');
  return loadOfflineEmbeddings(spec.signal);
}

async function openAiEmbeddings(spec: EmbeddingsSpec): Promise<EmbeddingsInterface> {
  const { OpenAIEmbeddings } = await import('@langchain/openai');
  return new OpenAIEmbeddings({
    model: spec.model ?? 'text-embedding-3-small',
    apiKey: requireKey(spec, 'OpenAI embeddings'),
    maxRetries: 0,
    configuration: { baseURL: spec.baseUrl ?? OPENAI_URL, fetch: fetchWithSignal(spec.signal) },
  });
}

async function ollamaEmbeddings(spec: EmbeddingsSpec): Promise<EmbeddingsInterface> {
  const { OllamaEmbeddings } = await import('@langchain/ollama');
  return new OllamaEmbeddings({
    model: spec.model ?? 'nomic-embed-text',
    baseUrl: spec.baseUrl ?? OLLAMA_URL,
    maxRetries: 0,
    fetch: fetchWithSignal(spec.signal),
    ...(spec.apiKey ? { headers: { Authorization: `Bearer ${spec.apiKey}` } } : {}),
  });
}

export const defaultModelProvider: ModelProvider = {
  chatModel(spec) {
    switch (spec.provider) {
      case 'offline':
        return offlineChat(spec);
      case 'openai':
        return openAiChat(spec);
      case 'ollama':
        return ollamaChat(spec);
      case 'llama-cpp':
        return llamaCppChat(spec);
    }
  },
  embeddings(spec) {
    switch (spec.provider) {
      case 'offline-en':
        return offlineEmbeddings(spec);
      case 'openai':
        return openAiEmbeddings(spec);
      case 'ollama':
        return ollamaEmbeddings(spec);
    }
  },
};
