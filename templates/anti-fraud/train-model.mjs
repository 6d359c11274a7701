// Trains the anti-fraud template's fraud model and stores it in flow.json (the `fraudModel` node's stored model),
// with its version in the audit record. Reproducible: the data, the held-out fixture rows, the seed and the
// training date are fixed in train-config.json, so a re-run writes a byte-identical flow.json.
//
// Run after `npm install` (which builds the packages):
//   node templates/anti-fraud/train-model.mjs           train, print the cross-validated figures, update flow.json
//   node templates/anti-fraud/train-model.mjs --check   train and fail if flow.json holds a different model
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

/** The ULB/Worldline subset as objects; every value is a number. */
function loadRows() {
  const lines = readFileSync(new URL(config.dataset, root), 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',').map((h) => h.replace(/^"|"$/g, ''));
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(header.map((h, i) => [h, Number(cells[i])]));
  });
}

const rows = loadRows();
// The fixtures' transactions are kept out of training, so the template scores them as unseen transactions.
const heldOut = new Set(config.heldOutRows);
const training = rows.filter((_, i) => !heldOut.has(i));

const runtime = createRuntime({
  registry: createRegistry(builtinNodes),
  // The training date is part of the artefact: fixed, so the artefact depends only on the data and settings.
  services: { clock: { now: () => Date.parse(config.trainedAt) } },
});
const started = performance.now();
const result = await runtime.runNode({ type: 'risk.fraudScore', config: config.node }, { table: training });
if (result.status !== 'succeeded') {
  console.error(`training failed: ${result.error?.code} ${result.error?.message}`);
  process.exit(1);
}
const seconds = (performance.now() - started) / 1000;
const model = result.outputs.model;
const cv = result.outputs.metrics;
const compact = JSON.stringify(model);
const version = `fraud-${model.algorithm}-${createHash('sha256').update(compact).digest('hex').slice(0, 12)}`;

const flow = JSON.parse(readFileSync(flowUrl, 'utf8'));
const scoring = flow.nodes.find((n) => n.id === 'fraudModel');
const audit = flow.nodes.find((n) => n.id === 'audit');
if (!scoring || !audit) throw new Error('flow.json has no fraudModel or audit node');
scoring.config.model = model;
const versioned = /"version": "fraud-[^"]*"/;
if (!versioned.test(audit.config.expression))
  throw new Error('the audit expression has no model version field');
audit.config.expression = audit.config.expression.replace(versioned, `"version": "${version}"`);

const options = await prettier.resolveConfig(flowUrl);
const text = await prettier.format(JSON.stringify(flow), { ...options, parser: 'json' });

const figure = (x) => x.toFixed(4);
console.log(`| | |
|---|---|
| training rows | ${model.training.rows} (${model.training.positives} frauds; ${heldOut.size} fixture rows held out) |
| algorithm | ${model.algorithm}${model.gbt ? `, ${model.gbt.trees.length} trees of depth ${model.gbt.maxDepth}` : ''} |
| ${cv.k}-fold CV AUC (mean of folds) | ${figure(cv.auc)} |
| recall at ${cv.recallAtFpr.fpr * 100} % false positives | ${figure(cv.recallAtFpr.recall)} |
| review / block thresholds | ${figure(model.thresholds.review)} / ${figure(model.thresholds.block)} |
| artefact | ${compact.length.toLocaleString('en-US')} bytes as compact JSON |
| flow.json | ${Buffer.byteLength(text).toLocaleString('en-US')} bytes |
| version | ${version} |
| training time | ${seconds.toFixed(1)} s |`);

if (check) {
  if (readFileSync(flowUrl, 'utf8') !== text) {
    console.error('flow.json does not hold the model this script trains: run it without --check');
    process.exit(1);
  }
  console.log('\nflow.json holds this model.');
} else {
  writeFileSync(flowUrl, text);
  console.log('\nflow.json updated.');
}
