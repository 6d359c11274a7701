/**
 * The trainable offline text classifier: TF-IDF over word unigrams and bigrams plus character 2-4-grams within
 * words (sublinear tf, smoothed idf, L2-normalised), and a multinomial logistic regression trained by SGD with
 * L2 regularisation. Deterministic (seeded shuffling). The trained model is a JSON artefact with the weights
 * quantised to int8 per label, so a flow can store it and classify without retraining.
 */
import { createHash } from 'node:crypto';
import { NodeError, z } from '@finflow/sdk';
import { isCjk, tokenize } from './text.js';

export const CLASSIFIER_KIND = 'finflow.textClassifier';

export interface LabelledExample {
  text: string;
  label: string;
}

export interface TrainOptions {
  /** Features seen in fewer training texts are dropped (default 2; 1 for small sets). */
  minDf?: number;
  /** Passes over the data (default: 10 for large sets, more for small ones). */
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** Checked every couple of thousand steps, where training also yields so timers (node timeouts) can fire. */
  signal?: AbortSignal;
}

export const classifierArtifactSchema = z.object({
  kind: z.literal(CLASSIFIER_KIND),
  version: z.literal(1),
  algorithm: z.literal('tfidf-logreg'),
  /** A content hash of the training data and settings: the same data trains the same model. */
  id: z.string().min(8),
  labels: z.array(z.string().min(1)).min(2),
  features: z.object({
    wordNgrams: z.tuple([z.literal(1), z.literal(2)]),
    charNgrams: z.tuple([z.int(), z.int()]),
  }),
  vocabulary: z.array(z.string()),
  /** Base64 little-endian float32, one per vocabulary entry. */
  idf: z.string(),
  /** Base64 int8, feature-major (vocabulary × labels); weight = value / 127 × scale[label]. */
  weights: z.string(),
  scale: z.array(z.number()),
  bias: z.array(z.number()),
  training: z.looseObject({ examples: z.int(), trainingMs: z.number(), epochs: z.int() }),
});
export type ClassifierArtifact = z.output<typeof classifierArtifactSchema>;

const CHAR_MIN = 2;
const CHAR_MAX = 4;

/** Feature counts of a text (prefixes keep the kinds apart: w = word, b = word bigram, c = character n-gram). */
export function textFeatures(text: string): Map<string, number> {
  const tokens = tokenize(text);
  const out = new Map<string, number>();
  const add = (f: string) => out.set(f, (out.get(f) ?? 0) + 1);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    add(`w ${t}`);
    if (i + 1 < tokens.length) add(`b ${t} ${tokens[i + 1]}`);
    // CJK runs have no word boundaries inside, so their character n-grams are their words.
    const chars = isCjk(t) ? [...t] : [' ', ...t, ' '];
    for (let n = CHAR_MIN; n <= CHAR_MAX; n++)
      for (let j = 0; j + n <= chars.length; j++) add(`c ${chars.slice(j, j + n).join('')}`);
  }
  return out;
}

interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
}

function vectorize(
  features: Map<string, number>,
  vocab: Map<string, number>,
  idf: Float32Array,
): SparseVector {
  const idx: number[] = [];
  const val: number[] = [];
  let norm = 0;
  for (const [f, count] of features) {
    const i = vocab.get(f);
    if (i === undefined) continue;
    const v = (1 + Math.log(count)) * (idf[i] as number);
    idx.push(i);
    val.push(v);
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  return { idx: Int32Array.from(idx), val: Float32Array.from(val, (v) => v / norm) };
}

/** A trained model decoded for prediction. */
export interface LoadedClassifier {
  artifact: ClassifierArtifact;
  labels: readonly string[];
  vocab: Map<string, number>;
  idf: Float32Array;
  /** Dequantised weights, feature-major. */
  weights: Float32Array;
  bias: Float64Array;
}

export interface Prediction {
  label: string;
  confidence: number;
  alternatives: { label: string; confidence: number }[];
}

function toBase64(bytes: ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function hashExamples(examples: readonly LabelledExample[], options: TrainOptions = {}): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      CHAR_MIN,
      CHAR_MAX,
      options.minDf,
      options.epochs,
      options.learningRate,
      options.l2,
      options.seed,
    ]),
  );
  for (const e of examples) h.update(`${e.label}\u0000${e.text}\u0001`);
  return h.digest('hex').slice(0, 32);
}

