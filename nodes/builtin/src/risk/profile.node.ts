/**
 * risk.profile: a KYC risk-tolerance questionnaire. Answers are scored with the table in config, the total maps
 * to a level (C1 conservative … C5 aggressive by default), and some answers cap the level whatever the score
 * (someone who cannot accept any loss is conservative). The default questionnaire is modelled on the practice
 * under the CSRC's 证券期货投资者适当性管理办法 (five investor levels C1-C5, matched against product levels
 * R1-R5 by risk.suitability); firms replace it with their own approved questionnaire.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

const attributeValue = z.union([z.number(), z.string(), z.boolean()]);

const optionSchema = z.object({
  value: z
    .string()
    .min(1)
    .meta({
      title: 'Value',
      description: 'What the answers record holds for this option',
      zh: { title: '取值', description: '答卷记录中该选项对应的值' },
    }),
  label: z
    .string()
    .min(1)
    .meta({ title: 'Label', zh: { title: '选项名称（英文）' } }),
  zh: z
    .string()
    .optional()
    .meta({ title: 'Chinese label', zh: { title: '选项名称（中文）' } }),
  points: z.number().meta({ title: 'Points', zh: { title: '分值' } }),
  maxLevel: z
    .string()
    .optional()
    .meta({
      title: 'Caps the level at',
      description: 'e.g. C1: choosing this option limits the level whatever the score',
      zh: { title: '等级上限', description: '例如 C1：选择此项后，无论得分多少，等级都不超过该级别' },
    }),
  attributes: z
    .record(z.string(), attributeValue)
    .optional()
    .meta({
      title: 'Attributes',
      description: 'Facts this answer sets, e.g. { "horizonMonths": 36 } for risk.suitability',
      zh: {
        title: '属性',
        description: '该答案设置的事实，例如供 risk.suitability 使用的 { "horizonMonths": 36 }',
      },
    }),
});

const questionSchema = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z_][\w-]*$/)
    .meta({ title: 'Question id', zh: { title: '题目编号' } }),
  text: z
    .string()
    .min(1)
    .meta({ title: 'Question', zh: { title: '题目（英文）' } }),
  zh: z
    .string()
    .optional()
    .meta({ title: 'Chinese text', zh: { title: '题目（中文）' } }),
  multiple: z
    .boolean()
    .default(false)
    .meta({ title: 'Several answers allowed', zh: { title: '允许多选' } }),
  aggregate: z
    .enum(['max', 'sum'])
    .default('max')
    .meta({
      title: 'Points of several answers',
      description: 'max: the best answer counts; sum: all count',
      zh: {
        title: '多选计分方式',
        description: '取最高分：以得分最高的答案计分；累加：所有答案得分相加',
        options: { max: '取最高分', sum: '累加' },
      },
    }),
  optional: z
    .boolean()
    .default(false)
    .meta({ title: 'May be skipped', zh: { title: '可跳过' } }),
  options: z
    .array(optionSchema)
    .min(1)
    .meta({ title: 'Options', zh: { title: '选项' } }),
});
type Question = z.output<typeof questionSchema>;

const levelSchema = z.object({
  level: z
    .string()
    .min(1)
    .meta({ title: 'Level', description: 'e.g. C3', zh: { title: '等级', description: '例如 C3' } }),
  minScore: z.number().meta({
    title: 'From score',
    description: 'Lowest score in this level',
    zh: { title: '起始分数', description: '该等级的最低分数' },
  }),
  label: z
    .string()
    .min(1)
    .meta({ title: 'Label', zh: { title: '等级名称（英文）' } }),
  zh: z
    .string()
    .optional()
    .meta({ title: 'Chinese label', zh: { title: '等级名称（中文）' } }),
});

type Opt = z.input<typeof optionSchema>;
const o = (value: string, label: string, zh: string, points: number, extra: Partial<Opt> = {}): Opt => ({
  value,
  label,
  zh,
  points,
  ...extra,
});

/** The default questionnaire: 11 questions, 100 points. */
export const defaultQuestions: z.input<typeof questionSchema>[] = [
  {
    id: 'age',
    text: 'How old are you?',
    zh: '您的年龄是？',
    options: [
      o('18-25', '18 to 25', '18-25 岁', 6),
      o('26-50', '26 to 50', '26-50 岁', 8),
      o('51-60', '51 to 60', '51-60 岁', 5),
      o('61-70', '61 to 70', '61-70 岁', 2),
      o('over-70', 'Over 70', '70 岁以上', 0),
    ],
  },
  {
    id: 'income',
    text: 'What is your household’s annual income?',
    zh: '您的家庭年收入为？',
    options: [
      o('under-100k', 'Under CNY 100,000', '10 万元以下', 2),
      o('100k-500k', 'CNY 100,000 to 500,000', '10 万-50 万元', 5),
      o('500k-1m', 'CNY 500,000 to 1 million', '50 万-100 万元', 8),
      o('over-1m', 'Over CNY 1 million', '100 万元以上', 10),
    ],
  },
  {
    id: 'assets',
    text: 'How much do you hold in financial assets (deposits, funds, securities, wealth products)?',
    zh: '您的金融资产（存款、基金、证券、理财产品等）为？',
    options: [
      o('under-500k', 'Under CNY 500,000', '50 万元以下', 2),
      o('500k-3m', 'CNY 500,000 to 3 million', '50 万-300 万元', 5),
      o('3m-10m', 'CNY 3 million to 10 million', '300 万-1000 万元', 8),
      o('over-10m', 'Over CNY 10 million', '1000 万元以上', 10),
    ],
  },
  {
    id: 'debt',
    text: 'How large are your debts (mortgage, loans) compared with your assets?',
    zh: '您的负债（房贷、借款等）与资产相比？',
    options: [
      o('none', 'No debts', '没有负债', 8),
      o('small', 'Small: under 20% of assets', '较少：低于资产的 20%', 6),
      o('moderate', 'Moderate: 20% to 50% of assets', '适中：资产的 20%-50%', 3),
      o('heavy', 'Heavy: over 50% of assets', '较重：超过资产的 50%', 0),
    ],
  },
  {
    id: 'liquidity',
    text: 'When might you need to take a large part of this money out?',
    zh: '您可能在什么时候需要动用这笔资金的较大部分？',
    options: [
      o('within-1m', 'Within a month', '一个月内', 1, { attributes: { liquidityDays: 7 } }),
      o('1-12m', 'Within a year', '一年内', 4, { attributes: { liquidityDays: 30 } }),
      o('1-3y', 'In one to three years', '一至三年内', 6, { attributes: { liquidityDays: 365 } }),
      o('not-3y', 'Not for three years or more', '三年以上不需要', 8),
    ],
  },
  {
    id: 'experience',
    text: 'How long have you invested in securities, funds or similar products?',
    zh: '您投资证券、基金等产品的年限是？',
    options: [
      o('none', 'Never', '没有经验', 0),
      o('under-2y', 'Less than 2 years', '2 年以下', 4),
      o('2-5y', '2 to 5 years', '2-5 年', 7),
      o('over-5y', 'More than 5 years', '5 年以上', 10),
    ],
  },
  {
    id: 'products',
    text: 'Which of these have you invested in? (all that apply)',
    zh: '您投资过以下哪些产品？（可多选）',
    multiple: true,
    aggregate: 'max',
    options: [
      o('deposits', 'Deposits, money-market funds, government bonds', '存款、货币基金、国债', 2),
      o('bonds', 'Bond funds, wealth-management products', '债券基金、银行理财', 5),
      o('equities', 'Stocks, equity or mixed funds', '股票、股票型或混合型基金', 8),
      o(
        'derivatives',
        'Futures, options, private funds, structured products',
        '期货、期权、私募基金、结构化产品',
        10,
      ),
    ],
  },
  {
    id: 'knowledge',
    text: 'How would you describe your knowledge of investing?',
    zh: '您的投资知识水平如何？',
    options: [
      o('little', 'Very little', '了解很少', 0),
      o(
        'basic',
        'Basic: I know the difference between stocks, bonds and funds',
        '一般：了解股票、债券、基金的区别',
        3,
      ),
      o('good', 'Good: I understand risk, return and diversification', '丰富：理解风险、收益与分散投资', 6),
      o('professional', 'Professional: I work or studied in finance', '专业：从事或学习过金融相关工作', 8),
    ],
  },
  {
    id: 'horizon',
    text: 'How long do you plan to keep this money invested?',
    zh: '您计划的投资期限是？',
    options: [
      o('under-1y', 'Under a year', '1 年以内', 2, { attributes: { horizonMonths: 12 } }),
      o('1-3y', '1 to 3 years', '1-3 年', 4, { attributes: { horizonMonths: 36 } }),
      o('3-5y', '3 to 5 years', '3-5 年', 6, { attributes: { horizonMonths: 60 } }),
      o('over-5y', 'More than 5 years', '5 年以上', 8),
    ],
  },
  {
    id: 'goal',
    text: 'Which best describes your investment goal?',
    zh: '以下哪项最符合您的投资目标？',
    options: [
      o('preserve', 'Keep my capital safe; I cannot accept losing any of it', '保本，不能接受本金损失', 0, {
        maxLevel: 'C1',
      }),
      o('income', 'Steady income with little fluctuation', '获取稳定收益，波动较小', 4),
      o('balanced', 'Balanced growth, accepting some fluctuation', '资产稳健增长，可接受一定波动', 7),
      o('growth', 'High returns, accepting large swings', '追求高收益，可接受较大波动', 10),
    ],
  },
  {
    id: 'loss',
    text: 'What is the largest loss in a year you could accept?',
    zh: '您一年内能承受的最大亏损是？',
    options: [
      o('none', 'No loss', '不能承受亏损', 0, { maxLevel: 'C1' }),
      o('up-to-10', 'Up to 10%', '10% 以内', 4),
      o('10-30', '10% to 30%', '10%-30%', 7),
      o('over-30', 'More than 30%', '30% 以上', 10),
    ],
  },
];

