/**
 * risk.rules: a policy rule set over one record (a loan application, a transaction), evaluated with
 * json-rules-engine. Rules are JSON (edited as JSON in the editor) and checked when the flow is validated;
 * each rule that fires names an outcome, and the most severe outcome wins. The hits say which facts fired each
 * rule and with what values, so a decline can be explained and audited. Typical uses: credit policy (age
 * limits, debt-to-income, blacklists) and anti-fraud rules (velocity, a new device with a large amount).
 */
import { createRequire } from 'node:module';
import type * as JsonRulesEngine from 'json-rules-engine';
import type { Engine, RuleProperties } from 'json-rules-engine';
import { defineNode, NodeError, port, z, type ValidateHelpers } from '@finflow/sdk';
import { renderTemplate } from '../data/template.node.js';

export const ruleOperators = [
  'equal',
  'notEqual',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
] as const;
/** json-rules-engine's operator decorators, written as prefixes: "not:in", "someFact:greaterThan". */
export const ruleOperatorDecorators = [
  'not',
  'swap',
  'someFact',
  'someValue',
  'everyFact',
  'everyValue',
] as const;

type RulesEngineLib = typeof JsonRulesEngine;
let rulesEngineLib: RulesEngineLib | undefined;
/** json-rules-engine is loaded on first use: a server whose flows have no rule set never pays its memory. */
const rulesEngine = (): RulesEngineLib =>
  (rulesEngineLib ??= createRequire(import.meta.url)('json-rules-engine') as RulesEngineLib);

const factName = /^[A-Za-z_][\w-]*$/;
/** A restricted JSONPath: $.a.b, $.a[0], $["a b"]. No filters or script expressions. */
const simplePath = /^\$(?:\.[A-Za-z_][\w-]*|\[\d+\]|\["[^"\\]*"\])*$/;

const ruleSchema = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][\w.-]*$/, 'rule ids are letters, digits, _ . -')
    .meta({ title: 'Rule id', zh: { title: '规则编号' } }),
  description: z
    .string()
    .optional()
    .meta({ title: 'Description', zh: { title: '说明' } }),
  conditions: z.record(z.string(), z.unknown()).meta({
    title: 'Conditions',
    description: 'json-rules-engine conditions: { "all": [...] }, { "any": [...] } or { "not": {...} }',
    zh: {
      title: '条件',
      description: 'json-rules-engine 条件：{ "all": [...] }、{ "any": [...] } 或 { "not": {...} }',
    },
  }),
  outcome: z
    .string()
    .min(1)
    .meta({
      title: 'Outcome',
      description: 'One of the outcomes, e.g. decline',
      zh: { title: '决策结果', description: '决策结果之一，例如 decline' },
    }),
  message: z
    .string()
    .optional()
    .meta({
      title: 'Message',
      description: 'Reason shown when the rule fires; {{ fact }} inserts a fact value',
      zh: { title: '提示信息', description: '规则命中时显示的原因；{{ fact }} 插入事实（fact）的值' },
    }),
  priority: z
    .number()
    .int()
    .min(1)
    .default(1)
    .meta({
      title: 'Priority',
      description: 'Higher runs first and is listed first among equal outcomes',
      zh: { title: '优先级', description: '数值越高越先执行，在同一决策结果中也排在前面' },
    }),
  enabled: z
    .boolean()
    .default(true)
    .meta({ title: 'Enabled', zh: { title: '启用' } }),
});
type RuleSpec = z.output<typeof ruleSchema>;

