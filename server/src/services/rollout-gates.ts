/**
 * The gates of a rollout stage: measured conditions on the challenger over a sliding window, judged on
 * confidence bounds rather than point estimates. A rate gate passes when its whole 95 % interval is on the good
 * side of the threshold and breaks when the whole interval is on the bad side; in between it is `uncertain`, and
 * below its minimum sample count `insufficient`. Only a broken gate acts (rolls back); anything but `pass`
 * blocks advancing. Pure: the rollout service gathers the samples.
 */

/** Two-sided 95 %. */
const Z = 1.959964;

import type { gateMetrics } from '@finflow/contract';

// The metric names and the default gates are the API's (contract/src/rollouts.ts): a plan names them.
export { defaultGates, gateMetrics } from '@finflow/contract';
export type GateMetric = (typeof gateMetrics)[number];
export type GateAction = 'block' | 'rollback';
export type GateStatus = 'pass' | 'uncertain' | 'breach' | 'insufficient';

export interface Gate {
  metric: GateMetric;
  /** A rate in 0..1 (the drift gate: the largest allowed absolute difference), or milliseconds for latency. */
  threshold: number;
  minSamples: number;
  action: GateAction;
  /** cpuMsPerCall only: judge the 95th percentile (the default) or the mean. */
  statistic?: 'p95' | 'mean' | undefined;
}

/** What the direction of a metric is: agreement should be high, the rest low. */
const higherIsBetter: Record<GateMetric, boolean> = {
  errorRate: false,
  p95LatencyMs: false,
  outcomeAgreement: true,
  reviewAgreement: true,
  shadowDisagreement: false,
  approvalRateDrift: false,
  cpuMsPerCall: false,
  reviewOverrideRate: false,
  scoreDrift: false,
  featureDrift: false,
};

export interface Observation {
  at: number;
  /** `shadow`: the challenger answering a copy of a champion call. */
  arm: 'champion' | 'challenger' | 'shadow';
  version: number;
  ok: boolean;
  ms: number;
  /** JSON of the prediction (the output at the prediction path). */
  decision: string | null;
  /** Shadow only: whether the challenger's decision equals the champion's. */
  agree: boolean | null;
  /** CPU ms the call used (the process's CPU apportioned among the calls in flight); absent when not measured. */
  cpuMs?: number;
}

/** Labelled decisions (feedback) of each side: true when the decision agreed with the label. */
export interface Agreements {
  champion: boolean[];
  challenger: boolean[];
}

export interface GateInputs {
  observations: readonly Observation[];
  outcome: Agreements;
  review: Agreements;
  /** JSON of the decision that counts as an approval (for the drift gate). */
  approveDecision?: string | undefined;
  /**
   * The challenger's PSI against its training baseline over its calls in the window: the score's and the
   * largest feature's (undefined without a baseline: the drift gates are then insufficient).
   */
  drift?: { score: number | null; feature: number | null; calls: number } | undefined;
}

export interface Interval {
  value: number;
  low: number;
  high: number;
}

export interface GateResult extends Gate {
  status: GateStatus;
  samples: number;
  /** The challenger's estimate and its 95 % interval (null below one sample). */
  challenger: Interval | null;
  /** The champion's estimate, for comparison (null when it has no samples). */
  champion: { value: number; samples: number } | null;
}

