import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { createRegistry, validateNodeSpec } from '@finflow/runtime';
import { portfolioNode } from './portfolio.node.js';

const dir = fileURLToPath(new URL('../../../../datasets/pypfopt-stock-prices/', import.meta.url));

function readCsv(path: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const cols = (head as string).split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i] as string, v])));
}

const prices = readCsv(`${dir}stock_prices.csv`);
interface RefCase {
  asserted_perf?: number[];
  'asserted_perf_with_rf0.02'?: number[];
  weights_derived_here: Record<string, number>;
}
const ref = JSON.parse(readFileSync(`${dir}pypfopt_reference_results.json`, 'utf8')) as {
  mean_historical_return: Record<string, number>;
  results: Record<string, RefCase>;
};

interface Out {
  weights: Record<string, number>;
  performance: { expectedReturn: number; volatility: number; sharpe: number; bindingConstraints: string[] };
  expectedReturns: Record<string, number>;
  covariance: Record<string, Record<string, number>>;
  allocation: { asset: string; weight: number; riskContribution: number }[];
}
const optimise = async (config: Record<string, unknown>, inputs: Record<string, unknown> = { prices }) =>
  (await runNodeOk(portfolioNode, { config, inputs })) as unknown as Out;

const maxAbs = (a: Record<string, number>, b: Record<string, number>) =>
  Math.max(...Object.keys(b).map((k) => Math.abs((a[k] ?? NaN) - (b[k] as number))));

describe('risk.portfolio reproduces PyPortfolioOpt on its 20-stock test prices', () => {
  it('estimates compounded expected returns per asset over its own history', async () => {
    const out = await optimise({ objective: 'minVolatility' });
    expect(maxAbs(out.expectedReturns, ref.mean_historical_return)).toBeLessThan(1e-9);
  });

  const cases: [string, Record<string, unknown>][] = [
    ['min_volatility', { objective: 'minVolatility' }],
    ['max_sharpe_rf0.02', { objective: 'maxSharpe', riskFreeRate: 0.02 }],
    ['efficient_risk_0.19', { objective: 'efficientRisk', targetVolatility: 0.19 }],
    ['efficient_return_0.25', { objective: 'efficientReturn', targetReturn: 0.25 }],
    ['max_quadratic_utility_ra2', { objective: 'maxQuadraticUtility', riskAversion: 2 }],
    ['min_volatility_short', { objective: 'minVolatility', weightBounds: [null, null] }],
    ['max_sharpe_short_rf0.02', { objective: 'maxSharpe', weightBounds: [null, null] }],
  ];
  for (const [name, config] of cases) {
    it(`${name}: weights and performance within 1e-4`, async () => {
      const c = ref.results[name] as RefCase;
      const out = await optimise(config);
      const p = out.performance;
      const perf = [p.expectedReturn, p.volatility, p.sharpe];
      const dPerf = Math.max(...perf.map((v, i) => Math.abs(v - (c.asserted_perf?.[i] as number))));
      const dW = maxAbs(out.weights, c.weights_derived_here);
      console.log(
        `${name}: max |Δweight| ${dW.toExponential(2)}, max |Δperformance| ${dPerf.toExponential(2)}`,
      );
      expect(dW).toBeLessThan(1e-4);
      expect(dPerf).toBeLessThan(1e-4);
      expect(Object.values(out.weights).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    });
  }

  it('max_sharpe_rf0.00 (CLA, performance reported at rf 0.02)', async () => {
    const c = ref.results['max_sharpe_rf0.00'] as RefCase;
    const out = await optimise({ objective: 'maxSharpe', riskFreeRate: 0 });
    const p = out.performance;
    const perf = [p.expectedReturn, p.volatility, (p.expectedReturn - 0.02) / p.volatility];
    const dPerf = Math.max(
      ...perf.map((v, i) => Math.abs(v - (c['asserted_perf_with_rf0.02']?.[i] as number))),
    );
    const dW = maxAbs(out.weights, c.weights_derived_here);
    console.log(
      `max_sharpe_rf0.00: max |Δweight| ${dW.toExponential(2)}, max |Δperformance| ${dPerf.toExponential(2)}`,
    );
    expect(dW).toBeLessThan(1e-4);
    expect(dPerf).toBeLessThan(1e-4);
  });
});

describe('risk.portfolio estimation', () => {
  it('uses the pairwise-complete covariance (checked against an independent NumPy computation)', async () => {
    const out = await optimise({ objective: 'minVolatility' });
    const cov = out.covariance;
    expect(cov['GOOG']?.['GOOG']).toBeCloseTo(0.09321113657629164, 12);
    expect(cov['GOOG']?.['BABA']).toBeCloseTo(0.029793375981135448, 12); // BABA listed in 2014, GOOG in 2004
    expect(cov['AAPL']?.['SHLD']).toBeCloseTo(0.04216309834454046, 12);
    expect(cov['BABA']?.['BABA']).toBeCloseTo(0.10095819128994678, 12);
  });

  it('gives the same portfolio from its own expectedReturns and covariance outputs', async () => {
    const fromPrices = await optimise({ objective: 'maxSharpe' });
    const direct = await optimise(
      { objective: 'maxSharpe' },
      { expectedReturns: fromPrices.expectedReturns, covariance: fromPrices.covariance },
    );
    expect(maxAbs(direct.weights, fromPrices.weights)).toBeLessThan(1e-12);
  });

  it('sorts rows by date and reads numeric strings, numbers and blanks alike', async () => {
    const sample = prices.slice(-300);
    const mixed = sample
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'AAPL' ? Number(v) : v])),
      )
      .reverse();
    const a = await optimise({ objective: 'minVolatility' }, { prices: sample });
    const b = await optimise({ objective: 'minVolatility' }, { prices: mixed });
    expect(maxAbs(b.weights, a.weights)).toBeLessThan(1e-12);
  });
});

