/**
 * The gradient-boosted trees' default options, apart from the trainer: risk.fraudScore's config schema shows them,
 * and the node's definition loads without the trainer (which loads on its first run).
 */
import type { GbtOptions } from './gbt.js';

export const defaultGbtOptions: Omit<GbtOptions, 'signal'> = {
  trees: 300,
  learningRate: 0.1,
  maxDepth: 3,
  minChildWeight: 1,
  l2: 1,
  maxBins: 64,
  subsample: 1,
  seed: 1,
};