function checkExamples(examples: readonly LabelledExample[]): string[] {
  if (examples.length < 2)
    throw new NodeError('training needs at least two labelled examples', 'INSUFFICIENT_TRAINING_DATA');
  examples.forEach((e, i) => {
    if (typeof e.text !== 'string' || !e.text.trim())
      throw new NodeError(`training example ${i + 1} has no text`, 'INVALID_TRAINING_DATA');
    if (typeof e.label !== 'string' || !e.label.trim())
      throw new NodeError(`training example ${i + 1} has no label`, 'INVALID_TRAINING_DATA');
  });
  const labels = [...new Set(examples.map((e) => e.label))].sort();
  if (labels.length < 2)
    throw new NodeError(
      `training needs examples of at least two labels (all examples are "${labels[0]}")`,
      'INSUFFICIENT_TRAINING_DATA',
    );
  return labels;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Trains a classifier on labelled examples. */
export async function trainClassifier(
  examples: readonly LabelledExample[],
  options: TrainOptions = {},
): Promise<ClassifierArtifact> {
  const started = performance.now();
  const labels = checkExamples(examples);
  const n = examples.length;
  const minDf = options.minDf ?? (n >= 1000 ? 2 : 1);
  const epochs = options.epochs ?? Math.min(60, Math.max(10, Math.round(100_000 / n)));
  const lr0 = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 3e-6;

  const featurized = examples.map((e) => textFeatures(e.text));
  const df = new Map<string, number>();
  for (const f of featurized) for (const key of f.keys()) df.set(key, (df.get(key) ?? 0) + 1);
  const vocabulary = [...df].filter(([, d]) => d >= minDf).map(([f]) => f);
  if (!vocabulary.length)
    throw new NodeError(
      'the training texts share no features; add more examples',
      'INSUFFICIENT_TRAINING_DATA',
    );
  const vocab = new Map(vocabulary.map((f, i) => [f, i]));
  const idf = Float32Array.from(vocabulary, (f) => Math.log((1 + n) / (1 + (df.get(f) ?? 0))) + 1);
  const x = featurized.map((f) => vectorize(f, vocab, idf));
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const y = examples.map((e) => labelIndex.get(e.label) as number);

  const k = labels.length;
  const w = new Float32Array(vocabulary.length * k);
  const b = new Float64Array(k);
  const p = new Float64Array(k);
  // L2 decay multiplies every weight each step; a shared scale factor makes that O(1) instead of O(weights).
  let scale = 1;
  let seed = options.seed ?? 42;
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const order = Array.from({ length: n }, (_, i) => i);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (options.signal?.aborted) throw options.signal.reason;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const s of order) {
      // Yield now and then: training runs on the server's main thread.
      if (step % 2048 === 2047) {
        await tick();
        if (options.signal?.aborted) throw options.signal.reason;
      }
      const lr = lr0 / (1 + lr0 * l2 * step++);
      const { idx, val } = x[s] as SparseVector;
      for (let c = 0; c < k; c++) p[c] = b[c] as number;
      for (let j = 0; j < idx.length; j++) {
        const o = (idx[j] as number) * k;
        const v = (val[j] as number) * scale;
        for (let c = 0; c < k; c++) p[c] = (p[c] as number) + v * (w[o + c] as number);
      }
      let max = -Infinity;
      for (let c = 0; c < k; c++) if ((p[c] as number) > max) max = p[c] as number;
      let sum = 0;
      for (let c = 0; c < k; c++) sum += p[c] = Math.exp((p[c] as number) - max);
      for (let c = 0; c < k; c++) p[c] = (p[c] as number) / sum;
      p[y[s] as number] = (p[y[s] as number] as number) - 1;
      scale *= 1 - lr * l2;
      const u = lr / scale;
      for (let j = 0; j < idx.length; j++) {
        const o = (idx[j] as number) * k;
        const v = (val[j] as number) * u;
        for (let c = 0; c < k; c++) w[o + c] = (w[o + c] as number) - v * (p[c] as number);
      }
      for (let c = 0; c < k; c++) b[c] = (b[c] as number) - lr * (p[c] as number);
    }
    if (scale < 1e-3) {
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) * scale;
      scale = 1;
    }
    await tick();
  }

  // Quantise per label: int8 keeps BANKING77's 77 labels × ~16k features near 1.3 MB with no loss in accuracy.
  const maxAbs = new Float64Array(k);
  for (let i = 0; i < w.length; i++) {
    const c = i % k;
    const a = Math.abs((w[i] as number) * scale);
    if (a > (maxAbs[c] as number)) maxAbs[c] = a;
  }
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const m = maxAbs[i % k] as number;
    q[i] = m > 0 ? Math.round(((w[i] as number) * scale * 127) / m) : 0;
  }
  return {
    kind: CLASSIFIER_KIND,
    version: 1,
    algorithm: 'tfidf-logreg',
    id: hashExamples(examples, options),
    labels,
    features: { wordNgrams: [1, 2], charNgrams: [CHAR_MIN, CHAR_MAX] },
    vocabulary,
    idf: toBase64(idf),
    weights: toBase64(q),
    scale: [...maxAbs],
    bias: [...b],
    training: { examples: n, trainingMs: Math.round(performance.now() - started), epochs },
  };
}

