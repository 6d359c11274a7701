import { describe, expect, it } from 'vitest';
import { correctionValue, fieldText, formatDuration, slaState, valueAt } from './sla.js';

describe('review inbox helpers', () => {
  it('says how long until a task is due, or how long it is overdue', () => {
    const now = Date.parse('2026-09-15T09:00:00Z');
    expect(slaState(null, now)).toEqual({ kind: 'none' });
    expect(slaState(now + 3 * 3_600_000, now)).toEqual({ kind: 'due', ms: 3 * 3_600_000, urgent: false });
    expect(slaState(now + 59 * 60_000, now)).toMatchObject({ kind: 'due', urgent: true });
    expect(slaState(now - 5 * 60_000, now)).toEqual({ kind: 'overdue', ms: 5 * 60_000 });
  });

  it('formats durations in two units, in English and Chinese', () => {
    expect(formatDuration(3 * 3_600_000 + 12 * 60_000 + 40_000, 'en')).toBe('3h 12m');
    expect(formatDuration(3 * 3_600_000 + 12 * 60_000, 'zh-CN')).toBe('3 小时 12 分');
    expect(formatDuration(2 * 86_400_000 + 5 * 3_600_000, 'en')).toBe('2d 5h');
    expect(formatDuration(4 * 60_000 + 5_000, 'en')).toBe('4m 05s');
    expect(formatDuration(45_400, 'en')).toBe('45s');
    expect(formatDuration(-1, 'en')).toBe('0s');
  });

  it('turns what a reviewer typed into the value of the field it corrects', () => {
    expect(correctionValue(3017, '2,500')).toBe(2500);
    expect(correctionValue(3017, 'two thousand')).toBeUndefined();
    expect(correctionValue(3017, ' ')).toBeUndefined();
    expect(correctionValue(true, 'false')).toBe(false);
    expect(correctionValue(undefined, 'A reply')).toBe('A reply');
    expect(fieldText(24)).toBe('24');
    expect(fieldText(undefined)).toBe('');
    expect(valueAt({ loan: { amount: 3017 } }, 'loan.amount')).toBe(3017);
    expect(valueAt({ loan: { amount: 3017 } }, 'loan.term')).toBeUndefined();
  });
});
