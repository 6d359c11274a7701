import { describe, expect, it } from 'vitest';
import { findEntities, parseNumber, parseRange, toIsoDate } from './entities.js';
import {
  OFFLINE_MARKER,
  extractStructured,
  extractiveAnswer,
  isInstruction,
  splitPrompt,
  splitSentences,
} from './extractive.js';

describe('entities in bank texts', () => {
  it('finds amounts, dates and percentages in English', () => {
    const e = findEntities(
      'Your loan of USD 25,000 at 6.25% APR starts on 2024-04-01; the first instalment of $512.40 is due May 1, 2024. A late fee of 15 dollars applies.',
    );
    expect(e.amounts.map((m) => m.text)).toEqual(['USD 25,000', '$512.40', '15 dollars']);
    expect(e.percentages.map((m) => m.text)).toEqual(['6.25%']);
    expect(e.dates.map((m) => m.text)).toEqual(['2024-04-01', 'May 1, 2024']);
  });

  it('finds amounts, dates and percentages in Chinese', () => {
    const e = findEntities(
      '借款人于2023年12月5日申请贷款人民币30万元，年利率为3.85%，逾期罚息为百分之五十。',
    );
    expect(e.amounts.map((m) => m.text)).toEqual(['人民币30万元']);
    expect(e.dates.map((m) => m.text)).toEqual(['2023年12月5日']);
    expect(e.percentages.map((m) => m.text)).toEqual(['3.85%', '百分之五十']);
    expect(parseNumber('人民币30万元')).toBe(300_000);
    expect(parseNumber('百分之五十')).toBe(50);
  });

  it('reads amounts from table rows whose label names the currency', () => {
    const e = findEntities('Total due (GBP)                     2,340.00');
    expect(e.amounts.map((m) => m.text)).toEqual(['(GBP)                     2,340.00']);
    expect(parseNumber(e.amounts[0]?.text ?? '')).toBe(2340);
  });

  it('turns dates into ISO only when they are unambiguous', () => {
    expect(toIsoDate('31 March 2024')).toBe('2024-03-31');
    expect(toIsoDate('2024年3月1日')).toBe('2024-03-01');
    expect(toIsoDate('25/12/2024')).toBe('2024-12-25');
    expect(toIsoDate('03/04/2024')).toBeUndefined();
    expect(toIsoDate('2024-02-30')).toBeUndefined();
  });

  it('keeps a range as one mention, whose ends parse apart', () => {
    // Issue 14 item 13: "2.60%-3.10%" was listed as "2.60%, -3.10%", a rate and a negative rate.
    const e = findEntities(
      '业绩比较基准为2.60%-3.10%（年化），另一款为 3%~4%；贷款额度 5万至10万元。The fee is 1.5 to 2 percent, on loans of $5,000-$10,000; the cap is 25%.',
    );
    expect(e.percentages.map((m) => m.text)).toEqual(['2.60%-3.10%', '3%~4%', '1.5 to 2 percent', '25%']);
    expect(e.amounts.map((m) => m.text)).toEqual(['5万至10万元', '$5,000-$10,000']);
    expect(parseRange('2.60%-3.10%')).toEqual({ low: 2.6, high: 3.1 });
    expect(parseRange('5万至10万元')).toEqual({ low: 50_000, high: 100_000 });
    expect(parseRange('$5,000-$10,000')).toEqual({ low: 5000, high: 10_000 });
    expect(parseNumber('2.60%-3.10%')).toBeUndefined();
    expect(parseRange('-3.10%')).toBeUndefined();
    expect(parseNumber('-3.10%')).toBe(-3.1);
    // A structured field wants one number: a range is reported, not cut to one of its ends.
    expect(() =>
      extractStructured([{ role: 'user', content: 'The benchmark rate is 2.60%-3.10% a year.' }], {
        type: 'object',
        properties: { rate: { type: 'number' } },
        required: ['rate'],
      }),
    ).toThrow(/"2\.60%-3\.10%" is a range/);
  });

  it('parses amounts with separators and scales', () => {
    expect(parseNumber('$1,250.50')).toBe(1250.5);
    expect(parseNumber('€2.5m')).toBe(2_500_000);
    expect(parseNumber('GBP 40k')).toBe(40_000);
  });
});

