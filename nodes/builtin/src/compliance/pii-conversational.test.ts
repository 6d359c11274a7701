/**
 * Issue 15's goals, held on the annotated conversational set (datasets/pii-conversational): bank chats, call
 * transcripts, e-mails, complaint letters and KYC notes in simplified and traditional Chinese, English and both,
 * with hard negatives. The test split is reported and never tuned on; the dev split is what the recognisers were
 * tuned on, held to the same goals so a later change cannot quietly undo that work.
 */
import { describe, expect, it } from 'vitest';
import { detectPii, type PiiType } from './pii/detect.js';
import { evaluateSpans, formatEvaluation, type GoldRecord } from './pii/evaluate.js';
import { readDataset } from './test-helpers/datasets.js';

const NOW = new Date('2025-06-01T00:00:00Z');

interface ConversationalRecord extends GoldRecord {
  kind: string;
  lang: string;
  spans: { start: number; end: number; label: string; value: string }[];
}

function load(split: 'dev' | 'test'): ConversationalRecord[] {
  return readDataset(`pii-conversational/${split}.jsonl`)
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ConversationalRecord);
}

const TAGS: Record<string, string> = {
  PERSON: 'P',
  ADDRESS: 'A',
  CN_RESIDENT_ID: 'ID',
  BANK_CARD: 'CARD',
  CN_MOBILE: 'MOB',
  PHONE_NUMBER: 'PH',
  EMAIL_ADDRESS: 'EM',
  IBAN_CODE: 'IBAN',
};

/** The record written back in the source's inline markup, to check the .jsonl against the annotated .txt. */
function markup(record: ConversationalRecord): string {
  let out = '';
  let cursor = 0;
  for (const s of record.spans) {
    out += `${record.text.slice(cursor, s.start)}[[${s.value}|${TAGS[s.label]}]]`;
    cursor = s.end;
  }
  return out + record.text.slice(cursor);
}

/**
 * Issue 15's goals. Where the test split does not reach a goal yet, `testFloor` holds what it measured (bench/
 * README.md) so that a change cannot lose ground unseen; raising it to the goal is the open part of the issue.
 */
const GOALS: { types: PiiType[]; precision: number; recall: number; testFloor?: { recall: number } }[] = [
  { types: ['PERSON'], precision: 0.95, recall: 0.95, testFloor: { recall: 0.93 } },
  { types: ['ADDRESS'], precision: 0.95, recall: 0.95, testFloor: { recall: 0.89 } },
  { types: ['PHONE_NUMBER'], precision: 0.95, recall: 0.95 },
  { types: ['CN_RESIDENT_ID', 'BANK_CARD'], precision: 0.98, recall: 0.99 },
  { types: ['CN_MOBILE', 'EMAIL_ADDRESS'], precision: 0.95, recall: 0.95 },
];

describe.each(['test', 'dev'] as const)('PII detection on the conversational %s set', (split) => {
  const records = load(split);
  const evaluation = evaluateSpans(records, (text) => detectPii(text, { now: NOW }));
  if (split === 'test')
    console.info(`conversational test set, exact spans:\n${formatEvaluation(evaluation)}`);

  it('is well formed: offsets slice to the value, and the .jsonl matches the annotated source', () => {
    const source = readDataset(`pii-conversational/${split}.txt`);
    for (const r of records) {
      for (const s of r.spans) expect(r.text.slice(s.start, s.end), r.id).toBe(s.value);
      expect(source.includes(`## ${r.id} | ${r.kind} | ${r.lang}\n${markup(r)}`), r.id).toBe(true);
    }
    expect(records.length).toBe(source.match(/^## /gm)?.length);
    if (split === 'test') {
      expect(records.length).toBeGreaterThanOrEqual(100);
      expect(records.flatMap((r) => r.spans).length).toBeGreaterThanOrEqual(350);
    }
  });

  const goals = GOALS.flatMap((g) =>
    g.types.map(
      (type) => [type, g.precision, split === 'test' && g.testFloor ? g.testFloor.recall : g.recall] as const,
    ),
  );
  it.each(goals)('%s: precision >= %s and recall >= %s with exact spans', (type, precision, recall) => {
    const score = evaluation.perType.find((s) => s.type === type);
    expect(score?.gold, `${type} has gold spans`).toBeGreaterThan(5);
    // The errors are shown for the dev split only: reading the test split's would be tuning on it.
    const errors = split === 'dev' ? JSON.stringify(evaluation.errors.filter((e) => e.type === type)) : type;
    expect(score?.precision, errors).toBeGreaterThanOrEqual(precision);
    expect(score?.recall, errors).toBeGreaterThanOrEqual(recall);
  });

  it('finds nothing in the texts without personal data (dates with hours, SKUs, loan numbers, brands, places)', () => {
    expect(records.filter((r) => r.spans.length === 0).length).toBeGreaterThanOrEqual(20);
    expect(
      evaluation.negativesWithFindings.length,
      split === 'dev' ? evaluation.negativesWithFindings.join() : '',
    ).toBe(0);
  });
});
