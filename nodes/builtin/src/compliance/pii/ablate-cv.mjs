// Ablation by 5-fold cross-validation over the dev texts of datasets/pii-conversational, both learned parts held
// out: for each fold the person model (train-person-model.mjs's fit, lambda 0.3) and the span-boundary model
// (train-boundary-model.mjs's CRF) are trained on the other four folds, and detectPii's exact spans are counted
// on the fold. One arm a run; arms differ in the recognisers' build (--build, a directory under dist/compliance:
// `pii` is this tree; another holds a build of other recognisers), the person model's features (--person 6, or 5:
// without round 6's ordinary-English-word feature and holiday list) and the span-boundary model's setting and join
// (--crf 6: cut-off 0.3 with round 6's join; 5: cut-off 0.15 with round 5's join; 7: cut-off 0.3 with the join
// in boundary-weights.json). Prints the pooled and per-fold counts and the texts without personal data that get a
// finding, as one JSON line at the end.
// Run: npx tsc -b nodes/builtin && node nodes/builtin/src/compliance/pii/ablate-cv.mjs --build pii --person 6 --crf 6
// The test splits are never read here.
import { readFileSync } from 'node:fs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const BUILD = arg('--build', 'pii');
const PERSON = arg('--person', '6');
const CRF = arg('--crf', '6');
const base = new URL(`../../../dist/compliance/${BUILD}/`, import.meta.url);
const load = (name) => import(new URL(name, base).href);
const { BOUNDARY_LABELS, tokenFeatures, tokenize } = await load('boundary-features.js');
const { forwardBackward, transitionMatrix, useBoundaryWeights } = await load('boundary-model.js');
const { segment, simplified } = await load('segmenter.js');
const { detectPii } = await load('detect.js');
const { evaluateSpans } = await load('evaluate.js');
const { CN_FEATURES, CN_PRIOR, CN_WEIGHTS, EN_FEATURES, EN_PRIOR, EN_WEIGHTS } =
  await load('person-model.js');
const { chinesePersonCandidates, englishPersonCandidates } = await load('person.js');
const lexicons = await load('lexicons.js');

const DEV = new URL('../../../../../datasets/pii-conversational/dev.jsonl', import.meta.url);
const NOW = new Date('2025-06-01T00:00:00Z');
const HAN = /[\u3400-\u9fff]/;
const L = BOUNDARY_LABELS.length;
const records = readFileSync(DEV, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

// Round 5's person model: no ordinary-word feature (its column is held at 0) and no holiday list.
const dropped = PERSON === '5' ? EN_FEATURES.indexOf('ordinary') : -1;
if (PERSON === '5' && lexicons.EN_HOLIDAYS) lexicons.EN_HOLIDAYS.clear();

const prepared = records.map((record) => {
  const chinese = HAN.test(record.text);
  const norm = chinese ? simplified(record.text) : record.text;
  const segments = chinese ? segment(norm) : undefined;
  const tokens = tokenize(record.text);
  const feats = tokenFeatures(record.text, norm, tokens, segments);
  const gold = new Uint8Array(tokens.length);
  for (const s of record.spans) {
    if (s.label !== 'PERSON' && s.label !== 'ADDRESS') continue;
    const b = s.label === 'PERSON' ? 1 : 3;
    const inside = tokens.map((t, i) => [t, i]).filter(([t]) => t.start >= s.start && t.end <= s.end);
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (!first || first[0].start !== s.start || last[0].end !== s.end) continue;
    inside.forEach(([, i], k) => (gold[i] = k === 0 ? b : b + 1));
  }
  return { record, chinese, norm, segments, tokens, feats, gold };
});

// --- the person model (as train-person-model.mjs) ---
const priorCn = Float64Array.from(CN_FEATURES, (n) => CN_PRIOR[n]);
const priorEn = Float64Array.from(EN_FEATURES, (n) => (EN_FEATURES.indexOf(n) === dropped ? 0 : EN_PRIOR[n]));
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
    const groups = new Map();
    for (const c of candidates) {
      const key = lang === 'cn' ? c.start : `${c.start}:${c.end}`;
      if (!groups.has(key)) groups.set(key, []);
      const x = Float64Array.from(c.x);
      if (lang === 'en' && dropped >= 0) x[dropped] = 0;
      groups.get(key).push({ x, y: gold.has(`${c.start}:${c.end}`) ? 1 : 0 });
    }
    out.push(...groups.values());
  }
  return out;
}
function solve(A, b) {
  const n = b.length;
  const C = A.map((row) => row.slice());
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) C[j][j] -= C[j][k] * C[j][k];
    C[j][j] = Math.sqrt(C[j][j]);
    for (let i = j + 1; i < n; i++) {
      for (let k = 0; k < j; k++) C[i][j] -= C[i][k] * C[j][k];
      C[i][j] /= C[j][j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= C[i][k] * y[k];
    y[i] = s / C[i][i];
  }
  const z = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= C[k][i] * z[k];
    z[i] = s / C[i][i];
  }
  return z;
}
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
function trainPerson(items) {
  let cn = priorCn;
  let en = priorEn;
  for (let round = 0; round < 3; round++) {
    cn = fit(rows(items, 'cn', cn), priorCn, 0.3);
    en = fit(rows(items, 'en', en), priorEn, 0.3);
  }
  return { cn, en };
}

