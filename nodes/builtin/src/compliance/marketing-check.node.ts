/**
 * compliance.marketingCheck: checks customer-facing financial marketing text against prohibited claims and
 * required disclosures for a jurisdiction (CN and US defaults citing their sources; add or disable rules per
 * flow). Negated claims ("不保本", "not guaranteed") are not findings.
 */
import { defineNode, port, z } from '@finflow/sdk';
import { DEFAULT_RULES, isNegated, type MarketingRule, type Severity } from './marketing/rules.js';

const severitySchema = z.enum(['high', 'medium', 'low']);
const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3 };

const customRuleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Z0-9][A-Z0-9_-]*$/, 'rule ids are upper case, e.g. MY-BANK-01')
      .meta({ title: 'Rule id', zh: { title: '规则编号' } }),
    kind: z.enum(['prohibited', 'required']).meta({
      title: 'Kind',
      zh: { title: '类型', options: { prohibited: '禁用表述', required: '必备披露' } },
    }),
    phrases: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(200)
      .meta({
        title: 'Phrases',
        description: 'prohibited: claims to flag; required: acceptable wordings (case-insensitive)',
        zh: { title: '短语', description: '禁用表述：需标记的说法；必备披露：可接受的措辞（不区分大小写）' },
      }),
    severity: severitySchema.default('medium').meta({
      title: 'Severity',
      zh: { title: '严重程度', options: { high: '高', medium: '中', low: '低' } },
    }),
    message: z
      .string()
      .min(1)
      .max(500)
      .meta({ title: 'Message', zh: { title: '提示信息' } }),
    source: z
      .string()
      .min(1)
      .max(500)
      .meta({
        title: 'Source',
        description: 'The regulation or policy the rule comes from',
        zh: { title: '依据', description: '规则所依据的法规或制度' },
      }),
  })
  .strict();

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fromCustom(rule: z.output<typeof customRuleSchema>): MarketingRule {
  // Phrases are matched literally: user rules never become regular expressions (no ReDoS from config).
  const re = new RegExp(rule.phrases.map(escape).join('|'), 'gi');
  return {
    id: rule.id,
    kind: rule.kind,
    severity: rule.severity,
    message: rule.message,
    source: rule.source,
    patterns: [re],
  };
}

function global(re: RegExp): RegExp {
  return re.flags.includes('g') ? new RegExp(re.source, re.flags) : new RegExp(re.source, `${re.flags}g`);
}

export interface Finding {
  ruleId: string;
  kind: 'prohibited-claim' | 'missing-disclosure';
  severity: Severity;
  message: string;
  source: string;
  start?: number;
  end?: number;
  text?: string;
}

/** Runs the rules over a text. Overlapping claims of the same rule are reported once. */
export function checkMarketing(
  text: string,
  rules: readonly MarketingRule[],
  language: 'zh' | 'en',
): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const message = language === 'zh' && rule.messageZh ? rule.messageZh : rule.message;
    if (rule.kind === 'prohibited') {
      const spans: [number, number][] = [];
      for (const pattern of rule.patterns) {
        for (const m of text.matchAll(global(pattern))) {
          const start = m.index;
          const end = start + m[0].length;
          if (!m[0] || spans.some(([s, e]) => start < e && end > s)) continue;
          if (isNegated(text, start, end)) continue;
          spans.push([start, end]);
          findings.push({
            ruleId: rule.id,
            kind: 'prohibited-claim',
            severity: rule.severity,
            message,
            source: rule.source,
            start,
            end,
            text: m[0],
          });
        }
      }
    } else {
      if (rule.when && !rule.when.some((w) => new RegExp(w.source, w.flags.replace('g', '')).test(text)))
        continue;
      if (!rule.patterns.some((p) => new RegExp(p.source, p.flags.replace('g', '')).test(text))) {
        findings.push({
          ruleId: rule.id,
          kind: 'missing-disclosure',
          severity: rule.severity,
          message,
          source: rule.source,
        });
      }
    }
  }
  return findings.sort(
    (a, b) => (a.start ?? Infinity) - (b.start ?? Infinity) || RANK[b.severity] - RANK[a.severity],
  );
}

