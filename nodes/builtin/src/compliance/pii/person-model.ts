/**
 * The PERSON recognisers' scoring model: a logistic regression over named evidence features of each candidate
 * span (a feature is 0/1, a count, or a log-odds such as the given-name statistic). The hand-set weights below
 * were the first model, tuned by hand on the development split; they are the prior that `train-person-model.mjs`
 * shrinks the learned weights towards, and the learned weights (`person-weights.ts`, generated and checked in)
 * are what runs. Both are here so a reader sees what each piece of evidence is worth and how far the data moved it.
 */
import { CN_PERSON_WEIGHTS, EN_PERSON_WEIGHTS } from './person-weights.js';

/** Evidence for a Chinese candidate (surname + zero to two given-name characters). */
export const CN_FEATURES = [
  'bias',
  /** Surname alone before a title (张先生, 陈总). */
  'surnameTitle',
  /** Surname alone after 我姓 / 姓. */
  'surnameAsked',
  /** Surname alone after a familiar 小 / 老 (小王, 老陈). */
  'surnameFamiliar',
  /** Surname alone that jieba tags as a one-character name segment (同事詹, a signature 奚). */
  'surnameSegment',
  /** The surname is one of the rarer ones that are also common words (危, 满, 水), with a given name. */
  'rareFull',
  /** The surname is one of the rarer ones, alone before a title (危老师). */
  'rareAlone',
  /** Surname alone at the end of an ordinary word of jieba's (平时老师: 时 ends 平时). */
  'surnameInWord',
  /** Surname alone cut off by a pause before the full name (我叫包……包文斌). */
  'surnameCut',
  /** Explained character by character, as callers do (闻，新闻的闻; 梅若华，梅花的梅). */
  'explained',
  /** The candidate is the example a caller spells with, right before 的 and one of its characters (秦始皇的秦). */
  'explainer',
  /** A frequent word starts the candidate (王国 in 王国庆): weaker than being the word. */
  'notNameStart',
  /** A speaker label in a chat log or transcript (李娜：, [10:32] 赵子龙：). */
  'speaker',
  /** Surname alone inside a longer name segment of jieba's (刘建华先生: 华 is the end of a name, not a surname). */
  'surnameInName',
  /** Given-name characters' log-odds from jieba's person-name dictionary (clipped sum). */
  'given',
  /** The least name-like given-name character's log-odds, when below zero (张的 in 张的卡: one bad character). */
  'givenWeakest',
  /** The last given-name character's log-odds (a third character is often the next word: 石磊啊, 李明说). */
  'givenLast',
  /** A title right after a full name (王晓燕女士). */
  'titleAfter',
  /** The title follows a second surname inside the candidate (谢陈女士: the title belongs to 陈). */
  'titleNearerSurname',
  /** Two given-name characters (most Chinese names). */
  'twoGiven',
  /** The last given character starts a title (黄小姐 read as 黄小 + 姐). */
  'lastStartsTitle',
  /** The given name itself is a title or a kinship word (李阿姨, 刘奶奶). */
  'givenIsTitle',
  /** A one-character title ending the candidate (陈总 read as a two-character name). */
  'titleCharInName',
  /** A label, role or kinship word before (申请人, 客户经理, 我弟弟). */
  'prefixCue',
  /** After 我姓 with a given name. */
  'askedFull',
  /** A possessive noun or a person's verb after (的身份证, 来电). */
  'followCue',
  /** The candidate stands as a whole item (separators on both sides). */
  'item',
  /** An item of a list separated by 、. */
  'listItem',
  /** The item ends a line (a signature, a table row). */
  'lineEnd',
  /** A particle, conjunction or common verb after the candidate inside a sentence. */
  'rightContext',
  /** A place or organisation word after (…路, …公司). */
  'placeAfter',
  /** A date or time unit after (三月, 五点). */
  'dateUnit',
  /** jieba: the candidate is one segment tagged as a name or unknown to the dictionary. */
  'segName',
  /** jieba: the given name is one name segment right after the surname (何/志强). */
  'segGiven',
  /** jieba: the candidate is one ordinary dictionary word. */
  'segWord',
  /** jieba: the candidate is one verb, adverb, adjective or function word (解散, 查阅). */
  'segVerb',
  /** A numeral among the given-name characters (张三, 周五点: numerals are rare in real given names). */
  'numeralGiven',
  /** jieba: dictionary words crossing the candidate's edges (count). */
  'segCross',
  /** A numeral before a date unit inside the candidate. */
  'numeralDate',
  /** A surname character that is also a preposition before another surname (向林志). */
  'prepSurname',
  /** A frequent word that starts with a surname character (黄金, 方案). */
  'notName',
  /** The same name found elsewhere in the text with strong evidence. */
  'repeat',
  /** Next to a strong name across a list separator (、 和 与). */
  'listed',
] as const;

