/**
 * Postal-address recognisers. Chinese addresses follow the administrative grammar
 * 省/自治区 → 市/州 → 区/县 → 镇/街道 → 路/街/大道 → 号 → 栋/单元/层/室; a match starts at a province-level name, or
 * after an address label (地址：, 住址, 家住 ...) at a city or district, and must reach below district level.
 * English addresses are a house number, a street name and a street-type word (USPS suffixes), optionally a unit
 * (Suite/Apt/Unit/Floor), a city and a US state with ZIP code or a UK postcode.
 */
import { CN_ADDRESS_CUES, CN_PROVINCES, EN_STREET_SUFFIXES, US_STATES } from './lexicons.js';
import type { Push } from './detect.js';

const H = '[\\u4e00-\\u9fff]';
const CN_DIGIT = '[0-9０-９一二三四五六七八九十百千零〇两]';
const PROVINCE = `(?:${[...CN_PROVINCES].sort((a, b) => b.length - a.length).join('|')})`;
const CITY = `(?:${H}{1,7}?(?:市|自治州|州|地区|盟))`;
const DISTRICT = `(?:${H}{1,7}?(?:新区|区|县|旗|市))`;
const TOWN = `(?:${H}{1,7}?(?:街道|镇|乡))`;
const VILLAGE = `(?:${H}{1,6}?(?:村|社区|居委会))`;
const ROAD = `(?:(?:${H}|[0-9])(?:${H}|[0-9]){0,11}?(?:大道|大街|路|街|道|巷|弄|胡同)(?:${CN_DIGIT}{1,3}段)?)`;
const NUMBER = `(?:${CN_DIGIT}{1,6}(?:[-－]${CN_DIGIT}{1,4})?号(?:院)?)`;
const BUILDING = `(?:${H}{2,10}?(?:小区|大厦|花园|广场|公寓|大楼|家园|新村|景区|园区|产业园|工业园|科技园|校区|大院|苑|中心))`;
const UNIT = `(?:[-－]?(?:${CN_DIGIT}{1,5}|[A-Za-z])(?:号楼|栋|幢|座|单元|层|楼|室|号|户|F))`;

const LOWER = `(?<city>${CITY})?(?<district>${DISTRICT})?(?<town>${TOWN})?(?<village>${VILLAGE})?(?<road>${ROAD})?(?<number>${NUMBER})?(?<building>${BUILDING})?(?<unit>${UNIT}*)`;
const CN_WITH_PROVINCE = new RegExp(`${PROVINCE}${LOWER}`, 'g');
const CN_AFTER_CUE = new RegExp(`(?<=(?:${CN_ADDRESS_CUES.join('|')})[：:\\s]*)${LOWER}`, 'g');

/**
 * A Chinese address must name something below district level; a street alone (上海市…道) also needs a city or
 * district before it, so that a province name followed by ordinary prose is not taken for an address.
 */
function scoreChinese(
  groups: Record<string, string | undefined>,
  province: boolean,
  cue: boolean,
): number | undefined {
  const numbered = Boolean(groups['number'] || groups['unit']);
  const admin = Boolean(groups['city'] || groups['district']);
  const place = Boolean(groups['road'] || groups['town'] || groups['village'] || groups['building']);
  if (!province && !admin) return undefined;
  if (!numbered && !(admin && place)) return undefined;
  if (!numbered && !place) return undefined;
  return Math.min(0.6 + (numbered ? 0.15 : 0) + (admin ? 0.1 : 0) + (cue ? 0.1 : 0), 0.95);
}

export function recognizeChineseAddresses(text: string, push: Push): void {
  for (const m of text.matchAll(CN_WITH_PROVINCE)) {
    const cue = CN_ADDRESS_CUES.some((c) => text.slice(Math.max(0, m.index - 8), m.index).includes(c));
    const score = scoreChinese(m.groups ?? {}, true, cue);
    if (score !== undefined) push('ADDRESS', m.index, m.index + m[0].length, score);
  }
  for (const m of text.matchAll(CN_AFTER_CUE)) {
    if (!m[0]) continue;
    const score = scoreChinese(m.groups ?? {}, false, true);
    if (score !== undefined) push('ADDRESS', m.index, m.index + m[0].length, score - 0.05);
  }
}

const STREET_WORD = "(?:[A-Z][a-z]+(?:['-][A-Za-z]+)?|\\d{1,3}(?:st|nd|rd|th))";
const EN_ADDRESS = new RegExp(
  '\\b(\\d{1,6}[A-Z]?)\\s+' +
    '(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\\.?\\s+)?' +
    `(?:${STREET_WORD}\\s+){1,3}` +
    `(?:${EN_STREET_SUFFIXES})\\b\\.?` +
    '((?:,?\\s+(?:Suite|Ste|Apt|Apartment|Unit|Floor|Fl|Room|Rm|#)\\.?\\s*#?[A-Za-z0-9-]+)?)' +
    `((?:,\\s+(?:[A-Z][a-z]+(?:\\s+[A-Z][a-z]+){0,2}),?\\s+(?:(?:${US_STATES})\\s+\\d{5}(?:-\\d{4})?|(?:${US_STATES})\\b|[A-Z]{1,2}\\d[A-Z\\d]?\\s*\\d[A-Z]{2}\\b))?)`,
  'g',
);
const EN_ADDRESS_CUE =
  /(?:address|lives? at|living at|resides? at|residing at|located at|mail(?:ed)? to|send (?:it )?to|ship(?:ped)? to|deliver(?:ed)? to)[:\s]*$/i;

export function recognizeEnglishAddresses(text: string, push: Push): void {
  for (const m of text.matchAll(EN_ADDRESS)) {
    const house = m[1] as string;
    const unit = m[2] ?? '';
    const locality = m[3] ?? '';
    let score = 0.55 + (unit ? 0.1 : 0) + (locality ? 0.3 : 0);
    if (EN_ADDRESS_CUE.test(text.slice(Math.max(0, m.index - 24), m.index))) score += 0.1;
    // "2020 Supreme Court" is a year before a name, not a house number, unless a locality follows.
    if (/^(?:19|20)\d\d$/.test(house) && !locality) score -= 0.2;
    push('ADDRESS', m.index, m.index + m[0].length, Math.min(score, 0.95));
  }
}
