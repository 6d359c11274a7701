/**
 * The span-boundary model: the forward-backward span probabilities against brute force over every labelling,
 * the checked-in weights file (its shape and size), what the model reads on its own in a bank chat, and how its
 * spans join the recognisers' findings.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowed, BOUNDARY_LABELS, tokenFeatures, tokenize } from './boundary-features.js';
import {
  analyzeBoundaries,
  boundaryPolicy,
  compileWeights,
  forwardBackward,
  spanMarginal,
  transitionMatrix,
  viterbi,
  type BoundaryAnalysis,
  type BoundaryWeights,
} from './boundary-model.js';
import { combineWithBoundaries, OFF, type CombinePolicy } from './boundary-combine.js';
import type { PiiEntity } from './detect.js';
import { segment, simplified } from './segmenter.js';
import { readDataset } from '../test-helpers/datasets.js';

const L = BOUNDARY_LABELS.length;

/** Every labelling of n tokens that the BIO constraints allow, with its unnormalised log score. */
function* labellings(
  emit: Float64Array,
  n: number,
  trans: Float64Array,
  prefix: number[] = [],
): Generator<[number[], number]> {
  if (prefix.length === n) {
    let s = 0;
    prefix.forEach((y, i) => {
      s += (trans[(i === 0 ? L : (prefix[i - 1] as number)) * L + y] as number) + (emit[i * L + y] as number);
    });
    if (Number.isFinite(s)) yield [prefix, s];
    return;
  }
  for (let y = 0; y < L; y++)
    if (allowed(prefix.length ? prefix[prefix.length - 1] : undefined, y))
      yield* labellings(emit, n, trans, [...prefix, y]);
}

/** Forward-backward in log space, term by term: the reference the scaled one in boundary-model.ts must match. */
function logSpaceForwardBackward(emit: Float64Array, n: number, trans: Float64Array) {
  const lse = (v: number[]) => {
    const m = Math.max(...v);
    return m === -Infinity ? m : m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  const alpha = new Float64Array(n * L);
  const beta = new Float64Array(n * L);
  for (let y = 0; y < L; y++) alpha[y] = (trans[L * L + y] as number) + (emit[y] as number);
  for (let i = 1; i < n; i++)
    for (let y = 0; y < L; y++)
      alpha[i * L + y] =
        lse(
          Array.from(
            { length: L },
            (_, a) => (alpha[(i - 1) * L + a] as number) + (trans[a * L + y] as number),
          ),
        ) + (emit[i * L + y] as number);
  for (let i = n - 2; i >= 0; i--)
    for (let a = 0; a < L; a++)
      beta[i * L + a] = lse(
        Array.from(
          { length: L },
          (_, b) =>
            (trans[a * L + b] as number) +
            (emit[(i + 1) * L + b] as number) +
            (beta[(i + 1) * L + b] as number),
        ),
      );
  const logZ = n ? lse(Array.from(alpha.subarray((n - 1) * L, n * L))) : 0;
  return { alpha, beta, logZ };
}

describe('forward-backward span probabilities', () => {
  // Fixed pseudo-random scores: the same every run.
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
  const n = 5;
  const emit = Float64Array.from({ length: n * L }, rand);
  const trans = transitionMatrix(Float64Array.from({ length: (L + 1) * L }, rand));
  const all = [...labellings(emit, n, trans)];
  const z = all.reduce((s, [, score]) => s + Math.exp(score), 0);
  const lattice = forwardBackward(emit, n, trans);

  it('normalise over every allowed labelling', () => {
    expect(Math.exp(lattice.logZ)).toBeCloseTo(z, 8);
  });

  it('give the probability that exactly tokens i..j are one entity, as enumeration does', () => {
    for (const b of [1, 3])
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) {
          const exact = all
            .filter(
              ([y]) => y[i] === b && y.slice(i + 1, j + 1).every((v) => v === b + 1) && y[j + 1] !== b + 1,
            )
            .reduce((s, [, score]) => s + Math.exp(score), 0);
          expect(spanMarginal(lattice, i, j, b)).toBeCloseTo(exact / z, 10);
        }
  });

  it('match the term-by-term log-space computation on a long lattice (no underflow from scaling)', () => {
    const long = 400;
    const e = Float64Array.from({ length: long * L }, () => rand() * 8);
    const reference = logSpaceForwardBackward(e, long, trans);
    const scaled = forwardBackward(e, long, trans);
    expect(scaled.logZ).toBeCloseTo(reference.logZ, 8);
    for (let k = 0; k < long * L; k += 37) {
      expect(scaled.alpha[k]).toBeCloseTo(reference.alpha[k] as number, 6);
      expect(scaled.beta[k]).toBeCloseTo(reference.beta[k] as number, 6);
    }
  });

  it('decode the single best labelling (Viterbi)', () => {
    const best = all.reduce((a, b) => (b[1] > a[1] ? b : a));
    expect([...viterbi(emit, n, trans)]).toEqual(best[0]);
  });
});

