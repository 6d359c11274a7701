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
  CN_RARE_SURNAMES,
  EN_BRANDS,
  EN_HOLIDAYS,
  EN_GIVEN_NAMES,
  EN_GREETINGS,
  EN_HONORIFICS,
  EN_NAME_PREFIX_CUES,
  EN_NOT_NAME_WORDS,
  EN_PLACE_WORDS,
  EN_SURNAMES,
  EN_CHINESE_SURNAMES,
} from './lexicons.js';
import {
  CN_SURNAME_PINYIN,
  EN_GIVEN_NAME_LIST,
  EN_ORDINARY_WORD_LIST,
  EN_PLACE_LIST,
  EN_SURNAME_LIST,
  GIVEN_NAME_LOG_ODDS,
} from './name-data.js';
import { simplified, type Segment } from './segmenter.js';
import {
  CN,
  CN_FEATURES,
  CN_WEIGHTS,
  EN,
  EN_FEATURES,
  EN_WEIGHTS,
  dot,
  type PersonCandidate,
} from './person-model.js';
import type { Push } from './detect.js';

const HAN = /[\u3400-\u9fff]/;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

let tables:
  | {
      logOdds: Map<string, number>;
      given: Set<string>;
      surnames: Set<string>;
      places: Set<string>;
      romanised: Set<string>;
      ordinary: Set<string>;
    }
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
      ordinary: new Set(EN_ORDINARY_WORD_LIST.split('|')),
      romanised: new Set([...CN_SURNAME_PINYIN.split('|'), ...EN_CHINESE_SURNAMES]),
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
const ROLE_LABEL = /[\u4e00-\u9fff][人员][：:][ \t]*$/;
const FOLLOW_CUES = new WordList(CN_NAME_FOLLOW_CUES);
const TITLES = new WordList(CN_NAME_TITLES);
const BRANDS = new WordList(CN_BRANDS_AND_PLACES);
/** What follows a place or an organisation's name, not a person's. */
const PLACE_AFTER =
  /^(?:[区市县省路街镇村港湾江河山湖桥站岛]|马路|大道|大街|机场|大厦|广场|中心|公司|集团|银行|支行|分行|大学|医院|酒店|商场|步行街|专柜|花园|新村|小区)/;
/** Items of a list or a table cell end at these. */
const ITEM_EDGE = /[、，,；;：:\s（()）「」“”"'/|。.!！?？]|^$/;
/** Characters that may follow a name inside a sentence (particles, conjunctions, common verbs). */
const AFTER_NAME = /^[的说称和与跟及或在也已让把给向对是将从都就会要来去到等找问打帮请借还送拿带看]/;

/** One character's given-name log-odds, clipped; a character missing from the tables counts as weakly name-like. */
function charEvidence(ch: string): number {
  return Math.max(-4, Math.min(4, data().logOdds.get(ch) ?? 0.5));
}

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
const WORD_TAG = /^(?:n|an|l|i|r)$/;
const VERB_TAG = /^(?:v|vn|vd|a|ad|d|c|p|m)$/;
const OPEN_TAG = /^(?:nr|nrt|nrfg|x|eng|m)$/;

/** Evidence from jieba: the candidate is one segment tagged as a name or unknown, or one word, or crosses words. */
function segmentEvidence(
  seg: Segmentation | undefined,
  start: number,
  end: number,
): { name: number; word: number; verb: number; cross: number } {
  const evidence = { name: 0, word: 0, verb: 0, cross: 0 };
  if (!seg) return evidence;
  const first = seg.at[start] ?? -1;
  const last = seg.at[end - 1] ?? -1;
  for (let k = Math.max(0, first); k <= last; k++) {
    const s = seg.segments[k] as Segment;
    // The candidate is one segment: a name or a word unknown to the dictionary (+), or an ordinary word (-).
    if (s.start === start && s.end === end) {
      if (NAME_TAG.test(s.tag)) evidence.name = 1;
      else if (VERB_TAG.test(s.tag)) evidence.verb = 1;
      else if (WORD_TAG.test(s.tag)) evidence.word = 1;
    }
    // "甜甜的", "好好的": an adjective ending in 的 right after the name does not argue against the boundary.
    if (s.start > start && s.end === end + 1 && s.word.endsWith('的')) continue;
    const crosses = (s.start < start && s.end > start) || (s.start < end && s.end > end);
    const covers = s.start <= start && s.end >= end && (s.start < start || s.end > end);
    if ((crosses || (covers && s.end - s.start > 1)) && s.word.length > 1 && !OPEN_TAG.test(s.tag))
      evidence.cross++;
  }
  return evidence;
}

/** A speaker label: at a line start (after a timestamp or a bullet), then a colon. */
const SPEAKER_BEFORE =
  /(?:^|\n)[ \t]*(?:\[[^\]\n]{1,12}\][ \t]*|\d{1,2}:\d{2}(?::\d{2})?[ \t]+|[-*•][ \t]*)?$/;
const SPEAKER_AFTER = /^[ \t]*[：:]/;

/** Familiar prefixes before a surname used alone (小王, 老陈). */
const FAMILIAR = /[小老]/;

