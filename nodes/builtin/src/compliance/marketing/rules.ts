/**
 * Default rule sets for checking customer-facing financial promotions, one per jurisdiction, each rule citing
 * the regulation it comes from. Prohibited claims are matched as phrases with a negation check ("不保本" and
 * "returns are not guaranteed" are disclosures, not claims); required disclosures must appear somewhere in the
 * text, some only when the text shows performance figures.
 */

export type Severity = 'high' | 'medium' | 'low';
export type Jurisdiction = 'CN' | 'US';

export interface MarketingRule {
  id: string;
  kind: 'prohibited' | 'required';
  severity: Severity;
  /** What is wrong, for the reviewer (English and Chinese). */
  message: string;
  messageZh?: string;
  /** The regulation the rule comes from. */
  source: string;
  /** prohibited: the claims; required: the acceptable wordings of the disclosure. */
  patterns: RegExp[];
  /** required: only when one of these appears (e.g. a performance figure). */
  when?: RegExp[];
}

const PERCENT_FIGURE_ZH = /(?:年化|收益率|回报率|收益|业绩|涨幅)[^。；\n]{0,12}?\d+(?:\.\d+)?\s*[%％]/;
const PERCENT_FIGURE_EN =
  /\b(?:return(?:ed|s)?|yield(?:ed|s)?|performance|gain(?:ed|s)?|growth|annuali[sz]ed)\b[^.;\n]{0,40}?\d+(?:\.\d+)?\s*%|\d+(?:\.\d+)?\s*%\s+(?:annual(?:ized)?\s+)?(?:return|yield|gain)/i;

/*
 * English wordings, shared by the US rules and the CN rules: a Chinese institution's promotion to an
 * English-speaking customer is still bound by Chinese law (the Advertising Law covers the advert, whatever its
 * language), so each CN rule also knows the English form of its claim or disclosure.
 */
