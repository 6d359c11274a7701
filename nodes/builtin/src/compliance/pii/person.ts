/**
 * Personal-name recognisers. Each candidate gets evidence from several sources, added as log-odds and turned
 * into a probability (the score), so that no single weak signal is enough and a strong one is:
 * - Chinese (simplified and traditional, read through a character table): a surname, then zero to two
 *   given-name characters. Evidence: how name-like the given-name characters are (statistics of jieba's
 *   person-name dictionary), a title right after (张先生, 陈总: then the surname alone is the mention), a label,
 *   role or kinship word before (申请人, 讲师, 我弟弟), a possessive PII noun or a person's verb after, standing as a
 *   whole item (a list separated by 、, a signature line, a table cell), jieba's segmentation (a segment tagged
 *   as a person or unknown to its dictionary; a dictionary word crossing the candidate's edge argues against it),
 *   and the same name found with better evidence elsewhere in the text.
 * - English: runs of capitalised words (McAllister, O'Brien, Lee-Chapman, Tai-man), with greetings, honorifics
 *   and role words before them taken as cues, never as part of the name. Evidence: given-name and surname lists
 *   (compromise's lexicon and census lists), an honorific (then a surname alone is a mention), a greeting, a
 *   signature or header line, self-introductions, lists of attendees; places, organisations and brands named
 *   after people (Paul Smith, Victoria Harbour) count against.
 */
import {
  CN_BRANDS_AND_PLACES,
  CN_COMPOUND_SURNAMES,
  CN_GIVEN_NAME_STOP,
  CN_NAME_FOLLOW_CUES,
  CN_NAME_PREFIX_CUES,
  CN_NAME_TITLES,
  CN_SURNAMES,
  EN_BRANDS,
  EN_GIVEN_NAMES,
  EN_GREETINGS,
  EN_HONORIFICS,
  EN_NAME_PREFIX_CUES,
  EN_NOT_NAME_WORDS,
  EN_PLACE_WORDS,
  EN_SURNAMES,
} from './lexicons.js';
import { EN_GIVEN_NAME_LIST, EN_PLACE_LIST, EN_SURNAME_LIST, GIVEN_NAME_LOG_ODDS } from './name-data.js';
import { segment, simplified, type Segment } from './segmenter.js';
import type { Push } from './detect.js';

const HAN = /[\u3400-\u9fff]/;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

let tables:
  | { logOdds: Map<string, number>; given: Set<string>; surnames: Set<string>; places: Set<string> }
  | undefined;

function data() {
  if (!tables) {
    const logOdds = new Map<string, number>();
    for (const entry of GIVEN_NAME_LOG_ODDS.split(','))
      logOdds.set(entry[0] as string, Number(entry.slice(1)) / 2);
    tables = {
      logOdds,
      given: new Set([...EN_GIVEN_NAMES, ...EN_GIVEN_NAME_LIST.split('|')]),
      surnames: new Set([...EN_SURNAMES, ...EN_SURNAME_LIST.split('|')]),
      places: new Set(EN_PLACE_LIST.split('|')),
    };
  }
  return tables;
}

// ---------------------------------------------------------------- Chinese

/** A word list looked up by length: the longest listed word that starts or ends at a position. */
class WordList {
  private readonly words: Set<string>;
  private readonly lengths: number[];
  constructor(words: readonly string[]) {
    this.words = new Set(words);
    this.lengths = [...new Set(words.map((w) => w.length))].sort((a, b) => b - a);
  }
  startingAt(text: string, at: number): string | undefined {
    for (const n of this.lengths) {
      const w = text.slice(at, at + n);
      if (w.length === n && this.words.has(w)) return w;
    }
    return undefined;
  }
  endingAt(text: string, at: number): string | undefined {
    for (const n of this.lengths) {
      if (at < n) continue;
      const w = text.slice(at - n, at);
      if (this.words.has(w)) return w;
    }
    return undefined;
  }
}

const PREFIX_CUES = new WordList(CN_NAME_PREFIX_CUES);
const FOLLOW_CUES = new WordList(CN_NAME_FOLLOW_CUES);
const TITLES = new WordList(CN_NAME_TITLES);
const BRANDS = new WordList(CN_BRANDS_AND_PLACES);
/** What follows a place or an organisation's name, not a person's. */
const PLACE_AFTER =
  /^(?:[区市县省路街镇村港湾江河山湖桥站岛]|马路|大道|大街|机场|大厦|广场|中心|公司|集团|银行|支行|分行|大学|医院|酒店|商场|步行街|专柜|花园|新村|小区)/;
