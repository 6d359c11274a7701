/**
 * Velocity and amount features of a card transaction from the same customer's earlier transactions: how many
 * and how much in the last hour and day, the amount against the customer's own mean and maximum, and the time
 * since the previous transaction. Only strictly earlier transactions count, in training and in scoring alike,
 * so a model never learns from information it will not have at decision time.
 */
import { NodeError } from '@finflow/sdk';
import { isMissing, readNumeric, showValue, type Row } from './encoding.js';

export interface VelocityConfig {
  customerColumn: string;
  timeColumn: string;
  amountColumn: string;
  /** How numeric times are expressed; text times are ISO 8601. */
  timeUnit: 'milliseconds' | 'seconds';
}

/** The features, in this order, that a model trained with velocity sees. */
export const velocityFeatureNames = [
  'txCount1h',
  'txAmount1h',
  'txCount24h',
  'txAmount24h',
  'amountToCustomerMean',
  'amountToCustomerMax',
  'hoursSinceLast',
  'historyCount',
] as const;
export type VelocityFeature = (typeof velocityFeatureNames)[number];

export const velocityFeatureLabels: Record<VelocityFeature, string> = {
  txCount1h: "Customer's transactions in the previous hour",
  txAmount1h: "Customer's spending in the previous hour",
  txCount24h: "Customer's transactions in the previous 24 hours",
  txAmount24h: "Customer's spending in the previous 24 hours",
  amountToCustomerMean: "Amount relative to the customer's average",
  amountToCustomerMax: "Amount relative to the customer's largest earlier amount",
  hoursSinceLast: "Hours since the customer's previous transaction",
  historyCount: "Customer's earlier transactions",
};

export const velocityFeatureLabelsZh: Record<VelocityFeature, string> = {
  txCount1h: '客户前 1 小时内的交易笔数',
  txAmount1h: '客户前 1 小时内的消费金额',
  txCount24h: '客户前 24 小时内的交易笔数',
  txAmount24h: '客户前 24 小时内的消费金额',
  amountToCustomerMean: '本笔金额相对客户平均金额的倍数',
  amountToCustomerMax: '本笔金额相对客户此前最大金额的倍数',
  hoursSinceLast: '距客户上一笔交易的小时数',
  historyCount: '客户此前的交易笔数',
};

/** Stands in for "no earlier transaction" in hoursSinceLast: 30 days. */
const NO_PREVIOUS_HOURS = 720;
const HOUR = 3_600_000;

/** Milliseconds since the epoch. */
export function readTime(value: unknown, config: VelocityConfig, where: string): number {
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isFinite(t)) return t;
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    return config.timeUnit === 'seconds' ? value * 1000 : value;
  } else if (typeof value === 'string' && value.trim()) {
    const s = value.trim();
    if (/^[+-]?\d+(\.\d+)?$/.test(s)) return Number(s) * (config.timeUnit === 'seconds' ? 1000 : 1);
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new NodeError(
    `${where}, column "${config.timeColumn}": ${isMissing(value) ? 'no time' : `${showValue(value)} is not a time`} (use epoch ${config.timeUnit} or ISO 8601 text)`,
    'INVALID_TIME',
  );
}

interface Event {
  time: number;
  amount: number;
  /** Index in `rows` for a transaction to featurise; -1 for a history entry. */
  row: number;
}

/**
 * Features for each of `rows`, using the other rows and `history` of the same customer that happened
 * strictly earlier. History rows without a customer value are taken to be the customer's of every row (a single
 * customer's history passed beside one transaction).
 */
export function velocityFeatures(
  rows: readonly Row[],
  history: readonly Row[],
  config: VelocityConfig,
): Record<VelocityFeature, number>[] {
  const byCustomer = new Map<string, Event[]>();
  const shared: Event[] = [];
  const customerOf = (row: Row, where: string): string | undefined => {
    const c = row[config.customerColumn];
    if (isMissing(c)) return undefined;
    if (typeof c === 'string' || typeof c === 'number') return String(c).trim();
    throw new NodeError(
      `${where}, column "${config.customerColumn}": expected a customer id`,
      'INVALID_VALUE',
    );
  };
  const add = (customer: string, e: Event) => {
    let list = byCustomer.get(customer);
    if (!list) byCustomer.set(customer, (list = []));
    list.push(e);
  };
  rows.forEach((row, i) => {
    const where = `row ${i + 1}`;
    const customer = customerOf(row, where);
    if (customer === undefined)
      throw new NodeError(`${where}: no customer id in column "${config.customerColumn}"`, 'MISSING_VALUE');
    add(customer, {
      time: readTime(row[config.timeColumn], config, where),
      amount: readNumeric(row[config.amountColumn], config.amountColumn, i) ?? 0,
      row: i,
    });
  });
  history.forEach((row, i) => {
    const where = `history row ${i + 1}`;
    const e: Event = {
      time: readTime(row[config.timeColumn], config, where),
      amount: readNumeric(row[config.amountColumn], `history ${config.amountColumn}`, i) ?? 0,
      row: -1,
    };
    const customer = customerOf(row, where);
    if (customer === undefined) shared.push(e);
    else add(customer, e);
  });
  if (shared.length) for (const list of byCustomer.values()) list.push(...shared);

  const out = new Array<Record<VelocityFeature, number>>(rows.length);
  for (const list of byCustomer.values()) {
    list.sort((a, b) => a.time - b.time);
    const m = list.length;
    // Prefix sums and maxima over the time-sorted events let each window be read in O(log m).
    const sum = new Float64Array(m + 1);
    const max = new Float64Array(m + 1).fill(-Infinity);
    for (let k = 0; k < m; k++) {
      const a = (list[k] as Event).amount;
      sum[k + 1] = (sum[k] as number) + a;
      max[k + 1] = Math.max(max[k] as number, a);
    }
    const firstAtOrAfter = (t: number): number => {
      let lo = 0;
      let hi = m;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((list[mid] as Event).time < t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    for (const e of list) {
      if (e.row < 0) continue;
      const before = firstAtOrAfter(e.time); // events [0, before) are strictly earlier
      const from1h = firstAtOrAfter(e.time - HOUR);
      const from24h = firstAtOrAfter(e.time - 24 * HOUR);
      const mean = before ? (sum[before] as number) / before : 0;
      const largest = before ? (max[before] as number) : 0;
      out[e.row] = {
        txCount1h: before - Math.min(from1h, before),
        txAmount1h: (sum[before] as number) - (sum[Math.min(from1h, before)] as number),
        txCount24h: before - Math.min(from24h, before),
        txAmount24h: (sum[before] as number) - (sum[Math.min(from24h, before)] as number),
        amountToCustomerMean: before && mean > 0 ? e.amount / mean : 1,
        amountToCustomerMax: before && largest > 0 ? e.amount / largest : 1,
        hoursSinceLast: before
          ? Math.min((e.time - (list[before - 1] as Event).time) / HOUR, NO_PREVIOUS_HOURS)
          : NO_PREVIOUS_HOURS,
        historyCount: before,
      };
    }
  }
  return out;
}