const EN_PROMISSORY = [
  /\bguarantee(?:d|s)?\s+(?:\w+\s+){0,2}(?:returns?|profits?|income|yields?|gains?|payouts?|interest)\b/gi,
  /\b(?:returns?|profits?|income|yields?|gains?|principal)\s+(?:is|are|will\s+be)\s+guaranteed\b/gi,
  /\brisk[-\s]free\b(?![-\s](?:rate|asset|interest|bond|yield))|\bno[-\s]risk\b(?![-\s]free)|\bzero[-\s]risk\b|\bwithout\s+(?:any\s+)?risk\b|\bfree\s+of\s+risk\b/gi,
  /\b(?:can(?:no|')t|cannot|won't|will\s+not)\s+lose\b|\bsure\s+thing\b|\bno\s+downside\b/gi,
];
const EN_AS_DEPOSIT =
  /\bsafe\s+as\s+(?:a\s+)?(?:bank\s+)?deposits?\b|\bjust\s+like\s+a\s+(?:bank\s+)?deposit\b/gi;
const EN_PROJECTION = [
  /\bwill\s+(?:return|earn|yield|gain|grow\s+by|double|triple)\b/gi,
  /\b(?:expected|projected|target(?:ed)?)\s+(?:annual\s+)?(?:returns?|yields?)\s+of\b/gi,
];
const EN_SUPERLATIVE =
  /\b(?:the\s+)?(?:best|safest|#1|number\s+one)\s+(?:investment|fund|product|performer|returns?)\b/gi;
const EN_RISK_WARNING = [
  /\binvest(?:ing|ments?)?\s+(?:involves?|carr(?:y|ies))\s+(?:\w+\s+)?risks?\b/i,
  /\b(?:possible|potential)\s+loss\s+of\s+(?:principal|capital)\b/i,
  /\bmay\s+(?:lose|lose\s+money|lose\s+value|be\s+worth\s+(?:more\s+or\s+)?less)\b/i,
];
const EN_PAST_PERFORMANCE =
  /\bpast\s+performance\s+(?:is\s+no\s+guarantee|does\s+not\s+guarantee|is\s+not\s+(?:a\s+)?(?:guarantee|indicative|indication))/i;

export const CN_RULES: readonly MarketingRule[] = [
  {
    id: 'CN-AD25-GUARANTEE',
    kind: 'prohibited',
    severity: 'high',
    message: 'Promises principal or returns (guaranteed capital, guaranteed income, no risk)',
    messageZh: '对收益作出保证性承诺，明示或暗示保本、无风险或保收益',
    source:
      '《中华人民共和国广告法》第二十五条第（一）项；《关于规范金融机构资产管理业务的指导意见》（银发〔2018〕106号）第二条',
    patterns: [
      /保本保收益|保本保息|保本/g,
      /保收益|保证收益|保障收益|承诺收益|收益有保障|收益保证|固定回报|保底收益|保息/g,
      /零风险|无风险(?!利率|收益率|资产)|没有风险|毫无风险|风险为零|没风险/g,
      /稳赚不赔|稳赚|只赚不赔|包赚|躺赚|稳赢|本金无忧|本金绝对安全|刚性兑付|刚兑/g,
      ...EN_PROMISSORY,
    ],
  },
  {
    id: 'CN-FUND-FORECAST',
    kind: 'prohibited',
    severity: 'medium',
    message: 'Forecasts investment performance or advertises an expected return',
    messageZh: '预测投资业绩或宣传预期收益率',
    source:
      '《公开募集证券投资基金销售机构监督管理办法》（证监会令第175号）基金宣传推介材料禁止性规定；《中华人民共和国广告法》第二十五条',
    patterns: [
      /预期收益率?|预计收益|预期年化|未来收益(?:将|可达|达到)|收益(?:可达|将达)|必将(?:上涨|翻倍)|翻倍/g,
      ...EN_PROJECTION,
    ],
  },
  {
    id: 'CN-WMP-DEPOSIT',
    kind: 'prohibited',
    severity: 'high',
    message: 'Presents an investment product as a deposit or as safe as a deposit',
    messageZh: '将理财产品作为存款宣传',
    source:
      '《商业银行理财产品销售管理办法》（银监会令2011年第5号）宣传销售文本管理：不得将理财产品作为存款进行宣传',
    patterns: [
      /等同(?:于)?存款|相当于存款|比存款(?:还|更)安全|和存款一样安全|存款替代|就是存款/g,
      EN_AS_DEPOSIT,
    ],
  },
  {
    id: 'CN-AD9-SUPERLATIVE',
    kind: 'prohibited',
    severity: 'medium',
    message: 'Uses absolute or superlative terms (best, safest, No. 1)',
    messageZh: '使用“最佳”“最高级”“第一”等绝对化用语',
    source: '《中华人民共和国广告法》第九条第（三）项',
    patterns: [
      /最佳|最高级|国家级|最安全|绝对安全|百分之百安全|100%安全|全国第一|行业第一|排名第一|首屈一指/g,
      EN_SUPERLATIVE,
    ],
  },
  {
    id: 'CN-RISK-WARNING',
    kind: 'required',
    severity: 'medium',
    message: 'Missing the risk warning (e.g. 市场有风险，投资需谨慎; in English, "Investing involves risk")',
    messageZh: '缺少风险提示语（如“市场有风险，投资需谨慎”）',
    source:
      '《中华人民共和国广告法》第二十五条（应当对可能存在的风险以及风险责任承担有合理提示或者警示）；基金宣传推介材料应当含有明确、醒目的风险提示和警示性文字',
    patterns: [
      /(?:市场|投资|理财|基金投资|产品|股市)有风险[，,、\s]*(?:投资|入市|选择|购买)?(?:需|须|应当?)谨慎/,
      /理财非存款[，,、\s]*产品有风险[，,、\s]*投资须谨慎/,
      ...EN_RISK_WARNING,
    ],
  },
  {
    id: 'CN-PAST-PERFORMANCE',
    kind: 'required',
    severity: 'medium',
    message: 'Shows past returns without saying that past performance does not indicate future results',
    messageZh: '展示历史业绩但未提示“过往业绩不代表未来表现”',
    source:
      '《公开募集证券投资基金宣传推介材料管理暂行规定》（证监会公告〔2020〕59号）关于业绩展示的风险提示要求',
    patterns: [/(?:过往|历史|过去)业绩不(?:代表|预示|构成)[^。]{0,12}(?:未来|将来)/, EN_PAST_PERFORMANCE],
    when: [PERCENT_FIGURE_ZH, PERCENT_FIGURE_EN],
  },
];

export const US_RULES: readonly MarketingRule[] = [
  {
    id: 'US-FINRA2210-PROMISSORY',
    kind: 'prohibited',
    severity: 'high',
    message: 'Promissory claim: guarantees returns or says the investment has no risk',
    source:
      'FINRA Rule 2210(d)(1)(B) (no false, exaggerated, unwarranted, promissory or misleading statement or claim)',
    patterns: [...EN_PROMISSORY, EN_AS_DEPOSIT],
  },
  {
    id: 'US-FINRA2210-PROJECTION',
    kind: 'prohibited',
    severity: 'medium',
    message: 'Predicts or projects performance',
    source: 'FINRA Rule 2210(d)(1)(F) (communications may not predict or project performance)',
    patterns: EN_PROJECTION,
  },
  {
    id: 'US-FINRA2210-SUPERLATIVE',
    kind: 'prohibited',
    severity: 'low',
    message: 'Exaggerated or unwarranted superlative claim',
    source: 'FINRA Rule 2210(d)(1)(B) (exaggerated or unwarranted claims)',
    patterns: [EN_SUPERLATIVE],
  },
  {
    id: 'US-FINRA2210-RISK-DISCLOSURE',
    kind: 'required',
    severity: 'medium',
    message:
      'Missing a risk disclosure (e.g. "Investing involves risk, including possible loss of principal")',
    source: 'FINRA Rule 2210(d)(1)(D) (balanced treatment of risks and potential benefits)',
    patterns: [...EN_RISK_WARNING, /\bnot\s+(?:FDIC|federally)\s+insured\b/i],
  },
  {
    id: 'US-SEC482-PAST-PERFORMANCE',
    kind: 'required',
    severity: 'medium',
    message:
      'Shows performance figures without the legend that past performance does not guarantee future results',
    source: '17 CFR 230.482(b)(3) (SEC Rule 482 performance legend)',
    patterns: [EN_PAST_PERFORMANCE],
    when: [PERCENT_FIGURE_EN],
  },
];

export const DEFAULT_RULES: Readonly<Record<Jurisdiction, readonly MarketingRule[]>> = {
  CN: CN_RULES,
  US: US_RULES,
};

const ZH_NEGATION =
  /(?:不|非|无法|不能|不会|不可|并非|并不|不是|没有|未|绝不|不予|不作|不做|谨防|警惕|杜绝|禁止|严禁|不得|拒绝)[^，。；,;]{0,3}$/;
const EN_NEGATION =
  /\b(?:not|no|never|without|nor|cannot|can't|isn't|aren't|doesn't|don't|won't|neither|beware\s+of|avoid)\b(?:\s+\S+){0,2}\s*$/i;

/** Whether the claim at [start, end) is negated ("不保本", "本产品非保本", "returns are not guaranteed"). */
export function isNegated(text: string, start: number, end: number): boolean {
  const before = text.slice(Math.max(0, start - 12), start);
  const match = text.slice(start, end);
  if (/[\u4e00-\u9fff]/.test(match)) {
    // A clause boundary ends the reach of a negation: "不仅…，更保本" is still a claim.
    return ZH_NEGATION.test(before.replace(/^.*[，。；！？,;!?]/, ''));
  }
  if (/\bnot\b/i.test(match)) return true;
  return EN_NEGATION.test(text.slice(Math.max(0, start - 30), start).replace(/^.*[.;!?]/, ''));
}
