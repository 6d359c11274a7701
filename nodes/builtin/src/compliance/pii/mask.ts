/**
 * Masking of detected PII. Three strategies per type: `partial` keeps a few characters at either end (the
 * conventions of Hutool's DesensitizedUtil: mobile 3+4, ID 1+2, Chinese name keeps the surname, e-mail keeps the
 * first character of the local part, address hides its last 8 characters); `full` hides every character;
 * `pseudonym` replaces the value by a keyed HMAC-SHA256 token, so equal values give equal tokens across
 * records and runs ("usable but not visible") while the value cannot be recovered without the key; `label`
 * writes the type name only.
 */
import { createHmac } from 'node:crypto';
import { CN_COMPOUND_SURNAMES } from './lexicons.js';
import type { PiiEntity, PiiType } from './detect.js';

export const MASK_STRATEGIES = ['partial', 'full', 'pseudonym', 'label'] as const;
export type MaskStrategyName = (typeof MASK_STRATEGIES)[number];

export interface MaskRule {
  strategy: MaskStrategyName;
  /** partial: characters kept at the start (digits only for numbers; separators are always kept). */
  keepFirst?: number | undefined;
  /** partial: characters kept at the end. */
  keepLast?: number | undefined;
  /** partial: hide exactly the last N characters instead (Hutool's address rule). */
  maskLast?: number | undefined;
}

/** Default partial rules per type. */
export const DEFAULT_PARTIAL: Record<PiiType, Omit<MaskRule, 'strategy'>> = {
  CN_MOBILE: { keepFirst: 3, keepLast: 4 },
  CN_RESIDENT_ID: { keepFirst: 1, keepLast: 2 },
  BANK_CARD: { keepFirst: 4, keepLast: 4 },
  IBAN_CODE: { keepFirst: 4, keepLast: 4 },
  PHONE_NUMBER: { keepFirst: 4, keepLast: 2 },
  EMAIL_ADDRESS: {},
  PERSON: {},
  ADDRESS: { maskLast: 8 },
};

const NUMERIC_TYPES = new Set<PiiType>([
  'CN_MOBILE',
  'CN_RESIDENT_ID',
  'BANK_CARD',
  'IBAN_CODE',
  'PHONE_NUMBER',
]);

/** Hides the characters of `value` that `hide(index among maskable characters, count)` selects. */
function hideWhere(
  value: string,
  maskable: (ch: string) => boolean,
  hide: (i: number, n: number) => boolean,
  maskChar: string,
): string {
  const chars = [...value];
  const n = chars.filter(maskable).length;
  let i = 0;
  return chars
    .map((ch) => {
      if (!maskable(ch)) return ch;
      const out = hide(i, n) ? maskChar : ch;
      i++;
      return out;
    })
    .join('');
}

function keepEnds(
  value: string,
  first: number,
  last: number,
  maskChar: string,
  maskable: (ch: string) => boolean,
): string {
  return hideWhere(
    value,
    maskable,
    (i, n) => (first + last >= n ? i > 0 && i < n - 1 : i >= first && i < n - last),
    maskChar,
  );
}

const alnum = (ch: string) => /[\p{L}\p{N}]/u.test(ch);
const anyChar = () => true;

function partialPerson(value: string, maskChar: string): string {
  if (/^[\u4e00-\u9fff·]+$/.test(value)) {
    const surname = CN_COMPOUND_SURNAMES.has(value.slice(0, 2)) && value.length > 2 ? 2 : 1;
    return value.slice(0, surname) + maskChar.repeat([...value].length - surname);
  }
  // Latin names keep each word's initial: "John Smith" -> "J*** S****".
  return value.replace(/\p{L}+/gu, (w) => w[0] + maskChar.repeat([...w].length - 1));
}

function partialEmail(value: string, maskChar: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return maskChar.repeat(value.length);
  return value[0] + maskChar.repeat(at - 1) + value.slice(at);
}

function partialAddress(value: string, rule: Omit<MaskRule, 'strategy'>, maskChar: string): string {
  if (rule.keepFirst !== undefined || rule.keepLast !== undefined)
    return keepEnds(value, rule.keepFirst ?? 0, rule.keepLast ?? 0, maskChar, anyChar);
  if (rule.maskLast !== undefined || /[\u4e00-\u9fff]/.test(value)) {
    const chars = [...value];
    const hidden = Math.min(rule.maskLast ?? DEFAULT_PARTIAL.ADDRESS.maskLast ?? 8, chars.length);
    return chars.slice(0, chars.length - hidden).join('') + maskChar.repeat(hidden);
  }
  // A Latin address hides its street line (house number, street, unit) and keeps the locality.
  const comma = value.search(/,\s*(?!(?:Suite|Ste|Apt|Apartment|Unit|Floor|Fl|Room|Rm)\b)[A-Z][a-z]/);
  const street = comma < 0 ? value : value.slice(0, comma);
  return hideWhere(street, alnum, () => true, maskChar) + value.slice(street.length);
}

