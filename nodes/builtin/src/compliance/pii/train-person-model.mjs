// Trains the PERSON recognisers' weights (person-weights.ts) on the development split of
// datasets/pii-conversational: an L2-regularised logistic regression over each candidate span's evidence
// features (person-model.ts), the label being whether the candidate is exactly a gold PERSON span, shrunk towards
// the hand-set prior weights. Chinese candidates that start at the same surname compete (a conditional logit:
// at most one of 张, 张先, 张先生 is the name). Newton's method from the prior, three rounds (the second-stage features, a repeated
// name and a list neighbour, depend on the first-stage weights). The regularisation strength is chosen by 5-fold
// cross-validation over texts, scored end to end (detectPii, exact spans); the prior and the learned weights are
// both reported on the same folds. Deterministic: no randomness, folds by position.
// Run: npx tsc -b nodes/builtin && node nodes/builtin/src/compliance/pii/train-person-model.mjs
// The test split is never read here.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  CN_FEATURES,
  CN_PRIOR,
  CN_WEIGHTS,
  EN_FEATURES,
  EN_PRIOR,
  EN_WEIGHTS,
} from '../../../dist/compliance/pii/person-model.js';
import { chinesePersonCandidates, englishPersonCandidates } from '../../../dist/compliance/pii/person.js';
import { segment, simplified } from '../../../dist/compliance/pii/segmenter.js';
import { detectPii } from '../../../dist/compliance/pii/detect.js';
import { evaluateSpans } from '../../../dist/compliance/pii/evaluate.js';

