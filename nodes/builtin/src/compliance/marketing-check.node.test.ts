import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { marketingCheckNode, type Finding } from './marketing-check.node.js';
import { CN_RULES, US_RULES } from './marketing/rules.js';

async function check(text: string, config: Record<string, unknown> = {}) {
  const out = await runNodeOk(marketingCheckNode, { inputs: { text }, config });
  return {
    passed: out['passed'] as boolean,
    findings: out['findings'] as unknown as Finding[],
    decision: out['decision'] as { outcome: string; reasons: string[]; jurisdiction: string },
  };
}

const claims = (findings: Finding[]) =>
  findings.filter((f) => f.kind === 'prohibited-claim').map((f) => [f.ruleId, f.text]);
const missing = (findings: Finding[]) =>
  findings.filter((f) => f.kind === 'missing-disclosure').map((f) => f.ruleId);

describe('Chinese promotions', () => {
  it('rejects guaranteed principal and returns, with spans and the cited law', async () => {
    const text = '鑫享理财，保本保收益，年化收益6%，零风险稳赚不赔！';
    const { passed, findings, decision } = await check(text);
    expect(passed).toBe(false);
    expect(decision.outcome).toBe('reject');
    expect(decision.jurisdiction).toBe('CN');
    expect(claims(findings)).toEqual([
      ['CN-AD25-GUARANTEE', '保本保收益'],
      ['CN-AD25-GUARANTEE', '零风险'],
      ['CN-AD25-GUARANTEE', '稳赚不赔'],
    ]);
    for (const f of findings.filter((f) => f.start !== undefined))
      expect(text.slice(f.start, f.end)).toBe(f.text);
    expect(findings[0]!.source).toContain('广告法》第二十五条');
    expect(missing(findings)).toEqual(['CN-RISK-WARNING', 'CN-PAST-PERFORMANCE']);
  });

  it('passes a compliant text whose negations are disclosures, not claims', async () => {
    const text =
      '本产品为非保本浮动收益型理财产品，不保证本金和收益，并非无风险投资。产品过往业绩不代表其未来表现。理财非存款、产品有风险、投资须谨慎。';
    const { passed, findings, decision } = await check(text);
    expect(findings).toEqual([]);
    expect(passed).toBe(true);
    expect(decision.outcome).toBe('pass');
  });

  it('accepts 市场有风险，投资需谨慎 as the risk warning and asks for the past-performance caveat only with figures', async () => {
    expect((await check('XX成长混合基金，精选优质企业。市场有风险，投资需谨慎。')).findings).toEqual([]);
    const withFigure = await check('XX成长混合基金近一年收益率达18.5%。市场有风险，投资需谨慎。');
    expect(missing(withFigure.findings)).toEqual(['CN-PAST-PERFORMANCE']);
    expect(withFigure.decision.outcome).toBe('review');
  });

  it('flags presenting a product as a deposit and superlatives', async () => {
    const { findings } = await check('这款产品等同存款，是最安全的选择。市场有风险，投资需谨慎。');
    expect(claims(findings)).toEqual([
      ['CN-WMP-DEPOSIT', '等同存款'],
      ['CN-AD9-SUPERLATIVE', '最安全'],
    ]);
  });

  it('does not read the risk-free rate as a no-risk claim', async () => {
    expect(
      claims((await check('夏普比率以一年期国债收益作为无风险利率计算。市场有风险，投资需谨慎。')).findings),
    ).toEqual([]);
  });
});

describe('English promotions', () => {
  it('flags promissory claims and missing disclosures under FINRA 2210', async () => {
    const { findings, decision } = await check(
      'Our Growth Fund offers guaranteed returns and is completely risk-free. It returned 12% last year.',
    );
    expect(decision.jurisdiction).toBe('US');
    expect(claims(findings)).toEqual([
      ['US-FINRA2210-PROMISSORY', 'guaranteed returns'],
      ['US-FINRA2210-PROMISSORY', 'risk-free'],
    ]);
    expect(missing(findings)).toEqual(['US-FINRA2210-RISK-DISCLOSURE', 'US-SEC482-PAST-PERFORMANCE']);
    expect(decision.outcome).toBe('reject');
  });

  it('treats "not guaranteed" and "no investment is risk-free" as disclosures', async () => {
    const text =
      'Returns are not guaranteed and no investment is risk-free. Investing involves risk, including possible loss of principal. The fund returned 12% in 2023; past performance does not guarantee future results.';
    const { findings, passed } = await check(text);
    expect(findings).toEqual([]);
    expect(passed).toBe(true);
  });

  it('flags performance projections', async () => {
    const { findings } = await check('This portfolio will double your savings. Investing involves risk.');
    expect(claims(findings)).toEqual([['US-FINRA2210-PROJECTION', 'will double']]);
  });
});

describe('configuration', () => {
  it('applies custom phrases as literal text, and disables default rules', async () => {
    const config = {
      disabledRules: ['CN-RISK-WARNING'],
      rules: [
        {
          id: 'BANK-01',
          kind: 'prohibited',
          phrases: ['内部渠道', '限时秒杀'],
          severity: 'high',
          message: '禁用营销话术',
          source: '本行营销宣传管理办法第8条',
        },
      ],
    };
    const { findings, decision } = await check('限时秒杀：内部渠道专享（.*）', config);
    expect(claims(findings)).toEqual([
      ['BANK-01', '限时秒杀'],
      ['BANK-01', '内部渠道'],
    ]);
    expect(decision.outcome).toBe('reject');
  });

  it('lets a jurisdiction be forced and a severity threshold be set', async () => {
    const text = 'This is the best fund for you. Investing involves risk.';
    expect((await check(text)).passed).toBe(true); // a low-severity superlative only
    expect((await check(text, { failOn: 'low' })).passed).toBe(false);
    // Chinese law in English: the superlative is a CN-AD9 finding, the English risk warning satisfies CN's.
    expect((await check(text, { jurisdiction: 'CN' })).findings.map((f) => f.ruleId)).toEqual([
      'CN-AD9-SUPERLATIVE',
    ]);
  });

  it('holds an English promotion of a Chinese institution to the CN rules in their English wording', async () => {
    const cn = { jurisdiction: 'CN' };
    const bad = await check(
      'Our fund offers guaranteed returns of 6% a year. It is as safe as a bank deposit.',
      cn,
    );
    expect(claims(bad.findings)).toEqual([
      ['CN-AD25-GUARANTEE', 'guaranteed returns'],
      ['CN-WMP-DEPOSIT', 'safe as a bank deposit'],
    ]);
    expect(missing(bad.findings)).toEqual(['CN-RISK-WARNING', 'CN-PAST-PERFORMANCE']);
    expect(bad.decision.outcome).toBe('reject');
    const figures =
      'From historical data, the annual return was about 5.2%. Investing involves risk; invest with caution.';
    expect(missing((await check(figures, cn)).findings)).toEqual(['CN-PAST-PERFORMANCE']);
    const good = await check(`${figures} Past performance does not guarantee future results.`, cn);
    expect(good.findings).toEqual([]);
    expect(good.passed).toBe(true);
  });

  it('rejects unknown disabled rule ids at validation', async () => {
    const r = await runNode(marketingCheckNode, {
      inputs: { text: 'x' },
      config: { disabledRules: ['NOPE'] },
    });
    expect(r.error?.code).toBe('INVALID_CONFIG');
  });

  it('cites a source in every default rule', () => {
    for (const rule of [...CN_RULES, ...US_RULES]) expect(rule.source.length).toBeGreaterThan(10);
  });
});