/** The partial mask of one value. */
export function partialMask(
  type: PiiType,
  value: string,
  rule: Omit<MaskRule, 'strategy'> = {},
  maskChar = '*',
): string {
  const defaults = DEFAULT_PARTIAL[type];
  const merged = { ...defaults, ...definedOnly(rule) };
  switch (type) {
    case 'PERSON':
      return merged.keepFirst !== undefined || merged.keepLast !== undefined
        ? keepEnds(value, merged.keepFirst ?? 0, merged.keepLast ?? 0, maskChar, alnum)
        : partialPerson(value, maskChar);
    case 'EMAIL_ADDRESS':
      return merged.keepFirst !== undefined || merged.keepLast !== undefined
        ? keepEnds(value, merged.keepFirst ?? 0, merged.keepLast ?? 0, maskChar, anyChar)
        : partialEmail(value, maskChar);
    case 'ADDRESS':
      return partialAddress(value, definedOnly(rule), maskChar);
    default: {
      if (merged.maskLast !== undefined && merged.keepFirst === undefined) {
        const n = [...value].filter(alnum).length;
        return hideWhere(value, alnum, (i) => i >= n - (merged.maskLast ?? 0), maskChar);
      }
      // Numbers keep their separators and a leading +, so the format stays readable: "+86 186*******29".
      return keepEnds(
        value,
        merged.keepFirst ?? 0,
        merged.keepLast ?? 0,
        maskChar,
        NUMERIC_TYPES.has(type) ? alnum : anyChar,
      );
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The form a value is compared in, so "6222 0233 ..." and "62220233..." give the same pseudonym. */
export function normalizeForPseudonym(type: PiiType, value: string): string {
  const v = value.normalize('NFKC').trim();
  switch (type) {
    case 'EMAIL_ADDRESS':
      return v.toLowerCase();
    case 'PERSON':
    case 'ADDRESS':
      return v.replace(/\s+/g, ' ').toLowerCase();
    case 'IBAN_CODE':
    case 'CN_RESIDENT_ID':
      return v.replace(/[\s-]/g, '').toUpperCase();
    default:
      return v.replace(/[^\dA-Za-z+]/g, '');
  }
}

/** A keyed, deterministic token for a value: HMAC-SHA256 over the type and the normalised value. */
export function pseudonym(type: PiiType, value: string, key: string, hexLength = 16): string {
  const mac = createHmac('sha256', key)
    .update(`${type}\u0000${normalizeForPseudonym(type, value)}`)
    .digest('hex');
  return `<${type}:${mac.slice(0, hexLength)}>`;
}

export interface MaskOptions {
  rules: Partial<Record<PiiType, MaskRule>>;
  defaultStrategy: MaskStrategyName;
  maskChar: string;
  /** The pseudonymisation key (needed only when a rule uses `pseudonym`). */
  key?: string | undefined;
  tokenLength?: number;
}

export interface MaskedEntity {
  type: PiiType;
  /** Offsets in the masked text. */
  start: number;
  end: number;
  /** Offsets in the original text. */
  originalStart: number;
  originalEnd: number;
  score: number;
  strategy: MaskStrategyName;
  masked: string;
}

/** Applies the rules to non-overlapping entities (sorted or not) and returns the masked text. */
export function maskText(
  text: string,
  entities: readonly PiiEntity[],
  options: MaskOptions,
): { text: string; entities: MaskedEntity[] } {
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  const masked: MaskedEntity[] = [];
  for (const e of sorted) {
    if (e.start < cursor) continue; // overlapping input: the earlier entity already covers it
    const value = text.slice(e.start, e.end);
    const rule = options.rules[e.type] ?? { strategy: options.defaultStrategy };
    let replacement: string;
    switch (rule.strategy) {
      case 'full':
        replacement = options.maskChar.repeat([...value].length);
        break;
      case 'label':
        replacement = `<${e.type}>`;
        break;
      case 'pseudonym':
        if (options.key === undefined) throw new Error('pseudonym masking needs a key');
        replacement = pseudonym(e.type, value, options.key, options.tokenLength);
        break;
      default:
        replacement = partialMask(e.type, value, rule, options.maskChar);
    }
    out += text.slice(cursor, e.start);
    const start = out.length;
    out += replacement;
    masked.push({
      type: e.type,
      start,
      end: out.length,
      originalStart: e.start,
      originalEnd: e.end,
      score: e.score,
      strategy: rule.strategy,
      masked: replacement,
    });
    cursor = e.end;
  }
  out += text.slice(cursor);
  return { text: out, entities: masked };
}
