/**
 * risk.portfolio: mean-variance portfolio optimisation. From a price history (or given expected returns and
 * covariance) it finds the maximum-Sharpe, minimum-volatility, efficient-return, efficient-risk or
 * maximum-utility weights under per-asset and per-group limits, with an exact active-set QP solver
 * (./optim). Estimation and problem statements follow PyPortfolioOpt, whose published results it reproduces.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import {
  simpleReturns,
  meanHistoricalReturn,
  sampleCovariance,
  type PriceHistory,
} from './optim/estimators.js';
import {
  efficientReturn,
  efficientRisk,
  maxQuadraticUtility,
  maxSharpe,
  minVolatility,
  OptimError,
  portfolioPerformance,
  riskContributions,
  type AssetGroup,
  type MeanVarianceProblem,
  type OptimisedPortfolio,
} from './optim/mean-variance.js';
import type { Matrix } from './optim/linalg.js';

const bound = z.number().nullable();
const boundPair = z.tuple([bound, bound]).meta({
  description: '[lower, upper]; null means no limit on that side',
  zh: { description: '[下限, 上限]；null 表示该侧不设限' },
});

export const portfolioObjectives = [
  'maxSharpe',
  'minVolatility',
  'efficientReturn',
  'efficientRisk',
  'maxQuadraticUtility',
] as const;

const configSchema = z.object({
  objective: z
    .enum(portfolioObjectives)
    .default('maxSharpe')
    .meta({
      title: 'Objective',
      description:
        'maxSharpe: best return per unit of risk; minVolatility: least risk; efficientReturn: least risk for a target return; efficientRisk: most return for a target volatility; maxQuadraticUtility: return minus ½·risk aversion·variance',
      zh: {
        title: '优化目标',
        description:
          '最大夏普比率：单位风险收益最高；最小波动率：风险最低；目标收益：在目标收益下风险最低；目标波动率：在目标波动率下收益最高；最大二次效用：收益减去 ½·风险厌恶系数·方差',
        options: {
          maxSharpe: '最大夏普比率',
          minVolatility: '最小波动率',
          efficientReturn: '目标收益',
          efficientRisk: '目标波动率',
          maxQuadraticUtility: '最大二次效用',
        },
      },
    }),
  targetReturn: z
    .number()
    .optional()
    .meta({
      title: 'Target return',
      description: 'Annual expected return for efficientReturn, e.g. 0.08 for 8%',
      zh: { title: '目标收益率', description: '「目标收益」下的年化预期收益率，例如 0.08 表示 8%' },
    }),
  targetVolatility: z
    .number()
    .positive()
    .optional()
    .meta({
      title: 'Target volatility',
      description: 'Annual volatility for efficientRisk, e.g. 0.15 for 15%',
      zh: { title: '目标波动率', description: '「目标波动率」下的年化波动率，例如 0.15 表示 15%' },
    }),
  riskAversion: z
    .number()
    .positive()
    .default(1)
    .meta({
      title: 'Risk aversion',
      description: 'δ in maxQuadraticUtility (higher: more cautious)',
      group: 'Advanced',
      zh: { title: '风险厌恶系数', description: '「最大二次效用」中的 δ（越大越保守）' },
    }),
  riskFreeRate: z
    .number()
    .default(0.02)
    .meta({
      title: 'Risk-free rate',
      description: 'Annual rate used in the Sharpe ratio',
      zh: { title: '无风险利率', description: '计算夏普比率所用的年化利率' },
    }),
  frequency: z
    .number()
    .int()
    .positive()
    .default(252)
    .meta({
      title: 'Periods per year',
      description: '252 for daily prices, 52 weekly, 12 monthly',
      group: 'Advanced',
      zh: { title: '年化期数', description: '日度价格为 252，周度为 52，月度为 12' },
    }),
  weightBounds: boundPair.default([0, 1]).meta({
    title: 'Weight bounds',
    description: 'Limits for every asset: [0, 1] long-only; [-1, 1] allows shorting; [null, null] no limits',
    zh: {
      title: '权重上下限',
      description: '适用于每项资产：[0, 1] 仅做多；[-1, 1] 允许卖空；[null, null] 不设限',
    },
  }),
  assetBounds: z
    .record(z.string(), boundPair)
    .default({})
    .meta({
      title: 'Per-asset bounds',
      description: 'Overrides for named assets, e.g. { "MA": [0, 0.2] }',
      widget: 'json',
      zh: { title: '单项资产权重限制', description: '按资产名称覆盖，例如 { "MA": [0, 0.2] }' },
    }),
  groups: z
    .array(
      z.object({
        name: z
          .string()
          .min(1)
          .meta({
            title: 'Name',
            description: 'e.g. equities',
            zh: { title: '名称', description: '例如 equities' },
          }),
        assets: z
          .array(z.string().min(1))
          .min(1)
          .meta({ title: 'Assets', zh: { title: '资产' } }),
        min: z
          .number()
          .optional()
          .meta({
            title: 'Minimum share',
            description: 'e.g. 0.1 for at least 10%',
            zh: { title: '最低占比', description: '例如 0.1 表示不低于 10%' },
          }),
        max: z
          .number()
          .optional()
          .meta({
            title: 'Maximum share',
            description: 'e.g. 0.4 for at most 40%',
            zh: { title: '最高占比', description: '例如 0.4 表示不超过 40%' },
          }),
      }),
    )
    .default([])
    .meta({
      title: 'Group limits',
      description:
        'Limits on the total weight of a group of assets (an asset class, a sector), e.g. equities at most 40%',
      widget: 'json',
      zh: {
        title: '资产组权重限制',
        description: '对一组资产（某一资产类别或行业）总权重的限制，例如权益类不超过 40%',
      },
    }),
  dateColumn: z
    .string()
    .min(1)
    .default('date')
    .meta({
      title: 'Date column',
      description: 'Column of the prices table holding the date',
      group: 'Prices',
      zh: { title: '日期列', description: '价格表中存放日期的列' },
    }),
  assets: z
    .array(z.string().min(1))
    .optional()
    .meta({
      title: 'Assets',
      description: 'Price columns to use (default: every column but the date)',
      group: 'Prices',
      zh: { title: '资产', description: '使用的价格列（默认：除日期列外的所有列）' },
    }),
  minObservations: z
    .number()
    .int()
    .min(2)
    .default(20)
    .meta({
      title: 'Minimum history',
      description: 'Returns each asset (and each pair of assets) needs at least',
      group: 'Prices',
      zh: { title: '最少历史期数', description: '每项资产（及每对资产）至少需要的收益率观测数' },
    }),
});

type PortfolioConfig = z.output<typeof configSchema>;

const missingMarkers = new Set(['', 'na', 'n/a', 'nan', 'null', '#n/a', 'none']);

/** A price cell as a number, NaN for "no price", or undefined when it is not a number at all. */
function priceCell(v: unknown): number | undefined {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.isNaN(v) ? NaN : undefined;
  if (typeof v === 'string') {
    if (v === '') return NaN;
    const fast = Number(v); // the common case: a plain number, surrounding spaces allowed
    if (Number.isFinite(fast) && (fast !== 0 || v.trim() !== '')) return fast;
    const s = v.trim();
    if (missingMarkers.has(s.toLowerCase())) return NaN;
    const x = Number(s.replace(/,/g, ''));
    return Number.isFinite(x) ? x : undefined;
  }
  return undefined;
}

