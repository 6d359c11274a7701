/**
 * risk.suitability: matches products (risk levels R1-R5) to a customer's risk level (C1-C5), as investor-
 * suitability rules require: a product suits a customer only if its level does not exceed the customer's
 * (Rn suits Cm iff n ≤ m). When the product rows carry a term or a redemption time and the customer profile a
 * horizon or a liquidity need, those are checked too. Every excluded product gets its reasons, which the
 * adviser can show the customer and keep for the record.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

const configSchema = z.object({
  levelColumn: z
    .string()
    .min(1)
    .default('riskLevel')
    .meta({
      title: 'Risk level column',
      description: 'R1 … R5 (or 1 … 5)',
      zh: { title: '风险等级列', description: 'R1 … R5（或 1 … 5）' },
    }),
  nameColumn: z
    .string()
    .min(1)
    .default('name')
    .meta({
      title: 'Product name column',
      description: 'Used in the reasons',
      zh: { title: '产品名称列', description: '用于原因说明' },
    }),
  horizonColumn: z
    .string()
    .min(1)
    .default('termMonths')
    .meta({
      title: 'Term column',
      description: 'Product term or recommended holding period in months',
      group: 'Checks',
      zh: { title: '期限列', description: '产品期限或建议持有期（月）' },
    }),
  liquidityColumn: z
    .string()
    .min(1)
    .default('redemptionDays')
    .meta({
      title: 'Redemption column',
      description: 'Days until the money can be taken out (lock-up, settlement)',
      group: 'Checks',
      zh: { title: '赎回天数列', description: '资金可取出前的天数（封闭期、结算期）' },
    }),
  checkHorizon: z
    .boolean()
    .default(true)
    .meta({
      title: 'Check investment horizon',
      description: 'When a product has a term and the customer a horizonMonths',
      group: 'Checks',
      zh: { title: '校验投资期限', description: '当产品有期限且客户有 horizonMonths 时校验' },
    }),
  checkLiquidity: z
    .boolean()
    .default(true)
    .meta({
      title: 'Check liquidity',
      description: 'When a product has a redemption time and the customer a liquidityDays',
      group: 'Checks',
      zh: { title: '校验流动性', description: '当产品有赎回时间且客户有 liquidityDays 时校验' },
    }),
  levels: z
    .number()
    .int()
    .min(2)
    .max(10)
    .default(5)
    .meta({ title: 'Number of levels', group: 'Advanced', zh: { title: '风险等级数' } }),
  language: z
    .enum(['en', 'zh'])
    .default('en')
    .meta({
      title: 'Language of reasons',
      zh: { title: '原因说明语言', options: { en: '英文', zh: '中文' } },
    }),
});

/** A level written as R3, C3, r3, 3, "R3（中风险）" → 3; undefined when unreadable or out of range. */
export function levelNumber(v: unknown, levels: number): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*[A-Za-z]?\s*(\d+)/.exec(v);
    if (m) n = Number(m[1]);
  }
  return n !== undefined && Number.isInteger(n) && n >= 1 && n <= levels ? n : undefined;
}

const finite = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

/** A customer fact from the profile record itself or its `attributes` (as risk.profile outputs them). */
function customerFact(customer: Record<string, unknown>, key: string): number | undefined {
  const attrs = customer['attributes'];
  return (
    finite(customer[key]) ??
    (attrs && typeof attrs === 'object' ? finite((attrs as Record<string, unknown>)[key]) : undefined)
  );
}

