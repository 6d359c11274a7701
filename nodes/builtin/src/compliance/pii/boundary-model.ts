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
  PAIR_TEMPLATES,
  tokenize,
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
  combine: Record<keyof CombinePolicy, { adjustMargin: number | null; addThreshold: number | null }>;
}

/**
 * The weights as lookup tables by a feature's parts (boundary-features.ts FeatureSink), so that reading a text
 * builds no feature strings: flags by template, keyed features by template then key, pairs by template, first
 * and second token.
 */
interface Tables {
  flags: Map<string, Float64Array>;
  keyed: Map<string, Map<string, Float64Array>>;
  pairs: Map<string, Map<string, Map<string, Float64Array>>>;
}

interface Compiled extends Tables {
  trans: Float64Array;
  policy: CombinePolicy;
}

/** The window templates in the order analyzeBoundaries reads them (boundary-features.ts names them). */
const WINDOW = ['w', 'w-1', 'w+1', 'w-2', 'w+2'] as const;
const PAIRS = ['b-', 'b+', 'b--', 'b++'] as const;

/** Splits a pair feature's key, `a|b`, where either token may itself be "|" (tokens never contain it otherwise). */
function splitPair(rest: string): [string, string] {
  if (rest.startsWith('|')) return ['|', rest.slice(2)];
  const bar = rest.indexOf('|');
  return [rest.slice(0, bar), rest.slice(bar + 1)];
}

function tables(features: Readonly<Record<string, readonly number[]>>): Tables {
  const t: Tables = { flags: new Map(), keyed: new Map(), pairs: new Map() };
  for (const [name, v] of Object.entries(features)) {
    const weights = Float64Array.from(v);
    const colon = name.indexOf(':');
    if (colon < 0) {
      t.flags.set(name, weights);
      continue;
    }
    const template = name.slice(0, colon);
    const rest = name.slice(colon + 1);
    if (PAIR_TEMPLATES.has(template)) {
      const [a, b] = splitPair(rest);
      let byFirst = t.pairs.get(template);
      if (!byFirst) t.pairs.set(template, (byFirst = new Map()));
      let bySecond = byFirst.get(a);
      if (!bySecond) byFirst.set(a, (bySecond = new Map()));
      bySecond.set(b, weights);
    } else {
      let byKey = t.keyed.get(template);
      if (!byKey) t.keyed.set(template, (byKey = new Map()));
      byKey.set(rest, weights);
    }
  }
  return t;
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

/** log(sum(exp(v))) of the five values in `terms`. */
function logSumExp5(terms: Float64Array): number {
  let max = -Infinity;
  for (let k = 0; k < L; k++) if ((terms[k] as number) > max) max = terms[k] as number;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let k = 0; k < L; k++) s += Math.exp((terms[k] as number) - max);
  return max + Math.log(s);
}

/** Forward-backward over the emission scores (log space). */
export function forwardBackward(emit: Float64Array, n: number, trans: Float64Array): Lattice {
  const alpha = new Float64Array(n * L);
  const beta = new Float64Array(n * L);
  const terms = new Float64Array(L);
  for (let y = 0; y < L; y++) alpha[y] = (trans[L * L + y] as number) + (emit[y] as number);
  for (let i = 1; i < n; i++)
    for (let y = 0; y < L; y++) {
      for (let a = 0; a < L; a++)
        terms[a] = (alpha[(i - 1) * L + a] as number) + (trans[a * L + y] as number);
      alpha[i * L + y] = logSumExp5(terms) + (emit[i * L + y] as number);
    }
  for (let i = n - 2; i >= 0; i--)
    for (let a = 0; a < L; a++) {
      for (let b = 0; b < L; b++)
        terms[b] =
          (trans[a * L + b] as number) +
          (emit[(i + 1) * L + b] as number) +
          (beta[(i + 1) * L + b] as number);
      beta[i * L + a] = logSumExp5(terms);
    }
  if (!n) return { n, emit, trans, alpha, beta, logZ: 0 };
  for (let y = 0; y < L; y++) terms[y] = alpha[(n - 1) * L + y] as number;
  return { n, emit, trans, alpha, beta, logZ: logSumExp5(terms) };
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
    },
    ADDRESS: {
      adjustMargin: never(w.combine.ADDRESS.adjustMargin),
      addThreshold: never(w.combine.ADDRESS.addThreshold),
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
  const { trans, flags, keyed, pairs } = model();
  const tokens = tokenize(text);
  const n = tokens.length;
  const emit = new Float64Array(n * L);
  const add = (i: number, w: Float64Array | undefined) => {
    if (w) for (let y = 0; y < L; y++) emit[i * L + y] = (emit[i * L + y] as number) + (w[y] as number);
  };
  forEachTokenFeature(
    text,
    norm,
    tokens,
    segments,
    (i, template, key, second) =>
      add(
        i,
        key === undefined
          ? flags.get(template)
          : second === undefined
            ? keyed.get(template)?.get(key)
            : pairs.get(template)?.get(key)?.get(second),
      ),
    false,
  );
  // The token window, read here rather than through the sink: each distinct token's five window weights are
  // looked up once per text, and the pairs by their two tokens.
  const lower = lowerTokens(norm, tokens);
  const at = (i: number) => (i < 0 ? BEFORE : i >= n ? AFTER : (lower[i] as string));
  const windowTables = WINDOW.map((t) => keyed.get(t));
  const memo = new Map<string, (Float64Array | undefined)[]>();
  // lexical[i + 2]: the window weights of the token at i (two places of sentinels either side).
  const lexical = Array.from({ length: n + 4 }, (_, k) => {
    const token = at(k - 2);
    let v = memo.get(token);
    if (!v) memo.set(token, (v = windowTables.map((table) => table?.get(token))));
    return v;
  });
  const [before1, after1, before2, after2] = PAIRS.map((t) => pairs.get(t));
  for (let i = 0; i < n; i++) {
    const k = i + 2;
    add(i, (lexical[k] as (Float64Array | undefined)[])[0]);
    add(i, (lexical[k - 1] as (Float64Array | undefined)[])[1]);
    add(i, (lexical[k + 1] as (Float64Array | undefined)[])[2]);
    add(i, (lexical[k - 2] as (Float64Array | undefined)[])[3]);
    add(i, (lexical[k + 2] as (Float64Array | undefined)[])[4]);
    add(i, before1?.get(at(i - 1))?.get(at(i)));
    add(i, after1?.get(at(i))?.get(at(i + 1)));
    add(i, before2?.get(at(i - 2))?.get(at(i - 1)));
    add(i, after2?.get(at(i + 1))?.get(at(i + 2)));
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
