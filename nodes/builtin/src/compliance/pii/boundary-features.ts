/**
 * Tokens and features for the span-boundary model (boundary-model.ts), shared by inference and by the training
 * script (train-boundary-model.mjs), so that both read a text the same way. A token is one Han character, a run
 * of Latin letters, a run of digits, or one other visible character; spaces are not tokens but features of the
 * token after them. Features are strings (the model's weights are keyed by them): the token and its neighbours,
 * character bigrams and trigrams for Chinese, shape, casing and prefix/suffix for English, jieba's part-of-speech
 * tag and the token's place in its word, gazetteer hits (surnames, given names, PRC administrative units and
 * provinces, street suffixes, US states, UK and US postcode shapes, titles) and cue words before the token.
 */
import {
  CN_ADDRESS_CUES,
  CN_COMPOUND_SURNAMES,
  CN_NAME_PREFIX_CUES,
  CN_NAME_TITLES,
  CN_PROVINCES,
  CN_RARE_SURNAMES,
  CN_SURNAMES,
  EN_CHINESE_SURNAMES,
  EN_GIVEN_NAMES,
  EN_GREETINGS,
  EN_NAME_PREFIX_CUES,
  EN_NOT_NAME_WORDS,
  EN_PLACE_WORDS,
  EN_STREET_SUFFIXES,
  EN_SURNAMES,
  US_STATES,
} from './lexicons.js';
import { EN_GIVEN_NAME_LIST, EN_SURNAME_LIST, GIVEN_NAME_LOG_ODDS } from './name-data.js';
import type { Segment } from './segmenter.js';

export interface Token {
  start: number;
  end: number;
}

const TOKEN = /[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]+|\d+|[^\s]/gu;

/** The text's tokens with UTF-16 offsets. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN)) out.push({ start: m.index, end: m.index + m[0].length });
  return out;
}

const HAN = /^[\u3400-\u9fff\uf900-\ufaff]$/;
const LATIN = /^[A-Za-z]+$/;
const DIGITS = /^\d+$/;

/** Administrative and building units of Chinese addresses (one character each). */
const CN_ADDRESS_UNITS = new Set([...'省市区县镇乡村路街道巷弄号栋幢座楼层室单元院组屯里坊苑园庄厦场城湾岛']);

let tables:
  | {
      givenOdds: Map<string, number>;
      enGiven: Set<string>;
      enSurname: Set<string>;
      enCnSurname: Set<string>;
      street: Set<string>;
      states: Set<string>;
      notName: Set<string>;
      place: Set<string>;
      greet: Set<string>;
      enCue: Set<string>;
      titles: Words;
      nameCues: Words;
      addressCues: Words;
      provinces: Words;
    }
  | undefined;

function data() {
  if (!tables) {
    const givenOdds = new Map<string, number>();
    for (const entry of GIVEN_NAME_LOG_ODDS.split(','))
      givenOdds.set(entry[0] as string, Number(entry.slice(1)) / 2);
    tables = {
      givenOdds,
      enGiven: new Set([...EN_GIVEN_NAMES, ...EN_GIVEN_NAME_LIST.split('|')].map((w) => w.toLowerCase())),
      enSurname: new Set([...EN_SURNAMES, ...EN_SURNAME_LIST.split('|')].map((w) => w.toLowerCase())),
      enCnSurname: new Set(EN_CHINESE_SURNAMES.map((w) => w.toLowerCase())),
      street: new Set(EN_STREET_SUFFIXES.split('|').map((w) => w.toLowerCase())),
      states: new Set(US_STATES.split('|')),
      notName: new Set([...EN_NOT_NAME_WORDS].map((w) => w.toLowerCase())),
      place: new Set([...EN_PLACE_WORDS].map((w) => w.toLowerCase())),
      greet: EN_GREETINGS,
      enCue: EN_NAME_PREFIX_CUES,
      titles: new Words(CN_NAME_TITLES.filter((t) => /[\u3400-\u9fff]/.test(t))),
      nameCues: new Words(CN_NAME_PREFIX_CUES),
      addressCues: new Words(CN_ADDRESS_CUES),
      provinces: new Words(CN_PROVINCES),
    };
  }
  return tables;
}

