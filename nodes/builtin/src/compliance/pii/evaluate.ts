/**
 * Exact-span evaluation of PII detection against an annotated set: per type, a finding counts only when its type,
 * start and end all equal a gold span's. Shared by the tests that hold the goals and the benchmark that prints the
 * table, so both count the same way.
 */
import { PII_TYPES, type PiiEntity, type PiiType } from './detect.js';

export interface GoldSpan {
  start: number;
  end: number;
  label: string;
}

export interface GoldRecord {
  id: string;
  text: string;
  spans: readonly GoldSpan[];
}

export interface TypeScore {
  type: PiiType;
  gold: number;
  found: number;
  truePositives: number;
  precision: number;
  recall: number;
}

export interface SpanError {
  id: string;
  kind: 'missed' | 'spurious';
  type: string;
  text: string;
}

export interface Evaluation {
  perType: TypeScore[];
  /** Ids of the texts with no gold span on which something was found. */
  negativesWithFindings: string[];
  errors: SpanError[];
}

const key = (type: string, start: number, end: number) => `${type}:${start}:${end}`;

export function evaluateSpans(
  records: readonly GoldRecord[],
  detect: (text: string) => readonly PiiEntity[],
): Evaluation {
  const counts = new Map<string, { gold: number; found: number; tp: number }>();
  const count = (t: string) => {
    let c = counts.get(t);
    if (!c) counts.set(t, (c = { gold: 0, found: 0, tp: 0 }));
    return c;
  };
  const errors: SpanError[] = [];
  const negativesWithFindings: string[] = [];
  for (const record of records) {
    const found = detect(record.text);
    const gold = new Set(record.spans.map((s) => key(s.label, s.start, s.end)));
    const predicted = new Set(found.map((f) => key(f.type, f.start, f.end)));
    for (const s of record.spans) {
      count(s.label).gold++;
      if (predicted.has(key(s.label, s.start, s.end))) count(s.label).tp++;
      else
        errors.push({
          id: record.id,
          kind: 'missed',
          type: s.label,
          text: record.text.slice(s.start, s.end),
        });
    }
    for (const f of found) {
      count(f.type).found++;
      if (!gold.has(key(f.type, f.start, f.end)))
        errors.push({ id: record.id, kind: 'spurious', type: f.type, text: f.text });
    }
    if (record.spans.length === 0 && found.length > 0) negativesWithFindings.push(record.id);
  }
  const perType = PII_TYPES.filter((t) => counts.has(t)).map((type) => {
    const c = count(type);
    return {
      type,
      gold: c.gold,
      found: c.found,
      truePositives: c.tp,
      // No finding and no gold span is a perfect score, not a division by zero.
      precision: c.found ? c.tp / c.found : 1,
      recall: c.gold ? c.tp / c.gold : 1,
    };
  });
  return { perType, negativesWithFindings, errors };
}

/** The per-type table as Markdown. */
export function formatEvaluation(evaluation: Evaluation): string {
  const lines = ['| type | gold | found | precision | recall |', '|---|---:|---:|---:|---:|'];
  for (const s of evaluation.perType)
    lines.push(`| ${s.type} | ${s.gold} | ${s.found} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} |`);
  lines.push('', `texts without PII that had a finding: ${evaluation.negativesWithFindings.length}`);
  return lines.join('\n');
}
