/**
 * Turns provisions into checklist items: each clause with a deontic cue (应当/必须/不得/禁止/可以/有权,
 * shall/must/shall not/may/need not) becomes an obligation, prohibition or permission with its actor and, when
 * the text gives one, a time limit with a value (72 hours, 30 days, 三十日, 60日内, 至少保存三年). Vague timing
 * ("without undue delay", 及时) is kept as `timing`, never turned into a number, and time spans inside a
 * condition ("if the statement is requested within 60 days") are not deadlines. Deterministic.
 */
import { CN_NUMERAL_CHARS, parseChineseNumber } from '../lib/cn-numerals.js';
import type { Article, Language, Provision } from './structure.js';

export type Modality = 'must' | 'must-not' | 'may';
export type DeadlineUnit = 'hour' | 'day' | 'business-day' | 'week' | 'month' | 'year';

export interface Deadline {
  value: number;
  unit: DeadlineUnit;
  /** within: act within the period; retention: keep (at least / for) the period. */
  kind: 'within' | 'retention';
  /** The words of the text that state it. */
  phrase: string;
}

export interface ChecklistItem {
  id: string;
  articleRef: string;
  /** The paragraph, point or item the obligation comes from. */
  provisionRef: string;
  actor: string;
  /** True when the actor is not the clause's grammatical subject but taken from the article or document. */
  actorInferred: boolean;
  modality: Modality;
  /** The duty itself, from the modal verb on. */
  obligation: string;
  deadline?: Deadline;
  /** Vague timing words without a value, e.g. "without undue delay", 及时. */
  timing?: string;
  /** The sentence (with its lead-in for enumerated items) the item was read from. */
  text: string;
}

interface Cue {
  index: number;
  length: number;
  modality: Modality;
}

// Order matters: negative cues first, so 不应当 is a prohibition and "shall not" is not "shall".
const ZH_CUES: { re: RegExp; modality: Modality }[] = [
  // 禁止 as a noun ("禁止、限制", "限制或者禁止…清单") is not a prohibition; 不准确 is not 不准.
  { re: /不得|(?<!或者|和|、|的)禁止(?!、)|严禁|不应当|不准(?!确)|不允许/g, modality: 'must-not' },
  { re: /不需要?|无需|无须|毋须|不必|可以|(?<!所)有权|方可/g, modality: 'may' },
  {
    re: /应当|必须|应予|(?<![无不毋必])须(?![知])|(?<![相对适响回供反])应(?=在|于|按|依|向|自|及时|予以|由|将|经|采取|建立|制定|具备|提供|报送|履行|保证|确保|遵守|符合)/g,
    modality: 'must',
  },
];

const EN_CUES: { re: RegExp; modality: Modality }[] = [
  {
    re: /\b(?:shall|must|may)\s+not\b|\bshall\s+in\s+no\s+case\b|\b(?:is|are)\s+prohibited\s+from\b|\bshall\s+never\b/gi,
    modality: 'must-not',
  },
  {
    re: /\bneed\s+(?:not|only)\b|\bshall\s+have\s+the\s+right\b|\b(?:is|are)\s+entitled\s+to\b|\b(?:has|have)\s+the\s+right\b|\b(?:is|are)\s+permitted\s+to\b|\b(?:is|are)\s+not\s+required\b/gi,
    modality: 'may',
  },
  // Lower case only: "May" at the start of a line is more often the month.
  { re: /\bmay\b/g, modality: 'may' },
  { re: /\bshall\b|\bmust\b|\b(?:is|are)\s+(?:required|obliged)\s+to\b/gi, modality: 'must' },
];

/** Clauses that look deontic but define, deem or scope ("shall mean", "shall not apply", "shall have no further obligation"). */
const EN_NOT_DUTY =
  /^(?:shall|must|may)\s+(?:not\s+)?(?:apply|mean|be\s+deemed|be\s+considered|be\s+construed|be\s+cited|have\s+no\s+further\s+obligation)\b/i;

