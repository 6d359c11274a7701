// PII detection on conversational text (issue 15): the per-type tables (exact-span precision and recall) on the
// annotated conversational test splits (the newest, z; then y, x, w, v and u), what each technique
// buys (no segmentation, the hand-set prior weights instead of the learned ones, the span-boundary model, evidence
// from the rest of the text), the latency per 1,000 characters (several runs, the
// minimum and the median, with the load average), and the first-call cost in fresh processes.
// Run: npm run bench -- pii   (or node --expose-gc bench/pii.bench.mjs after tsc -b)
// Options: --runs N (latency runs per text set, default 7), --cold N (fresh processes, default 5), --compromise
// (adds compromise's people() as extra English candidates, about 10x slower; its lexicon is already in name-data),
// --paired DIR (DIR holds another build of the detector, e.g. main's compliance/pii built aside with its weights
// file beside boundary-model.js: the two alternate in this process on the same texts, CPU time per 1,000
// characters, --pairs N pairs, default 15).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { detectPii } from '../nodes/builtin/dist/compliance/pii/detect.js';
import { evaluateSpans } from '../nodes/builtin/dist/compliance/pii/evaluate.js';
import { analyzeBoundaries } from '../nodes/builtin/dist/compliance/pii/boundary-model.js';
import { segment, simplified } from '../nodes/builtin/dist/compliance/pii/segmenter.js';
import {
  CN_FEATURES,
  CN_PRIOR,
  CN_WEIGHTS,
  EN_FEATURES,
  EN_PRIOR,
  EN_WEIGHTS,
} from '../nodes/builtin/dist/compliance/pii/person-model.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('--runs', 7);
const COLD = arg('--cold', 5);
const data = new URL('../datasets/', import.meta.url);
const read = (path) => readFileSync(new URL(path, data), 'utf8');
const jsonl = (path) =>
  read(path)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const newestZ = jsonl('pii-conversational/test-z.jsonl');
const newestY = jsonl('pii-conversational/test-y.jsonl');
const newestX = jsonl('pii-conversational/test-x.jsonl');
const newest = jsonl('pii-conversational/test-w.jsonl');
const test = jsonl('pii-conversational/test.jsonl');
const previous = jsonl('pii-conversational/test-previous.jsonl');
const dev = jsonl('pii-conversational/dev.jsonl');
const synthetic = jsonl('pii-corpus/zh_en_pii_synthetic.jsonl');
const NOW = new Date('2025-06-01T00:00:00Z');
const chars = (records) => records.reduce((s, r) => s + r.text.length, 0);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
const loadAtStart = load();

// The first call in a fresh process (libphonenumber's metadata, jieba's dictionary, the name tables), in COLD
// processes: direct in-process detection, and the nodes' path (segmentation in the worker thread, awaited).
const coldScript = (path) => `
  const t0 = performance.now();
  const d = await import(${JSON.stringify(new URL('../nodes/builtin/dist/compliance/pii/detect.js', import.meta.url).href)});
  const text = '客户王晓燕，手机13812345678，地址上海市静安区愚园路1258弄23号502室。Thanks Fiona, call me on +44 20 7946 0958.';
  const t1 = performance.now();
  ${path === 'worker' ? 'd.detectPii(text, await d.withSegmentation(text, {}));' : 'd.detectPii(text);'}
  const t2 = performance.now();
  console.log(JSON.stringify({ importMs: t1 - t0, firstCallMs: t2 - t1, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
  process.exit(0);`;
function coldRuns(path) {
  const out = [];
  for (let i = 0; i < COLD; i++) {
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', coldScript(path)], {
      encoding: 'utf8',
    });
    out.push(JSON.parse(stdout.trim().split('\n').pop()));
  }
  return out;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cold = { direct: coldRuns('direct'), worker: coldRuns('worker') };

/** compromise's people(), as extra English PERSON candidates (honorifics and trailing punctuation trimmed). */
let nlp;
if (process.argv.includes('--compromise')) nlp = (await import('compromise')).default;
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

