// The rollout's cost on the endpoint path: choosing the version of a call (a SHA-256 of the subject) and judging
// a stage's gates over a full in-memory window (run once a second per live rollout, off the request path).
import { performance } from 'node:perf_hooks';
import { armOf } from '../server/dist/services/rollout-split.js';
import { defaultGates, evaluateGates } from '../server/dist/services/rollout-gates.js';

const state = { rolloutId: 'ro_bench', stage: 'expansion', share: 25, subjectPath: 'customer.id' };
const inputs = Array.from({ length: 100_000 }, (_, i) => ({ customer: { id: `CUST-${i}` }, amount: i }));

function timeSplit() {
  for (let i = 0; i < 10_000; i++) armOf(state, inputs[i], 'key_1');
  const t0 = performance.now();
  let challenger = 0;
  for (const input of inputs) if (armOf(state, input, 'key_1') === 'challenger') challenger++;
  const us = ((performance.now() - t0) * 1000) / inputs.length;
  return { us, share: challenger / inputs.length };
}

function timeGates(n) {
  const observations = Array.from({ length: n }, (_, i) => ({
    at: i,
    arm: i % 3 === 0 ? 'champion' : i % 3 === 1 ? 'challenger' : 'shadow',
    version: 1 + (i % 2),
    ok: i % 97 !== 0,
    ms: 5 + (i % 50),
    decision: i % 2 ? '"approve"' : '"decline"',
    agree: i % 3 === 2 ? i % 11 !== 0 : null,
  }));
  const outcome = { champion: Array(500).fill(true), challenger: Array(500).fill(true) };
  const gates = [
    ...defaultGates(),
    { metric: 'approvalRateDrift', threshold: 0.1, minSamples: 50, action: 'block' },
  ];
  const t0 = performance.now();
  const runs = 20;
  for (let i = 0; i < runs; i++)
    evaluateGates(gates, { observations, outcome, review: outcome, approveDecision: '"approve"' });
  return (performance.now() - t0) / runs;
}

const split = timeSplit();
console.log('\n### Rollout\n');
console.log('| what | figure |');
console.log('|---|---|');
console.log(
  `| choosing the version of one call (sticky split on a subject path), 100,000 calls | ${split.us.toFixed(2)} µs per call; observed share ${(split.share * 100).toFixed(2)} % for 25 % |`,
);
for (const n of [2_000, 20_000])
  console.log(
    `| judging 5 gates over ${n.toLocaleString('en')} observations | ${timeGates(n).toFixed(2)} ms |`,
  );
