/**
 * Robo-advisory: what a customer and a compliance reviewer would check. Each customer gets the level their
 * answers give, holds only the sleeves that level allows within its limits, and the figures of the whole
 * portfolio are recomputed here from the fixture's own prices; the explanation reaches the customer only with
 * the risk disclosure and only when it passes the marketing check.
 */
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { describe, expect, it } from 'vitest';
import { getTemplate, type TemplateFixture } from '../src/index.js';
import { runFixture } from '../src/testing.js';

const template = getTemplate('robo-advisory');
if (!template) throw new Error('robo-advisory template not found');
const fixture = (name: string): TemplateFixture => {
  const f = template.fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};

interface Row {
  asset: string;
  allowed: boolean;
  weight: number;
  amount: number;
}
interface Portfolio {
  level: string;
  weights: Record<string, number>;
  expectedReturn: number;
  volatility: number;
  sharpe: number | null;
  riskFreeRate: number;
  cashShare: number;
  riskyShare: number;
  allocation: Row[];
}
interface Input {
  amount: number;
  prices: Record<string, number | string>[];
}

/** Annualised compounded mean return and sample covariance (ddof 1) of daily prices, as PyPortfolioOpt computes them. */
function estimates(prices: Input['prices'], assets: string[]) {
  const returns = prices
    .slice(1)
    .map((row, t) => assets.map((a) => (row[a] as number) / (prices[t]?.[a] as number) - 1));
  const n = returns.length;
  const mu = assets.map((_, i) => returns.reduce((p, r) => p * (1 + (r[i] as number)), 1) ** (252 / n) - 1);
  const mean = assets.map((_, i) => returns.reduce((s, r) => s + (r[i] as number), 0) / n);
  const cov = assets.map((_, i) =>
    assets.map(
      (_, j) =>
        (returns.reduce(
          (s, r) => s + ((r[i] as number) - (mean[i] as number)) * ((r[j] as number) - (mean[j] as number)),
          0,
        ) /
          (n - 1)) *
        252,
    ),
  );
  return { mu, cov };
}

const run = async (name: string) => {
  const result = await runFixture(template, fixture(name), 'deterministic');
  expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
  return result;
};

const policy: Record<string, { riskyShare: number; caps: Record<string, number> }> = {
  C2: { riskyShare: 0.2, caps: { DEFENSIVE: 1, FINANCIALS: 0.3 } },
  C3: {
    riskyShare: 0.45,
    caps: { DEFENSIVE: 0.6, FINANCIALS: 0.35, ENERGY_INDUSTRIALS: 0.3, CONSUMER: 0.3, TECH: 0.35 },
  },
  C4: {
    riskyShare: 0.7,
    caps: {
      DEFENSIVE: 0.5,
      FINANCIALS: 0.4,
      ENERGY_INDUSTRIALS: 0.4,
      CONSUMER: 0.4,
      TECH: 0.4,
      GROWTH: 0.15,
    },
  },
  C5: {
    riskyShare: 0.9,
    caps: {
      DEFENSIVE: 0.5,
      FINANCIALS: 0.5,
      ENERGY_INDUSTRIALS: 0.5,
      CONSUMER: 0.5,
      TECH: 0.5,
      GROWTH: 0.35,
    },
  },
};