/**
 * A Chinese modal inside a condition or a reference to another law's duty is not a duty of this clause:
 * "法律规定应当取得书面同意的，从其规定", "法律、行政法规规定应当告知的其他事项". Nor is a modal inside a noun
 * phrase, where the verb after it is followed at once by 的: "个人可以采取的减轻危害的措施" names measures (an item
 * of a notice's contents), it gives the individual no right; "应当采取保护个人信息的措施" stays a duty.
 */
function zhCueIsReference(text: string, start: number, end: number): boolean {
  let s = start;
  while (s > 0 && !/[，,；;。：:]/.test(text[s - 1] as string)) s--;
  let e = end;
  while (e < text.length && !/[，,；;。：:]/.test(text[e] as string)) e++;
  const clause = text.slice(s, e);
  return (
    /的$/.test(clause) ||
    (/规定$/.test(text.slice(s, start)) && /的/.test(text.slice(end, e))) ||
    // A verb, not a preposition ("可以在合理的范围内…", "可以对死者的…" are rights), then 的.
    /^(?![在对向于从按依以为将把自由经与和同])\p{Script=Han}{1,3}的\p{Script=Han}/u.test(text.slice(end, e))
  );
}

function findCues(clause: string, language: Language): Cue[] {
  const table = language === 'zh' ? ZH_CUES : EN_CUES;
  const cues: Cue[] = [];
  const taken: [number, number][] = [];
  for (const { re, modality } of table) {
    for (const m of clause.matchAll(re)) {
      const start = m.index;
      const end = start + m[0].length;
      if (taken.some(([s, e]) => start < e && end > s)) continue;
      if (language === 'zh' && zhCueIsReference(clause, start, end)) {
        taken.push([start, end]);
        continue;
      }
      taken.push([start, end]);
      cues.push({ index: start, length: m[0].length, modality });
    }
  }
  return cues.sort((a, b) => a.index - b.index);
}

const EN_NUMBER_WORDS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
  hundred: 100,
};

function parseEnglishNumber(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s);
  let total = 0;
  for (const w of s.toLowerCase().split(/[\s-]+/)) {
    const v = EN_NUMBER_WORDS[w];
    if (v === undefined) return undefined;
    total = v === 100 ? Math.max(total, 1) * 100 : total + v;
  }
  return total;
}

function unitOf(word: string): DeadlineUnit | undefined {
  const w = word.toLowerCase();
  if (/^hours?$|小时/.test(w)) return 'hour';
  if (/business days?|working days?|工作日/.test(w)) return 'business-day';
  if (/^(?:calendar )?days?$|^[日天]$/.test(w)) return 'day';
  if (/^weeks?$|^周$|^星期$/.test(w)) return 'week';
  if (/^months?$|月/.test(w)) return 'month';
  if (/^years?$|^年$/.test(w)) return 'year';
  return undefined;
}

const EN_NUM =
  '(\\d+|(?:(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)[\\s-]?)+)';
const EN_UNIT = '((?:calendar\\s+|business\\s+|working\\s+)?(?:hours?|days?|weeks?|months?|years?))';
const EN_DEADLINES: { re: RegExp; kind: Deadline['kind'] }[] = [
  {
    re: new RegExp(
      `\\b(?:within|not\\s+later\\s+than|no\\s+later\\s+than|not\\s+more\\s+than|before\\s+the\\s+end\\s+of)\\s+(?:the\\s+)?${EN_NUM}\\s*${EN_UNIT}\\b`,
      'gi',
    ),
    kind: 'within',
  },
  { re: new RegExp(`\\b${EN_NUM}\\s*${EN_UNIT}\\s+(?:after|from|following|of)\\b`, 'gi'), kind: 'within' },
  {
    re: new RegExp(
      `\\b(?:for|retain(?:ed)?\\s+for|kept\\s+for|keep\\s+for)\\s+(?:at\\s+least|a\\s+minimum\\s+of|not\\s+less\\s+than)\\s+${EN_NUM}\\s*${EN_UNIT}\\b`,
      'gi',
    ),
    kind: 'retention',
  },
];
const EN_VAGUE =
  /\bwithout\s+undue\s+(?:further\s+)?delay\b|\bwithout\s+delay\b|\bpromptly\b|\bwithin\s+a\s+reasonable\s+(?:time|period)\b|\bin\s+a\s+timely\s+manner\b|\bas\s+soon\s+as\s+(?:possible|practicable)\b|\bimmediately\b/i;