const learned = { cn: Float64Array.from(CN_WEIGHTS), en: Float64Array.from(EN_WEIGHTS) };
const prior = {
  cn: Float64Array.from(CN_FEATURES, (n) => CN_PRIOR[n]),
  en: Float64Array.from(EN_FEATURES, (n) => EN_PRIOR[n]),
};
const use = (w) => {
  CN_WEIGHTS.set(w.cn);
  EN_WEIGHTS.set(w.en);
};
const detect = (t) => detectPii(t, { now: NOW });
const noModel = { now: NOW, boundaryModel: false, mentions: false };
const variants = [
  [
    'rules, lexicons, name statistics and the learned weights, no segmentation',
    (t) => detectPii(t, { ...noModel, segmentation: false }),
    learned,
  ],
  ['+ jieba segmentation, hand-set prior weights', (t) => detectPii(t, noModel), prior],
  ['+ jieba segmentation, learned weights', (t) => detectPii(t, noModel), learned],
  ['+ span-boundary model (CRF)', (t) => detectPii(t, { now: NOW, mentions: false }), learned],
  ['+ evidence from the rest of the text (mentions.ts), the default', detect, learned],
];
if (nlp)
  variants.push([
    '+ jieba, learned weights, + compromise people()',
    (t) => withCompromise(t, { now: NOW }),
    learned,
  ]);

