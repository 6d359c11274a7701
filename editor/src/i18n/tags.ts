/**
 * Template gallery tags in the UI language. Templates tag themselves in either language (`credit`, `合规`); the
 * gallery shows each tag in the analyst's language, and an unknown tag as it was written.
 */
import type { Lang } from './index.js';

// [English, Chinese]
const pairs: readonly (readonly [string, string])[] = [
  ['GDPR', 'GDPR'],
  ['PIPL', '个人信息保护法'],
  ['Regulation B', 'Regulation B（美国）'],
  ['adverse action', '拒贷通知'],
  ['audit', '审计'],
  ['cards', '银行卡'],
  ['checklist', '合规清单'],
  ['compliance', '合规'],
  ['credit', '信贷'],
  ['customer service', '客户服务'],
  ['explainable', '可解释'],
  ['fraud', '反欺诈'],
  ['gradient boosting', '梯度提升'],
  ['human handoff', '转人工'],
  ['human review', '人工复核'],
  ['intent', '意图识别'],
  ['kyc', 'KYC'],
  ['marketing-compliance', '营销合规'],
  ['markowitz', '马科维茨'],
  ['ocr', 'OCR'],
  ['portfolio', '投资组合'],
  ['rag', '检索增强'],
  ['real-time', '实时'],
  ['recommendation', '推荐'],
  ['regulation', '法规'],
  ['robo-advisory', '智能投顾'],
  ['rules', '规则'],
  ['scorecard', '评分卡'],
  ['speech', '语音'],
  ['suitability', '适当性'],
  ['wealth-management', '理财'],
];
const byTag = new Map<string, readonly [string, string]>();
for (const p of pairs) {
  byTag.set(p[0].toLowerCase(), p);
  byTag.set(p[1], p);
}
export function tagLabel(tag: string, lang: Lang): string {
  const p = byTag.get(tag) ?? byTag.get(tag.toLowerCase());
  if (!p) return tag;
  return lang === 'zh-CN' ? p[1] : p[0];
}