describe('risk.portfolio constraints', () => {
  const tech = ['GOOG', 'AAPL', 'FB', 'BABA', 'AMZN', 'AMD'];
  const financials = ['BAC', 'JPM', 'MA'];
  const sum = (w: Record<string, number>, names: string[]) => names.reduce((s, n) => s + (w[n] ?? 0), 0);

  it('applies per-asset bounds and asset-class limits (max Sharpe, checked against SciPy SLSQP)', async () => {
    const out = await optimise({
      objective: 'maxSharpe',
      weightBounds: [0, 0.25],
      assetBounds: { MA: [0, 0.15] },
      groups: [
        { name: 'tech', assets: tech, max: 0.3 },
        { name: 'financials', assets: financials, max: 0.2 },
      ],
    });
    const w = out.weights;
    // SciPy 1.17 SLSQP (ftol 1e-15, best of 5 starts) on the same estimates.
    const scipy = {
      GOOG: 0.003434,
      AAPL: 0.05335,
      FB: 0.174602,
      BABA: 0.044075,
      AMZN: 0.024538,
      WMT: 0.044588,
      XOM: 0.132987,
      BBY: 0.044409,
      MA: 0.15,
      PFE: 0.25,
      SBUX: 0.078015,
    };
    expect(maxAbs(w, scipy)).toBeLessThan(1e-4);
    expect(out.performance.sharpe).toBeCloseTo(1.2030527656465684, 7);
    expect(sum(w, tech)).toBeCloseTo(0.3, 10);
    expect(w['MA']).toBe(0.15);
    expect(w['PFE']).toBe(0.25);
    expect(out.performance.bindingConstraints).toEqual(
      expect.arrayContaining(['tech ≤ 30%', 'weight of MA ≤ 0.15', 'weight of PFE ≤ 0.25']),
    );
    const unconstrained = await optimise({ objective: 'maxSharpe' });
    expect(out.performance.sharpe).toBeLessThan(unconstrained.performance.sharpe);
  });

  it('holds a minimum in an asset class (min volatility, checked against SciPy SLSQP)', async () => {
    const out = await optimise({
      objective: 'minVolatility',
      groups: [{ name: 'energy', assets: ['XOM', 'RRC'], min: 0.25 }],
    });
    expect(sum(out.weights, ['XOM', 'RRC'])).toBeCloseTo(0.25, 10);
    expect(out.performance.volatility).toBeCloseTo(0.1596298106224741, 7);
    expect(out.weights['XOM']).toBeCloseTo(0.247391, 4);
    expect(out.weights['RRC']).toBeCloseTo(0.002609, 4);
  });

  it('reports the volatility limit as not binding above the highest-return portfolio', async () => {
    const out = await optimise({ objective: 'efficientRisk', targetVolatility: 0.9 });
    expect(out.weights['MA']).toBeCloseTo(1, 10);
    expect(out.performance.volatility).toBeLessThan(0.9);
  });

  it('returns the minimum-volatility portfolio for a target return below it (the constraint is ≥)', async () => {
    const mv = await optimise({ objective: 'minVolatility' });
    const out = await optimise({ objective: 'efficientReturn', targetReturn: 0.05 });
    expect(maxAbs(out.weights, mv.weights)).toBeLessThan(1e-9);
  });

  it('finds the frontier point for a target volatility with shorting', async () => {
    const out = await optimise({ objective: 'efficientRisk', targetVolatility: 0.25, weightBounds: [-1, 1] });
    expect(out.performance.volatility).toBeCloseTo(0.25, 12);
    const back = await optimise({
      objective: 'efficientReturn',
      targetReturn: out.performance.expectedReturn,
      weightBounds: [-1, 1],
    });
    expect(maxAbs(back.weights, out.weights)).toBeLessThan(1e-6);
    expect(Math.min(...Object.values(out.weights))).toBeLessThan(0);
  });

  it('reports risk contributions that add up to the whole risk', async () => {
    const out = await optimise({ objective: 'maxSharpe' });
    expect(out.allocation.reduce((s, r) => s + r.riskContribution, 0)).toBeCloseTo(1, 12);
    expect(out.allocation.find((r) => r.asset === 'MA')?.weight).toBe(out.weights['MA']);
  });
});