function chineseCandidates(norm: string, segments: readonly Segment[] | undefined): PersonCandidate[] {
  const seg = indexSegments(segments, norm.length);
  const out: PersonCandidate[] = [];
  for (let i = 0; i < norm.length; i++) {
    const two = norm.slice(i, i + 2);
    const rare = CN_RARE_SURNAMES.has(norm[i] as string);
    const surname = CN_COMPOUND_SURNAMES.has(two) ? 2 : CN_SURNAMES.has(norm[i] as string) || rare ? 1 : 0;
    if (!surname) continue;
    if (BRANDS.startingAt(norm, i)) continue;
    // A surname inside a longer run of letters or a word before it ("黄浦", "高速"): handled by the evidence below.
    // A label naming a role, a word ending in 人 or 员 before a colon (评估人：, 核查员：), cues a name as the listed
    // roles do.
    const prefix =
      PREFIX_CUES.endingAt(norm, skipBack(norm, i)) ??
      (ROLE_LABEL.test(norm.slice(Math.max(0, i - 7), i)) ? 'role' : undefined);
    const surnameAsked = /(?:我姓|复姓|姓)$/.test(norm.slice(Math.max(0, i - 2), i));
    for (let given = 0; given <= 2; given++) {
      const end = i + surname + given;
      if (end > norm.length) break;
      if (given > 0 && !HAN.test(norm[end - 1] as string)) break;
      const title = titleAt(norm, end);
      const x = new Float64Array(CN_FEATURES.length);
      x[CN.bias] = 1;
      const leftEdge = isEdge(norm[i - 1]);
      const rightEdge = isEdge(norm[end]);
      if (given === 0) {
        // The surname alone is a mention before a title (张先生, 陈总), after "我姓", after a familiar 小/老
        // (小王), or where jieba reads it as a one-character name after a role word or alone on a line.
        const familiar =
          FAMILIAR.test(norm[i - 1] ?? '') &&
          !(seg ? !segmentStartsAt(seg, i - 1) || ordinaryWordAcross(seg, i - 1) : isHan(norm[i - 2])) &&
          (rightEdge || AFTER_NAME.test(norm.slice(end)) || /^[啊呀吧呢嘛]/.test(norm.slice(end)));
        const single = seg ? singleNameSegment(seg, i, end) : false;
        const asked = surnameAsked && isEdge(norm[end]);
        // "我叫包……包文斌": the surname, a pause, then the full name.
        const cut = prefix !== undefined && /^(?:…|——|--|-)/.test(norm.slice(end));
        const explained = explainedAt(norm, i, surname);
        if (
          !title &&
          !asked &&
          !familiar &&
          !cut &&
          !explained &&
          !(single && rightEdge && (prefix || leftEdge))
        )
          continue;
        if (title) x[CN.surnameTitle] = 1;
        else if (asked) x[CN.surnameAsked] = 1;
        else if (familiar) x[CN.surnameFamiliar] = 1;
        else if (cut) x[CN.surnameCut] = 1;
        if (rare) x[CN.rareAlone] = 1;
        if (seg && ordinaryWordAcross(seg, i)) x[CN.surnameInWord] = 1;
        if (single) x[CN.surnameSegment] = 1;
        if (seg && insideNameSegment(seg, i)) x[CN.surnameInName] = 1;
        if (single && leftEdge && (norm[end] === undefined || norm[end] === '\n')) x[CN.lineEnd] = 1;
      } else {
        // A given name does not repeat the surname ("谢谢陈女士" is thanks, then 陈); the rare 程程 is missed.
        if (norm[i + surname] === norm[i]) break;
        const evidence = givenEvidence(norm, i + surname, end);
        if (evidence === -Infinity) break;
        x[CN.given] = evidence;
        if (rare) x[CN.rareFull] = 1;
        const odds = [...norm.slice(i + surname, end)].map(charEvidence);
        x[CN.givenWeakest] = Math.min(0, ...odds);
        x[CN.givenLast] = odds[odds.length - 1] ?? 0;
        if (title) x[CN.titleAfter] = 1;
        // 谢陈女士: the title goes with the nearer surname.
        if (title && CN_SURNAMES.has(norm[end - 1] as string)) x[CN.titleNearerSurname] = 1;
        // Most Chinese given names have two characters.
        if (given === 2) x[CN.twoGiven] = 1;
        // The last character starts a title, so the title belongs to a shorter name ("黄小姐" is 黄 + 小姐).
        if (TITLES.startingAt(norm, end - 1)) x[CN.lastStartsTitle] = 1;
        // The given name is itself a title or kinship word (李阿姨, 刘奶奶).
        if (TITLES.startingAt(norm, i + surname)) x[CN.givenIsTitle] = 1;
        if (/^(?:总|董|太|生|工)$/.test(norm[end - 1] as string)) x[CN.titleCharInName] = 1;
        if (surnameAsked) x[CN.askedFull] = 1;
        if (leftEdge && rightEdge) {
          x[CN.item] = 1;
          // A list separated by 、 or a line that holds only the name (a signature).
          if (norm[i - 1] === '、' || norm[end] === '、') x[CN.listItem] = 1;
          if (norm[end] === undefined || norm[end] === '\n') x[CN.lineEnd] = 1;
        } else if (rightEdge || AFTER_NAME.test(norm.slice(end))) x[CN.rightContext] = 1;
        // Before a date or time unit it is a number word (於三月, 周五点), not a name.
        if (/^[月日年号时点分秒]/.test(norm.slice(end))) x[CN.dateUnit] = 1;
        const evidenceFromSegments = segmentEvidence(seg, i, end);
        x[CN.segName] = evidenceFromSegments.name;
        x[CN.segWord] = evidenceFromSegments.word;
        x[CN.segCross] = evidenceFromSegments.cross;
        x[CN.segVerb] = evidenceFromSegments.verb;
        if (seg) {
          const g = seg.segments[seg.at[i + surname] ?? -1];
          if (g && g.start === i + surname && g.end === end && /^nr/.test(g.tag)) x[CN.segGiven] = 1;
        }
        if (/[一二三四五六七八九十百千零〇两]/.test(norm.slice(i + surname, end))) x[CN.numeralGiven] = 1;
        // A numeral before a date unit is a date (於三月十日), whatever the cues.
        if (/[一二三四五六七八九十零〇两][月日号]/.test(norm.slice(i + surname, end + 1)))
          x[CN.numeralDate] = 1;
        // A surname character that is also a preposition or verb before a name ("向林志", "由马丽").
        if (/^[向由给让]$/.test(norm[i] as string) && CN_SURNAMES.has(norm[i + 1] as string))
          x[CN.prepSurname] = 1;
      }
      const word = norm.slice(i, end);
      if (explainedAt(norm, i, surname)) x[CN.explained] = 1;
      if (prefix) x[CN.prefixCue] = 1;
      if (FOLLOW_CUES.startingAt(norm, end)) x[CN.followCue] = 1;
      if (PLACE_AFTER.test(norm.slice(end))) x[CN.placeAfter] = 1;
      if (NOT_NAMES.has(word)) x[CN.notName] = 1;
      else if (NOT_NAMES.has(norm.slice(i, i + 2))) x[CN.notNameStart] = 1;
      // "诸葛亮的诸葛亮", "秦始皇的秦": the example a caller spells with is not a person of the conversation.
      const after = norm.slice(end, end + 3);
      if (after[0] === '的' && after[1] !== undefined && word.includes(after[1]) && HAN.test(after[1]))
        x[CN.explainer] = 1;
      if (
        SPEAKER_AFTER.test(norm.slice(end, end + 2)) &&
        SPEAKER_BEFORE.test(norm.slice(Math.max(0, i - 16), i))
      )
        x[CN.speaker] = 1;
      out.push({ start: i, end, x });
    }
  }
  return out;
}