describe('the offline extractive answer', () => {
  it('separates the question from the context and keeps decimals and clauses inside sentences', () => {
    expect(splitSentences('Rate is 4.5% today. Fee: $1,200.50! Next?')).toEqual([
      'Rate is 4.5% today.',
      'Fee: $1,200.50!',
      'Next?',
    ]);
    // A semicolon joins clauses of one sentence; a quote cut there is no sentence ("direct debits continue.").
    expect(
      splitSentences(
        'A frozen card cannot be used; direct debits continue. 请查看状态；如已退回，资金将退回。',
      ),
    ).toEqual([
      'A frozen card cannot be used; direct debits continue.',
      '请查看状态；如已退回，资金将退回。',
    ]);
    const parts = splitPrompt([
      { role: 'system', content: 'You help bank staff.' },
      {
        role: 'user',
        content: 'The card limit is $5,000.\nThe ATM limit is $500 a day.\nWhat is the daily ATM limit?',
      },
    ]);
    expect(parts.question).toBe('What is the daily ATM limit?');
    expect(parts.context.map((s) => s.text)).toEqual([
      'The card limit is $5,000.',
      'The ATM limit is $500 a day.',
    ]);
  });

  it('never quotes the system prompt or a sentence that instructs the model', () => {
    // Issue 14 item 12: the robo-advisory explanation began with its own system prompt, the compliance summaries
    // quoted "只使用用户给出的清单内容…不要编造" and "Write at most 200 words for management…".
    const system = [
      '你是银行智能投顾的方案说明助手，面向普通客户，用三到五句通俗、平实的中文说明方案，并讲清它为何与客户的风险等级相符。',
      '只使用用户给出的数字，不编造数字。',
    ].join('');
    const zh = extractiveAnswer([
      { role: 'system', content: system },
      {
        role: 'user',
        content:
          '客户的风险等级为 C3（稳健型）。\n- 现金管理占 55.0%（约 165,000 元），作用是保持流动性、降低整体波动。\n只使用用户给出的清单内容，注明条款号，不要编造。\n请用三句话说明方案。\n问题：这份方案中每类资产占比多少、作用是什么、历史波动多大？',
      },
    ]);
    expect(zh.matched).toBe(true);
    expect(zh.quoted.map((s) => s.text)).toEqual([
      '- 现金管理占 55.0%（约 165,000 元），作用是保持流动性、降低整体波动。',
    ]);
    for (const forbidden of ['你是银行', '只使用', '不要编造', '请用三句话', '这份方案中每类资产'])
      expect(zh.text).not.toContain(forbidden);
    const en = extractiveAnswer([
      {
        role: 'system',
        content:
          "You are an analyst in a bank's compliance department. Write at most 200 words for management, using only the checklist the user gives and citing the provisions; invent nothing.",
      },
      {
        role: 'user',
        content:
          'Regulation: GDPR. 99 articles.\n- Information Security handles 17 items in Article 32.\nUse only the items above.\nQuestion: which items have deadlines?',
      },
    ]);
    expect(en.text).not.toMatch(/You are|Write at most|Use only|which items have deadlines/);
    expect(en.quoted.map((s) => s.text)).toContain('- Information Security handles 17 items in Article 32.');
    expect(isInstruction('Freeze the card at once: in the app, go to Cards > Freeze card.')).toBe(false);
    expect(isInstruction('你是否需要修改密码？')).toBe(false);
    expect(isInstruction('Do not invent figures.')).toBe(true);
  });

  it('quotes the chosen sentences in the order of the text, so steps keep their order', () => {
    // Issue 14 item 17: "Then report the card lost…" came before "Freeze the card at once…".
    const passage =
      '[1] (FAQ · My card is lost or stolen) Freeze the card at once: in the app, go to Cards > Freeze card. It takes effect immediately.\nA frozen card cannot be used for new card payments or cash withdrawals; direct debits continue.\nThen report the card lost to cancel it for good and order a replacement.';
    const a = extractiveAnswer([
      { role: 'user', content: `${passage}\n\nQuestion: i lost my card please block it` },
    ]);
    const order = a.quoted.map((s) => s.text);
    expect(order[0]).toMatch(/^Freeze the card at once/);
    expect(order.indexOf('Then report the card lost to cancel it for good and order a replacement.')).toBe(
      order.length - 1,
    );
    expect(a.quoted.every((s) => s.cite === '1')).toBe(true);
  });

  it('says when nothing matches rather than pretending', () => {
    const a = extractiveAnswer([
      { role: 'user', content: 'The branch opens at nine.\nWhat is the mortgage rate?' },
    ]);
    expect(a.matched).toBe(false);
    expect(a.text.startsWith(`${OFFLINE_MARKER} No sentence of the prompt's context matches`)).toBe(true);
    const empty = extractiveAnswer([{ role: 'user', content: 'Write a poem about savings.' }]);
    expect(empty.text).toContain('cannot compose an answer');
    expect(empty.text).not.toContain('poem');
  });
});
