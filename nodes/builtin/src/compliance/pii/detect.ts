/**
 * PII detection over Chinese and English text: checksum-validated numbers (resident IDs, bank cards, IBANs),
 * mainland mobiles, e-mail addresses, international phone numbers (libphonenumber metadata), and personal names
 * and postal addresses found from lexicons, address grammar and context cues. Each recogniser proposes scored
 * candidates; overlapping candidates are resolved once, so a number is never reported as two types.
 * Offsets are UTF-16 code units, as JavaScript strings index them.
 */
import type { CountryCode } from 'libphonenumber-js/max';
import { phoneLib } from './phone-lib.js';
import { isValidResidentId15, isValidResidentId18, luhnValid, ibanValid, IBAN_LENGTHS } from './checksums.js';
import {
  isChineseNotName,
  placeWordsByContext,
  recognizeChinesePersons,
  recognizeEnglishPersons,
} from './person.js';
import { recognizeChineseAddresses, recognizeEnglishAddresses } from './address.js';
import { latinFolded, segment, segmentAsync, simplified, type Segment } from './segmenter.js';
import { analyzeBoundaries, boundaryPolicy } from './boundary-model.js';
import { combineWithBoundaries, DEFAULT_DOUBT_FLOOR, policyActive } from './boundary-combine.js';
import { addMentions } from './mentions.js';
import { CN_BRANDS_AND_PLACES, EN_BRANDS } from './lexicons.js';

export const PII_TYPES = [
  'CN_RESIDENT_ID',
  'CN_MOBILE',
  'BANK_CARD',
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'IBAN_CODE',
  'PERSON',
  'ADDRESS',
] as const;
export type PiiType = (typeof PII_TYPES)[number];

export interface PiiEntity {
  type: PiiType;
  start: number;
  end: number;
  text: string;
  score: number;
  /**
   * Numbers only: whether the number passed its check (ID check character and birth date, Luhn, mod 97, the
   * mainland mobile numbering plan). A number that its context labels as an ID, card, account or phone number is
   * reported even when it fails (a mistyped card number is still the customer's card number), with `valid: false`;
   * a caller that uses detection to validate input must test this field.
   */
  valid?: boolean;
}

export interface DetectOptions {
  /** Types to report (all when absent). */
  types?: readonly PiiType[];
  /** Candidates scoring below this are dropped (default 0.5). */
  minScore?: number;
  /** Exact values (case-insensitive) that are never reported, e.g. a bank's own hotline or a test card. */
  allowList?: readonly string[];
  /** Regions whose national number formats the phone recogniser accepts. */
  phoneRegions?: readonly CountryCode[];
  /** Birth dates after this are impossible (default: now). */
  now?: Date;
  /**
   * Use Chinese word segmentation (jieba) as evidence for Chinese names (default true). Off, names rest on
   * context cues and character statistics alone; the benchmark measures what each gives.
   */
  segmentation?: boolean;
  /**
   * jieba's segmentation of the text in simplified characters, computed beforehand (the nodes compute it in a
   * worker thread with `segmentationFor`); without it, and unless segmentation is off, it is computed here.
   */
  segments?: readonly Segment[];
  /**
   * Let the span-boundary model (boundary-model.ts) move the first or last element of a name or address and add
   * ones the recognisers missed (default true); the benchmark measures what it gives.
   */
  boundaryModel?: boolean;
  /**
   * Take a found name's other occurrences in the text, the parts of an English full name used alone, the names
   * of a list whose other lines were found as names, and surname particles (mentions.ts; default true).
   */
  mentions?: boolean;
}

function wantsChinese(text: string, types: ReadonlySet<PiiType>): boolean {
  return /[\u3400-\u9fff]/.test(text) && (types.has('PERSON') || types.has('ADDRESS'));
}

/**
 * The options with the segmentation `detectPii` would compute for this text, computed in the segmentation thread
 * instead, so that loading jieba's dictionary (hundreds of milliseconds, once) and segmenting never stall other
 * work on this thread. If segmentation fails (the native binding missing on a platform), detection goes on
 * without it: masking must not fail for want of a word boundary.
 */
export async function withSegmentation(text: string, options: DetectOptions = {}): Promise<DetectOptions> {
  if (options.segmentation === false || options.segments) return options;
  if (!wantsChinese(text, new Set(options.types ?? PII_TYPES))) return options;
  try {
    return { ...options, segments: await segmentAsync(simplified(latinFolded(text))) };
  } catch {
    return { ...options, segmentation: false };
  }
}

/** The default phone regions: mainland China and Hong Kong plus the regions Presidio checks by default. */
export const DEFAULT_PHONE_REGIONS: readonly CountryCode[] = [
  'CN',
  'HK',
  'US',
  'CA',
  'GB',
  'DE',
  'FR',
  'IL',
  'IN',
  'BR',
  'JP',
];

/** Order used to break score ties between overlapping candidates. */
const PRIORITY: Record<PiiType, number> = {
  CN_RESIDENT_ID: 8,
  BANK_CARD: 7,
  IBAN_CODE: 6,
  EMAIL_ADDRESS: 5,
  CN_MOBILE: 4,
  PHONE_NUMBER: 3,
  ADDRESS: 2,
  PERSON: 1,
};

