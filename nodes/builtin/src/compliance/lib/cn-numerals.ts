/**
 * Chinese numerals to integers, as regulations write article numbers and time limits: 三十 = 30, 十五 = 15,
 * 六十 = 60, 一百二十 = 120, 一百零五 = 105, 两千 = 2000, 二〇二一 (digit by digit) = 2021. Arabic and
 * full-width digits pass through.
 */

const DIGITS: Readonly<Record<string, number>> = {
  零: 0,
  〇: 0,
  一: 1,
  壹: 1,
  二: 2,
  贰: 2,
  两: 2,
  三: 3,
  叁: 3,
  四: 4,
  肆: 4,
  五: 5,
  伍: 5,
  六: 6,
  陆: 6,
  七: 7,
  柒: 7,
  八: 8,
  捌: 8,
  九: 9,
  玖: 9,
};
const UNITS: Readonly<Record<string, number>> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const BIG: Readonly<Record<string, number>> = { 万: 10_000, 亿: 100_000_000 };

/** The characters a Chinese number may be written with (for building regular expressions). */
export const CN_NUMERAL_CHARS = '零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖十拾百佰千仟万亿';

/** Parses a Chinese (or Arabic) number; returns undefined for anything else. */
export function parseChineseNumber(input: string): number | undefined {
  const s = input.trim().replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  if (![...s].every((c) => c in DIGITS || c in UNITS || c in BIG)) return undefined;
  // Digit-by-digit form (二〇二一): no unit characters at all.
  if ([...s].every((c) => c in DIGITS) && s.length > 1) {
    return Number([...s].map((c) => DIGITS[c]).join(''));
  }
  let total = 0; // completed 亿/万 sections
  let section = 0; // below 万
  let digit: number | undefined;
  for (const c of s) {
    if (c in DIGITS) {
      digit = DIGITS[c] as number;
    } else if (c in UNITS) {
      // A bare 十 at the start means 一十 (十五 = 15).
      section += (digit ?? 1) * (UNITS[c] as number);
      digit = undefined;
    } else if (c === '亿') {
      total = (total + section + (digit ?? 0)) * (BIG[c] as number);
      section = 0;
      digit = undefined;
    } else {
      // 万 scales only the part written since the last 亿 (一亿二千万 = 120,000,000).
      total += (section + (digit ?? 0)) * (BIG[c] as number);
      section = 0;
      digit = undefined;
    }
  }
  return total + section + (digit ?? 0);
}
