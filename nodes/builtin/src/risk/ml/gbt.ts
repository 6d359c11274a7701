/**
 * Gradient-boosted decision trees for binary classification (logistic loss, second-order leaf values as in
 * XGBoost), grown depth-wise on quantile-binned features, plus exact path-dependent TreeSHAP attributions
 * (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree ensembles", Alg. 2).
 * Deterministic: ties between candidate splits go to the lower feature index and the lower threshold, and row
 * subsampling, when enabled, draws from a seeded generator.
 */
import { seededRandom } from './random.js';
import { logit, sigmoid } from './logistic.js';

/** One tree in flat arrays; node 0 is the root. A node with feature -1 is a leaf. */
export interface Tree {
  feature: number[];
  /** Go left when x[feature] <= threshold. */
  threshold: number[];
  left: number[];
  right: number[];
  /** Leaf output in log-odds (learning rate applied); 0 for inner nodes. */
  value: number[];
  /** Training rows that reached the node (the weights TreeSHAP uses for the expectation). */
  cover: number[];
}

export interface GbtModel {
  /** Log-odds before any tree: the training base rate. */
  baseScore: number;
  trees: Tree[];
  maxDepth: number;
}

export interface GbtOptions {
  trees: number;
  learningRate: number;
  maxDepth: number;
  /** Smallest hessian sum allowed in a child. */
  minChildWeight: number;
  /** L2 penalty on leaf values. */
  l2: number;
  /** Most quantile bins per feature (<= 256). */
  maxBins: number;
  /** Share of rows drawn (without replacement) for each tree; 1 uses all. */
  subsample: number;
  seed: number;
  signal?: AbortSignal;
}

export { defaultGbtOptions } from './gbt-defaults.js';

/** Candidate split thresholds of one feature: midpoints between quantile cut values. */
function binEdges(values: Float64Array, maxBins: number): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i] as number);
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++)
      edges.push(((distinct[i] as number) + (distinct[i + 1] as number)) / 2);
  } else {
    const n = sorted.length;
    for (let b = 1; b < maxBins; b++) {
      const v = sorted[Math.min(n - 1, Math.floor((b * n) / maxBins))] as number;
      // The edge sits between v and the next larger value, so every copy of v lands in the same bin.
      let lo = 0;
      let hi = distinct.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((distinct[mid] as number) <= v) lo = mid + 1;
        else hi = mid;
      }
      if ((distinct[lo] as number) <= v) continue; // v is the largest value
      const edge = (v + (distinct[lo] as number)) / 2;
      if (!edges.length || edge > (edges[edges.length - 1] as number)) edges.push(edge);
    }
  }
  return Float64Array.from(edges);
}

/** Index of the first edge >= v (so v <= edges[bin], or bin = edges.length past the last edge). */
function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Fits the ensemble on a row-major matrix `x` (n rows, p features, no missing values) and 0/1 labels.
 */
