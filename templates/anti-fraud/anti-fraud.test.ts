import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { describe, expect, it } from 'vitest';
import { loadTemplate, type TemplateFixture } from '../src/index.js';
import type { ReviewTask } from '@finflow/nodes';
import { runFixtureReviewed } from '../src/testing.js';

const dir = new URL('./', import.meta.url);
const template = loadTemplate(new URL('.', dir).pathname);
const trainConfig = JSON.parse(readFileSync(new URL('train-config.json', dir), 'utf8')) as {
  dataset: string;
  heldOutRows: number[];
  trainedAt: string;
  node: Record<string, unknown>;
};

interface Reason {
  code: string;
  source: 'model' | 'rule';
  text: string;
  textZh: string;
  factors?: string[];
  factorsZh?: string[];
}
interface Decision {
  outcome: 'approve' | 'review' | 'block';
  reasonCodes: string[];
  reasons: Reason[];
  fraudProbability: number;
  modelOutcome: string;
  rulesOutcome: string;
}
interface Audit {
  decision: string;
  reasonCodes: string[];
  transactionId: string;
  model: { version: string; probability: number; thresholds: { review: number; block: number } };
  rules: { version: string; fired: string[] };
  input: Record<string, unknown>;
  features: Record<string, unknown>;
}

function fixture(name: string): TemplateFixture {
  const f = template.fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
}

interface AnalystReview {
  queue: string;
  action: string;
  outcome: 'approve' | 'block';
  reason: string;
  reviewers: { id: string; name: string }[];
}

/** Runs a payment; one sent to review goes on with the analyst's decision, or is returned waiting (`task`). */
async function run(
  input: unknown,
  analyst?: unknown,
): Promise<{ decision: Decision; audit: Audit; analystReview?: AnalystReview; task?: ReviewTask }> {
  const { result } = await runFixtureReviewed(
    template,
    { name: 'inline', file: '', input, ...(analyst ? { decisions: { analyst } } : {}) },
    'offline',
  );
  expect(result.error, JSON.stringify(result.error)).toBeUndefined();
  if (result.status === 'waiting') {
    const task = result.waiting?.[0]?.task as ReviewTask;
    return { decision: task.decision as unknown as Decision, audit: undefined as unknown as Audit, task };
  }
  return result.outputs as { decision: Decision; audit: Audit; analystReview?: AnalystReview };
}

const runFixtureNamed = (name: string) => run(fixture(name).input, fixture(name).decisions?.['analyst']);

function loadFraudRows(): Record<string, number>[] {
  const lines = readFileSync(new URL(`../../${trainConfig.dataset}`, dir), 'utf8')
    .trim()
    .split(/\r?\n/);
  const header = (lines[0] as string).split(',').map((h) => h.replace(/^"|"$/g, ''));
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((h, i) => [h, Number(cells[i])]));
  });
}

const storedModel = () =>
  (template.flow['nodes'] as { id: string; config: Record<string, unknown> }[]).find(
    (n) => n.id === 'fraudModel',
  )?.config['model'] as Record<string, unknown>;

