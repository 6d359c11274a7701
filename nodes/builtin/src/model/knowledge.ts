/**
 * Knowledge bases for retrieval: documents split into passages with LangChain's recursive text splitter, a BM25
 * index (Chinese through character bigrams) and optional embeddings, ranked together by reciprocal rank fusion.
 * Each passage keeps its source, page, character offsets and line numbers so answers can cite it. An index is
 * built once per knowledge-base version: the cache key is a hash of the documents and the settings.
 */
import { createHash } from 'node:crypto';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { NodeError, z } from '@finflow/sdk';
import { buildBm25, searchBm25, type Bm25Index } from './bm25.js';
import { isCjk, searchTerms } from './text.js';

export const knowledgeDocumentSchema = z.object({
  source: z
    .string()
    .min(1)
    .max(500)
    .meta({
      title: 'Source',
      description: 'Name shown in citations',
      zh: { title: '来源', description: '引用中显示的名称' },
    }),
  text: z
    .string()
    .max(5_000_000)
    .meta({ title: 'Text', widget: 'textarea', zh: { title: '文本' } }),
});

export interface KnowledgeDocument {
  source: string;
  text: string;
  /** Text per page (from a PDF); passages then carry their page number. */
  pages?: { page: number; text: string }[];
}

export interface Passage {
  text: string;
  source: string;
  /** Position of the passage within its source (0-based). */
  chunk: number;
  page?: number;
  /** Character offsets in the source text (or page text). */
  start: number;
  end: number;
  /** 1-based line numbers in the source text (or page text). */
  lines: { from: number; to: number };
}

export interface SplitSettings {
  chunkSize: number;
  chunkOverlap: number;
}

export interface EmbeddingSettings {
  provider: string;
  model?: string | undefined;
  baseUrl?: string | undefined;
}

export interface KnowledgeIndex {
  id: string;
  passages: Passage[];
  documents: number;
  bm25: Bm25Index;
  /** Unit-length passage vectors, when the knowledge base is embedded. */
  vectors?: Float32Array[];
  embeddings?: EmbeddingSettings;
  buildMs: number;
}

const looseDocument = z.union([
  z.string(),
  z.looseObject({
    text: z.string().optional(),
    source: z.string().optional(),
    name: z.string().optional(),
    title: z.string().optional(),
    mimeType: z.string().optional(),
    data: z.string().optional(),
    pages: z.array(z.looseObject({ page: z.number().optional(), text: z.string() })).optional(),
  }),
]);

/**
 * Documents from an input value: a text, a document (`{ text, name }` or `{ pages }`), or a list of them. Binary
 * documents (a PDF without extracted text) are refused with a pointer to the document node.
 */
export function documentsFromInput(value: unknown): KnowledgeDocument[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const parsed = looseDocument.safeParse(item);
    if (!parsed.success)
      throw new NodeError(`document ${i + 1} is neither a text nor a document with text`, 'INVALID_INPUT');
    const d = parsed.data;
    if (typeof d === 'string') return { source: `document ${i + 1}`, text: d };
    const source = d.source ?? d.name ?? d.title ?? `document ${i + 1}`;
    if (d.pages?.length) {
      const pages = d.pages.map((p, j) => ({ page: p.page ?? j + 1, text: p.text }));
      return { source, text: pages.map((p) => p.text).join('\n\n'), pages };
    }
    if (d.text !== undefined) return { source, text: d.text };
    throw new NodeError(
      `document ${i + 1} (${source}${d.mimeType ? `, ${d.mimeType}` : ''}) has no text: extract it first (multimodal.document or OCR)`,
      'DOCUMENT_NOT_TEXT',
    );
  });
}

// Paragraphs first, then lines, then sentence ends (Chinese and English), then clauses and words.
const separators = [
  '\n# ',
  '\n## ',
  '\n### ',
  '\n#### ',
  '\n\n',
  '\n',
  '。',
  '！',
  '？',
  '；',
  '. ',
  '? ',
  '! ',
  '; ',
  '，',
  ', ',
  ' ',
  '',
];

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

