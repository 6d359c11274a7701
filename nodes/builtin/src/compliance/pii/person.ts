/**
 * Personal-name recognisers. Chinese: a surname from the surname list, a one- or two-character given name
 * that contains no function word, and evidence from the context (a role label before it such as 申请人/户名,
 * an honorific or a possessive PII noun after it); a name with no contextual evidence stays below the default
 * threshold. English: a run of title-case words whose first word is a common given name, or which follows an
 * honorific or a role word, and which contains no word that names a place, street or organisation.
 */
import {
  CN_COMPOUND_SURNAMES,
  CN_GIVEN_NAME_STOP,
  CN_NAME_FOLLOW_CUES,
  CN_NAME_PREFIX_CUES,
  CN_NAME_SUFFIX_CUES,
  CN_SURNAMES,
  EN_GIVEN_NAMES,
  EN_HONORIFICS,
  EN_NAME_PREFIX_CUES,
  EN_NOT_NAME_WORDS,
  EN_SURNAMES,
} from './lexicons.js';
import type { Push } from './detect.js';

const HAN = /[\u4e00-\u9fff]/;

/** Frequent words that begin with a surname character but are not names (黄金, 方案, 高级 ...). */
const CN_NOT_NAMES = new Set(
  (
    '黄金 白银 石油 金融 金额 金卡 钱包 方式 方案 方面 方法 高端 高级 高速 高效 高于 文件 文化 文本 万元 余额 余款 ' +
    '任何 任务 安全 程序 周期 周年 马上 江苏 浙江 广东 广西 云南 贵州 四川 福建 江西 安徽 海南 甘肃 青海 宁夏 ' +
    '吉林 辽宁 温州 苏州 杭州 徐州 扬州 郑州 宋体 司法 司机 管理 管道 车辆 车险 房产 房贷 房屋 华夏 邮政 农业 ' +
    '工商 交通 中信 光大 民生 兴业 韦氏 毛利 毛重 沙龙 包括 包含 包装 费率 费用 席位 柏林 戴尔 宁波 齐全 易于 ' +
    '乔迁 庄园 章程 鲁迅 柯达 纪录 梅花 凌晨 毕业 季度 季末 谷歌 盛大 曲线 翁源 冉冉 骆驼 蓝色 游戏 辛苦 管控 ' +
    '柴油 蒙古 华为 路线 路径 解释 解决 艾滋 尤其 阳光 穆斯 农村 农民 卓越 古代 吉祥 简单 简称 车贷 项目 连续 ' +
    '连锁 麦当 娄底 景区 党员 宫殿 费城 冷静 晏子 席卷 卫生 米兰 宗教 桂林 全部 全国 佟麟 臧否 闵行 边境 卞和 ' +
    '师范 仇恨 商业 商户 商品 沙发 荣誉 巫山 寇准 桑拿 郎中 甄别 丛书 仲裁 巩固 池塘 查询 查看 麻烦 苑囿 迟延 ' +
    '官方 封闭 谈判 匡算 惠州 荆州 乐观 冀州 郁闷 班级 储蓄 储备 燕窝 楚雄 劳动 劳务 皮肤 粟米 厉害 伊利 权益 ' +
    '权利 权限 帅气 屠宰 豆浆 盖章 练习 廉洁 禹州 井口 祖国 漆器 巴黎 丰富 卿卿 狄更 晋级 芮城 浦东 戈壁 伏击 ' +
    '鹿特 薄弱 辜负 裘皮 赫兹 杭甬 况且 宿舍 逯家 隆重 茹毛 诸多 战略 慕尼 亢奋 湛江 戎装 勾选 茅台 於菟 居民 ' +
    '居住 揭示 尉犁 檀香 幸福 奉献 衡量 闭环 于是 于此 孔子 孟子 庄子 老子 金价 石家 田地 林业 段落 钟表 钟点'
  ).split(' '),
);

function startsWithAny(text: string, at: number, words: readonly string[]): string | undefined {
  for (const w of words) if (text.startsWith(w, at)) return w;
  return undefined;
}

function endsWithAny(text: string, at: number, words: readonly string[]): boolean {
  for (const w of words) if (at >= w.length && text.startsWith(w, at - w.length)) return true;
  return false;
}

