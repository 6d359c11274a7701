/**
 * The model provider interface that model nodes reach through `ctx.services.models`, the config fields that
 * choose a model (offline, a workspace connection, or a GGUF file), and the helpers that turn a node's config into
 * a LangChain chat model or embeddings. Remote models are reached only through connections: the base URL, key and
 * egress client come from `openConnection`. When nothing is injected, the default provider (loaded on first use,
 * so importing the catalog stays light) builds OpenAI-compatible, Ollama, node-llama-cpp or offline models. Tests
 * inject deterministic models here.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { legacyEndpointSchema, type LegacyEndpoint } from '@finflow/runtime';
import { NodeError, z, type ConnectionUse, type NodeContext } from '@finflow/sdk';
import {
  connectionField,
  dataClassField,
  openConnection,
  type DataClassChoice,
  type OpenedConnection,
} from '../net/connections.js';
import { toModelError } from './errors.js';
import { OFFLINE_MODEL_NAME } from './extractive.js';

export const chatProviders = ['offline', 'openai', 'ollama', 'llama-cpp'] as const;
export type ChatProviderId = (typeof chatProviders)[number];

export interface ChatModelSpec {
  provider: ChatProviderId;
  model?: string;
  /** OpenAI-compatible: the API root (…/v1); Ollama: the server root. */
  baseUrl?: string;
  /** The connection's credential, resolved from the store; never part of a flow. */
  apiKey?: string;
  /** The connection named in the node (for messages). */
  connection?: string;
  /** The egress client bound to the node's signal: every remote call goes through it. */
  fetch?: typeof globalThis.fetch;
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
  connection?: string;
  fetch?: typeof globalThis.fetch;
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

/** How a model node gets its model: the offline extractive model, a workspace connection, or a local GGUF file. */
export const modelSources = ['offline', 'connection', 'llama-cpp'] as const;
export type ModelSource = (typeof modelSources)[number];

/** The kinds of connection a chat model node can call. */
export const chatConnectionKinds = ['openai', 'ollama'] as const;