// --- the span-boundary model (as train-boundary-model.mjs) ---
function shuffled(items, seed) {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
function trainCrf(items, { l2, minCount, prune, epochs = 12, rate = 0.1 }) {
  const counts = new Map();
  for (const it of items)
    for (const f of it.feats) for (const name of f) counts.set(name, (counts.get(name) ?? 0) + 1);
  const index = new Map();
  for (const [name, c] of counts) if (c >= minCount) index.set(name, index.size);
  const seqs = items.map((it) => ({
    gold: it.gold,
    ids: it.feats.map((f) => f.map((name) => index.get(name)).filter((i) => i !== undefined)),
  }));
  const w = new Float64Array(index.size * L);
  const g2 = new Float64Array(index.size * L).fill(1e-8);
  const t = new Float64Array((L + 1) * L);
  const tg2 = new Float64Array((L + 1) * L).fill(1e-8);
  const reg = l2 / seqs.length;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const seq of shuffled(seqs, 17 + epoch)) {
      const n = seq.gold.length;
      if (!n) continue;
      const trans = transitionMatrix(t);
      const emit = new Float64Array(n * L);
      for (let i = 0; i < n; i++)
        for (const f of seq.ids[i]) for (let y = 0; y < L; y++) emit[i * L + y] += w[f * L + y];
      const lat = forwardBackward(emit, n, trans);
      const grad = new Map();
      const tgrad = new Float64Array((L + 1) * L);
      for (let i = 0; i < n; i++) {
        const node = new Float64Array(L);
        for (let y = 0; y < L; y++) node[y] = Math.exp(lat.alpha[i * L + y] + lat.beta[i * L + y] - lat.logZ);
        const gy = seq.gold[i];
        for (const f of seq.ids[i]) {
          let gf = grad.get(f);
          if (!gf) grad.set(f, (gf = new Float64Array(L)));
          for (let y = 0; y < L; y++) gf[y] += node[y] - (y === gy ? 1 : 0);
        }
        if (i === 0) {
          for (let y = 0; y < L; y++) tgrad[L * L + y] += node[y];
          tgrad[L * L + gy] -= 1;
        } else {
          for (let a = 0; a < L; a++)
            for (let b = 0; b < L; b++) {
              const tr = trans[a * L + b];
              if (tr === -Infinity) continue;
              tgrad[a * L + b] += Math.exp(
                lat.alpha[(i - 1) * L + a] + tr + emit[i * L + b] + lat.beta[i * L + b] - lat.logZ,
              );
            }
          tgrad[seq.gold[i - 1] * L + gy] -= 1;
        }
      }
      for (const [f, gf] of grad)
        for (let y = 0; y < L; y++) {
          const k = f * L + y;
          const gk = gf[y] + reg * w[k];
          g2[k] += gk * gk;
          w[k] -= (rate * gk) / Math.sqrt(g2[k]);
        }
      for (let k = 0; k < t.length; k++) {
        const gk = tgrad[k] + reg * t[k];
        tg2[k] += gk * gk;
        t[k] -= (rate * gk) / Math.sqrt(tg2[k]);
      }
    }
  }
  const round = (v) => Math.round(v * 100) / 100;
  const features = {};
  for (const [name, i] of index) {
    const v = Array.from(w.subarray(i * L, i * L + L), round);
    if (Math.max(...v.map(Math.abs)) >= prune) features[name] = v;
  }
  const transitions = [];
  for (let a = 0; a <= L; a++) transitions.push(Array.from(t.subarray(a * L, a * L + L), round));
  return { version: 1, labels: [...BOUNDARY_LABELS], transitions, features };
}
// The settings and joins each round shipped (boundary-weights.json at 33165e4 and at 162c10c).
const CRF_SETTINGS = {
  5: {
    model: { l2: 1, minCount: 3, prune: 0.15 },
    combine: {
      PERSON: { adjustMargin: 0.7, addThreshold: 0.7, agreeThreshold: 0.6 },
      ADDRESS: { adjustMargin: 0.7, addThreshold: 0.7, agreeThreshold: null },
    },
  },
  6: {
    model: { l2: 1, minCount: 3, prune: 0.3 },
    combine: {
      PERSON: { adjustMargin: null, addThreshold: 0.7, agreeThreshold: 0.6, doubtFloor: 0.02 },
      ADDRESS: { adjustMargin: 0.5, addThreshold: 0.5, agreeThreshold: null },
    },
  },
};