async function splitDocuments(
  docs: readonly KnowledgeDocument[],
  settings: SplitSettings,
): Promise<Passage[]> {
  const { RecursiveCharacterTextSplitter } = await import('@langchain/textsplitters');
  const splitter = new RecursiveCharacterTextSplitter({
    chunkSize: settings.chunkSize,
    chunkOverlap: settings.chunkOverlap,
    separators,
    keepSeparator: true,
  });
  const passages: Passage[] = [];
  for (const doc of docs) {
    const parts = doc.pages?.length
      ? doc.pages.map((p) => ({ page: p.page as number | undefined, text: p.text }))
      : [{ page: undefined, text: doc.text }];
    let chunk = 0;
    for (const part of parts) {
      let from = 0;
      for (const raw of await splitter.splitText(part.text)) {
        // The splitter keeps a separator at the start of the next piece; a sentence mark belongs to the previous one.
        const piece = raw.replace(/^[\s。！？；，.?!;,]+/u, '').trimEnd();
        if (!/[\p{L}\p{N}]/u.test(piece)) continue;
        let start = part.text.indexOf(piece, from);
        if (start < 0) start = part.text.indexOf(piece);
        if (start < 0) start = from;
        const end = start + piece.length;
        from = start + 1;
        const passage: Passage = {
          text: piece,
          source: doc.source,
          chunk: chunk++,
          start,
          end,
          lines: { from: lineAt(part.text, start), to: lineAt(part.text, end) },
        };
        if (part.page !== undefined) passage.page = part.page;
        passages.push(passage);
      }
    }
  }
  return passages;
}

/** Share of CJK characters among letters: English embeddings are of no use on Chinese text. */
export function cjkShare(docs: readonly KnowledgeDocument[]): number {
  let cjk = 0;
  let letters = 0;
  for (const d of docs)
    for (const ch of d.text.slice(0, 20_000)) {
      if (isCjk(ch)) cjk++;
      if (/\p{L}/u.test(ch)) letters++;
    }
  return letters ? cjk / letters : 0;
}

export function indexKey(
  docs: readonly KnowledgeDocument[],
  split: SplitSettings,
  embeddings: EmbeddingSettings | undefined,
): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, split, embeddings: embeddings ?? null }));
  for (const d of docs) h.update(JSON.stringify([d.source, d.text, d.pages ?? null]));
  return h.digest('hex').slice(0, 32);
}

function unit(v: readonly number[]): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return Float32Array.from(v, (x) => x / n);
}

export interface BuildOptions {
  split: SplitSettings;
  embeddings?: { settings: EmbeddingSettings; embedder: () => Promise<EmbeddingsInterface> };
  signal?: AbortSignal;
}

export async function buildIndex(
  docs: readonly KnowledgeDocument[],
  options: BuildOptions,
): Promise<KnowledgeIndex> {
  const started = performance.now();
  const passages = await splitDocuments(docs, options.split);
  const bm25 = buildBm25(passages.map((p) => searchTerms(p.text)));
  const index: KnowledgeIndex = {
    id: indexKey(docs, options.split, options.embeddings?.settings),
    passages,
    documents: docs.length,
    bm25,
    buildMs: 0,
  };
  if (options.embeddings && passages.length) {
    const embedder = await options.embeddings.embedder();
    options.signal?.throwIfAborted();
    const vectors = await embedder.embedDocuments(passages.map((p) => p.text));
    if (vectors.length !== passages.length)
      throw new NodeError(
        `the embedding provider returned ${vectors.length} vectors for ${passages.length} passages`,
        'PROVIDER_ERROR',
      );
    index.vectors = vectors.map(unit);
    index.embeddings = options.embeddings.settings;
  }
  index.buildMs = Math.round(performance.now() - started);
  return index;
}

const MAX_CACHED = 16;
const cache = new Map<string, Promise<KnowledgeIndex>>();