export type Push = (type: PiiType, start: number, end: number, score: number, valid?: boolean) => void;

const ID_CONTEXT =
  /身份证|身份證|证件|證件|身份号|公民身份|居民身份|\bid\b|identity|id card|id no|national id/i;
const CARD_CONTEXT =
  /卡号|卡號|银行卡|銀行卡|信用卡|借记卡|储蓄卡|账号|帐号|帳號|账户|帐户|帳戶|还款卡|\bcard\b|card number|account|\bpan\b/i;
const MOBILE_CONTEXT =
  /手机|手機|电话|電話|联系|聯絡|致电|来电|短信|号码|號碼|mobile|phone|\btel\b|cell|call|sms|whatsapp|wechat|微信/i;
const PHONE_CONTEXT = /电话|電話|手机|手機|联系|聯絡|phone|\btel\b|mobile|call|fax|reach|number|contact/i;
/** Numbers introduced by these words are references, not personal data. */
const REFERENCE_CONTEXT =
  /订单|合同|编号|編號|流水|单号|交易号|凭证|批次|工单|快递|运单|发票|序列号|货号|型号|设备|终端|借据|order|invoice|contract|reference|\bref\b|tracking|serial|txn|transaction|receipt|\bstore\b|register|\btill\b|\bsku\b|\bitem\b|batch|\bcase\b|claim|booking|\bpnr\b|flight|dial-in|\bcode\b|loan no|merchant|meeting id|conference id|webinar id|\bpin\b|passcode|access code|会议号|会议室号/i;

/**
 * What a label right before a number says it is: the label, then at most a colon, spaces or a copula
 * ("卡号：", "身份证号码是", "card number:", "call me on"). A labelled number is personal data whatever its checksum.
 */