export const defaultLevels: z.input<typeof levelSchema>[] = [
  { level: 'C1', minScore: 0, label: 'Conservative', zh: '保守型' },
  { level: 'C2', minScore: 21, label: 'Cautious', zh: '谨慎型' },
  { level: 'C3', minScore: 41, label: 'Balanced', zh: '稳健型' },
  { level: 'C4', minScore: 61, label: 'Growth', zh: '积极型' },
  { level: 'C5', minScore: 81, label: 'Aggressive', zh: '激进型' },
];

const configSchema = z.object({
  questions: z
    .array(questionSchema)
    .min(1)
    .default(defaultQuestions as Question[])
    .meta({
      title: 'Questions',
      description:
        'Each question with its options and their points; an option may cap the level (maxLevel) or set attributes',
      widget: 'json',
      zh: {
        title: '问卷题目',
        description: '每道题目及其选项和分值；选项可限定等级上限（maxLevel）或设置属性',
      },
    }),
  levels: z
    .array(levelSchema)
    .min(1)
    .default(defaultLevels as z.output<typeof levelSchema>[])
    .meta({
      title: 'Levels',
      description: 'From lowest to highest risk tolerance, each from a minimum score',
      widget: 'json',
      zh: { title: '风险承受能力等级', description: '按风险承受能力从低到高排列，每级从一个最低分数起算' },
    }),
  language: z
    .enum(['en', 'zh'])
    .default('en')
    .meta({
      title: 'Language of reasons',
      zh: { title: '原因说明语言', options: { en: '英文', zh: '中文' } },
    }),
});
export type ProfileConfig = z.output<typeof configSchema>;

