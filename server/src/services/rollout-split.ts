/**
 * The traffic split of a rollout: which version answers a call. A subject (a customer id read from the input,
 * otherwise the API key) hashes with the rollout's id to a bucket in 0..9999; the challenger answers buckets
 * below its share (in hundredths of a percent). So one subject sees one version while the share holds (sticky),
 * and raising the share only moves subjects from champion to challenger (monotone). Pure: no I/O, no clock.
 */
import { createHash } from 'node:crypto';

export const BUCKETS = 10_000;

export type Stage = 'shadow' | 'pilot' | 'expansion' | 'optimisation';
export type Arm = 'champion' | 'challenger';

/** A pilot cohort: API keys, or subjects whose input holds one of `values` at `path` (a branch, a product code). */
export interface Cohort {
  keys?: string[] | undefined;
  path?: string | undefined;
  values?: (string | number)[] | undefined;
}

export interface SplitState {
  rolloutId: string;
  stage: Stage;
  /** Percent of subjects (0-100) the challenger answers outside the cohort. */
  share: number;
  subjectPath?: string | undefined;
  cohort?: Cohort | undefined;
}

/** The value at a dotted path of a JSON value (own properties only), or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The subject of a call: the configured input path when it holds a string or number, else the API key. */
export function subjectOf(input: unknown, keyId: string, path: string | undefined): string {
  if (path) {
    const v = valueAt(input, path);
    if ((typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isFinite(v)))
      return `s:${String(v)}`;
  }
  return `k:${keyId}`;
}

/** The subject's bucket in 0..BUCKETS-1 for one rollout (48 bits of SHA-256: the modulo bias is below 1e-10). */
export function bucketOf(rolloutId: string, subject: string): number {
  const digest = createHash('sha256').update(rolloutId).update('\u0000').update(subject).digest();
  return digest.readUIntBE(0, 6) % BUCKETS;
}

function inCohort(cohort: Cohort | undefined, input: unknown, keyId: string): boolean {
  if (!cohort) return false;
  if (cohort.keys?.includes(keyId)) return true;
  if (cohort.path && cohort.values?.length) {
    const v = valueAt(input, cohort.path);
    return (typeof v === 'string' || typeof v === 'number') && cohort.values.includes(v);
  }
  return false;
}

/** The arm that answers a call. In shadow the champion always answers; the cohort is the pilot's only. */
export function armOf(state: SplitState, input: unknown, keyId: string): Arm {
  if (state.stage === 'shadow') return 'champion';
  if (state.stage === 'optimisation') return 'challenger';
  if (state.stage === 'pilot' && inCohort(state.cohort, input, keyId)) return 'challenger';
  const threshold = Math.round(state.share * (BUCKETS / 100));
  return bucketOf(state.rolloutId, subjectOf(input, keyId, state.subjectPath)) < threshold
    ? 'challenger'
    : 'champion';
}