// 7: this round's, the setting and join train-boundary-model.mjs chose and wrote (cut-off 0.3 on 704 texts).
CRF_SETTINGS[7] = {
  model: { l2: 1, minCount: 3, prune: 0.3 },
  combine: JSON.parse(readFileSync(new URL('./boundary-weights.json', import.meta.url), 'utf8')).combine,
};

const FOLDS = 5;
const zero = () => ({ tp: 0, found: 0, gold: 0 });
const add = (a, b) => ({ tp: a.tp + b.tp, found: a.found + b.found, gold: a.gold + b.gold });
const perFold = [];
const { model, combine } = CRF_SETTINGS[CRF];
for (let k = 0; k < FOLDS; k++) {
  const train = prepared.filter((_, i) => i % FOLDS !== k);
  const test = prepared.filter((_, i) => i % FOLDS === k);
  const person = trainPerson(train);
  CN_WEIGHTS.set(person.cn);
  EN_WEIGHTS.set(person.en);
  useBoundaryWeights({ ...trainCrf(train, model), combine });
  const fold = { PERSON: zero(), ADDRESS: zero(), noPii: 0, noPiiHit: 0 };
  for (const { record } of test) {
    const findings = detectPii(record.text, { now: NOW });
    const e = evaluateSpans([record], () => findings);
    for (const type of ['PERSON', 'ADDRESS']) {
      const s = e.perType.find((t) => t.type === type);
      fold[type] = add(fold[type], { tp: s?.truePositives ?? 0, found: s?.found ?? 0, gold: s?.gold ?? 0 });
    }
    if (record.spans.length === 0) {
      fold.noPii++;
      if (findings.length) fold.noPiiHit++;
    }
  }
  perFold.push(fold);
  console.error(`fold ${k}: ${JSON.stringify(fold)}`);
}
const total = perFold.reduce((a, f) => ({
  PERSON: add(a.PERSON, f.PERSON),
  ADDRESS: add(a.ADDRESS, f.ADDRESS),
  noPii: a.noPii + f.noPii,
  noPiiHit: a.noPiiHit + f.noPiiHit,
}));
console.log(JSON.stringify({ build: BUILD, person: PERSON, crf: CRF, total, perFold }));
