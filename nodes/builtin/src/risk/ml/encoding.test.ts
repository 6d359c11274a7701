import { describe, expect, it } from 'vitest';
import {
  encodeRow,
  encodedWidth,
  featureMeans,
  featureNames,
  fitEncoders,
  inferColumnTypes,
  type EncodeIssue,
} from './encoding.js';
import { velocityFeatures } from './velocity.js';

const rows = [
  { amount: 100, grade: 'A', term: '36' },
  { amount: '300', grade: 'B', term: '60' },
  { amount: 200, grade: 'A', term: '36' },
  { amount: null, grade: 'C', term: '36' },
];

describe('column types', () => {
  it('tells numbers from categories, honouring explicit lists', () => {
    const types = inferColumnTypes(rows, ['amount', 'grade', 'term'], { categorical: ['term'] });
    expect(Object.fromEntries(types)).toEqual({
      amount: 'numeric',
      grade: 'categorical',
      term: 'categorical',
    });
    expect(inferColumnTypes(rows, ['term']).get('term')).toBe('numeric');
  });

  it('rejects a stray word in a numeric column instead of turning it into categories', () => {
    const bad = [...rows, { amount: 'n/a', grade: 'A', term: '36' }];
    expect(() => inferColumnTypes(bad, ['amount'])).toThrow(
      /row 5, column "amount" is numeric but holds "n\/a"/,
    );
  });
});

describe('encoders', () => {
  const types = inferColumnTypes(rows, ['amount', 'grade']);
  const encoders = fitEncoders(rows, ['amount', 'grade'], types);

  it('standardises numbers over the non-missing values and one-hot encodes categories', () => {
    expect(encoders[0]).toMatchObject({ type: 'numeric', mean: 200, missing: 1 });
    expect((encoders[0] as { std: number }).std).toBeCloseTo(Math.sqrt(20000 / 3), 12);
    expect(encoders[1]).toMatchObject({
      type: 'categorical',
      levels: ['A', 'B', 'C'],
      frequencies: [0.5, 0.25, 0.25],
    });
    expect(featureNames(encoders)).toEqual(['amount', 'grade=A', 'grade=B', 'grade=C']);
    expect(featureMeans(encoders)).toEqual([0, 0.5, 0.25, 0.25]);
    expect(encodedWidth(encoders)).toBe(4);
  });

  it('encodes a missing number and an unseen category as the training average, and says so', () => {
    const out = new Float64Array(4);
    const issues: EncodeIssue[] = [];
    encodeRow({ amount: '', grade: 'Z' }, encoders, out, 0, 0, issues);
    expect(Array.from(out)).toEqual([0, 0.5, 0.25, 0.25]);
    expect(issues).toEqual([
      { column: 'amount', kind: 'missing' },
      { column: 'grade', kind: 'unseen', value: 'Z' },
    ]);
    encodeRow({ amount: 300, grade: 'B' }, encoders, out, 0, 0);
    expect(Array.from(out.subarray(1))).toEqual([0, 1, 0]);
  });
});

describe('velocity features', () => {
  const H = 3_600_000;
  const t0 = Date.parse('2024-03-01T12:00:00Z');
  const cfg = {
    customerColumn: 'card',
    timeColumn: 'at',
    amountColumn: 'amount',
    timeUnit: 'milliseconds' as const,
  };

  it('counts only the same customer’s strictly earlier transactions in each window', () => {
    const table = [
      { card: 'a', at: t0 - 30 * H, amount: 1000 }, // outside 24 h of the last one
      { card: 'a', at: t0 - 5 * H, amount: 20 },
      { card: 'b', at: t0 - 0.5 * H, amount: 999 }, // another customer
      { card: 'a', at: t0 - 0.25 * H, amount: 30 },
      { card: 'a', at: new Date(t0).toISOString(), amount: 250 },
    ];
    const v = velocityFeatures(table, [], cfg);
    expect(v[4]).toEqual({
      txCount1h: 1,
      txAmount1h: 30,
      txCount24h: 2,
      txAmount24h: 50,
      amountToCustomerMean: 250 / (1050 / 3),
      amountToCustomerMax: 0.25,
      hoursSinceLast: 0.25,
      historyCount: 3,
    });
    expect(v[0]).toMatchObject({
      historyCount: 0,
      txCount24h: 0,
      amountToCustomerMean: 1,
      hoursSinceLast: 720,
    });
  });

  it('uses a given history, in seconds, for one transaction', () => {
    const sec = { ...cfg, timeUnit: 'seconds' as const };
    const now = t0 / 1000;
    const history = [
      { at: now - 60, amount: 10 },
      { at: now - 120, amount: 10 },
      { at: now + 60, amount: 10 }, // later: ignored
    ];
    const [v] = velocityFeatures([{ card: 'x', at: now, amount: 40 }], history, sec);
    expect(v).toMatchObject({ txCount1h: 2, txAmount1h: 20, amountToCustomerMax: 4, hoursSinceLast: 1 / 60 });
  });

  it('rejects a time it cannot read', () => {
    expect(() => velocityFeatures([{ card: 'a', at: 'yesterday', amount: 1 }], [], cfg)).toThrow(
      /"yesterday" is not a time/,
    );
  });
});
