import { describe, expect, it } from 'vitest';
import { findEntities, parseNumber, toIsoDate } from './entities.js';
import { OFFLINE_MARKER, extractiveAnswer, splitPrompt, splitSentences } from './extractive.js';

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

  it('parses amounts with separators and scales', () => {
    expect(parseNumber('$1,250.50')).toBe(1250.5);
    expect(parseNumber('€2.5m')).toBe(2_500_000);
    expect(parseNumber('GBP 40k')).toBe(40_000);
  });
});

describe('the offline extractive answer', () => {
  it('separates the question from the context and keeps decimals inside sentences', () => {
    expect(splitSentences('Rate is 4.5% today. Fee: $1,200.50! Next?')).toEqual([
      'Rate is 4.5% today.',
      'Fee: $1,200.50!',
      'Next?',
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
      'You help bank staff.',
      'The card limit is $5,000.',
      'The ATM limit is $500 a day.',
    ]);
  });

  it('says when nothing matches rather than pretending', () => {
    const a = extractiveAnswer([
      { role: 'user', content: 'The branch opens at nine.\nWhat is the mortgage rate?' },
    ]);
    expect(a.matched).toBe(false);
    expect(a.text.startsWith(`${OFFLINE_MARKER} No sentence of the prompt matches`)).toBe(true);
    const empty = extractiveAnswer([{ role: 'user', content: 'Write a poem about savings.' }]);
    expect(empty.text).toContain('cannot compose an answer');
  });
});