const configSchema = z.object({
  rules: z
    .array(ruleSchema)
    .min(1)
    .meta({
      title: 'Rules',
      description:
        'Each rule: { id, conditions, outcome, message?, priority? }. A condition is { fact, operator, value } (value may be { "fact": "other" }), combined with all / any / not.',
      widget: 'json',
      zh: {
        title: '规则',
        description:
          '每条规则：{ id, conditions, outcome, message?, priority? }。条件形如 { fact, operator, value }（value 可为 { "fact": "other" }），用 all / any / not 组合。',
      },
    }),
  outcomes: z
    .array(z.string().min(1))
    .min(1)
    .default(['approve', 'review', 'decline', 'block'])
    .meta({
      title: 'Outcomes',
      description: 'From least to most severe; the most severe outcome of the rules that fire wins',
      zh: { title: '决策结果等级', description: '由轻到重排列；命中规则中最严重的结果生效' },
    }),
  defaultOutcome: z
    .string()
    .min(1)
    .default('approve')
    .meta({
      title: 'Default outcome',
      description: 'The decision when no rule fires',
      zh: { title: '默认结果', description: '没有规则命中时的决策' },
    }),
  derivedFacts: z
    .record(z.string().regex(factName), z.string().min(1))
    .default({})
    .meta({
      title: 'Derived facts',
      description:
        'Facts computed from the record with JSONata, e.g. { "debtToIncome": "monthlyDebt / monthlyIncome" }',
      widget: 'json',
      zh: {
        title: '衍生事实',
        description: '用 JSONata 从记录计算出的事实，例如 { "debtToIncome": "monthlyDebt / monthlyIncome" }',
      },
    }),
  lists: z
    .record(z.string().regex(factName), z.array(z.union([z.string(), z.number()])))
    .default({})
    .meta({
      title: 'Lists',
      description:
        'Named lists usable as facts, e.g. a blacklist: { "fact": "idNumber", "operator": "in", "value": { "fact": "blacklist" } }',
      widget: 'json',
      zh: {
        title: '名单',
        description:
          '可作为事实使用的具名名单，例如黑名单：{ "fact": "idNumber", "operator": "in", "value": { "fact": "blacklist" } }',
      },
    }),
  missingFacts: z
    .enum(['error', 'ignore'])
    .default('error')
    .meta({
      title: 'Missing facts',
      description:
        'error: fail when the record lacks a fact a rule reads (safest for credit policy); ignore: treat it as undefined, so its conditions are false',
      zh: {
        title: '事实缺失时',
        description:
          '报错：记录缺少规则所需的事实时失败（对信贷政策最稳妥）；忽略：视为未定义，相关条件判为不成立',
        options: { error: '报错', ignore: '忽略' },
      },
    }),
});
export type RulesConfig = z.output<typeof configSchema>;

type Path = (string | number)[];
type Report = (message: string, path: Path) => void;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const leafKeys = new Set(['fact', 'operator', 'value', 'path', 'name', 'priority', 'params']);

function checkOperator(op: unknown, report: Report, path: Path) {
  if (typeof op !== 'string') return report('operator must be a string', path);
  const parts = op.split(':');
  const base = parts.pop() as string;
  if (!(ruleOperators as readonly string[]).includes(base))
    report(`unknown operator "${base}"; use one of ${ruleOperators.join(', ')}`, path);
  for (const d of parts)
    if (!(ruleOperatorDecorators as readonly string[]).includes(d))
      report(`unknown operator prefix "${d}:"; use one of ${ruleOperatorDecorators.join(', ')}`, path);
}

