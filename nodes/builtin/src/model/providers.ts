/**
 * The default model provider, used when a run injects none. Each backend's package is imported only when a
 * flow first uses it: ChatOpenAI for OpenAI-compatible servers, ChatOllama for the native Ollama API,
 * node-llama-cpp (optional, user-supplied GGUF) and the offline extractive model. Retries belong to the node's
 * retry policy, so the clients' own retries are off. Remote clients send every request through the egress client
 * the connection hands over (bound to the node's signal), never through the global fetch.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { NodeError } from '@finflow/sdk';
import { defaultEgress } from '../net/egress.js';
import type { ChatModelSpec, EmbeddingsSpec, ModelProvider } from './services.js';

// OpenAI-compatible local servers ignore the key, but the client insists on one; a placeholder keeps it from
// falling back to OPENAI_API_KEY in the server's environment.
const NO_KEY = 'no-key';

/** The egress client the connection handed over, bound to the node's signal (the strict default otherwise). */
function egressFetch(spec: { fetch?: typeof fetch; signal?: AbortSignal | undefined }): typeof fetch {
  if (spec.fetch) return spec.fetch;
  const guarded = defaultEgress().fetch;
  const signal = spec.signal;
  if (!signal) return guarded;
  return (input, init) =>
    guarded(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

function baseUrlOf(spec: { baseUrl?: string; connection?: string }, what: string): string {
  if (!spec.baseUrl)
    throw new NodeError(`${what} needs a connection (base URL and credential)`, 'INVALID_CONFIG');
  return spec.baseUrl;
}

async function openAiChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { ChatOpenAI } = await import('@langchain/openai');
  return new ChatOpenAI({
    model: spec.model as string,
    apiKey: spec.apiKey ?? NO_KEY,
    maxRetries: 0,
    ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
    ...(spec.maxTokens === undefined ? {} : { maxTokens: spec.maxTokens }),
    configuration: { baseURL: baseUrlOf(spec, 'an OpenAI-compatible model'), fetch: egressFetch(spec) },
  });
}

async function ollamaChat(spec: ChatModelSpec): Promise<BaseChatModel> {
  const { ChatOllama } = await import('@langchain/ollama');
  return new ChatOllama({
    model: spec.model as string,
    baseUrl: baseUrlOf(spec, 'an Ollama model'),
    maxRetries: 0,
    fetch: egressFetch(spec),
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
    apiKey: spec.apiKey ?? NO_KEY,
    maxRetries: 0,
    configuration: { baseURL: baseUrlOf(spec, 'OpenAI-compatible embeddings'), fetch: egressFetch(spec) },
  });
}

async function ollamaEmbeddings(spec: EmbeddingsSpec): Promise<EmbeddingsInterface> {
  const { OllamaEmbeddings } = await import('@langchain/ollama');
  return new OllamaEmbeddings({
    model: spec.model ?? 'nomic-embed-text',
    baseUrl: baseUrlOf(spec, 'Ollama embeddings'),
    maxRetries: 0,
    fetch: egressFetch(spec),
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