function isHan(ch: string | undefined): boolean {
  return ch !== undefined && HAN.test(ch);
}

/** A segment of jieba's starts at the position (小 of 小王 does; 老 of 养老 does not). */
function segmentStartsAt(seg: Segmentation, at: number): boolean {
  return seg.segments[seg.at[at] ?? -1]?.start === at;
}

/** The surname explained after it as callers do: "闻，新闻的闻", "梅若华，梅花的梅", "姓秦，秦始皇的秦". */
function explainedAt(norm: string, at: number, surname: number): boolean {
  const after = norm.slice(at + surname, at + surname + 16);
  if (!after.includes('的')) return false;
  const s = norm.slice(at, at + surname);
  let re = EXPLAINED.get(s);
  if (!re)
    EXPLAINED.set(
      s,
      (re = new RegExp(`^[^，,。]{0,3}[，,、 ]*(?:[^，,。的]{1,4}的${s}|${s}[^，,。的]{1,3}的${s})`)),
    );
  return re.test(after);
}
const EXPLAINED = new Map<string, RegExp>();

/** The position is inside an ordinary word of jieba's that starts before it (平时: 时; 小时: 时). */
function ordinaryWordAcross(seg: Segmentation, at: number): boolean {
  const s = seg.segments[seg.at[at] ?? -1];
  return (
    s !== undefined &&
    s.end - s.start > 1 &&
    s.start < at + 1 &&
    s.end > at &&
    !OPEN_TAG.test(s.tag) &&
    (s.start < at || s.end > at + 1)
  );
}

/** The position is inside a longer segment that jieba tags as a name (华 in 刘建华). */
function insideNameSegment(seg: Segmentation, at: number): boolean {
  const s = seg.segments[seg.at[at] ?? -1];
  return s !== undefined && s.start < at && /^nr/.test(s.tag);
}