/** Checks a condition tree; collects the facts it reads. */
function checkCondition(node: unknown, report: Report, path: Path, facts: Set<string>, depth = 0): void {
  if (depth > 32) return report('conditions are nested too deeply', path);
  if (!isObject(node)) return report('a condition must be an object', path);
  const boolean = ['all', 'any', 'not'].filter((k) => k in node);
  if ('condition' in node)
    return report(
      'shared conditions ("condition": name) are not supported; write the condition inline',
      path,
    );
  if (boolean.length > 1)
    return report(`a condition has one of all / any / not, not ${boolean.join(' and ')}`, path);
  if (boolean.length === 1) {
    const key = boolean[0] as 'all' | 'any' | 'not';
    for (const k of Object.keys(node))
      if (k !== key && k !== 'name' && k !== 'priority')
        report(`unexpected key "${k}" beside "${key}"`, [...path, k]);
    const inner = node[key];
    if (key === 'not') return checkCondition(inner, report, [...path, key], facts, depth + 1);
    if (!Array.isArray(inner) || inner.length === 0)
      return report(`"${key}" needs a non-empty list of conditions`, [...path, key]);
    inner.forEach((c, i) => checkCondition(c, report, [...path, key, i], facts, depth + 1));
    return;
  }
  for (const k of Object.keys(node))
    if (!leafKeys.has(k)) report(`unexpected key "${k}" in a condition`, [...path, k]);
  if (typeof node['fact'] !== 'string' || !factName.test(node['fact']))
    report('a condition needs "fact": the name of a field of the record (letters, digits, _ -)', [
      ...path,
      'fact',
    ]);
  else facts.add(node['fact']);
  if (!('operator' in node)) report('a condition needs "operator"', path);
  else checkOperator(node['operator'], report, [...path, 'operator']);
  if (!('value' in node)) report('a condition needs "value"', path);
  const value = node['value'];
  if (isObject(value) && 'fact' in value) {
    if (typeof value['fact'] !== 'string' || !factName.test(value['fact']))
      report('a fact reference needs a fact name', [...path, 'value', 'fact']);
    else facts.add(value['fact']);
    if (value['path'] !== undefined && (typeof value['path'] !== 'string' || !simplePath.test(value['path'])))
      report('path must look like $.field.sub or $.list[0]', [...path, 'value', 'path']);
  }
  if (node['path'] !== undefined && (typeof node['path'] !== 'string' || !simplePath.test(node['path'])))
    report('path must look like $.field.sub or $.list[0]', [...path, 'path']);
}

const engineRule = (r: RuleSpec): RuleProperties => ({
  name: r.id,
  priority: r.priority,
  conditions: r.conditions as unknown as RuleProperties['conditions'],
  event: { type: r.outcome, params: { ruleId: r.id } },
});

interface Checked {
  problems: { message: string; path: Path }[];
  /** Facts each rule reads: fact -> rule ids. */
  facts: Map<string, string[]>;
}

const checkedConfigs = new WeakMap<object, Checked>();

/** Static checks of a rule set, shared by flow validation and the run (configs built from expressions skip the former). */
export function checkRules(config: RulesConfig): Checked {
  const cached = checkedConfigs.get(config);
  if (cached) return cached;
  const problems: Checked['problems'] = [];
  const facts = new Map<string, string[]>();
  const report: Report = (message, path) => problems.push({ message, path });
  const outcomes = new Set(config.outcomes);
  if (outcomes.size !== config.outcomes.length) report('outcomes are listed twice', ['outcomes']);
  if (!outcomes.has(config.defaultOutcome))
    report(`default outcome "${config.defaultOutcome}" is not one of ${config.outcomes.join(', ')}`, [
      'defaultOutcome',
    ]);
  const ids = new Set<string>();
  config.rules.forEach((r, i) => {
    if (ids.has(r.id)) report(`two rules have the id ${r.id}`, ['rules', i, 'id']);
    ids.add(r.id);
    if (!outcomes.has(r.outcome))
      report(`outcome "${r.outcome}" is not one of ${config.outcomes.join(', ')}`, ['rules', i, 'outcome']);
    const before = problems.length;
    const read = new Set<string>();
    checkCondition(r.conditions, report, ['rules', i, 'conditions'], read);
    if (
      !('all' in r.conditions || 'any' in r.conditions || 'not' in r.conditions) &&
      problems.length === before
    )
      report('the top level of conditions is { "all": [...] }, { "any": [...] } or { "not": {...} }', [
        'rules',
        i,
        'conditions',
      ]);
    if (problems.length === before) {
      try {
        new (rulesEngine().Rule)(engineRule(r));
      } catch (err) {
        report(`json-rules-engine rejects the rule: ${(err as Error).message}`, ['rules', i]);
      }
    }
    if (r.enabled) for (const f of read) facts.set(f, [...(facts.get(f) ?? []), r.id]);
  });
  for (const name of Object.keys(config.derivedFacts))
    if (name in config.lists) report(`"${name}" is both a derived fact and a list`, ['derivedFacts', name]);
  const result = { problems, facts };
  checkedConfigs.set(config, result);
  return result;
}