/** A coarse shape: X upper, x lower, d digit (length capped), H Han, or the character itself. */
export function shape(token: string): string {
  if (HAN.test(token)) return 'H';
  if (DIGITS.test(token)) return `d${Math.min(token.length, 6)}`;
  if (LATIN.test(token)) {
    if (token.length === 1) return token === token.toUpperCase() ? 'X' : 'x';
    if (token === token.toUpperCase()) return 'XX';
    if (token === token.toLowerCase()) return 'xx';
    return /^[A-Z][a-z]+$/.test(token) ? 'Xx' : 'XxX';
  }
  return token;
}

/** A word list looked up by the lengths its words have: a handful of slices per position, not one per word. */
class Words {
  private readonly words: Set<string>;
  private readonly lengths: number[];
  constructor(words: readonly string[]) {
    this.words = new Set(words);
    this.lengths = [...new Set(words.map((w) => w.length))];
  }
  startsAt(text: string, at: number): boolean {
    for (const n of this.lengths) if (this.words.has(text.slice(at, at + n))) return true;
    return false;
  }
  endsAt(text: string, at: number): boolean {
    for (const n of this.lengths) if (at >= n && this.words.has(text.slice(at - n, at))) return true;
    return false;
  }
}

/** A token's place in its jieba word, by number: its index in this string. */
export const WORD_PLACES = 'SBEM';

/**
 * Each token's jieba word tag and its place in the word (an index into WORD_PLACES), without building a string:
 * the tag is undefined where no segment covers the token.
 */
export function segmentPlaces(
  tokens: readonly Token[],
  segments: readonly Segment[] | undefined,
): { tags: (string | undefined)[]; places: Uint8Array } {
  const tags: (string | undefined)[] = new Array<string | undefined>(tokens.length);
  const places = new Uint8Array(tokens.length);
  if (!segments?.length) return { tags, places };
  let s = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    while (s < segments.length && (segments[s] as Segment).end <= t.start) s++;
    const seg = segments[s];
    if (!seg || seg.start > t.start) continue;
    tags[i] = seg.tag;
    places[i] =
      seg.start === t.start && seg.end === t.end ? 0 : seg.start === t.start ? 1 : seg.end === t.end ? 2 : 3;
  }
  return { tags, places };
}

/** The BMES position of each token in jieba's words and the word's tag; undefined where there is no segment. */
function segmentTags(
  tokens: readonly Token[],
  segments: readonly Segment[] | undefined,
): (string | undefined)[] {
  const { tags, places } = segmentPlaces(tokens, segments);
  return tags.map((tag, i) => (tag === undefined ? undefined : `${tag}|${WORD_PLACES[places[i] as number]}`));
}

/** Every feature template, in a fixed order: a sink receives a template as its index here. */
export const TEMPLATES = [
  'bias',
  'w',
  'w-1',
  'w+1',
  'w-2',
  'w+2',
  'b-',
  'b+',
  'b--',
  'b++',
  'sh',
  'sh3',
  'lineStart',
  'spaceBefore',
  'lineEnd',
  'spaceAfter',
  'pos',
  'pos-1',
  'pos+1',
  'cnSurname',
  'cnRareSurname',
  'cnCompound',
  'given',
  'cnUnit',
  'titleAfter',
  'nameCueBefore',
  'addressCueBefore',
  'province',
  'p3',
  's3',
  'cap',
  'enGiven',
  'enSurname',
  'enCnSurname',
  'street',
  'usState',
  'notName',
  'placeWord',
  'greetBefore',
  'cueBefore',
  'postcodeStart',
  'zipAfterState',
] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** A template's index by its name. */
export const T = Object.fromEntries(TEMPLATES.map((name, i) => [name, i])) as Record<TemplateName, number>;