const PREFIX_CUES = [...CN_NAME_PREFIX_CUES].sort((a, b) => b.length - a.length);
const FOLLOW_CUES = [...CN_NAME_SUFFIX_CUES, ...CN_NAME_FOLLOW_CUES].sort((a, b) => b.length - a.length);

/** Whether a label or role noun ends right before `at`, allowing a colon or spaces between. */
function hasPrefixCue(text: string, at: number): boolean {
  let i = at;
  while (i > 0 && /[：:\s]/.test(text[i - 1] as string)) i--;
  return endsWithAny(text, i, PREFIX_CUES);
}

function givenNameChar(ch: string | undefined): boolean {
  return ch !== undefined && HAN.test(ch) && !CN_GIVEN_NAME_STOP.has(ch);
}

export function recognizeChinesePersons(text: string, push: Push): void {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (!HAN.test(ch)) continue;
    const two = text.slice(i, i + 2);
    const surnameLength = CN_COMPOUND_SURNAMES.has(two) ? 2 : CN_SURNAMES.has(ch) ? 1 : 0;
    if (!surnameLength) continue;
    const g = i + surnameLength;
    if (!givenNameChar(text[g])) continue;
    // A two-character given name unless the second character starts a cue (王伟先生, 黄强的身份证).
    const secondStartsCue = startsWithAny(text, g + 1, FOLLOW_CUES) !== undefined;
    const length = givenNameChar(text[g + 1]) && !secondStartsCue ? 2 : 1;
    const end = g + length;
    const name = text.slice(i, end);
    if (CN_NOT_NAMES.has(name) || CN_NOT_NAMES.has(text.slice(i, i + 2))) continue;
    const prefix = hasPrefixCue(text, i);
    const follow = startsWithAny(text, end, FOLLOW_CUES) !== undefined;
    // Inside a longer run of Chinese with nothing marking a name, this is more likely a word than a name.
    const bounded = !HAN.test(text[end] ?? '') || follow;
    let score = 0.3;
    if (prefix) score += 0.5;
    if (follow) score += 0.45;
    if (prefix && bounded) score += 0.1;
    push('PERSON', i, end, Math.min(score, 0.98));
  }
}

const TOKEN = /[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z]\./g;

export function recognizeEnglishPersons(text: string, push: Push): void {
  // Runs of capitalised words separated by single spaces.
  const run = /(?:[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z]\.)(?: (?:[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?|[A-Z]\.))*/g;
  for (const m of text.matchAll(run)) {
    const tokens = [...m[0].matchAll(TOKEN)].map((t) => ({ word: t[0], start: m.index + t.index }));
    // Leading role words and honorifics are cues, not part of the name ("Customer John Smith", "Mr. Li").
    let cue = false;
    while (tokens.length && (EN_NOT_NAME_WORDS.has(tokens[0]!.word) || isCueWord(tokens[0]!.word))) {
      if (isCueWord(tokens[0]!.word)) cue = true;
      tokens.shift();
    }
    if (!tokens.length || tokens.length > 3) continue;
    if (tokens.some((t) => EN_NOT_NAME_WORDS.has(t.word.replace(/\.$/, '')) && !/^[A-Z]\.$/.test(t.word)))
      continue;
    const first = tokens[0]!;
    const last = tokens[tokens.length - 1]!;
    if (/^[A-Z]\.$/.test(last.word)) continue;
    const preceding = text.slice(Math.max(0, first.start - 24), first.start).trimEnd();
    const honorific = EN_HONORIFICS.test(preceding);
    const prevWord = /([A-Za-z-]+)[:,]?$/.exec(preceding)?.[1]?.toLowerCase();
    if (prevWord !== undefined && EN_NAME_PREFIX_CUES.has(prevWord)) cue = true;
    let score: number;
    if (tokens.length === 1) {
      if (!honorific) continue;
      score = 0.75;
    } else {
      score = 0.25;
      if (EN_GIVEN_NAMES.has(first.word)) score += 0.4;
      if (EN_SURNAMES.has(last.word)) score += 0.2;
      if (cue || honorific) score += 0.3;
    }
    push('PERSON', first.start, last.start + last.word.length, Math.min(score, 0.95));
  }
}

function isCueWord(word: string): boolean {
  return EN_NAME_PREFIX_CUES.has(word.toLowerCase().replace(/\.$/, ''));
}