function dateKey(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

/** Parses the prices table into a time-ordered history, with errors that name the cell at fault. */
export function readPrices(
  rows: readonly Record<string, unknown>[],
  dateColumn: string,
  only: readonly string[] | undefined,
): PriceHistory {
  if (rows.length === 0) throw new NodeError('the prices table is empty', 'EMPTY_TABLE');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows)
    for (const key of Object.keys(row))
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
  if (!seen.has(dateColumn))
    throw new NodeError(
      `the prices table has no "${dateColumn}" column (columns: ${columns.slice(0, 12).join(', ')}); set dateColumn`,
      'MISSING_DATE_COLUMN',
    );
  const assets = only ? [...only] : columns.filter((c) => c !== dateColumn);
  for (const a of assets)
    if (!seen.has(a)) throw new NodeError(`the prices table has no column "${a}"`, 'UNKNOWN_ASSET');
  if (assets.length === 0)
    throw new NodeError('the prices table has no asset columns besides the date', 'EMPTY_TABLE');

  let order = rows.map((_, i) => i);
  const keys = rows.map((r) => dateKey(r[dateColumn]));
  if (keys.every((k) => !Number.isNaN(k)))
    order = order.sort((a, b) => (keys[a] as number) - (keys[b] as number));

  const prices: Float64Array[] = [];
  for (const i of order) {
    const row = rows[i] as Record<string, unknown>;
    const out = new Float64Array(assets.length);
    assets.forEach((a, j) => {
      const v = priceCell(row[a]);
      if (v === undefined)
        throw new NodeError(
          `column "${a}" is not numeric: row ${i + 1} (${String(row[dateColumn])}) holds ${JSON.stringify(row[a])}`,
          'NON_NUMERIC_PRICE',
          { details: { column: a, row: i } },
        );
      if (v <= 0)
        throw new NodeError(
          `column "${a}" has a price of ${v} on row ${i + 1} (${String(row[dateColumn])}); prices must be positive`,
          'NON_POSITIVE_PRICE',
          { details: { column: a, row: i } },
        );
      out[j] = v;
    });
    prices.push(out);
  }
  return { assets, prices };
}

