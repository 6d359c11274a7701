/**
 * The offline default as a LangChain chat model: deterministic, no network, no weights. It answers by quoting
 * the most relevant sentences of the prompt's context, never its instructions (see extractive.ts), starts every
 * reply with OFFLINE_MARKER, sets `response_metadata.offline = true` (and `quoted`, the sentences it quoted), and
 * streams its reply word by word like any other chat model. Its
 * structured output fills a schema only from values found in the text, or fails saying what it cannot fill.
 * Loaded lazily: importing it pulls in @langchain/core.
 */
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
} from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { RunnableLambda, type Runnable } from '@langchain/core/runnables';
import {
  OFFLINE_MARKER,
  OFFLINE_MODEL_NAME,
  extractStructured,
  extractiveAnswer,
  type PromptMessage,
} from './extractive.js';
import { tokenize } from './text.js';

export interface OfflineModelParams extends BaseChatModelParams {
  /** Sentences quoted per reply (default 3). */
  maxSentences?: number;
  /** Cut the reply after this many words (the marker always stays). */
  maxTokens?: number;
}

function roleOf(message: BaseMessage): PromptMessage['role'] {
  switch (message.type) {
    case 'system':
      return 'system';
    case 'ai':
      return 'assistant';
    case 'tool':
      return 'tool';
    default:
      return 'user';
  }
}

export function toPromptMessages(messages: readonly BaseMessage[]): PromptMessage[] {
  return messages.map((m) => ({ role: roleOf(m), content: m.text }));
}

// LangChain's generic message types resolve usage_metadata to `undefined` under exactOptionalPropertyTypes.
function withUsage<M extends AIMessage | AIMessageChunk>(
  message: M,
  usage: { input_tokens: number; output_tokens: number; total_tokens: number },
): M {
  return Object.assign(message, { usage_metadata: usage });
}

const countTokens = (text: string) =>
  tokenize(text).reduce((n, t) => n + (/^\p{Script=Han}/u.test(t) ? [...t].length : 1), 0);

/** Cuts at the first stop sequence and after `maxTokens` words, keeping the marker. */
function limit(text: string, stop: readonly string[] | undefined, maxTokens: number | undefined): string {
  let body = text.slice(OFFLINE_MARKER.length);
  for (const s of stop ?? []) {
    const at = s ? body.indexOf(s) : -1;
    if (at >= 0) body = body.slice(0, at);
  }
  if (maxTokens !== undefined) {
    const lead = /^\s*/.exec(body)?.[0] ?? '';
    const words = body.slice(lead.length).match(/\S+\s*/g) ?? [];
    if (words.length > maxTokens) body = lead + words.slice(0, maxTokens).join('').trimEnd();
  }
  return OFFLINE_MARKER + body;
}

export class OfflineExtractiveChatModel extends BaseChatModel {
  readonly maxSentences: number;
  readonly maxTokens: number | undefined;

  static override lc_name(): string {
    return 'OfflineExtractiveChatModel';
  }

  constructor(params: OfflineModelParams = {}) {
    super(params);
    this.maxSentences = params.maxSentences ?? 3;
    this.maxTokens = params.maxTokens;
  }

  _llmType(): string {
    return OFFLINE_MODEL_NAME;
  }

  private reply(
    messages: BaseMessage[],
    options: BaseChatModelCallOptions,
  ): { text: string; prompt: PromptMessage[]; metadata: Record<string, unknown> } {
    const prompt = toPromptMessages(messages);
    const answer = extractiveAnswer(prompt, { maxSentences: this.maxSentences });
    // The quotes as data too, so a node can compose its own text from them (model.answer does).
    const metadata = {
      offline: true,
      model_name: OFFLINE_MODEL_NAME,
      finish_reason: 'stop',
      matched: answer.matched,
      quoted: answer.quoted.map((s) => ({ ...s })),
    };
    return { text: limit(answer.text, options.stop, this.maxTokens), prompt, metadata };
  }

  private usage(prompt: readonly PromptMessage[], text: string) {
    const input = prompt.reduce((n, m) => n + countTokens(m.content), 0);
    const output = countTokens(text);
    return { input_tokens: input, output_tokens: output, total_tokens: input + output };
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    options.signal?.throwIfAborted();
    const { text, prompt, metadata } = this.reply(messages, options);
    const message = withUsage(
      new AIMessage({ content: text, response_metadata: metadata }),
      this.usage(prompt, text),
    );
    return { generations: [{ text, message }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
  ): AsyncGenerator<ChatGenerationChunk> {
    const { text, prompt, metadata } = this.reply(messages, options);
    for (const piece of text.split(/(?<=\s)/)) {
      options.signal?.throwIfAborted();
      yield new ChatGenerationChunk({ text: piece, message: new AIMessageChunk({ content: piece }) });
    }
    yield new ChatGenerationChunk({
      text: '',
      message: withUsage(
        new AIMessageChunk({ content: '', response_metadata: metadata }),
        this.usage(prompt, text),
      ),
    });
  }

  /**
   * Structured output without an LLM: values found in the text or OFFLINE_MODEL_UNSUPPORTED. Only JSON Schema
   * objects are understood (zod schemas are not).
   */
  /* eslint-disable @typescript-eslint/no-explicit-any -- the override must fit every overload of the base method */
  override withStructuredOutput(
    outputSchema: any,
    config?: { includeRaw?: boolean },
  ): Runnable<BaseLanguageModelInput, any> {
    const schema = outputSchema as Record<string, unknown>;
    return RunnableLambda.from(async (input: BaseLanguageModelInput) => {
      const messages = OfflineExtractiveChatModel._convertInputToPromptValue(input).toChatMessages();
      const prompt = toPromptMessages(messages);
      const parsed = extractStructured(prompt, schema);
      if (!config?.includeRaw) return parsed;
      const content = JSON.stringify(parsed);
      const raw = withUsage(
        new AIMessage({
          content,
          response_metadata: { offline: true, model_name: OFFLINE_MODEL_NAME, finish_reason: 'stop' },
        }),
        this.usage(prompt, content),
      );
      return { raw, parsed };
    });
  } /* eslint-enable @typescript-eslint/no-explicit-any */
}