export const suitabilityNode = defineNode({
  type: 'risk.suitability',
  version: 1,
  meta: {
    title: 'Product suitability',
    category: 'risk',
    description:
      'Keeps the products whose risk level (R1-R5) does not exceed the customer’s level (C1-C5), and optionally whose term and redemption time fit the customer’s horizon and liquidity need; every excluded product gets its reasons.',
    zh: {
      title: '产品适当性匹配',
      description:
        '按“产品风险等级不高于投资者风险承受能力等级”筛选产品（R1-R5 对 C1-C5），可选检查投资期限与流动性，并为每个被排除的产品给出理由。',
    },
    icon: 'filter',
    tags: ['suitability', '适当性'],
  },
  config: configSchema,
  inputs: {
    customer: port('record', {
      title: 'Customer profile',
      zh: {
        title: '客户画像',
        description:
          'risk.profile 的 profile，或任何含 level（例如 C3）的记录，可另含 horizonMonths、liquidityDays',
      },
      description:
        'risk.profile’s profile, or any record with level (e.g. C3) and optionally horizonMonths, liquidityDays',
    }),
    products: port('table', {
      title: 'Products',
      zh: { title: '产品', description: '每个产品一行，含其风险等级' },
      description: 'One row per product with its risk level',
    }),
  },
  outputs: {
    suitable: port('table', { title: 'Suitable products', zh: { title: '适合的产品' } }),
    excluded: port('table', {
      title: 'Excluded products',
      zh: { title: '排除的产品', description: '每行带 `reasons`（列表）和 `reason`（一句话）' },
      description: 'Each row with `reasons` (a list) and `reason` (one line)',
    }),
  },
  timeoutMs: 5_000,
  run(_ctx, { customer, products }, config) {
    const zh = config.language === 'zh';
    const rank =
      levelNumber(customer['rank'], config.levels) ?? levelNumber(customer['level'], config.levels);
    if (rank === undefined)
      throw new NodeError(
        `the customer has no readable risk level (got ${JSON.stringify(customer['level'] ?? customer['rank'])}); expected C1 … C${config.levels}`,
        'INVALID_CUSTOMER_LEVEL',
      );
    const customerLevel = typeof customer['level'] === 'string' ? customer['level'] : `C${rank}`;
    const label = typeof customer['label'] === 'string' ? customer['label'] : undefined;
    const who = label ? (zh ? `${customerLevel}（${label}）` : `${customerLevel} (${label})`) : customerLevel;
    const horizon = config.checkHorizon ? customerFact(customer, 'horizonMonths') : undefined;
    const liquidity = config.checkLiquidity ? customerFact(customer, 'liquidityDays') : undefined;

    const suitable: Record<string, unknown>[] = [];
    const excluded: Record<string, unknown>[] = [];
    products.forEach((row, i) => {
      const name = row[config.nameColumn] ?? row['id'] ?? `#${i + 1}`;
      const reasons: string[] = [];
      const raw = row[config.levelColumn];
      const level = levelNumber(raw, config.levels);
      if (level === undefined)
        reasons.push(
          zh
            ? `风险等级${raw === undefined || raw === '' ? '缺失' : `“${String(raw)}”无法识别`}，未评级产品不予推荐`
            : `risk level ${raw === undefined || raw === '' ? 'is missing' : `“${String(raw)}” is not R1 … R${config.levels}`}; an unrated product cannot be matched`,
        );
      else if (level > rank)
        reasons.push(
          zh
            ? `产品风险等级 R${level} 高于您的风险承受能力等级 ${who}，适合您的产品为 R${rank} 及以下`
            : `risk level R${level} is above your risk level ${who}; products up to R${rank} suit you`,
        );
      const term = finite(row[config.horizonColumn]);
      if (horizon !== undefined && term !== undefined && term > horizon)
        reasons.push(
          zh
            ? `产品期限 ${term} 个月长于您的投资期限 ${horizon} 个月`
            : `its term of ${term} months is longer than your investment horizon of ${horizon} months`,
        );
      const redemption = finite(row[config.liquidityColumn]);
      if (liquidity !== undefined && redemption !== undefined && redemption > liquidity)
        reasons.push(
          zh
            ? `资金 ${redemption} 天后方可取回，超过您可等待的 ${liquidity} 天`
            : `money can only be taken out after ${redemption} days, but you may need it within ${liquidity} days`,
        );
      if (reasons.length === 0) suitable.push(row);
      else excluded.push({ ...row, reasons, reason: `${String(name)}: ${reasons.join(zh ? '；' : '; ')}` });
    });
    return { suitable, excluded };
  },
});