/**
 * The index for a knowledge-base version, built on first use and shared by later runs (and by concurrent runs,
 * which wait for the same build). A failed or cancelled build is forgotten so the next run tries again.
 */
export async function cachedIndex(
  key: string,
  build: () => Promise<KnowledgeIndex>,
): Promise<{ index: KnowledgeIndex; cached: boolean }> {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return { index: await hit, cached: true };
  }
  const pending = build();
  cache.set(key, pending);
  pending.catch(() => {
    if (cache.get(key) === pending) cache.delete(key);
  });
  while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return { index: await pending, cached: false };
}

export interface Hit {
  passage: Passage;
  /** Reciprocal-rank-fusion score (what the ranking uses). */
  score: number;
  bm25: number;
  /** Cosine similarity to the query, when embedded. */
  similarity?: number;
  /** 0..1: idf-weighted share of the query's terms found in the passage, or the semantic match if higher. */
  relevance: number;
}

const RRF_K = 60;
// Universal Sentence Encoder cosines measured on the regulation tests: unrelated questions reach 0.13-0.16 with
// their best passage, related ones 0.3-0.7; the band 0.2-0.5 maps onto relevance 0..1.
const SIM_FLOOR = 0.2;
const SIM_CEIL = 0.5;

export function semanticRelevance(similarity: number): number {
  return Math.min(1, Math.max(0, (similarity - SIM_FLOOR) / (SIM_CEIL - SIM_FLOOR)));
}

/** The top passages for a query: BM25 and (when present) embedding rankings fused by reciprocal rank. */
export function search(
  index: KnowledgeIndex,
  query: string,
  options: { topK: number; queryVector?: readonly number[] | undefined; minRelevance?: number },
): Hit[] {
  const depth = Math.max(50, options.topK * 5);
  const fused = new Map<number, Hit>();
  const hitFor = (doc: number): Hit => {
    let h = fused.get(doc);
    if (!h)
      fused.set(doc, (h = { passage: index.passages[doc] as Passage, score: 0, bm25: 0, relevance: 0 }));
    return h;
  };
  searchBm25(index.bm25, query, depth).forEach((b, rank) => {
    const h = hitFor(b.doc);
    h.score += 1 / (RRF_K + rank + 1);
    h.bm25 = b.score;
    h.relevance = Math.max(h.relevance, b.coverage);
  });
  if (index.vectors && options.queryVector) {
    const q = unit(options.queryVector);
    const sims = index.vectors.map((v, doc) => {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += (v[i] as number) * (q[i] ?? 0);
      return { doc, sim: dot };
    });
    sims.sort((a, b) => b.sim - a.sim || a.doc - b.doc);
    sims.slice(0, depth).forEach(({ doc, sim }, rank) => {
      const h = hitFor(doc);
      h.score += 1 / (RRF_K + rank + 1);
      h.similarity = sim;
      h.relevance = Math.max(h.relevance, semanticRelevance(sim));
    });
  }
  const min = options.minRelevance ?? 0;
  return [...fused.values()]
    .filter((h) => h.relevance >= min && h.relevance > 0)
    .sort((a, b) => b.score - a.score || b.relevance - a.relevance)
    .slice(0, options.topK);
}

/**
 * Passages as a numbered context block for a prompt: `[n] (source, position) text`, one block per passage with
 * no blank line inside it, so a blank line or the next marker ends a passage.
 */
export function formatContext(
  rows: readonly {
    text: string;
    source: string;
    page?: number | undefined;
    lines?: { from: number; to: number } | undefined;
  }[],
): string {
  return rows
    .map((r, i) => {
      const where =
        r.page !== undefined ? `p. ${r.page}` : r.lines ? `lines ${r.lines.from}-${r.lines.to}` : '';
      const body = r.text
        .replace(/[ \t]+/g, ' ')
        .replace(/\s*\n\s*/g, '\n')
        .trim();
      return `[${i + 1}] (${r.source}${where ? `, ${where}` : ''}) ${body}`;
    })
    .join('\n');
}
