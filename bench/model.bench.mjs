// Model-node benchmark: the offline classifier on BANKING77 (accuracy, training time, classification latency),
// retrieval over a 1,000-passage knowledge base (index build, query p50/p99, BM25 only and hybrid with the
// offline English embeddings) and the offline extractive chat model. Runs the built packages through the
// runtime, as a flow would. Usage: node bench/model.bench.mjs (after `tsc -b`).
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';

const datasets = new URL('../datasets/', import.meta.url);

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows.slice(1).map(([text, label]) => ({ text, label }));
}

const banking = (split) =>
  parseCsv(readFileSync(new URL(`banking-intents/banking77_${split}.csv`, datasets), 'utf8'));

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const ms = (x) => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`;

const runtime = createRuntime({ registry: createBuiltinRegistry() });
async function run(type, config, inputs) {
  const r = await runtime.runNode({ type, config, timeoutMs: 600_000, retry: { maxAttempts: 1 } }, inputs);
  if (r.status !== 'succeeded') throw new Error(`${type}: ${r.error?.code} ${r.error?.message}`);
  return r.outputs;
}
async function timed(fn) {
  const t = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t };
}

const rows = [];
const row = (what, value, note = '') => rows.push(`| ${what} | ${value} | ${note} |`);

// --- Classifier ---------------------------------------------------------------------------------------------
const train = banking('train');
const test = banking('test');
const trained = await timed(() => run('model.trainClassifier', {}, { examples: train }));
const { artifact, metrics } = trained.value;
row(
  'BANKING77 training (10,003 examples, 77 labels)',
  ms(metrics.trainingMs),
  `${metrics.features} features, artefact ${(metrics.artifactBytes / 1e6).toFixed(2)} MB`,
);
let correct = 0;
const latencies = [];
for (const e of test) {
  const t = performance.now();
  const out = await run('model.classify', {}, { text: e.text, artifact });
  latencies.push(performance.now() - t);
  if (out.label === e.label) correct++;
}
row(
  'BANKING77 test accuracy (3,080 utterances)',
  (correct / test.length).toFixed(4),
  'published TF-IDF baseline ~0.89',
);
row(
  'model.classify latency (trained, warm)',
  `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}`,
  'per node run, artefact decoded once',
);

// --- Retrieval -----------------------------------------------------------------------------------------------
// 1,000 passages of real text: BANKING77 training utterances, ten to a document (about 600 characters each).
const documents = [];
for (let i = 0; i < 1000; i++)
  documents.push({
    source: `faq-${i + 1}`,
    text: train
      .slice(i * 10, i * 10 + 10)
      .map((e) => e.text)
      .join('\n'),
  });
const queries = test.slice(0, 200).map((e) => e.text);

for (const embeddings of ['none', 'offline-en']) {
  const config = { documents, embeddings, chunkSize: 2000, chunkOverlap: 0, topK: 5 };
  const first = await timed(() => run('model.retrieve', config, { query: queries[0] }));
  const index = first.value.index;
  const times = [];
  for (const q of queries) {
    const t = performance.now();
    await run('model.retrieve', config, { query: q });
    times.push(performance.now() - t);
  }
  const label = embeddings === 'none' ? 'BM25' : 'hybrid BM25 + offline-en embeddings';
  row(
    `model.retrieve index build, ${index.passages} passages (${label})`,
    ms(index.buildMs),
    embeddings === 'none' ? '' : 'includes loading the embedding model on first use',
  );
  row(
    `model.retrieve query (${label}, warm index)`,
    `p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}`,
    `${queries.length} queries, top 5`,
  );
}

// --- Offline chat model -------------------------------------------------------------------------------------
const invoice = [
  'INVOICE INV-2024-0117',
  'Issued by Harbour Office Supplies Ltd on 1 March 2024.',
  '40 reams of A4 paper at $6.50 each: $260.00.',
  'Subtotal $260.00; VAT 20%: $52.00.',
  'Total due: $312.00, payable by 31 March 2024.',
].join('\n');
const long = Array.from({ length: 20 }, () =>
  train
    .slice(0, 50)
    .map((e) => e.text)
    .join(' '),
).join('\n'); // ~50 KB
for (const [name, text] of [
  ['invoice, 200 characters', invoice],
  [`long prompt, ${Math.round(long.length / 1000)} kB`, long],
]) {
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await run(
      'model.chat',
      { prompt: '{{ doc }}\n\nWhat is the total due?', variables: ['doc'] },
      { doc: text },
    );
    times.push(performance.now() - t);
  }
  row(
    `model.chat offline extractive (${name})`,
    `p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}`,
    '50 runs',
  );
}

console.log(
  `\nModel nodes on ${cpus()[0]?.model ?? 'cpu'} (${availableParallelism()} cores), Node ${process.version}\n`,
);
console.log('| Measure | Result | Notes |');
console.log('|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nResident memory after the benchmark: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