/** Milliseconds per 1,000 characters over the records in one run of about `ms`, after a warm-up; p99 per text. */
function latencyRun(fn, records, ms = 1000) {
  const warm = performance.now();
  while (performance.now() - warm < 200) for (const r of records) fn(r.text);
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
function latency(fn, records) {
  const runs = Array.from({ length: RUNS }, () => latencyRun(fn, records));
  const per = runs.map((r) => r.per1000);
  return { min: Math.min(...per), median: median(per), p99: median(runs.map((r) => r.p99)) };
}

const pct = (x) => x.toFixed(3);
const table = (label, records) => {
  const e = evaluateSpans(records, detect);
  console.log(
    `${label}: ${records.length} texts, ${chars(records).toLocaleString('en-US')} characters, ` +
      `${records.reduce((s, r) => s + r.spans.length, 0)} gold spans, ${records.filter((r) => !r.spans.length).length} without PII\n`,
  );
  console.log('| type | gold | found | precision | recall |\n|---|---:|---:|---:|---:|');
  for (const s of e.perType)
    console.log(`| ${s.type} | ${s.gold} | ${s.found} | ${pct(s.precision)} | ${pct(s.recall)} |`);
  console.log(`\nTexts without PII with a finding: ${e.negativesWithFindings.length}\n`);
};
use(learned);
table('Newest test split (z001-z120)', newestZ);
table('Round-6 test split (y001-y122)', newestY);
table('Round-5 test split (x001-x122)', newestX);
table('Round-4 test split (w001-w124)', newest);
table('Conversational test split (v001-v136)', test);
table('Previous test split (u001-u134)', previous);

console.log(
  '| technique | PERSON P / R (y) | ADDRESS P / R (y) | PERSON P / R (x) | ADDRESS P / R (x) | PERSON P / R (w) | ADDRESS P / R (w) | PERSON P / R (v) | ADDRESS P / R (v) | PERSON P / R (u) | ADDRESS P / R (u) | PERSON P / R (dev) | no-PII texts hit (y + x + w + v + u) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---:|');
for (const [label, fn, weights] of variants) {
  use(weights);
  const get = (ev, t) => ev.perType.find((s) => s.type === t) ?? { precision: 1, recall: 1 };
  const pr = (ev, t) => `${pct(get(ev, t).precision)} / ${pct(get(ev, t).recall)}`;
  const y = evaluateSpans(newestY, fn);
  const x = evaluateSpans(newestX, fn);
  const w = evaluateSpans(newest, fn);
  const e = evaluateSpans(test, fn);
  const p = evaluateSpans(previous, fn);
  const d = evaluateSpans(dev, fn);
  console.log(
    `| ${label} | ${pr(y, 'PERSON')} | ${pr(y, 'ADDRESS')} | ${pr(x, 'PERSON')} | ${pr(x, 'ADDRESS')} | ${pr(w, 'PERSON')} | ${pr(w, 'ADDRESS')} | ${pr(e, 'PERSON')} | ${pr(e, 'ADDRESS')} | ${pr(p, 'PERSON')} | ${pr(p, 'ADDRESS')} | ${pr(d, 'PERSON')} | ${y.negativesWithFindings.length + x.negativesWithFindings.length + w.negativesWithFindings.length + e.negativesWithFindings.length + p.negativesWithFindings.length} |`,
  );
}
use(learned);

// Latency: the default detector on three kinds of text, RUNS runs of about a second each.
const english = [...newestY, ...newestX, ...newest, ...test, ...previous, ...dev].filter(
  (r) => !/[\u3400-\u9fff]/.test(r.text),
);
console.log(
  `\nLatency, ${RUNS} runs of about 1 s each per row (load average 1/5/15 min at start: ${loadAtStart})\n`,
);
console.log(
  '| text | characters | ms per 1,000 chars, minimum | median | p99 ms per text (median run) |\n|---|---:|---:|---:|---:|',
);
for (const [label, records, fn] of [
  ['conversational test split', test, detect],
  [
    'conversational test split, without the span-boundary model and mentions.ts',
    test,
    (t) => detectPii(t, noModel),
  ],
  ['English-only conversational texts', english, detect],
  ['synthetic zh/en corpus (200 sentences)', synthetic, detect],
]) {
  const { min, median: med, p99 } = latency(fn, records);
  console.log(
    `| ${label} | ${chars(records).toLocaleString('en-US')} | ${min.toFixed(3)} | ${med.toFixed(3)} | ${p99.toFixed(2)} |`,
  );
}
// The span-boundary model alone (tokens, features, forward-backward, Viterbi), on the same text as the first row.
const prepared = test.map((r) => {
  const norm = simplified(r.text);
  return { text: r.text, norm, segments: /[\u3400-\u9fff]/.test(r.text) ? segment(norm) : undefined };
});
const byText = new Map(prepared.map((p) => [p.text, p]));
{
  const {
    min,
    median: med,
    p99,
  } = latency((t) => {
    const p = byText.get(t);
    analyzeBoundaries(p.text, p.norm, p.segments);
  }, test);
  console.log(
    `| span-boundary model alone, conversational test split | ${chars(test).toLocaleString('en-US')} | ${min.toFixed(3)} | ${med.toFixed(3)} | ${p99.toFixed(2)} |`,
  );
}
const summary = (runs, key) =>
  `minimum ${Math.min(...runs.map((r) => r[key])).toFixed(0)}, median ${median(runs.map((r) => r[key])).toFixed(0)}`;
console.log(
  `\nFirst call in a fresh process (${COLD} processes each): import ${summary(cold.direct, 'importMs')} ms; ` +
    `first detectPii, segmenting in-process: ${summary(cold.direct, 'firstCallMs')} ms; ` +
    `through the worker thread (the nodes' path, awaited): ${summary(cold.worker, 'firstCallMs')} ms; ` +
    `RSS after it ${median(cold.direct.map((r) => r.rssMiB)).toFixed(0)} MiB`,
);

// Paired with another build (main's, before this change) in this process: the two alternate on the same texts, so
// the machine's load, which other sessions change minute by minute, falls on both alike. CPU time (user + system).
const pairedAt = process.argv.indexOf('--paired');
if (pairedAt >= 0) {
  const other = await import(new URL('detect.js', `file://${process.argv[pairedAt + 1]}/`).href);
  const PAIRS = arg('--pairs', 15);
  const cpu = (fn, records) => {
    const t0 = process.cpuUsage();
    for (const r of records) fn(r.text, { now: NOW });
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) / 1000 / chars(records)) * 1000;
  };
  console.log(
    `\nPaired with ${process.argv[pairedAt + 1]}, ${PAIRS} pairs, CPU ms per 1,000 characters (load ${load()} at its start)\n`,
  );
  console.log('| text | other: median | min | this: median | min | this over other, median of the pairs |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, records] of [
    ['conversational test split (v)', test],
    ['English dev texts', dev.filter((r) => !/[\u3400-\u9fff]/.test(r.text))],
  ]) {
    for (const fn of [other.detectPii, detectPii]) cpu(fn, records);
    const a = [];
    const b = [];
    for (let i = 0; i < PAIRS; i++) {
      a.push(cpu(other.detectPii, records));
      b.push(cpu(detectPii, records));
    }
    console.log(
      `| ${label} | ${median(a).toFixed(2)} | ${Math.min(...a).toFixed(2)} | ${median(b).toFixed(2)} | ${Math.min(...b).toFixed(2)} | ${median(b.map((x, i) => x / a[i])).toFixed(3)} |`,
    );
  }
}
console.log(`Load average at the end: ${load()}`);