export function fitGbt(x: Float64Array, y: Uint8Array, n: number, p: number, options: GbtOptions): GbtModel {
  const { learningRate, maxDepth, minChildWeight, l2 } = options;
  const edges: Float64Array[] = [];
  const bins = new Uint8Array(n * p); // feature-major: bins[f * n + i]
  const column = new Float64Array(n);
  for (let f = 0; f < p; f++) {
    for (let i = 0; i < n; i++) column[i] = x[i * p + f] as number;
    const e = binEdges(column, Math.min(options.maxBins, 256));
    edges.push(e);
    for (let i = 0; i < n; i++) bins[f * n + i] = binOf(e, column[i] as number);
  }
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] as number;
  const baseScore = logit(Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6));
  const margin = new Float64Array(n).fill(baseScore);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const random = seededRandom(options.seed);
  // Histograms of gradient, hessian and row count per (feature, bin), laid out feature after feature. A node's
  // larger child gets its histogram by subtracting the smaller child's from the parent's, so each level costs
  // at most half a pass over the rows. Buffers are pooled: a depth-first grow holds only a few at once.
  const offsets = new Int32Array(p + 1);
  for (let f = 0; f < p; f++) offsets[f + 1] = (offsets[f] as number) + (edges[f] as Float64Array).length + 1;
  const histSize = offsets[p] as number;
  interface Hist {
    g: Float64Array;
    h: Float64Array;
    c: Int32Array;
  }
  const pool: Hist[] = [];
  const acquire = (): Hist => {
    const hist = pool.pop();
    if (hist) {
      hist.g.fill(0);
      hist.h.fill(0);
      hist.c.fill(0);
      return hist;
    }
    return { g: new Float64Array(histSize), h: new Float64Array(histSize), c: new Int32Array(histSize) };
  };
  const build = (nodeRows: Int32Array): Hist => {
    const hist = acquire();
    const { g, h, c } = hist;
    for (let f = 0; f < p; f++) {
      const base = f * n;
      const off = offsets[f] as number;
      for (let r = 0; r < nodeRows.length; r++) {
        const i = nodeRows[r] as number;
        const b = off + (bins[base + i] as number);
        g[b] = (g[b] as number) + (grad[i] as number);
        h[b] = (h[b] as number) + (hess[i] as number);
        c[b] = (c[b] as number) + 1;
      }
    }
    return hist;
  };
  const trees: Tree[] = [];
  const all = Int32Array.from({ length: n }, (_, i) => i);

  for (let t = 0; t < options.trees; t++) {
    if (options.signal?.aborted) throw options.signal.reason;
    for (let i = 0; i < n; i++) {
      const pi = sigmoid(margin[i] as number);
      grad[i] = pi - (y[i] as number);
      hess[i] = Math.max(pi * (1 - pi), 1e-16);
    }
    let rows = all;
    if (options.subsample < 1) {
      const keep: number[] = [];
      for (let i = 0; i < n; i++) if (random() < options.subsample) keep.push(i);
      rows = Int32Array.from(keep);
    }
    const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [], cover: [] };
    const splitBin: number[] = [];
    const grow = (nodeRows: Int32Array, depth: number, given: Hist | undefined): number => {
      const id = tree.feature.length;
      let G = 0;
      let H = 0;
      for (let r = 0; r < nodeRows.length; r++) {
        const i = nodeRows[r] as number;
        G += grad[i] as number;
        H += hess[i] as number;
      }
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push((-G / (H + l2)) * learningRate);
      tree.cover.push(nodeRows.length);
      splitBin.push(-1);
      if (depth >= maxDepth || H < 2 * minChildWeight) {
        if (given) pool.push(given);
        return id;
      }
      const hist = given ?? build(nodeRows);
      const parentScore = (G * G) / (H + l2);
      let bestGain = 1e-12;
      let bestFeature = -1;
      let bestBin = -1;
      for (let f = 0; f < p; f++) {
        const off = offsets[f] as number;
        const nb = (offsets[f + 1] as number) - off;
        let GL = 0;
        let HL = 0;
        let NL = 0;
        for (let b = 0; b < nb - 1; b++) {
          GL += hist.g[off + b] as number;
          HL += hist.h[off + b] as number;
          NL += hist.c[off + b] as number;
          if (NL === 0 || HL < minChildWeight) continue;
          const HR = H - HL;
          if (HR < minChildWeight || NL === nodeRows.length) break;
          const GR = G - GL;
          const gain = (GL * GL) / (HL + l2) + (GR * GR) / (HR + l2) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestFeature = f;
            bestBin = b;
          }
        }
      }
      if (bestFeature < 0) {
        pool.push(hist);
        return id;
      }
      const base = bestFeature * n;
      let nLeft = 0;
      for (let r = 0; r < nodeRows.length; r++)
        if ((bins[base + (nodeRows[r] as number)] as number) <= bestBin) nLeft++;
      const leftRows = new Int32Array(nLeft);
      const rightRows = new Int32Array(nodeRows.length - nLeft);
      let a = 0;
      let c = 0;
      for (let r = 0; r < nodeRows.length; r++) {
        const i = nodeRows[r] as number;
        if ((bins[base + i] as number) <= bestBin) leftRows[a++] = i;
        else rightRows[c++] = i;
      }
      tree.feature[id] = bestFeature;
      tree.threshold[id] = (edges[bestFeature] as Float64Array)[bestBin] as number;
      tree.value[id] = 0;
      splitBin[id] = bestBin;
      let leftHist: Hist | undefined;
      let rightHist: Hist | undefined;
      if (depth + 1 < maxDepth) {
        // Children will look for splits: build the smaller one's histogram, derive the larger one's in place.
        const smallIsLeft = leftRows.length <= rightRows.length;
        const small = build(smallIsLeft ? leftRows : rightRows);
        for (let b = 0; b < histSize; b++) {
          hist.g[b] = (hist.g[b] as number) - (small.g[b] as number);
          hist.h[b] = (hist.h[b] as number) - (small.h[b] as number);
          hist.c[b] = (hist.c[b] as number) - (small.c[b] as number);
        }
        leftHist = smallIsLeft ? small : hist;
        rightHist = smallIsLeft ? hist : small;
      } else pool.push(hist);
      tree.left[id] = grow(leftRows, depth + 1, leftHist);
      tree.right[id] = grow(rightRows, depth + 1, rightHist);
      return id;
    };
    grow(rows, 0, undefined);
    trees.push(tree);
    // Update every row's margin (subsampled or not) by walking the tree on bins: bin <= splitBin <=> x <= edge.
    for (let i = 0; i < n; i++) {
      let node = 0;
      while ((tree.feature[node] as number) >= 0) {
        const f = tree.feature[node] as number;
        node =
          (bins[f * n + i] as number) <= (splitBin[node] as number)
            ? (tree.left[node] as number)
            : (tree.right[node] as number);
      }
      margin[i] = (margin[i] as number) + (tree.value[node] as number);
    }
  }
  return { baseScore, trees, maxDepth };
}

