// Turns the annotated sources (dev.txt and the test*.txt splits: one text per "## id | kind | lang" block, each gold span written
// inline as [[value|TAG]]) into the matching .jsonl files with UTF-16 offsets, as the evaluation
// reads them.
// Run: node datasets/pii-conversational/build.mjs   (a test checks that the .jsonl files are up to date)
import { readFileSync, writeFileSync } from 'node:fs';

const LABELS = {
  P: 'PERSON',
  A: 'ADDRESS',
  ID: 'CN_RESIDENT_ID',
  CARD: 'BANK_CARD',
  MOB: 'CN_MOBILE',
  PH: 'PHONE_NUMBER',
  EM: 'EMAIL_ADDRESS',
  IBAN: 'IBAN_CODE',
};

/** Parses one annotated source into records; throws on a malformed block or an unknown tag. */
export function parseAnnotated(source, file = 'source') {
  const records = [];
  for (const block of source.split(/^## /m).slice(1)) {
    const newline = block.indexOf('\n');
    const [id, kind, lang] = block.slice(0, newline).split('|').map((s) => s.trim());
    if (!id || !kind || !lang) throw new Error(`${file}: bad header "${block.slice(0, newline)}"`);
    const body = block.slice(newline + 1).replace(/^\n+|\s+$/g, '');
    let text = '';
    const spans = [];
    let cursor = 0;
    for (const m of body.matchAll(/\[\[([^\]|]+)\|([A-Z]+)\]\]/g)) {
      text += body.slice(cursor, m.index);
      const label = LABELS[m[2]];
      if (!label) throw new Error(`${file} ${id}: unknown tag ${m[2]}`);
      spans.push({ start: text.length, end: text.length + m[1].length, label, value: m[1] });
      text += m[1];
      cursor = m.index + m[0].length;
    }
    text += body.slice(cursor);
    if (/\[\[|\]\]/.test(text)) throw new Error(`${file} ${id}: unbalanced [[ ]]`);
    if (records.some((r) => r.id === id)) throw new Error(`${file}: duplicate id ${id}`);
    records.push({ id, kind, lang, text, spans });
  }
  return records;
}

export function toJsonl(records) {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of ['dev', 'test-z', 'test-y', 'test-x', 'test-w', 'test', 'test-previous']) {
    const src = new URL(`./${name}.txt`, import.meta.url);
    const records = parseAnnotated(readFileSync(src, 'utf8'), `${name}.txt`);
    writeFileSync(new URL(`./${name}.jsonl`, import.meta.url), toJsonl(records));
    const counts = {};
    for (const r of records) for (const s of r.spans) counts[s.label] = (counts[s.label] ?? 0) + 1;
    const spans = Object.values(counts).reduce((a, b) => a + b, 0);
    const empty = records.filter((r) => r.spans.length === 0).length;
    console.log(`${name}: ${records.length} texts (${empty} without PII), ${spans} spans`, counts);
  }
}
