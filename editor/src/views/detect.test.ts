import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { highlightSegments, picturesFor } from './detect.js';

describe('pictures for results', () => {
  it('draws a score by what its output declares it means, and guesses nothing when it declares nothing', () => {
    // The wealth template's recommendations: a ranking score (0.45 on an R1 cash product is a fit, not a risk).
    const wealth = JSON.parse(
      readFileSync(
        new URL(
          '../../../templates/wealth-recommendation/fixtures/c1-capital-preservation.expected.json',
          import.meta.url,
        ),
        'utf8',
      ),
    ) as Record<string, unknown>;
    const recs = picturesFor({ recommendations: wealth['recommendations'] })[0];
    expect(recs?.kind).toBe('risk');
    if (recs?.kind !== 'risk') return;
    expect(recs.items.every((i) => i.meaning === 'ranking' && i.score !== undefined)).toBe(true);
    const [plain] = picturesFor({ r: { score: 0.76, reasons: ['fits the horizon'] } });
    expect(plain?.kind === 'risk' && plain.items[0]?.meaning).toBeUndefined();
    const [risk] = picturesFor({ r: { score: 0.76, scoreMeaning: 'risk', reasons: ['new device'] } });
    expect(risk?.kind === 'risk' && risk.items[0]?.meaning).toBe('risk');
    const [bogus] = picturesFor({ r: { score: 3, scoreMeaning: 'vibes', maxScore: 5, reasons: ['x'] } });
    expect(bogus?.kind === 'risk' && bogus.items[0]).toMatchObject({ maxScore: 5 });
    expect(bogus?.kind === 'risk' && bogus.items[0]?.meaning).toBeUndefined();
  });

  it('shows portfolio weights with return, volatility and Sharpe', () => {
    const [p] = picturesFor({
      weights: { CSI300: 0.42, GOLD: 0.18, BOND: 0.4 },
      performance: { expectedReturn: 0.081, volatility: 0.112, sharpe: 0.54 },
    });
    expect(p).toMatchObject({
      kind: 'portfolio',
      performance: { expectedReturn: 0.081, volatility: 0.112, sharpe: 0.54 },
    });
    expect(p?.kind === 'portfolio' && p.weights.length).toBe(3);
  });

  it('shows scorecard rows as risk scores with attributions and reasons', () => {
    const pics = picturesFor({
      scores: [
        {
          probability: 0.31,
          points: 571,
          decision: 'review',
          attributions: { checking: 0.8, duration: -0.2 },
          reasons: ['No checking account'],
        },
        {
          probability: 0.05,
          points: 660,
          decision: 'approve',
          attributions: [{ feature: 'age', value: -0.3 }],
          reasons: [],
        },
      ],
    });
    expect(pics).toHaveLength(1);
    const p = pics[0];
    expect(p?.kind).toBe('risk');
    if (p?.kind !== 'risk') return;
    expect(p.items[0]).toMatchObject({
      probability: 0.31,
      points: 571,
      decision: 'review',
      reasons: ['No checking account'],
    });
    expect(p.items[0]?.attributions).toEqual([
      ['checking', 0.8],
      ['duration', -0.2],
    ]);
    expect(p.items[1]?.attributions).toEqual([['age', -0.3]]);
  });

  it('highlights PII findings in the input text and lists checklists as tables', () => {
    const text = '客户张三，手机 13800138000。';
    const pics = picturesFor(
      {
        entities: [
          { type: 'PERSON', start: 2, end: 4, text: '张三' },
          { type: 'CN_MOBILE', start: 8, end: 19 },
        ],
        checklist: [{ articleRef: '第五十一条', modality: 'must', obligation: '制定内部管理制度' }],
      },
      { text },
    );
    expect(pics.map((p) => p.kind)).toEqual(['pii', 'checklist']);
    expect(
      highlightSegments(text, [
        { type: 'PERSON', start: 2, end: 4 },
        { type: 'CN_MOBILE', start: 8, end: 19 },
      ]).map((s) => [s.text, s.entity?.type]),
    ).toEqual([
      ['客户', undefined],
      ['张三', 'PERSON'],
      ['，手机 ', undefined],
      ['13800138000', 'CN_MOBILE'],
      ['。', undefined],
    ]);
  });

  it('highlights any findings located by offsets, labelled by rule', () => {
    const text = '本产品保本保收益。';
    const [p] = picturesFor(
      { findings: [{ ruleId: 'CN-AD25-GUARANTEE', start: 3, end: 8, severity: 'high' }] },
      { text },
    );
    expect(p).toMatchObject({ kind: 'pii', entities: [{ type: 'CN-AD25-GUARANTEE', start: 3, end: 8 }] });
  });

  it('falls back to decisions, tables, text and JSON', () => {
    const kinds = picturesFor({
      decision: { outcome: 'block', reasons: ['velocity'] },
      rows: [{ a: 1 }],
      summary: 'ok',
      passed: false,
      usage: { tokens: 3 },
      meta: { model: 'offline', tokens: 3 },
    }).map((p) => p.kind);
    expect(kinds).toEqual(['decision', 'table', 'text', 'flag', 'numbers', 'value']);
  });
});
