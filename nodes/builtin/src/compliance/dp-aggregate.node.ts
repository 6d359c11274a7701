/**
 * compliance.dpAggregate: differentially private count, sum and mean over a table with the Laplace mechanism.
 * Each row is one person (add/remove-one neighbouring tables); values are clamped to declared bounds so that
 * one row changes a sum by at most max(|lower|, |upper|); a mean spends half its epsilon on a noisy sum of
 * centred values (sensitivity (upper - lower) / 2) and half on a noisy count. Budgets add up across the
 * aggregates of a run (sequential composition) and not across groups, which are disjoint (parallel
 * composition); group keys must be declared, so the output never reveals which keys occur in the data.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { laplace, secureUniform, seededUniform, type Uniform } from './lib/laplace.js';

const aggregateSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z_][\w-]*$/, 'a name like avg_age')
      .optional()
      .meta({
        title: 'Name',
        description: 'Name of the result (default: op_column)',
        zh: { title: '名称', description: '结果名称（默认：op_column）' },
      }),
    op: z.enum(['count', 'sum', 'mean']).meta({
      title: 'Aggregate',
      zh: { title: '聚合方式', options: { count: '计数', sum: '求和', mean: '均值' } },
    }),
    column: z
      .string()
      .min(1)
      .optional()
      .meta({
        title: 'Column',
        description: 'Numeric column (sum and mean); for count, rows where it is present',
        zh: { title: '列', description: '数值列（求和、均值）；计数时统计该列有值的行' },
      }),
    lower: z
      .number()
      .finite()
      .optional()
      .meta({
        title: 'Lower bound',
        description: 'Values below are clamped up to it (sum and mean)',
        zh: { title: '下界', description: '低于下界的值截断为下界（求和、均值）' },
      }),
    upper: z
      .number()
      .finite()
      .optional()
      .meta({
        title: 'Upper bound',
        description: 'Values above are clamped down to it (sum and mean)',
        zh: { title: '上界', description: '高于上界的值截断为上界（求和、均值）' },
      }),
    epsilon: z
      .number()
      .positive()
      .max(10)
      .meta({
        title: 'Epsilon',
        description: 'Privacy budget of this aggregate: smaller is more private and noisier (0.1-1 is usual)',
        zh: {
          title: '隐私预算 ε',
          description: '该聚合项消耗的隐私预算：越小隐私保护越强、噪声越大（通常取 0.1-1）',
        },
      }),
  })
  .strict();

type Aggregate = z.output<typeof aggregateSchema>;

function numeric(value: unknown): number | undefined | 'invalid' {
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : 'invalid';
  if (typeof value === 'string' && /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(value))
    return Number(value);
  return 'invalid';
}

interface Outcome {
  value: number;
  epsilon: number;
  sensitivity: number;
  /** The Laplace scale b = sensitivity / epsilon of the (sum) noise. */
  noiseScale: number;
  countNoiseScale?: number;
  lower?: number;
  upper?: number;
}

/** The noisy aggregate of one group's rows. */
function aggregate(rows: readonly Record<string, unknown>[], agg: Aggregate, uniform: Uniform): Outcome {
  const { epsilon } = agg;
  if (agg.op === 'count') {
    const n =
      agg.column === undefined
        ? rows.length
        : rows.filter((r) => numericOrPresent(r[agg.column as string])).length;
    const scale = 1 / epsilon;
    return { value: n + laplace(uniform, scale), epsilon, sensitivity: 1, noiseScale: scale };
  }
  const lower = agg.lower as number;
  const upper = agg.upper as number;
  const values: number[] = [];
  for (const row of rows) {
    const v = numeric(row[agg.column as string]);
    if (v === 'invalid') {
      throw new NodeError(`column "${agg.column}" has a value that is not a number`, 'COLUMN_NOT_NUMERIC');
    }
    if (v !== undefined) values.push(Math.min(upper, Math.max(lower, v)));
  }
  if (agg.op === 'sum') {
    const sensitivity = Math.max(Math.abs(lower), Math.abs(upper));
    const scale = sensitivity / epsilon;
    const sum = values.reduce((s, v) => s + v, 0);
    return { value: sum + laplace(uniform, scale), epsilon, sensitivity, noiseScale: scale, lower, upper };
  }
  // Mean: noisy sum of centred values over a noisy count, each with half the budget.
  const mid = (lower + upper) / 2;
  const half = epsilon / 2;
  const sumSensitivity = (upper - lower) / 2;
  const noisySum = values.reduce((s, v) => s + (v - mid), 0) + laplace(uniform, sumSensitivity / half);
  const noisyCount = values.length + laplace(uniform, 1 / half);
  const mean = mid + noisySum / Math.max(noisyCount, 1);
  return {
    value: Math.min(upper, Math.max(lower, mean)),
    epsilon,
    sensitivity: sumSensitivity,
    noiseScale: sumSensitivity / half,
    countNoiseScale: 1 / half,
    lower,
    upper,
  };
}

