/**
 * Loads the real data sets the risk tests and benchmarks use, from the repository's datasets/ folder
 * (German Credit with its label map, and the ULB credit-card fraud subset).
 */
import { readFileSync } from 'node:fs';

const root = new URL('../../../../../../datasets/', import.meta.url);

export interface GermanCredit {
  rows: Record<string, string | number>[];
  labels: { columns: Record<string, string>; values: Record<string, Record<string, string>> };
  columns: string[];
}

/** german.data as objects keyed by the OpenML credit-g names; numeric attributes as numbers, codes as text. */
export function loadGermanCredit(): GermanCredit {
  const meta = JSON.parse(readFileSync(new URL('german-credit/labels.json', root), 'utf8')) as {
    columnOrder: string[];
    columns: Record<string, string>;
    values: Record<string, Record<string, string>>;
  };
  const rows = readFileSync(new URL('german-credit/german.data', root), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const cells = line.trim().split(/\s+/);
      if (cells.length !== meta.columnOrder.length)
        throw new Error(`german.data: ${cells.length} cells in a line`);
      return Object.fromEntries(
        cells.map((v, i) => [meta.columnOrder[i] as string, /^\d+$/.test(v) ? Number(v) : v]),
      ) as Record<string, string | number>;
    });
  return { rows, labels: { columns: meta.columns, values: meta.values }, columns: meta.columnOrder };
}

/** The ULB/Worldline subset: 492 frauds and 4,000 legitimate transactions, every value a number. */
export function loadFraud(): Record<string, number>[] {
  const lines = readFileSync(new URL('fraud/creditcard_ulb_492fraud_4000normal.csv', root), 'utf8')
    .trim()
    .split(/\r?\n/);
  const header = (lines[0] as string).split(',').map((h) => h.replace(/^"|"$/g, ''));
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row: Record<string, number> = {};
    header.forEach((h, i) => (row[h] = Number(cells[i])));
    return row;
  });
}
