/**
 * The span-boundary model: a linear-chain conditional random field over tokens (boundary-features.ts) with BIO
 * tags for PERSON and ADDRESS, trained offline on the development split by train-boundary-model.mjs; its weights
 * are the checked-in boundary-weights.json. The recognisers find names and addresses from evidence and grammars
 * but misplace a first or last element (a floor left out, a cue word taken in); the model reads every boundary
 * in context and gives the probability that a span is exactly an entity (forward-backward marginals), which
 * detect.ts uses to move a finding's boundaries where the model is much surer of another span, and to add spans
 * the recognisers missed. Inference is plain TypeScript in this thread: a weight lookup per feature, then
 * forward-backward over five labels.
 */
import { readFileSync } from 'node:fs';
import {
  AFTER,
  allowed,
  BEFORE,
  BOUNDARY_LABELS,
  forEachTokenFeature,
  lowerTokens,
  segmentPlaces,
  shape,
  tokenize,
  WORD_PLACES,
  TEMPLATES,
  type Token,
} from './boundary-features.js';
import type { CombinePolicy } from './boundary-combine.js';
import type { Segment } from './segmenter.js';

const L = BOUNDARY_LABELS.length;

/** The weights file: transitions (from each label, then from the start) and per-feature label weights. */
export interface BoundaryWeights {
  version: 1;
  labels: readonly string[];
  /** L + 1 rows of L: row a < L is from label a, row L from the sequence start. */
  transitions: readonly (readonly number[])[];
  features: Readonly<Record<string, readonly number[]>>;
  /** How the model joins the recognisers (boundary-combine.ts); null is never (no move, no addition). */
  combine: Record<
    keyof CombinePolicy,
    {
      adjustMargin: number | null;
      addThreshold: number | null;
      agreeThreshold?: number | null;
      doubtFloor?: number;
    }
  >;
}

/**
 * The weights as one table of rows (a feature's five label weights at row * 5) and integer indexes into it,
 * built once when the file loads, so that reading a text builds no feature strings and looks each token up by
 * its string once: flags by template, keyed features by template then key, and the token window (w, w-1 ...
 * b++), the bulk of a token's features, through a vocabulary of the tokens the weights name. A window feature is
 * then an array read by the token's number, a pair feature one lookup by a number made of the two tokens'.
 */
interface Tables {
  rows: Float64Array;
  /** By template index (TEMPLATES): a flag's row, or -1. */
  flags: Int32Array;
  /** By template index: the keyed features' rows by key. */
  keyed: (Map<string, number> | undefined)[];
  /** Token (simplified, lower-cased, or the BEFORE/AFTER sentinels) to its number. */
  vocab: Map<string, number>;
  /** Per WINDOW template, by token number: the feature's row, or -1. */
  window: Int32Array[];
  /** By pairKey(template, first, second): the feature's row. */
  pairs: Map<number, number>;
  /** Token shape (boundary-features.ts `shape`, or the BEFORE/AFTER sentinels) to its number. */
  shapeVocab: Map<string, number>;
  /** By shape number: the `sh` feature's row, or -1. */
  shapeRows: Int32Array;
  /** By (previous * size + current) * size + next shape number: the `sh3` feature's row. */
  shape3: Map<number, number>;
  /** jieba's tag to its number. */
  tagVocab: Map<string, number>;
  /**
   * For pos, pos-1 and pos+1: by tag number * 5 + place in the word (WORD_PLACES; 4 for the tag alone, which
   * only pos has), the feature's row, or -1.
   */
  tagRows: [Int32Array, Int32Array, Int32Array];
}

interface Compiled extends Tables {
  trans: Float64Array;
  policy: CombinePolicy;
}

/** The window templates in the order analyzeBoundaries reads them (boundary-features.ts names them). */
const WINDOW = ['w', 'w-1', 'w+1', 'w-2', 'w+2'] as const;
const PAIRS = ['b-', 'b+', 'b--', 'b++'] as const;
/** jieba's tag templates, read by number (see Tables.tagRows). */
const TAG_TEMPLATES = ['pos', 'pos-1', 'pos+1'] as const;

