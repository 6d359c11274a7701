// What model artefacts cost flow versions: on save, extracting each model (canonical JSON and its SHA-256) and
// storing it; on read (the editor, export, and each first run of a version), resolving the references and checking
// each model against its hash. Measured on the credit-approval template's scorecard and on a BANKING77 text
// classifier (the largest model a built-in node holds), in SQLite in a temporary folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { builtinNodes } from '@finflow/nodes';
import { createRegistry } from '@finflow/runtime';
import { trainClassifier } from '../nodes/builtin/dist/model/classifier.js';
import { SqliteRepository } from '../server/dist/repo/sqlite.js';
import { ArtefactService } from '../server/dist/services/artefacts.js';

const root = new URL('../', import.meta.url);
const template = JSON.parse(readFileSync(new URL('templates/credit-approval/flow.json', root), 'utf8'));
const rows = readFileSync(new URL('datasets/banking-intents/banking77_train.csv', root), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const comma = line.lastIndexOf(',');
    return { text: line.slice(0, comma).replace(/^"|"$/g, ''), label: line.slice(comma + 1) };
  });
const classifier = await trainClassifier(rows.filter((r) => r.text.trim() && r.label).slice(0, 4000), {
  epochs: 5,
});

const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-artefacts-'));
const repo = SqliteRepository.open(dir, { auditKey: Buffer.alloc(32, 1) });
await repo.migrate();
const service = new ArtefactService(repo, createRegistry(builtinNodes));

const classifyDoc = {
  ...template,
  nodes: [
    ...template.nodes,
    { id: 'intent', type: 'model.classify', version: 2, config: { artifact: classifier } },
  ],
};

async function measure(name, doc, runs) {
  const inline = JSON.stringify(doc);
  const t0 = performance.now();
  let stored;
  for (let i = 0; i < runs; i++) {
    const out = service.extract(doc);
    await service.store('ws_bench', out.artefacts, { flowId: 'flw', flowVersion: 1, createdBy: null });
    stored = JSON.stringify(out.stored);
  }
  const saveMs = (performance.now() - t0) / runs;
  const t1 = performance.now();
  for (let i = 0; i < runs; i++) await service.resolve('ws_bench', stored);
  const readMs = (performance.now() - t1) / runs;
  const t2 = performance.now();
  for (let i = 0; i < runs; i++) JSON.parse(inline);
  const parseMs = (performance.now() - t2) / runs;
  return `| ${name} | ${(inline.length / 1024).toFixed(0)} KiB → ${(stored.length / 1024).toFixed(0)} KiB | ${saveMs.toFixed(2)} ms | ${readMs.toFixed(2)} ms | ${parseMs.toFixed(2)} ms |`;
}

console.log(
  '| flow | version document inline → stored | extract + store on save | resolve + verify on read | JSON.parse of the inline document (for scale) |',
);
console.log('|---|---|---|---|---|');
console.log(await measure('credit-approval (one scorecard)', template, 200));
console.log(await measure('credit-approval + a BANKING77 classifier (4,000 examples)', classifyDoc, 20));
await repo.close();
rmSync(dir, { recursive: true, force: true });
