/** Test access to the real data under datasets/ (copied from shared/data with its SOURCE.md). */
import { readFileSync } from 'node:fs';

const root = new URL('../../../../../datasets/', import.meta.url);

export function readDataset(path: string): string {
  return readFileSync(new URL(path, root), 'utf8');
}

export interface CorpusRecord {
  id: string;
  lang: 'zh' | 'en';
  text: string;
  spans: { start: number; end: number; label: string; value: string }[];
}

export function piiCorpus(): CorpusRecord[] {
  return readDataset('pii-corpus/zh_en_pii_synthetic.jsonl')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CorpusRecord);
}

export interface PresidioCase {
  entity: 'CREDIT_CARD' | 'EMAIL_ADDRESS' | 'PHONE_NUMBER' | 'IBAN_CODE';
  text: string;
  expected_count: number;
  expected_spans: { start: number; end: number; value: string }[];
  test_function: string;
  line: number;
  leniency?: number;
}

export function presidioCases(): PresidioCase[] {
  return (JSON.parse(readDataset('pii-corpus/presidio_recognizer_cases.json')) as { cases: PresidioCase[] })
    .cases;
}

export interface HutoolCases {
  id_card_validity: { cases: { id: string; valid: boolean | null; kind: string }[] };
  masking: { cases: { type: string; input: string; expected: string }[] };
}

export function hutoolCases(): HutoolCases {
  return JSON.parse(readDataset('pii-corpus/hutool_cn_cases.json')) as HutoolCases;
}

export const REGULATIONS = {
  pipl: 'regulatory-text/zh_PIPL_个人信息保护法_2021.md',
  credit: 'regulatory-text/zh_征信业管理条例_2013.md',
  gdpr: 'regulatory-text/en_GDPR_articles_5_22_32_33.md',
  regB: 'regulatory-text/en_US_12CFR1002.9_RegB_notifications.md',
} as const;
