/**
 * Money, date and percentage mentions in English and Chinese text, found with deterministic patterns: the
 * offline extractive model lists them, and its structured extraction fills numeric and date fields from them.
 * A range ("2.60%-3.10%", "$5,000 to $10,000", "5万至10万元") is one mention: its two ends belong together.
 */

export interface Mention {
  text: string;
  index: number;
}

export interface Entities {
  amounts: Mention[];
  dates: Mention[];
  percentages: Mention[];
}

const currencyCodes = 'USD|EUR|GBP|CNY|RMB|HKD|JPY|CHF|SGD|AUD|CAD|NZD|SEK|NOK|DKK|INR|KRW|TWD|MOP';
const num = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;
const scale = String.raw`(?:\s?(?:k|m|bn|thousand|million|billion)\b)?`;
const months =
  'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?';

// What joins the two ends of a range: a hyphen or dash, a tilde, "to", 至 or 到.
const to = String.raw`\s?(?:-|–|—|~|～|\bto\b|至|到)\s?`;
const symbol = String.raw`(?:US\$|HK\$|S\$|A\$|C\$|NT\$|[$€£¥￥])`;
const cnScale = String.raw`(?:\s?(?:万|亿))?`;

// Ranges come first: overlapping matches keep the first pattern's span, so "2.60%-3.10%" is never split into
// "2.60%" and "-3.10%".
const amountPatterns = [
  new RegExp(String.raw`${symbol}\s?(?:${num})${scale}${to}${symbol}?\s?(?:${num})${scale}`, 'giu'),
  new RegExp(
    String.raw`\b(?:${currencyCodes})\s?(?:${num})${scale}${to}(?:(?:${currencyCodes})\s?)?(?:${num})${scale}`,
    'gu',
  ),
  new RegExp(
    String.raw`(?:人民币|港币|美元)?\s?(?:${num})${cnScale}${to}(?:${num})\s?(?:万|亿)?(?:元|美元|港元|欧元)`,
    'gu',
  ),
  new RegExp(String.raw`${symbol}\s?(?:${num})${scale}`, 'giu'),
  new RegExp(String.raw`\b(?:${currencyCodes})\s?(?:${num})${scale}`, 'gu'),
  // A table row whose label names the currency: "Total due (GBP)      2,340.00".
  new RegExp(String.raw`\((?:${currencyCodes})\)[ \t]*:?[ \t]*(?:${num})${scale}`, 'gu'),
  new RegExp(
    String.raw`(?<![\d.,])(?:${num})${scale}\s?(?:(?:${currencyCodes})\b|(?:dollars?|euros?|pounds?|yuan|yen)\b)`,
    'giu',
  ),
  new RegExp(String.raw`(?:人民币|港币|美元)?\s?(?:${num})\s?(?:万|亿)?(?:元|美元|港元|欧元)`, 'gu'),
];

const percentUnit = String.raw`\s?(?:%|％|percent\b|per cent\b|个百分点|個百分點)`;

const percentPatterns = [
  new RegExp(String.raw`(?<![\d.,])(?:${num})(?:\s?[%％])?${to}(?:${num})${percentUnit}`, 'giu'),
  new RegExp(String.raw`(?<![\d.,])[-+]?(?:${num})${percentUnit}`, 'giu'),
  /百分之[零〇一二三四五六七八九十百千点\d.]+/gu,
];

const datePatterns = [
  /\b\d{4}-\d{1,2}-\d{1,2}\b/g,
  /\b\d{1,2}[/.]\d{1,2}[/.]\d{4}\b/g,
  new RegExp(String.raw`\b(?:${months})\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b`, 'gi'),
  new RegExp(String.raw`\b\d{1,2}(?:st|nd|rd|th)?\s+(?:${months})\.?,?\s+\d{4}\b`, 'gi'),
  /\d{4}\s?年\s?\d{1,2}\s?月(?:\s?\d{1,2}\s?[日号])?/gu,
];