/** A time span inside a clause opened by one of these is a condition, not a deadline. */
const EN_CONDITION = /\b(?:if|where|when|unless|provided\s+that|in\s+case|whether)\b/i;

const ZN = `([0-9０-９${CN_NUMERAL_CHARS}]+)`;
const ZH_DEADLINES: { re: RegExp; kind: Deadline['kind'] }[] = [
  {
    re: new RegExp(`${ZN}\\s*(个)?(小时|个?工作日|日|天|周|星期|个?月|年)\\s*(?:内|以内|之内)`, 'g'),
    kind: 'within',
  },
  {
    re: new RegExp(`(?:至少|不少于|不得少于)(?:保存|保留)?\\s*${ZN}\\s*(个)?(年|个?月|日|天)`, 'g'),
    kind: 'retention',
  },
  {
    re: new RegExp(
      `(?:保存|保留)(?:期限)?[^。；，,]{0,4}[，,]?[^。；]{0,24}?为\\s*${ZN}\\s*(个)?(年|个?月|日|天)`,
      'g',
    ),
    kind: 'retention',
  },
];
const ZH_VAGUE = /及时|立即|尽快|without undue delay/;

/**
 * Whether a position sits in a conditional clause: in English a clause (between commas) opened by if/where/
 * when/unless before that position; in Chinese a clause ending in 的 ("超过五年的，").
 */
function insideCondition(text: string, index: number, language: Language): boolean {
  const stops = language === 'zh' ? /[，,；;。：:]/ : /[,;:.]/;
  let s = index;
  while (s > 0 && !stops.test(text[s - 1] as string)) s--;
  if (language === 'en') return EN_CONDITION.test(text.slice(s, index));
  let e = index;
  while (e < text.length && !stops.test(text[e] as string)) e++;
  return /的$/.test(text.slice(s, e).trim());
}

/** The time limit stated in a sentence, skipping spans that sit inside a condition. */
export function findDeadline(sentence: string, language: Language): Deadline | undefined {
  const patterns = language === 'zh' ? ZH_DEADLINES : EN_DEADLINES;
  const found: (Deadline & { index: number })[] = [];
  for (const { re, kind } of patterns) {
    for (const m of sentence.matchAll(re)) {
      if (insideCondition(sentence, m.index, language)) continue;
      const value =
        language === 'zh' ? parseChineseNumber(m[1] as string) : parseEnglishNumber((m[1] as string).trim());
      const unit = unitOf((language === 'zh' ? m[3] : m[2]) as string);
      if (value === undefined || unit === undefined || value <= 0) continue;
      found.push({ value, unit, kind, phrase: m[0].trim(), index: m.index });
    }
  }
  found.sort((a, b) => a.index - b.index);
  const first = found[0];
  if (!first) return undefined;
  const { index: _index, ...deadline } = first;
  return deadline;
}

function findTiming(sentence: string, language: Language): string | undefined {
  return (language === 'zh' ? ZH_VAGUE : EN_VAGUE).exec(sentence)?.[0];
}

// ---- actors ----------------------------------------------------------------------------------------------

const ZH_ACTOR_END =
  /(?:处理者|提供者|使用者|经营者|运营者|受托人|接收方|机构|部门|机关|单位|组织|个人|企业|公司|银行|主体|平台|委员会|政府|国家|法院|人员|代表|负责人|监护人|父母|当事人|信息主体|征信机构|管理者|董事|监事|股东|从业人员|申请人|行政机关)$/;