/** Splits a pair feature's key, `a|b`, where either token may itself be "|" (tokens never contain it otherwise). */
function splitPair(rest: string): [string, string] {
  if (rest.startsWith('|')) return ['|', rest.slice(2)];
  const bar = rest.indexOf('|');
  return [rest.slice(0, bar), rest.slice(bar + 1)];
}

/**
 * Splits an `sh3` key, `prev|cur|next`, into its three shapes. A shape is a class name or one character, and
 * may itself be "|" (a bar token): the key is read left to right, one shape and one bar at a time.
 */
function splitShapes(key: string): [string, string, string] {
  const out: string[] = [];
  let at = 0;
  for (let k = 0; k < 2; k++) {
    // A shape of its own is "|" exactly when the key has "|" at its start followed by the separator.
    const bar = key[at] === '|' && key[at + 1] === '|' ? at + 1 : key.indexOf('|', at);
    out.push(key.slice(at, bar));
    at = bar + 1;
  }
  out.push(key.slice(at));
  return out as [string, string, string];
}

/** One number per (pair template, first token, second token); exact below 2^53 for any vocabulary size. */
function pairKey(template: number, first: number, second: number, size: number): number {
  return (template * size + first) * size + second;
}

function tables(features: Readonly<Record<string, readonly number[]>>): Tables {
  const names = Object.keys(features);
  const rows = new Float64Array(names.length * L);
  const flags = new Int32Array(TEMPLATES.length).fill(-1);
  const keyed: (Map<string, number> | undefined)[] = TEMPLATES.map(() => undefined);
  const templateIndex = (name: string) => {
    const i = (TEMPLATES as readonly string[]).indexOf(name);
    if (i < 0) throw new Error(`boundary weights: unknown feature template ${name}`);
    return i;
  };
  const vocab = new Map<string, number>();
  const word = (token: string) => {
    let id = vocab.get(token);
    if (id === undefined) vocab.set(token, (id = vocab.size));
    return id;
  };
  const windowed: [number, number, number][] = [];
  const paired: [number, number, number, number][] = [];
  // Shapes are numbered as the weights name them, so a token's shape features are array reads and one lookup by
  // a number, never a string built per token.
  const shapeVocab = new Map<string, number>();
  const shapeId = (s: string) => {
    let id = shapeVocab.get(s);
    if (id === undefined) shapeVocab.set(s, (id = shapeVocab.size));
    return id;
  };
  const shaped: [number, number][] = [];
  const shaped3: [number, number, number, number][] = [];
  const tagVocab = new Map<string, number>();
  const tagged: [number, number, number][] = [];
  names.forEach((name, row) => {
    rows.set((features[name] as readonly number[]).slice(0, L), row * L);
    const colon = name.indexOf(':');
    if (colon < 0) {
      flags[templateIndex(name)] = row;
      return;
    }
    const template = name.slice(0, colon);
    const rest = name.slice(colon + 1);
    const w = (WINDOW as readonly string[]).indexOf(template);
    const p = (PAIRS as readonly string[]).indexOf(template);
    if (w >= 0) windowed.push([w, word(rest), row]);
    else if (template === 'sh') shaped.push([shapeId(rest), row]);
    else if (TAG_TEMPLATES.includes(template as (typeof TAG_TEMPLATES)[number])) {
      const bar = rest.indexOf('|');
      const tag = bar < 0 ? rest : rest.slice(0, bar);
      const place = bar < 0 ? 4 : WORD_PLACES.indexOf(rest.slice(bar + 1));
      let id = tagVocab.get(tag);
      if (id === undefined) tagVocab.set(tag, (id = tagVocab.size));
      if (place < 0) throw new Error(`boundary weights: unknown word place in ${name}`);
      tagged.push([TAG_TEMPLATES.indexOf(template as (typeof TAG_TEMPLATES)[number]), id * 5 + place, row]);
    } else if (template === 'sh3') {
      const [a, b, c] = splitShapes(rest);
      shaped3.push([shapeId(a), shapeId(b), shapeId(c), row]);
    } else if (p >= 0) {
      const [a, b] = splitPair(rest);
      paired.push([p, word(a), word(b), row]);
    } else {
      const t = templateIndex(template);
      let byKey = keyed[t];
      if (!byKey) keyed[t] = byKey = new Map();
      byKey.set(rest, row);
    }
  });
  const window = WINDOW.map(() => new Int32Array(vocab.size).fill(-1));
  for (const [w, id, row] of windowed) (window[w] as Int32Array)[id] = row;
  const pairs = new Map<number, number>();
  for (const [p, a, b, row] of paired) pairs.set(pairKey(p, a, b, vocab.size), row);
  const shapeRows = new Int32Array(shapeVocab.size).fill(-1);
  for (const [id, row] of shaped) shapeRows[id] = row;
  const size = shapeVocab.size;
  const shape3 = new Map<number, number>();
  for (const [a, b, c, row] of shaped3) shape3.set((a * size + b) * size + c, row);
  const tagRows = TAG_TEMPLATES.map(() => new Int32Array(tagVocab.size * 5).fill(-1)) as [
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  for (const [t, key, row] of tagged) (tagRows[t] as Int32Array)[key] = row;
  return { rows, flags, keyed, vocab, window, pairs, shapeVocab, shapeRows, shape3, tagVocab, tagRows };
}

export interface Lattice {
  n: number;
  /** n * L emission scores. */
  emit: Float64Array;
  /** (L + 1) * L transition scores, -Infinity where a transition is not allowed. */
  trans: Float64Array;
  alpha: Float64Array;
  beta: Float64Array;
  logZ: number;
}

function logSumExp(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (const v of values) s += Math.exp(v - max);
  return max + Math.log(s);
}

/** Transition scores with the BIO constraints applied (an inside tag never starts an entity). */
export function transitionMatrix(transitions: ArrayLike<number>): Float64Array {
  const trans = new Float64Array((L + 1) * L);
  for (let a = 0; a <= L; a++)
    for (let b = 0; b < L; b++)
      trans[a * L + b] = allowed(a === L ? undefined : a, b) ? (transitions[a * L + b] as number) : -Infinity;
  return trans;
}

/**
 * Forward-backward over the emission scores. The sums run in linear space, each position's scores scaled by its
 * largest emission and each step normalised (Rabiner's scaling), so a token costs five exponentials and ten
 * logarithms instead of fifty exponentials; alpha, beta and logZ are returned in log space, as if computed there.
 */
export function forwardBackward(emit: Float64Array, n: number, trans: Float64Array): Lattice {
  const alpha = new Float64Array(n * L);
  const beta = new Float64Array(n * L);
  if (!n) return { n, emit, trans, alpha, beta, logZ: 0 };
  // alpha and beta hold alpha hat and beta hat (linear, normalised) until the last loop turns them into logs.
  const t = new Float64Array((L + 1) * L);
  for (let k = 0; k < t.length; k++) t[k] = Math.exp(trans[k] as number);
  // e[i * L + y] = exp(emit - the position's largest emission, max[i]); c[i] the forward step's normaliser.
  // Then log alpha(i) = log(alpha hat(i)) + sum over k <= i of (max[k] + log c[k]), log beta(i) = log(beta hat(i))
  // + the same sum over k > i, and logZ = the sum over all k.
  const e = new Float64Array(n * L);
  const max = new Float64Array(n);
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let y = 0; y < L; y++) if ((emit[i * L + y] as number) > m) m = emit[i * L + y] as number;
    for (let y = 0; y < L; y++) e[i * L + y] = Math.exp((emit[i * L + y] as number) - m);
    max[i] = m;
  }
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let y = 0; y < L; y++) {
      let v: number;
      if (i === 0) v = t[L * L + y] as number;
      else {
        v = 0;
        for (let p = 0; p < L; p++) v += (alpha[(i - 1) * L + p] as number) * (t[p * L + y] as number);
      }
      v *= e[i * L + y] as number;
      alpha[i * L + y] = v;
      sum += v;
    }
    for (let y = 0; y < L; y++) alpha[i * L + y] = (alpha[i * L + y] as number) / sum;
    c[i] = sum;
  }
  for (let y = 0; y < L; y++) beta[(n - 1) * L + y] = 1;
  for (let i = n - 2; i >= 0; i--)
    for (let p = 0; p < L; p++) {
      let v = 0;
      for (let y = 0; y < L; y++)
        v += (t[p * L + y] as number) * (e[(i + 1) * L + y] as number) * (beta[(i + 1) * L + y] as number);
      beta[i * L + p] = v / (c[i + 1] as number);
    }
  let logZ = 0;
  for (let i = 0; i < n; i++) logZ += (max[i] as number) + Math.log(c[i] as number);
  let before = 0;
  for (let i = 0; i < n; i++) {
    before += (max[i] as number) + Math.log(c[i] as number);
    const after = logZ - before;
    for (let y = 0; y < L; y++) {
      alpha[i * L + y] = Math.log(alpha[i * L + y] as number) + before;
      beta[i * L + y] = Math.log(beta[i * L + y] as number) + after;
    }
  }
  return { n, emit, trans, alpha, beta, logZ };
}