/** Resolves the restricted JSONPath used in conditions, without any script evaluation. */
function resolvePath(value: unknown, path: string): unknown {
  let cur = value;
  for (const m of path.slice(1).matchAll(/\.([A-Za-z_][\w-]*)|\[(\d+)\]|\["([^"\\]*)"\]/g)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const key = m[1] ?? m[3] ?? Number(m[2]);
    cur = Object.hasOwn(cur, key) ? (cur as Record<string | number, unknown>)[key] : undefined;
  }
  return cur;
}

/**
 * Engines per rule set. An engine's run status is shared by its concurrent runs (one finishing marks the engine
 * finished and the others skip their remaining rules), so each run borrows an idle engine from a small pool.
 */
const pools = new WeakMap<object, Engine[]>();
function borrowEngine(config: RulesConfig): { engine: Engine; release: () => void } {
  let pool = pools.get(config.rules);
  if (!pool) {
    pool = [];
    pools.set(config.rules, pool);
  }
  const engine =
    pool.pop() ??
    new (rulesEngine().Engine)(config.rules.filter((r) => r.enabled).map(engineRule), {
      allowUndefinedFacts: true,
      pathResolver: (v: object, p: string) => resolvePath(v, p),
    });
  const owner = pool;
  return { engine, release: () => owner.length < 16 && owner.push(engine) };
}

interface FiredFact {
  fact: string;
  path?: string;
  operator: string;
  threshold: unknown;
  value: unknown;
}

