/**
 * model.chat: one chat-model call with prompt templates, streamed token by token. With the offline default and
 * a reviewed wording configured, the node replies with that wording instead (see offlineWordingField).
 */
import { defineNode, port, z } from '@finflow/sdk';
import {
  chatMessages,
  checkTemplates,
  OFFLINE_WORDING_MODEL,
  offlineWordingField,
  messagesText,
  promptFields,
  renderPrompts,
  streamChat,
  tuningFields,
} from './chat-run.js';
import { modelRetryPolicy } from './errors.js';
import {
  chatModelFor,
  checkProviderConfig,
  migrateProviderConfigV1,
  providerConnectionUses,
  providerFields,
} from './services.js';

export const chatNode = defineNode({
  type: 'model.chat',
  version: 2,
  meta: {
    title: 'Chat model',
    category: 'model',
    description:
      'Calls a chat model with a system and a user prompt ({{ name }} placeholders filled from inputs) and streams its reply. The default is the offline extractive model: it quotes the prompt and never invents (it is not an LLM); choose a workspace connection (OpenAI-compatible or Ollama) or a llama.cpp file for generated answers.',
    zh: {
      title: '对话模型',
      description:
        '用系统提示词和用户提示词（{{ 变量 }} 取自输入）调用对话模型并流式输出。默认是离线抽取模型（不是大模型，只摘录提示词原文）；生成式回答请选择工作区连接（兼容 OpenAI 或 Ollama）或 llama.cpp 模型文件。',
    },
    icon: 'message-square',
  },
  config: z.object({
    ...providerFields,
    ...promptFields,
    offlineWording: offlineWordingField,
    ...tuningFields,
  }),
  inputs: {
    history: port('messages', {
      required: false,
      title: 'Earlier turns',
      zh: { title: '此前对话', description: '放在系统提示词和用户提示词之间' },
      description: 'Placed between the system prompt and the user prompt',
    }),
  },
  outputs: {
    text: port('text', { title: 'Reply', zh: { title: '回复' } }),
    usage: port('record', {
      title: 'Token usage',
      zh: {
        title: '词元用量',
        description: '词元用量：{ inputTokens, outputTokens, totalTokens, estimated }',
      },
      description: '{ inputTokens, outputTokens, totalTokens, estimated }',
    }),
    latencyMs: port('number', { title: 'Latency (ms)', zh: { title: '耗时（毫秒）' } }),
    model: port('text', {
      title: 'Model',
      zh: { title: '模型', description: '作答的模型' },
      description: 'The model that answered',
    }),
  },
  dynamicInputs: { path: 'variables', mode: 'items', type: 'any', required: false },
  timeoutMs: 120_000,
  retry: modelRetryPolicy,
  migrations: { 1: migrateProviderConfigV1 },
  connections: providerConnectionUses,
  validate(config, helpers) {
    checkProviderConfig(config, helpers.problem);
    checkTemplates(
      { system: config.system, prompt: config.prompt, offlineWording: config.offlineWording },
      config.variables,
      helpers.problem,
    );
  },
  async run(ctx, inputs, config) {
    const { system, prompt } = renderPrompts(ctx, inputs, config.variables, {
      system: config.system,
      prompt: config.prompt,
    });
    const messages = chatMessages(system, inputs.history ?? [], prompt);
    const resolved = await chatModelFor(
      ctx,
      config,
      { temperature: config.temperature, maxTokens: config.maxTokens },
      () => messagesText(messages),
    );
    if (resolved.offline && config.offlineWording.trim()) {
      const { wording } = renderPrompts(ctx, inputs, config.variables, { wording: config.offlineWording });
      ctx.stream(wording);
      return {
        text: wording,
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: false },
        latencyMs: 0,
        model: OFFLINE_WORDING_MODEL,
      };
    }
    const result = await streamChat(ctx, resolved, messages, { stop: config.stop });
    return {
      text: result.text,
      usage: { ...result.usage },
      latencyMs: result.latencyMs,
      model: result.model,
    };
  },
});