const ZH_SUBJECT_STOP =
  /(?:在|对|向|于|依照|依据|按照|根据|自|从|为了|因|将|把|以|通过|经|也|还|均|都|并|及时|同时|方可|可以|不得|不需|无需|有权|禁止|确需|需要|拟)/;

/**
 * The subject of a Chinese duty: the noun phrase before the modal (cut at the first preposition or adverb),
 * if it ends like an actor (…处理者, …机构, …部门). `known` are actors seen elsewhere in the document, which
 * also name the subject when it opens a condition ("个人信息处理者委托处理个人信息的，应当…").
 */
function chineseSubject(prefix: string, known: readonly string[] = []): string | undefined {
  const parts = prefix.split(/[，,]/).map((p) => p.trim());
  // The subject is in the clause right before the modal, or (if that is empty) the clause before it.
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (!part) continue;
    // "个人信息处理者委托处理个人信息的，应当…": the condition opens with the actor it binds.
    if (/的$/.test(part)) return known.find((a) => part.startsWith(a));
    const clause = part.replace(/^(?:但是|但|并且|并|且|同时|此外|其中)/, '');
    // The longest opening that ends like an actor and is followed by nothing or an adverbial:
    // "个人信息处理者|在处理个人信息前", "申请设立经营个人征信业务的征信机构|".
    for (let k = clause.length; k >= 2; k--) {
      const head = clause.slice(0, k);
      const rest = clause.slice(k);
      if (
        ZH_ACTOR_END.test(head) &&
        (!rest || (ZH_SUBJECT_STOP.test(rest.slice(0, 2)) && ZH_SUBJECT_STOP.exec(rest)?.index === 0))
      ) {
        return head;
      }
    }
    // The modal opens its clause, after a topic clause that starts with an actor named elsewhere and goes on
    // with what it does: "履行个人信息保护职责的部门履行个人信息保护职责，可以采取下列措施" is the department's
    // power, not that of the article's other actor; "征信机构或者信息提供者收到异议，应当…" binds both.
    return i < parts.length - 1 ? knownActorOpening(clause, known) : undefined;
  }
  return undefined;
}

/** The known actor (or actors joined by 或者, 和, 、) a clause opens with, unless it is part of a longer noun. */
function knownActorOpening(clause: string, known: readonly string[]): string | undefined {
  const opening = (text: string) =>
    // "个人信息的保存期限" opens with 个人 but is about the information, not the individual.
    known.find(
      (a) =>
        text.startsWith(a) && text.length > a.length && !/^(?:的|之|信息|数据)/.test(text.slice(a.length)),
    );
  let actor = opening(clause);
  if (!actor) return undefined;
  for (;;) {
    const rest = clause.slice(actor.length);
    const joint = /^(?:或者|以及|及其|和|及|与|、)/.exec(rest)?.[0];
    const next = joint ? opening(rest.slice(joint.length)) : undefined;
    if (!joint || !next) return actor;
    actor += joint + next;
  }
}

const EN_AGENT =
  /(?:controller|processor|creditor|applicant|lender|borrower|bank|institution|authority|agency|body|person|officer|subject|party|member state|commission|board|firm|provider|company|operator|representative|employer|consumer|user|holder|organi[sz]ation|furnisher|issuer|insurer|broker|dealer|adviser|advisor|trustee|recipient|creditors|persons)s?$/i;
/** Words after which a noun phrase's head is over: "notification given to ...", "creditor taking adverse action". */
const EN_HEAD_END =
  /\s+(?:\w+ing|given|taken|made|referred|that|which|who|whom|whose|of|to|by|for|in|on|with|from|when|where|under|as)\b.*$/i;