function checkConfig(config: ProfileConfig): { message: string; path: (string | number)[] }[] {
  const problems: { message: string; path: (string | number)[] }[] = [];
  const levelNames = new Set<string>();
  config.levels.forEach((l, i) => {
    if (levelNames.has(l.level))
      problems.push({ message: `level ${l.level} is listed twice`, path: ['levels', i, 'level'] });
    levelNames.add(l.level);
    const prev = config.levels[i - 1];
    if (prev && !(l.minScore > prev.minScore))
      problems.push({
        message: `levels must go up: ${l.level} starts at ${l.minScore}, not above ${prev.level} (${prev.minScore})`,
        path: ['levels', i, 'minScore'],
      });
  });
  const ids = new Set<string>();
  let minTotal = 0;
  config.questions.forEach((q, i) => {
    if (ids.has(q.id))
      problems.push({ message: `two questions have the id ${q.id}`, path: ['questions', i, 'id'] });
    ids.add(q.id);
    const values = new Set<string>();
    q.options.forEach((opt, j) => {
      if (values.has(opt.value))
        problems.push({
          message: `option ${opt.value} is listed twice`,
          path: ['questions', i, 'options', j, 'value'],
        });
      values.add(opt.value);
      if (opt.maxLevel !== undefined && !levelNames.has(opt.maxLevel))
        problems.push({
          message: `maxLevel ${opt.maxLevel} is not one of the levels`,
          path: ['questions', i, 'options', j, 'maxLevel'],
        });
    });
    if (!q.optional) minTotal += Math.min(...q.options.map((x) => x.points));
  });
  const first = config.levels[0];
  if (first && first.minScore > minTotal && problems.length === 0)
    problems.push({
      message: `the lowest possible score is ${minTotal}, below the first level's ${first.minScore}: every score needs a level`,
      path: ['levels', 0, 'minScore'],
    });
  return problems;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

export const profileNode = defineNode({
  type: 'risk.profile',
  version: 1,
  meta: {
    title: 'Risk profile (KYC)',
    category: 'risk',
    description:
      'Scores a risk-tolerance questionnaire and assigns a level (C1 conservative … C5 aggressive), with each question’s contribution and the reasons. The scoring table is in config; the default follows Chinese investor-suitability practice.',
    zh: {
      title: '风险测评（KYC）',
      description:
        '按配置的评分表为风险承受能力问卷打分并评定等级（C1 保守型至 C5 激进型），给出每题得分与理由。',
    },
    icon: 'user-check',
    tags: ['kyc', 'suitability', '适当性'],
  },
  config: configSchema,
  inputs: {
    answers: port('record', {
      title: 'Answers',
      zh: { title: '答卷', description: '题目 id → 选项值（多选题为值的列表）' },
      description: 'Question id → option value (a list of values for multiple-answer questions)',
    }),
  },
  outputs: {
    profile: port('record', {
      title: 'Profile',
      zh: {
        title: '风险画像',
        description: '{ level, rank, label, score, maxScore, attributes, reasons }：接入 risk.suitability',
      },
      description:
        '{ level, rank, label, score, maxScore, attributes, reasons }: feed it to risk.suitability',
    }),
    level: port('text', {
      title: 'Level',
      zh: { title: '等级', description: '例如 C3' },
      description: 'e.g. C3',
    }),
    score: port('score', { title: 'Score', zh: { title: '评分' } }),
    contributions: port('table', {
      title: 'Contributions',
      zh: { title: '各题得分', description: '每道题的得分' },
      description: 'Points per question',
    }),
  },
  timeoutMs: 5_000,
  validate(config, helpers) {
    for (const p of checkConfig(config)) helpers.problem(p.message, p.path);
  },
  run(ctx, { answers }, config) {
    const problems = checkConfig(config);
    if (problems.length)
      throw new NodeError(`invalid questionnaire: ${problems[0]?.message}`, 'INVALID_CONFIG');
    const zh = config.language === 'zh';
    const qText = (q: Question) => (zh && q.zh ? q.zh : q.text);
    const missing: string[] = [];
    const contributions: Record<string, unknown>[] = [];
    const attributes: Record<string, number | string | boolean> = {};
    const caps: { rank: number; question: Question; label: string }[] = [];
    const levelRank = new Map(config.levels.map((l, i) => [l.level, i]));
    let score = 0;
    let maxScore = 0;
    for (const q of config.questions) {
      const best =
        q.multiple && q.aggregate === 'sum'
          ? q.options.reduce((s, x) => s + Math.max(0, x.points), 0)
          : Math.max(...q.options.map((x) => x.points));
      const raw = answers[q.id];
      if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
        if (!q.optional) missing.push(q.id);
        else maxScore += best;
        continue;
      }
      maxScore += best;
      const values = asList(raw);
      if (values.length > 1 && !q.multiple)
        throw new NodeError(`question ${q.id} takes one answer, got ${values.length}`, 'INVALID_ANSWER');
      const chosen = values.map((v) => {
        const opt = q.options.find((x) => x.value === String(v));
        if (!opt)
          throw new NodeError(
            `answer ${JSON.stringify(v)} to question ${q.id} is not one of ${q.options.map((x) => x.value).join(', ')}`,
            'INVALID_ANSWER',
          );
        return opt;
      });
      const points =
        q.aggregate === 'sum'
          ? chosen.reduce((s, x) => s + x.points, 0)
          : Math.max(...chosen.map((x) => x.points));
      score += points;
      for (const opt of chosen) {
        Object.assign(attributes, opt.attributes ?? {});
        if (opt.maxLevel !== undefined)
          caps.push({
            rank: levelRank.get(opt.maxLevel) as number,
            question: q,
            label: zh && opt.zh ? opt.zh : opt.label,
          });
      }
      contributions.push({
        question: q.id,
        text: qText(q),
        answer: q.multiple ? chosen.map((x) => x.value) : chosen[0]?.value,
        answerLabel: chosen.map((x) => (zh && x.zh ? x.zh : x.label)).join('; '),
        points,
        maxPoints: best,
      });
    }
    if (missing.length)
      throw new NodeError(
        `the questionnaire is incomplete: no answer to ${missing.join(', ')}`,
        'MISSING_ANSWER',
        {
          details: { questions: missing },
        },
      );
    const unknown = Object.keys(answers).filter((k) => !config.questions.some((q) => q.id === k));
    if (unknown.length) ctx.log.warn('answers to unknown questions were ignored', { questions: unknown });

    let rank = 0;
    config.levels.forEach((l, i) => {
      if (score >= l.minScore) rank = i;
    });
    const scoreRank = rank;
    const cap = caps.reduce<(typeof caps)[number] | undefined>(
      (lo, c) => (!lo || c.rank < lo.rank ? c : lo),
      undefined,
    );
    if (cap && cap.rank < rank) rank = cap.rank;
    const level = config.levels[rank] as (typeof config.levels)[number];
    const scoreLevel = config.levels[scoreRank] as (typeof config.levels)[number];
    const next = config.levels[scoreRank + 1];
    const label = (l: typeof level) => (zh && l.zh ? l.zh : l.label);
    const range = `${scoreLevel.minScore}–${next ? next.minScore - 1 : maxScore}`;
    const reasons: string[] = [
      zh
        ? `得分 ${score}（满分 ${maxScore}），对应 ${scoreLevel.level}（${label(scoreLevel)}，${range} 分）。`
        : `Score ${score} of ${maxScore} falls in ${scoreLevel.level} ${label(scoreLevel)} (${range}).`,
    ];
    if (cap && rank < scoreRank)
      reasons.push(
        zh
          ? `“${qText(cap.question)}”选择了“${cap.label}”，等级不超过 ${level.level}（${label(level)}）。`
          : `The answer “${cap.label}” to “${qText(cap.question)}” limits the level to ${level.level} ${label(level)}.`,
      );
    const weakest = contributions
      .filter(
        (c) => (c['maxPoints'] as number) > 0 && (c['points'] as number) / (c['maxPoints'] as number) <= 0.25,
      )
      .map((c) => `${c['text']} (${c['answerLabel']})`);
    if (weakest.length && rank === scoreRank && rank < config.levels.length - 1)
      reasons.push(
        zh
          ? `得分较低的方面：${weakest.join('；')}。`
          : `Answers that lowered the score: ${weakest.join('; ')}.`,
      );

    const profile = {
      level: level.level,
      rank: rank + 1,
      label: label(level),
      score,
      maxScore,
      ...(rank < scoreRank ? { scoreLevel: scoreLevel.level } : {}),
      attributes,
      reasons,
    };
    return {
      profile,
      level: level.level,
      score: { value: score, max: maxScore, level: level.level },
      contributions,
    };
  },
});