/** Log-odds of one feature vector. */
export function gbtMargin(model: GbtModel, x: ArrayLike<number>): number {
  let s = model.baseScore;
  for (const tree of model.trees) {
    let node = 0;
    let f = tree.feature[0] as number;
    while (f >= 0) {
      node =
        (x[f] as number) <= (tree.threshold[node] as number)
          ? (tree.left[node] as number)
          : (tree.right[node] as number);
      f = tree.feature[node] as number;
    }
    s += tree.value[node] as number;
  }
  return s;
}

/** The model's expected log-odds under the training distribution of each tree (TreeSHAP's base value). */
export function gbtExpectedValue(model: GbtModel): number {
  let s = model.baseScore;
  for (const tree of model.trees) {
    const root = tree.cover[0] as number;
    for (let node = 0; node < tree.feature.length; node++)
      if ((tree.feature[node] as number) < 0)
        s += ((tree.value[node] as number) * (tree.cover[node] as number)) / root;
  }
  return s;
}

/** Scratch space of TreeSHAP's path: one segment per recursion level in flat arrays. */
interface ShapPath {
  feat: Int32Array;
  zero: Float64Array;
  one: Float64Array;
  pw: Float64Array;
}

const shapPaths = new WeakMap<GbtModel, ShapPath>();

function extendPath(s: ShapPath, at: number, d: number, pz: number, po: number, pi: number): void {
  const { feat, zero, one, pw } = s;
  feat[at + d] = pi;
  zero[at + d] = pz;
  one[at + d] = po;
  pw[at + d] = d === 0 ? 1 : 0;
  for (let i = d - 1; i >= 0; i--) {
    pw[at + i + 1] = (pw[at + i + 1] as number) + (po * (pw[at + i] as number) * (i + 1)) / (d + 1);
    pw[at + i] = (pz * (pw[at + i] as number) * (d - i)) / (d + 1);
  }
}