describe('the checked-in weights', () => {
  const file = readFileSync(new URL('./boundary-weights.json', import.meta.url), 'utf8');
  const weights = JSON.parse(file) as BoundaryWeights;

  it('are a small file in the labels the code reads, with the chosen policy', () => {
    expect(weights.labels).toEqual([...BOUNDARY_LABELS]);
    expect(weights.transitions).toHaveLength(L + 1);
    expect(Object.keys(weights.features).length).toBeGreaterThan(1_000);
    expect(file.length).toBeLessThan(600 * 1024);
    expect(Object.keys(boundaryPolicy())).toEqual(['PERSON', 'ADDRESS']);
  });

  it('carry the doubt floor the training script chose by cross-validation into the policy (none: the default)', () => {
    const person = weights.combine.PERSON;
    expect(boundaryPolicy().PERSON.doubtFloor).toBe(person.doubtFloor);
    const without = { ...person };
    delete without.doubtFloor;
    const read = (p: typeof person) =>
      compileWeights({ ...weights, combine: { ...weights.combine, PERSON: p } }).policy.PERSON;
    expect(read(without).doubtFloor).toBeUndefined();
    expect(read({ ...without, doubtFloor: 0.3 }).doubtFloor).toBe(0.3);
  });

  it('read a Chinese address and a name in a chat to their first and last elements on their own', () => {
    const text =
      '客户：我搬家了，新地址是浙江省杭州市西湖区文三路478号华星时代广场A座1506室，收件人写我同事褚文涛。';
    const norm = simplified(text);
    const found = analyzeBoundaries(text, norm, segment(norm)).spans.map((s) => [
      s.type,
      text.slice(s.start, s.end),
    ]);
    expect(found).toContainEqual(['ADDRESS', '浙江省杭州市西湖区文三路478号华星时代广场A座1506室']);
    expect(found).toContainEqual(['PERSON', '褚文涛']);
  });

  it('read an English address through its unit, city, state and ZIP', () => {
    const text =
      'Please send the card to Apartment 4C, 221 East 71st Street, New York, NY 10021 rather than the office.';
    const found = analyzeBoundaries(text, text, undefined).spans.map((s) => [
      s.type,
      text.slice(s.start, s.end),
    ]);
    expect(found).toContainEqual(['ADDRESS', 'Apartment 4C, 221 East 71st Street, New York, NY 10021']);
  });

  it('read every dev text as the training script does (feature names), through the indexed tables: same spans, same probabilities', () => {
    const records = readDataset('pii-conversational/dev.jsonl')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { text: string });
    const trans = transitionMatrix(weights.transitions.flat());
    let spans = 0;
    let worst = 0;
    for (const { text } of records) {
      const norm = simplified(text);
      const segments = /[\u3400-\u9fff]/.test(text) ? segment(norm) : undefined;
      const tokens = tokenize(text);
      const n = tokens.length;
      const emit = new Float64Array(n * L);
      tokenFeatures(text, norm, tokens, segments).forEach((names, i) => {
        for (const name of names)
          weights.features[name]?.forEach((v, y) => (emit[i * L + y] = (emit[i * L + y] as number) + v));
      });
      const labels = viterbi(emit, n, trans);
      const { alpha, beta, logZ } = logSpaceForwardBackward(emit, n, trans);
      const byName: string[] = [];
      for (let i = 0; i < n; i++) {
        const y = labels[i] as number;
        if (y !== 1 && y !== 3) continue;
        let j = i;
        while (j + 1 < n && labels[j + 1] === y + 1) j++;
        const lattice = { n, emit, trans, alpha, beta, logZ };
        byName.push(
          `${y}:${(tokens[i] as { start: number }).start}-${(tokens[j] as { end: number }).end}:${spanMarginal(lattice, i, j, y)}`,
        );
        i = j;
      }
      const byTables = analyzeBoundaries(text, norm, segments).spans;
      expect(byTables.map((s) => `${s.type === 'PERSON' ? 1 : 3}:${s.start}-${s.end}`)).toEqual(
        byName.map((k) => k.slice(0, k.lastIndexOf(':'))),
      );
      byTables.forEach((s, k) => {
        const reference = Number((byName[k] as string).slice((byName[k] as string).lastIndexOf(':') + 1));
        worst = Math.max(worst, Math.abs(s.probability - reference));
      });
      spans += byName.length;
    }
    expect(records.length).toBeGreaterThan(500);
    expect(spans).toBeGreaterThan(1_000);
    expect(worst).toBeLessThan(1e-9);
  });

  it('tokenise with offsets that slice back to the text', () => {
    const text = "Flat 12B，愚园路1258弄 O'Connell\n(415) 762-4418";
    const tokens = tokenize(text).map((t) => text.slice(t.start, t.end));
    expect(tokens).toEqual([
      'Flat',
      '12',
      'B',
      '，',
      '愚',
      '园',
      '路',
      '1258',
      '弄',
      'O',
      "'",
      'Connell',
      '(',
      '415',
      ')',
      '762',
      '-',
      '4418',
    ]);
  });
});