/** Evidence for an English candidate (a run of capitalised words, cues stripped). */
export const EN_FEATURES = [
  'bias',
  /** The first word is a listed given name. */
  'firstGiven',
  /** Two or more words. */
  'multi',
  /** The last word is a listed surname (or Mc/Mac/O'). */
  'lastSurname',
  /** Surname first, hyphenated given name (Chan Tai-man). */
  'surnameFirst',
  /** Every word is a romanised Chinese syllable, the first a surname (Tan Wei Ming, Wong Siu Ling). */
  'romanised',
  /** An honorific before (Mr, Ms, Dr). */
  'honorific',
  /** A greeting or thanks before (Hi, Thanks). */
  'greeting',
  /** A role or label word before (customer, agent). */
  'cue',
  /** A preposition before (to, from, with). */
  'weak',
  /** A self-introduction before (I'm, this is, my name is). */
  'selfIntro',
  /** A header or list label on the line (From:, Present:). */
  'header',
  /** A line alone after a closing (Regards,). */
  'closingLine',
  /** A line alone. */
  'lineAlone',
  /** Between commas in a list. */
  'commaList',
  /** The name spelled out after it (W-O-J-C-I-E...). */
  'spelled',
  /** A known place, organisation or brand. */
  'placeOrBrand',
  /** A brand or shop word after (store, jacket). */
  'brandAfter',
  /** A place word after (Harbour, Road, Hotel). */
  'placeAfter',
  /** A speaker label in a chat log or transcript (Agent (Maria):, [10:32] Tom:). */
  'speaker',
  /** Opens its line and is addressed (Jenny，…; Laura, the customer's …). */
  'vocative',
  /** One word that reads as romanised Chinese after a Chinese label (名字是 Xiaoyu). */
  'romanisedSingle',
  /** Next to a strong full name across a comma or "and" in a list. */
  'listed',
  /** A single word not in any given-name list (accepted only after a greeting, introduction or honorific). */
  'unknownSingle',
  /** An initial before the surname (J. Whitmore). */
  'initial',
  /**
   * Two or more words, half of them or more ordinary English words that no name list knows, the first no listed
   * given name: a heading, an agenda item or a day's name ("Quarterly Results", "Memorial Day").
   */
  'ordinary',
] as const;

/** A candidate span with its evidence; its score is the model's log-odds over `x`. */
export interface PersonCandidate {
  start: number;
  end: number;
  x: Float64Array;
}

export type CnFeature = (typeof CN_FEATURES)[number];
export type EnFeature = (typeof EN_FEATURES)[number];

/** The hand-set weights of the first model (log-odds per unit of evidence): the prior of the learned model. */
export const CN_PRIOR: Record<CnFeature, number> = {
  bias: -3.2,
  surnameTitle: 3.8,
  surnameAsked: 4,
  surnameFamiliar: 3.4,
  surnameSegment: 1.5,
  surnameInName: -3,
  rareFull: -2,
  rareAlone: 0,
  surnameInWord: -3,
  surnameCut: 3,
  explained: 2.5,
  explainer: -4,
  notNameStart: -2,
  speaker: 2,
  given: 0.6,
  givenWeakest: 0,
  givenLast: 0,
  titleAfter: 3.5,
  titleNearerSurname: -3,
  twoGiven: 0.5,
  lastStartsTitle: -4,
  givenIsTitle: -4,
  titleCharInName: -2,
  prefixCue: 3.2,
  askedFull: 1,
  followCue: 2.5,
  item: 2.2,
  listItem: 1.5,
  lineEnd: 1,
  rightContext: 1,
  placeAfter: -3,
  dateUnit: -3,
  segName: 1.5,
  segWord: -1.5,
  segGiven: 1.5,
  segVerb: -1.5,
  numeralGiven: 0,
  segCross: -2,
  numeralDate: -5,
  prepSurname: -2,
  notName: -5,
  repeat: 3,
  listed: 2.5,
};

export const EN_PRIOR: Record<EnFeature, number> = {
  bias: -2.6,
  firstGiven: 2.4,
  multi: 0.6,
  lastSurname: 1.4,
  surnameFirst: 2,
  romanised: 2,
  honorific: 4.5,
  greeting: 3,
  cue: 2,
  weak: 0.8,
  selfIntro: 3,
  header: 3,
  closingLine: 5,
  lineAlone: 1,
  commaList: 1,
  spelled: 3,
  placeOrBrand: -7,
  brandAfter: -5,
  placeAfter: -6,
  unknownSingle: -1,
  romanisedSingle: 1,
  vocative: 1.5,
  speaker: 2,
  listed: 1.5,
  initial: 1.5,
  ordinary: -2,
};

function vector<F extends string>(
  names: readonly F[],
  weights: Partial<Record<F, number>>,
  prior: Record<F, number>,
) {
  return Float64Array.from(names, (n) => weights[n] ?? prior[n]);
}

/** The weights that run: learned where the generated file has them, the prior for a feature added since. */
export const CN_WEIGHTS = vector(CN_FEATURES, CN_PERSON_WEIGHTS, CN_PRIOR);
export const EN_WEIGHTS = vector(EN_FEATURES, EN_PERSON_WEIGHTS, EN_PRIOR);

export const CN = Object.fromEntries(CN_FEATURES.map((n, i) => [n, i])) as Record<CnFeature, number>;
export const EN = Object.fromEntries(EN_FEATURES.map((n, i) => [n, i])) as Record<EnFeature, number>;

export function dot(weights: Float64Array, x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (weights[i] as number) * (x[i] as number);
  return s;
}