/** The most likely labels (Viterbi). */
export function viterbi(emit: Float64Array, n: number, trans: Float64Array): Uint8Array {
  const score = new Float64Array(n * L);
  const back = new Uint8Array(n * L);
  for (let y = 0; y < L; y++) score[y] = (trans[L * L + y] as number) + (emit[y] as number);
  for (let i = 1; i < n; i++)
    for (let y = 0; y < L; y++) {
      let best = -Infinity;
      let arg = 0;
      for (let a = 0; a < L; a++) {
        const s = (score[(i - 1) * L + a] as number) + (trans[a * L + y] as number);
        if (s > best) {
          best = s;
          arg = a;
        }
      }
      score[i * L + y] = best + (emit[i * L + y] as number);
      back[i * L + y] = arg;
    }
  const labels = new Uint8Array(n);
  if (!n) return labels;
  let y = 0;
  for (let b = 1; b < L; b++)
    if ((score[(n - 1) * L + b] as number) > (score[(n - 1) * L + y] as number)) y = b;
  for (let i = n - 1; i >= 0; i--) {
    labels[i] = y;
    y = back[i * L + y] as number;
  }
  return labels;
}

/** Probability that tokens i..j (inclusive) are exactly one entity whose B tag is `b` (I tag b + 1). */
export function spanMarginal(lat: Lattice, i: number, j: number, b: number): number {
  const { emit, trans, alpha, beta, n, logZ } = lat;
  const inside = b + 1;
  let s = alpha[i * L + b] as number;
  let prev = b;
  for (let k = i + 1; k <= j; k++) {
    s += (trans[prev * L + inside] as number) + (emit[k * L + inside] as number);
    prev = inside;
  }
  if (j + 1 < n) {
    const terms: number[] = [];
    for (let y = 0; y < L; y++)
      if (y !== inside)
        terms.push(
          (trans[prev * L + y] as number) +
            (emit[(j + 1) * L + y] as number) +
            (beta[(j + 1) * L + y] as number),
        );
    s += logSumExp(terms);
  }
  return Math.exp(s - logZ);
}

