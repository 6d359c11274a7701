#!/usr/bin/env node
/**
 * Builds the robo-advisory fixtures' price tables from real market data: equal-weighted, daily-rebalanced
 * baskets ("sleeves") of the US stocks in datasets/pypfopt-stock-prices/stock_prices.csv, each started at 100.
 * The open dataset holds single stocks only, so sleeves stand in for the asset-class funds a bank would use.
 *
 *   node templates/robo-advisory/scripts/sleeve-prices.mjs <fixture.json> <first date> <last date>
 *
 * rewrites the fixture's `prices` field (other fields are kept) with the sleeves over [first date, last date].
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Sleeve → member tickers. Keep in step with the policy table in flow.json and the README. */
export const SLEEVES = {
  DEFENSIVE: ['WMT', 'PFE', 'T'],
  FINANCIALS: ['JPM', 'BAC', 'MA'],
  ENERGY_INDUSTRIALS: ['XOM', 'GE'],
  CONSUMER: ['SBUX', 'BBY', 'GM'],
  TECH: ['AAPL', 'GOOG', 'FB'],
  GROWTH: ['AMZN', 'AMD', 'BABA'],
};

const here = dirname(fileURLToPath(import.meta.url));
const csvPath = resolve(here, '../../../datasets/pypfopt-stock-prices/stock_prices.csv');

export function sleevePrices(first, last) {
  const [head, ...lines] = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
  const cols = head.split(',');
  const rows = lines
    .map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])))
    .filter((r) => r.date >= first && r.date <= last);
  if (rows.length < 2) throw new Error(`no prices between ${first} and ${last}`);
  const level = Object.fromEntries(Object.keys(SLEEVES).map((s) => [s, 100]));
  const out = [];
  rows.forEach((row, t) => {
    if (t > 0) {
      const prev = rows[t - 1];
      for (const [sleeve, tickers] of Object.entries(SLEEVES)) {
        const returns = tickers.map((k) => {
          const a = Number(prev[k]);
          const b = Number(row[k]);
          if (!(a > 0) || !(b > 0)) throw new Error(`${k} has no price on ${prev.date} or ${row.date}`);
          return b / a - 1;
        });
        level[sleeve] *= 1 + returns.reduce((s, r) => s + r, 0) / returns.length;
      }
    }
    out.push({
      date: row.date,
      ...Object.fromEntries(Object.keys(SLEEVES).map((s) => [s, Math.round(level[s] * 1e4) / 1e4])),
    });
  });
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, first, last] = process.argv.slice(2);
  if (!file || !first || !last) {
    console.error('usage: sleeve-prices.mjs <fixture.json> <first date> <last date>');
    process.exit(2);
  }
  const fixture = JSON.parse(readFileSync(file, 'utf8'));
  const prices = sleevePrices(first, last);
  // One price row per line keeps the fixture small and readable.
  const { prices: _old, ...rest } = fixture;
  const text = JSON.stringify({ ...rest, prices: '@prices' }, null, 2).replace(
    '"@prices"',
    `[\n${prices.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]`,
  );
  writeFileSync(file, `${text}\n`);
  fixture.prices = prices;
  console.log(
    `${file}: ${fixture.prices.length} rows, ${fixture.prices[0].date} … ${fixture.prices.at(-1).date}`,
  );
}
