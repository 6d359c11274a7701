/**
 * Gates judge on 95 % bounds: a few bad calls do not roll back, many do; too few samples never pass.
 */
import { describe, expect, it } from 'vitest';
import { evaluateGates, quantileInterval, wilson, type Gate, type Observation } from './rollout-gates.js';

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