/** The grammatical subject right before a modal verb, if it names an agent (controller, creditor ...). */
function englishSubject(prefix: string): string | undefined {
  const parts = prefix
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean);
  let part = parts[parts.length - 1] ?? '';
  part = part.replace(/^\([a-zA-Z0-9]+\)\s*/, '').replace(/^(?:and|or|but|then|also)\s+/i, '');
  if (EN_CONDITION.test(part.split(/\s+/)[0] ?? '')) return undefined;
  const words = part
    .replace(/\s+(?:also|only|at\s+least|not|then|further|therefore|thereafter)$/i, '')
    .trim();
  const np = words
    .replace(/^(?:the|a|an|each|any|every|such|all|that|this|these|those)\s+/i, '')
    .replace(EN_HEAD_END, '')
    .trim();
  if (!np || np.split(/\s+/).length > 6 || !EN_AGENT.test(np)) return undefined;
  return np.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase());
}

// ---- sentence handling -------------------------------------------------------------------------------------

/**
 * Sentences, with semicolon-separated parts that carry no modal verb kept with their neighbour, so that a list
 * such as "shall contain a statement ...; the name ...; and either:" stays one duty.
 */
function splitSentences(text: string, language: Language): string[] {
  const sentences =
    language === 'zh' ? text.split(/(?<=[。！？])/) : text.split(/(?<=[.!?])\s+(?=[A-Z(“"‘])/);
  const out: string[] = [];
  for (const sentence of sentences) {
    const parts = sentence.split(language === 'zh' ? /(?<=[；;])/ : /(?<=;)\s+/);
    const merged: string[] = [];
    let pending = '';
    for (const part of parts) {
      const joined = pending ? `${pending}${language === 'zh' ? '' : ' '}${part}` : part;
      if (!findCues(part, language).length) {
        // No duty of its own: belongs to the previous part, or to the next one if it comes first.
        if (merged.length) merged[merged.length - 1] += `${language === 'zh' ? '' : ' '}${part}`;
        else pending = joined;
        continue;
      }
      merged.push(joined);
      pending = '';
    }
    if (pending) merged.push(pending);
    out.push(...merged.map((p) => p.trim()).filter(Boolean));
  }
  return out;
}

function stripHeading(text: string): string {
  return text.replace(/^\*[^*]+\*\s*[—–-]*\s*/, '').trim();
}

interface ClauseDuty {
  modality: Modality;
  cueIndex: number;
  cueLength: number;
  clause: string;
}

/** Splits a sentence into clauses where the modality changes ("应当遵循…，不得通过…"), one duty per clause. */
function duties(sentence: string, language: Language): ClauseDuty[] {
  const cues = findCues(sentence, language);
  const heads: Cue[] = [];
  for (const c of cues) if (!heads.length || heads[heads.length - 1]!.modality !== c.modality) heads.push(c);
  const out: ClauseDuty[] = [];
  let start = 0;
  heads.forEach((cue, i) => {
    const next = heads[i + 1];
    let end = sentence.length;
    if (next) {
      const boundary = language === 'zh' ? /[，,；;]/g : /[,;]\s*|\s+(?:but|and|or)\s+/g;
      let cut = -1;
      const from = cue.index + cue.length;
      for (const b of sentence.slice(from, next.index).matchAll(boundary)) cut = from + b.index + b[0].length;
      end = cut > 0 ? cut : next.index;
    }
    out.push({
      modality: cue.modality,
      cueIndex: cue.index - start,
      cueLength: cue.length,
      clause: sentence.slice(start, end),
    });
    start = end;
  });
  return out;
}

export interface ExtractOptions {
  language: Language;
  modalities: readonly Modality[];
  /** One item per enumerated item under a lead-in that carries the duty ("shall notify ... within: (i) ..."). */
  splitEnumerations: boolean;
}

interface Context {
  language: Language;
  articleRef: string;
  /** Actors named as subjects anywhere in the document, longest first. */
  known: readonly string[];
  /** The actor named in the current paragraph so far. */
  lastActor?: string | undefined;
  /** The actor most often bound by duties in this article, then in the whole document. */
  articleActor?: string | undefined;
  documentActor: string;
  counter: number;
}

interface LeadIn {
  sentence: string;
  duty: ClauseDuty;
  actor: string;
  actorInferred: boolean;
  deadline?: Deadline;
  timing?: string;
}

/** Extracts the checklist of a parsed regulation. */
export function extractChecklist(articles: readonly Article[], options: ExtractOptions): ChecklistItem[] {
  const { language } = options;
  const known = [...actorCounts(articles, language, true, []).keys()].sort((a, b) => b.length - a.length);
  const documentActor =
    dominantActor(articles, language, known) ?? (language === 'zh' ? '未指明' : 'unspecified');
  const items: ChecklistItem[] = [];
  for (const article of articles) {
    const ctx: Context = {
      language,
      articleRef: article.ref,
      known,
      articleActor: dominantActor([article], language, known),
      documentActor,
      counter: 0,
    };
    for (const p of article.provisions) visit(p, undefined, ctx, options, items);
  }
  return items.filter((i) => options.modalities.includes(i.modality));
}

function isNotDuty(duty: ClauseDuty, language: Language): boolean {
  // "shall, in accordance with Article 89(1), not be considered": look past the inserted phrase.
  return language === 'en' && EN_NOT_DUTY.test(duty.clause.slice(duty.cueIndex).replace(/,[^,]*,\s*/g, ' '));
}

function visit(
  p: Provision,
  lead: LeadIn | undefined,
  ctx: Context,
  options: ExtractOptions,
  out: ChecklistItem[],
): void {
  const { language } = options;
  const text = stripHeading(p.text);
  const sentences = splitSentences(text, language);
  const hasChildren = p.children.length > 0;
  // An enumerated item without a subject of its own belongs to the actor of its lead-in.
  ctx.lastActor = lead?.actor;
  let childLead: LeadIn | undefined;
  sentences.forEach((sentence, s) => {
    const isLeadIn = hasChildren && s === sentences.length - 1 && /[:：]$/.test(sentence);
    const exceptions = /\bexcept\s+(?:that|as\s+follows)?\s*:$|但是[^：]*：$/.test(sentence);
    const found = duties(sentence, language).filter((d) => !isNotDuty(d, language));
    if (!found.length) {
      // An enumerated item without a modal verb of its own carries its lead-in's duty
      // ("A creditor shall notify an applicant of action taken within: (i) 30 days after ...").
      if (lead && s === 0) {
        out.push(
          makeItem(ctx, p.ref, lead.actor, lead.actorInferred, lead.duty.modality, {
            obligation: joinText(leadObligation(lead, language), sentence, language),
            text: joinText(lead.sentence, sentence, language),
            deadline: findDeadline(sentence, language) ?? lead.deadline,
            timing: findTiming(sentence, language) ?? lead.timing,
          }),
        );
      }
      return;
    }
    for (const duty of found) {
      const { actor, inferred } = resolveActor(duty, ctx);
      const timing = findTiming(duty.clause, language);
      if (isLeadIn && options.splitEnumerations && !exceptions) {
        const sentenceDeadline = findDeadline(sentence, language);
        childLead = {
          sentence,
          duty,
          actor,
          actorInferred: inferred,
          ...(sentenceDeadline ? { deadline: sentenceDeadline } : {}),
          ...(timing ? { timing } : {}),
        };
        continue;
      }
      const inherits = lead !== undefined && s === 0;
      out.push(
        makeItem(ctx, p.ref, actor, inferred, duty.modality, {
          obligation: obligationText(duty, inferred, language),
          text: inherits ? joinText(lead.sentence, sentence, language) : sentence,
          deadline: findDeadline(duty.clause, language) ?? (inherits ? lead.deadline : undefined),
          timing: timing ?? (inherits ? lead.timing : undefined),
        }),
      );
    }
  });
  for (const child of p.children) visit(child, childLead, ctx, options, out);
}

function joinText(a: string, b: string, language: Language): string {
  // "应当具备下列条件之一：依照本法第四十条…": the colon keeps the lead-in and the item apart.
  if (language === 'zh') return `${a.replace(/[：:]$/, '')}：${b}`;
  // "shall notify ... within" + "30 days after ..."; an item's capital ("Notify the applicant") reads lower case.
  return `${a.replace(/[:：]$/, '').trim()} ${b.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())}`;
}

function leadObligation(lead: LeadIn, language: Language): string {
  return obligationText(lead.duty, lead.actorInferred, language)
    .replace(/[:：]$/, '')
    .trim();
}

/**
 * The duty from the modal verb on ("shall notify the controller ..."); when the actor is not the clause's
 * subject (passive voice, "处理个人信息应当…"), the subject is kept in front so the duty still reads whole.
 */
function obligationText(duty: ClauseDuty, inferred: boolean, language: Language): string {
  let start = duty.cueIndex;
  if (inferred) {
    const prefix = duty.clause.slice(0, duty.cueIndex);
    const parts = prefix.split(language === 'zh' ? /[，,；;]/ : /[,;]/);
    const last = (parts[parts.length - 1] ?? '').trim();
    const conditional = language === 'zh' ? /的$/.test(last) : EN_CONDITION.test(last.split(/\s+/)[0] ?? '');
    if (last && !conditional) start = prefix.lastIndexOf(last);
  }
  let text = duty.clause.slice(start).replace(/^\([a-zA-Z0-9]+\)\s*/, '');
  text = text
    .trim()
    .replace(/[。；;.,，]+$/, '')
    .replace(/\s+(?:but|and|or)$/, '')
    .trim();
  return language === 'en' ? text.replace(/\s+/g, ' ') : text;
}

function resolveActor(duty: ClauseDuty, ctx: Context): { actor: string; inferred: boolean } {
  const prefix = duty.clause.slice(0, duty.cueIndex);
  const subject = ctx.language === 'zh' ? chineseSubject(prefix, ctx.known) : englishSubject(prefix);
  if (subject) {
    ctx.lastActor = subject;
    return { actor: subject, inferred: false };
  }
  return { actor: ctx.lastActor ?? ctx.articleActor ?? ctx.documentActor, inferred: true };
}

function makeItem(
  ctx: Context,
  provisionRef: string,
  actor: string,
  actorInferred: boolean,
  modality: Modality,
  body: { obligation: string; text: string; deadline: Deadline | undefined; timing: string | undefined },
): ChecklistItem {
  ctx.counter++;
  const text = ctx.language === 'zh' ? body.text.replace(/\s+/g, '') : body.text.replace(/\s+/g, ' ');
  return {
    id: `${ctx.articleRef}#${ctx.counter}`,
    articleRef: ctx.articleRef,
    provisionRef,
    actor,
    actorInferred,
    modality,
    obligation: body.obligation,
    ...(body.deadline ? { deadline: body.deadline } : {}),
    ...(body.timing ? { timing: body.timing } : {}),
    text: text.trim(),
  };
}

/** How often each actor is the subject of a duty; `withRights` also counts rights holders (may). */
function actorCounts(
  articles: readonly Article[],
  lang: Language,
  withRights: boolean,
  known: readonly string[],
): Map<string, number> {
  const counts = new Map<string, number>();
  const walk = (p: Provision) => {
    for (const sentence of splitSentences(stripHeading(p.text), lang)) {
      for (const duty of duties(sentence, lang)) {
        if (duty.modality === 'may' && !withRights) continue;
        const prefix = duty.clause.slice(0, duty.cueIndex);
        const subject = lang === 'zh' ? chineseSubject(prefix, known) : englishSubject(prefix);
        if (subject) counts.set(subject, (counts.get(subject) ?? 0) + 1);
      }
    }
    p.children.forEach(walk);
  };
  for (const a of articles) a.provisions.forEach(walk);
  return counts;
}

/** The actor most often bound by a duty (must / must-not): the fallback for clauses that leave it implicit. */
function dominantActor(
  articles: readonly Article[],
  lang: Language,
  known: readonly string[],
): string | undefined {
  let best: string | undefined;
  let max = 0;
  for (const [k, v] of actorCounts(articles, lang, false, known)) if (v > max) [best, max] = [k, v];
  return best;
}