function unwindPath(s: ShapPath, at: number, d: number, k: number): void {
  const { feat, zero, one, pw } = s;
  const o = one[at + k] as number;
  const z = zero[at + k] as number;
  let next = pw[at + d] as number;
  for (let i = d - 1; i >= 0; i--) {
    if (o !== 0) {
      const tmp = pw[at + i] as number;
      pw[at + i] = (next * (d + 1)) / ((i + 1) * o);
      next = tmp - ((pw[at + i] as number) * z * (d - i)) / (d + 1);
    } else {
      pw[at + i] = ((pw[at + i] as number) * (d + 1)) / (z * (d - i));
    }
  }
  for (let i = k; i < d; i++) {
    feat[at + i] = feat[at + i + 1] as number;
    zero[at + i] = zero[at + i + 1] as number;
    one[at + i] = one[at + i + 1] as number;
  }
}

function unwoundPathSum(s: ShapPath, at: number, d: number, k: number): number {
  const { zero, one, pw } = s;
  const o = one[at + k] as number;
  const z = zero[at + k] as number;
  let next = pw[at + d] as number;
  let total = 0;
  for (let i = d - 1; i >= 0; i--) {
    if (o !== 0) {
      const tmp = (next * (d + 1)) / ((i + 1) * o);
      total += tmp;
      next = (pw[at + i] as number) - tmp * z * ((d - i) / (d + 1));
    } else if (z !== 0) {
      total += (pw[at + i] as number) / z / ((d - i) / (d + 1));
    }
  }
  return total;
}

function shapRecurse(
  tree: Tree,
  x: ArrayLike<number>,
  phi: Float64Array,
  s: ShapPath,
  node: number,
  parentAt: number,
  d: number,
  pz: number,
  po: number,
  pi: number,
): void {
  const { feat, zero, one, pw } = s;
  // This level's path starts right after the parent's (whose last d entries are copied).
  const at = parentAt + d;
  for (let i = 0; i < d; i++) {
    feat[at + i] = feat[parentAt + i] as number;
    zero[at + i] = zero[parentAt + i] as number;
    one[at + i] = one[parentAt + i] as number;
    pw[at + i] = pw[parentAt + i] as number;
  }
  extendPath(s, at, d, pz, po, pi);
  const f = tree.feature[node] as number;
  if (f < 0) {
    const v = tree.value[node] as number;
    for (let i = 1; i <= d; i++) {
      const w = unwoundPathSum(s, at, d, i);
      const fi = feat[at + i] as number;
      phi[fi] = (phi[fi] as number) + w * ((one[at + i] as number) - (zero[at + i] as number)) * v;
    }
    return;
  }
  const left = tree.left[node] as number;
  const right = tree.right[node] as number;
  const goLeft = (x[f] as number) <= (tree.threshold[node] as number);
  const hot = goLeft ? left : right;
  const cold = goLeft ? right : left;
  const cover = tree.cover[node] as number;
  let iz = 1;
  let io = 1;
  let dd = d;
  let k = 0;
  for (; k <= dd; k++) if (feat[at + k] === f) break;
  if (k <= dd) {
    iz = zero[at + k] as number;
    io = one[at + k] as number;
    unwindPath(s, at, dd, k);
    dd -= 1;
  }
  shapRecurse(tree, x, phi, s, hot, at, dd + 1, ((tree.cover[hot] as number) / cover) * iz, io, f);
  shapRecurse(tree, x, phi, s, cold, at, dd + 1, ((tree.cover[cold] as number) / cover) * iz, 0, f);
}

/**
 * Exact path-dependent TreeSHAP: per-feature contributions (log-odds) that sum to gbtMargin(x) minus
 * gbtExpectedValue. `phi` (length p) is overwritten.
 */
export function gbtShap(model: GbtModel, x: ArrayLike<number>, phi: Float64Array): void {
  phi.fill(0);
  let s = shapPaths.get(model);
  if (!s) {
    const depth = model.maxDepth + 2;
    const size = ((depth + 1) * (depth + 2)) / 2;
    s = {
      feat: new Int32Array(size),
      zero: new Float64Array(size),
      one: new Float64Array(size),
      pw: new Float64Array(size),
    };
    shapPaths.set(model, s);
  }
  for (const tree of model.trees) shapRecurse(tree, x, phi, s, 0, 0, 0, 1, 1, -1);
}
