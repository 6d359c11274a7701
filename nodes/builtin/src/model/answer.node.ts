/**
 * model.answer: answers a question from retrieved passages, citing them as [1], [2], and refuses when no passage
 * is relevant enough. With the offline default the answer is the passages' best-matching sentences, quoted
 * verbatim in the passages' own order as one paragraph with their citations (the reviewed text of the knowledge
 * base, ready for a customer); with an LLM it is generated under the instruction to cite and to refuse.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { maxTokensField, streamChat, temperatureField, type ChatMessage } from './chat-run.js';
import { modelRetryPolicy } from './errors.js';
import { OFFLINE_MARKER, quotesAsProse, type Sentence } from './extractive.js';
import { formatContext } from './knowledge.js';
import {
  chatModelFor,
  checkProviderConfig,
  migrateProviderConfigV1,
  providerConnectionUses,
  providerFields,
} from './services.js';

const DEFAULT_REFUSAL = 'The knowledge base does not contain an answer to this question.';

const passageRow = z.looseObject({
  text: z.string().min(1),
  source: z.string().optional(),
  page: z.number().optional(),
  lineFrom: z.number().optional(),
  lineTo: z.number().optional(),
  relevance: z.number().optional(),
});
type PassageRow = z.output<typeof passageRow>;

// The offline model's quotes, as it reports them in its response metadata.
const quotedSentences = z.array(
  z
    .object({ text: z.string(), cite: z.string().optional() })
    .transform((s): Sentence => (s.cite === undefined ? { text: s.text } : { text: s.text, cite: s.cite })),
);

function instructions(refusal: string): string {
  return [
    'You answer questions using only the numbered passages you are given.',
    'Cite the passage numbers in square brackets after each statement, like [1] or [2][3].',
    'Do not use outside knowledge.',
    `If the passages do not contain the answer, reply exactly: ${refusal}`,
  ].join(' ');
}

export const answerNode = defineNode({
  type: 'model.answer',
  version: 2,
  meta: {
    title: 'Answer with citations',
    category: 'model',
    description:
      'Answers a question from retrieved passages (connect model.retrieve), citing them as [1], [2]; refuses when no passage reaches the relevance threshold. The offline default quotes the best-matching sentences with their citations (no LLM); an LLM provider writes the answer.',
    zh: {
      title: '带引用的回答',
      description:
        '根据检索到的段落回答问题并以 [1]、[2] 标注引用；没有足够相关的段落时拒绝回答。离线默认模型摘录最相关的原句并附引用（不是大模型）。',
    },
    icon: 'book-open',
  },
  config: z.object({
    ...providerFields,
    minRelevance: z
      .number()
      .min(0)
      .max(1)
      .default(0.35)
      .meta({
        title: 'Relevance threshold',
        description: 'Passages below it are ignored; with none left the node refuses',
        zh: { title: '相关度阈值', description: '低于该值的段落将被忽略；若无剩余段落，节点拒绝作答' },
      }),
    maxPassages: z
      .int()
      .min(1)
      .max(20)
      .default(5)
      .meta({ title: 'Passages to use', zh: { title: '使用段落数' } }),
    refusal: z
      .string()
      .min(1)
      .max(500)
      .default(DEFAULT_REFUSAL)
      .meta({ title: 'Refusal text', zh: { title: '拒答话术' } }),
    system: z
      .string()
      .max(20_000)
      .optional()
      .meta({
        title: 'Instructions',
        description: 'Replaces the default instructions to cite and refuse',
        widget: 'prompt',
        group: 'Advanced',
        zh: { title: '指令', description: '替换默认的「引用出处、无依据时拒答」指令' },
      }),
    temperature: temperatureField,
    maxTokens: maxTokensField(1024),
  }),
  inputs: {
    question: port('text', { title: 'Question', zh: { title: '问题' } }),
    passages: port('table', {
      title: 'Passages',
      zh: { title: '段落', description: '含 text、source 和位置的行（来自 model.retrieve）' },
      description: 'Rows with text, source and position (model.retrieve)',
    }),
  },
  outputs: {
    answer: port('text', { title: 'Answer', zh: { title: '回答' } }),
    citations: port('table', {
      title: 'Citations',
      zh: { title: '引用出处', description: '回答引用的段落：n、source、page、lines、text' },
      description: 'The passages the answer cites: n, source, page, lines, text',
    }),
    refused: port('boolean', { title: 'Refused', zh: { title: '已拒答' } }),
    model: port('text', { title: 'Model', zh: { title: '模型' } }),
    usage: port('record', { title: 'Token usage', zh: { title: '词元用量' } }),
    latencyMs: port('number', { title: 'Latency (ms)', zh: { title: '耗时（毫秒）' } }),
  },
  timeoutMs: 120_000,
  retry: modelRetryPolicy,
  migrations: { 1: migrateProviderConfigV1 },
  connections: providerConnectionUses,
  validate(config, helpers) {
    checkProviderConfig(config, helpers.problem);
  },
  async run(ctx, inputs, config) {
    const question = inputs.question.trim();
    if (!question) throw new NodeError('the question is empty', 'INVALID_INPUT');
    const rows: PassageRow[] = inputs.passages.map((row, i) => {
      const parsed = passageRow.safeParse(row);
      if (!parsed.success) throw new NodeError(`passage ${i + 1} has no text`, 'INVALID_INPUT');
      return parsed.data;
    });
    const relevant = rows
      .filter((r) => r.relevance === undefined || r.relevance >= config.minRelevance)
      .slice(0, config.maxPassages);
    const refuse = (model: string, extra: { usage?: Record<string, unknown>; latencyMs?: number } = {}) => ({
      answer: config.refusal,
      citations: [],
      refused: true,
      model,
      usage: extra.usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: false },
      latencyMs: extra.latencyMs ?? 0,
    });
    if (!relevant.length) {
      ctx.log.info('no passage reaches the relevance threshold; refusing', {
        passages: rows.length,
        minRelevance: config.minRelevance,
      });
      ctx.stream(config.refusal);
      return refuse('none (no relevant passage)');
    }

    const context = formatContext(
      relevant.map((r) => ({
        text: r.text,
        source: r.source ?? 'passage',
        page: r.page,
        lines:
          r.lineFrom !== undefined && r.lineTo !== undefined ? { from: r.lineFrom, to: r.lineTo } : undefined,
      })),
    );
    const resolved = await chatModelFor(
      ctx,
      config,
      { temperature: config.temperature, maxTokens: config.maxTokens },
      () => `${config.system ?? ''}\n${context}\n${question}`,
    );
    const user = `Passages:\n${context}\n\nQuestion: ${question}`;
    // The offline model follows no instructions: it gets only the passages and the question, nothing to quote by mistake.
    const messages: ChatMessage[] = resolved.offline
      ? [{ role: 'user', content: `${context}\n\nQuestion: ${question}` }]
      : [
          { role: 'system', content: config.system ?? instructions(config.refusal) },
          { role: 'user', content: user },
        ];
    const result = await streamChat(ctx, resolved, messages, { forward: !resolved.offline });
    // Offline, the reply is the quoted sentences as prose: the model's own report (marker, numbered quotes, the
    // figures it found) is for people building flows, not for the customer; `model` says no LLM wrote it.
    const quoted = resolved.offline ? quotedSentences.safeParse(result.metadata['quoted']) : undefined;
    const text = quoted?.success ? quotesAsProse(quoted.data) : result.text;
    if (resolved.offline) ctx.stream(text);

    const body = text.startsWith(OFFLINE_MARKER) ? text.slice(OFFLINE_MARKER.length) : text;
    const cited = new Set<number>();
    const invalid = new Set<number>();
    for (const m of body.matchAll(/\[(\d{1,3})\]/g)) {
      const n = Number(m[1]);
      if (n >= 1 && n <= relevant.length) cited.add(n);
      else invalid.add(n);
    }
    // The offline model quotes the first sentences when none matches the question: that is no answer.
    if (
      body.includes(config.refusal) ||
      result.metadata['matched'] === false ||
      (resolved.offline && !cited.size)
    )
      return refuse(result.model, { usage: { ...result.usage }, latencyMs: result.latencyMs });
    let answer = text;
    if (invalid.size) {
      ctx.log.warn('the answer cites passages that were not given; the markers were removed', {
        markers: [...invalid],
      });
      answer = answer.replace(/\[(\d{1,3})\]/g, (marker, n: string) =>
        invalid.has(Number(n)) ? '' : marker,
      );
    }
    const citations = [...cited]
      .sort((a, b) => a - b)
      .map((n) => {
        const r = relevant[n - 1] as PassageRow;
        return {
          n,
          source: r.source ?? 'passage',
          ...(r.page !== undefined ? { page: r.page } : {}),
          ...(r.lineFrom !== undefined ? { lineFrom: r.lineFrom } : {}),
          ...(r.lineTo !== undefined ? { lineTo: r.lineTo } : {}),
          text: r.text,
        };
      });
    return {
      answer,
      citations,
      refused: false,
      model: result.model,
      usage: { ...result.usage },
      latencyMs: result.latencyMs,
    };
  },
});
