/**
 * The split a customer sees: accurate over 10,000 subjects, sticky per subject, monotone as the share rises.
 */
import { describe, expect, it } from 'vitest';
import { armOf, bucketOf, subjectOf, type SplitState } from './rollout-split.js';

const customers = Array.from({ length: 10_000 }, (_, i) => ({ customer: { id: `CUST-${100_000 + i}` } }));
const state = (share: number, extra: Partial<SplitState> = {}): SplitState => ({
  rolloutId: 'ro_test',
  stage: 'expansion',
  share,
  subjectPath: 'customer.id',
  ...extra,
});

describe('the rollout split', () => {
  it('sends within ±2 % of the target share over 10,000 customers', () => {
    for (const share of [5, 25, 50, 75]) {
      const challenger = customers.filter((c) => armOf(state(share), c, 'key_a') === 'challenger').length;
      expect(Math.abs(challenger / customers.length - share / 100)).toBeLessThanOrEqual(0.02);
    }
  });

  it('gives one customer one version on every call, whatever key calls', () => {
    const s = state(25);
    const first = customers.map((c) => armOf(s, c, 'key_a'));
    const again = customers.map((c) => armOf(s, c, 'key_b'));
    expect(again).toEqual(first);
  });

  it('only moves customers from champion to challenger as the share rises', () => {
    let before = customers.map((c) => armOf(state(5), c, 'k'));
    for (const share of [25, 50, 100]) {
      const after = customers.map((c) => armOf(state(share), c, 'k'));
      for (let i = 0; i < customers.length; i++)
        if (before[i] === 'challenger') expect(after[i]).toBe('challenger');
      before = after;
    }
    expect(before.every((a) => a === 'challenger')).toBe(true);
  });

  it('uses the API key when the input has no subject, and hashes each rollout apart', () => {
    expect(subjectOf({}, 'key_a', 'customer.id')).toBe('k:key_a');
    expect(subjectOf({ customer: { id: 7 } }, 'key_a', 'customer.id')).toBe('s:7');
    expect(subjectOf({ customer: { id: { nested: 1 } } }, 'key_a', 'customer.id')).toBe('k:key_a');
    const a = customers.slice(0, 200).map((c) => bucketOf('ro_1', c.customer.id));
    const b = customers.slice(0, 200).map((c) => bucketOf('ro_2', c.customer.id));
    expect(a).not.toEqual(b);
  });

  it('sends the pilot cohort to the challenger, and nobody in shadow', () => {
    const pilot = state(0, {
      stage: 'pilot',
      cohort: { keys: ['key_branch'], path: 'branch', values: ['SH-01'] },
    });
    expect(armOf(pilot, { customer: { id: 'x' } }, 'key_branch')).toBe('challenger');
    expect(armOf(pilot, { branch: 'SH-01' }, 'key_other')).toBe('challenger');
    expect(armOf(pilot, { branch: 'BJ-02' }, 'key_other')).toBe('champion');
    expect(customers.some((c) => armOf(state(100, { stage: 'shadow' }), c, 'k') === 'challenger')).toBe(
      false,
    );
  });
});