export type BoundaryType = 'PERSON' | 'ADDRESS';

export interface BoundarySpan {
  type: BoundaryType;
  start: number;
  end: number;
  /** The model's probability that exactly this span is the entity. */
  probability: number;
}

export interface BoundaryAnalysis {
  tokens: readonly Token[];
  /** The most likely spans (Viterbi), each with its span probability. */
  spans: BoundarySpan[];
  /** The probability that text[start, end) is exactly an entity of `type`; 0 off token boundaries. */
  probability(type: BoundaryType, start: number, end: number): number;
}

let loaded: Compiled | undefined;

/** Parses a weights file into lookup tables. */
export function compileWeights(w: BoundaryWeights): Compiled {
  if (w.version !== 1 || w.labels.join() !== BOUNDARY_LABELS.join())
    throw new Error('boundary weights: unknown version or labels');
  const flat = new Float64Array((L + 1) * L);
  w.transitions.forEach((row, a) => row.forEach((v, b) => (flat[a * L + b] = v)));
  const never = (v: number | null) => v ?? Infinity;
  const policy: CombinePolicy = {
    PERSON: {
      adjustMargin: never(w.combine.PERSON.adjustMargin),
      addThreshold: never(w.combine.PERSON.addThreshold),
      agreeThreshold: never(w.combine.PERSON.agreeThreshold ?? null),
      ...(w.combine.PERSON.doubtFloor === undefined ? {} : { doubtFloor: w.combine.PERSON.doubtFloor }),
    },
    ADDRESS: {
      adjustMargin: never(w.combine.ADDRESS.adjustMargin),
      addThreshold: never(w.combine.ADDRESS.addThreshold),
      agreeThreshold: never(w.combine.ADDRESS.agreeThreshold ?? null),
    },
  };
  return { ...tables(w.features), trans: transitionMatrix(flat), policy };
}