/** jieba reads the surname alone as a one-character name segment (同事詹, a signature line 奚). */
function singleNameSegment(seg: Segmentation, start: number, end: number): boolean {
  const k = seg.at[start] ?? -1;
  const s = seg.segments[k];
  return s !== undefined && s.start === start && s.end === end && /^nr/.test(s.tag);
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

/** Whether a span (in simplified script) is a frequent word that only looks like a name (明白, 黄金, 方案). */
export function isChineseNotName(norm: string): boolean {
  return NOT_NAMES.has(norm);
}

/** Frequent words that begin with a surname character but are not names (黄金, 方案, 高级 ...). */
const NOT_NAMES = new Set(
  (
    '健康 健全 健身 黄金 白银 石油 金融 金额 金卡 钱包 方式 方案 方面 方法 高端 高级 高速 高效 高于 文件 文化 文本 万元 余额 余款 ' +
    '任何 任务 安全 程序 周期 周年 周末 马上 江苏 浙江 广东 广西 云南 贵州 四川 福建 江西 安徽 海南 甘肃 青海 宁夏 ' +
    '吉林 辽宁 温州 苏州 杭州 徐州 扬州 郑州 宋体 司法 司机 管理 管道 车辆 车险 房产 房贷 房屋 华夏 邮政 农业 ' +
    '工商 交通 中信 光大 民生 兴业 韦氏 毛利 毛重 沙龙 包括 包含 包装 费率 费用 席位 柏林 戴尔 宁波 齐全 易于 ' +
    '乔迁 庄园 章程 鲁迅 柯达 纪录 梅花 凌晨 毕业 季度 季末 谷歌 盛大 曲线 翁源 冉冉 骆驼 蓝色 游戏 辛苦 管控 ' +
    '柴油 蒙古 华为 路线 路径 解释 解决 艾滋 尤其 阳光 穆斯 农村 农民 卓越 古代 吉祥 简单 简称 车贷 项目 连续 ' +
    '连锁 麦当 娄底 景区 党员 宫殿 费城 冷静 晏子 席卷 卫生 米兰 宗教 桂林 全部 全国 佟麟 臧否 闵行 边境 卞和 ' +
    '师范 仇恨 商业 商户 商品 沙发 荣誉 巫山 寇准 桑拿 郎中 甄别 丛书 仲裁 巩固 池塘 查询 查看 麻烦 苑囿 迟延 ' +
    '官方 封闭 谈判 匡算 惠州 荆州 乐观 冀州 郁闷 班级 储蓄 储备 燕窝 楚雄 劳动 劳务 皮肤 粟米 厉害 伊利 权益 ' +
    '黄金周 国庆节 春节 元旦 端午 中秋 清明 师傅 查明 岳母 岳父 商祺 顺颂 顺祝 祝好 权利 权限 帅气 屠宰 豆浆 盖章 练习 廉洁 禹州 井口 祖国 漆器 巴黎 丰富 卿卿 狄更 晋级 芮城 浦东 戈壁 伏击 ' +
    '鹿特 薄弱 辜负 裘皮 赫兹 杭甬 况且 宿舍 逯家 隆重 茹毛 诸多 战略 慕尼 亢奋 湛江 戎装 勾选 茅台 於菟 居民 ' +
    '居住 揭示 尉犁 檀香 幸福 奉献 衡量 闭环 于是 于此 孔子 孟子 庄子 老子 金价 石家 田地 林业 段落 钟表 钟点 ' +
    '陈述 陈列 高兴 程度 周围 周边 周一 周二 周三 周四 周五 周六 周日 周天 严重 严格 华人 江湖 方便 方向 苏醒 ' +
    '王国 王牌 张贴 张开 刘海 杨柳 林立 马路 孙子 金钱 金属 金色 黄色 白色 余下 万一 万分 于今 曹操 关于 施工 ' +
    '施行 施加 康复 康健 温度 温暖 温和 温馨 平安 安装 安排 安心 安稳 石头 申请 申报 申诉 向来 明白 明天 明确 常用'
  ).split(' '),
);

/** The strong candidates' logit threshold for the second-stage evidence (a repeated name, a list neighbour). */
const STRONG = 1.5;

/**
 * Every Chinese candidate with its evidence, the second-stage features (`repeat`, `listed`) computed from the
 * first-stage scores under `weights`. Exported for the trainer (`train-person-model.mjs`).
 */
export function chinesePersonCandidates(
  norm: string,
  segments: readonly Segment[] | undefined,
  weights: Float64Array = CN_WEIGHTS,
): PersonCandidate[] {
  const candidates = chineseCandidates(norm, segments);
  const strongCandidates = candidates.filter((c) => c.end - c.start >= 2 && dot(weights, c.x) > STRONG);
  // A name found with good evidence is a name wherever else it stands in the same text.
  const strongWords = new Map<string, number[]>();
  for (const c of strongCandidates) {
    const w = norm.slice(c.start, c.end);
    strongWords.set(w, [...(strongWords.get(w) ?? []), c.start]);
  }
  // An item of a list (、, 和, 与 ...) whose neighbour across the separator is a name is a name too ("向林志、许文杰").
  const strongAt = new Set(strongCandidates.flatMap((c) => [`s${c.start}`, `e${c.end}`]));
  const sep = /[、和与及跟]/;
  for (const c of candidates) {
    if (c.end - c.start < 2) continue;
    const elsewhere = strongWords.get(norm.slice(c.start, c.end));
    if (elsewhere?.some((start) => start !== c.start)) c.x[CN.repeat] = 1;
    const listed =
      (sep.test(norm[c.end] ?? '') && strongAt.has(`s${c.end + 1}`)) ||
      (sep.test(norm[c.start - 1] ?? '') && strongAt.has(`e${c.start - 1}`));
    if (listed) c.x[CN.listed] = 1;
  }
  return candidates;
}

/**
 * Finds Chinese names. `norm` is the text in simplified characters and `segments` its jieba segmentation
 * (undefined to go without), both shared with the address recogniser.
 */
export function recognizeChinesePersons(
  norm: string,
  segments: readonly Segment[] | undefined,
  push: Push,
): void {
  for (const c of chinesePersonCandidates(norm, segments))
    push('PERSON', c.start, c.end, Math.min(sigmoid(dot(CN_WEIGHTS, c.x)), 0.97));
}

// ---------------------------------------------------------------- English

/** A name word: Mc/Mac/O'/D' and De/Di/Le/La/Van/Von joined to a capitalised part (DeLuca), hyphens, or an initial. */
const NAME_TOKEN =
  "(?:(?:Mc|Mac|O['’]|D['’]|De|Di|Da|Du|La|Le|Van|Von)?[A-Z][a-z]+(?:-[A-Za-z][a-z]+)*|[A-Z]\\.)";
const RUN = new RegExp(`${NAME_TOKEN}(?: ${NAME_TOKEN})*`, 'g');
const TOKEN = new RegExp(NAME_TOKEN, 'g');
/** Romanised Chinese written in capitals, as on passports and remittance forms (BAO ZIHAN, CHAN TAI MAN). */
const CAPS_RUN = /(?<![A-Za-z])[A-Z]{2,8}(?:[ -][A-Z]{2,8}){1,3}(?![A-Za-z])/g;
/** Words after a name that make it a shop, a brand or a place (the Paul Smith store, Ted Baker jackets). */
const BRAND_AFTER =
  /^(?:\s+(?:and|&)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)*\s+(?:(?:both|also|have|has)\s+)?(?:store|stores|shop|shops|outlet|outlets|boutique|brand|shirt|shirts|jacket|jackets|bag|bags|suit|suits|sponsored|opened|counter|restaurant|hotel|card|cards|cardholders|rewards|points|app)\b/;
/** A reply's first word, which opens a speaker's sentence, not a list of names ("Agent: Yes, Jordan and ..."). */
const INTERJECTION = /^(?:yes|yeah|no|ok|okay|sure|well|so|right|great|alright|oh|ah|um|uh)$/i;
/** A place's role after it ("the Jordan branch", "our Chelsea office"): a branch is named after its district. */
const PLACE_ROLES = 'branch|branches|office|offices|area|district|station|MTR';
const PLACE_ROLE_AFTER = new RegExp(`^\\s+(?:${PLACE_ROLES})\\b`);
/** Where, before it ("near Chelsea", "opposite Jordan"): a place, as nobody banks near a person. */
const LOCATIVES = 'near|nearest to|close to|opposite';
const LOCATIVE_BEFORE = new RegExp(`\\b(?:${LOCATIVES})\\s+(?:the\\s+)?$`, 'i');
/** A capitalised place name just before a place's role, or just after a locative, anywhere in the text. */
const PLACE_IN_TEXT = new RegExp(
  `(?<![A-Za-z])([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})(?=\\s+(?:${PLACE_ROLES})\\b)|\\b(?:${LOCATIVES})\\s+(?:the\\s+)?([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})`,
  'g',
);

/** The words of the places the text names by their context ("the Jordan branch", "near Chelsea"). */
export function placeWordsByContext(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(PLACE_IN_TEXT))
    for (const w of (m[1] ?? m[2] ?? '').split(' ')) if (!EN_NOT_NAME_WORDS.has(w)) out.add(w);
  return out;
}