function readRecordOfNumbers(
  value: Record<string, unknown>,
  what: string,
  assets: readonly string[],
): Float64Array {
  return Float64Array.from(assets, (a) => {
    const v = value[a];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new NodeError(
        `${what} has no finite number for "${a}" (got ${JSON.stringify(v)})`,
        'INVALID_INPUT',
      );
    return v;
  });
}

function readCovariance(value: Record<string, unknown>, assets: readonly string[]): Matrix {
  return assets.map((a) => {
    const row = value[a];
    if (!row || typeof row !== 'object' || Array.isArray(row))
      throw new NodeError(
        `covariance has no row for "${a}": give it as { "${a}": { "${assets[0] ?? a}": 0.04, ... }, ... }`,
        'INVALID_COVARIANCE',
      );
    return Float64Array.from(assets, (b) => {
      const v = (row as Record<string, unknown>)[b];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new NodeError(
          `covariance of "${a}" and "${b}" is missing or not a finite number`,
          'INVALID_COVARIANCE',
        );
      return v;
    });
  });
}

interface Estimate {
  assets: string[];
  mu: Float64Array;
  cov: Matrix;
  observations: Record<string, number> | undefined;
}

function estimate(
  inputs: {
    prices?: Record<string, unknown>[] | undefined;
    expectedReturns?: Record<string, unknown> | undefined;
    covariance?: Record<string, unknown> | undefined;
  },
  config: PortfolioConfig,
): Estimate {
  const { prices, expectedReturns, covariance } = inputs;
  if (!prices) {
    if (!expectedReturns || !covariance)
      throw new NodeError(
        'give either a prices table, or both expectedReturns and covariance',
        'MISSING_INPUT',
      );
    const assets = config.assets ?? Object.keys(expectedReturns);
    if (assets.length === 0) throw new NodeError('expectedReturns is empty', 'EMPTY_TABLE');
    return {
      assets,
      mu: readRecordOfNumbers(expectedReturns, 'expectedReturns', assets),
      cov: readCovariance(covariance, assets),
      observations: undefined,
    };
  }
  const history = readPrices(prices, config.dateColumn, config.assets);
  const series = simpleReturns(history);
  const { assets, counts } = series;
  const min = config.minObservations;
  const short = assets.map((a, i) => [a, counts[i] as number] as const).filter(([, c]) => c < min);
  if (series.returns.length === 0 || short.length)
    throw new NodeError(
      short.length
        ? `too little history: ${short.map(([a, c]) => `${a} has ${c} return${c === 1 ? '' : 's'}`).join(', ')}; at least ${min} are needed (minObservations)`
        : `too little history: the prices table has ${prices.length} row(s), so there are no returns`,
      'INSUFFICIENT_HISTORY',
    );
  const mu = expectedReturns
    ? readRecordOfNumbers(expectedReturns, 'expectedReturns', assets)
    : meanHistoricalReturn(series, config.frequency);
  let cov: Matrix;
  if (covariance) cov = readCovariance(covariance, assets);
  else {
    const est = sampleCovariance(series, config.frequency);
    for (let i = 0; i < assets.length; i++)
      for (let j = i + 1; j < assets.length; j++) {
        const n = (est.overlap[i] as number[])[j] as number;
        if (n < min)
          throw new NodeError(
            `too little common history: ${assets[i]} and ${assets[j]} have ${n} return${n === 1 ? '' : 's'} on the same dates; at least ${min} are needed to estimate their covariance`,
            'INSUFFICIENT_HISTORY',
          );
      }
    cov = est.covariance;
  }
  return {
    assets,
    mu,
    cov,
    observations: Object.fromEntries(assets.map((a, i) => [a, counts[i] as number])),
  };
}

