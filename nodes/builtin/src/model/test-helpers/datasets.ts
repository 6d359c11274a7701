/** Readers for the datasets the model tests use (files under datasets/ at the repository root). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const datasetsDir = fileURLToPath(new URL('../../../../../datasets/', import.meta.url));

/** RFC 4180 CSV (quoted fields, doubled quotes) into objects keyed by the header row. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header = [], ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

export function readBanking77(split: 'train' | 'test'): { text: string; label: string }[] {
  const rows = parseCsv(readFileSync(`${datasetsDir}banking-intents/banking77_${split}.csv`, 'utf8'));
  return rows.map((r) => ({ text: r['text'] ?? '', label: r['category'] ?? '' }));
}

export function readDataset(path: string): string {
  return readFileSync(`${datasetsDir}${path}`, 'utf8');
}