/**
 * A place read by its context is that place wherever else the text names it ("Is the Jordan branch open?" ...
 * "Jordan and Mong Kok open at 9"), and so is what a list joins to it ("near Chelsea or Austin Friars").
 */
function placesByContext(text: string, found: EnCandidate[]): void {
  const placeWords = placeWordsByContext(text);
  for (const f of found) if (f.x[EN.placeAfter]) for (const t of f.tokens) placeWords.add(t);
  if (!placeWords.size) return;
  for (const f of found) {
    if (f.tokens.some((t) => placeWords.has(t))) f.x[EN.placeAfter] = 1;
    // Joined to a place on either side ("Chelsea or Austin Friars", "Jordan and Mong Kok").
    const back = /([A-Za-z]+)\s*(?:,|\bor\b|\band\b|&)\s*$/.exec(
      text.slice(Math.max(0, f.start - 24), f.start),
    );
    const ahead = /^\s*(?:,|\bor\b|\band\b|&)\s*([A-Za-z]+)/.exec(text.slice(f.end, f.end + 24));
    if ((back && placeWords.has(back[1] ?? '')) || (ahead && placeWords.has(ahead[1] ?? '')))
      f.x[EN.placeAfter] = 1;
  }
}

const SELF_INTRO =
  /(?:\bI'm|\bI am|\bit's|\bit is|\bthis is|\bname is|\bname's|\bI,|\bcall me|\bSpeaking\.|\bwith|\bspeaking with|\bchatting with)(?:\s+(?:um|uh|erm|er|ah))?[\s,]*$/i;
/** A header or list label on the name's line ("From:", "Attendees:", "Present:"), with only names between. */
const HEADER =
  /(?:^|\n)[ \t]*(?:From|To|Cc|Bcc|Signed|Attn|Attention|Present|Attendees|Apologies|Absent|Action|Actions|Contact|Caller|Customer|Agent|Director|Applicant|Applicants|Joint applicants|Beneficial owner|Beneficiary|Reviewed by|Prepared by|Approved by)[ \t]*:([^\n]*)$/;
/** "Hi Ana, Ben," / "Dear Mei and Josh,": a greeting line that lists names greets each of them. */
const GREETING_LIST =
  /(?:^|\n)[ \t]*(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear|[Mm]orning|[Gg]ood morning|[Tt]hanks)[ \t]+(?:[A-Z][A-Za-z'’-]*[ \t]*(?:,|and|&)[ \t]*)+$/;
/** Whether a word at `at` opens its line, sentence or clause (where a greeting stands). */
function opensSentence(text: string, at: number): boolean {
  return /(?:^|[\n.!?;:(,，。：])[ \t]*(?:(?:[Gg]ood|[Aa]nd|[Oo]h|[Oo]k|[Oo]kay|[Ww]ell|[Ss]o|[Yy]es)[ \t,]+)?$/.test(
    text.slice(Math.max(0, at - 24), at),
  );
}
const ONLY_NAMES = /^[A-Za-z'’ ,.&()-]*$/;
const CLOSING =
  /(?:(?:regards|wishes|thanks|thank you|cheers|sincerely|faithfully|best|signed|yours)[,!.]?\s*\n|(?:^|\n)[ \t]*[-–—])[ \t]*$/i;
/** Spelled out after the name, as callers do ("Wojciechowski, W-O-J-C-I-E..."). */
const SPELLED = /^[,.:，：]?\s*(?:that's\s+|it's\s+)?[A-Z](?:[- ][A-Z]){2,}\b/;

function isEnCue(word: string): boolean {
  const w = word.toLowerCase().replace(/\.$/, '');
  return EN_NAME_PREFIX_CUES.has(w) || EN_GREETINGS.has(w);
}

/** One syllable of pinyin or of a Cantonese, Hokkien or Teochew romanisation, as Chinese names are written. */
const SYLLABLE =
  /^(?:zh|ch|sh|ts|tz|hs|ng|[bpmfdtnlgkhjqxrzcsyw])?[wu]?(?:iang|iong|uang|eung|yeung|oeng|ang|eng|ing|ong|ung|iao|ian|uai|uan|oon|ooi|ee|oo|ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ue|ui|oi|ok|uk|ak|ek|ik|at|it|ut|ap|ip|eu|au|oh|a|o|e|i|u|v|y)(?:n|ng|k|ck|t|m|h|p)?$/i;
/** A token of one or two syllables (Zihan, Siu, Ling). */
function romanisedToken(word: string): boolean {
  const w = word.toLowerCase();
  if (SYLLABLE.test(w)) return true;
  for (let i = 1; i < w.length; i++)
    if (SYLLABLE.test(w.slice(0, i)) && SYLLABLE.test(w.slice(i))) return true;
  return false;
}

interface EnCandidate extends PersonCandidate {
  tokens: string[];
}

/**
 * Every English candidate with its evidence. Exported for the trainer (`train-person-model.mjs`). The second
 * stage (a first name or surname alone that is part of a strong full name in the same text) is `recognizeEnglish
 * Persons`' own.
 */
export function englishPersonCandidates(text: string, weights: Float64Array = EN_WEIGHTS): EnCandidate[] {
  const { given, surnames, places, ordinary, romanised: chineseSurnames } = data();
  const found: EnCandidate[] = [];
  const runs = [...text.matchAll(RUN)].map((m) => ({ index: m.index, words: m[0], caps: false }));
  for (const m of text.matchAll(CAPS_RUN)) runs.push({ index: m.index, words: m[0], caps: true });
  for (const m of runs) {
    // A run glued to a letter or digit ("3B. Dial-in") is part of a code, not a name.
    if (/[A-Za-z0-9]/.test(text[m.index - 1] ?? '')) continue;
    const re = m.caps ? /[A-Z]+(?:-[A-Z]+)?/g : TOKEN;
    const tokens = [...m.words.matchAll(re)].map((t) => ({ word: t[0], start: m.index + t.index }));
    if (m.caps) {
      // Capitals are a name only as romanised Chinese with a surname first (BAO ZIHAN).
      const words = tokens.map((t) => t.word[0] + t.word.slice(1).toLowerCase());
      if (!chineseSurnames.has(words[0] as string) || !words.every((w) => w.split('-').every(romanisedToken)))
        continue;
      tokens.forEach((t, i) => (t.word = words[i] as string));
    }
    let greeting = false;
    let honorific = false;
    let cue = false;
    // Leading greetings, honorifics and role words are cues, not part of the name ("Thanks Fiona", "Ms. Wong").
    while (tokens.length) {
      const w = tokens[0]!.word;
      const lower = w.toLowerCase().replace(/\.$/, '');
      if (EN_GREETINGS.has(lower)) greeting ||= opensSentence(text, tokens[0]!.start);
      else if (EN_HONORIFICS.test(w)) honorific = true;
      else if (isEnCue(w)) cue = true;
      else if (!EN_NOT_NAME_WORDS.has(w)) break;
      tokens.shift();
    }
    while (tokens.length && /^[A-Z]\.$/.test(tokens[tokens.length - 1]!.word)) tokens.pop();
    if (!tokens.length || tokens.length > 4) continue;
    // An initial starts a name only before a surname ("J. Whitmore"), never alone.
    const initial = /^[A-Z]\.$/.test(tokens[0]!.word);
    if (initial && tokens.length < 2) continue;
    if (
      tokens.some((t) => EN_NOT_NAME_WORDS.has(t.word.split('-')[0] as string) || EN_PLACE_WORDS.has(t.word))
    )
      continue;
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    const start = first.start;
    const end = last.start + last.word.length;
    const name = text.slice(start, end);
    const before = text.slice(Math.max(0, start - 40), start);
    if (EN_HONORIFICS.test(before.trimEnd())) honorific = true;
    // The word before, on the same line ("Hello,\nWe have moved" is no greeting of "We").
    const prevWord = /([A-Za-z-]+)[:,]?[ \t]*$/.exec(before)?.[1]?.toLowerCase();
    // Prepositions are weak cues ("to Jane Doe", but also "with Apple Pay").
    const weak = prevWord !== undefined && /^(?:to|from|by|for|with)$/.test(prevWord);
    if (prevWord !== undefined && EN_NAME_PREFIX_CUES.has(prevWord) && !weak) cue = true;
    // A greeting opens its line or sentence ("Morning Brief" inside a sentence is no greeting); "Hi Ana, Ben,"
    // greets every name of the list.
    const prev = /([A-Za-z-]+)[:,]?[ \t]*$/.exec(before);
    if (
      prevWord !== undefined &&
      EN_GREETINGS.has(prevWord) &&
      opensSentence(text, start - before.length + (prev?.index ?? 0))
    )
      greeting = true;
    if (GREETING_LIST.test(before)) greeting = true;
    // A Chinese label before an English name (收件人 Leung Ka-wai, 我是 Jason Lin).
    const label = before.trimEnd().replace(/[：:，,]$/, '');
    const chineseLabel = PREFIX_CUES.endingAt(simplified(label), label.length) !== undefined;
    if (chineseLabel) cue = true;
    const after = text.slice(end, end + 60);
    const lineAlone = /(?:^|\n)\s*(?:[-–—]\s*)?$/.test(before) && /^\s*(?:[-–—,]\s*)?(?:\n|$)/.test(after);
    const headerLabel = HEADER.exec(before);
    // Only names between the label and the candidate ("Attendees: Ana Silva, Ben"): a speaker's sentence after
    // "Customer:" ("Customer: Is the Jordan branch open?", "Agent: Yes, Jordan and ...") is no list of names.
    const header =
      headerLabel !== null &&
      ONLY_NAMES.test(headerLabel[1] ?? '') &&
      (headerLabel[1] ?? '')
        .split(/[\s,&().]+/)
        .every(
          (w) =>
            !w ||
            w === 'and' ||
            given.has(w) ||
            (!ordinary.has(w.toLowerCase()) && !EN_GREETINGS.has(w.toLowerCase()) && !INTERJECTION.test(w)),
        );
    const selfIntro = SELF_INTRO.test(before);
    const spelled = SPELLED.test(after);
    const firstGiven = given.has(first.word) || given.has(first.word.split('-')[0] ?? '');
    const multi = tokens.length >= 2;
    const romanised =
      tokens.length >= 2 &&
      chineseSurnames.has(first.word) &&
      tokens.slice(1).every((t) => t.word.split('-').every(romanisedToken));
    if (!multi && !honorific && !spelled) {
      // One word is a name only with a cue: known given names after a greeting, an introduction, a header or on
      // a line of their own; other words only after a greeting or an introduction.
      const context = greeting || lineAlone || cue || weak || header || selfIntro;
      const romanisedSingle = chineseLabel && romanisedToken(first.word);
      const speaking = SPEAKER_AFTER.test(after) && SPEAKER_BEFORE.test(before);
      // "Jenny，客户…", "Laura, the customer's…": a given name opening a line and addressed.
      const vocative = /(?:^|\n)[ \t]*$/.test(before) && /^[,，]/.test(after);
      if (
        !(firstGiven
          ? context || speaking || vocative
          : greeting ||
            selfIntro ||
            cue ||
            speaking ||
            romanisedSingle ||
            (lineAlone && CLOSING.test(before)))
      )
        continue;
    }
    const x = new Float64Array(EN_FEATURES.length);
    x[EN.bias] = 1;
    if (firstGiven) x[EN.firstGiven] = 1;
    if (tokens.length >= 2) {
      x[EN.multi] = 1;
      const lastWord = last.word.split('-')[0] ?? '';
      if (surnames.has(last.word) || surnames.has(lastWord) || /^(?:O['’]|Mc|Mac)[A-Z]/.test(last.word))
        x[EN.lastSurname] = 1;
      // Surname-first names (Chan Tai-man, Nguyen Thi Lan): a surname, then a given name of one or more parts.
      if (surnames.has(first.word) && /-[a-z]/.test(last.word)) x[EN.surnameFirst] = 1;
      if (romanised) x[EN.romanised] = 1;
      if (initial) x[EN.initial] = 1;
      // Half the words or more ordinary English words no name list knows, and no listed given name first: a
      // heading or a day's name ("Quarterly Results", "Memorial Day").
      const plain = tokens.filter((t) => ordinary.has(t.word.toLowerCase())).length;
      if (plain * 2 >= tokens.length && !firstGiven && !romanised && !initial) x[EN.ordinary] = 1;
    } else if (!firstGiven) {
      x[EN.unknownSingle] = 1;
      // One ordinary English word that no name list knows, after a greeting-like word ("Morning Meeting").
      if (ordinary.has(first.word.toLowerCase())) x[EN.ordinary] = 1;
      if (chineseLabel && romanisedToken(first.word)) x[EN.romanisedSingle] = 1;
    }
    if (honorific) x[EN.honorific] = 1;
    if (greeting) x[EN.greeting] = 1;
    if (cue) x[EN.cue] = 1;
    else if (weak) x[EN.weak] = 1;
    if (selfIntro) x[EN.selfIntro] = 1;
    if (header) x[EN.header] = 1;
    if (lineAlone && CLOSING.test(before)) x[EN.closingLine] = 1;
    else if (lineAlone) x[EN.lineAlone] = 1;
    // In a list of names separated by commas ("Sarah Lee, Tom MacDonald, Priya ...").
    if (/,\s*$/.test(before) && /^,/.test(after) && tokens.length >= 2) x[EN.commaList] = 1;
    if (spelled) x[EN.spelled] = 1;
    if (SPEAKER_AFTER.test(after) && SPEAKER_BEFORE.test(before)) x[EN.speaker] = 1;
    if (/(?:^|\n)[ \t]*$/.test(before) && /^[,，]/.test(after)) x[EN.vocative] = 1;
    if (places.has(name) || EN_BRANDS.has(name) || EN_HOLIDAYS.has(name.replace(/['’]/g, '')))
      x[EN.placeOrBrand] = 1;
    if (BRAND_AFTER.test(after)) x[EN.brandAfter] = 1;
    if (
      /^\s+(?:[A-Z][a-z]+\s+)?(?:Harbour|Harbor|Peak|Island|Bay|Park|Road|Street|Square|Centre|Center|Station|Airport|Hotel|Mall|Tower|Pier|Promenade|Italian|Restaurant|Building|Line|Home|Team)\b/.test(
        after,
      ) ||
      PLACE_ROLE_AFTER.test(after) ||
      LOCATIVE_BEFORE.test(before)
    )
      x[EN.placeAfter] = 1;
    found.push({ start, end, x, tokens: tokens.map((t) => t.word) });
  }
  placesByContext(text, found);
  // A run next to a strong full name in a list ("Priyanka Nair, Owen Gallagher, Li Na") is a name too.
  // Strong names by their ends and starts, so that a text of thousands of names is read in linear time.
  const strong = found.filter((f) => f.tokens.length >= 2 && dot(weights, f.x) > STRONG);
  const strongEnds = new Set(strong.map((o) => o.end));
  const strongStarts = new Set(strong.map((o) => o.start));
  const JOIN = /^\s*(?:,|;|&|and|、)\s*/;
  for (const f of found) {
    const back = /\s*(?:,|;|&|and|、)\s*$/.exec(text.slice(Math.max(0, f.start - 8), f.start))?.[0];
    const ahead = JOIN.exec(text.slice(f.end, f.end + 8))?.[0];
    if (
      (back !== undefined && strongEnds.has(f.start - back.length)) ||
      (ahead !== undefined && strongStarts.has(f.end + ahead.length))
    )
      f.x[EN.listed] = 1;
  }
  return found;
}

export function recognizeEnglishPersons(text: string, push: Push): void {
  const found = englishPersonCandidates(text);
  const logits = found.map((f) => dot(EN_WEIGHTS, f.x));
  // A given name or surname alone is a mention of a full name found in the same text ("Tom", "Kevin").
  const parts = new Set(
    found.filter((f, i) => logits[i]! > STRONG && f.tokens.length >= 2).flatMap((f) => f.tokens),
  );
  found.forEach((f, i) => {
    const logit =
      f.tokens.length === 1 && parts.has(f.tokens[0] as string) ? Math.max(logits[i]!, STRONG) : logits[i]!;
    push('PERSON', f.start, f.end, Math.min(sigmoid(logit), 0.96));
  });
  for (const m of text.matchAll(/(?<![A-Za-z'’-])[A-Z][a-z]+(?![A-Za-z'’-])/g)) {
    if (!parts.has(m[0]) || found.some((f) => f.start <= m.index && f.end >= m.index + m[0].length)) continue;
    if (EN_NOT_NAME_WORDS.has(m[0]) || EN_GREETINGS.has(m[0].toLowerCase())) continue;
    push('PERSON', m.index, m.index + m[0].length, 0.8);
  }
}