function buildProblem(e: Estimate, config: PortfolioConfig): MeanVarianceProblem {
  const index = new Map(e.assets.map((a, i) => [a, i]));
  const toLower = (v: number | null) => (v === null ? -Infinity : v);
  const toUpper = (v: number | null) => (v === null ? Infinity : v);
  const [lo, hi] = config.weightBounds;
  const lower = new Float64Array(e.assets.length).fill(toLower(lo));
  const upper = new Float64Array(e.assets.length).fill(toUpper(hi));
  for (const [asset, [l, h]] of Object.entries(config.assetBounds)) {
    const i = index.get(asset);
    if (i === undefined)
      throw new NodeError(
        `assetBounds names "${asset}", which is not among the assets (${e.assets.join(', ')})`,
        'UNKNOWN_ASSET',
      );
    lower[i] = toLower(l);
    upper[i] = toUpper(h);
  }
  const groups: AssetGroup[] = config.groups.map((g) => ({
    name: g.name,
    members: g.assets.map((a) => {
      const i = index.get(a);
      if (i === undefined)
        throw new NodeError(
          `group ${g.name} names "${a}", which is not among the assets (${e.assets.join(', ')})`,
          'UNKNOWN_ASSET',
        );
      return i;
    }),
    ...(g.min === undefined ? {} : { min: g.min }),
    ...(g.max === undefined ? {} : { max: g.max }),
  }));
  return { assets: e.assets, expectedReturns: e.mu, covariance: e.cov, lower, upper, groups };
}

function optimise(problem: MeanVarianceProblem, config: PortfolioConfig): OptimisedPortfolio {
  switch (config.objective) {
    case 'maxSharpe':
      return maxSharpe(problem, config.riskFreeRate);
    case 'minVolatility':
      return minVolatility(problem);
    case 'maxQuadraticUtility':
      return maxQuadraticUtility(problem, config.riskAversion);
    case 'efficientReturn':
      if (config.targetReturn === undefined)
        throw new NodeError('efficientReturn needs targetReturn', 'INVALID_CONFIG');
      return efficientReturn(problem, config.targetReturn);
    case 'efficientRisk':
      if (config.targetVolatility === undefined)
        throw new NodeError('efficientRisk needs targetVolatility', 'INVALID_CONFIG');
      return efficientRisk(problem, config.targetVolatility);
  }
}

