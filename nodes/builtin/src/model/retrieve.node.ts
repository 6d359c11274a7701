/** model.retrieve: the passages of a knowledge base that best match a query, with positions for citation. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import {
  buildIndex,
  cachedIndex,
  cjkShare,
  documentsFromInput,
  formatContext,
  indexKey,
  knowledgeDocumentSchema,
  search,
  type EmbeddingSettings,
  type KnowledgeDocument,
} from './knowledge.js';
import { modelRetryPolicy } from './errors.js';
import { embeddingsFor, type EmbeddingProviderId } from './services.js';

const embeddingChoices = ['auto', 'none', 'offline-en', 'openai', 'ollama'] as const;

const AUTO_EMBED_MAX_PASSAGES = 400;

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export const retrieveNode = defineNode({
  type: 'model.retrieve',
  version: 1,
  meta: {
    title: 'Retrieve passages',
    category: 'model',
    description:
      'Finds the passages of a knowledge base (documents in the config or from an input: text, Markdown, extracted PDF text) that best match a query: BM25 (Chinese via character bigrams) fused with embeddings when available. Returns the top passages with source, page and lines for citation. The index is built once per knowledge-base version and reused by later runs.',
    zh: {
      title: '知识库检索',
      description:
        '从知识库（配置中的文档或输入的文本、Markdown、PDF 提取文本）中检索与查询最相关的段落：BM25（中文按字二元组）与向量检索融合排序，返回带来源、页码和行号的段落。索引按知识库版本只构建一次。',
    },
    icon: 'search',
  },
  config: z.object({
    documents: z
      .array(knowledgeDocumentSchema)
      .max(10_000)
      .default([])
      .meta({
        title: 'Documents',
        description: 'The knowledge base; documents from the input are added to these',
        zh: { title: '文档', description: '知识库；输入中的文档会追加到这些文档之后' },
      }),
    topK: z
      .int()
      .min(1)
      .max(50)
      .default(5)
      .meta({ title: 'Passages to return', zh: { title: '返回段落数' } }),
    minRelevance: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .meta({
        title: 'Minimum relevance',
        description: '0..1: share of the query terms a passage contains, or its semantic match',
        zh: { title: '最低相关度', description: '0..1：段落包含的查询词占比，或其语义匹配度' },
      }),
    chunkSize: z
      .int()
      .min(100)
      .max(8_000)
      .default(800)
      .meta({ title: 'Passage size (characters)', group: 'Indexing', zh: { title: '段落长度（字符）' } }),
    chunkOverlap: z
      .int()
      .min(0)
      .max(2_000)
      .default(100)
      .meta({ title: 'Passage overlap (characters)', group: 'Indexing', zh: { title: '段落重叠（字符）' } }),
    embeddings: z
      .enum(embeddingChoices)
      .default('auto')
      .meta({
        title: 'Embeddings',
        description:
          'auto: offline English sentence embeddings for English knowledge bases up to ~400 passages, otherwise BM25 only (always for Chinese); none: BM25 only; offline-en: always embed offline; openai / ollama: a provider',
        group: 'Indexing',
        zh: {
          title: '向量嵌入',
          description:
            '自动：英文知识库在约 400 个段落以内使用离线英文句向量，否则仅用 BM25（中文始终仅用 BM25）；不使用：仅用 BM25；离线英文：始终离线生成向量；OpenAI / Ollama：调用提供方',
          options: {
            auto: '自动',
            none: '不使用',
            'offline-en': '离线英文',
            openai: 'OpenAI',
            ollama: 'Ollama',
          },
        },
      }),
    embeddingModel: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ title: 'Embedding model', group: 'Indexing', zh: { title: '嵌入模型' } }),
    embeddingBaseUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({ title: 'Embedding base URL', group: 'Indexing', zh: { title: '嵌入服务地址（Base URL）' } }),
    embeddingCredential: z
      .string()
      .regex(/^[A-Za-z_][\w.-]{0,127}$/)
      .optional()
      .meta({
        title: 'Embedding API key credential',
        widget: 'secret',
        group: 'Indexing',
        zh: { title: '嵌入服务 API 密钥凭证' },
      }),
  }),
  inputs: {
    query: port('text', { title: 'Query' }),
    documents: port('any', {
      required: false,
      title: 'Documents',
      description: 'A text, a document ({ text, name } or { pages }) or a list of them',
    }),
  },
  outputs: {
    passages: port('table', {
      title: 'Passages',
      description:
        'rank, text, source, page, chunk, start, end, lineFrom, lineTo, score, relevance, bm25, similarity',
    }),
    context: port('text', {
      title: 'Context',
      description: 'Numbered passages for a prompt: [1] (source, position) text',
    }),
    index: port('record', {
      title: 'Index',
      description: 'id, documents, passages, embeddings, buildMs, cached',
    }),
  },
  timeoutMs: 300_000,
  retry: {
    ...modelRetryPolicy,
    nonRetryable: [...(modelRetryPolicy.nonRetryable ?? []), 'EMPTY_KNOWLEDGE_BASE', 'DOCUMENT_NOT_TEXT'],
  },
  validate(config, helpers) {
    if (config.chunkOverlap >= config.chunkSize)
      helpers.problem('the overlap must be smaller than the passage size', ['chunkOverlap']);
    if (config.embeddings === 'openai' && !config.embeddingBaseUrl && !config.embeddingCredential)
      helpers.problem('OpenAI embeddings need an API key credential (or a base URL for a local server)', [
        'embeddingCredential',
      ]);
  },
  async run(ctx, inputs, config) {
    const query = inputs.query.trim();
    if (!query) throw new NodeError('the query is empty', 'INVALID_INPUT');
    const docs: KnowledgeDocument[] = [...config.documents];
    if (inputs.documents !== undefined && inputs.documents !== null)
      docs.push(...documentsFromInput(inputs.documents));
    if (!docs.some((d) => d.text.trim()))
      throw new NodeError(
        'the knowledge base is empty: add documents in the config or connect the documents input',
        'EMPTY_KNOWLEDGE_BASE',
      );

    let choice = config.embeddings;
    if (choice === 'auto') {
      // The offline encoder embeds about ten passages a second on one core: beyond a few hundred passages the
      // automatic choice keeps to BM25 (choose offline-en explicitly to embed a larger knowledge base).
      const chars = docs.reduce((n, d) => n + d.text.length, 0);
      const estimated = Math.ceil(chars / Math.max(1, config.chunkSize - config.chunkOverlap));
      if (cjkShare(docs) >= 0.2) choice = 'none';
      else if (estimated > AUTO_EMBED_MAX_PASSAGES) {
        choice = 'none';
        ctx.log.info('knowledge base too large for automatic offline embeddings; ranking with BM25 only', {
          estimatedPassages: estimated,
          limit: AUTO_EMBED_MAX_PASSAGES,
        });
      } else choice = 'offline-en';
    }
    const embeddingConfig =
      choice === 'none'
        ? undefined
        : {
            provider: choice as EmbeddingProviderId,
            model: config.embeddingModel,
            baseUrl: config.embeddingBaseUrl,
            credential: config.embeddingCredential,
          };
    const settings: EmbeddingSettings | undefined = embeddingConfig && {
      provider: embeddingConfig.provider,
      model: embeddingConfig.model,
      baseUrl: embeddingConfig.baseUrl,
    };
    const split = { chunkSize: config.chunkSize, chunkOverlap: config.chunkOverlap };
    const build = (withEmbeddings: boolean) =>
      cachedIndex(indexKey(docs, split, withEmbeddings ? settings : undefined), () =>
        buildIndex(docs, {
          split,
          signal: ctx.signal,
          ...(withEmbeddings && embeddingConfig && settings
            ? { embeddings: { settings, embedder: () => embeddingsFor(ctx, embeddingConfig) } }
            : {}),
        }),
      );
    let built;
    try {
      built = await build(settings !== undefined);
    } catch (err) {
      // The automatic choice falls back to BM25 when the offline embeddings cannot load; an explicit one fails.
      if (config.embeddings !== 'auto' || !(err instanceof NodeError) || err.code !== 'PROVIDER_UNAVAILABLE')
        throw err;
      ctx.log.warn('offline embeddings unavailable; ranking with BM25 only', { reason: err.message });
      built = await build(false);
    }
    const { index, cached } = built;
    const queryVector =
      index.vectors && embeddingConfig
        ? await (await embeddingsFor(ctx, embeddingConfig)).embedQuery(query)
        : undefined;
    const hits = search(index, query, { topK: config.topK, queryVector, minRelevance: config.minRelevance });
    const passages = hits.map((h, i) => ({
      rank: i + 1,
      text: h.passage.text,
      source: h.passage.source,
      ...(h.passage.page !== undefined ? { page: h.passage.page } : {}),
      chunk: h.passage.chunk,
      start: h.passage.start,
      end: h.passage.end,
      lineFrom: h.passage.lines.from,
      lineTo: h.passage.lines.to,
      score: round(h.score, 6),
      relevance: round(h.relevance, 3),
      bm25: round(h.bm25, 3),
      ...(h.similarity !== undefined ? { similarity: round(h.similarity, 3) } : {}),
    }));
    return {
      passages,
      context: formatContext(
        passages.map((p) => ({
          text: p.text,
          source: p.source,
          page: p.page,
          lines: { from: p.lineFrom, to: p.lineTo },
        })),
      ),
      index: {
        id: index.id,
        documents: index.documents,
        passages: index.passages.length,
        embeddings: index.embeddings?.provider ?? 'none',
        buildMs: index.buildMs,
        cached,
      },
    };
  },
});