/**
 * Receives one feature of token `index`: a flag (`template` alone), a keyed feature (`w` and the token), or a
 * pair (`b-` and the two tokens); `template` is the template's index in TEMPLATES. Its name in the weights file
 * is `template`, `template:key` or `template:key|second` (featureName); inference looks the parts up without
 * building that string, and the template by its number.
 */
export type FeatureSink = (index: number, template: number, key?: string, second?: string) => void;

/** A feature's name in the weights file. */
export function featureName(template: number, key?: string, second?: string): string {
  const name = TEMPLATES[template] as string;
  if (key === undefined) return name;
  return second === undefined ? `${name}:${key}` : `${name}:${key}|${second}`;
}

/** The tokens as the window features read them: simplified, lower-cased. */
export function lowerTokens(norm: string, tokens: readonly Token[]): string[] {
  return tokens.map((t) => norm.slice(t.start, t.end).toLowerCase());
}

/** What the window features read before the first and after the last token. */
export const BEFORE = '<s>';
export const AFTER = '</s>';

/**
 * Calls `each` with every feature of each token in turn (no token's features are kept, so a long text never
 * holds them all at once). `norm` is the text with traditional characters simplified (same offsets); `segments`
 * is jieba's segmentation of `norm` when the caller has it.
 */
export function forEachTokenFeature(
  text: string,
  norm: string,
  tokens: readonly Token[],
  segments: readonly Segment[] | undefined,
  each: FeatureSink,
  /** false: leave out the token window (w, w-1 ... b++), which the caller reads itself (see lowerTokens). */
  window = true,
  /** false: leave out the shape features (sh, sh3), which the caller reads itself by number (see shape). */
  shapes = true,
  /** false: leave out jieba's tags (pos, pos-1, pos+1), which the caller reads itself (see segmentPlaces). */
  withTags = true,
): void {
  const d = data();
  const n = tokens.length;
  const words = tokens.map((t) => norm.slice(t.start, t.end));
  const lower = lowerTokens(norm, tokens);
  const shapeList = shapes ? tokens.map((t) => shape(text.slice(t.start, t.end))) : [];
  const tags = withTags ? segmentTags(tokens, segments) : [];
  const at = (i: number) => (i < 0 ? BEFORE : i >= n ? AFTER : (lower[i] as string));
  const shapeAt = (i: number) => (i < 0 ? BEFORE : i >= n ? AFTER : (shapeList[i] as string));
  for (let i = 0; i < n; i++) {
    const t = tokens[i] as Token;
    const w = lower[i] as string;
    const raw = text.slice(t.start, t.end);
    const gap = text.slice(i > 0 ? (tokens[i - 1] as Token).end : 0, t.start);
    const gapAfter = text.slice(t.end, i + 1 < n ? (tokens[i + 1] as Token).start : text.length);
    each(i, T.bias);
    if (window) {
      each(i, T.w, w);
      each(i, T['w-1'], at(i - 1));
      each(i, T['w+1'], at(i + 1));
      each(i, T['w-2'], at(i - 2));
      each(i, T['w+2'], at(i + 2));
      each(i, T['b-'], at(i - 1), w);
      each(i, T['b+'], w, at(i + 1));
      each(i, T['b--'], at(i - 2), at(i - 1));
      each(i, T['b++'], at(i + 1), at(i + 2));
    }
    if (shapes) {
      each(i, T.sh, shapeList[i] as string);
      each(i, T.sh3, `${shapeAt(i - 1)}|${shapeList[i] as string}|${shapeAt(i + 1)}`);
    }
    if (gap.includes('\n') || i === 0) each(i, T.lineStart);
    else if (gap.length) each(i, T.spaceBefore);
    if (gapAfter.includes('\n') || i === n - 1) each(i, T.lineEnd);
    else if (gapAfter.length) each(i, T.spaceAfter);
    const tag = tags[i];
    if (tag) {
      each(i, T.pos, tag);
      each(i, T.pos, tag.slice(0, tag.indexOf('|')));
    }
    const tagBefore = tags[i - 1];
    const tagAfter = tags[i + 1];
    if (tagBefore) each(i, T['pos-1'], tagBefore);
    if (tagAfter) each(i, T['pos+1'], tagAfter);
    if (HAN.test(w)) {
      if (CN_SURNAMES.has(w)) each(i, T.cnSurname);
      if (CN_RARE_SURNAMES.has(w)) each(i, T.cnRareSurname);
      if (CN_COMPOUND_SURNAMES.has(norm.slice(t.start, t.start + 2))) each(i, T.cnCompound);
      const odds = d.givenOdds.get(w);
      if (odds !== undefined) each(i, T.given, String(Math.max(-3, Math.min(3, Math.round(odds / 2)))));
      if (CN_ADDRESS_UNITS.has(w)) each(i, T.cnUnit);
      if (d.titles.startsAt(norm, t.end)) each(i, T.titleAfter);
      if (d.nameCues.endsAt(norm, t.start)) each(i, T.nameCueBefore);
      if (d.addressCues.endsAt(norm, t.start)) each(i, T.addressCueBefore);
      if (d.provinces.startsAt(norm, t.start)) each(i, T.province);
    } else if (LATIN.test(raw)) {
      each(i, T.p3, w.slice(0, 3));
      each(i, T.s3, w.slice(-3));
      if (/^[A-Z]/.test(raw)) each(i, T.cap);
      if (d.enGiven.has(w)) each(i, T.enGiven);
      if (d.enSurname.has(w)) each(i, T.enSurname);
      if (d.enCnSurname.has(w)) each(i, T.enCnSurname);
      if (d.street.has(w)) each(i, T.street);
      if (d.states.has(raw)) each(i, T.usState);
      if (d.notName.has(w)) each(i, T.notName);
      if (d.place.has(w)) each(i, T.placeWord);
      const prev = at(i - 1);
      if (d.greet.has(prev)) each(i, T.greetBefore);
      if (d.enCue.has(prev)) each(i, T.cueBefore);
      // UK outward codes (W11, SW1A) and US ZIPs are read as letter and digit tokens; the shape across them.
      if (/^[A-Z]{1,2}$/.test(raw) && DIGITS.test(words[i + 1] ?? '')) each(i, T.postcodeStart);
    } else if (DIGITS.test(w)) {
      const before = tokens[i - 1];
      if (w.length === 5 && before && d.states.has(text.slice(before.start, before.end)))
        each(i, T.zipAfterState);
    }
  }
}

/** Every token's feature names at once (the training script's form). */
export function tokenFeatures(
  text: string,
  norm: string,
  tokens: readonly Token[],
  segments: readonly Segment[] | undefined,
): string[][] {
  const out: string[][] = tokens.map(() => []);
  forEachTokenFeature(text, norm, tokens, segments, (i, template, key, second) =>
    (out[i] as string[]).push(featureName(template, key, second)),
  );
  return out;
}

/** Labels of the model, in the order of its weight vectors (BIO over PERSON and ADDRESS). */
export const BOUNDARY_LABELS = ['O', 'B-PERSON', 'I-PERSON', 'B-ADDRESS', 'I-ADDRESS'] as const;
export type BoundaryLabel = (typeof BOUNDARY_LABELS)[number];

/** Whether label `b` may follow label `a` (an inside tag only continues its own entity). */
export function allowed(a: number | undefined, b: number): boolean {
  if (b === 2) return a === 1 || a === 2;
  if (b === 4) return a === 3 || a === 4;
  return true;
}
