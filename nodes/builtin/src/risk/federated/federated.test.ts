import { describe, expect, it } from 'vitest';
import { rocAuc } from '../ml/metrics.js';
import { readScorecardModel, scoreScorecard, trainScorecard, type ScorecardModel } from '../ml/scorecard.js';
import type { Row } from '../ml/encoding.js';
import { trainFederated, type FederatedOptions, type TranscriptEntry } from './coordinator.js';
import { germanSpec, inProcessHolder, splitGerman } from './test-helpers/holders.js';

const split = splitGerman();
const costMatrix = { falseNegative: 5, falsePositive: 1 };
const options: FederatedOptions = {
  spec: germanSpec,
  l2: 1,
  maxRounds: 30,
  tolerance: 1e-8,
  minHolders: 2,
  maxAttempts: 3,
  holderTimeoutMs: 30_000,
  costMatrix,
  evaluationBins: 1000,
};

function testAuc(model: ScorecardModel, rows: Row[] = split.test): number {
  const scored = scoreScorecard(readScorecardModel(JSON.parse(JSON.stringify(model))), rows, {
    scaling: { basePoints: 600, baseOdds: 50, pdo: 20 },
    bands: { basis: 'probability', approve: 0.2, decline: 0.5 },
    maxReasons: 1,
    keepColumns: [],
    labels: {},
  });
  return rocAuc(
    scored.map((s) => s.probability),
    rows.map((r) => (String(r['class']) === '2' ? 1 : 0)),
  );
}

const pooled = trainScorecard(split.train, {
  target: 'class',
  positiveClass: '2',
  features: germanSpec.features,
  exclude: [],
  numeric: [],
  categorical: [],
  l2: 1,
  costMatrix,
  seed: 1,
  thresholdFrom: 'costMatrix',
});

const holders = () => [...split.holders].map(([id, rows]) => inProcessHolder(id, rows));

describe('federated scorecard on German Credit split across three holders by purpose', () => {
  it('the holders differ: each holds different loan purposes and bad rates', () => {
    expect([...split.holders.keys()].sort()).toEqual(['bank-cars', 'bank-general', 'bank-retail']);
    const rates = [...split.holders.values()].map(
      (rows) => rows.filter((r) => String(r['class']) === '2').length / rows.length,
    );
    expect(Math.max(...rates) - Math.min(...rates)).toBeGreaterThan(0.03);
  });

  it('reaches the AUC of pooled training (within 0.01) on held-out applicants', async () => {
    const { model, report } = await trainFederated(holders(), options);
    const federatedAuc = testAuc(model);
    const pooledAuc = testAuc(pooled);
    expect(report.converged).toBe(true);
    expect(report.rows).toBe(split.train.length);
    expect(Math.abs(federatedAuc - pooledAuc)).toBeLessThan(0.01);
    // Newton on the exact aggregated gradient and Hessian finds the pooled optimum itself.
    model.coefficients.forEach((b, j) => expect(b).toBeCloseTo(pooled.coefficients[j] as number, 5));
    expect(report.auc).toBeCloseTo(pooled.training.auc, 2);
    console.log(`federated AUC ${federatedAuc.toFixed(4)}, pooled ${pooledAuc.toFixed(4)}, rounds ${report.rounds}`);
  });

  it('DP', async () => {
    const pooledAuc = testAuc(pooled);
    for (const epsilon of [1, 3, 8]) {
      for (const lr of [0.5, 1, 2]) {
        const { model, report } = await trainFederated(holders(), {
          ...options,
          dp: { epsilon, delta: 1e-5, clipNorm: 1, rounds: 40, learningRate: lr },
        });
        console.log(epsilon, lr, report.privacy?.epsilon, (testAuc(model) - pooledAuc).toFixed(4), report.auc);
      }
    }
  }, 120_000);
});
