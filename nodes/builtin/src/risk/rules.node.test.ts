import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRegistry, createRuntime, validateNodeSpec } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { rulesNode } from './rules.node.js';

const datasets = fileURLToPath(new URL('../../../../datasets/', import.meta.url));
const registry = createRegistry([rulesNode]);
const runtime = createRuntime({ registry });

interface Hit {
  ruleId: string;
  outcome: string;
  message: string;
  facts: { fact: string; operator: string; threshold: unknown; value: unknown }[];
  values: Record<string, unknown>;
}
interface Out {
  decision: { outcome: string; reasons: string[]; rules: string[] };
  hits: Hit[];
}
const evaluate = async (
  config: Record<string, unknown>,
  record: Record<string, unknown>,
  lists?: Record<string, unknown>,
) => {
  const r = await runtime.runNode({ type: 'risk.rules', config }, { record, ...(lists ? { lists } : {}) });
  if (r.status !== 'succeeded') throw new Error(`${r.error?.code}: ${r.error?.message}`);
  return r.outputs as unknown as Out;
};

/** A credit policy over German Credit's attributes (UCI Statlog). */
const creditPolicy = {
  rules: [
    {
      id: 'age-min',
      description: 'Applicant under 21',
      conditions: { all: [{ fact: 'age', operator: 'lessThan', value: 21 }] },
      outcome: 'decline',
      message: 'Applicant is {{ age }}; the minimum age is 21',
      priority: 10,
    },
    {
      id: 'overdrawn-no-savings-large',
      conditions: {
        all: [
          { fact: 'checking', operator: 'equal', value: 'A11' },
          { fact: 'savings', operator: 'equal', value: 'A61' },
          { fact: 'amount', operator: 'greaterThan', value: 5000 },
        ],
      },
      outcome: 'decline',
      message: 'Overdrawn current account, savings under 100 DM and {{ amount }} DM requested',
    },
    {
      id: 'long-term',
      conditions: { all: [{ fact: 'duration', operator: 'greaterThan', value: 48 }] },
      outcome: 'review',
      message: 'Term of {{ duration }} months exceeds 48',
    },
    {
      id: 'installment-burden',
      conditions: {
        all: [
          { fact: 'installmentRate', operator: 'greaterThanInclusive', value: 4 },
          { fact: 'amount', operator: 'greaterThan', value: 10000 },
        ],
      },
      outcome: 'review',
    },
  ],
};

function germanCredit() {
  return readFileSync(`${datasets}german-credit/german.data`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const a = line.trim().split(/\s+/);
      return {
        record: {
          checking: a[0],
          duration: Number(a[1]),
          amount: Number(a[4]),
          savings: a[5],
          installmentRate: Number(a[7]),
          age: Number(a[12]),
        },
        bad: a[20] === '2',
      };
    });
}

describe('risk.rules on German Credit (credit policy)', () => {
  it('decides every application as the written policy says, and declines the riskier ones', async () => {
    const data = germanCredit();
    expect(data).toHaveLength(1000);
    const counts: Record<string, { n: number; bad: number }> = {};
    for (const { record, bad } of data) {
      const out = await evaluate(creditPolicy, record);
      // The same policy written by hand.
      const decline =
        record.age < 21 || (record.checking === 'A11' && record.savings === 'A61' && record.amount > 5000);
      const review = record.duration > 48 || (record.installmentRate >= 4 && record.amount > 10000);
      expect(out.decision.outcome).toBe(decline ? 'decline' : review ? 'review' : 'approve');
      const c = (counts[out.decision.outcome] ??= { n: 0, bad: 0 });
      c.n++;
      if (bad) c.bad++;
    }
    expect(counts['decline']?.n).toBe(54);
    expect(counts['review']?.n).toBe(23);
    const rate = (k: string) => (counts[k]?.bad ?? 0) / (counts[k]?.n ?? 1);
    // The policy does separate: 59% of declined applications were bad loans, against 28% of approved ones.
    expect(rate('decline')).toBeGreaterThan(0.55);
    expect(rate('approve')).toBeLessThan(0.3);
  });

  it('explains a hit with the facts and values that fired it', async () => {
    const out = await evaluate(creditPolicy, {
      checking: 'A11',
      savings: 'A61',
      amount: 12000,
      duration: 60,
      installmentRate: 4,
      age: 20,
    });
    expect(out.decision.outcome).toBe('decline');
    // Most severe first, then by priority.
    expect(out.decision.rules).toEqual([
      'age-min',
      'overdrawn-no-savings-large',
      'installment-burden',
      'long-term',
    ]);
    expect(out.decision.reasons[0]).toBe('Applicant is 20; the minimum age is 21');
    const large = out.hits.find((h) => h.ruleId === 'overdrawn-no-savings-large') as Hit;
    expect(large.facts).toEqual([
      { fact: 'checking', operator: 'equal', threshold: 'A11', value: 'A11' },
      { fact: 'savings', operator: 'equal', threshold: 'A61', value: 'A61' },
      { fact: 'amount', operator: 'greaterThan', threshold: 5000, value: 12000 },
    ]);
    // Without a message, the reason is built from the facts.
    expect(out.hits.find((h) => h.ruleId === 'installment-burden')?.message).toBe(
      'rule installment-burden: installmentRate = 4 (greaterThanInclusive 4); amount = 12000 (greaterThan 10000)',
    );
  });

  it('approves with no hits when no rule fires, or uses the configured default', async () => {
    const clean = {
      checking: 'A14',
      savings: 'A65',
      amount: 1000,
      duration: 12,
      installmentRate: 2,
      age: 40,
    };
    expect(await evaluate(creditPolicy, clean)).toEqual({
      decision: { outcome: 'approve', reasons: [], rules: [] },
      hits: [],
    });
    const manual = await evaluate({ ...creditPolicy, defaultOutcome: 'review' }, clean);
    expect(manual.decision.outcome).toBe('review');
  });
});

