/**
 * The model provider interface that model nodes reach through `ctx.services.models`, the config fields that
 * choose a provider, and the helpers that turn a node's config into a LangChain chat model. When nothing is
 * injected, the default provider (loaded on first use, so importing the catalog stays light) builds
 * OpenAI-compatible, Ollama, node-llama-cpp or offline models. Tests inject deterministic models here.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { NodeError, z, type NodeContext } from '@finflow/sdk';
import { toModelError } from './errors.js';
import { OFFLINE_MODEL_NAME } from './extractive.js';

export const chatProviders = ['offline', 'openai', 'ollama', 'llama-cpp'] as const;
export type ChatProviderId = (typeof chatProviders)[number];

export interface ChatModelSpec {
  provider: ChatProviderId;
  model?: string;
  /** OpenAI-compatible: the API root (…/v1); Ollama: the server root. */
  baseUrl?: string;
  /** Resolved from the credential store; never part of a flow. */
  apiKey?: string;
  /** node-llama-cpp: the GGUF file. */
  modelPath?: string;
  temperature?: number;
  maxTokens?: number;
  /** The node's signal: connections opened for this model close when it aborts. */
  signal?: AbortSignal;
}

export const embeddingProviders = ['offline-en', 'openai', 'ollama'] as const;
export type EmbeddingProviderId = (typeof embeddingProviders)[number];

export interface EmbeddingsSpec {
  provider: EmbeddingProviderId;
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  signal?: AbortSignal;
}

/** Builds LangChain models for a spec. */
export interface ModelProvider {
  chatModel(spec: ChatModelSpec): BaseChatModel | Promise<BaseChatModel>;
  /** Optional: without it, embeddings come from the default provider. */
  embeddings?(spec: EmbeddingsSpec): EmbeddingsInterface | Promise<EmbeddingsInterface>;
}

declare module '@finflow/runtime' {
  interface Services {
    /** Chat models and embeddings for the model nodes; the default provider when absent. */
    models?: ModelProvider;
  }
}

const credentialName = /^[A-Za-z_][\w.-]{0,127}$/;

/** Config fields that choose the chat model; every model node spreads them into its config. */
export const providerFields = {
  provider: z
    .enum(chatProviders)
    .default('offline')
    .meta({
      title: 'Provider',
      description:
        'offline: the built-in extractive model (no LLM: quotes the prompt, never invents); openai: OpenAI or any OpenAI-compatible server (vLLM, LM Studio, llama.cpp server, Ollama /v1); ollama: the native Ollama API; llama-cpp: a GGUF file run in-process by node-llama-cpp (if installed)',
      group: 'Model',
      zh: {
        title: '模型提供方',
        description:
          '离线：内置抽取式模型（不调用大模型，只引用提示词中的原文，绝不编造）；OpenAI 兼容：OpenAI 或任何兼容 OpenAI 接口的服务（vLLM、LM Studio、llama.cpp server、Ollama /v1）；Ollama：Ollama 原生 API；llama.cpp：由 node-llama-cpp 在服务进程内运行的 GGUF 文件（需已安装）',
        options: { offline: '离线', openai: 'OpenAI 兼容', ollama: 'Ollama', 'llama-cpp': 'llama.cpp' },
      },
    }),
  model: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({
      title: 'Model',
      description: 'e.g. gpt-4o-mini, qwen2.5:7b',
      group: 'Model',
      zh: { title: '模型', description: '例如 gpt-4o-mini、qwen2.5:7b' },
    }),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({
      title: 'Base URL',
      description:
        'OpenAI-compatible: the API root such as http://127.0.0.1:8000/v1 (default api.openai.com); Ollama: http://127.0.0.1:11434',
      group: 'Model',
      zh: {
        title: '接口地址（Base URL）',
        description:
          'OpenAI 兼容：API 根地址，例如 http://127.0.0.1:8000/v1（默认 api.openai.com）；Ollama：http://127.0.0.1:11434',
      },
    }),
  credential: z
    .string()
    .regex(credentialName)
    .optional()
    .meta({
      title: 'API key credential',
      description: 'The name of a stored credential',
      widget: 'secret',
      group: 'Model',
      zh: { title: 'API 密钥凭证', description: '已保存凭证的名称' },
    }),
  modelPath: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .meta({
      title: 'GGUF file',
      description: 'llama-cpp only: absolute path of a .gguf model on the server',
      group: 'Model',
      zh: { title: 'GGUF 模型文件', description: '仅限 llama.cpp：服务器上 .gguf 模型文件的绝对路径' },
    }),
};

export interface ProviderConfig {
  provider: ChatProviderId;
  model?: string | undefined;
  baseUrl?: string | undefined;
  credential?: string | undefined;
  modelPath?: string | undefined;
}