/** The leaf conditions that made a rule fire, with the values they saw. */
function firedFacts(node: unknown, out: FiredFact[], negated = false): void {
  if (!isObject(node)) return;
  if (Array.isArray(node['all'])) for (const c of node['all']) firedFacts(c, out, negated);
  else if (Array.isArray(node['any'])) {
    for (const c of node['any']) if (isObject(c) && c['result'] === !negated) firedFacts(c, out, negated);
  } else if ('not' in node) firedFacts(node['not'], out, !negated);
  else if (typeof node['fact'] === 'string' && node['result'] === !negated) {
    const op = String(node['operator']);
    out.push({
      fact: node['fact'],
      ...(typeof node['path'] === 'string' ? { path: node['path'] } : {}),
      operator: negated ? `not ${op}` : op,
      threshold: node['valueResult'] ?? node['value'],
      value: node['factResult'],
    });
  }
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function defaultMessage(rule: RuleSpec, fired: FiredFact[]): string {
  const what = fired.map(
    (f) =>
      `${f.fact}${f.path ? f.path.slice(1) : ''} = ${show(f.value)} (${f.operator} ${show(f.threshold)})`,
  );
  return `${rule.description ?? `rule ${rule.id}`}${what.length ? `: ${what.join('; ')}` : ''}`;
}

export const rulesNode = defineNode({
  type: 'risk.rules',
  version: 1,
  meta: {
    title: 'Policy rules',
    category: 'risk',
    description:
      'Evaluates a JSON rule set (json-rules-engine) over a record: credit policy, anti-fraud or eligibility rules. The most severe outcome of the rules that fire is the decision; each hit lists the facts and values that fired it.',
    zh: {
      title: '策略规则',
      description:
        '用 JSON 规则集（json-rules-engine）评估一条记录：授信政策、反欺诈、准入规则。命中规则中最严重的结果即为决策，并列出触发的事实及其取值。',
    },
    icon: 'rules',
    tags: ['policy', 'credit', 'anti-fraud'],
  },
  config: configSchema,
  inputs: {
    record: port('record', {
      title: 'Record',
      zh: { title: '记录', description: '事实数据：一份申请、一笔交易、一位客户' },
      description: 'The facts: an application, a transaction, a customer',
    }),
    lists: port('record', {
      title: 'Lists',
      zh: { title: '名单', description: '额外的命名名单（例如上游加载的黑名单），与配置中的名单合并' },
      description: 'Extra named lists (e.g. a blacklist loaded upstream), added to the configured ones',
      required: false,
    }),
  },
  outputs: {
    decision: port('decision', {
      title: 'Decision',
      zh: { title: '决策', description: '结论、原因和触发的规则：{ outcome, reasons, rules }' },
      description: '{ outcome, reasons, rules }',
    }),
    hits: port('table', {
      title: 'Hits',
      zh: { title: '命中', description: '每条触发的规则一行：规则 id、结果、消息、事实和取值' },
      description: 'One row per rule that fired: rule id, outcome, message, facts and values',
    }),
  },
  timeoutMs: 5_000,
  validate(config, helpers: ValidateHelpers) {
    for (const p of checkRules(config).problems) helpers.problem(p.message, p.path);
    for (const [name, expr] of Object.entries(config.derivedFacts))
      helpers.expression(expr, ['derivedFacts', name]);
  },
  async run(ctx, { record, lists }, config) {
    const checked = checkRules(config);
    if (checked.problems.length) {
      const p = checked.problems[0] as Checked['problems'][number];
      throw new NodeError(`invalid rule set at ${p.path.join('.')}: ${p.message}`, 'INVALID_RULES', {
        details: { problems: checked.problems },
      });
    }
    const facts: Record<string, unknown> = { ...config.lists, ...lists, ...record };
    for (const [name, expr] of Object.entries(config.derivedFacts)) {
      facts[name] = await ctx.evaluate(expr, facts);
    }
    if (config.missingFacts === 'error') {
      const missing = [...checked.facts].filter(([f]) => facts[f] === undefined);
      if (missing.length)
        throw new NodeError(
          `the record has no ${missing.map(([f, ids]) => `"${f}" (read by ${ids.join(', ')})`).join(', ')}; supply it, or set missingFacts to ignore`,
          'MISSING_FACT',
          { details: { facts: missing.map(([f]) => f) } },
        );
    }
    const { engine, release } = borrowEngine(config);
    let results;
    try {
      ({ results } = await engine.run(facts));
    } catch (err) {
      throw new NodeError(`rule evaluation failed: ${(err as Error).message}`, 'RULE_EVALUATION_FAILED', {
        cause: err,
      });
    } finally {
      release();
    }
    const byId = new Map(config.rules.map((r) => [r.id, r]));
    const severity = new Map(config.outcomes.map((o, i) => [o, i]));
    const hits = results
      .map((res) => {
        const rule = byId.get(res.name) as RuleSpec;
        const fired: FiredFact[] = [];
        firedFacts(res.conditions, fired);
        const message = rule.message
          ? renderTemplate(rule.message, facts, () => '?')
          : defaultMessage(rule, fired);
        return {
          ruleId: rule.id,
          outcome: rule.outcome,
          message,
          priority: rule.priority,
          facts: fired,
          values: Object.fromEntries(fired.map((f) => [f.fact, facts[f.fact]])),
        };
      })
      .sort(
        (a, b) =>
          (severity.get(b.outcome) as number) - (severity.get(a.outcome) as number) ||
          b.priority - a.priority ||
          a.ruleId.localeCompare(b.ruleId),
      );
    const outcome = hits[0]?.outcome ?? config.defaultOutcome;
    return {
      decision: {
        outcome,
        reasons: hits.map((h) => h.message),
        rules: hits.map((h) => h.ruleId),
      },
      hits,
    };
  },
});
