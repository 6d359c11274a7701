/**
 * An inverted-index BM25 (Lucene's idf and length normalisation), built once for a set of passages and
 * queried many times. Besides the BM25 score it reports idf-weighted query coverage, an absolute 0..1 measure
 * of how much of a question a passage speaks to, which thresholds (refusals) can rely on across corpora.
 */
import { searchTerms } from './text.js';

export interface Bm25Options {
  k1?: number;
  b?: number;
}

interface Posting {
  docs: number[];
  tfs: number[];
}

export interface Bm25Index {
  readonly docCount: number;
  readonly avgLength: number;
  readonly lengths: Uint32Array;
  readonly postings: ReadonlyMap<string, Posting>;
  readonly k1: number;
  readonly b: number;
}

export interface Bm25Hit {
  doc: number;
  score: number;
  /** Share of the query's idf mass found in the passage (0..1). */
  coverage: number;
}

/** Builds the index over documents given as term lists (see `searchTerms`). */
export function buildBm25(docs: readonly (readonly string[])[], options: Bm25Options = {}): Bm25Index {
  const postings = new Map<string, Posting>();
  const lengths = new Uint32Array(docs.length);
  let total = 0;
  docs.forEach((terms, doc) => {
    lengths[doc] = terms.length;
    total += terms.length;
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [term, count] of tf) {
      let p = postings.get(term);
      if (!p) postings.set(term, (p = { docs: [], tfs: [] }));
      p.docs.push(doc);
      p.tfs.push(count);
    }
  });
  return {
    docCount: docs.length,
    avgLength: docs.length ? total / docs.length : 0,
    lengths,
    postings,
    k1: options.k1 ?? 1.2,
    b: options.b ?? 0.75,
  };
}

/** Lucene's BM25 idf; a term absent from the corpus gets the highest idf, so it counts as missing coverage. */
export function idf(index: Bm25Index, term: string): number {
  const df = index.postings.get(term)?.docs.length ?? 0;
  return Math.log(1 + (index.docCount - df + 0.5) / (df + 0.5));
}

/** Scores every passage that contains a query term; best first, ties in passage order. */
export function searchBm25(index: Bm25Index, query: string | readonly string[], limit = Infinity): Bm25Hit[] {
  // A term repeated in the query weighs more (a field named "issuer" described as "who issued it").
  const qtf = new Map<string, number>();
  for (const t of typeof query === 'string' ? searchTerms(query) : query) qtf.set(t, (qtf.get(t) ?? 0) + 1);
  const scores = new Map<number, { score: number; covered: number }>();
  let idfTotal = 0;
  for (const [term, count] of qtf) {
    const w = idf(index, term);
    idfTotal += w;
    const p = index.postings.get(term);
    if (!p) continue;
    for (let i = 0; i < p.docs.length; i++) {
      const doc = p.docs[i] as number;
      const tf = p.tfs[i] as number;
      const len = index.lengths[doc] as number;
      const norm = tf + index.k1 * (1 - index.b + (index.b * len) / (index.avgLength || 1));
      const s = scores.get(doc) ?? { score: 0, covered: 0 };
      s.score += (count * w * tf * (index.k1 + 1)) / norm;
      s.covered += w;
      scores.set(doc, s);
    }
  }
  const hits: Bm25Hit[] = [];
  for (const [doc, s] of scores)
    hits.push({ doc, score: s.score, coverage: idfTotal > 0 ? s.covered / idfTotal : 0 });
  hits.sort((a, b) => b.score - a.score || a.doc - b.doc);
  return hits.length > limit ? hits.slice(0, limit) : hits;
}