/** Wilson score interval of k successes in n trials. */
export function wilson(k: number, n: number, z = Z): Interval {
  if (n === 0) return { value: 0, low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Newcombe's interval for the difference of two proportions (a - b), from their Wilson intervals. */
export function differenceInterval(ka: number, na: number, kb: number, nb: number): Interval {
  const a = wilson(ka, na);
  const b = wilson(kb, nb);
  const d = a.value - b.value;
  return {
    value: d,
    low: d - Math.sqrt((a.value - a.low) ** 2 + (b.high - b.value) ** 2),
    high: d + Math.sqrt((a.high - a.value) ** 2 + (b.value - b.low) ** 2),
  };
}

/**
 * A quantile and its distribution-free 95 % interval: the order statistics whose ranks bound the binomial count
 * of samples below the quantile.
 */
export function quantileInterval(values: readonly number[], q: number): Interval {
  // A typed array sorts numerically without a comparator call per pair (several times faster).
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { value: 0, low: 0, high: Number.POSITIVE_INFINITY };
  const at = (rank: number) => sorted[Math.min(n - 1, Math.max(0, rank))] as number;
  const spread = Z * Math.sqrt(n * q * (1 - q));
  return {
    value: at(Math.ceil(q * n) - 1),
    low: at(Math.floor(n * q - spread) - 1),
    // Past the largest sample the bound is unknown: the gate cannot pass on it.
    high: Math.ceil(n * q + spread) > n ? Number.POSITIVE_INFINITY : at(Math.ceil(n * q + spread) - 1),
  };
}

/** A mean and its 95 % interval (normal approximation; the sample standard deviation). */
export function meanInterval(values: readonly number[]): Interval {
  const n = values.length;
  if (n === 0) return { value: 0, low: 0, high: Number.POSITIVE_INFINITY };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { value: mean, low: Number.NEGATIVE_INFINITY, high: Number.POSITIVE_INFINITY };
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const half = Z * Math.sqrt(ss / (n - 1) / n);
  return { value: mean, low: mean - half, high: mean + half };
}

function judge(gate: Gate, samples: number, i: Interval | null): GateStatus {
  if (samples < gate.minSamples || !i) return 'insufficient';
  if (gate.metric === 'approvalRateDrift') {
    if (i.low > gate.threshold || i.high < -gate.threshold) return 'breach';
    return i.low >= -gate.threshold && i.high <= gate.threshold ? 'pass' : 'uncertain';
  }
  if (higherIsBetter[gate.metric]) {
    if (i.high < gate.threshold) return 'breach';
    return i.low >= gate.threshold ? 'pass' : 'uncertain';
  }
  if (i.low > gate.threshold) return 'breach';
  return i.high <= gate.threshold ? 'pass' : 'uncertain';
}

const count = (xs: readonly boolean[]) => xs.reduce((s, x) => s + (x ? 1 : 0), 0);

/** Evaluates each gate on the inputs. The challenger's side is its served calls and its shadow runs. */
export function evaluateGates(gates: readonly Gate[], inputs: GateInputs): GateResult[] {
  const champ = inputs.observations.filter((o) => o.arm === 'champion');
  const chall = inputs.observations.filter((o) => o.arm !== 'champion');
  return gates.map((gate) => {
    let samples = 0;
    let challenger: Interval | null = null;
    let champion: GateResult['champion'] = null;
    const rate = (xs: boolean[], ys: boolean[]) => {
      samples = xs.length;
      challenger = xs.length ? wilson(count(xs), xs.length) : null;
      champion = ys.length ? { value: count(ys) / ys.length, samples: ys.length } : null;
    };
    switch (gate.metric) {
      case 'errorRate':
        rate(
          chall.map((o) => !o.ok),
          champ.map((o) => !o.ok),
        );
        break;
      case 'shadowDisagreement': {
        const shadows = chall.filter((o) => o.arm === 'shadow' && o.agree !== null);
        rate(
          shadows.map((o) => o.agree === false),
          [],
        );
        break;
      }
      case 'outcomeAgreement':
        rate(inputs.outcome.challenger, inputs.outcome.champion);
        break;
      case 'reviewAgreement':
        rate(inputs.review.challenger, inputs.review.champion);
        break;
      case 'reviewOverrideRate':
        // A reviewer who changed the decision (override, or a rejection of it) disagreed with it.
        rate(
          inputs.review.challenger.map((x) => !x),
          inputs.review.champion.map((x) => !x),
        );
        break;
      case 'cpuMsPerCall': {
        const stat = (xs: number[]) =>
          gate.statistic === 'mean' ? meanInterval(xs) : quantileInterval(xs, 0.95);
        const cpu = chall.filter((o) => o.arm === 'challenger' && o.cpuMs !== undefined);
        const ccpu = champ.filter((o) => o.cpuMs !== undefined);
        samples = cpu.length;
        challenger = cpu.length ? stat(cpu.map((o) => o.cpuMs as number)) : null;
        champion = ccpu.length
          ? { value: stat(ccpu.map((o) => o.cpuMs as number)).value, samples: ccpu.length }
          : null;
        break;
      }
      case 'p95LatencyMs': {
        const ms = chall.filter((o) => o.ok).map((o) => o.ms);
        samples = ms.length;
        challenger = ms.length ? quantileInterval(ms, 0.95) : null;
        const cms = champ.filter((o) => o.ok).map((o) => o.ms);
        champion = cms.length ? { value: quantileInterval(cms, 0.95).value, samples: cms.length } : null;
        break;
      }
      case 'approvalRateDrift': {
        const approve = inputs.approveDecision;
        if (approve === undefined) break;
        const a = chall.filter((o) => o.ok && o.decision !== null);
        const b = champ.filter((o) => o.ok && o.decision !== null);
        samples = Math.min(a.length, b.length);
        if (a.length && b.length) {
          const ka = a.filter((o) => o.decision === approve).length;
          const kb = b.filter((o) => o.decision === approve).length;
          challenger = differenceInterval(ka, a.length, kb, b.length);
          champion = { value: kb / b.length, samples: b.length };
        }
        break;
      }
      case 'scoreDrift':
      case 'featureDrift': {
        // A PSI is a distance, not an estimate with an interval: the gate reads it as a point (low = high).
        const psi = gate.metric === 'scoreDrift' ? inputs.drift?.score : inputs.drift?.feature;
        if (psi === null || psi === undefined || !Number.isFinite(psi)) break;
        samples = inputs.drift?.calls ?? 0;
        challenger = { value: psi, low: psi, high: psi };
        break;
      }
    }
    return { ...gate, status: judge(gate, samples, challenger), samples, challenger, champion };
  });
}

export interface SeriesPoint {
  at: number;
  champion: { calls: number; errors: number; p95Ms: number | null; approvals: number; cpuMs: number | null };
  challenger: {
    calls: number;
    errors: number;
    p95Ms: number | null;
    /** Mean CPU ms per measured call in the slot (shadow runs are not measured). */
    cpuMs: number | null;
    approvals: number;
    disagree: number;
    shadows: number;
  };
}

/** Observations in `buckets` equal time slots from `from` to `to`, champion and challenger side by side. */
export function series(
  observations: readonly Observation[],
  from: number,
  to: number,
  buckets: number,
  approveDecision?: string,
): SeriesPoint[] {
  const width = Math.max(1, Math.ceil((to - from) / buckets));
  const slots = Array.from({ length: buckets }, (_, i) => ({
    at: from + i * width,
    a: [] as Observation[],
    b: [] as Observation[],
  }));
  for (const o of observations) {
    const i = Math.floor((o.at - from) / width);
    const slot = slots[i];
    if (!slot) continue;
    (o.arm === 'champion' ? slot.a : slot.b).push(o);
  }
  const p95 = (xs: Observation[]) => {
    const ms = xs.filter((o) => o.ok).map((o) => o.ms);
    return ms.length ? quantileInterval(ms, 0.95).value : null;
  };
  const cpu = (xs: Observation[]) => {
    const ms = xs.filter((o) => o.cpuMs !== undefined).map((o) => o.cpuMs as number);
    return ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : null;
  };
  const side = (xs: Observation[]) => ({
    calls: xs.length,
    cpuMs: cpu(xs),
    errors: xs.filter((o) => !o.ok).length,
    p95Ms: p95(xs),
    approvals: approveDecision === undefined ? 0 : xs.filter((o) => o.decision === approveDecision).length,
  });
  return slots.map((s) => ({
    at: s.at,
    champion: side(s.a),
    challenger: {
      ...side(s.b),
      shadows: s.b.filter((o) => o.arm === 'shadow').length,
      disagree: s.b.filter((o) => o.agree === false).length,
    },
  }));
}
