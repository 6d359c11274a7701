/**
 * What the chat-style model nodes share: prompt templates rendered from inputs, a streamed call that forwards
 * tokens to `ctx.stream` and ends with the node's signal, token usage, latency and the name of the model that
 * answered.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk, BaseMessage } from '@langchain/core/messages';
import { NodeError, z, type NodeContext } from '@finflow/sdk';
import { portNamePattern } from '@finflow/runtime';
import { renderTemplate, templateVariables } from '../data/template.node.js';
import { toModelError } from './errors.js';
import { OFFLINE_MODEL_NAME } from './extractive.js';
import type { ResolvedChatModel } from './services.js';

/** A chat message as LangChain accepts it without importing its classes. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export const promptFields = {
  system: z
    .string()
    .max(100_000)
    .default('')
    .meta({
      title: 'System prompt',
      description: 'Instructions; {{ name }} placeholders are filled from inputs',
      widget: 'prompt',
      zh: { title: '系统提示词', description: '指令；{{ name }} 占位符由输入填充' },
    }),
  prompt: z
    .string()
    .min(1)
    .max(200_000)
    .meta({
      title: 'User prompt',
      description: '{{ name }} placeholders are filled from the inputs listed in Variables',
      widget: 'prompt',
      zh: { title: '用户提示词', description: '{{ name }} 占位符由「变量」中列出的输入填充' },
    }),
  variables: z
    .array(z.string().regex(portNamePattern))
    .max(64)
    .default([])
    .meta({
      title: 'Variables',
      description: 'Each becomes an input of the node',
      zh: { title: '变量', description: '每个变量都会成为节点的一个输入' },
    }),
};

/**
 * What a text-writing model node replies when its model is the offline default (no LLM configured): a reviewed
 * wording with the prompt's placeholders, filled from the flow's structured results. Customer-facing text must
 * read well without an LLM, and quotes of a prompt do not; with an LLM configured the field is not used.
 */
export const offlineWordingField = z
  .string()
  .max(100_000)
  .default('')
  .meta({
    title: 'Wording without an LLM',
    description:
      'Used instead of the reply when the model is the offline default (no LLM provider configured): a reviewed text, {{ name }} placeholders filled like the prompt. Empty: the offline model quotes the prompt’s context.',
    widget: 'prompt',
    group: 'Model',
    zh: {
      title: '无大模型时的话术',
      description:
        '模型为离线默认模型（未配置大模型）时，以这段经审核的话术代替模型回复；{{ name }} 占位符的填充方式与提示词相同。留空：离线模型摘录提示词中的内容。',
    },
  });

/** The `model` output of a node that answered with its reviewed wording. */
export const OFFLINE_WORDING_MODEL = 'reviewed wording (offline default, no LLM)';

export const temperatureField = z
  .number()
  .min(0)
  .max(2)
  .default(0)
  .meta({ title: 'Temperature', group: 'Generation', zh: { title: '温度' } });

/** The reply length limit, with a default that suits the node (structured replies need more room). */
export function maxTokensField(defaultTokens: number) {
  return z
    .int()
    .min(1)
    .max(200_000)
    .default(defaultTokens)
    .meta({ title: 'Max tokens', group: 'Generation', zh: { title: '最大 token 数' } });
}

export const tuningFields = {
  temperature: temperatureField,
  maxTokens: maxTokensField(1024),
  stop: z
    .array(z.string().min(1).max(100))
    .max(4)
    .default([])
    .meta({ title: 'Stop sequences', group: 'Generation', zh: { title: '停止序列' } }),
};

/** Reports placeholders that read neither a variable nor input/nodes. */
export function checkTemplates(
  templates: Record<string, string>,
  variables: readonly string[],
  problem: (message: string, path?: (string | number)[]) => void,
): void {
  const known = new Set(['input', 'nodes', ...variables]);
  for (const [field, template] of Object.entries(templates)) {
    for (const name of templateVariables(template)) {
      const head = name.split('.')[0] as string;
      if (!known.has(head))
        problem(`{{ ${name} }} reads "${head}", which is neither a variable nor input/nodes`, [field]);
    }
  }
}

/** Renders templates with the node's variable inputs, `input` and `nodes`; a missing value is an error. */
export function renderPrompts<T extends Record<string, string>>(
  ctx: NodeContext,
  inputs: Readonly<Record<string, unknown>>,
  variables: readonly string[],
  templates: T,
): T {
  const root: Record<string, unknown> = { input: ctx.scope.input, nodes: ctx.scope.nodes };
  for (const v of variables) if (inputs[v] !== undefined) root[v] = inputs[v];
  const missing = new Set<string>();
  const out = Object.fromEntries(
    Object.entries(templates).map(([k, t]) => [
      k,
      renderTemplate(t, root, (name) => {
        missing.add(name);
        return '';
      }),
    ]),
  ) as T;
  if (missing.size)
    throw new NodeError(
      `no value for ${[...missing].map((m) => `{{ ${m} }}`).join(', ')}`,
      'TEMPLATE_VARIABLE_MISSING',
    );
  return out;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** True when the provider reported no usage and the counts are estimated (about four characters a token). */
  estimated: boolean;
}