describe('robo-advisory', () => {
  it.each([
    ['c2-near-retirement', 'C2'],
    ['c3-balanced-professional', 'C3'],
    ['c4-growth-saver', 'C4'],
    ['c5-experienced-investor', 'C5'],
  ])(
    '%s (%s) holds only the sleeves its level allows, within their limits, at maximum Sharpe',
    async (name, level) => {
      const { outputs, nodes } = await run(name);
      const p = outputs['portfolio'] as Portfolio;
      const { riskyShare, caps } = policy[level] as (typeof policy)[string];
      expect(p.level).toBe(level);
      expect(nodes['portfolio']?.status).toBe('succeeded');
      expect(p.cashShare).toBeCloseTo(1 - riskyShare, 12);
      expect(Object.values(p.weights).reduce((s, w) => s + w, 0)).toBeCloseTo(1, 7);
      for (const [asset, w] of Object.entries(p.weights)) {
        expect(w, asset).toBeGreaterThanOrEqual(0);
        if (asset === 'CASH') continue;
        expect(w, `${asset} at ${level}`).toBeLessThanOrEqual((caps[asset] ?? 0) * riskyShare + 1e-8);
      }
      const input = fixture(name).input as Input;
      for (const row of p.allocation)
        expect(row.amount).toBeCloseTo(input.amount * (p.weights[row.asset] as number), 1);

      // The whole portfolio's figures, recomputed from the fixture's prices.
      const assets = Object.keys(caps);
      const { mu, cov } = estimates(input.prices, assets);
      const risky = assets.map((a) => (p.weights[a] as number) / riskyShare);
      const sharpeOf = (w: number[]) => {
        const ret = w.reduce((s, x, i) => s + x * (mu[i] as number), 0);
        const variance = w.reduce(
          (s, x, i) => s + w.reduce((t, y, j) => t + x * y * ((cov[i] as number[])[j] as number), 0),
          0,
        );
        return { ret, vol: Math.sqrt(variance), sharpe: (ret - p.riskFreeRate) / Math.sqrt(variance) };
      };
      const best = sharpeOf(risky);
      expect(p.expectedReturn).toBeCloseTo(riskyShare * best.ret + (1 - riskyShare) * p.riskFreeRate, 6);
      expect(p.volatility).toBeCloseTo(riskyShare * best.vol, 6);
      expect(p.sharpe).toBeCloseTo(best.sharpe, 5);
      // No feasible shift of weight between two allowed sleeves raises the Sharpe ratio.
      for (let i = 0; i < assets.length; i++)
        for (let j = 0; j < assets.length; j++) {
          if (i === j) continue;
          const eps = 0.01;
          const w = [...risky];
          w[i] = (w[i] as number) + eps;
          w[j] = (w[j] as number) - eps;
          if ((w[j] as number) < 0 || (w[i] as number) > (caps[assets[i] as string] as number)) continue;
          expect(sharpeOf(w).sharpe, `${assets[i]} +1%, ${assets[j]} -1%`).toBeLessThan(best.sharpe);
        }
    },
  );

  it('caps a customer who cannot accept any loss at C1 and keeps everything in cash management', async () => {
    const { outputs, nodes } = await run('c1-cannot-accept-loss');
    const profile = outputs['profile'] as { level: string; scoreLevel?: string; reasons: string[] };
    expect(profile.level).toBe('C1');
    expect(profile.scoreLevel).toBe('C4');
    expect(profile.reasons.join('')).toContain('不能承受亏损');
    const p = outputs['portfolio'] as Portfolio;
    expect(nodes['portfolio']?.status).toBe('skipped');
    expect(p.weights).toEqual({
      CASH: 1,
      DEFENSIVE: 0,
      FINANCIALS: 0,
      ENERGY_INDUSTRIALS: 0,
      CONSUMER: 0,
      TECH: 0,
      GROWTH: 0,
    });
    expect(p.volatility).toBe(0);
    expect(p.sharpe).toBeNull();
    expect(outputs['explanation']).toContain('现金管理类产品不是存款');
  });

  it('sends the explanation with the risk disclosure, after it passed the marketing check', async () => {
    const { outputs } = await run('c3-balanced-professional');
    const disclosure = outputs['riskDisclosure'] as string;
    expect(disclosure).toContain('市场有风险，投资需谨慎');
    expect(disclosure).toContain('过往业绩不代表未来表现');
    expect(disclosure).toContain('2016-04-11 至 2018-04-11');
    const explanation = outputs['explanation'] as string;
    expect(explanation.startsWith('[deterministic test model]')).toBe(true);
    expect(explanation.endsWith(disclosure)).toBe(true);
    expect(outputs['compliance']).toMatchObject({ outcome: 'pass', reasons: [] });
  });

  it('holds back an explanation that promises returns', async () => {
    class PromisingModel extends SimpleChatModel {
      _llmType() {
        return 'promising';
      }
      async _call() {
        return '这个组合保本保收益，稳赚不赔。';
      }
    }
    const runtime = createRuntime({
      registry: createBuiltinRegistry(),
      services: { models: { chatModel: () => new PromisingModel({}) } },
    });
    const result = await runtime.run(template.flow, fixture('c3-balanced-professional').input);
    expect(result.status).toBe('succeeded');
    const compliance = result.outputs['compliance'] as { outcome: string; reasons: string[] };
    expect(compliance.outcome).toBe('reject');
    expect(compliance.reasons.join('\n')).toContain('CN-AD25-GUARANTEE');
    expect(result.outputs['explanation']).not.toContain('保本保收益');
    expect(result.outputs['explanation']).toContain('转人工复核');
  });

  it('runs the example input that prefills the run form in the editor', async () => {
    const input = (template.flow['nodes'] as { type: string; config: { example?: unknown } }[]).find(
      (n) => n.type === 'io.input',
    )?.config.example;
    expect(input).toBeDefined();
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const result = await runtime.run(template.flow, input);
    expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
  });
});
