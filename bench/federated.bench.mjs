// Federated scorecard training (issue 19): German Credit, 70 % split across three in-process holders by loan
// purpose (the JSON messages the HTTP API carries, without the network), 30 % held out. Prints the held-out AUC
// against pooled training, the time and bytes per stage, and, with differential privacy, epsilon and the AUC it
// costs (mean and range over repeated runs: the noise is random).
// Run: npm run bench -- federated   (or node bench/federated.bench.mjs after tsc -b)
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { joinRequestSchema, updateRequestSchema } from '@finflow/contract';
import {
  joinSession,
  readScorecardModel,
  scoreScorecard,
  trainFederated,
  trainScorecard,
} from '@finflow/nodes/federated';

const data = new URL('../datasets/', import.meta.url);
const meta = JSON.parse(readFileSync(new URL('german-credit/labels.json', data), 'utf8'));
const rows = readFileSync(new URL('german-credit/german.data', data), 'utf8')
  .trim()
  .split('\n')
  .map((line) =>
    Object.fromEntries(
      line
        .trim()
        .split(/\s+/)
        .map((v, i) => [meta.columnOrder[i], /^\d+$/.test(v) ? Number(v) : v]),
    ),
  );
// Mulberry32 shuffle with seed 19, as the tests do.
let state = (Math.imul(19, 0x9e3779b1) ^ 0x6d2b79f5) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [rows[i], rows[j]] = [rows[j], rows[i]];
}
const cut = Math.round(rows.length * 0.7);
const train = rows.slice(0, cut);
const test = rows.slice(cut);
const holderOf = (p) =>
  p === 'A40' || p === 'A41' ? 'bank-cars' : p === 'A43' ? 'bank-retail' : 'bank-general';
const parts = new Map();
for (const r of train) parts.set(holderOf(r.purpose), [...(parts.get(holderOf(r.purpose)) ?? []), r]);
const features = meta.columnOrder.filter((c) => c !== 'class');
const spec = { target: 'class', positiveClass: '2', features, categorical: [], numeric: [] };

const bytes = new Map();
const ms = new Map();
function holder(id, own) {
  const sessions = new Map();
  return {
    id,
    async join(request) {
      const parsed = joinRequestSchema.parse(JSON.parse(JSON.stringify(request)));
      const { session, response } = joinSession(own, parsed, { minParticipants: 2 });
      sessions.set(parsed.session, session);
      return JSON.parse(JSON.stringify(response));
    },
    async update(session, request) {
      const body = JSON.stringify(request);
      const t0 = performance.now();
      const answer = JSON.stringify(
        sessions.get(session).update(updateRequestSchema.parse(JSON.parse(body))),
      );
      const k = request.stage;
      ms.set(k, [...(ms.get(k) ?? []), performance.now() - t0]);
      bytes.set(k, Math.max(bytes.get(k) ?? 0, body.length, answer.length));
      return JSON.parse(answer);
    },
    async leave(session) {
      sessions.delete(session);
    },
  };
}
const holders = () => [...parts].map(([id, own]) => holder(id, own));
const options = {
  spec,
  l2: 1,
  maxRounds: 30,
  tolerance: 1e-8,
  minHolders: 2,
  maxAttempts: 3,
  holderTimeoutMs: 60_000,
  costMatrix: { falseNegative: 5, falsePositive: 1 },
  evaluationBins: 1000,
};
const auc = (model) => {
  const scored = scoreScorecard(readScorecardModel(model), test, {
    scaling: { basePoints: 600, baseOdds: 50, pdo: 20 },
    bands: { basis: 'probability', approve: 0.2, decline: 0.5 },
    maxReasons: 1,
    keepColumns: [],
    labels: {},
  });
  const y = test.map((r) => (String(r.class) === '2' ? 1 : 0));
  let pos = 0;
  let wins = 0;
  scored.forEach((a, i) => {
    if (y[i] !== 1) return;
    pos++;
    scored.forEach((b, j) => {
      if (y[j] === 1) return;
      wins += a.probability > b.probability ? 1 : a.probability === b.probability ? 0.5 : 0;
    });
  });
  return wins / (pos * (y.length - pos));
};

const pooled = trainScorecard(train, {
  ...spec,
  positiveClass: '2',
  exclude: [],
  seed: 1,
  thresholdFrom: 'costMatrix',
  l2: 1,
  costMatrix: options.costMatrix,
});
const pooledAuc = auc(pooled);
const t0 = performance.now();
const { model, report } = await trainFederated(holders(), { ...options, session: randomUUID() });
const total = performance.now() - t0;
console.log(
  '## Federated scorecard (German Credit, 3 holders by purpose, 700 training rows, 300 held out)\n',
);
console.log('| figure | value |\n|---|---|');
console.log(`| held-out AUC, pooled training | ${pooledAuc.toFixed(4)} |`);
console.log(`| held-out AUC, federated Newton | ${auc(model).toFixed(4)} |`);
console.log(
  `| largest coefficient difference | ${Math.max(...model.coefficients.map((b, j) => Math.abs(b - pooled.coefficients[j]))).toExponential(1)} |`,
);
console.log(`| rounds | ${report.rounds} (+ statistics and evaluation) |`);
console.log(`| whole training, in process | ${total.toFixed(0)} ms |`);
for (const [stage, list] of ms) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(
    `| ${stage}: holder answer (compute + mask) p50 | ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms; largest message ${(bytes.get(stage) / 1024).toFixed(0)} KiB |`,
  );
}
console.log('\n## With differential privacy (40 rounds, clip 1, delta 1e-5; 5 runs each)\n');
console.log(
  '| target epsilon | epsilon spent | held-out AUC mean (min-max) | AUC cost vs pooled |\n|---|---|---|---|',
);
for (const epsilon of [1, 3, 8]) {
  const aucs = [];
  let spent = 0;
  for (let i = 0; i < 5; i++) {
    const r = await trainFederated(holders(), {
      ...options,
      evaluationBins: 20,
      dp: { epsilon, delta: 1e-5, clipNorm: 1, rounds: 40, learningRate: 2 },
    });
    aucs.push(auc(r.model));
    spent = r.report.privacy.epsilon;
  }
  const mean = aucs.reduce((s, v) => s + v, 0) / aucs.length;
  console.log(
    `| ${epsilon} | ${spent.toFixed(3)} | ${mean.toFixed(3)} (${Math.min(...aucs).toFixed(3)}-${Math.max(...aucs).toFixed(3)}) | ${(pooledAuc - mean).toFixed(3)} |`,
  );
}
