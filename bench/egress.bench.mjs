// Egress and routing benchmark: what the egress client (connect-time address check, redirects by hand) costs per
// request against Node's fetch, on a loopback server; and what a model call through a connection costs with the
// personal-data scan of `model.route` against `model.chat`, both against a loopback mock of an OpenAI-compatible
// server (BANKING77 questions and the zh/en PII corpus as prompts). Usage: node bench/egress.bench.mjs (after tsc -b).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createConnectionResolver, connectionSpecSchema, createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry, createEgress, parseEgressAllowList } from '@finflow/nodes';

const datasets = new URL('../datasets/', import.meta.url);
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const ms = (x) => `${x.toFixed(2)} ms`;

// A loopback server: plain text for the fetch comparison, a streamed chat completion under /v1.
const completion = [
  { choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] },
  { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  { choices: [], usage: { prompt_tokens: 40, completion_tokens: 1, total_tokens: 41 } },
]
  .map(
    (c) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', ...c })}\n\n`,
  )
  .join('')
  .concat('data: [DONE]\n\n');
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url?.startsWith('/v1/')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(completion);
    } else res.end('ok');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

async function requests(fetcher, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await (await fetcher(`${base}/x`)).text();
    times.push(performance.now() - t);
  }
  return times;
}

const egress = createEgress(parseEgressAllowList('loopback'));
await requests(fetch, 200);
await requests(egress.fetch, 200);
const plain = await requests(fetch, 2000);
const guarded = await requests(egress.fetch, 2000);

const rows = [
  `| Node's fetch, loopback GET (2,000 requests) | p50 ${ms(percentile(plain, 50))}, p99 ${ms(percentile(plain, 99))} |`,
  `| egress client, same requests | p50 ${ms(percentile(guarded, 50))}, p99 ${ms(percentile(guarded, 99))} |`,
];

// Model calls through connections.
const connections = [
  {
    name: 'bank',
    ...connectionSpecSchema.parse({
      kind: 'openai',
      baseUrl: `${base}/v1`,
      deployment: 'private',
      models: ['m'],
    }),
  },
  {
    name: 'cloud',
    ...connectionSpecSchema.parse({
      kind: 'openai',
      baseUrl: `${base}/v1`,
      deployment: 'cloud',
      models: ['m'],
    }),
  },
];
const runtime = createRuntime({
  registry: createBuiltinRegistry(),
  services: { egress, connections: createConnectionResolver({ list: () => connections }) },
});
async function call(type, config, message) {
  const t = performance.now();
  const r = await runtime.runNode(
    {
      type,
      config: { prompt: '{{ message }}', variables: ['message'], ...config },
      retry: { maxAttempts: 1 },
    },
    { message },
  );
  if (r.status !== 'succeeded') throw new Error(`${type}: ${r.error?.code} ${r.error?.message}`);
  return { ms: performance.now() - t, outputs: r.outputs };
}
const questions = readFileSync(new URL('banking-intents/banking77_test.csv', datasets), 'utf8')
  .split('\n')
  .slice(1, 501)
  .map((l) => l.replace(/,[a-z_]+$/, '').replace(/^"|"$/g, ''));
const pii = readFileSync(new URL('pii-corpus/zh_en_pii_synthetic.jsonl', datasets), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text);

const chatCfg = { provider: 'connection', connection: 'bank' };
const routeCfg = { private: 'bank', cloud: 'cloud' };
for (const q of questions.slice(0, 50)) {
  await call('model.chat', chatCfg, q);
  await call('model.route', routeCfg, q);
}
const chatTimes = [];
const routeTimes = [];
let toCloud = 0;
for (const q of questions) {
  chatTimes.push((await call('model.chat', chatCfg, q)).ms);
  const r = await call('model.route', routeCfg, q);
  routeTimes.push(r.ms);
  if (r.outputs.route.deployment === 'cloud') toCloud++;
}
let private_ = 0;
const piiTimes = [];
for (const text of pii) {
  const r = await call('model.route', routeCfg, text);
  piiTimes.push(r.ms);
  if (r.outputs.route.deployment === 'private') private_++;
}
rows.push(
  `| model.chat through a connection, loopback mock (500 BANKING77 questions) | p50 ${ms(percentile(chatTimes, 50))}, p99 ${ms(percentile(chatTimes, 99))} |`,
  `| model.route, same questions (PII scan + decision + call) | p50 ${ms(percentile(routeTimes, 50))}, p99 ${ms(percentile(routeTimes, 99))}; ${toCloud} of ${questions.length} to the cloud |`,
  `| model.route, the 200 zh/en PII corpus texts | p50 ${ms(percentile(piiTimes, 50))}, p99 ${ms(percentile(piiTimes, 99))}; ${private_} of ${pii.length} kept private |`,
);

console.log('| measure | result |\n|---|---|');
for (const r of rows) console.log(r);
await egress.close();
server.closeAllConnections();
server.close();
