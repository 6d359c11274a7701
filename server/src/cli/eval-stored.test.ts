// `finflow eval flowId@version`: stored versions read from a server's data directory (the server still running),
// `--versions` as numbers of the same flow or as other references, and the mistakes a user makes with them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '@finflow/runtime/evaluation';
import { createFlow, setupAdmin, startTestServer, type TestServer } from '../test-helpers/harness.js';
import { evalRefs } from './eval.js';
import { main } from './main.js';

function limitFlow(limit: number) {
  return {
    schemaVersion: 1,
    id: 'limit-check',
    name: 'Limit check',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: {
          schema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] },
        },
      },
      {
        id: 'decide',
        type: 'data.transform',
        version: 1,
        config: { expression: `{ "outcome": data.amount > ${limit} ? "review" : "approve" }` },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'decide', port: 'data' } },
      { id: 'e2', from: { node: 'decide', port: 'result' }, to: { node: 'out', port: 'value' } },
    ],
  };
}

let t: TestServer;
let flowId: string;
let dataset: string;

beforeAll(async () => {
  t = await startTestServer();
  const admin = await setupAdmin(t);
  flowId = (await createFlow(admin, limitFlow(10_000))).id;
  for (const limit of [5_000, 6_000])
    expect(
      (await admin.put(`/api/flows/${flowId}`, { document: limitFlow(limit), message: `${limit}` })).status,
    ).toBe(201);
  dataset = join(t.dataDir, 'payments.jsonl');
  // The truth: amounts above 6,000 need a review.
  writeFileSync(
    dataset,
    Array.from({ length: 60 }, (_, i) =>
      JSON.stringify({ amount: 250 * i, truth: 250 * i > 6_000 ? 'review' : 'approve' }),
    ).join('\n'),
  );
}, 60_000);
afterAll(async () => {
  await t.destroy();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

const args = () => [
  '--dataset',
  dataset,
  '--label',
  'truth',
  '--prediction',
  'decision.outcome',
  '--bootstrap',
  '0',
];

describe('finflow eval of stored versions', () => {
  it('evaluates versions of a stored flow from the data directory, side by side', async () => {
    const { io, out, err } = capture();
    const code = await main(
      ['eval', `${flowId}@1`, '--versions', '2,3', '--data-dir', t.dataDir, ...args(), '--json'],
      io,
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const report = JSON.parse(out.join('\n')) as EvaluationReport;
    expect(report.versions.map((v) => v.version)).toEqual([`${flowId}@1`, `${flowId}@2`, `${flowId}@3`]);
    // v1 reviews above 10,000 (44 of 60 right), v2 above 5,000 (56), v3 above 6,000: the truth.
    expect(report.versions.map((v) => Math.round(v.quality.accuracy * 60))).toEqual([44, 56, 60]);
    expect(report.comparisons.map((c) => c.challenger)).toEqual([`${flowId}@2`, `${flowId}@3`]);
  });

  it('compares a stored version with a flow file', async () => {
    const file = join(t.dataDir, 'candidate.json');
    writeFileSync(file, JSON.stringify(limitFlow(6_000)));
    const { io, out } = capture();
    expect(
      await main(['eval', `${flowId}@2`, '--versions', file, '--data-dir', t.dataDir, ...args()], io),
    ).toBe(0);
    expect(out.join('\n')).toContain(`${flowId}@2\n  accuracy   0.933`);
    expect(out.join('\n')).toContain(`${file}\n  accuracy   1.000`);
  });

  it('says which reference is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['eval', `${flowId}@9`, '--data-dir', t.dataDir], /no version 9 of flow/],
      [['eval', 'flw_nope@1', '--data-dir', t.dataDir], /no version 1 of flow flw_nope/],
      [['eval', 'credit-approval', '--versions', '2'], /a version number needs a stored flow/],
      [['eval', `${flowId}@1`, '--data-dir', join(t.dataDir, 'elsewhere')], /holds no FinFlow database/],
    ];
    for (const [argv, message] of cases) {
      const { io, err } = capture();
      expect(await main([...argv, ...args()], io)).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  it('reads references: numbers in --versions belong to the first stored flow', () => {
    expect(evalRefs('flw_a@3', '4, 5,x.json')).toEqual(['flw_a@3', 'flw_a@4', 'flw_a@5', 'x.json']);
    expect(evalRefs('credit-approval', undefined)).toEqual(['credit-approval']);
  });
});