function model() {
  // The same path from src/ (tests) and dist/ (built): the weights are data shipped in src/.
  loaded ??= compileWeights(
    JSON.parse(
      readFileSync(new URL('../../../src/compliance/pii/boundary-weights.json', import.meta.url), 'utf8'),
    ) as BoundaryWeights,
  );
  return loaded;
}

/** The checked-in policy for joining the model's spans to the recognisers' findings. */
export function boundaryPolicy(): CombinePolicy {
  return model().policy;
}

/** Replaces the weights in use (the training script's cross-validation; null restores the checked-in file). */
export function useBoundaryWeights(w: BoundaryWeights | null): void {
  loaded = w ? compileWeights(w) : undefined;
}

/** Reads the text with the model. `norm` is the simplified text (same offsets); `segments` jieba's, if any. */
export function analyzeBoundaries(
  text: string,
  norm: string,
  segments: readonly Segment[] | undefined,
): BoundaryAnalysis {
  const {
    trans,
    rows,
    flags,
    keyed,
    vocab,
    window,
    pairs,
    shapeVocab,
    shapeRows,
    shape3,
    tagVocab,
    tagRows,
  } = model();
  const tokens = tokenize(text);
  const n = tokens.length;
  const emit = new Float64Array(n * L);
  const add = (i: number, row: number | undefined) => {
    if (row === undefined || row < 0) return;
    for (let y = 0; y < L; y++) emit[i * L + y] = (emit[i * L + y] as number) + (rows[row * L + y] as number);
  };
  forEachTokenFeature(
    text,
    norm,
    tokens,
    segments,
    (i, template, key) => add(i, key === undefined ? flags[template] : keyed[template]?.get(key)),
    false,
    false,
    false,
  );
  // jieba's tags by number: tag number * 5 + place, or -1 where no segment or the weights never name the tag.
  const { tags, places } = segmentPlaces(tokens, segments);
  const tagKeys = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const tag = tags[i];
    const id = tag === undefined ? undefined : tagVocab.get(tag);
    if (id !== undefined) tagKeys[i] = id * 5 + (places[i] as number);
  }
  const [posRows, posBefore, posAfter] = tagRows;
  for (let i = 0; i < n; i++) {
    const k = tagKeys[i] as number;
    if (k >= 0) {
      add(i, posRows[k]);
      add(i, posRows[k - (k % 5) + 4]);
    }
    const b = i > 0 ? (tagKeys[i - 1] as number) : -1;
    const a = i + 1 < n ? (tagKeys[i + 1] as number) : -1;
    if (b >= 0) add(i, posBefore[b]);
    if (a >= 0) add(i, posAfter[a]);
  }
  // Shapes by number (-1 where the weights never name the shape), with the sentinels either side.
  const shapeSize = shapeVocab.size;
  const shapeIds = new Int32Array(n + 2);
  shapeIds[0] = shapeVocab.get(BEFORE) ?? -1;
  shapeIds[n + 1] = shapeVocab.get(AFTER) ?? -1;
  for (let i = 0; i < n; i++) {
    const t = tokens[i] as Token;
    shapeIds[i + 1] = shapeVocab.get(shape(text.slice(t.start, t.end))) ?? -1;
  }
  for (let i = 0; i < n; i++) {
    const a = shapeIds[i] as number;
    const b = shapeIds[i + 1] as number;
    const c = shapeIds[i + 2] as number;
    if (b >= 0) add(i, shapeRows[b]);
    if (a >= 0 && b >= 0 && c >= 0) add(i, shape3.get((a * shapeSize + b) * shapeSize + c));
  }
  // The token window, read here rather than through the sink: each token is looked up in the vocabulary once,
  // then its window features are array reads and its pairs lookups by number. ids[i + 2] is token i's number
  // (-1 if the weights never name it), with two places of sentinels either side.
  const lower = lowerTokens(norm, tokens);
  const size = vocab.size;
  const ids = new Int32Array(n + 4);
  const before = vocab.get(BEFORE) ?? -1;
  const after = vocab.get(AFTER) ?? -1;
  ids[0] = ids[1] = before;
  ids[n + 2] = ids[n + 3] = after;
  for (let i = 0; i < n; i++) ids[i + 2] = vocab.get(lower[i] as string) ?? -1;
  const [w0, w1, w2, w3, w4] = window as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
  const row = (table: Int32Array, id: number) => (id < 0 ? -1 : (table[id] as number));
  const pair = (template: number, a: number, b: number) =>
    a < 0 || b < 0 ? undefined : pairs.get(pairKey(template, a, b, size));
  for (let i = 0; i < n; i++) {
    const k = i + 2;
    const m2 = ids[k - 2] as number;
    const m1 = ids[k - 1] as number;
    const c = ids[k] as number;
    const p1 = ids[k + 1] as number;
    const p2 = ids[k + 2] as number;
    add(i, row(w0, c));
    add(i, row(w1, m1));
    add(i, row(w2, p1));
    add(i, row(w3, m2));
    add(i, row(w4, p2));
    add(i, pair(0, m1, c));
    add(i, pair(1, c, p1));
    add(i, pair(2, m2, m1));
    add(i, pair(3, p1, p2));
  }
  const lat = forwardBackward(emit, n, trans);
  const labels = viterbi(emit, n, trans);
  const startIndex = new Map<number, number>();
  const endIndex = new Map<number, number>();
  tokens.forEach((t, i) => {
    startIndex.set(t.start, i);
    endIndex.set(t.end, i);
  });
  const probability = (type: BoundaryType, start: number, end: number) => {
    const i = startIndex.get(start);
    const j = endIndex.get(end);
    if (i === undefined || j === undefined || j < i) return 0;
    return spanMarginal(lat, i, j, type === 'PERSON' ? 1 : 3);
  };
  const spans: BoundarySpan[] = [];
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (y !== 1 && y !== 3) continue;
    let j = i;
    while (j + 1 < n && labels[j + 1] === y + 1) j++;
    const type: BoundaryType = y === 1 ? 'PERSON' : 'ADDRESS';
    spans.push({
      type,
      start: (tokens[i] as Token).start,
      end: (tokens[j] as Token).end,
      probability: spanMarginal(lat, i, j, y),
    });
    i = j;
  }
  return { tokens, spans, probability };
}
