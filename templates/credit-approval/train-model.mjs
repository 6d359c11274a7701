// Trains the credit-approval template's scorecard with the risk.scorecard node (train mode) on German Credit, on
// the reviewed coarse classes of train-config.json, with the readable names of labels.json (and their Chinese
// names, labelsZh) for the adverse-action reasons and the 5:1 cost matrix of the data's documentation, and stores it in flow.json (the `scorecard` node's stored model), with its version in the
// decision. Reproducible: the data, the held-out fixture rows, the folds' seed and the training date are fixed in
// train-config.json, so a re-run writes a byte-identical flow.json.
//
// Run after `npm install` (which builds the packages):
//   node templates/credit-approval/train-model.mjs           train, print the cross-validated figures, update flow.json
//   node templates/credit-approval/train-model.mjs --check   train and fail if flow.json holds a different model
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes } from '@finflow/nodes';
import * as prettier from 'prettier';

const here = new URL('./', import.meta.url);
const root = new URL('../../', import.meta.url);
const config = JSON.parse(readFileSync(new URL('train-config.json', here), 'utf8'));
const flowUrl = new URL('flow.json', here);
const check = process.argv.includes('--check');

/** german.data as objects keyed by the OpenML credit-g names (labels.json): numbers as numbers, codes as text. */
function loadGermanCredit() {
  const meta = JSON.parse(readFileSync(new URL(config.labels, root), 'utf8'));
  const rows = readFileSync(new URL(config.dataset, root), 'utf8')
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
  return { rows, labels: { columns: meta.columns, values: meta.values } };
}

const { rows, labels } = loadGermanCredit();
// The fixtures' applicants are kept out of training, so the template scores them as new applicants.
const heldOut = new Set(config.heldOutRows);
const training = rows.filter((_, i) => !heldOut.has(i));

const runtime = createRuntime({
  registry: createRegistry(builtinNodes),
  // The training date is part of the artefact: fixed, so the artefact depends only on the data and settings.
  services: { clock: { now: () => Date.parse(config.trainedAt) } },
});
const result = await runtime.runNode(
  { type: 'risk.scorecard', config: { ...config.node, labels: { ...labels, zh: config.labelsZh } } },
  { table: training },
);
if (result.status !== 'succeeded') {
  console.error(`training failed: ${result.error?.code} ${result.error?.message}`);
  process.exit(1);
}
const model = result.outputs.model;
const cv = result.outputs.metrics;
const compact = JSON.stringify(model);
const version = `scorecard-${createHash('sha256').update(compact).digest('hex').slice(0, 12)}`;

const flow = JSON.parse(readFileSync(flowUrl, 'utf8'));
const scoring = flow.nodes.find((n) => n.id === 'scorecard');
const decide = flow.nodes.find((n) => n.id === 'decide');
if (!scoring || !decide) throw new Error('flow.json has no scorecard or decide node');
scoring.config.model = model;
const versioned = /"scorecardVersion": "scorecard-[^"]*"/;
if (!versioned.test(decide.config.expression))
  throw new Error('the decide expression has no scorecardVersion field');
decide.config.expression = decide.config.expression.replace(versioned, `"scorecardVersion": "${version}"`);

const options = await prettier.resolveConfig(flowUrl);
const text = await prettier.format(JSON.stringify(flow), { ...options, parser: 'json' });

const figure = (x) => x.toFixed(4);
console.log(`| | |
|---|---|
| training rows | ${model.training.rows} (${model.training.positives} bad; ${heldOut.size} fixture rows held out) |
| features | ${model.encoders.map((e) => e.column).join(', ')} |
| ${cv.k}-fold CV AUC (mean of folds) | ${figure(cv.auc)} |
| CV average cost per applicant (5:1, threshold ${figure(cv.threshold)}) | ${figure(cv.cost)} |
| CV accuracy at that threshold | ${figure(cv.accuracy)} |
| age classes (bad rate) | ${model.encoders
  .find((e) => e.column === 'age')
  .classes.map(
    (c) => `${c.from ?? 0}-${c.to === undefined ? '' : c.to - 1}: ${((100 * c.bads) / c.rows).toFixed(0)} %`,
  )
  .join(', ')} |
| smallest coefficient of a classed characteristic | ${figure(Math.min(...model.encoders.map((e) => model.coefficients[model.featureNames.indexOf(e.column)])))} (positive: every reviewed trend holds) |
| artefact | ${compact.length.toLocaleString('en-US')} bytes as compact JSON |
| version | ${version} |`);

console.log(`\nCoarse classing:\n${model.training.notes.map((n) => `- ${n}`).join('\n')}`);

if (check) {
  if (readFileSync(flowUrl, 'utf8') !== text) {
    console.error('flow.json does not hold the scorecard this script trains: run it without --check');
    process.exit(1);
  }
  console.log('\nflow.json holds this scorecard.');
} else {
  writeFileSync(flowUrl, text);
  console.log('\nflow.json updated.');
}