describe('risk.portfolio errors', () => {
  const fail = async (config: Record<string, unknown>, inputs: Record<string, unknown> = { prices }) => {
    const r = await runNode(portfolioNode, { config, inputs });
    expect(r.status).toBe('failed');
    return r.error as { code: string; message: string };
  };
  const recent = prices.slice(-400);

  it('an empty table', async () => {
    expect((await fail({}, { prices: [] })).code).toBe('EMPTY_TABLE');
  });
  it('no input at all', async () => {
    expect((await fail({}, {})).code).toBe('MISSING_INPUT');
  });
  it('a missing date column, naming the columns it found', async () => {
    const e = await fail({ dateColumn: 'Date' }, { prices: recent });
    expect(e.code).toBe('MISSING_DATE_COLUMN');
    expect(e.message).toContain('GOOG');
  });
  it('an asset column with non-numeric data, naming the cell', async () => {
    const bad = recent.map((r, i) => (i === 10 ? { ...r, AAPL: 'n.a.' } : r));
    const e = await fail({}, { prices: bad });
    expect(e.code).toBe('NON_NUMERIC_PRICE');
    expect(e.message).toMatch(/"AAPL".*row 11.*n\.a\./);
  });
  it('a zero price', async () => {
    const bad = recent.map((r, i) => (i === 3 ? { ...r, GE: '0' } : r));
    expect((await fail({}, { prices: bad })).code).toBe('NON_POSITIVE_PRICE');
  });
  it('too little history for an asset', async () => {
    const e = await fail({}, { prices: prices.slice(-15) });
    expect(e.code).toBe('INSUFFICIENT_HISTORY');
    expect(e.message).toContain('GOOG has 14 returns');
  });
  it('too little common history for a pair', async () => {
    // BABA's first price is in September 2014; cut GOOG off before it.
    const baba = prices.findIndex((r) => r['BABA'] !== '');
    const rows = prices.slice(baba - 300, baba + 10).map((r, i) => (i >= 295 ? { ...r, GOOG: '' } : r));
    const e = await fail({ assets: ['GOOG', 'BABA', 'AAPL'], minObservations: 5 }, { prices: rows });
    expect(e.code).toBe('INSUFFICIENT_HISTORY');
    expect(e.message).toContain('GOOG and BABA');
  });
  it('a singular covariance (an asset duplicated under another name)', async () => {
    const dup = recent.map((r) => ({ ...r, GOOG2: r['GOOG'] as string }));
    const e = await fail({ objective: 'minVolatility' }, { prices: dup });
    expect(e.code).toBe('SINGULAR_COVARIANCE');
    expect(e.message).toContain('GOOG2');
  });
  it('an infeasible target return, saying what is feasible', async () => {
    const e = await fail({ objective: 'efficientReturn', targetReturn: 0.5 });
    expect(e.code).toBe('INFEASIBLE_TARGET_RETURN');
    expect(e.message).toContain('0.388666'); // MA alone
  });
  it('an infeasible target volatility, saying what is feasible', async () => {
    const e = await fail({ objective: 'efficientRisk', targetVolatility: 0.1 });
    expect(e.code).toBe('INFEASIBLE_TARGET_VOLATILITY');
    expect(e.message).toContain('0.159151');
  });
  it('bounds that cannot add up to a whole portfolio', async () => {
    const e = await fail({ weightBounds: [0, 0.04] });
    expect(e.code).toBe('INFEASIBLE_CONSTRAINTS');
    expect(e.message).toContain('0.8');
  });
  it('group limits that contradict each other', async () => {
    const e = await fail({
      objective: 'minVolatility',
      groups: [
        { name: 'a', assets: ['GOOG', 'AAPL'], min: 0.6 },
        { name: 'b', assets: ['AAPL', 'MA'], min: 0.6 },
        { name: 'c', assets: ['GOOG', 'AAPL', 'MA'], max: 0.5 },
      ],
    });
    expect(e.code).toBe('INFEASIBLE_CONSTRAINTS');
  });
  it('an unknown asset in bounds or groups', async () => {
    expect((await fail({ assetBounds: { TSLA: [0, 0.1] } })).code).toBe('UNKNOWN_ASSET');
    expect((await fail({ groups: [{ name: 'ev', assets: ['TSLA'], max: 0.1 }] })).code).toBe('UNKNOWN_ASSET');
  });
  it('no portfolio above the risk-free rate', async () => {
    const e = await fail({ objective: 'maxSharpe', riskFreeRate: 0.5 });
    expect(e.code).toBe('NO_EXCESS_RETURN');
    expect(e.message).toContain('0.388666');
  });
  it('a covariance that is not symmetric or misses an entry', async () => {
    const expectedReturns = { A: 0.1, B: 0.2 };
    expect(
      (await fail({}, { expectedReturns, covariance: { A: { A: 0.04, B: 0.01 }, B: { A: 0.02, B: 0.09 } } }))
        .code,
    ).toBe('INVALID_COVARIANCE');
    expect(
      (await fail({}, { expectedReturns, covariance: { A: { A: 0.04, B: 0.01 }, B: { B: 0.09 } } })).code,
    ).toBe('INVALID_COVARIANCE');
  });
  it('flow validation flags a missing target and inverted bounds', () => {
    const registry = createRegistry([portfolioNode]);
    const problems = validateNodeSpec(registry, {
      type: 'risk.portfolio',
      config: {
        objective: 'efficientRisk',
        weightBounds: [0.5, 0.2],
        groups: [{ name: 'x', assets: ['A'] }],
      },
    });
    expect(problems.map((p) => p.path?.join('.'))).toEqual(['targetVolatility', 'weightBounds', 'groups.0']);
  });
});