describe('joining the recognisers', () => {
  const text = '地址：上海市静安区愚园路1258弄23号502室附近';
  const full = { start: 3, end: 24 };
  const cut = { start: 3, end: 17 };
  /** A model that is sure of the full address and gives the cut one little. */
  const analysis: BoundaryAnalysis = {
    tokens: tokenize(text),
    spans: [{ type: 'ADDRESS', ...full, probability: 0.9 }],
    probability: (type, start, end) =>
      type === 'ADDRESS' && start === full.start ? (end === full.end ? 0.9 : end === cut.end ? 0.05 : 0) : 0,
  };
  const finding = (span: { start: number; end: number }): PiiEntity => ({
    type: 'ADDRESS',
    ...span,
    text: text.slice(span.start, span.end),
    score: 0.8,
  });
  const policy = (margin: number, add = Infinity): CombinePolicy => ({
    PERSON: { adjustMargin: Infinity, addThreshold: Infinity, agreeThreshold: Infinity },
    ADDRESS: { adjustMargin: margin, addThreshold: add, agreeThreshold: Infinity },
  });

  it("moves an address's last element where the model is surer by the margin, and takes the model's score", () => {
    const [moved] = combineWithBoundaries(text, [finding(cut)], analysis, policy(0.5));
    expect(moved).toMatchObject({ text: '上海市静安区愚园路1258弄23号502室', score: 0.9 });
  });

  it('leaves the finding where the gain is below the margin, and everything when off', () => {
    expect(combineWithBoundaries(text, [finding(cut)], analysis, policy(0.9))[0]?.text).toBe(
      '上海市静安区愚园路1258弄',
    );
    expect(combineWithBoundaries(text, [finding(cut)], analysis, OFF)).toEqual([finding(cut)]);
  });

  it('never moves a boundary into another finding', () => {
    const other: PiiEntity = { type: 'PHONE_NUMBER', start: 20, end: 23, text: '502', score: 0.9 };
    const out = combineWithBoundaries(text, [finding(cut), other], analysis, policy(0.5));
    expect(out.map((f) => f.text)).toEqual(['上海市静安区愚园路1258弄', '502']);
  });

  it('adds a name the person model doubted where the model agrees, never over another finding', () => {
    const en = 'Please ask Wen to call.';
    const wen = { start: 11, end: 14 };
    const doubted: PiiEntity = { type: 'PERSON', ...wen, text: 'Wen', score: 0.4 };
    const agrees: BoundaryAnalysis = {
      tokens: tokenize(en),
      spans: [],
      probability: (type, start, end) =>
        type === 'PERSON' && start === wen.start && end === wen.end ? 0.5 : 0,
    };
    const agree = (threshold: number): CombinePolicy => ({
      PERSON: { adjustMargin: Infinity, addThreshold: Infinity, agreeThreshold: threshold },
      ADDRESS: { adjustMargin: Infinity, addThreshold: Infinity, agreeThreshold: Infinity },
    });
    // 1 - (1 - 0.4)(1 - 0.5) = 0.7: added at a threshold of 0.7, not at 0.75, nor with the setting off.
    expect(combineWithBoundaries(en, [], agrees, agree(0.7), [doubted])).toEqual([
      { ...doubted, score: 0.7 },
    ]);
    expect(combineWithBoundaries(en, [], agrees, agree(0.75), [doubted])).toEqual([]);
    expect(combineWithBoundaries(en, [], agrees, OFF, [doubted])).toEqual([]);
    const other: PiiEntity = { type: 'ADDRESS', start: 11, end: 22, text: en.slice(11, 22), score: 0.9 };
    expect(combineWithBoundaries(en, [other], agrees, agree(0.5), [doubted])).toEqual([other]);
  });

  it('adds a span the recognisers missed only above the threshold', () => {
    expect(combineWithBoundaries(text, [], analysis, policy(Infinity, 0.95))).toEqual([]);
    expect(combineWithBoundaries(text, [], analysis, policy(Infinity, 0.8)).map((f) => f.text)).toEqual([
      '上海市静安区愚园路1258弄23号502室',
    ]);
  });
});