describe('risk.rules on card transactions (anti-fraud)', () => {
  it('flags the fraud in the ULB sample with a two-rule set, exactly as computed by hand', async () => {
    const [head, ...lines] = readFileSync(`${datasets}fraud/creditcard_ulb_492fraud_4000normal.csv`, 'utf8')
      .trim()
      .split(/\r?\n/);
    const cols = (head as string).split(',').map((c) => c.replace(/"/g, ''));
    const config = {
      rules: [
        {
          id: 'v14-large',
          conditions: {
            all: [
              { fact: 'V14', operator: 'lessThan', value: -5 },
              { fact: 'Amount', operator: 'greaterThan', value: 100 },
            ],
          },
          outcome: 'block',
        },
        {
          id: 'pca-outlier',
          conditions: {
            any: [
              { fact: 'V14', operator: 'lessThan', value: -5 },
              { fact: 'V17', operator: 'lessThan', value: -5 },
            ],
          },
          outcome: 'review',
        },
      ],
    };
    let tp = 0;
    let fp = 0;
    let fraud = 0;
    for (const line of lines) {
      const v = line.split(',').map((s) => Number(s.replace(/"/g, '')));
      const tx = Object.fromEntries(cols.map((c, i) => [c, v[i]]));
      const out = await evaluate(config, tx);
      const v14 = tx['V14'] as number;
      const expected =
        v14 < -5 && (tx['Amount'] as number) > 100
          ? 'block'
          : v14 < -5 || (tx['V17'] as number) < -5
            ? 'review'
            : 'approve';
      expect(out.decision.outcome).toBe(expected);
      const flagged = out.decision.outcome !== 'approve';
      if (tx['Class'] === 1) fraud++;
      if (flagged && tx['Class'] === 1) tp++;
      if (flagged && tx['Class'] === 0) fp++;
    }
    expect(fraud).toBe(492);
    expect(tp / (tp + fp)).toBeGreaterThan(0.98);
    expect(tp / fraud).toBeGreaterThan(0.7);
  });

  it('velocity and new device with a large amount, computed facts and a blacklist from upstream', async () => {
    const config = {
      rules: [
        {
          id: 'velocity',
          conditions: { all: [{ fact: 'txLastHour', operator: 'greaterThanInclusive', value: 5 }] },
          outcome: 'review',
          message: '{{ txLastHour }} transactions in the last hour',
        },
        {
          id: 'new-device-large',
          conditions: {
            all: [
              { fact: 'device', path: '$.ageDays', operator: 'lessThan', value: 1 },
              { fact: 'amountVsAverage', operator: 'greaterThan', value: 5 },
            ],
          },
          outcome: 'decline',
          message: 'New device and {{ amountVsAverage }}× the usual amount',
        },
        {
          id: 'blacklisted-card',
          conditions: { all: [{ fact: 'cardHash', operator: 'in', value: { fact: 'blockedCards' } }] },
          outcome: 'block',
        },
        {
          id: 'high-risk-merchant',
          conditions: { all: [{ fact: 'mcc', operator: 'in', value: { fact: 'riskyMcc' } }] },
          outcome: 'review',
        },
      ],
      derivedFacts: { amountVsAverage: '$round(amount / avgAmount30d, 1)' },
      lists: { riskyMcc: [7995, 4829], blockedCards: [] },
    };
    const tx = {
      amount: 4200,
      avgAmount30d: 350,
      txLastHour: 6,
      device: { id: 'd9', ageDays: 0 },
      cardHash: 'c1',
      mcc: 5411,
    };
    const out = await evaluate(config, tx);
    expect(out.decision).toEqual({
      outcome: 'decline',
      reasons: ['New device and 12× the usual amount', '6 transactions in the last hour'],
      rules: ['new-device-large', 'velocity'],
    });
    const hit = out.hits[0] as Hit;
    expect(hit.facts[0]).toEqual({
      fact: 'device',
      path: '$.ageDays',
      operator: 'lessThan',
      threshold: 1,
      value: 0,
    });
    // Lists on the input port add to the configured ones.
    const blocked = await evaluate(config, tx, { blockedCards: ['c1'] });
    expect(blocked.decision.outcome).toBe('block');
  });

  it('a "not" condition reports the fact that made it hold', async () => {
    const out = await evaluate(
      {
        rules: [
          {
            id: 'kyc',
            conditions: { not: { fact: 'kycStatus', operator: 'equal', value: 'verified' } },
            outcome: 'review',
          },
        ],
      },
      { kycStatus: 'pending' },
    );
    expect(out.hits[0]?.facts).toEqual([
      { fact: 'kycStatus', operator: 'not equal', threshold: 'verified', value: 'pending' },
    ]);
  });
});

describe('risk.rules errors and validation', () => {
  const problems = (config: Record<string, unknown>) =>
    validateNodeSpec(registry, { type: 'risk.rules', config }).map(
      (p) => `${p.path?.join('.')}: ${p.message}`,
    );

  it('fails flow validation on invalid rules, with the path of each problem', () => {
    const found = problems({
      rules: [
        {
          id: 'a',
          conditions: { all: [{ fact: 'age', operator: 'lessThen', value: 18 }] },
          outcome: 'decline',
        },
        { id: 'a', conditions: { any: [] }, outcome: 'deny' },
        { id: 'c', conditions: { all: [{ fact: 'x', opertor: 'equal', value: 1 }] }, outcome: 'review' },
        { id: 'd', conditions: { fact: 'x', operator: 'equal', value: 1 }, outcome: 'review' },
        {
          id: 'e',
          conditions: { all: [{ fact: 'x', path: '$..[?(@.a)]', operator: 'equal', value: 1 }] },
          outcome: 'review',
        },
      ],
      defaultOutcome: 'maybe',
      derivedFacts: { dti: 'debt / ' },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\.0\.conditions\.all\.0\.operator: unknown operator "lessThen"/),
        'rules.1.id: two rules have the id a',
        expect.stringMatching(/^rules\.1\.outcome: outcome "deny" is not one of/),
        'rules.1.conditions.any: "any" needs a non-empty list of conditions',
        'rules.2.conditions.all.0.opertor: unexpected key "opertor" in a condition',
        'rules.2.conditions.all.0: a condition needs "operator"',
        expect.stringMatching(/^rules\.3\.conditions: the top level of conditions is/),
        expect.stringMatching(/^rules\.4\.conditions\.all\.0\.path: path must look like/),
        expect.stringMatching(/^defaultOutcome: default outcome "maybe"/),
        expect.stringMatching(/^derivedFacts\.dti: /),
      ]),
    );
  });

  it('accepts operator decorators and a valid rule set', () => {
    expect(
      problems({
        rules: [
          {
            id: 'a',
            conditions: { all: [{ fact: 'tags', operator: 'someFact:in', value: ['x'] }] },
            outcome: 'review',
          },
        ],
      }),
    ).toEqual([]);
  });

  it('fails a run when the record lacks a fact a rule reads, unless told to ignore it', async () => {
    const r = await runNode(rulesNode, {
      config: creditPolicy,
      inputs: { record: { age: 30, amount: 100 } },
    });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('MISSING_FACT');
    expect(r.error?.message).toContain('"checking" (read by overdrawn-no-savings-large)');
    const ok = await runNodeOk(rulesNode, {
      config: { ...creditPolicy, missingFacts: 'ignore' },
      inputs: { record: { age: 19, amount: 100 } },
    });
    expect((ok['decision'] as { outcome: string }).outcome).toBe('decline');
  });

  it('gives the same answers when many records are evaluated at once (engines are not shared between runs)', async () => {
    const data = germanCredit().slice(0, 200);
    const one = [];
    for (const { record } of data) one.push((await evaluate(creditPolicy, record)).decision.outcome);
    const parallel = await Promise.all(
      data.map(async ({ record }) => (await evaluate(creditPolicy, record)).decision.outcome),
    );
    expect(parallel).toEqual(one);
  });
});
