// PII detection on conversational text (issue 15): the per-type table (exact-span precision and recall) on the
// annotated conversational test split, what each technique buys (rules and name statistics alone, + jieba
// segmentation, + compromise's English person recogniser), and the latency per 1,000 characters of each.
// Run: npm run bench -- pii   (or node --expose-gc bench/pii.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { detectPii } from '../nodes/builtin/dist/compliance/pii/detect.js';
import { evaluateSpans } from '../nodes/builtin/dist/compliance/pii/evaluate.js';

const data = new URL('../datasets/', import.meta.url);
const read = (path) => readFileSync(new URL(path, data), 'utf8');
const jsonl = (path) =>
  read(path)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const test = jsonl('pii-conversational/test.jsonl');
const dev = jsonl('pii-conversational/dev.jsonl');
const synthetic = jsonl('pii-corpus/zh_en_pii_synthetic.jsonl');
const NOW = new Date('2025-06-01T00:00:00Z');
const chars = (records) => records.reduce((s, r) => s + r.text.length, 0);

// The first call in this process: libphonenumber's metadata and jieba's dictionary load here.
let t0 = performance.now();
detectPii(test[0].text, { now: NOW });
const coldMs = performance.now() - t0;
const rssAfterLoad = process.memoryUsage().rss / 2 ** 20;

/** compromise's people(), as extra English PERSON candidates (honorifics and trailing punctuation trimmed). */
let nlp;
try {
  nlp = (await import('compromise')).default;
} catch {
  console.log('compromise is not installed (a devDependency of @finflow/nodes): its rows are skipped');
}
function withCompromise(text, options) {
  const found = detectPii(text, options);
  for (const p of nlp(text).people().json({ offset: true })) {
    let start = p.offset.start;
    let end = start + p.offset.length;
    const honorific = /^(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+/.exec(text.slice(start, end));
    if (honorific) start += honorific[0].length;
    while (end > start && /[\s,.;:!?'’]/.test(text[end - 1])) end--;
    if (end <= start || found.some((f) => f.start < end && f.end > start)) continue;
    found.push({ type: 'PERSON', start, end, text: text.slice(start, end), score: 0.7 });
  }
  return found.sort((a, b) => a.start - b.start);
}

const variants = [
  [
    'rules, lexicons and name statistics (no segmentation)',
    (t) => detectPii(t, { now: NOW, segmentation: false }),
  ],
  ['+ jieba segmentation (the default)', (t) => detectPii(t, { now: NOW })],
];
if (nlp) variants.push(['+ jieba + compromise people()', (t) => withCompromise(t, { now: NOW })]);

/** Milliseconds per 1,000 characters over the records, after a warm-up, and the p99 per text. */
function latency(fn, records, ms = 2000) {
  const warm = performance.now();
  while (performance.now() - warm < 300) for (const r of records) fn(r.text);
  globalThis.gc?.();
  const perText = [];
  let total = 0;
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (const r of records) {
      const a = performance.now();
      fn(r.text);
      const d = performance.now() - a;
      perText.push(d);
      total += d;
    }
    n++;
  }
  perText.sort((a, b) => a - b);
  return { per1000: (total / (n * chars(records))) * 1000, p99: perText[Math.floor(perText.length * 0.99)] };
}

const pct = (x) => x.toFixed(3);
const TYPES = [
  'PERSON',
  'ADDRESS',
  'PHONE_NUMBER',
  'CN_RESIDENT_ID',
  'BANK_CARD',
  'CN_MOBILE',
  'EMAIL_ADDRESS',
];

const main = evaluateSpans(test, (t) => detectPii(t, { now: NOW }));
console.log(
  `Conversational test split: ${test.length} texts, ${chars(test).toLocaleString('en-US')} characters, ` +
    `${test.reduce((s, r) => s + r.spans.length, 0)} gold spans, ${test.filter((r) => !r.spans.length).length} without PII\n`,
);
console.log('| type | gold | found | precision | recall |\n|---|---:|---:|---:|---:|');
for (const s of main.perType)
  console.log(`| ${s.type} | ${s.gold} | ${s.found} | ${pct(s.precision)} | ${pct(s.recall)} |`);
console.log(`\nTexts without PII with a finding: ${main.negativesWithFindings.length}\n`);

console.log(
  '| technique | PERSON P / R (test) | ADDRESS P / R | PHONE P / R | PERSON P / R (dev) | no-PII texts hit | ms per 1,000 chars | p99 ms per text |',
);
console.log('|---|---|---|---|---|---:|---:|---:|');
for (const [label, fn] of variants) {
  const e = evaluateSpans(test, fn);
  const d = evaluateSpans(dev, fn);
  const get = (ev, t) => ev.perType.find((s) => s.type === t) ?? { precision: 1, recall: 1 };
  const pr = (ev, t) => `${pct(get(ev, t).precision)} / ${pct(get(ev, t).recall)}`;
  const { per1000, p99 } = latency(fn, test);
  console.log(
    `| ${label} | ${pr(e, 'PERSON')} | ${pr(e, 'ADDRESS')} | ${pr(e, 'PHONE_NUMBER')} | ${pr(d, 'PERSON')} | ${e.negativesWithFindings.length} | ${per1000.toFixed(3)} | ${p99.toFixed(2)} |`,
  );
}

// Latency on other kinds of text: the synthetic corpus, and text without Chinese (no segmentation runs).
const english = [...test, ...dev].filter((r) => !/[\u3400-\u9fff]/.test(r.text));
console.log('\n| text | characters | ms per 1,000 chars | p99 ms per text |\n|---|---:|---:|---:|');
for (const [label, records] of [
  ['conversational test split', test],
  ['English-only conversational texts', english],
  ['synthetic zh/en corpus (200 sentences)', synthetic],
]) {
  const { per1000, p99 } = latency((t) => detectPii(t, { now: NOW }), records);
  console.log(
    `| ${label} | ${chars(records).toLocaleString('en-US')} | ${per1000.toFixed(3)} | ${p99.toFixed(2)} |`,
  );
}
console.log(
  `\nFirst call in a process (loads libphonenumber's metadata and jieba's dictionary): ${coldMs.toFixed(0)} ms; RSS after it ${rssAfterLoad.toFixed(0)} MiB`,
);
void TYPES;