function collect(text: string, patterns: readonly RegExp[]): Mention[] {
  const found: Mention[] = [];
  for (const pattern of patterns) {
    for (const m of text.matchAll(pattern)) {
      const t = m[0].trim();
      const index = (m.index ?? 0) + m[0].indexOf(t);
      // Patterns overlap (e.g. "USD 5" and "5 USD" around one number): keep the first, longest span.
      if (found.some((f) => index < f.index + f.text.length && f.index < index + t.length)) continue;
      found.push({ text: t, index });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

export function findEntities(text: string): Entities {
  const amounts = collect(text, amountPatterns);
  const percentages = collect(text, percentPatterns);
  // A date like 2024-03-01 is never an amount, and "5 %" is never a date.
  const dates = collect(text, datePatterns).filter(
    (d) => !amounts.some((a) => d.index < a.index + a.text.length && a.index < d.index + d.text.length),
  );
  return { amounts, dates, percentages };
}

/** Plain numbers (used for integer fields that are neither money nor percentages). */
export function findNumbers(text: string): Mention[] {
  return collect(text, [new RegExp(String.raw`(?<![\w.,])[-+]?(?:${num})(?![\w])`, 'gu')]);
}

const chineseDigits: Record<string, number> = {
  零: 0,
  〇: 0,
  一: 1,
  二: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  七: 7,
  八: 8,
  九: 9,
};

/** The two ends of a range mention (`2.60%-3.10%` → 2.6 and 3.1, `5万至10万元` → 50000 and 100000). */
export function parseRange(mention: string): { low: number; high: number } | undefined {
  const numbers = [...mention.matchAll(new RegExp(num, 'g'))];
  const [first, second] = numbers;
  if (numbers.length !== 2 || !first || !second) return undefined;
  const firstEnd = (first.index ?? 0) + first[0].length;
  const gap = mention.slice(firstEnd, second.index);
  const joint = /-|–|—|~|～|\bto\b|至|到/iu.exec(gap);
  if (!joint) return undefined;
  const low = parseNumber(mention.slice(0, firstEnd + joint.index));
  const high = parseNumber(mention.slice(firstEnd + joint.index + joint[0].length));
  return low === undefined || high === undefined ? undefined : { low, high };
}

/**
 * The number in a money, percentage or number mention (`$1,250.50` → 1250.5, `3.5万元` → 35000); undefined for
 * a range, which is not one number (see parseRange).
 */
export function parseNumber(mention: string): number | undefined {
  if (parseRange(mention)) return undefined;
  const cn = /^百分之([零〇一二三四五六七八九十点]+)$/u.exec(mention);
  if (cn) {
    const [whole = '', frac] = (cn[1] ?? '').split('点');
    let value: number;
    if (whole.includes('十')) {
      const [tens, ones] = whole.split('十');
      value = (tens ? (chineseDigits[tens] ?? 0) : 1) * 10 + (ones ? (chineseDigits[ones] ?? 0) : 0);
    } else value = Number([...whole].map((c) => chineseDigits[c] ?? '').join('')) || 0;
    if (frac) value += Number(`0.${[...frac].map((c) => chineseDigits[c] ?? '').join('')}`);
    return value;
  }
  const m = new RegExp(num).exec(mention);
  if (!m) return undefined;
  let value = Number(m[0].replace(/,/g, ''));
  if (!Number.isFinite(value)) return undefined;
  const after = mention.slice((m.index ?? 0) + m[0].length).toLowerCase();
  if (/^\s?(?:k\b|thousand)/.test(after)) value *= 1e3;
  else if (/^\s?(?:m\b|million)/.test(after)) value *= 1e6;
  else if (/^\s?(?:bn\b|billion)/.test(after)) value *= 1e9;
  else if (/^\s?万/u.test(after)) value *= 1e4;
  else if (/^\s?亿/u.test(after)) value *= 1e8;
  if (/^\s*-/.test(mention)) value = -Math.abs(value);
  return value;
}

const monthIndex = (name: string): number =>
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].indexOf(
    name.slice(0, 3).toLowerCase(),
  ) + 1;

function iso(y: number, m: number, d: number): string | undefined {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d)
    return undefined;
  return date.toISOString().slice(0, 10);
}

/**
 * A date mention as YYYY-MM-DD, or undefined when it is not a full date or is ambiguous (03/04/2024 could be
 * either order; only a day above 12 decides it).
 */
export function toIsoDate(mention: string): string | undefined {
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(mention);
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{4})\s?年\s?(\d{1,2})\s?月\s?(\d{1,2})\s?[日号]$/u.exec(mention);
  if (m) return iso(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$/.exec(mention);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a > 12 && b <= 12) return iso(Number(m[3]), b, a);
    if (b > 12 && a <= 12) return iso(Number(m[3]), a, b);
    return a === b ? iso(Number(m[3]), a, b) : undefined;
  }
  m = /^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(mention);
  if (m && monthIndex(m[1] ?? '') > 0) return iso(Number(m[3]), monthIndex(m[1] ?? ''), Number(m[2]));
  m = /^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$/.exec(mention);
  if (m && monthIndex(m[2] ?? '') > 0) return iso(Number(m[3]), monthIndex(m[2] ?? ''), Number(m[1]));
  return undefined;
}