const DEV = new URL('../../../../../datasets/pii-conversational/dev.jsonl', import.meta.url);
const NOW = new Date('2025-06-01T00:00:00Z');
const records = readFileSync(DEV, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const HAN = /[\u3400-\u9fff]/;
// Segment once: the segmentation does not depend on the weights.
const prepared = records.map((r) => {
  const chinese = HAN.test(r.text);
  const norm = chinese ? simplified(r.text) : r.text;
  return { record: r, chinese, norm, segments: chinese ? segment(norm) : undefined };
});

const priorCn = Float64Array.from(CN_FEATURES, (n) => CN_PRIOR[n]);
const priorEn = Float64Array.from(EN_FEATURES, (n) => EN_PRIOR[n]);

/** The candidates of the given texts as rows (x, y), the second-stage features computed under `weights`. */
function rows(items, lang, weights) {
  const out = [];
  for (const { record, chinese, norm, segments } of items) {
    const gold = new Set(record.spans.filter((s) => s.label === 'PERSON').map((s) => `${s.start}:${s.end}`));
    const candidates =
      lang === 'cn'
        ? chinese
          ? chinesePersonCandidates(norm, segments, weights)
          : []
        : englishPersonCandidates(record.text, weights);
    // Chinese candidates compete by length at each surname (张, 张先, 张先生): one group per start, with the
    // option of no name (logit 0). English candidates are one per run: groups of one.
    const groups = new Map();
    for (const c of candidates) {
      const key = lang === 'cn' ? c.start : `${c.start}:${c.end}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ x: c.x, y: gold.has(`${c.start}:${c.end}`) ? 1 : 0 });
    }
    out.push(...groups.values());
  }
  return out;
}

/** Solves A z = b (A symmetric positive definite) by Cholesky. */
function solve(A, b) {
  const n = b.length;
  const L = A.map((row) => row.slice());
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) L[j][j] -= L[j][k] * L[j][k];
    L[j][j] = Math.sqrt(L[j][j]);
    for (let i = j + 1; i < n; i++) {
      for (let k = 0; k < j; k++) L[i][j] -= L[i][k] * L[j][k];
      L[i][j] /= L[j][j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i][k] * y[k];
    y[i] = s / L[i][i];
  }
  const z = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k][i] * z[k];
    z[i] = s / L[i][i];
  }
  return z;
}

/**
 * Newton's method for the penalised conditional log-likelihood, from the prior: in each group at most one
 * candidate is the name, P(c) = exp(z_c) / (1 + sum exp(z)), the 1 being "no name here". A group of one is
 * ordinary logistic regression.
 */
function fit(groups, prior, lambda) {
  const n = prior.length;
  const w = Float64Array.from(prior);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Float64Array(n);
    const H = Array.from({ length: n }, () => new Float64Array(n));
    for (let j = 0; j < n; j++) {
      grad[j] = lambda * (w[j] - prior[j]);
      H[j][j] = lambda;
    }
    for (const group of groups) {
      const e = group.map(({ x }) => {
        let z = 0;
        for (let j = 0; j < n; j++) z += w[j] * x[j];
        return Math.exp(Math.min(z, 50));
      });
      const total = 1 + e.reduce((a, b) => a + b, 0);
      const mean = new Float64Array(n);
      group.forEach(({ x, y }, c) => {
        const p = e[c] / total;
        for (let j = 0; j < n; j++) {
          if (x[j] === 0) continue;
          grad[j] += (p - y) * x[j];
          mean[j] += p * x[j];
          for (let k = 0; k < n; k++) if (x[k] !== 0) H[j][k] += p * x[j] * x[k];
        }
      });
      for (let j = 0; j < n; j++) {
        if (mean[j] === 0) continue;
        for (let k = 0; k < n; k++) H[j][k] -= mean[j] * mean[k];
      }
    }
    const step = solve(H, grad);
    let size = 0;
    for (let j = 0; j < n; j++) {
      w[j] -= step[j];
      size = Math.max(size, Math.abs(step[j]));
    }
    if (size < 1e-8) break;
  }
  return w;
}

/** Three rounds: features under the current weights, then a fit. */
function train(items, lambda) {
  let cn = priorCn;
  let en = priorEn;
  for (let round = 0; round < 3; round++) {
    cn = fit(rows(items, 'cn', cn), priorCn, lambda);
    en = fit(rows(items, 'en', en), priorEn, lambda);
  }
  return { cn, en };
}

/** End-to-end PERSON precision, recall and F1 of the given weights on the given texts. */
function score(items, weights) {
  CN_WEIGHTS.set(weights.cn);
  EN_WEIGHTS.set(weights.en);
  const e = evaluateSpans(
    items.map((i) => i.record),
    // Without the span-boundary model: it is trained after this one (train-boundary-model.mjs), on its weights.
    (text) => detectPii(text, { now: NOW, boundaryModel: false }),
  );
  const s = e.perType.find((t) => t.type === 'PERSON');
  return { tp: s.truePositives, found: s.found, gold: s.gold };
}

const FOLDS = 5;
const folds = Array.from({ length: FOLDS }, (_, k) => prepared.filter((_, i) => i % FOLDS === k));
const rest = (k) => prepared.filter((_, i) => i % FOLDS !== k);
const summary = (t) => {
  const p = t.tp / t.found;
  const r = t.tp / t.gold;
  return { precision: p, recall: r, f1: (2 * p * r) / (p + r) };
};
const add = (a, b) => ({ tp: a.tp + b.tp, found: a.found + b.found, gold: a.gold + b.gold });
const zero = { tp: 0, found: 0, gold: 0 };

const fmt = (s) => `P ${s.precision.toFixed(3)} R ${s.recall.toFixed(3)} F1 ${s.f1.toFixed(3)}`;
let priorTotal = zero;
for (let k = 0; k < FOLDS; k++) priorTotal = add(priorTotal, score(folds[k], { cn: priorCn, en: priorEn }));
console.log(`prior (hand-set) weights, 5 folds: ${fmt(summary(priorTotal))}`);
const results = [];
for (const lambda of [0.1, 0.3, 1, 3, 10, 30]) {
  let total = zero;
  for (let k = 0; k < FOLDS; k++) total = add(total, score(folds[k], train(rest(k), lambda)));
  results.push({ lambda, ...summary(total) });
  console.log(`learned, lambda ${lambda}, 5 folds: ${fmt(summary(total))}`);
}
const best = results.reduce((a, b) => (b.f1 > a.f1 ? b : a));
const final = train(prepared, best.lambda);
const round = (v) => Math.round(v * 1000) / 1000;
const entries = (names, w) => names.map((n, i) => `  ${n}: ${round(w[i])},`).join('\n');
const out = `/**
 * Generated by train-person-model.mjs from the development split of datasets/pii-conversational (${records.length} texts);
 * do not edit by hand. L2-regularised logistic regression towards the prior weights in person-model.ts, lambda
 * ${best.lambda} (chosen by 5-fold cross-validation over texts, end-to-end PERSON exact spans):
 * prior weights ${fmt(summary(priorTotal))}; learned ${fmt(best)}.
 */
import type { CnFeature, EnFeature } from './person-model.js';

export const CN_PERSON_WEIGHTS: Partial<Record<CnFeature, number>> = {
${entries(CN_FEATURES, final.cn)}
};

export const EN_PERSON_WEIGHTS: Partial<Record<EnFeature, number>> = {
${entries(EN_FEATURES, final.en)}
};
`;
writeFileSync(new URL('./person-weights.ts', import.meta.url), out);
console.log(`lambda ${best.lambda}; person-weights.ts written`);