export const marketingCheckNode = defineNode({
  type: 'compliance.marketingCheck',
  version: 1,
  meta: {
    title: 'Check marketing text',
    category: 'compliance',
    description:
      'Checks customer-facing financial marketing against prohibited claims (保本, 保收益, 零风险, 稳赚, guaranteed returns, risk-free ...) and required risk disclosures (市场有风险，投资需谨慎 / "Investing involves risk"), with the span, rule id, severity and cited regulation of every finding. CN (Advertising Law art. 25, asset-management and fund-sales rules) and US (FINRA Rule 2210, SEC Rule 482) defaults; add your own rules.',
    zh: {
      title: '营销合规检查',
      description:
        '检查面向客户的金融营销文案：禁止性表述（保本、保收益、零风险、稳赚等）与必备风险提示（如“市场有风险，投资需谨慎”），逐条给出位置、规则编号、严重程度和法规依据。',
    },
    icon: 'megaphone',
    badge: 'rule-based',
    tags: ['marketing', 'advertising', 'suitability'],
  },
  config: z
    .object({
      jurisdiction: z
        .enum(['auto', 'CN', 'US'])
        .default('auto')
        .meta({
          title: 'Jurisdiction',
          description: 'Which default rules apply; auto: CN for Chinese text, US for English',
          zh: {
            title: '适用法域',
            description: '适用哪套默认规则；自动：中文文本按中国，英文文本按美国',
            options: { auto: '自动', CN: '中国', US: '美国' },
          },
        }),
      includeDefaults: z
        .boolean()
        .default(true)
        .meta({ title: 'Use the default rules', zh: { title: '使用默认规则' } }),
      disabledRules: z
        .array(z.string())
        .default([])
        .meta({
          title: 'Disabled rules',
          description: 'Ids of default rules to skip, e.g. CN-AD9-SUPERLATIVE',
          group: 'Advanced',
          zh: { title: '停用的规则', description: '要跳过的默认规则编号，例如 CN-AD9-SUPERLATIVE' },
        }),
      rules: z
        .array(customRuleSchema)
        .max(500)
        .default([])
        .meta({
          title: 'Additional rules',
          description: 'Your own prohibited phrases and required disclosures',
          widget: 'json',
          zh: { title: '补充规则', description: '自定义的禁用表述和必备披露' },
        }),
      failOn: severitySchema.default('medium').meta({
        title: 'Fail at severity',
        description: 'The check fails when a finding is at least this severe',
        zh: {
          title: '不通过的严重程度',
          description: '出现不低于该严重程度的问题时，检查不通过',
          options: { high: '高', medium: '中', low: '低' },
        },
      }),
    })
    .strict(),
  inputs: { text: port('text', { title: 'Marketing text', zh: { title: '营销文案' } }) },
  outputs: {
    passed: port('boolean', { title: 'Passed', zh: { title: '通过' } }),
    findings: port('table', {
      title: 'Findings',
      zh: {
        title: '发现的问题',
        description: '每项发现含 ruleId、kind、severity、message、source、start、end、text',
      },
      description: 'ruleId, kind, severity, message, source, start, end, text',
    }),
    decision: port('decision', {
      title: 'Decision',
      zh: { title: '决策', description: '通过（pass）、复核（review）或拒绝（reject），附原因' },
      description: 'pass, review or reject, with reasons',
    }),
  },
  timeoutMs: 10_000,
  validate(config, helpers) {
    const ids = new Set<string>();
    config.rules.forEach((r, i) => {
      if (ids.has(r.id)) helpers.problem(`two rules have the id ${r.id}`, ['rules', i, 'id']);
      ids.add(r.id);
    });
    const known = new Set([...DEFAULT_RULES.CN, ...DEFAULT_RULES.US].map((r) => r.id));
    config.disabledRules.forEach((id, i) => {
      if (!known.has(id)) helpers.problem(`no default rule has the id ${id}`, ['disabledRules', i]);
    });
  },
  run(_ctx, { text }, config) {
    const language = /[\u4e00-\u9fff]/.test(text) ? 'zh' : 'en';
    const jurisdiction =
      config.jurisdiction === 'auto' ? (language === 'zh' ? 'CN' : 'US') : config.jurisdiction;
    const disabled = new Set(config.disabledRules);
    const rules = [
      ...(config.includeDefaults ? DEFAULT_RULES[jurisdiction].filter((r) => !disabled.has(r.id)) : []),
      ...config.rules.map(fromCustom),
    ];
    const findings = checkMarketing(text, rules, language);
    const failing = findings.filter((f) => RANK[f.severity] >= RANK[config.failOn]);
    const passed = failing.length === 0;
    const outcome = passed ? 'pass' : failing.some((f) => f.severity === 'high') ? 'reject' : 'review';
    const reasons = findings.map((f) =>
      f.text
        ? `${f.ruleId}: "${f.text}" ${f.message} (${f.source})`
        : `${f.ruleId}: ${f.message} (${f.source})`,
    );
    return {
      passed,
      findings: findings.map((f) => ({ ...f })),
      decision: { outcome, reasons, jurisdiction, rulesApplied: rules.length },
    };
  },
});
