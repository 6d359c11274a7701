/**
 * Stratified, seeded k-fold splits: each fold keeps the class balance of the whole data (as far as counts
 * allow), and the same seed gives the same folds everywhere.
 */
import { seededRandom, shuffleInPlace } from './random.js';

/** The fold (0..k-1) of each row. Rows of each class are shuffled, then dealt to the folds in turn. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError('k must be an integer >= 2');
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    let rows = byClass.get(label);
    if (!rows) byClass.set(label, (rows = []));
    rows.push(i);
  }
  const random = seededRandom(seed);
  const fold = new Int32Array(labels.length);
  // Dealing continues across classes so fold sizes differ by at most one overall.
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = shuffleInPlace(byClass.get(label) as number[], random);
    for (const row of rows) {
      fold[row] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}