const estimate = (text: string) => Math.ceil(text.length / 4);

interface UsageMetadata {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export function usageOf(message: unknown, prompt: readonly ChatMessage[], text: string): Usage {
  const u = (message as { usage_metadata?: UsageMetadata } | undefined)?.usage_metadata;
  if (u && (u.input_tokens || u.output_tokens)) {
    return {
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      totalTokens: u.total_tokens || u.input_tokens + u.output_tokens,
      estimated: false,
    };
  }
  const input = prompt.reduce((n, m) => n + estimate(m.content), 0);
  const output = estimate(text);
  return { inputTokens: input, outputTokens: output, totalTokens: input + output, estimated: true };
}

/** The model that answered: the provider's own model name when it reports one. */
export function answeredBy(
  resolved: ResolvedChatModel,
  metadata: Record<string, unknown> | undefined,
): string {
  if (resolved.offline || metadata?.['offline'] === true) return `${OFFLINE_MODEL_NAME} (no LLM)`;
  const name = metadata?.['model_name'] ?? metadata?.['model'];
  if (typeof name !== 'string' || !name) return resolved.label;
  const provider = resolved.label.split(':')[0] ?? '';
  return `${provider}:${name}`;
}

function textOf(chunk: BaseMessage): string {
  const c = chunk.content;
  if (typeof c === 'string') return c;
  return c
    .map((part) =>
      typeof part === 'string' ? part : part.type === 'text' && 'text' in part ? String(part.text) : '',
    )
    .join('');
}

export interface ChatResultOut {
  text: string;
  usage: Usage;
  latencyMs: number;
  model: string;
  /** The reply's response metadata (the offline model reports `offline` and `matched`). */
  metadata: Record<string, unknown>;
}

/**
 * Streams a chat call, forwarding each token to `ctx.stream` (unless `forward` is false: a node that rewrites
 * the reply streams its own text); provider failures become node errors.
 */
export async function streamChat(
  ctx: NodeContext,
  resolved: ResolvedChatModel,
  messages: ChatMessage[],
  options: { stop?: readonly string[]; forward?: boolean } = {},
): Promise<ChatResultOut> {
  const model: BaseChatModel = resolved.model;
  const started = performance.now();
  let text = '';
  // Concatenating chunks merges usage and metadata the way LangChain does for a whole reply.
  let reply: AIMessageChunk | undefined;
  try {
    const stream = await model.stream(toLangChain(messages), {
      signal: ctx.signal,
      ...(options.stop?.length ? { stop: [...options.stop] } : {}),
    });
    for await (const chunk of stream) {
      const piece = textOf(chunk);
      if (piece) {
        text += piece;
        if (options.forward !== false) ctx.stream(piece);
      }
      reply = reply ? reply.concat(chunk) : chunk;
    }
  } catch (err) {
    throw toModelError(err, resolved.label, ctx.signal, { remote: resolved.remote });
  }
  return {
    text,
    usage: usageOf(reply, messages, text),
    latencyMs: Math.round(performance.now() - started),
    model: answeredBy(resolved, reply?.response_metadata),
    metadata: { ...reply?.response_metadata },
  };
}

/** Messages in LangChain's tuple form (its `{ role }` objects are typed more narrowly than they run). */
export function toLangChain(messages: readonly ChatMessage[]): ['system' | 'human' | 'ai', string][] {
  return messages.map((m) => [
    m.role === 'user' ? 'human' : m.role === 'assistant' ? 'ai' : 'system',
    m.content,
  ]);
}

/** Everything a call sends, as one text (for the data class check). */
export function messagesText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n');
}

/** System and user messages, with optional earlier turns between them. */
export function chatMessages(
  system: string,
  history: readonly { role: string; content: string }[],
  user: string,
): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (system.trim()) out.push({ role: 'system', content: system });
  for (const m of history) {
    if (m.role === 'system') out.push({ role: 'system', content: m.content });
    else if (m.role === 'assistant') out.push({ role: 'assistant', content: m.content });
    // A tool result without its call cannot be replayed as a tool message; the model still sees its content.
    else out.push({ role: 'user', content: m.role === 'tool' ? `Tool result: ${m.content}` : m.content });
  }
  out.push({ role: 'user', content: user });
  return out;
}
