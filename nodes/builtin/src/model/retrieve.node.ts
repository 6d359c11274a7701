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
import { legacyEndpointSchema, type ConnectionUse } from '@finflow/runtime';
import { connectionField, dataClassField, findConnection } from '../net/connections.js';
import { modelRetryPolicy } from './errors.js';
import { chatConnectionKinds, embeddingsFor, type EmbeddingsConfig } from './services.js';

const embeddingChoices = ['auto', 'none', 'offline-en', 'connection'] as const;

/**
 * Version 1 named the embeddings provider (openai, ollama) with a base URL and credential of its own; version 2
 * names a connection. The old endpoint stays as `embeddingLegacy` and runs through the connection that binds the
 * same destination and credential, or is refused (see `migrateProviderConfigV1`).
 */
export function migrateRetrieveConfigV1(config: Record<string, unknown>): Record<string, unknown> {
  const { embeddingBaseUrl, embeddingCredential, ...rest } = config;
  const provider = config['embeddings'];
  if (provider !== 'openai' && provider !== 'ollama') return rest;
  return {
    ...rest,
    embeddings: 'connection',
    embeddingLegacy: {
      provider,
      ...(typeof embeddingBaseUrl === 'string' ? { baseUrl: embeddingBaseUrl } : {}),
      ...(typeof embeddingCredential === 'string' ? { credential: embeddingCredential } : {}),
    },
  };
}

const AUTO_EMBED_MAX_PASSAGES = 400;

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

export const retrieveNode = defineNode({
  type: 'model.retrieve',
  version: 2,
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
          'auto: offline English sentence embeddings for English knowledge bases up to ~400 passages, otherwise BM25 only (always for Chinese); none: BM25 only; offline-en: always embed offline; connection: a workspace connection (OpenAI-compatible or Ollama)',
        group: 'Indexing',
        zh: {
          title: '向量嵌入',
          description:
            '自动：英文知识库在约 400 个段落以内使用离线英文句向量，否则仅用 BM25（中文始终仅用 BM25）；不使用：仅用 BM25；离线英文：始终离线生成向量；连接：工作区连接（兼容 OpenAI 或 Ollama）',
          options: {
            auto: '自动',
            none: '不使用',
            'offline-en': '离线英文',
            connection: '连接',
          },
        },
      }),
    embeddingConnection: connectionField(chatConnectionKinds, {
      title: 'Embedding connection',
      group: 'Indexing',
      zh: '嵌入服务连接',
    }),
    embeddingModel: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ title: 'Embedding model', group: 'Indexing', zh: { title: '嵌入模型' } }),
    dataClass: dataClassField('Indexing'),
    embeddingLegacy: legacyEndpointSchema.optional(),
  }),
  inputs: {
    query: port('text', { title: 'Query', zh: { title: '查询' } }),
    documents: port('any', {
      required: false,
      title: 'Documents',
      zh: { title: '文档集', description: '一段文本、一份文件（{ text, name } 或 { pages }）或它们的列表' },
      description: 'A text, a document ({ text, name } or { pages }) or a list of them',
    }),
  },
  outputs: {
    passages: port('table', {
      title: 'Passages',
      zh: {
        title: '段落',
        description:
          '每个段落含 rank、text、source、page、chunk、start、end、lineFrom、lineTo、score、relevance、bm25、similarity',
      },
      description:
        'rank, text, source, page, chunk, start, end, lineFrom, lineTo, score, relevance, bm25, similarity',
    }),
    context: port('text', {
      title: 'Context',
      zh: { title: '上下文', description: '供提示词使用的编号段落：[1]（来源、位置）文本' },
      description: 'Numbered passages for a prompt: [1] (source, position) text',
    }),
    index: port('record', {
      title: 'Index',
      zh: { title: '索引', description: '索引信息：id、documents、passages、embeddings、buildMs、cached' },
      description: 'id, documents, passages, embeddings, buildMs, cached',
    }),
  },
  timeoutMs: 300_000,
  retry: {
    ...modelRetryPolicy,
    nonRetryable: [...(modelRetryPolicy.nonRetryable ?? []), 'EMPTY_KNOWLEDGE_BASE', 'DOCUMENT_NOT_TEXT'],
  },
  migrations: { 1: migrateRetrieveConfigV1 },
  connections(config): ConnectionUse[] {
    if (config.embeddings !== 'connection') return [];
    const named = config.embeddingConnection !== undefined;
    return [
      {
        path: named ? ['embeddingConnection'] : ['embeddingLegacy'],
        name: config.embeddingConnection,
        legacy: named ? undefined : config.embeddingLegacy,
        kinds: chatConnectionKinds,
        model: config.embeddingModel,
        dataClass: config.dataClass === 'auto' ? undefined : config.dataClass,
      },
    ];
  },
  validate(config, helpers) {
    if (config.chunkOverlap >= config.chunkSize)
      helpers.problem('the overlap must be smaller than the passage size', ['chunkOverlap']);
    if (config.embeddings === 'connection' && !config.embeddingConnection && !config.embeddingLegacy)
      helpers.problem('choose the connection that embeds (developers and admins set them up)', [
        'embeddingConnection',
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
    const embeddingConfig: EmbeddingsConfig | undefined =
      choice === 'none'
        ? undefined
        : {
            source: choice,
            connection: config.embeddingConnection,
            legacy: config.embeddingLegacy,
            model: config.embeddingModel,
            dataClass: config.dataClass,
          };
    let settings: EmbeddingSettings | undefined;
    if (embeddingConfig?.source === 'offline-en') settings = { provider: 'offline-en' };
    else if (embeddingConfig) {
      // The index is cached by what embeds it: the same documents embedded elsewhere are other vectors.
      const info = await findConnection(ctx, {
        name: embeddingConfig.connection,
        legacy: embeddingConfig.legacy,
      });
      settings = {
        provider: info.kind,
        model: config.embeddingModel ?? info.models[0],
        baseUrl: info.baseUrl,
      };
    }
    const allText = () => docs.map((d) => d.text).join('\n');
    const split = { chunkSize: config.chunkSize, chunkOverlap: config.chunkOverlap };
    const build = (withEmbeddings: boolean) =>
      cachedIndex(indexKey(docs, split, withEmbeddings ? settings : undefined), () =>
        buildIndex(docs, {
          split,
          signal: ctx.signal,
          ...(withEmbeddings && embeddingConfig && settings
            ? { embeddings: { settings, embedder: () => embeddingsFor(ctx, embeddingConfig, allText) } }
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
        ? await (await embeddingsFor(ctx, embeddingConfig, () => query)).embedQuery(query)
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
