/**
 * Wealth-product recommendation: what an adviser and a compliance reviewer check. A product is recommended only
 * when it suits the customer's level, horizon, liquidity need and amount; every other product is listed with its
 * reasons; the recommendations are diversified against the holdings; the pitch reaches the customer only with
 * the disclosures and only when it passes the marketing check.
 */
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { describe, expect, it } from 'vitest';
import { getTemplate, type TemplateFixture } from '../src/index.js';
import { runFixture } from '../src/testing.js';

const template = getTemplate('wealth-recommendation');
if (!template) throw new Error('wealth-recommendation template not found');
const fixture = (name: string): TemplateFixture => {
  const f = template.fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};

interface Product {
  code: string;
  name: string;
  category: string;
  riskLevel: string;
  termMonths: number;
  redemptionDays: number;
  minAmount: number;
}
interface Ranked extends Product {
  score: number;
  reasons: string[];
  disclosure: string;
  recommended: boolean;
}
interface Excluded {
  code: string;
  reasons: string[];
}

async function run(name: string) {
  const result = await runFixture(template as NonNullable<typeof template>, fixture(name), 'deterministic');
  expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
  const o = result.outputs;
  return {
    level: (o['profile'] as { rank: number; level: string }).rank,
    recommendations: o['recommendations'] as Ranked[],
    eligible: o['eligible'] as Ranked[],
    excluded: o['excluded'] as Excluded[],
    pitch: o['pitch'] as string,
    disclosure: o['disclosure'] as string,
    compliance: o['compliance'] as { outcome: string; reasons: string[] },
  };
}

const levelOf = (p: { riskLevel: string }) => Number(/\d/.exec(p.riskLevel)?.[0]);
const byCode = (list: { code: string }[]) => list.map((p) => p.code).sort();

describe('wealth-recommendation', () => {
  it.each(template.fixtures.map((f) => [f.name] as const))(
    '%s: every product on the shelf is either eligible or excluded with reasons, never both',
    async (name) => {
      const r = await run(name);
      const shelf = (fixture(name).input as { products: Product[]; amount: number }).products;
      expect([...byCode(r.eligible), ...byCode(r.excluded)].sort()).toEqual(byCode(shelf));
      for (const p of r.eligible) {
        expect(levelOf(p), p.code).toBeLessThanOrEqual(r.level);
        expect(p.minAmount).toBeLessThanOrEqual((fixture(name).input as { amount: number }).amount);
      }
      for (const x of r.excluded) expect(x.reasons.length, x.code).toBeGreaterThan(0);
      // Recommendations: the best of each category, at most three, in score order.
      const cats = r.recommendations.map((p) => p.category);
      expect(new Set(cats).size).toBe(cats.length);
      expect(r.recommendations.length).toBe(Math.min(3, new Set(r.eligible.map((p) => p.category)).size));
      for (const p of r.recommendations) {
        const rivals = r.eligible.filter((q) => q.category === p.category);
        expect(Math.max(...rivals.map((q) => q.score))).toBe(p.score);
      }
      const scores = r.eligible.map((p) => p.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    },
  );

  it('offers a customer who cannot accept losses only the R1 cash-management product', async () => {
    const r = await run('c1-capital-preservation');
    expect(r.level).toBe(1);
    expect(r.recommendations.map((p) => p.code)).toEqual(['WM-CM-01']);
    const equity = r.excluded.find((x) => x.code === 'WM-EQ-08');
    expect(equity?.reasons).toEqual([
      '产品风险等级 R4 高于您的风险承受能力等级 C1（保守型），适合您的产品为 R1 及以下',
    ]);
    const bond = r.excluded.find((x) => x.code === 'WM-FI-02');
    expect(bond?.reasons).toContain('资金 90 天后方可取回，超过您可等待的 7 天');
  });

  it('a C2 retiree gets no R3 product, and the excluded R3 product says why', async () => {
    const r = await run('c2-retiree-bond-holder');
    expect(r.level).toBe(2);
    expect(r.recommendations.every((p) => levelOf(p) <= 2)).toBe(true);
    const mixed = r.excluded.find((x) => x.code === 'WM-MX-06');
    expect(mixed?.reasons).toEqual([
      '产品风险等级 R3 高于您的风险承受能力等级 C2（谨慎型），适合您的产品为 R2 及以下',
      '资金 548 天后方可取回，超过您可等待的 365 天',
    ]);
    // The retiree already holds bonds: the 固收+ product the retiree lacks ranks first.
    expect(r.recommendations[0]?.code).toBe('WM-FP-04');
    expect(r.recommendations[0]?.reasons).toContain('您目前没有固收+类资产，可分散配置');
  });

  it('an equity-heavy customer short of cash gets a liquid product and no more equity', async () => {
    const r = await run('c4-equity-heavy-low-cash');
    expect(r.recommendations.some((p) => p.category === '权益')).toBe(false);
    const liquid = r.recommendations.find((p) => p.redemptionDays <= 7);
    expect(liquid?.code).toBe('WM-CM-01');
    expect(liquid?.reasons.join('')).toContain('可补充流动性');
    expect(r.excluded.find((x) => x.code === 'WM-PB-10')?.reasons).toEqual([
      '起购金额 1,000,000 元，高于本次拟投资的 200,000 元',
    ]);
    expect(r.excluded.find((x) => x.code === 'WM-EQ-09')?.reasons[0]).toContain('R5');
  });

  it('never recommends an unrated product', async () => {
    const r = await run('c5-private-banking-unrated-product');
    expect(r.excluded.find((x) => x.code === 'WM-MX-11')?.reasons).toEqual([
      '风险等级缺失，未评级产品不予推荐',
    ]);
    expect(r.eligible.map((p) => p.code)).toContain('WM-PB-10');
  });

  it('sends the pitch with the disclosures, after it passed the marketing check', async () => {
    const r = await run('c2-retiree-bond-holder');
    expect(r.compliance).toMatchObject({ outcome: 'pass', reasons: [] });
    expect(r.disclosure).toContain('理财非存款、产品有风险、投资须谨慎');
    expect(r.disclosure).toContain('过往业绩不代表未来表现');
    for (const p of r.recommendations) expect(r.disclosure).toContain(p.disclosure);
    expect(r.pitch.startsWith('[deterministic test model]')).toBe(true);
    expect(r.pitch.endsWith(r.disclosure)).toBe(true);
  });

  it('holds back a pitch that compares the product with a deposit and promises returns', async () => {
    class PushyModel extends SimpleChatModel {
      _llmType() {
        return 'pushy';
      }
      async _call() {
        return '这款理财和存款一样安全，保证收益，闭眼买。';
      }
    }
    const runtime = createRuntime({
      registry: createBuiltinRegistry(),
      services: { models: { chatModel: () => new PushyModel({}) } },
    });
    const result = await runtime.run(template.flow, fixture('c2-retiree-bond-holder').input);
    expect(result.status).toBe('succeeded');
    const compliance = result.outputs['compliance'] as { outcome: string; reasons: string[] };
    expect(compliance.outcome).toBe('reject');
    const reasons = compliance.reasons.join('\n');
    expect(reasons).toContain('CN-WMP-DEPOSIT');
    expect(reasons).toContain('CN-AD25-GUARANTEE');
    expect(result.outputs['pitch']).not.toContain('和存款一样安全');
    expect(result.outputs['pitch']).toContain('转人工复核');
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
