// Ablation by 5-fold cross-validation over the dev texts of datasets/pii-conversational, both learned parts held
// out: for each fold the person model (train-person-model.mjs's fit, lambda 0.3) and the span-boundary model
// (train-boundary-model.mjs's CRF) are trained on the other four folds, and detectPii's exact spans are counted
// on the fold. One arm a run; arms differ in the recognisers' build (--build, a directory under dist/compliance:
// `pii` is this tree; another holds a build of other recognisers), the person model's features (--person 6, or 5:
// without round 6's ordinary-English-word feature and holiday list) and the span-boundary model's setting and join
// (--crf 6: cut-off 0.3 with round 6's join; 5: cut-off 0.15 with round 5's join; 7: cut-off 0.3 with the join
// in boundary-weights.json). Prints the pooled and per-fold counts and the texts without personal data that get a
// finding, as one JSON line at the end.
// Run: npx tsc -b nodes/builtin && node nodes/builtin/src/compliance/pii/ablate-cv.mjs --build pii --person 6 --crf 6
// The test splits are never read here.
import { readFileSync } from 'node:fs';
import { boundaryItems, trainBoundary, trainPerson } from './training.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const BUILD = arg('--build', 'pii');
const PERSON = arg('--person', '6');
const CRF = arg('--crf', '6');
const base = new URL(`../../../dist/compliance/${BUILD}/`, import.meta.url);
const load = (name) => import(new URL(name, base).href);
const { BOUNDARY_LABELS, tokenFeatures, tokenize } = await load('boundary-features.js');
const { forwardBackward, transitionMatrix, useBoundaryWeights } = await load('boundary-model.js');
const { segment, simplified } = await load('segmenter.js');
const { detectPii } = await load('detect.js');
const { evaluateSpans } = await load('evaluate.js');
const { CN_FEATURES, CN_PRIOR, CN_WEIGHTS, EN_FEATURES, EN_PRIOR, EN_WEIGHTS } =
  await load('person-model.js');
const { chinesePersonCandidates, englishPersonCandidates } = await load('person.js');
const lexicons = await load('lexicons.js');

const DEV = new URL('../../../../../datasets/pii-conversational/dev.jsonl', import.meta.url);
const NOW = new Date('2025-06-01T00:00:00Z');
const records = readFileSync(DEV, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

// Round 5's person model: no ordinary-word feature (its column is held at 0) and no holiday list.
const dropped = PERSON === '5' ? EN_FEATURES.indexOf('ordinary') : -1;
if (PERSON === '5' && lexicons.EN_HOLIDAYS) lexicons.EN_HOLIDAYS.clear();

const { items: prepared } = boundaryItems(records, { tokenize, tokenFeatures, simplified, segment });

// --- the person model (as train-person-model.mjs) ---
const priorCn = Float64Array.from(CN_FEATURES, (n) => CN_PRIOR[n]);
const priorEn = Float64Array.from(EN_FEATURES, (n) => (EN_FEATURES.indexOf(n) === dropped ? 0 : EN_PRIOR[n]));
const PERSON_TRAINING = {
  priorCn,
  priorEn,
  chinesePersonCandidates,
  englishPersonCandidates,
  enColumnOff: dropped,
};

// --- the span-boundary model (as train-boundary-model.mjs) ---
// The settings and joins each round shipped (boundary-weights.json at 33165e4 and at 162c10c).
const CRF_SETTINGS = {
  5: {
    model: { l2: 1, minCount: 3, prune: 0.15 },
    combine: {
      PERSON: { adjustMargin: 0.7, addThreshold: 0.7, agreeThreshold: 0.6 },
      ADDRESS: { adjustMargin: 0.7, addThreshold: 0.7, agreeThreshold: null },
    },
  },
  6: {
    model: { l2: 1, minCount: 3, prune: 0.3 },
    combine: {
      PERSON: { adjustMargin: null, addThreshold: 0.7, agreeThreshold: 0.6, doubtFloor: 0.02 },
      ADDRESS: { adjustMargin: 0.5, addThreshold: 0.5, agreeThreshold: null },
    },
  },
};

// 7: this round's, the setting and join train-boundary-model.mjs chose and wrote (cut-off 0.3 on 704 texts).
CRF_SETTINGS[7] = {
  model: { l2: 1, minCount: 3, prune: 0.3 },
  combine: JSON.parse(readFileSync(new URL('./boundary-weights.json', import.meta.url), 'utf8')).combine,
};

const FOLDS = 5;
const zero = () => ({ tp: 0, found: 0, gold: 0 });
const add = (a, b) => ({ tp: a.tp + b.tp, found: a.found + b.found, gold: a.gold + b.gold });
const perFold = [];
const { model, combine } = CRF_SETTINGS[CRF];
for (let k = 0; k < FOLDS; k++) {
  const train = prepared.filter((_, i) => i % FOLDS !== k);
  const test = prepared.filter((_, i) => i % FOLDS === k);
  const person = trainPerson(train, 0.3, PERSON_TRAINING);
  CN_WEIGHTS.set(person.cn);
  EN_WEIGHTS.set(person.en);
  useBoundaryWeights({
    ...trainBoundary(train, model, { BOUNDARY_LABELS, forwardBackward, transitionMatrix }),
    combine,
  });
  const fold = { PERSON: zero(), ADDRESS: zero(), noPii: 0, noPiiHit: 0 };
  for (const { record } of test) {
    const findings = detectPii(record.text, { now: NOW });
    const e = evaluateSpans([record], () => findings);
    for (const type of ['PERSON', 'ADDRESS']) {
      const s = e.perType.find((t) => t.type === type);
      fold[type] = add(fold[type], { tp: s?.truePositives ?? 0, found: s?.found ?? 0, gold: s?.gold ?? 0 });
    }
    if (record.spans.length === 0) {
      fold.noPii++;
      if (findings.length) fold.noPiiHit++;
    }
  }
  perFold.push(fold);
  console.error(`fold ${k}: ${JSON.stringify(fold)}`);
}
const total = perFold.reduce((a, f) => ({
  PERSON: add(a.PERSON, f.PERSON),
  ADDRESS: add(a.ADDRESS, f.ADDRESS),
  noPii: a.noPii + f.noPii,
  noPiiHit: a.noPiiHit + f.noPiiHit,
}));
console.log(JSON.stringify({ build: BUILD, person: PERSON, crf: CRF, total, perFold }));