/** Config fields that choose the chat model; every model node spreads them into its config. */
export const providerFields = {
  provider: z
    .enum(modelSources)
    .default('offline')
    .meta({
      title: 'Model from',
      description:
        'offline: the built-in extractive model (no LLM: quotes the prompt, never invents); connection: a workspace connection to an OpenAI-compatible or Ollama server, set up by developers and admins; llama-cpp: a GGUF file run in-process by node-llama-cpp (if installed)',
      group: 'Model',
      zh: {
        title: '模型来源',
        description:
          '离线：内置抽取式模型（不调用大模型，只引用提示词中的原文，绝不编造）；连接：工作区中由开发者或管理员配置的连接（兼容 OpenAI 的服务或 Ollama）；llama.cpp：由 node-llama-cpp 在服务进程内运行的 GGUF 文件（需已安装）',
        options: { offline: '离线', connection: '连接', 'llama-cpp': 'llama.cpp' },
      },
    }),
  connection: connectionField(chatConnectionKinds, { title: 'Connection', group: 'Model', zh: '连接' }),
  model: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({
      title: 'Model',
      description: "e.g. gpt-4o-mini, qwen2.5:7b; default: the connection's first allowed model",
      group: 'Model',
      zh: { title: '模型', description: '例如 gpt-4o-mini、qwen2.5:7b；默认取连接允许的第一个模型' },
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
  dataClass: dataClassField('Model'),
  legacy: legacyEndpointSchema.optional(),
};

export interface ProviderConfig {
  provider: ModelSource;
  connection?: string | undefined;
  model?: string | undefined;
  modelPath?: string | undefined;
  dataClass: DataClassChoice;
  legacy?: LegacyEndpoint | undefined;
}

/**
 * Version 1 of the model nodes named a provider, a base URL and a credential in the node itself. Version 2 names a
 * connection. An OpenAI or Ollama config keeps its base URL and credential as `legacy`: it runs through the
 * workspace connection with the same kind, destination and credential, and is refused (CONNECTION_REQUIRED, or
 * CREDENTIAL_DESTINATION_MISMATCH when the credential is bound elsewhere) when there is none.
 */
export function migrateProviderConfigV1(config: Record<string, unknown>): Record<string, unknown> {
  const { baseUrl, credential, ...rest } = config;
  const provider = config['provider'];
  if (provider !== 'openai' && provider !== 'ollama') return rest;
  return {
    ...rest,
    provider: 'connection',
    legacy: {
      provider,
      ...(typeof baseUrl === 'string' ? { baseUrl } : {}),
      ...(typeof credential === 'string' ? { credential } : {}),
    },
  };
}

/** Static checks shared by the model nodes' `validate`. */
export function checkProviderConfig(
  config: ProviderConfig,
  problem: (message: string, path?: (string | number)[]) => void,
): void {
  if (config.provider === 'connection' && !config.connection && !config.legacy)
    problem('choose a connection (developers and admins set them up)', ['connection']);
  if (config.provider === 'llama-cpp' && !config.modelPath)
    problem('the llama-cpp provider needs the path of a GGUF file', ['modelPath']);
}

/** The connection a model node's config calls, for validation against the workspace's connections. */
export function providerConnectionUses(config: ProviderConfig): ConnectionUse[] {
  if (config.provider !== 'connection') return [];
  const dataClass = config.dataClass === 'auto' ? undefined : config.dataClass;
  return [
    {
      path: config.connection !== undefined ? ['connection'] : ['legacy'],
      name: config.connection,
      legacy: config.connection !== undefined ? undefined : config.legacy,
      kinds: chatConnectionKinds,
      model: config.model,
      dataClass,
      needsModel: true,
    },
  ];
}

/** A readable name of the model a config selects, for outputs and messages. */
export function describeModel(config: ProviderConfig): string {
  switch (config.provider) {
    case 'offline':
      return `${OFFLINE_MODEL_NAME} (no LLM)`;
    case 'llama-cpp':
      return `llama-cpp:${config.modelPath?.split(/[\\/]/).pop() ?? '?'}`;
    default:
      return config.connection
        ? `${config.model ?? '?'} via "${config.connection}"`
        : `${config.legacy?.provider ?? '?'}:${config.model ?? '?'}`;
  }
}

let defaultProvider: Promise<ModelProvider> | undefined;

/** The provider used when none is injected, loaded on first use. */
export function loadDefaultProvider(): Promise<ModelProvider> {
  defaultProvider ??= import('./providers.js').then((m) => m.defaultModelProvider);
  return defaultProvider;
}

export interface ResolvedChatModel {
  model: BaseChatModel;
  /** Provider and model as configured, e.g. "openai:gpt-4o-mini at http://…". */
  label: string;
  offline: boolean;
  /** Reached over the network: a failure is reported by status and code, never by the server's words. */
  remote: boolean;
}

/**
 * The chat model a node's config selects, through the injected provider or the default one. `outgoing` is what
 * the call will send (for the data class check when the node leaves it to `auto`).
 */
export async function chatModelFor(
  ctx: NodeContext,
  config: ProviderConfig,
  tuning: { temperature?: number | undefined; maxTokens?: number | undefined } = {},
  outgoing?: () => string,
): Promise<ResolvedChatModel> {
  const problems: string[] = [];
  checkProviderConfig(config, (m) => problems.push(m));
  if (problems.length) throw new NodeError(problems.join('; '), 'INVALID_CONFIG');
  let spec: ChatModelSpec;
  let configured = describeModel(config);
  if (config.provider === 'connection') {
    const opened = await openConnection(ctx, {
      name: config.connection,
      legacy: config.legacy,
      kinds: chatConnectionKinds,
      model: config.model,
      dataClass: config.dataClass,
      ...(outgoing ? { outgoing } : {}),
    });
    spec = connectionSpec(ctx, opened);
    configured = opened.label;
  } else {
    spec = { provider: config.provider, signal: ctx.signal };
    if (config.modelPath) spec.modelPath = config.modelPath;
  }
  if (tuning.temperature !== undefined) spec.temperature = tuning.temperature;
  if (tuning.maxTokens !== undefined) spec.maxTokens = tuning.maxTokens;
  return buildChatModel(ctx, spec, configured);
}

/** The model spec for an opened connection. */
export function connectionSpec(ctx: NodeContext, opened: OpenedConnection): ChatModelSpec {
  if (!opened.model)
    throw new NodeError(
      `the connection "${opened.info.name}" allows any model: name one in the node`,
      'INVALID_CONFIG',
    );
  const spec: ChatModelSpec = {
    provider: opened.info.kind,
    model: opened.model,
    baseUrl: opened.info.baseUrl,
    fetch: opened.fetch,
    connection: opened.info.name,
    signal: ctx.signal,
  };
  if (opened.apiKey) spec.apiKey = opened.apiKey;
  return spec;
}

/** Builds the LangChain model for a spec through the injected provider or the default one. */
export async function buildChatModel(
  ctx: NodeContext,
  spec: ChatModelSpec,
  configured: string,
): Promise<ResolvedChatModel> {
  const provider = ctx.services.models ?? (await loadDefaultProvider());
  try {
    const model = await provider.chatModel(spec);
    // Whether the answer is extractive is a property of the model that answers, not of the config: an injected
    // model (a test double, or a server-wide provider) may stand in for the configured one.
    const offline = model._llmType() === OFFLINE_MODEL_NAME;
    const label =
      offline || !ctx.services.models ? configured : `${model._llmType()} (injected for ${spec.provider})`;
    return { model, label, offline, remote: spec.baseUrl !== undefined };
  } catch (err) {
    throw toModelError(err, configured, ctx.signal, { remote: spec.baseUrl !== undefined });
  }
}

/** Embeddings from a connection, or offline; `outgoing` is the text embedded (for the data class check). */
export interface EmbeddingsConfig {
  source: 'offline-en' | 'connection';
  connection?: string | undefined;
  legacy?: LegacyEndpoint | undefined;
  model?: string | undefined;
  dataClass: DataClassChoice;
}

/** Embeddings for a config, through the injected provider when it offers them, else the default one. */
export async function embeddingsFor(
  ctx: NodeContext,
  config: EmbeddingsConfig,
  outgoing?: () => string,
): Promise<EmbeddingsInterface> {
  let spec: EmbeddingsSpec = { provider: 'offline-en', signal: ctx.signal };
  let where = 'offline-en embeddings';
  if (config.source === 'connection') {
    const opened = await openConnection(ctx, {
      name: config.connection,
      legacy: config.legacy,
      kinds: chatConnectionKinds,
      model: config.model,
      dataClass: config.dataClass,
      ...(outgoing ? { outgoing } : {}),
    });
    spec = {
      provider: opened.info.kind,
      fetch: opened.fetch,
      baseUrl: opened.info.baseUrl,
      signal: ctx.signal,
    };
    spec.connection = opened.info.name;
    if (opened.model) spec.model = opened.model;
    if (opened.apiKey) spec.apiKey = opened.apiKey;
    where = `${opened.label} embeddings`;
  }
  const injected = ctx.services.models;
  const provider = injected?.embeddings ? injected : await loadDefaultProvider();
  const remote = config.source === 'connection';
  const fail = (err: unknown): never => {
    throw toModelError(err, where, ctx.signal, { remote });
  };
  try {
    const embeddings = await provider.embeddings?.(spec);
    if (!embeddings) throw new NodeError(`no provider offers ${where}`, 'PROVIDER_UNAVAILABLE');
    // Failures while embedding become node errors too (a status and a code, not the server's reply).
    return {
      embedDocuments: (documents) => embeddings.embedDocuments(documents).catch(fail),
      embedQuery: (document) => embeddings.embedQuery(document).catch(fail),
    };
  } catch (err) {
    throw toModelError(err, where, ctx.signal, { remote: config.source === 'connection' });
  }
}
