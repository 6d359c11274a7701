import { describe, expect, it } from 'vitest';
import { fitGbt, gbtExpectedValue, gbtMargin, gbtShap, type GbtModel, type Tree } from './gbt.js';
import { rocAuc } from './metrics.js';
import { seededRandom } from './random.js';

function synthetic(n: number, p: number, seed: number) {
  const random = seededRandom(seed);
  const x = new Float64Array(n * p);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) x[i * p + j] = Math.round((random() * 4 - 2) * 100) / 100;
    const a = x[i * p] as number;
    const b = x[i * p + 1] as number;
    const c = x[i * p + 2] as number;
    // An interaction and a threshold effect, which a linear model cannot express.
    const z = 2 * a * b + (c > 0.5 ? 1.5 : -0.5);
    y[i] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

const options = {
  trees: 40,
  learningRate: 0.2,
  maxDepth: 3,
  minChildWeight: 1,
  l2: 1,
  maxBins: 32,
  subsample: 1,
  seed: 1,
};

/** E[f(x) | x_S] as path-dependent TreeSHAP defines it: unknown features follow both children by cover. */
function conditional(model: GbtModel, x: Float64Array, known: Set<number>): number {
  const walk = (tree: Tree, node: number): number => {
    const f = tree.feature[node] as number;
    if (f < 0) return tree.value[node] as number;
    const l = tree.left[node] as number;
    const r = tree.right[node] as number;
    if (known.has(f)) return walk(tree, (x[f] as number) <= (tree.threshold[node] as number) ? l : r);
    const cl = tree.cover[l] as number;
    const cr = tree.cover[r] as number;
    return (cl * walk(tree, l) + cr * walk(tree, r)) / (cl + cr);
  };
  return model.trees.reduce((s, t) => s + walk(t, 0), model.baseScore);
}

/** Shapley values by enumerating every coalition. */
function bruteForceShapley(model: GbtModel, x: Float64Array, p: number): number[] {
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const phi = new Array<number>(p).fill(0);
  for (let i = 0; i < p; i++) {
    for (let mask = 0; mask < 1 << p; mask++) {
      if (mask & (1 << i)) continue;
      const s = new Set<number>();
      for (let j = 0; j < p; j++) if (mask & (1 << j)) s.add(j);
      const weight = (factorial(s.size) * factorial(p - s.size - 1)) / factorial(p);
      const without = conditional(model, x, s);
      s.add(i);
      phi[i] = (phi[i] as number) + weight * (conditional(model, x, s) - without);
    }
  }
  return phi;
}

describe('gradient-boosted trees', () => {
  const n = 600;
  const p = 4;
  const { x, y } = synthetic(n, p, 11);
  const model = fitGbt(x, y, n, p, options);

  it('learns an interaction a linear model cannot', () => {
    const test = synthetic(400, p, 12);
    const scores = Array.from({ length: 400 }, (_, i) => gbtMargin(model, test.x.subarray(i * p, i * p + p)));
    expect(rocAuc(scores, test.y)).toBeGreaterThan(0.8);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(fitGbt(x, y, n, p, options))).toBe(JSON.stringify(model));
  });

  it('computes TreeSHAP exactly: equal to brute-force Shapley values and summing to f(x) - E[f]', () => {
    const phi = new Float64Array(p);
    for (const row of [0, 5, 17, 123]) {
      const xi = x.slice(row * p, row * p + p);
      gbtShap(model, xi, phi);
      const brute = bruteForceShapley(model, xi, p);
      for (let j = 0; j < p; j++) expect(phi[j]).toBeCloseTo(brute[j] as number, 10);
      const sum = phi.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - (gbtMargin(model, xi) - gbtExpectedValue(model)))).toBeLessThan(1e-9);
      // v(empty set) is the expected value; v(all features) is the prediction.
      expect(conditional(model, xi, new Set())).toBeCloseTo(gbtExpectedValue(model), 10);
      expect(conditional(model, xi, new Set([0, 1, 2, 3]))).toBeCloseTo(gbtMargin(model, xi), 10);
    }
    // The pure-noise feature (index 3) matters least on average.
    const mean = [0, 0, 0, 0];
    for (let row = 0; row < 100; row++) {
      gbtShap(model, x.subarray(row * p, row * p + p), phi);
      for (let j = 0; j < p; j++) mean[j] = (mean[j] as number) + Math.abs(phi[j] as number);
    }
    expect(mean[3]).toBeLessThan(Math.min(mean[0] as number, mean[1] as number, mean[2] as number));
  });
});
