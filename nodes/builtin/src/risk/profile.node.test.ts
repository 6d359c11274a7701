import { describe, expect, it } from 'vitest';
import { createRegistry, validateNodeSpec } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { defaultQuestions, profileNode } from './profile.node.js';

interface Profile {
  level: string;
  rank: number;
  label: string;
  score: number;
  maxScore: number;
  scoreLevel?: string;
  attributes: Record<string, unknown>;
  reasons: string[];
}
const assess = async (answers: Record<string, unknown>, config: Record<string, unknown> = {}) => {
  const out = await runNodeOk(profileNode, { config, inputs: { answers } });
  return out as unknown as {
    profile: Profile;
    level: string;
    score: { value: number; max: number };
    contributions: Record<string, unknown>[];
  };
};

const retiree = {
  age: 'over-70',
  income: 'under-100k',
  assets: '500k-3m',
  debt: 'none',
  liquidity: '1-12m',
  experience: 'none',
  products: ['deposits'],
  knowledge: 'little',
  horizon: 'under-1y',
  goal: 'income',
  loss: 'up-to-10',
};
const professional = {
  age: '26-50',
  income: 'over-1m',
  assets: '3m-10m',
  debt: 'small',
  liquidity: 'not-3y',
  experience: 'over-5y',
  products: ['equities', 'derivatives', 'deposits'],
  knowledge: 'professional',
  horizon: 'over-5y',
  goal: 'growth',
  loss: 'over-30',
};

describe('risk.profile (default questionnaire)', () => {
  it('scores out of 100 and maps the score to C1 … C5', async () => {
    const r = await assess(retiree);
    // 0 + 2 + 5 + 8 + 4 + 0 + 2 + 0 + 2 + 4 + 4
    expect(r.profile.score).toBe(31);
    expect(r.profile.maxScore).toBe(100);
    expect(r.level).toBe('C2');
    expect(r.profile.label).toBe('Cautious');
    expect(r.profile.reasons[0]).toBe('Score 31 of 100 falls in C2 Cautious (21–40).');
    const p = await assess(professional);
    expect(p.profile.score).toBe(8 + 10 + 8 + 6 + 8 + 10 + 10 + 8 + 8 + 10 + 10);
    expect(p.level).toBe('C5');
    expect(p.profile.rank).toBe(5);
  });

  it('takes the best of several answers to a multiple-answer question', async () => {
    const r = await assess(professional);
    const products = r.contributions.find((c) => c['question'] === 'products');
    expect(products).toMatchObject({
      answer: ['equities', 'derivatives', 'deposits'],
      points: 10,
      maxPoints: 10,
    });
  });

  it('level boundaries: the first score of a level belongs to it', async () => {
    const levels = [
      { level: 'C1', minScore: 0, label: 'Conservative' },
      { level: 'C2', minScore: 21, label: 'Cautious' },
    ];
    const questions = [
      {
        id: 'q',
        text: 'Q',
        options: [
          { value: 'a', label: 'a', points: 20 },
          { value: 'b', label: 'b', points: 21 },
        ],
      },
    ];
    expect((await assess({ q: 'a' }, { questions, levels })).level).toBe('C1');
    expect((await assess({ q: 'b' }, { questions, levels })).level).toBe('C2');
  });

  it('an answer that cannot accept any loss caps the level at C1 whatever the score, and says so', async () => {
    const r = await assess({ ...professional, loss: 'none' });
    expect(r.profile.score).toBe(96 - 10);
    expect(r.level).toBe('C1');
    expect(r.profile.scoreLevel).toBe('C5');
    expect(r.profile.reasons[1]).toBe(
      'The answer “No loss” to “What is the largest loss in a year you could accept?” limits the level to C1 Conservative.',
    );
  });

  it('gives the horizon and liquidity need as attributes for suitability', async () => {
    const r = await assess(retiree);
    expect(r.profile.attributes).toEqual({ liquidityDays: 30, horizonMonths: 12 });
  });

  it('names the answers that lowered the score', async () => {
    const r = await assess(retiree);
    expect(r.profile.reasons[1]).toContain('How old are you? (Over 70)');
    expect(r.profile.reasons[1]).toContain('(Never)');
  });

  it('explains in Chinese', async () => {
    const r = await assess({ ...retiree, goal: 'preserve' }, { language: 'zh' });
    expect(r.profile.label).toBe('保守型');
    expect(r.profile.reasons).toEqual([
      '得分 27（满分 100），对应 C2（谨慎型，21–40 分）。',
      '“以下哪项最符合您的投资目标？”选择了“保本，不能接受本金损失”，等级不超过 C1（保守型）。',
    ]);
  });

  it('refuses an incomplete questionnaire or an answer that is not an option', async () => {
    const { age: _age, ...noAge } = retiree;
    const missing = await runNode(profileNode, { inputs: { answers: noAge } });
    expect(missing.error?.code).toBe('MISSING_ANSWER');
    expect(missing.error?.message).toContain('age');
    const wrong = await runNode(profileNode, { inputs: { answers: { ...retiree, horizon: '10y' } } });
    expect(wrong.error?.code).toBe('INVALID_ANSWER');
    expect(wrong.error?.message).toContain('under-1y, 1-3y, 3-5y, over-5y');
    const many = await runNode(profileNode, {
      inputs: { answers: { ...retiree, goal: ['income', 'growth'] } },
    });
    expect(many.error?.code).toBe('INVALID_ANSWER');
  });

  it('validates the scoring table in the flow', () => {
    const registry = createRegistry([profileNode]);
    const problems = validateNodeSpec(registry, {
      type: 'risk.profile',
      config: {
        questions: [
          ...defaultQuestions.slice(0, 2),
          {
            ...defaultQuestions[0],
            options: [
              { value: 'x', label: 'x', points: 1, maxLevel: 'C9' },
              { value: 'x', label: 'y', points: 2 },
            ],
          },
        ],
        levels: [
          { level: 'C1', minScore: 0, label: 'a' },
          { level: 'C2', minScore: 0, label: 'b' },
        ],
      },
    }).map((p) => p.path?.join('.'));
    expect(problems).toEqual([
      'levels.1.minScore',
      'questions.2.id',
      'questions.2.options.0.maxLevel',
      'questions.2.options.1.value',
    ]);
  });
});