/** Static checks shared by the model nodes' `validate`. */
export function checkProviderConfig(
  config: ProviderConfig,
  problem: (message: string, path?: (string | number)[]) => void,
): void {
  if ((config.provider === 'openai' || config.provider === 'ollama') && !config.model)
    problem(`the ${config.provider} provider needs a model name`, ['model']);
  if (config.provider === 'openai' && !config.baseUrl && !config.credential)
    problem('the OpenAI API needs an API key credential (or set a base URL for a local server)', [
      'credential',
    ]);
  if (config.provider === 'llama-cpp' && !config.modelPath)
    problem('the llama-cpp provider needs the path of a GGUF file', ['modelPath']);
}

/** A readable name of the model a config selects, for outputs and messages. */
export function describeModel(config: ProviderConfig): string {
  switch (config.provider) {
    case 'offline':
      return `${OFFLINE_MODEL_NAME} (no LLM)`;
    case 'llama-cpp':
      return `llama-cpp:${config.modelPath?.split(/[\\/]/).pop() ?? '?'}`;
    default:
      return `${config.provider}:${config.model ?? '?'}${config.baseUrl ? ` at ${config.baseUrl}` : ''}`;
  }
}

let defaultProvider: Promise<ModelProvider> | undefined;

/** The provider used when none is injected, loaded on first use. */
export function loadDefaultProvider(): Promise<ModelProvider> {
  defaultProvider ??= import('./providers.js').then((m) => m.defaultModelProvider);
  return defaultProvider;
}

async function apiKey(ctx: NodeContext, credential: string | undefined): Promise<string | undefined> {
  return credential ? ctx.secret(credential) : undefined;
}

export interface ResolvedChatModel {
  model: BaseChatModel;
  /** Provider and model as configured, e.g. "openai:gpt-4o-mini at http://…". */
  label: string;
  offline: boolean;
}

/** The chat model a node's config selects, through the injected provider or the default one. */
export async function chatModelFor(
  ctx: NodeContext,
  config: ProviderConfig,
  tuning: { temperature?: number | undefined; maxTokens?: number | undefined } = {},
): Promise<ResolvedChatModel> {
  const problems: string[] = [];
  checkProviderConfig(config, (m) => problems.push(m));
  if (problems.length) throw new NodeError(problems.join('; '), 'INVALID_CONFIG');
  const spec: ChatModelSpec = { provider: config.provider, signal: ctx.signal };
  if (config.model) spec.model = config.model;
  if (config.baseUrl) spec.baseUrl = config.baseUrl;
  if (config.modelPath) spec.modelPath = config.modelPath;
  const key = await apiKey(ctx, config.credential);
  if (key) spec.apiKey = key;
  if (tuning.temperature !== undefined) spec.temperature = tuning.temperature;
  if (tuning.maxTokens !== undefined) spec.maxTokens = tuning.maxTokens;
  const configured = describeModel(config);
  const provider = ctx.services.models ?? (await loadDefaultProvider());
  try {
    const model = await provider.chatModel(spec);
    // Whether the answer is extractive is a property of the model that answers, not of the config: an injected
    // model (a test double, or a server-wide provider) may stand in for the configured one.
    const offline = model._llmType() === OFFLINE_MODEL_NAME;
    const label =
      offline || !ctx.services.models ? configured : `${model._llmType()} (injected for ${config.provider})`;
    return { model, label, offline };
  } catch (err) {
    throw toModelError(err, configured, ctx.signal);
  }
}

export interface EmbeddingsConfig {
  provider: EmbeddingProviderId;
  model?: string | undefined;
  baseUrl?: string | undefined;
  credential?: string | undefined;
}

/** Embeddings for a config, through the injected provider when it offers them, else the default one. */
export async function embeddingsFor(
  ctx: NodeContext,
  config: EmbeddingsConfig,
): Promise<EmbeddingsInterface> {
  const spec: EmbeddingsSpec = { provider: config.provider, signal: ctx.signal };
  if (config.model) spec.model = config.model;
  if (config.baseUrl) spec.baseUrl = config.baseUrl;
  const key = await apiKey(ctx, config.credential);
  if (key) spec.apiKey = key;
  const injected = ctx.services.models;
  const provider = injected?.embeddings ? injected : await loadDefaultProvider();
  const where = `${config.provider}${config.model ? `:${config.model}` : ''} embeddings`;
  try {
    const embeddings = await provider.embeddings?.(spec);
    if (!embeddings) throw new NodeError(`no provider offers ${where}`, 'PROVIDER_UNAVAILABLE');
    return embeddings;
  } catch (err) {
    throw toModelError(err, where, ctx.signal);
  }
}
