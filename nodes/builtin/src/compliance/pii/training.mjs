// The training shared by train-boundary-model.mjs, train-person-model.mjs and ablate-cv.mjs: the span-boundary
// model's CRF (AdaGrad over texts in a fixed shuffle) and the person model's penalised conditional logit (Newton's
// method from the prior). The callers pass the build's modules they were loaded from, so an ablation trains
// exactly what the training scripts train, on whichever build of the recognisers it compares.

const HAN = /[\u3400-\u9fff]/;

/**
 * The dev records as training items: the simplified text and its segments (what the person recognisers read),
 * the tokens, their features and BIO gold labels (what the span-boundary model reads). A gold span whose edges
 * fall inside a token cannot be labelled and is left out of training; `misaligned` counts them.
 */
export function boundaryItems(records, { tokenize, tokenFeatures, simplified, segment }) {
  let misaligned = 0;
  const items = records.map((record) => {
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
      if (!first || first[0].start !== s.start || last[0].end !== s.end) {
        misaligned++;
        continue;
      }
      inside.forEach(([, i], k) => (gold[i] = k === 0 ? b : b + 1));
    }
    return { record, chinese, norm, segments, tokens, feats, gold };
  });
  return { items, misaligned };
}

/** Deterministic shuffle (a linear congruential generator). */
export function shuffled(items, seed) {
  const out = [...items];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Trains the span-boundary model on the given items (boundaryItems); returns the weights file's content (without
 * its combine settings). `model`: the build's boundary-features.js and boundary-model.js exports it needs.
 */
export function trainBoundary(
  items,
  { l2, minCount, prune, epochs = 12, rate = 0.1 },
  { BOUNDARY_LABELS, forwardBackward, transitionMatrix },
) {
  const L = BOUNDARY_LABELS.length;
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
        // Transition expectations: from the start, then between neighbours.
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
    // Features whose weights are too small to move a decision are left out: the file stays small.
    if (Math.max(...v.map(Math.abs)) >= prune) features[name] = v;
  }
  const transitions = [];
  for (let a = 0; a <= L; a++) transitions.push(Array.from(t.subarray(a * L, a * L + L), round));
  return { version: 1, labels: [...BOUNDARY_LABELS], transitions, features };
}

/** The candidates of the given texts as rows (x, y), the second-stage features computed under `weights`. */
function rows(items, lang, weights, p) {
  const out = [];
  for (const { record, chinese, norm, segments } of items) {
    const gold = new Set(record.spans.filter((s) => s.label === 'PERSON').map((s) => `${s.start}:${s.end}`));
    const candidates =
      lang === 'cn'
        ? chinese
          ? p.chinesePersonCandidates(norm, segments, weights)
          : []
        : p.englishPersonCandidates(record.text, weights);
    // Chinese candidates compete by length at each surname (张, 张先, 张先生): one group per start, with the
    // option of no name (logit 0). English candidates are one per run: groups of one.
    const groups = new Map();
    for (const c of candidates) {
      const key = lang === 'cn' ? c.start : `${c.start}:${c.end}`;
      if (!groups.has(key)) groups.set(key, []);
      // An ablation may hold one English feature's column at 0 (`enColumnOff`).
      let x = c.x;
      if (lang === 'en' && p.enColumnOff >= 0) (x = Float64Array.from(x))[p.enColumnOff] = 0;
      groups.get(key).push({ x, y: gold.has(`${c.start}:${c.end}`) ? 1 : 0 });
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

/**
 * Trains the person model: three rounds of features under the current weights, then a fit, shrunk towards the
 * priors. `p`: { priorCn, priorEn, chinesePersonCandidates, englishPersonCandidates, enColumnOff? } (the build's
 * person.js exports, so an ablation can train another build's recognisers).
 */
export function trainPerson(items, lambda, p) {
  const { priorCn, priorEn } = p;
  const q = { ...p, enColumnOff: p.enColumnOff ?? -1 };
  let cn = priorCn;
  let en = priorEn;
  for (let round = 0; round < 3; round++) {
    cn = fit(rows(items, 'cn', cn, q), priorCn, lambda);
    en = fit(rows(items, 'en', en, q), priorEn, lambda);
  }
  return { cn, en };
}