/** Decodes and checks an artefact; a malformed one is INVALID_ARTIFACT. */
export function loadClassifier(value: unknown): LoadedClassifier {
  const parsed = classifierArtifactSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NodeError(
      `not a text classifier artefact${issue ? ` (${issue.path.join('.') || 'root'}: ${issue.message})` : ''}`,
      'INVALID_ARTIFACT',
    );
  }
  const a = parsed.data;
  const k = a.labels.length;
  const f = a.vocabulary.length;
  const idfBytes = Buffer.from(a.idf, 'base64');
  const wBytes = Buffer.from(a.weights, 'base64');
  if (idfBytes.length !== f * 4 || wBytes.length !== f * k || a.scale.length !== k || a.bias.length !== k)
    throw new NodeError('the classifier artefact is truncated or inconsistent', 'INVALID_ARTIFACT');
  const idf = new Float32Array(f);
  for (let i = 0; i < f; i++) idf[i] = idfBytes.readFloatLE(i * 4);
  const weights = new Float32Array(f * k);
  for (let i = 0; i < weights.length; i++)
    weights[i] = ((wBytes.readInt8(i) as number) / 127) * (a.scale[i % k] as number);
  return {
    artifact: a,
    labels: a.labels,
    vocab: new Map(a.vocabulary.map((v, i) => [v, i])),
    idf,
    weights,
    bias: Float64Array.from(a.bias),
  };
}

/** Label probabilities for a text, best first. */
export function predict(model: LoadedClassifier, text: string, top = 3): Prediction {
  const k = model.labels.length;
  const { idx, val } = vectorize(textFeatures(text), model.vocab, model.idf);
  const scores = Float64Array.from(model.bias);
  for (let j = 0; j < idx.length; j++) {
    const o = (idx[j] as number) * k;
    const v = val[j] as number;
    for (let c = 0; c < k; c++) scores[c] = (scores[c] as number) + v * (model.weights[o + c] as number);
  }
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  let sum = 0;
  for (let c = 0; c < k; c++) sum += scores[c] = Math.exp((scores[c] as number) - max);
  const ranked = model.labels
    .map((label, c) => ({ label, confidence: (scores[c] as number) / sum }))
    .sort((a, b) => b.confidence - a.confidence);
  const best = ranked[0] as { label: string; confidence: number };
  return { label: best.label, confidence: best.confidence, alternatives: ranked.slice(1, 1 + top) };
}
