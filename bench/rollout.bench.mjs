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

// Several servers: each reads the live rollouts back from the store every `syncMs` (500 ms) off the request path,
// and with more than one process feeding the gates also the window of each. The call path gains one CPU-ledger
// entry (process.cpuUsage at the call's start and end).
const { CpuLedger } = await import('../server/dist/services/cpu-ledger.js');
const { SqliteRepository } = await import('../server/dist/repo/sqlite.js');
const { RolloutStore } = await import('../server/dist/repo/rollout-store.js');
const { mkdtempSync, rmSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');

function timeLedger() {
  const ledger = new CpuLedger();
  const n = 200_000;
  const open = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    open.push(ledger.begin());
    if (open.length > 8) ledger.end(open.shift());
  }
  for (const t of open) ledger.end(t);
  return ((performance.now() - t0) * 1000) / n;
}

async function timeSync(live, observations) {
  const dir = mkdtempSync(join(tmpdir(), 'finflow-rollout-bench-'));
  const repo = SqliteRepository.open(dir);
  await repo.migrate();
  const store = new RolloutStore(repo.db);
  const t = Date.now();
  for (let i = 0; i < live; i++) {
    const id = `ro_${i}`;
    await store.create(
      {
        id,
        workspaceId: 'ws',
        endpointId: `ep_${i}`,
        flowId: 'flw',
        championVersion: 1,
        challengerVersion: 2,
        stage: 'expansion',
        status: 'active',
        step: 1,
        share: 25,
        plan: { pilotShare: 5, steps: [5, 25, 50, 100], gates: defaultGates() },
        reason: null,
        revision: 1,
        stageEnteredAt: t,
        createdAt: t,
        createdBy: 'u',
        updatedAt: t,
      },
      {
        rolloutId: id,
        seq: 1,
        at: t,
        actor: { type: 'user', id: 'u' },
        action: 'started',
        fromStage: null,
        toStage: 'expansion',
        fromShare: null,
        toShare: 25,
        reason: 'bench',
        details: {},
      },
    );
    await store.addObservations(
      Array.from({ length: observations }, (_, k) => ({
        rolloutId: id,
        at: t + k,
        arm: k % 2 ? 'challenger' : 'champion',
        version: 1 + (k % 2),
        ok: true,
        ms: 10 + (k % 40),
        decision: '"approve"',
        agree: null,
        cpuMs: 0.5 + (k % 7) / 10,
      })),
    );
  }
  const runs = 20;
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) await store.live();
  const liveMs = (performance.now() - t0) / runs;
  // The first read of each window (a server learning of the rollouts), then a sync that finds 20 new rows each.
  const cursors = [];
  t0 = performance.now();
  for (let k = 0; k < live; k++) cursors[k] = (await store.observationsAfter(`ro_${k}`, 0, t, 5_000)).cursor;
  const firstMs = performance.now() - t0;
  let windowMs = 0;
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < live; k++)
      await store.addObservations(
        Array.from({ length: 20 }, (_, j) => ({
          rolloutId: `ro_${k}`,
          at: t + observations + i * 20 + j,
          arm: 'challenger',
          version: 2,
          ok: true,
          ms: 12,
          decision: '"approve"',
          agree: null,
          cpuMs: 0.7,
        })),
      );
    t0 = performance.now();
    for (let k = 0; k < live; k++)
      cursors[k] = (await store.observationsAfter(`ro_${k}`, cursors[k], t, 5_000)).cursor;
    windowMs += performance.now() - t0;
  }
  windowMs /= runs;
  await repo.close();
  rmSync(dir, { recursive: true, force: true });
  return { liveMs, firstMs, windowMs };
}

console.log(
  `| CPU ledger: one call's begin and end (process.cpuUsage twice), 200,000 calls | ${timeLedger().toFixed(2)} µs per call |`,
);
for (const [live, obs] of [
  [10, 5_000],
  [100, 500],
]) {
  const s = await timeSync(live, obs);
  console.log(`| sync (SQLite): reading ${live} live rollouts | ${s.liveMs.toFixed(2)} ms per sync |`);
  console.log(
    `| shared mode: first read of ${live} windows of ${obs.toLocaleString('en')} observations (once per rollout or stage) | ${s.firstMs.toFixed(2)} ms |`,
  );
  console.log(
    `| shared mode: a sync reading back 20 new observations of each of ${live} rollouts | ${s.windowMs.toFixed(2)} ms per sync |`,
  );
}
