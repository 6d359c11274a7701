// Compliance nodes (issue 3): PII detection and masking throughput on the zh/en PII corpus (characters and
// sentences per second, called directly and through the runtime), the regulation checklist's time per document
// on the four regulatory texts, and marketing-check / DP-aggregate throughput.
// Run: npm run bench -- compliance   (or node --expose-gc bench/compliance.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';
import { detectPii, maskText } from '../nodes/builtin/dist/compliance/index.js';

const data = new URL('../datasets/', import.meta.url);
const read = (path) => readFileSync(new URL(path, data), 'utf8');
const corpus = read('pii-corpus/zh_en_pii_synthetic.jsonl')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text);
const corpusChars = corpus.reduce((s, t) => s + t.length, 0);

const find = (type) => {
  const def = builtinNodes.find((d) => d.type === type);
  if (!def) throw new Error(`${type} is not registered`);
  return def;
};
const runtime = createRuntime({ registry: createRegistry(builtinNodes) });
const runNode = async (type, inputs, config = {}) => {
  const r = await runtime.runNode({ type, version: 1, config }, inputs);
  if (r.status !== 'succeeded') throw new Error(`${type}: ${r.error?.code} ${r.error?.message}`);
  return r.outputs;
};
for (const t of [
  'compliance.piiDetect',
  'compliance.piiMask',
  'compliance.regulationChecklist',
  'compliance.marketingCheck',
  'compliance.dpAggregate',
])
  find(t);

/** Runs `fn` over the corpus until `ms` have passed; returns passes per second. */
async function throughput(fn, ms = 2000) {
  // Warm up for half a second: the phone metadata and the regular expressions are compiled lazily.
  const warm = performance.now();
  while (performance.now() - warm < 500) for (const t of corpus) await fn(t);
  globalThis.gc?.();
  let passes = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (const t of corpus) await fn(t);
    passes++;
  }
  return passes / ((performance.now() - start) / 1000);
}

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
const rows = [];
const corpusLine = (label, passesPerSecond) =>
  rows.push([
    label,
    `${fmt(passesPerSecond * corpus.length)} sentences/s`,
    `${fmt(passesPerSecond * corpusChars)} chars/s`,
  ]);

const noPhone = [
  'CN_RESIDENT_ID',
  'CN_MOBILE',
  'BANK_CARD',
  'EMAIL_ADDRESS',
  'IBAN_CODE',
  'PERSON',
  'ADDRESS',
];
corpusLine('piiDetect, direct (all 8 types)', await throughput((t) => detectPii(t)));
corpusLine(
  'piiDetect, direct (without PHONE_NUMBER)',
  await throughput((t) => detectPii(t, { types: noPhone })),
);
corpusLine(
  'piiDetect, through the runtime',
  await throughput((t) => runNode('compliance.piiDetect', { text: t })),
);
const partial = { rules: {}, defaultStrategy: 'partial', maskChar: '*' };
corpusLine('piiMask (partial), direct', await throughput((t) => maskText(t, detectPii(t), partial)));
corpusLine(
  'piiMask (partial), through the runtime',
  await throughput((t) => runNode('compliance.piiMask', { text: t })),
);
const secretRuntime = createRuntime({
  registry: createRegistry(builtinNodes),
  services: { secrets: { get: async () => 'bench-key-0123456789abcdef' } },
});
corpusLine(
  'piiMask (HMAC pseudonyms), through the runtime',
  await throughput(async (t) => {
    const r = await secretRuntime.runNode(
      {
        type: 'compliance.piiMask',
        version: 1,
        config: { defaultStrategy: 'pseudonym', keyCredential: 'k' },
      },
      { text: t },
    );
    if (r.status !== 'succeeded') throw new Error(r.error?.message);
  }),
);

console.log(
  `PII corpus: ${corpus.length} sentences, ${corpusChars.toLocaleString('en-US')} characters (zh + en)\n`,
);
console.log('| path | sentences | characters |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

// Regulation checklist: median time per document.
const regs = [
  ['PIPL (zh, 74 articles)', 'regulatory-text/zh_PIPL_个人信息保护法_2021.md'],
  ['征信业管理条例 (zh, 47 articles)', 'regulatory-text/zh_征信业管理条例_2013.md'],
  ['GDPR arts. 5, 22, 32, 33 (en)', 'regulatory-text/en_GDPR_articles_5_22_32_33.md'],
  ['Reg B § 1002.9 (en)', 'regulatory-text/en_US_12CFR1002.9_RegB_notifications.md'],
];
console.log(
  '\n| regulationChecklist document | characters | articles | items | median ms / document |\n|---|---|---|---|---|',
);
for (const [label, path] of regs) {
  const text = read(path);
  const out = await runNode('compliance.regulationChecklist', { text });
  const times = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await runNode('compliance.regulationChecklist', { text });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `| ${label} | ${text.length.toLocaleString('en-US')} | ${out.summary.articles} | ${out.summary.items} | ${times[15].toFixed(1)} |`,
  );
}

// Marketing check and DP aggregate through the runtime.
const promo =
  '鑫享理财，保本保收益，年化收益6%，零风险稳赚不赔！本产品为非保本浮动收益型，市场有风险，投资需谨慎。';
let n = 0;
let t0 = performance.now();
while (performance.now() - t0 < 1500) {
  await runNode('compliance.marketingCheck', { text: promo });
  n++;
}
const marketingRate = n / ((performance.now() - t0) / 1000);
const german = read('german-credit/german.data')
  .trim()
  .split('\n')
  .map((l) => {
    const f = l.trim().split(/\s+/);
    return { amount: Number(f[4]), age: Number(f[12]) };
  });
const dpConfig = {
  aggregates: [
    { op: 'count', epsilon: 0.5 },
    { op: 'sum', column: 'amount', lower: 0, upper: 20000, epsilon: 0.5 },
    { op: 'mean', column: 'age', lower: 18, upper: 80, epsilon: 0.5 },
  ],
};
n = 0;
t0 = performance.now();
while (performance.now() - t0 < 1500) {
  await runNode('compliance.dpAggregate', { table: german }, dpConfig);
  n++;
}
const dpRate = n / ((performance.now() - t0) / 1000);
console.log('\n| node | throughput |\n|---|---|');
console.log(`| marketingCheck (${promo.length}-char promotion, CN rules) | ${fmt(marketingRate)} texts/s |`);
console.log(
  `| dpAggregate (count + sum + mean over German Credit, 1,000 rows) | ${fmt(dpRate * german.length)} rows/s (${fmt(dpRate)} runs/s) |`,
);