export const portfolioNode = defineNode({
  type: 'risk.portfolio',
  version: 1,
  meta: {
    title: 'Portfolio optimiser',
    category: 'risk',
    description:
      'Mean-variance (Markowitz) optimisation from a price history or given expected returns and covariance: maximum Sharpe, minimum volatility, a target return or volatility, with per-asset and asset-class limits. Exact QP solver; reproduces PyPortfolioOpt.',
    zh: {
      title: '组合优化',
      description:
        '均值-方差（马科维茨）组合优化：最大夏普、最小波动、目标收益或目标波动，支持单资产与资产类别权重限制。',
    },
    icon: 'pie-chart',
    tags: ['markowitz', 'robo-advisory', 'asset allocation'],
  },
  config: configSchema,
  inputs: {
    prices: port('table', {
      title: 'Prices',
      zh: { title: '价格', description: '一列日期，每个资产一列；空单元格表示尚未上市' },
      description: 'A date column plus one column per asset; empty cells mean not yet listed',
      required: false,
    }),
    expectedReturns: port('record', {
      title: 'Expected returns',
      zh: { title: '预期收益', description: '各资产的年化预期收益；与价格同时提供时替代历史估计' },
      description: 'Annual expected return per asset; with prices it replaces the historical estimate',
      required: false,
    }),
    covariance: port('record', {
      title: 'Covariance',
      zh: {
        title: '协方差',
        description: '年化协方差，格式为 { 资产: { 资产: 值 } }；与价格同时提供时替代样本估计',
      },
      description:
        'Annual covariance as { asset: { asset: value } }; with prices it replaces the sample estimate',
      required: false,
    }),
  },
  outputs: {
    weights: port('record', {
      title: 'Weights',
      zh: { title: '权重', description: '资产 → 权重（合计为 1）' },
      description: 'Asset → weight (sums to 1)',
    }),
    performance: port('record', {
      title: 'Performance',
      zh: {
        title: '业绩表现',
        description: '{ expectedReturn, volatility, sharpe }（年化）以及起作用的约束',
      },
      description: '{ expectedReturn, volatility, sharpe } (annual) and the constraints that bind',
    }),
    allocation: port('table', {
      title: 'Allocation',
      zh: { title: '资产配置', description: '每个资产一行：权重、预期收益、波动率、风险贡献占比' },
      description: 'One row per asset: weight, expected return, volatility, share of portfolio risk',
    }),
    expectedReturns: port('record', { title: 'Expected returns used', zh: { title: '所用预期收益' } }),
    covariance: port('record', { title: 'Covariance used', zh: { title: '所用协方差' } }),
  },
  timeoutMs: 30_000,
  validate(config, helpers) {
    if (config.objective === 'efficientReturn' && config.targetReturn === undefined)
      helpers.problem('efficientReturn needs a target return', ['targetReturn']);
    if (config.objective === 'efficientRisk' && config.targetVolatility === undefined)
      helpers.problem('efficientRisk needs a target volatility', ['targetVolatility']);
    const checkPair = (pair: readonly [number | null, number | null], path: (string | number)[]) => {
      const [lo, hi] = pair;
      if (lo !== null && hi !== null && lo > hi)
        helpers.problem(`lower bound ${lo} is above upper bound ${hi}`, path);
    };
    checkPair(config.weightBounds, ['weightBounds']);
    for (const [asset, pair] of Object.entries(config.assetBounds)) checkPair(pair, ['assetBounds', asset]);
    const names = new Set<string>();
    config.groups.forEach((g, i) => {
      if (g.min === undefined && g.max === undefined)
        helpers.problem(`group ${g.name} sets neither min nor max`, ['groups', i]);
      if (g.min !== undefined && g.max !== undefined && g.min > g.max)
        helpers.problem(`group ${g.name}: min ${g.min} is above max ${g.max}`, ['groups', i, 'min']);
      if (names.has(g.name)) helpers.problem(`two groups are named ${g.name}`, ['groups', i, 'name']);
      names.add(g.name);
    });
  },
  run(ctx, inputs, config) {
    const e = estimate(inputs, config);
    const problem = buildProblem(e, config);
    let result: OptimisedPortfolio;
    try {
      result = optimise(problem, config);
    } catch (err) {
      if (err instanceof OptimError) throw new NodeError(err.message, err.code, { details: err.details });
      throw err;
    }
    if (result.note) ctx.log.info(result.note);
    const w = result.weights;
    const perf = portfolioPerformance(problem, w, config.riskFreeRate);
    const contributions = riskContributions(problem, w);
    const weights = Object.fromEntries(e.assets.map((a, i) => [a, w[i] as number]));
    return {
      weights,
      performance: {
        ...perf,
        riskFreeRate: config.riskFreeRate,
        objective: config.objective,
        bindingConstraints: result.binding,
        solverIterations: result.iterations,
        ...(result.note ? { note: result.note } : {}),
        ...(e.observations ? { observations: e.observations } : {}),
      },
      allocation: e.assets.map((asset, i) => ({
        asset,
        weight: w[i] as number,
        expectedReturn: e.mu[i] as number,
        volatility: Math.sqrt((e.cov[i] as Float64Array)[i] as number),
        riskContribution: contributions[i] as number,
      })),
      expectedReturns: Object.fromEntries(e.assets.map((a, i) => [a, e.mu[i] as number])),
      covariance: Object.fromEntries(
        e.assets.map((a, i) => [
          a,
          Object.fromEntries(e.assets.map((b, j) => [b, (e.cov[i] as Float64Array)[j] as number])),
        ]),
      ),
    };
  },
});
