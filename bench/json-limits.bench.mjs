// The cost of the JSON limits every body goes through (issue 10, finding 5): the one-pass scan for nesting and
// numbers that overflow (checkJsonText) before JSON.parse, compared with JSON.parse alone, on an endpoint's input
// and on flow documents; and canonicalJson (input hashes, audit details), whose recursion now hands values past
// 256 levels to an explicit stack. Mean per call over about 1 s each.
// Run: npm run bench -- json-limits   (or node --expose-gc bench/json-limits.bench.mjs after tsc -b)
import { readFileSync } from 'node:fs';
import { canonicalJson } from '../server/dist/hash.js';
import { checkJsonText, parseJson } from '../server/dist/security/safe-json.js';

/** What parsing a body cost before the limits: the prototype-key guard (a reviver when a key may be risky). */
const suspicious = /__proto__|constructor|\\u/;
const guard = (key, value) => {
  if (key === '__proto__') throw new Error('forbidden');
  return value;
};
const before = (text) => (suspicious.test(text) ? JSON.parse(text, guard) : JSON.parse(text));

const text = (rel) => readFileSync(new URL(`../templates/${rel}`, import.meta.url), 'utf8');
const templates = ['anti-fraud', 'credit-approval', 'multimodal-customer-service', 'robo-advisory'];
const flows = templates.map((t) => JSON.parse(text(`${t}/flow.json`)));
const bigDocument = JSON.stringify({
  document: { ...flows[0], copies: Array.from({ length: 17 }, () => flows) },
});

const cases = [
  [
    'endpoint input: credit application',
    JSON.stringify(JSON.parse(text('credit-approval/fixtures/borderline-review.json'))),
  ],
  [
    'endpoint input: card transaction',
    JSON.stringify(JSON.parse(text('anti-fraud/fixtures/account-takeover.json'))),
  ],
  ['flow document: anti-fraud template', JSON.stringify({ document: flows[0] })],
  [`flow save near the 5 MiB limit`, bigDocument],
];

/**
 * Median µs per call of each function, measured in alternating rounds (so a busy machine slows all of them
 * alike and the ratios hold).
 */
function times(fns, rounds = 41) {
  const per = fns.map(() => []);
  for (const f of fns) for (let i = 0; i < 20; i++) f();
  for (let r = 0; r < rounds; r++) {
    fns.forEach((f, k) => {
      let n = 0;
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < 10) {
        f();
        n++;
        t = performance.now();
      }
      per[k].push(((t - t0) * 1000) / n);
    });
  }
  return per.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
}
const time = (fn) => times([fn])[0];

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`);
console.log(
  '| body | size | JSON.parse | before: guard + parse | the scan alone | now: scan + guard + parse | added |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, body] of cases) {
  const [plain, was, scan, limited] = times([
    () => JSON.parse(body),
    () => before(body),
    () => checkJsonText(body, 64),
    () => parseJson(body, { maxDepth: 64 }),
  ]);
  const kb = Buffer.byteLength(body) / 1024;
  console.log(
    `| ${name} | ${kb >= 1024 ? `${(kb / 1024).toFixed(2)} MiB` : `${kb.toFixed(1)} KiB`} | ${fmt(plain)} | ${fmt(was)} | ${fmt(scan)} | ${fmt(limited)} | ${(((limited - was) / was) * 100).toFixed(0)}% |`,
  );
}

console.log('\n| value | canonicalJson |');
console.log('|---|---:|');
const application = JSON.parse(cases[0][1]);
let deep = { leaf: 1 };
for (let i = 0; i < 10_000; i++) deep = { a: deep };
console.log(`| credit application (endpoint input hash) | ${fmt(time(() => canonicalJson(application)))} |`);
console.log(
  `| a value 10,000 levels deep (explicit stack past 256) | ${fmt(time(() => canonicalJson(deep)))} |`,
);