/** Items of a list or a table cell end at these. */
const ITEM_EDGE = /[、，,；;：:\s（()）「」“”"'/|。.!！?？]|^$/;
/** Characters that may follow a name inside a sentence (particles, conjunctions, common verbs). */
const AFTER_NAME = /^[的说称和与跟及或在也已让把给向对是将从都就会要来去到等]/;

function givenEvidence(norm: string, from: number, to: number): number {
  const { logOdds } = data();
  let sum = 0;
  for (let i = from; i < to; i++) {
    const ch = norm[i] as string;
    if (CN_GIVEN_NAME_STOP.has(ch)) return -Infinity;
    // A character missing from both tables is rare in ordinary words, which is itself weak evidence of a name.
    sum += Math.max(-4, Math.min(4, logOdds.get(ch) ?? 0.5));
  }
  return Math.min(sum, 6);
}

function isEdge(ch: string | undefined): boolean {
  return ch === undefined || ITEM_EDGE.test(ch);
}

/** jieba's segments with, for each position, the index of the segment that holds it. */
interface Segmentation {
  segments: readonly Segment[];
  at: Int32Array;
}

function indexSegments(segments: readonly Segment[] | undefined, length: number): Segmentation | undefined {
  if (!segments) return undefined;
  const at = new Int32Array(length + 1).fill(-1);
  segments.forEach((s, i) => at.fill(i, s.start, s.end));
  return { segments, at };
}

const NAME_TAG = /^(?:nr|nrt|nrfg|x)$/;
const WORD_TAG = /^(?:n|v|vn|a|ad|an|d|c|p|l|i|r)$/;
const OPEN_TAG = /^(?:nr|nrt|nrfg|x|eng|m)$/;

/** Evidence from jieba: the candidate is one segment tagged as a name or unknown (+), or crosses a word (-). */
function segmentEvidence(seg: Segmentation | undefined, start: number, end: number): number {
  if (!seg) return 0;
  let evidence = 0;
  const first = seg.at[start] ?? -1;
  const last = seg.at[end - 1] ?? -1;
  for (let k = Math.max(0, first); k <= last; k++) {
    const s = seg.segments[k] as Segment;
    // The candidate is one segment: a name or a word unknown to the dictionary (+), or an ordinary word (-).
    if (s.start === start && s.end === end) {
      if (NAME_TAG.test(s.tag)) evidence += 1.5;
      else if (WORD_TAG.test(s.tag)) evidence -= 1.5;
    }
    // "甜甜的", "好好的": an adjective ending in 的 right after the name does not argue against the boundary.
    if (s.start > start && s.end === end + 1 && s.word.endsWith('的')) continue;
    const crosses = (s.start < start && s.end > start) || (s.start < end && s.end > end);
    const covers = s.start <= start && s.end >= end && (s.start < start || s.end > end);
    if ((crosses || (covers && s.end - s.start > 1)) && s.word.length > 1 && !OPEN_TAG.test(s.tag))
      evidence -= 2;
  }
  return evidence;
}

interface Scored {
  start: number;
  end: number;
  logit: number;
}

function chineseCandidates(norm: string, segments: readonly Segment[] | undefined): Scored[] {
  const seg = indexSegments(segments, norm.length);
  const out: Scored[] = [];
  for (let i = 0; i < norm.length; i++) {
    const two = norm.slice(i, i + 2);
    const surname = CN_COMPOUND_SURNAMES.has(two) ? 2 : CN_SURNAMES.has(norm[i] as string) ? 1 : 0;
    if (!surname) continue;
    if (BRANDS.startingAt(norm, i)) continue;
    // A surname inside a longer run of letters or a word before it ("黄浦", "高速"): handled by the evidence below.
    const prefix = PREFIX_CUES.endingAt(norm, skipBack(norm, i));
    const surnameAsked = /(?:我姓|复姓|姓)$/.test(norm.slice(Math.max(0, i - 2), i));
    for (let given = 0; given <= 2; given++) {
      const end = i + surname + given;
      if (end > norm.length) break;
      if (given > 0 && !HAN.test(norm[end - 1] as string)) break;
      const title = titleAt(norm, end);
      let logit = -3.2;
      if (given === 0) {
        // The surname alone is a mention only before a title (张先生, 陈总) or after "我姓".
        if (!title && !(surnameAsked && isEdge(norm[end]))) continue;
        logit += title ? 3.8 : 4;
      } else {
        // A given name does not repeat the surname ("谢谢陈女士" is thanks, then 陈).
        if (norm[i + surname] === norm[i]) break;
        const evidence = givenEvidence(norm, i + surname, end);
        if (evidence === -Infinity) break;
        logit += evidence * 0.6;
        if (title) logit += 3.5;
        // 谢陈女士: the title goes with the nearer surname.
        if (title && CN_SURNAMES.has(norm[end - 1] as string)) logit -= 3;
        // Most Chinese given names have two characters.
        if (given === 2) logit += 0.5;
        // The last character starts a title, so the title belongs to a shorter name ("黄小姐" is 黄 + 小姐).
        if (TITLES.startingAt(norm, end - 1)) logit -= 4;
      }
      const word = norm.slice(i, end);
      if (/^(?:总|董|太|生|工)$/.test(norm[end - 1] as string) && given > 0) logit -= 2;
      if (prefix) logit += 3.2;
      if (surnameAsked) logit += given === 0 ? 0 : 1;
      const follow = FOLLOW_CUES.startingAt(norm, end);
      if (follow) logit += 2.5;
      const leftEdge = isEdge(norm[i - 1]);
      const rightEdge = isEdge(norm[end]);
      if (leftEdge && rightEdge && given > 0) {
        logit += 2.2;
        // A list separated by 、 or a line that holds only the name (a signature).
        if (norm[i - 1] === '、' || norm[end] === '、') logit += 1.5;
        if (/^\n?$/.test(norm[end] ?? '') || norm[end] === '\n') logit += 1;
      } else if (given > 0 && (rightEdge || AFTER_NAME.test(norm.slice(end)))) logit += 1;
      if (PLACE_AFTER.test(norm.slice(end))) logit -= 3;
      // Before a date or time unit it is a number word (於三月, 周五点), not a name.
      if (/^[月日年号时点分秒]/.test(norm.slice(end)) && given > 0) logit -= 3;
      if (given > 0) logit += segmentEvidence(seg, i, end);
      // A numeral before a date unit is a date (於三月十日), whatever the cues.
      if (given > 0 && /[一二三四五六七八九十零〇两][月日号]/.test(norm.slice(i + surname, end + 1)))
        logit -= 5;
      // A surname character that is also a preposition or verb before a name ("向林志", "由马丽").
      if (/^[向由给让]$/.test(norm[i] as string) && given > 0 && CN_SURNAMES.has(norm[i + 1] as string))
        logit -= 2;
      if (NOT_NAMES.has(word) || NOT_NAMES.has(norm.slice(i, i + 2))) logit -= 5;
      out.push({ start: i, end, logit });
    }
  }
  return out;
}

/** One-character titles that start ordinary words instead (总是, 董事, 太多, 工作): then they are no title. */
const TITLE_WORDS: Record<string, RegExp> = {
  总: /^总[是结部额计体共之理数量裁监经务署行账值分算而]/,
  董: /^董事/,
  太: /^太[多大少小好久快慢高低过阳空平]/,
  工: /^工[作资商具程厂人业会地期龄号种艺序]/,
  姐: /^姐妹/,
  哥: /^哥们/,
  生: /^生[活日意产命成病气长效存态物于在涯动]/,
};

function titleAt(norm: string, at: number): string | undefined {
  const title = TITLES.startingAt(norm, at);
  if (title && TITLE_WORDS[title]?.test(norm.slice(at, at + 2))) return undefined;
  return title;
}

/** The position before a colon or spaces that separate a label from the name. */
function skipBack(text: string, at: number): number {
  let i = at;
  while (i > 0 && /[：:\s]/.test(text[i - 1] as string)) i--;
  return i;
}

/** Frequent words that begin with a surname character but are not names (黄金, 方案, 高级 ...). */
const NOT_NAMES = new Set(
  (
    '黄金 白银 石油 金融 金额 金卡 钱包 方式 方案 方面 方法 高端 高级 高速 高效 高于 文件 文化 文本 万元 余额 余款 ' +
    '任何 任务 安全 程序 周期 周年 周末 马上 江苏 浙江 广东 广西 云南 贵州 四川 福建 江西 安徽 海南 甘肃 青海 宁夏 ' +
    '吉林 辽宁 温州 苏州 杭州 徐州 扬州 郑州 宋体 司法 司机 管理 管道 车辆 车险 房产 房贷 房屋 华夏 邮政 农业 ' +
    '工商 交通 中信 光大 民生 兴业 韦氏 毛利 毛重 沙龙 包括 包含 包装 费率 费用 席位 柏林 戴尔 宁波 齐全 易于 ' +
    '乔迁 庄园 章程 鲁迅 柯达 纪录 梅花 凌晨 毕业 季度 季末 谷歌 盛大 曲线 翁源 冉冉 骆驼 蓝色 游戏 辛苦 管控 ' +
    '柴油 蒙古 华为 路线 路径 解释 解决 艾滋 尤其 阳光 穆斯 农村 农民 卓越 古代 吉祥 简单 简称 车贷 项目 连续 ' +
    '连锁 麦当 娄底 景区 党员 宫殿 费城 冷静 晏子 席卷 卫生 米兰 宗教 桂林 全部 全国 佟麟 臧否 闵行 边境 卞和 ' +
    '师范 仇恨 商业 商户 商品 沙发 荣誉 巫山 寇准 桑拿 郎中 甄别 丛书 仲裁 巩固 池塘 查询 查看 麻烦 苑囿 迟延 ' +
    '官方 封闭 谈判 匡算 惠州 荆州 乐观 冀州 郁闷 班级 储蓄 储备 燕窝 楚雄 劳动 劳务 皮肤 粟米 厉害 伊利 权益 ' +
    '权利 权限 帅气 屠宰 豆浆 盖章 练习 廉洁 禹州 井口 祖国 漆器 巴黎 丰富 卿卿 狄更 晋级 芮城 浦东 戈壁 伏击 ' +
    '鹿特 薄弱 辜负 裘皮 赫兹 杭甬 况且 宿舍 逯家 隆重 茹毛 诸多 战略 慕尼 亢奋 湛江 戎装 勾选 茅台 於菟 居民 ' +
    '居住 揭示 尉犁 檀香 幸福 奉献 衡量 闭环 于是 于此 孔子 孟子 庄子 老子 金价 石家 田地 林业 段落 钟表 钟点 ' +
    '陈述 陈列 高兴 程度 周围 周边 周一 周二 周三 周四 周五 周六 周日 周天 严重 严格 华人 江湖 方便 方向 苏醒 ' +
    '王国 王牌 张贴 张开 刘海 杨柳 林立 马路 孙子 金钱 金属 金色 黄色 白色 余下 万一 万分 于今 曹操 关于 施工 ' +
    '施行 施加 康复 康健 温度 温暖 温和 温馨 平安 安装 安排 安心 安稳 石头 申请 申报 申诉 向来 明白 明天 明确 常用'
  ).split(' '),
);

/** For tuning on the development set: every Chinese candidate with its log-odds. */
/** For tuning on the development set: every Chinese candidate with its log-odds. */
export function debugChineseCandidates(text: string, segmentation = true) {
  const norm = simplified(text);
  return chineseCandidates(norm, segmentation ? segment(norm) : undefined).map((c) => ({
    ...c,
    text: text.slice(c.start, c.end),
  }));
}

/**
 * Finds Chinese names. `norm` is the text in simplified characters and `segments` its jieba segmentation
 * (undefined to go without), both shared with the address recogniser.
 */
export function recognizeChinesePersons(
  text: string,
  norm: string,
  segments: readonly Segment[] | undefined,
  push: Push,
): void {
  const candidates = chineseCandidates(norm, segments);
  // A name found with good evidence is a name wherever else it stands in the same text.
  const strong = new Set(
    candidates.filter((c) => c.logit > 1.5 && c.end - c.start >= 2).map((c) => norm.slice(c.start, c.end)),
  );
  // An item of a list (、, 和, 与 ...) whose neighbour across the separator is a name is a name too ("向林志、许文杰").
  const strongAt = new Set(
    candidates
      .filter((c) => c.logit > 1.5 && c.end - c.start >= 2)
      .flatMap((c) => [`s${c.start}`, `e${c.end}`]),
  );
  for (const c of candidates) {
    let logit = c.logit;
    if (logit <= 1.5 && strong.has(norm.slice(c.start, c.end))) logit = Math.max(logit + 3, 1);
    const sep = /[、和与及跟]/;
    const listed =
      (sep.test(norm[c.end] ?? '') && strongAt.has(`s${c.end + 1}`)) ||
      (sep.test(norm[c.start - 1] ?? '') && strongAt.has(`e${c.start - 1}`));
    if (listed && c.end - c.start >= 2) logit += 2.5;
    push('PERSON', c.start, c.end, Math.min(sigmoid(logit), 0.97));
  }
}

// ---------------------------------------------------------------- English

const NAME_TOKEN = "(?:(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:-[A-Za-z][a-z]+)*|[A-Z]\\.)";
const RUN = new RegExp(`${NAME_TOKEN}(?: ${NAME_TOKEN})*`, 'g');
const TOKEN = new RegExp(NAME_TOKEN, 'g');
/** Words after a name that make it a shop, a brand or a place (the Paul Smith store, Ted Baker jackets). */
const BRAND_AFTER =
  /^(?:\s+(?:and|&)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)*\s+(?:(?:both|also|have|has)\s+)?(?:store|stores|shop|shops|outlet|outlets|boutique|brand|shirt|shirts|jacket|jackets|bag|bags|suit|suits|sponsored|opened|counter|restaurant|hotel)\b/;
const SELF_INTRO =
  /(?:\bI'm|\bI am|\bit's|\bit is|\bthis is|\bname is|\bname's|\bI,|\bcall me|\bSpeaking\.)\s*$/i;
/** A header or list label on the name's line ("From:", "Attendees:", "Present:"), with only names between. */
const HEADER =
  /(?:^|\n)[ \t]*(?:From|To|Cc|Bcc|Signed|Attn|Attention|Present|Attendees|Action|Contact|Caller|Customer|Agent|Director|Applicant|Applicants|Joint applicants|Beneficial owner|Beneficiary)[ \t]*:([^\n]*)$/;
const ONLY_NAMES = /^[A-Za-z'’ ,.&-]*$/;
const CLOSING =
  /(?:regards|wishes|thanks|thank you|cheers|sincerely|faithfully|best|signed|yours)[,!.]?\s*\n\s*$/i;

function isEnCue(word: string): boolean {
  const w = word.toLowerCase().replace(/\.$/, '');
  return EN_NAME_PREFIX_CUES.has(w) || EN_GREETINGS.has(w);
}

export function recognizeEnglishPersons(text: string, push: Push): void {
  const { given, surnames, places } = data();
  const found: { start: number; end: number; logit: number; tokens: string[] }[] = [];
  for (const m of text.matchAll(RUN)) {
    const tokens = [...m[0].matchAll(TOKEN)].map((t) => ({ word: t[0], start: m.index + t.index }));
    let greeting = false;
    let honorific = false;
    let cue = false;
    // Leading greetings, honorifics and role words are cues, not part of the name ("Thanks Fiona", "Ms. Wong").
    while (tokens.length) {
      const w = tokens[0]!.word;
      const lower = w.toLowerCase().replace(/\.$/, '');
      if (EN_GREETINGS.has(lower)) greeting = true;
      else if (EN_HONORIFICS.test(w)) honorific = true;
      else if (isEnCue(w)) cue = true;
      else if (!EN_NOT_NAME_WORDS.has(w)) break;
      tokens.shift();
    }
    while (tokens.length && /^[A-Z]\.$/.test(tokens[tokens.length - 1]!.word)) tokens.pop();
    if (!tokens.length || tokens.length > 4 || /^[A-Z]\.$/.test(tokens[0]!.word)) continue;
    if (tokens.some((t) => EN_NOT_NAME_WORDS.has(t.word) || EN_PLACE_WORDS.has(t.word))) continue;
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    const start = first.start;
    const end = last.start + last.word.length;
    const name = text.slice(start, end);
    const before = text.slice(Math.max(0, start - 40), start);
    if (EN_HONORIFICS.test(before.trimEnd())) honorific = true;
    const prevWord = /([A-Za-z-]+)[:,]?\s*$/.exec(before)?.[1]?.toLowerCase();
    // Prepositions are weak cues ("to Jane Doe", but also "with Apple Pay").
    const weak = prevWord !== undefined && /^(?:to|from|by|for|with)$/.test(prevWord);
    if (prevWord !== undefined && EN_NAME_PREFIX_CUES.has(prevWord) && !weak) cue = true;
    if (prevWord !== undefined && EN_GREETINGS.has(prevWord)) greeting = true;
    // A Chinese label before an English name (收件人 Leung Ka-wai, 我是 Jason Lin).
    const label = before.trimEnd().replace(/[：:，,]$/, '');
    if (PREFIX_CUES.endingAt(label, label.length)) cue = true;
    const after = text.slice(end, end + 60);
    const lineAlone = /(?:^|\n)\s*$/.test(before) && /^\s*(?:\n|$)/.test(after);
    const headerLabel = HEADER.exec(before);
    const header = headerLabel !== null && ONLY_NAMES.test(headerLabel[1] ?? '');

    let logit = -2.6;
    if (given.has(first.word) || given.has(first.word.split('-')[0] ?? '')) logit += 2.4;
    if (tokens.length >= 2) {
      if (
        surnames.has(last.word) ||
        surnames.has(last.word.split('-')[0] ?? '') ||
        /^(?:O['’]|Mc|Mac)[A-Z]/.test(last.word)
      )
        logit += 1.4;
      // Surname-first names (Chan Tai-man, Nguyen Thi Lan): a surname, then a given name of one or more parts.
      if (surnames.has(first.word) && /-[a-z]/.test(last.word)) logit += 2;
      logit += 0.6;
    } else if (
      !honorific &&
      !(given.has(first.word) && (greeting || lineAlone || cue || weak || header || SELF_INTRO.test(before)))
    )
      continue;
    if (honorific) logit += 4.5;
    if (greeting) logit += 3;
    if (cue) logit += 2;
    else if (weak) logit += 0.8;
    if (SELF_INTRO.test(before)) logit += 3;
    if (header) logit += 3;
    if (lineAlone && CLOSING.test(before)) logit += 4;
    else if (lineAlone) logit += 1;
    // In a list of names separated by commas ("Sarah Lee, Tom MacDonald, Priya ...").
    if (/,\s*$/.test(before) && /^,/.test(after) && tokens.length >= 2) logit += 1;
    if (places.has(name) || EN_BRANDS.has(name)) logit -= 7;
    if (BRAND_AFTER.test(after)) logit -= 5;
    if (
      /^\s+(?:[A-Z][a-z]+\s+)?(?:Harbour|Harbor|Peak|Island|Bay|Park|Road|Street|Square|Centre|Center|Station|Airport|Hotel|Mall|Tower|Pier|Promenade|Italian|Restaurant|Building)\b/.test(
        after,
      )
    )
      logit -= 6;
    found.push({ start, end, logit, tokens: tokens.map((t) => t.word) });
  }
  // A given name or surname alone is a mention of a full name found in the same text ("Tom", "Kevin").
  const parts = new Set(found.filter((f) => f.logit > 1.5 && f.tokens.length >= 2).flatMap((f) => f.tokens));
  for (const f of found) {
    const logit =
      f.tokens.length === 1 && parts.has(f.tokens[0] as string) ? Math.max(f.logit, 1.5) : f.logit;
    push('PERSON', f.start, f.end, Math.min(sigmoid(logit), 0.96));
  }
  for (const m of text.matchAll(/(?<![A-Za-z'’-])[A-Z][a-z]+(?![A-Za-z'’-])/g)) {
    if (!parts.has(m[0]) || found.some((f) => f.start <= m.index && f.end >= m.index + m[0].length)) continue;
    if (EN_NOT_NAME_WORDS.has(m[0]) || EN_GREETINGS.has(m[0].toLowerCase())) continue;
    push('PERSON', m.index, m.index + m[0].length, 0.8);
  }
}
