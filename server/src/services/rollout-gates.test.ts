/**
 * Gates judge on 95 % bounds: a few bad calls do not roll back, many do; too few samples never pass.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluateGates,
  meanInterval,
  quantileInterval,
  series,
  wilson,
  type Gate,
  type Observation,
} from './rollout-gates.js';

const obs = (arm: Observation['arm'], ok: boolean, ms = 10, decision: string | null = '"approve"') => ({
  at: 1,
  arm,
  version: arm === 'champion' ? 1 : 2,
  ok,
  ms,
  decision,
  agree: null,
});
const none = { champion: [], challenger: [] };
const errorGate: Gate = { metric: 'errorRate', threshold: 0.05, minSamples: 20, action: 'rollback' };

describe('rollout gates', () => {
  it('computes the Wilson interval', () => {
    const i = wilson(10, 100);
    expect(i.value).toBe(0.1);
    expect(i.low).toBeCloseTo(0.0552, 3);
    expect(i.high).toBeCloseTo(0.1744, 3);
    expect(wilson(0, 0)).toEqual({ value: 0, low: 0, high: 1 });
  });

  it('bounds a p95 by order statistics, open above when samples are few', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const q = quantileInterval(values, 0.95);
    expect(q.value).toBe(950);
    expect(q.low).toBeGreaterThan(930);
    expect(q.high).toBeLessThan(970);
    expect(quantileInterval([1, 2, 3], 0.95).high).toBe(Number.POSITIVE_INFINITY);
  });

  it('is insufficient below its minimum samples, uncertain near the threshold, broken far above it', () => {
    const few = evaluateGates([errorGate], {
      observations: [obs('challenger', false)],
      outcome: none,
      review: none,
    });
    expect(few[0]?.status).toBe('insufficient');
    const some = Array.from({ length: 40 }, (_, i) => obs('challenger', i % 10 !== 0));
    expect(evaluateGates([errorGate], { observations: some, outcome: none, review: none })[0]?.status).toBe(
      'uncertain',
    );
    const bad = Array.from({ length: 40 }, (_, i) => obs('shadow', i % 2 === 0));
    expect(evaluateGates([errorGate], { observations: bad, outcome: none, review: none })[0]?.status).toBe(
      'breach',
    );
    const good = Array.from({ length: 400 }, () => obs('challenger', true));
    expect(evaluateGates([errorGate], { observations: good, outcome: none, review: none })[0]?.status).toBe(
      'pass',
    );
  });

  it('judges agreement with labels upward and approval drift against the champion', () => {
    const agreement: Gate = {
      metric: 'outcomeAgreement',
      threshold: 0.7,
      minSamples: 30,
      action: 'rollback',
    };
    const worse = {
      champion: Array(100).fill(true),
      challenger: Array.from({ length: 100 }, (_, i) => i < 40),
    };
    const [g] = evaluateGates([agreement], { observations: [], outcome: worse, review: none });
    expect(g).toMatchObject({ status: 'breach', samples: 100, champion: { value: 1, samples: 100 } });

    const drift: Gate = { metric: 'approvalRateDrift', threshold: 0.1, minSamples: 50, action: 'block' };
    const champ = Array.from({ length: 300 }, (_, i) =>
      obs('champion', true, 10, i % 2 ? '"approve"' : '"decline"'),
    );
    const same = Array.from({ length: 300 }, (_, i) =>
      obs('challenger', true, 10, i % 2 ? '"approve"' : '"decline"'),
    );
    const lenient = Array.from({ length: 300 }, (_, i) =>
      obs('challenger', true, 10, i % 10 ? '"approve"' : '"decline"'),
    );
    const judge = (o: Observation[]) =>
      evaluateGates([drift], {
        observations: o,
        outcome: none,
        review: none,
        approveDecision: '"approve"',
      })[0]?.status;
    expect(judge([...champ, ...same])).toBe('pass');
    expect(judge([...champ, ...lenient])).toBe('breach');
  });

  it('holds a challenger that costs more CPU per call than its bound, on the p95 or on the mean', () => {
    // A deterministic spread: champion calls cost 2-4 ms, the challenger's 2-4 ms or 9-11 ms.
    const cost = (arm: Observation['arm'], base: number) =>
      Array.from({ length: 200 }, (_, i) => ({ ...obs(arm, true), cpuMs: base + (i % 21) / 10 }));
    const p95: Gate = { metric: 'cpuMsPerCall', threshold: 6, minSamples: 50, action: 'block' };
    const mean: Gate = { ...p95, statistic: 'mean', threshold: 5 };
    const judge = (o: Observation[], g: Gate) =>
      evaluateGates([g], { observations: o, outcome: none, review: none })[0];
    const cheap = judge([...cost('champion', 2), ...cost('challenger', 2)], p95);
    expect(cheap).toMatchObject({ status: 'pass', samples: 200 });
    expect(cheap?.champion?.value).toBeCloseTo(3.9, 5);
    expect(judge([...cost('champion', 2), ...cost('challenger', 9)], p95)?.status).toBe('breach');
    expect(judge([...cost('challenger', 2)], mean)?.status).toBe('pass');
    expect(judge([...cost('challenger', 9)], mean)?.status).toBe('breach');
    // Shadow runs and calls without a measurement are not samples: an unmeasured challenger cannot pass.
    const unmeasured = [...cost('shadow', 2), ...Array.from({ length: 200 }, () => obs('challenger', true))];
    expect(judge(unmeasured, p95)).toMatchObject({ status: 'insufficient', samples: 0 });
    // The mean's interval: 1..9 has mean 5 and a 95 % half-width of 1.96 × sd/√n.
    const m = meanInterval([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(m.value).toBe(5);
    expect(m.high - m.value).toBeCloseTo(1.959964 * Math.sqrt(7.5 / 9), 6);
    expect(meanInterval([4]).high).toBe(Number.POSITIVE_INFINITY);
  });

  it('charts CPU per call of each side', () => {
    const o = [
      { ...obs('champion', true), at: 0, cpuMs: 2 },
      { ...obs('champion', true), at: 1, cpuMs: 4 },
      { ...obs('challenger', true), at: 1, cpuMs: 9 },
      { ...obs('shadow', true), at: 1 },
    ];
    const [slot] = series(o, 0, 10, 1);
    expect(slot?.champion.cpuMs).toBe(3);
    expect(slot?.challenger.cpuMs).toBe(9);
  });

  it('counts a reviewer who changed the decision as an override', () => {
    const overrides: Gate = {
      metric: 'reviewOverrideRate',
      threshold: 0.2,
      minSamples: 30,
      action: 'rollback',
    };
    const review = (agree: number, n: number) => Array.from({ length: n }, (_, i) => i < agree);
    const judge = (challenger: boolean[]) =>
      evaluateGates([overrides], {
        observations: [],
        outcome: none,
        review: { champion: review(95, 100), challenger },
      })[0];
    expect(judge(review(199, 200))).toMatchObject({ status: 'pass', champion: { value: 0.05 } });
    const bad = judge(review(50, 100));
    expect(bad).toMatchObject({ status: 'breach', samples: 100 });
    expect(bad?.challenger?.value).toBe(0.5);
    expect(judge(review(10, 10))?.status).toBe('insufficient');
  });

  it('judges the drift gates on the challenger’s PSI against its training baseline', () => {
    const none = { champion: [], challenger: [] };
    const gates: Gate[] = [
      { metric: 'scoreDrift', threshold: 0.25, minSamples: 100, action: 'rollback' },
      { metric: 'featureDrift', threshold: 0.25, minSamples: 100, action: 'block' },
    ];
    const judge = (drift: { score: number | null; feature: number | null; calls: number } | undefined) =>
      evaluateGates(gates, { observations: [], outcome: none, review: none, drift }).map((g) => g.status);
    expect(judge({ score: 0.04, feature: 0.12, calls: 300 })).toEqual(['pass', 'pass']);
    expect(judge({ score: 0.31, feature: 0.9, calls: 300 })).toEqual(['breach', 'breach']);
    // Too few calls, no baseline, or no score: nothing to judge yet.
    expect(judge({ score: 0.31, feature: 0.9, calls: 40 })).toEqual(['insufficient', 'insufficient']);
    expect(judge(undefined)).toEqual(['insufficient', 'insufficient']);
    expect(judge({ score: null, feature: 0.01, calls: 300 })).toEqual(['insufficient', 'pass']);
  });
});