describe('anti-fraud template', () => {
  it('blocks the stolen card used online from abroad, with the model and rule reason codes', async () => {
    const { decision, audit } = await runFixtureNamed('stolen-card-online');
    expect(decision.outcome).toBe('block');
    expect(decision.modelOutcome).toBe('block');
    expect(decision.reasonCodes).toEqual(['ML-BLOCK', 'FR-AMOUNT-SPIKE', 'FR-NEW-DEVICE-ABROAD']);
    const model = decision.reasons.find((r) => r.code === 'ML-BLOCK');
    expect(model?.factors?.length).toBe(3);
    // The anonymised PCA components are named as such, with the way they depart from a legitimate transaction.
    for (const f of model?.factors ?? [])
      expect(f).toMatch(
        /^Anonymised card-processor signal V\d+ unusually (high|low): -?[\d.]+ \(typical -?[\d.]+\)$/,
      );
    for (const f of model?.factorsZh ?? []) expect(f).toMatch(/^匿名化卡处理信号 V\d+ 异常偏[高低]：/);
    expect(model?.factorsZh?.length).toBe(3);
    // Business signals in business language, amounts with their currency, in English and Chinese.
    const spike = decision.reasons.find((r) => r.code === 'FR-AMOUNT-SPIKE');
    expect(spike?.text).toBe("Amount EUR 571.48 is 14.69 times the customer's usual EUR 38.9");
    expect(spike?.textZh).toBe('金额 EUR 571.48 是该客户平时金额 EUR 38.9 的 14.69 倍');
    expect(decision.reasons.find((r) => r.code === 'FR-NEW-DEVICE-ABROAD')?.text).toBe(
      'New device connecting from RO; the customer lives in DE',
    );
    expect(audit.decision).toBe('block');
    expect(audit.reasonCodes).toEqual(decision.reasonCodes);
    expect(audit.model.probability).toBeGreaterThan(audit.model.thresholds.block);
  });

  it('lets the rules catch what the model misses: card testing and an account takeover', async () => {
    const testing = await runFixtureNamed('card-testing-burst');
    expect(testing.decision.modelOutcome).toBe('approve');
    expect(testing.decision).toMatchObject({ outcome: 'review', reasonCodes: ['FR-VELOCITY-1H'] });
    const takeover = await runFixtureNamed('account-takeover');
    expect(takeover.decision.modelOutcome).toBe('approve');
    expect(takeover.decision.outcome).toBe('block');
    expect(takeover.decision.reasonCodes[0]).toBe('FR-ACCOUNT-TAKEOVER');
    expect(takeover.audit.features).toMatchObject({
      newDevice: true,
      credentialChange24h: true,
      lastCredentialChange: 'phone_change',
      minutesSinceCredentialChange: 24,
      failedLogins24h: 3,
    });
  });

  it('sends a transaction the model alone finds suspicious to review, and approves ordinary ones', async () => {
    const flagged = await runFixtureNamed('model-flags-review');
    expect(flagged.decision).toMatchObject({ outcome: 'review', reasonCodes: ['ML-REVIEW'] });
    const everyday = await runFixtureNamed('everyday-purchase');
    expect(everyday.decision).toMatchObject({ outcome: 'approve', reasonCodes: [], reasons: [] });
    // A customer without any history: no usual amount, no rule fires on missing history.
    const first = await runFixtureNamed('first-payment-no-history');
    expect(first.decision.outcome).toBe('approve');
    expect(first.audit.features).toMatchObject({
      typicalAmount: null,
      amountToTypical: null,
      newDevice: true,
    });
  });

  it('holds a payment sent to review for a fraud analyst, who releases or blocks it', async () => {
    const waiting = await run(fixture('model-flags-review').input);
    const task = waiting.task as ReviewTask;
    expect(task).toMatchObject({
      queue: 'fraud-analysts',
      roles: ['approver', 'analyst'],
      title: 'Card payment tx-20260611-118840',
      outcomes: ['approve', 'block'],
      sla: { dueInMinutes: 30, onExpiry: 'default', defaultOutcome: 'block' },
      approvalsRequired: 1,
    });
    expect(task.decision).toMatchObject({ outcome: 'review', reasonCodes: ['ML-REVIEW'] });
    expect(task.case).toMatchObject({
      transactionId: 'tx-20260611-118840',
      reasons: ['Fraud model probability 0.486 is above the review threshold 0.093'],
      behaviour: { newDevice: false, paymentsLastHour: 0 },
    });
    // The model's attributions, for the inbox's attribution bars.
    const model = task.case['model'] as {
      attributions: { feature: string; contribution: number }[];
      score: number;
    };
    expect(model.attributions.map((a) => a.feature)).toEqual(['V3', 'V14', 'V15']);
    expect(model.score).toBeCloseTo(0.486, 3);
    expect(task.summary.map((s) => s.path)).toContain('fraudProbability');

    const released = await runFixtureNamed('model-flags-review');
    expect(released.analystReview).toMatchObject({
      outcome: 'approve',
      reviewers: [{ name: 'Giulia Rossi' }],
    });
    const blocked = await runFixtureNamed('card-testing-burst');
    expect(blocked.analystReview).toMatchObject({ outcome: 'block', action: 'reject' });
    // Nobody decided within 30 minutes: the payment is blocked.
    const late = await run(fixture('model-flags-review').input, {
      action: 'default',
      reason: '',
      reviewers: [],
      decidedAt: Date.parse('2026-06-11T14:40:00Z'),
    });
    expect(late.analystReview).toMatchObject({ outcome: 'block', action: 'default', reviewers: [] });
    // Payments that are approved or blocked outright never wait.
    const everyday = await runFixtureNamed('everyday-purchase');
    expect(everyday.analystReview).toBeUndefined();
  });

  it('blocks a blocklisted device and measures behaviour at the transaction time, ignoring later events', async () => {
    const base = fixture('everyday-purchase').input as Record<string, Record<string, unknown>>;
    const blocked = await run({ ...base, device: { ...base['device'], fingerprint: 'fp-9a03f6c2e4b8' } });
    expect(blocked.decision.outcome).toBe('block');
    expect(blocked.decision.reasonCodes).toContain('FR-DEVICE-BLOCKLIST');
    const later = Array.from({ length: 6 }, (_, i) => ({
      at: `2026-03-14T18:0${i}:00Z`,
      type: 'payment',
      amount: 900,
      country: 'US',
    }));
    const activity = base['recentActivity'] as unknown as unknown[];
    const replay = await run({ ...base, recentActivity: [...activity, ...later] });
    const original = await runFixtureNamed('everyday-purchase');
    expect(replay.audit.features).toEqual(original.audit.features);
    expect(replay.decision).toEqual(original.decision);
  });

  it('records the version of the model it used, derived from the stored artefact', async () => {
    const model = storedModel();
    const version = `fraud-gbt-${createHash('sha256').update(JSON.stringify(model)).digest('hex').slice(0, 12)}`;
    const { audit } = await runFixtureNamed('everyday-purchase');
    expect(audit.model.version).toBe(version);
    expect(audit.rules.version).toBe('anti-fraud-rules-2026.11');
    expect(audit.input).not.toHaveProperty('ipAddress');
  });

  it('uses real transactions of the ULB data, held out of training', () => {
    const rows = loadFraudRows();
    const used = template.fixtures.map((f) => {
      const tx = (f.input as { transaction: { amount: number; pcaFeatures: Record<string, number> } })
        .transaction;
      const index = trainConfig.heldOutRows.find((i) => {
        const row = rows[i] as Record<string, number>;
        return row['Amount'] === tx.amount && Object.entries(tx.pcaFeatures).every(([k, v]) => row[k] === v);
      });
      expect(index, `${f.name} is a held-out row of the dataset`).toBeDefined();
      return index;
    });
    // A fixture asking for the other language repeats a case (same transaction id, same row); cases differ.
    const cases = new Set(
      template.fixtures.map((f) => (f.input as { transaction: { id: string } }).transaction.id),
    );
    expect(new Set(used).size).toBe(cases.size);
    expect((storedModel()['training'] as { rows: number }).rows).toBe(
      rows.length - trainConfig.heldOutRows.length,
    );
  });

  it(
    'stores exactly the model that train-model.mjs trains from train-config.json',
    { timeout: 180_000 },
    async () => {
      const rows = loadFraudRows();
      const held = new Set(trainConfig.heldOutRows);
      const runtime = createRuntime({
        registry: createBuiltinRegistry(),
        services: { clock: { now: () => Date.parse(trainConfig.trainedAt) } },
      });
      const r = await runtime.runNode(
        { type: 'risk.fraudScore', config: trainConfig.node },
        { table: rows.filter((_, i) => !held.has(i)) },
      );
      expect(r.status).toBe('succeeded');
      expect(JSON.parse(JSON.stringify(r.outputs?.['model']))).toEqual(storedModel());
    },
  );
});
