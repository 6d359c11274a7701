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

  it('read the dev texts as the training script does (feature names), through lookup tables built from them', () => {
    const records = readDataset('pii-conversational/dev.jsonl')
      .trim()
      .split('\n')
      .slice(0, 60)
      .map((line) => JSON.parse(line) as { text: string });
    const trans = transitionMatrix(weights.transitions.flat());
    let spans = 0;
    for (const { text } of records) {
      const norm = simplified(text);
      const segments = /[\u3400-\u9fff]/.test(text) ? segment(norm) : undefined;
      const tokens = tokenize(text);
      const emit = new Float64Array(tokens.length * L);
      tokenFeatures(text, norm, tokens, segments).forEach((names, i) => {
        for (const name of names)
          weights.features[name]?.forEach((v, y) => (emit[i * L + y] = (emit[i * L + y] as number) + v));
      });
      const labels = viterbi(emit, tokens.length, trans);
      const byName: string[] = [];
      labels.forEach((y, i) => {
        if (y === 1 || y === 3) byName.push(`${y}:${(tokens[i] as { start: number }).start}`);
      });
      const byTables = analyzeBoundaries(text, norm, segments).spans.map(
        (s) => `${s.type === 'PERSON' ? 1 : 3}:${s.start}`,
      );
      expect(byTables).toEqual(byName);
      spans += byName.length;
    }
    expect(spans).toBeGreaterThan(80);
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
    PERSON: { adjustMargin: Infinity, addThreshold: Infinity },
    ADDRESS: { adjustMargin: margin, addThreshold: add },
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

  it('adds a span the recognisers missed only above the threshold', () => {
    expect(combineWithBoundaries(text, [], analysis, policy(Infinity, 0.95))).toEqual([]);
    expect(combineWithBoundaries(text, [], analysis, policy(Infinity, 0.8)).map((f) => f.text)).toEqual([
      '上海市静安区愚园路1258弄23号502室',
    ]);
  });
});