function numericOrPresent(v: unknown): boolean {
  return v !== null && v !== undefined && v !== '';
}

export const dpAggregateNode = defineNode({
  type: 'compliance.dpAggregate',
  version: 1,
  meta: {
    title: 'Private aggregate (DP)',
    category: 'compliance',
    description:
      'Differentially private count, sum and mean over a table (Laplace mechanism). Values are clamped to the bounds you declare; each aggregate spends its epsilon, and the run reports the total privacy budget spent. Optional grouping over declared group keys.',
    zh: {
      title: '差分隐私统计',
      description:
        '用拉普拉斯机制对表格做差分隐私的计数、求和与均值；按声明的上下界截断取值，并报告消耗的隐私预算 ε。',
    },
    icon: 'shield-half',
    tags: ['privacy', 'differential privacy', 'statistics'],
  },
  config: z
    .object({
      aggregates: z
        .array(aggregateSchema)
        .min(1)
        .max(50)
        .meta({ title: 'Aggregates', widget: 'json', zh: { title: '聚合项' } }),
      groupBy: z
        .string()
        .min(1)
        .optional()
        .meta({
          title: 'Group by',
          description: 'Column whose values split the rows into groups',
          zh: { title: '分组列', description: '按其取值将行分组的列' },
        }),
      groups: z
        .array(z.union([z.string(), z.number()]))
        .max(10_000)
        .optional()
        .meta({
          title: 'Group keys',
          description:
            'The groups to report (required with Group by). Rows with other keys are left out; keys must be public knowledge, not read from the data',
          zh: {
            title: '分组取值',
            description:
              '要报告的分组（设置「分组列」时必填）。其他取值的行不计入；分组取值必须是公开信息，不能从数据中读取',
          },
        }),
      maxEpsilon: z
        .number()
        .positive()
        .optional()
        .meta({
          title: 'Budget limit',
          description: 'Refuse to run if the aggregates would spend more than this epsilon in total',
          zh: { title: '隐私预算上限', description: '若各聚合项合计消耗的 ε 超过该值，则拒绝运行' },
        }),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1)
        .optional()
        .meta({
          title: 'Seed',
          description:
            'For tests and demos only: makes the noise reproducible, and therefore removable by whoever knows the seed',
          group: 'Advanced',
          zh: {
            title: '随机种子',
            description: '仅用于测试和演示：使噪声可复现，因而知道种子的人可以将其去除',
          },
        }),
    })
    .strict(),
  inputs: {
    table: port('table', {
      title: 'Table',
      zh: { title: '表格', description: '每人一行' },
      description: 'One row per person',
    }),
  },
  outputs: {
    results: port('table', {
      title: 'Results',
      zh: {
        title: '结果列表',
        description: '每组一行：group、name、op、value、epsilon、sensitivity、noiseScale',
      },
      description: 'group, name, op, value, epsilon, sensitivity, noiseScale',
    }),
    budget: port('record', {
      title: 'Privacy budget',
      zh: { title: '隐私预算', description: '已用隐私预算：epsilonSpent、delta、mechanism、composition' },
      description: 'epsilonSpent, delta, mechanism, composition',
    }),
  },
  timeoutMs: 30_000,
  validate(config, helpers) {
    config.aggregates.forEach((a, i) => {
      if (a.op !== 'count' && a.column === undefined)
        helpers.problem(`${a.op} needs a column`, ['aggregates', i, 'column']);
      if (a.op !== 'count' && (a.lower === undefined || a.upper === undefined)) {
        helpers.problem(`${a.op} needs lower and upper bounds (they set the sensitivity)`, ['aggregates', i]);
      }
      if (a.lower !== undefined && a.upper !== undefined && !(a.lower < a.upper)) {
        helpers.problem('the lower bound must be below the upper bound', ['aggregates', i, 'lower']);
      }
    });
    if (config.groupBy !== undefined && !config.groups?.length) {
      helpers.problem('grouping needs the list of group keys', ['groups']);
    }
    const total = config.aggregates.reduce((s, a) => s + a.epsilon, 0);
    if (config.maxEpsilon !== undefined && total > config.maxEpsilon + 1e-12) {
      helpers.problem(`the aggregates spend ε = ${total}, above the limit ${config.maxEpsilon}`, [
        'maxEpsilon',
      ]);
    }
  },
  run(_ctx, { table }, config) {
    const names = new Set<string>();
    for (const a of config.aggregates) {
      if (a.op !== 'count' && (a.column === undefined || a.lower === undefined || a.upper === undefined)) {
        throw new NodeError(`${a.op} needs a column and lower/upper bounds`, 'INVALID_CONFIG');
      }
      if (a.lower !== undefined && a.upper !== undefined && !(a.lower < a.upper)) {
        throw new NodeError('the lower bound must be below the upper bound', 'INVALID_CONFIG');
      }
      const name = a.name ?? `${a.op}_${a.column ?? 'rows'}`;
      if (names.has(name)) throw new NodeError(`two aggregates are named ${name}`, 'INVALID_CONFIG');
      names.add(name);
    }
    const epsilonSpent = config.aggregates.reduce((s, a) => s + a.epsilon, 0);
    if (config.maxEpsilon !== undefined && epsilonSpent > config.maxEpsilon + 1e-12) {
      throw new NodeError(
        `the aggregates would spend ε = ${epsilonSpent}, above the limit ${config.maxEpsilon}`,
        'BUDGET_EXCEEDED',
      );
    }
    const columns = new Set(table.flatMap((r) => Object.keys(r)));
    for (const c of [...config.aggregates.map((a) => a.column), config.groupBy]) {
      if (c !== undefined && table.length > 0 && !columns.has(c)) {
        throw new NodeError(`the table has no column "${c}"`, 'UNKNOWN_COLUMN');
      }
    }
    if (config.groupBy !== undefined && !config.groups?.length) {
      throw new NodeError('grouping needs the list of group keys', 'INVALID_CONFIG');
    }

    const uniform = config.seed === undefined ? secureUniform() : seededUniform(config.seed);
    const groups: { key: string | number | undefined; rows: Record<string, unknown>[] }[] = [];
    if (config.groupBy === undefined) groups.push({ key: undefined, rows: table });
    else {
      const by = new Map<string, Record<string, unknown>[]>();
      for (const g of config.groups ?? []) by.set(String(g), []);
      for (const row of table) by.get(String(row[config.groupBy]))?.push(row);
      for (const g of config.groups ?? []) groups.push({ key: g, rows: by.get(String(g)) ?? [] });
    }
    const results: Record<string, unknown>[] = [];
    for (const { key, rows } of groups) {
      for (const a of config.aggregates) {
        results.push({
          ...(key === undefined ? {} : { group: key }),
          name: a.name ?? `${a.op}_${a.column ?? 'rows'}`,
          op: a.op,
          ...(a.column === undefined ? {} : { column: a.column }),
          ...aggregate(rows, a, uniform),
        });
      }
    }
    return {
      results,
      budget: {
        epsilonSpent,
        delta: 0,
        mechanism: 'laplace',
        composition:
          config.groupBy === undefined
            ? 'sequential'
            : 'sequential over aggregates, parallel over disjoint groups',
        perAggregate: config.aggregates.map((a) => ({
          name: a.name ?? `${a.op}_${a.column ?? 'rows'}`,
          epsilon: a.epsilon,
        })),
        seeded: config.seed !== undefined,
      },
    };
  },
});
