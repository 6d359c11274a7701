import { describe, expect, it } from 'vitest';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { inputNode } from '../io/input.node.js';
import { outputNode } from '../io/output.node.js';
import { profileNode } from './profile.node.js';
import { levelNumber, suitabilityNode } from './suitability.node.js';

/** A typical shelf of retail products with their risk ratings. */
const shelf = [
  { id: 'MMF01', name: 'Money market fund', riskLevel: 'R1', redemptionDays: 1 },
  { id: 'WM06', name: '6-month wealth product', riskLevel: 'R2', termMonths: 6, redemptionDays: 180 },
  { id: 'BOND', name: 'Short bond fund', riskLevel: 'R2', redemptionDays: 2 },
  { id: 'MIX', name: 'Balanced fund', riskLevel: 'R3（中风险）', redemptionDays: 3 },
  { id: 'EQ300', name: 'CSI 300 index fund', riskLevel: 'R4', redemptionDays: 3 },
  { id: 'SNOTE', name: '2-year structured note', riskLevel: 'R4', termMonths: 24, redemptionDays: 730 },
  { id: 'PE', name: 'Private equity fund', riskLevel: 'R5', termMonths: 60, redemptionDays: 1825 },
  { id: 'NEW', name: 'Unrated new product', riskLevel: '' },
];

type Row = Record<string, unknown> & { id: string; reasons?: string[]; reason?: string };
const match = async (
  customer: Record<string, unknown>,
  config: Record<string, unknown> = {},
  products = shelf,
) =>
  (await runNodeOk(suitabilityNode, { config, inputs: { customer, products } })) as {
    suitable: Row[];
    excluded: Row[];
  };

describe('risk.suitability', () => {
  it('keeps products whose level does not exceed the customer’s (Rn suits Cm iff n ≤ m)', async () => {
    for (let m = 1; m <= 5; m++) {
      const { suitable, excluded } = await match(
        { level: `C${m}` },
        { checkHorizon: false, checkLiquidity: false },
      );
      for (const p of suitable) expect(levelNumber(p['riskLevel'], 5)).toBeLessThanOrEqual(m);
      expect(suitable.length + excluded.length).toBe(shelf.length);
      expect(excluded.map((p) => p.id)).toContain('NEW');
    }
    const c3 = await match(
      { level: 'C3', label: 'Balanced' },
      { checkHorizon: false, checkLiquidity: false },
    );
    expect(c3.suitable.map((p) => p.id)).toEqual(['MMF01', 'WM06', 'BOND', 'MIX']);
    expect(c3.excluded.find((p) => p.id === 'EQ300')?.reasons).toEqual([
      'risk level R4 is above your risk level C3 (Balanced); products up to R3 suit you',
    ]);
    expect(c3.excluded.find((p) => p.id === 'NEW')?.reason).toBe(
      'Unrated new product: risk level is missing; an unrated product cannot be matched',
    );
  });

  it('checks the term against the horizon and the redemption time against the liquidity need', async () => {
    const { suitable, excluded } = await match({
      level: 'C5',
      attributes: { horizonMonths: 36, liquidityDays: 30 },
    });
    expect(suitable.map((p) => p.id)).toEqual(['MMF01', 'BOND', 'MIX', 'EQ300']);
    expect(excluded.find((p) => p.id === 'PE')?.reasons).toEqual([
      'its term of 60 months is longer than your investment horizon of 36 months',
      'money can only be taken out after 1825 days, but you may need it within 30 days',
    ]);
    expect(excluded.find((p) => p.id === 'WM06')?.reasons).toEqual([
      'money can only be taken out after 180 days, but you may need it within 30 days',
    ]);
  });

  it('gives every reason at once, in Chinese too', async () => {
    const { excluded } = await match({ level: 'C2', label: '谨慎型', horizonMonths: 12 }, { language: 'zh' });
    expect(excluded.find((p) => p.id === 'SNOTE')?.reason).toBe(
      '2-year structured note: 产品风险等级 R4 高于您的风险承受能力等级 C2（谨慎型），适合您的产品为 R2 及以下；产品期限 24 个月长于您的投资期限 12 个月',
    );
  });

  it('refuses a customer without a readable level', async () => {
    const r = await runNode(suitabilityNode, { inputs: { customer: { level: 'high' }, products: shelf } });
    expect(r.error?.code).toBe('INVALID_CUSTOMER_LEVEL');
    const c7 = await runNode(suitabilityNode, { inputs: { customer: { level: 'C7' }, products: shelf } });
    expect(c7.error?.code).toBe('INVALID_CUSTOMER_LEVEL');
  });

  it('works in a flow behind risk.profile', async () => {
    const runtime = createRuntime({
      registry: createRegistry([inputNode, outputNode, profileNode, suitabilityNode]),
    });
    const flow = {
      schemaVersion: 1,
      id: 'suitability',
      name: 'KYC and product matching',
      nodes: [
        {
          id: 'in',
          type: 'io.input',
          version: 1,
          config: {
            schema: {
              type: 'object',
              properties: { answers: { type: 'object' }, products: { type: 'array' } },
            },
          },
        },
        { id: 'kyc', type: 'risk.profile', version: 1, config: {} },
        { id: 'match', type: 'risk.suitability', version: 1, config: {} },
        { id: 'ok', type: 'io.output', version: 1, config: { name: 'suitable' } },
        { id: 'no', type: 'io.output', version: 1, config: { name: 'excluded' } },
      ],
      edges: [
        { id: 'e1', from: { node: 'in', port: 'answers' }, to: { node: 'kyc', port: 'answers' } },
        { id: 'e2', from: { node: 'kyc', port: 'profile' }, to: { node: 'match', port: 'customer' } },
        { id: 'e3', from: { node: 'in', port: 'products' }, to: { node: 'match', port: 'products' } },
        { id: 'e4', from: { node: 'match', port: 'suitable' }, to: { node: 'ok', port: 'value' } },
        { id: 'e5', from: { node: 'match', port: 'excluded' }, to: { node: 'no', port: 'value' } },
      ],
    };
    const answers = {
      age: '51-60',
      income: '100k-500k',
      assets: '500k-3m',
      debt: 'small',
      liquidity: '1-3y',
      experience: '2-5y',
      products: ['bonds', 'equities'],
      knowledge: 'basic',
      horizon: '1-3y',
      goal: 'balanced',
      loss: 'up-to-10',
    };
    const r = await runtime.run(flow, { answers, products: shelf });
    expect(r.status).toBe('succeeded');
    // 5 + 5 + 5 + 6 + 6 + 7 + 8 + 3 + 4 + 7 + 4 = 60: C3 Balanced, horizon 36 months, liquidity 365 days.
    expect((r.outputs['suitable'] as Row[]).map((p) => p.id)).toEqual(['MMF01', 'WM06', 'BOND', 'MIX']);
    expect((r.outputs['excluded'] as Row[]).find((p) => p.id === 'SNOTE')?.reasons).toEqual([
      'risk level R4 is above your risk level C3 (Balanced); products up to R3 suit you',
      'money can only be taken out after 730 days, but you may need it within 365 days',
    ]);
  });
});