const ID_LABEL =
  /(?:身份证|身份證|证件|證件|公民身份|居民身份证)(?:件)?(?:号码|號碼|号|號)?$|\b(?:ID|identity card|ID card|national ID)(?:\s*(?:number|no\.?|#))?$/i;
const CARD_LABEL =
  /(?:卡号|卡號|银行卡|銀行卡|信用卡|借记卡|储蓄卡|账号|帐号|帳號|账户|帐户|帳戶|卡)(?:号码|號碼|号|號)?$|\b(?:card|account|acct\.?)(?:\s*(?:number|no\.?|#))?$/i;
const PHONE_LABEL =
  /(?:手机|手機|电话|電話|座机|联系方式|聯絡電話|联系电话|致电|热线|傳真|传真)(?:号码|號碼|号|號)?$|\b(?:tel|phone|mobile|cell|fax|contact|call(?: me)?(?: on| at)?|reach(?: me)? (?:on|at))(?:\s*(?:number|no\.?|#))?$/i;

type NumberLabel = 'ID' | 'CARD' | 'PHONE';

function labelBefore(text: string, start: number): NumberLabel | undefined {
  const head = before(text, text[start - 1] === '+' ? start - 1 : start, 24).replace(
    /(?:[\s：:=#＃]|是|为|為|\bis\b)*$/i,
    '',
  );
  if (ID_LABEL.test(head)) return 'ID';
  if (CARD_LABEL.test(head)) return 'CARD';
  if (PHONE_LABEL.test(head)) return 'PHONE';
  return undefined;
}

function before(text: string, start: number, n = 16): string {
  return text.slice(Math.max(0, start - n), start);
}

function clamp(score: number): number {
  return Math.max(0, Math.min(1, Math.round(score * 100) / 100));
}

/** Major card schemes' number lengths below 16 digits (Amex 15, Diners 14, UATP 15, old Visa 13). */
function shortCardScheme(digits: string): boolean {
  const n = digits.length;
  if (n === 15) return /^3[47]/.test(digits) || digits[0] === '1';
  if (n === 14) return /^(?:30[0-5]|36|38|39)/.test(digits);
  if (n === 13) return digits[0] === '4';
  return false;
}

/**
 * Shapes in which people write card numbers with separators: 4-4-4-4(-1..3), Amex 4-6-5, Diners 4-6-4, and
 * groups of three to six read out after a first group of four (4-4-4-3).
 */
const CARD_GROUPS =
  /^(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5}|\d{4}(?:([ -])\d{3,6}){2,4})$/;
const MOBILE_GROUPS = /^1\d{2}([ -])\d{4}\1\d{4}$/;
/** The grouping printed on cards, and a card named before it (how far back, in characters). */
const CARD_TYPED = /^\d{4}([ -])\d{4}\1\d{4}\1\d{4}$/;
const CARD_NAMED = /\bcard\b|卡/i;
const CARD_NAMED_WITHIN = 160;
const CN_MOBILE_PREFIX = /^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])/;
/** A mainland country code written before a mobile: +86, 0086, (+86), with a space or dash after it. */
const CN_COUNTRY_CODE = /\(?(?:\+|＋|00)\s?86\)?[\s-]?$/;

/**
 * One number read out or typed in groups (IDs as 6-8-4, 6-4-4-4, 4-4-4-4-2 ...), not several numbers side by
 * side: one kind of separator, groups of two to eight characters. For an ID the check character and birth date
 * carry the evidence; for a labelled number, the label.
 */
function oneNumberInGroups(raw: string): boolean {
  const seps = new Set(raw.match(/[ -]/g) ?? []);
  return seps.size <= 1 && raw.split(/[ -]/).every((g) => g.length >= 2 && g.length <= 8);
}

/** Checks one digit run (or one group of it) as an ID, a card and a mobile; true if any matched. */
function numericRun(text: string, raw: string, start: number, now: Date, push: Push): boolean {
  const end = start + raw.length;
  const compact = raw.replace(/[ -]/g, '').toUpperCase();
  if (compact.length < 7 || compact.length > 25) return false;
  const grouped = /[ -]/.test(raw);
  const ctx = before(text, start);
  const reference = REFERENCE_CONTEXT.test(ctx);
  const idCtx = ID_CONTEXT.test(ctx);
  const label = labelBefore(text, start);
  const glued = /[A-Za-z]/.test(text[end] ?? '');
  let found = false;

  // Resident identity numbers (the check character may be typed as a lower-case x).
  const validId18 =
    compact.length === 18 && (!grouped || oneNumberInGroups(raw)) && isValidResidentId18(compact, now);
  if (validId18) {
    push('CN_RESIDENT_ID', start, end, 0.9 + (idCtx ? 0.1 : 0) - (reference && !idCtx ? 0.3 : 0), true);
    found = true;
  } else if (!grouped && compact.length === 15 && idCtx && isValidResidentId15(compact, now)) {
    // First-generation IDs have no check digit: only trusted where the text says it is an ID.
    push('CN_RESIDENT_ID', start, end, 0.8, true);
    found = true;
  }
  if (compact.endsWith('X') || glued) {
    if (!found && label === 'ID' && /^\d{17}X$/.test(compact)) {
      push('CN_RESIDENT_ID', start, end, 0.75, false);
      return true;
    }
    return found;
  }

  // Payment cards.
  const cardShape = !grouped || CARD_GROUPS.test(raw);
  const cardLength = compact.length >= 16 ? compact.length <= 19 : shortCardScheme(compact);
  if (cardShape && cardLength && luhnValid(compact)) {
    const cardCtx = CARD_CONTEXT.test(ctx);
    let score = 0.8 + (cardCtx ? 0.15 : 0);
    // A valid ID that happens to pass Luhn stays an ID unless the text calls it a card.
    if (validId18) score = cardCtx && !idCtx ? 0.96 : 0.4;
    if (reference && !cardCtx) score -= 0.5;
    push('BANK_CARD', start, end, score, true);
    found = true;
  }

  // Mainland mobiles, with or without the country code (which belongs to the mobile's span).
  const withCode = /^(?:0086|86)(1\d{10})$/.exec(compact);
  if (withCode && CN_MOBILE_PREFIX.test(withCode[1] as string)) {
    const plus = /\(?[+＋]$/.exec(text.slice(Math.max(0, start - 2), start))?.[0] ?? '';
    if (compact.startsWith('0086') || plus) {
      push('CN_MOBILE', start - plus.length, end, 0.95, true);
      return true;
    }
  }
  if (compact.length === 11 && CN_MOBILE_PREFIX.test(compact) && (!grouped || MOBILE_GROUPS.test(raw))) {
    const code = CN_COUNTRY_CODE.exec(text.slice(Math.max(0, start - 8), start))?.[0] ?? '';
    const from = start - code.length;
    if (code) push('CN_MOBILE', from, end, 0.95, true);
    else
      push(
        'CN_MOBILE',
        start,
        end,
        0.85 + (MOBILE_CONTEXT.test(ctx) ? 0.1 : 0) - (reference ? 0.4 : 0),
        true,
      );
    found = true;
  }
  // A card number typed wrong: sixteen digits in the card grouping (4-4-4-4), a card scheme's first digit, failing
  // Luhn, with a card named earlier in the text's last few sentences ("I typed my card number wrong ... I put in").
  // One digit off the customer's real number is still the customer's card number: masked, `valid: false`.
  if (
    !found &&
    label === undefined &&
    CARD_TYPED.test(raw) &&
    /^[3-6]/.test(compact) &&
    CARD_NAMED.test(before(text, start, CARD_NAMED_WITHIN))
  ) {
    push('BANK_CARD', start, end, 0.7, false);
    return true;
  }
  if (found || label === undefined || (grouped && !oneNumberInGroups(raw))) return found;

  // A number its label calls an ID, a card or account, or a phone, that fails its check: masked all the same.
  if (label === 'ID' && (/^\d{17}[\dX]$/.test(compact) || /^\d{15}$/.test(compact))) {
    push('CN_RESIDENT_ID', start, end, 0.75, false);
    return true;
  }
  if (label === 'CARD' && /^\d{10,25}$/.test(compact)) {
    push('BANK_CARD', start, end, 0.75, false);
    return true;
  }
  if (label === 'PHONE' && /^1\d{10}$/.test(compact)) {
    push('CN_MOBILE', start, end, 0.7, false);
    return true;
  }
  if (label === 'PHONE' && /^\d{7,15}$/.test(compact)) {
    // Below a number libphonenumber accepts (0.85+), so a valid reading of the same digits wins.
    push('PHONE_NUMBER', text[start - 1] === '+' ? start - 1 : start, end, 0.6, false);
    return true;
  }
  return false;
}

/**
 * Whether a number at `start` is the tail of a longer alphanumeric code (an account reference, a malformed
 * IBAN such as "AL47 212A 1009 ..."): glued to a letter, or after a group that mixes letters and digits.
 */
export function partOfCode(text: string, start: number): boolean {
  if (/[A-Za-z]/.test(text[start - 1] ?? '')) return true;
  // "LA-2024-0402-1177", "SF/2024...": a number glued to a code's letters by a dash or slash.
  if (/\b[A-Z]{2,}[-_/]$/.test(text.slice(Math.max(0, start - 8), start))) return true;
  // The upper-case/digit groups written just before, as in "BG80 BNBG 9661 1020 ...".
  const chain = /(?:[A-Z0-9]+[ -])+$/.exec(text.slice(Math.max(0, start - 48), start))?.[0] ?? '';
  return chain.split(/[ -]/).some((t) => /[A-Z]/.test(t) && /\d/.test(t));
}

function numericCandidates(text: string, now: Date, push: Push): void {
  // Digit runs, optionally in groups separated by one space or dash; an ID may end in X (or x). Decimals are skipped.
  const run = /(?<!\d)(?<!\d[.,])\d+(?:[ -]\d+)*(?:[Xx](?![A-Za-z]))?(?!\d)(?![.,]\d)/g;
  for (const m of text.matchAll(run)) {
    const raw = m[0];
    if (partOfCode(text, m.index)) continue;
    if (numericRun(text, raw, m.index, now, push) || !/[ -]/.test(raw)) continue;
    // Several numbers written side by side: take the longest run of groups that is a number, left to right.
    const groups = [...raw.matchAll(/\d+[Xx]?/g)].map((g) => ({
      start: m.index + g.index,
      end: m.index + g.index + g[0].length,
    }));
    let i = 0;
    while (i < groups.length) {
      let next = i + 1;
      for (let j = groups.length - 1; j >= i; j--) {
        if (i === 0 && j === groups.length - 1) continue;
        const from = groups[i]!.start;
        const to = groups[j]!.end;
        if (numericRun(text, text.slice(from, to), from, now, push)) {
          next = j + 1;
          break;
        }
      }
      i = next;
    }
  }
}

function ibanCandidates(text: string, push: Push): void {
  const head = /\b([A-Z]{2})(\d{2})(?=[ -]?[A-Z0-9])/g;
  for (const m of text.matchAll(head)) {
    const country = m[1] as string;
    const length = IBAN_LENGTHS[country];
    if (length === undefined) continue;
    const start = m.index;
    let i = start;
    let compact = '';
    let sep: string | undefined;
    let last = start;
    while (i < text.length && compact.length < length) {
      const ch = text[i] as string;
      if (/[A-Z0-9]/.test(ch)) {
        compact += ch;
        last = i + 1;
        i++;
      } else if ((ch === ' ' || ch === '-') && compact.length >= 4 && /[A-Z0-9]/.test(text[i + 1] ?? '')) {
        // One kind of separator throughout, as IBANs are printed (groups of four, or none).
        if (sep !== undefined && sep !== ch) break;
        sep = ch;
        i++;
      } else break;
    }
    if (compact.length !== length) continue;
    // The number must end here, not in the middle of a longer token.
    if (/[A-Za-z0-9]/.test(text[last] ?? '')) continue;
    if (ibanValid(compact)) push('IBAN_CODE', start, last, 0.95);
  }
}

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{2,59})(?![A-Za-z0-9-]|\.[A-Za-z0-9])/g;

function emailCandidates(text: string, push: Push): void {
  for (const m of text.matchAll(EMAIL)) {
    if (m[0].includes('..')) continue;
    push('EMAIL_ADDRESS', m.index, m.index + m[0].length, 0.95);
  }
}

const DATE_LIKE = /^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{4})$/;
const DATE_PREFIX = /^(?:19|20)\d\d[-.](?:0?[1-9]|1[0-2])[-.](?:0?[1-9]|[12]\d|3[01])(?!\d)/;

/** Runs of digits that could be a phone number: 7+ digits with short separators, an optional + in front. */
const PHONE_CANDIDATE = /(?<![\dA-Za-z])(?<!\d[().-])(?:\+\s?)?\(?\d(?:[\s().-]{0,3}\d){6,16}/g;

/**
 * Phone numbers by libphonenumber's metadata (valid numbers only, as Presidio's default leniency). Only digit
 * runs that no checksum or mobile recogniser has claimed are parsed, each in a small window, trying the regions
 * in order until one accepts it (parsing whole texts once per region was 17 times slower on the PII corpus).
 */
function phoneCandidates(
  text: string,
  regions: readonly CountryCode[],
  claimed: (start: number, end: number) => boolean,
  push: Push,
): void {
  const seen = new Set<string>();
  for (const c of text.matchAll(PHONE_CANDIDATE)) {
    const cStart = c.index;
    const cEnd = cStart + c[0].length;
    // E.164 numbers have at most 15 digits: a longer unbroken run (an order or contract number) is no phone.
    if (claimed(cStart, cEnd) || /\d{16}/.test(c[0])) continue;
    // Dates, times and numbers after a reference word are never phones: skip libphonenumber's parse for them.
    if (DATE_PREFIX.test(c[0].replace(/^[(+\s]+/, '')) || /^[:：]\d\d/.test(text.slice(cEnd, cEnd + 3)))
      continue;
    // One character of context either side lets the parser see letters glued to the number.
    const from = Math.max(0, cStart - 1);
    const window = text.slice(from, Math.min(text.length, cEnd + 1));
    for (const region of regions) {
      let accepted = false;
      for (const f of phoneLib().findPhoneNumbersInText(window, { defaultCountry: region })) {
        const start = from + f.startsAt;
        const end = from + f.endsAt;
        const key = `${start}:${end}`;
        if (seen.has(key)) {
          accepted = true;
          continue;
        }
        if (scorePhone(text, start, end, push)) {
          seen.add(key);
          accepted = true;
        }
      }
      if (accepted) break;
    }
  }
}

/** Scores a phone match; false when it is not a phone number after all (a date, part of a code). */
function scorePhone(text: string, from: number, end: number, push: Push): boolean {
  let start = from;
  const raw = text.slice(start, end);
  // A number starts at a token boundary, never inside a longer run of digits or an alphanumeric code.
  if (/[\dA-Za-z]$|\d[().-]$/.test(text.slice(Math.max(0, start - 2), start)) || partOfCode(text, start))
    return false;
  // Dates and citations (2021-08-20, 2016/679) can be valid numbers somewhere; they are not phones. Nor is a
  // date followed by an hour (2024-03-15 14:30, 2024-03-15-1430), or anything followed by ":mm".
  if (raw.includes('/') || DATE_LIKE.test(raw.replace(/^\(/, ''))) return false;
  if (DATE_PREFIX.test(raw) || /^[:：]\d\d/.test(text.slice(end, end + 3))) return false;
  // "(02) 2378-5566": a parenthesised area code before a number read in one region is part of the number.
  const area = /\(\+?\d{1,4}\)[\s-]?$/.exec(text.slice(Math.max(0, start - 8), start))?.[0];
  if (area) start -= area.length;
  const ctx = before(text, start, 24);
  const international = raw.startsWith('+');
  const context = PHONE_CONTEXT.test(ctx);
  // A bare run of digits is only a phone number where the text says so.
  const bare = /^\d+$/.test(raw);
  let score =
    0.7 + (context ? 0.15 : 0) + (international ? 0.05 : 0) - (REFERENCE_CONTEXT.test(ctx) ? 0.4 : 0);
  if (bare && !context) score -= 0.3;
  // A long bare number after "card number" is a (possibly invalid) card, not a phone.
  if (bare && !international && (raw.length > 12 || CARD_CONTEXT.test(ctx))) score -= 0.5;
  push('PHONE_NUMBER', start, end, score, true);
  return true;
}

type Candidate = PiiEntity;

/**
 * A PERSON candidate scored at least the policy's doubt floor (and below the detection threshold) is doubted
 * rather than dropped: the span-boundary model may confirm it. Below it the person model is sure enough that it
 * is no name. The floor is chosen by cross-validation with the model's other settings (train-boundary-model.mjs);
 * candidates are collected from this lowest floor the training script tries.
 */
const DOUBT_COLLECT = 0.02;

/** The offset (from `a`) just after the last digit of text[a, b). */
function digitsEnd(text: string, a: number, b: number): number {
  let e = b;
  while (e > a && !/\d/.test(text[e - 1] as string)) e--;
  return e - a;
}

/** Keeps the best candidate of each overlapping group: higher score, then longer span, then type priority. */
function resolve(candidates: Candidate[], length: number): Candidate[] {
  const sorted = [...candidates].sort(
    (a, b) =>
      b.score - a.score ||
      b.end - b.start - (a.end - a.start) ||
      PRIORITY[b.type] - PRIORITY[a.type] ||
      a.start - b.start,
  );
  // Which characters a kept candidate covers: linear in the text, however many candidates overlap.
  const taken = new Uint8Array(length);
  const kept: Candidate[] = [];
  for (const c of sorted) {
    let free = true;
    for (let i = c.start; i < c.end && free; i++) free = taken[i] === 0;
    if (!free) continue;
    taken.fill(1, c.start, c.end);
    kept.push(c);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * A name that runs across an address's edge ("Harbour" of "John Harbour" read as the first word of "Harbour View,
 * 8 Marine Parade"): one of the two readings is wrong, and which one the words alone cannot say. An address sure
 * enough to have a locality or a unit (0.7 and above) wins, as it holds more evidence than a name's cue; the other
 * way the name wins by score in resolve. Either way masking stays conservative: the winner is widened to the
 * union, so no character either reading flagged is left unmasked.
 */
function crossing(text: string, candidates: Candidate[]): Candidate[] {
  const addresses = candidates.filter((c) => c.type === 'ADDRESS').sort((a, b) => b.score - a.score);
  if (addresses.length === 0) return candidates;
  // Which address (the best first) covers each character: linear in the text and the names' lengths.
  const owner = new Int32Array(text.length).fill(-1);
  addresses.forEach((a, k) => {
    for (let i = a.start; i < a.end; i++) if (owner[i] === -1) owner[i] = k;
  });
  const dropped = new Set<Candidate>();
  for (const p of candidates) {
    if (p.type !== 'PERSON' || dropped.has(p)) continue;
    for (let i = p.start; i < p.end; i++) {
      const a = addresses[owner[i] ?? -1];
      if (!a || dropped.has(a) || !(p.start < a.start || p.end > a.end)) continue;
      const [winner, loser] = a.score >= 0.7 || a.score >= p.score ? [a, p] : [p, a];
      dropped.add(loser);
      winner.start = Math.min(winner.start, loser.start);
      winner.end = Math.max(winner.end, loser.end);
      winner.text = text.slice(winner.start, winner.end);
      break;
    }
  }
  return dropped.size === 0 ? candidates : candidates.filter((c) => !dropped.has(c));
}

function covered(mask: Uint8Array, c: Candidate): boolean {
  for (let i = c.start; i < c.end; i++) if (!mask[i]) return false;
  return true;
}

const HAN_CHAR = /[\u3400-\u9fff]/;
const EN_BRAND_SET = new Set([...EN_BRANDS].map((b) => b.toLowerCase()));
/**
 * What makes a name a firm's or a place's whatever the evidence for a person: a firm's word after it ("Edward
 * Jones & Co", "Raymond James Financial", "John Smith Ltd", "Ben & Jerry's"), or "upon" before it ("Newcastle
 * upon Tyne").
 */
const FIRM_AFTER =
  /^(?:\s*&\s*(?:Co|Sons|Partners)\b|\s*&\s*[A-Z][a-z]+['’]s\b|\s+(?:&|and)\s+(?:Co|Sons)\b|\s+(?:International|Investments?|Financial|Securities|Capital|Holdings|Bank|Insurance|Advisors|Advisers|Brothers|LLP|LLC|Ltd|PLC|plc|Inc)\b|\s+Asset\s+Management\b)/;
const PLACE_BEFORE = /\b[A-Z][a-z]+[ -]upon[ -]$/;
/** Weaker: a firm's word that may also follow a person ("Baillie Gifford's funds", "Lee Group"). */
const FIRM_AFTER_WEAK =
  /^(?:['’]s\s+(?:funds?|shares|portfolio|branch|office)\b|\s+(?:Partners|Group|Wealth|Associates|Trust|Fund|Funds)\b)/;

/** Whether a PERSON finding is a firm or a place by the words around it (for any finding). */
function firmOrPlace(text: string, f: PiiEntity): boolean {
  return (
    FIRM_AFTER.test(text.slice(f.end, f.end + 24)) ||
    PLACE_BEFORE.test(text.slice(Math.max(0, f.start - 24), f.start))
  );
}

/**
 * A letter after a desk, counter, unit or room word is that place's label, and what follows it the next
 * sentence ("Desk B. Transfer requests ...", "Queue C. Cash only"): not an initial before a surname.
 */
const DESIGNATORS =
  'Desk|Counter|Queue|Window|Booth|Kiosk|Gate|Dock|Bay|Wing|Block|Tower|Unit|Zone|Area|Room|Hall|Level|Floor|Section|Row|Table|Door|Entrance|Exit|Terminal|Platform|Stand|Office|Building|Class|Grade|Type|Category|Option|Phase|Stage|Tier|Series|Plan|Schedule|Annex|Appendix|Part|Track|Line|Site|Lot|Pier|Berth|Station|Point|Lift|Car';
const DESIGNATOR_BEFORE = new RegExp(`\\b(?:${DESIGNATORS})\\s+$`);
/** A name read from a designator on ("Counter C. Smith"): the name is what follows the designator's label. */
const DESIGNATOR_LED = new RegExp(`^(?:${DESIGNATORS})\\s+[A-Z]\\.?\\s+`);
function withoutDesignator(text: string, f: PiiEntity): PiiEntity | undefined {
  const lead = f.type === 'PERSON' ? DESIGNATOR_LED.exec(f.text)?.[0] : undefined;
  if (!lead) return f;
  // One word after a place's label is as likely the next sentence's first ("Counter C. Cash deposits only").
  const start = f.start + lead.length;
  const rest = text.slice(start, f.end);
  return /\s/.test(rest.trim()) ? { ...f, start, text: rest } : undefined;
}
function designatorLabel(text: string, f: PiiEntity): boolean {
  return (
    /^[A-Z](?:\.|\b)/.test(f.text) && DESIGNATOR_BEFORE.test(text.slice(Math.max(0, f.start - 16), f.start))
  );
}

/**
 * A work or a product named after someone, where the name is part of the title: "the Peter Lynch book", "the
 * Warren Buffett shareholder letters", "the Lynch Fund", a name in a quoted or 《》 title of several words, or a
 * Chinese fund's name (巴菲特价值精选混合). The title is not a mention of a person the text is about.
 */
const TITLE_NOUN =
  'book|books|biography|memoir|memoirs|memos?|essays?|papers|newsletters?|letters?|fund|funds|portfolio|index|prize|award|lectures?|method|rule|doctrine|strategy|way|effect|school|collection|series|edition|documentary|film|podcast|reader|classic|bestseller|approach|formula';
const TITLE_AFTER = new RegExp(`^\\s+(?:[a-z]+\\s+)?(?:${TITLE_NOUN})\\b`);
const TITLE_AFTER_CAPITAL =
  /^\s+(?:Fund|Funds|Trust|Portfolio|Index|Prize|Award|Lecture|Lectures|Foundation|Way|Method|Rule|Letters|Reader|Collection|Series|Growth|Income|Value|Select|Opportunities)\b/;
// A fund's or a seminar's name runs on from the name in content words ("巴菲特价值精选混合"): two to eight
// characters, none a particle or a verb that would make the name the fund's holder ("王伟名下基金", "王伟的基金").
const CN_TITLE_AFTER =
  /^(?:(?![的了在买卖购持有名下和与及为是把被给向从对])[\u3400-\u9fff]){2,8}?(?:基金|混合|股票型|债券型|債券型|指数|指數|ETF|LOF|FOF|研讨会|研討會|读书会|讀書會|讲座|講座|投资法|投資法|语录|語錄)/;
function inTitle(text: string, f: PiiEntity): boolean {
  const after = text.slice(f.end, f.end + 40);
  const before = text.slice(Math.max(0, f.start - 6), f.start);
  if (/\bthe\s+$/i.test(before) && TITLE_AFTER.test(after)) return true;
  if (TITLE_AFTER_CAPITAL.test(after)) return true;
  if (/[\u3400-\u9fff]/.test(f.text) && CN_TITLE_AFTER.test(after)) return true;
  // Inside a title's marks on the same line: 《》 or 〈〉 always; quotes when the quoted words are more than the name.
  // (A title's opening mark is looked for in the 200 characters before the name, so a long line costs no more.)
  const near = text.slice(Math.max(0, f.start - 200), f.start);
  const head = near.slice(near.lastIndexOf('\n') + 1);
  if (head.lastIndexOf('《') > head.lastIndexOf('》') || head.lastIndexOf('〈') > head.lastIndexOf('〉'))
    return true;
  const open = Math.max(
    head.lastIndexOf('“'),
    (head.match(/"/g)?.length ?? 0) % 2 ? head.lastIndexOf('"') : -1,
  );
  if (open >= 0 && open > head.lastIndexOf('”')) {
    const close = /["”]/.exec(text.slice(f.end, f.end + 80));
    // A title in title case: every longer word around the name capitalised, and at least one of them.
    const around = `${head.slice(open + 1)} ${text.slice(f.end, f.end + (close?.index ?? 0))}`;
    const long = around.split(/[\s:,.!?'’-]+/).filter((w) => w.length >= 4);
    if (close && long.length > 0 && long.every((w) => /^[A-Z0-9]/.test(w))) return true;
  }
  return false;
}

/** A name that starts with a firm's ("Baillie Gifford Shin Nippon", "Fidelity Contrafund") is a product's. */
const EN_BRAND_LIST = [...EN_BRANDS];
function brandLed(f: PiiEntity): boolean {
  return (
    /\b\w*fund\w*\b/i.test(f.text) ||
    EN_BRAND_LIST.some((b) => f.text.length > b.length && f.text.startsWith(`${b} `))
  );
}

/**
 * Whether a PERSON finding that no recogniser made (the span-boundary model's, agreement's, repetition's) is a
 * brand, a firm or a place the lexicons know or the text names as a place ("the Jordan branch"), or a word the person recogniser knows is no name (明白): the model
 * and agreement read no lexicon, so a candidate the person model doubted for being such a word would come back.
 */
function notAPerson(text: string, f: PiiEntity, places: () => Set<string>): boolean {
  // The lexicons are in simplified script: a traditional finding (金鐘, 明白) is read in it.
  const cn = HAN_CHAR.test(f.text) ? simplified(f.text) : f.text;
  return (
    EN_BRAND_SET.has(f.text.toLowerCase().replace(/['’]s$/, '')) ||
    CN_BRANDS_AND_PLACES.some((b) => cn.startsWith(b)) ||
    isChineseNotName(cn) ||
    (/^[A-Z]/.test(f.text) && f.text.split(/\s+/).some((w) => places().has(w))) ||
    FIRM_AFTER_WEAK.test(text.slice(f.end, f.end + 24))
  );
}

/** Finds the PII entities in a text. Deterministic; does not log or keep the text. */
export function detectPii(text: string, options: DetectOptions = {}): PiiEntity[] {
  // The recognisers read the text with Latin diacritics folded (same offsets); findings quote the original.
  const folded = latinFolded(text);
  if (folded === text) return detectFolded(text, options);
  const allow = new Set((options.allowList ?? []).map((v) => v.trim().toLowerCase()));
  const { allowList: _unused, ...rest } = options;
  return detectFolded(folded, rest)
    .map((f) => ({ ...f, text: text.slice(f.start, f.end) }))
    .filter((f) => !allow.has(f.text.toLowerCase()) && !allow.has(latinFolded(f.text).toLowerCase()));
}

function detectFolded(text: string, options: DetectOptions): PiiEntity[] {
  const minScore = options.minScore ?? 0.5;
  const types = new Set<PiiType>(options.types ?? PII_TYPES);
  const allow = new Set((options.allowList ?? []).map((v) => v.trim().toLowerCase()));
  const now = options.now ?? new Date();
  const candidates: Candidate[] = [];
  // Names the person model doubted: kept aside for the span-boundary model to confirm (boundary-combine.ts).
  const doubted: Candidate[] = [];
  const push: Push = (type, start, end, score, valid) => {
    const s = clamp(score);
    if (type === 'PERSON' && s < minScore && s >= DOUBT_COLLECT && end > start)
      doubted.push({ type, start, end, text: text.slice(start, end), score: s });
    if (s < minScore || end <= start) return;
    const c: Candidate = { type, start, end, text: text.slice(start, end), score: s };
    if (valid !== undefined) c.valid = valid;
    candidates.push(c);
  };
  numericCandidates(text, now, push);
  ibanCandidates(text, push);
  emailCandidates(text, push);
  if (types.has('PHONE_NUMBER')) {
    const strong = candidates.filter((c) => c.type !== 'PHONE_NUMBER');
    // A run is claimed when a found ID, card, IBAN, mobile or e-mail covers all of its digits.
    const claimed = (a: number, b: number) => {
      const first = a + text.slice(a, b).search(/\d/);
      const last = a + digitsEnd(text, a, b);
      return strong.some((c) => c.start <= first && c.end >= last);
    };
    phoneCandidates(text, options.phoneRegions ?? DEFAULT_PHONE_REGIONS, claimed, push);
  }
  const chinese = wantsChinese(text, types);
  const norm = chinese ? simplified(text) : text;
  const segments =
    chinese && options.segmentation !== false ? (options.segments ?? segment(norm)) : undefined;
  if (types.has('ADDRESS')) {
    if (chinese) recognizeChineseAddresses(text, segments, push);
    recognizeEnglishAddresses(text, push);
  }
  if (types.has('PERSON')) {
    if (chinese) recognizeChinesePersons(norm, segments, push);
    recognizeEnglishPersons(text, push);
  }
  // A name inside an address is a street's or a building's name ("柯維納馬路", "张家港市", "14 Kelvin Drive"), not a
  // person: an address candidate is built by a grammar from a number or an administrative unit to a street or a
  // unit, so a name it contains is one of its parts, whatever the two scores (else "Kelvin", a given name scored
  // above a street line without a city, would take the address's place and leave the rest of it unmasked).
  const inAddress = new Uint8Array(text.length + 1);
  for (const a of candidates) if (a.type === 'ADDRESS') inAddress.fill(1, a.start, a.end);
  const kept = candidates.filter(
    (c) => c.type !== 'PERSON' || !(inAddress[c.start] && inAddress[c.end - 1] && covered(inAddress, c)),
  );
  let found = resolve(crossing(text, kept), text.length);
  // Names the recognisers found; those added later (the span-boundary model, agreement, evidence from the rest of
  // the text) read no lexicon, so a brand, firm or place they add is dropped (notAPerson). A candidate the person
  // model doubted (below minScore) and agreement raised is agreement's finding, so the lexicons judge it too (金鐘:
  // a district the person model scored just below the threshold, raised by the model's reading of the span).
  const recognised = new Set(
    found.filter((f) => f.type === 'PERSON' && f.score >= minScore).map((f) => `${f.start}:${f.end}`),
  );
  const policy = boundaryPolicy();
  if (
    (types.has('PERSON') || types.has('ADDRESS')) &&
    options.boundaryModel !== false &&
    policyActive(policy)
  ) {
    const floor = policy.PERSON.doubtFloor ?? DEFAULT_DOUBT_FLOOR;
    const doubt = doubted.filter(
      (d) => d.score >= floor && !(inAddress[d.start] && inAddress[d.end - 1] && covered(inAddress, d)),
    );
    found = combineWithBoundaries(text, found, analyzeBoundaries(text, norm, segments), policy, doubt);
  }
  if (types.has('PERSON') && options.mentions !== false) found = addMentions(text, found);
  found = found.flatMap((f) => withoutDesignator(text, f) ?? []);
  // Read once, and only when a finding needs it.
  let places: Set<string> | undefined;
  const placeWords = () => (places ??= placeWordsByContext(text));
  found = found.filter(
    (f) =>
      f.type !== 'PERSON' ||
      (!firmOrPlace(text, f) &&
        !designatorLabel(text, f) &&
        !inTitle(text, f) &&
        !brandLed(f) &&
        (recognised.has(`${f.start}:${f.end}`) || !notAPerson(text, f, placeWords))),
  );
  return found.filter((c) => types.has(c.type) && c.score >= minScore && !allow.has(c.text.toLowerCase()));
}
