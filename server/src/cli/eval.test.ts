// `finflow eval` as a user runs it: a flow and a challenger on a JSON Lines dataset, the report as text, Markdown
// and JSON, the German Credit spec of the credit-approval template, and the mistakes a user makes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '@finflow/runtime/evaluation';
import { main } from './main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'finflow-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
        config: {
          expression: `{ "outcome": data.amount > ${limit} ? "review" : "approve", "risk": data.amount / 20000 }`,
        },
      },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'decision' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'value' }, to: { node: 'decide', port: 'data' } },
      { id: 'e2', from: { node: 'decide', port: 'result' }, to: { node: 'out', port: 'value' } },
    ],
  };
}

const champion = join(dir, 'champion.json');
const challenger = join(dir, 'challenger.json');
writeFileSync(champion, JSON.stringify(limitFlow(10_000)));
writeFileSync(challenger, JSON.stringify(limitFlow(5_000)));
// The truth: amounts above 6,000 need a review.
const dataset = join(dir, 'payments.jsonl');
writeFileSync(
  dataset,
  Array.from({ length: 60 }, (_, i) => {
    const amount = 250 * i;
    return JSON.stringify({
      amount,
      truth: amount > 6_000 ? 'review' : 'approve',
      region: i % 2 ? 'north' : 'south',
    });
  }).join('\n'),
);

describe('finflow eval', () => {
  const args = [
    '--dataset',
    dataset,
    '--label',
    'truth',
    '--prediction',
    'decision.outcome',
    '--score',
    'decision.risk',
    '--positive',
    'review',
    '--input',
    '{ "amount": amount }',
    '--bootstrap',
    '200',
  ];

  it('compares a challenger with the champion and prints the figures', async () => {
    const { io, out, err } = capture();
    expect(await main(['eval', champion, '--versions', challenger, ...args], io)).toBe(0);
    const text = out.join('\n');
    expect(err).toEqual([]);
    // Amounts 0 to 14,750 in steps of 250: 25 approve, 35 review. The champion approves 6,250 to 10,000 (16 rows)
    // that need a review: 44 of 60 right.
    expect(text).toContain(`${champion}\n  accuracy   0.733`);
    // Challenger: amounts 5,250 to 6,000 (4 rows) sent to review needlessly: 56 of 60.
    expect(text).toContain(`${challenger}\n  accuracy   0.933`);
    expect(text).toMatch(/Δ accuracy 0\.200 \[/);
    // Discordant rows: 4 only the champion got right, 16 only the challenger: 2 x P(X <= 4 | 20, 1/2) = 0.0118.
    expect(text).toContain('McNemar p 0.0118 (exact, 4 vs 16)');
    expect(text).toMatch(/latency ms p50 \d/);
  });

  it('writes Markdown and JSON reports, the JSON also to a file', async () => {
    const md = capture();
    expect(await main(['eval', champion, ...args, '--md'], md.io)).toBe(0);
    expect(md.out.join('\n')).toContain('# Evaluation on payments.jsonl (60 rows)');
    expect(md.out.join('\n')).toContain('### Time per node');
    const json = capture();
    const file = join(dir, 'report.json');
    expect(
      await main(
        ['eval', champion, ...args, '--json', '--out', file, '--group', 'region', '--favourable', 'approve'],
        json.io,
      ),
    ).toBe(0);
    const report = JSON.parse(json.out.join('\n')) as EvaluationReport;
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    expect(report.versions[0]?.quality.classification?.confusion).toEqual({
      classes: ['approve', 'review'],
      matrix: [
        [25, 0],
        [16, 19],
      ],
    });
    expect(report.versions[0]?.quality.adverseImpact?.groups).toHaveLength(2);
    expect(report.versions[0]?.performance.nodes.map((n) => n.node).sort()).toEqual(['decide', 'in', 'out']);
  });

  it('reports the drift of each column against a baseline dataset', async () => {
    const baseline = join(dir, 'baseline.jsonl');
    // Last year's payments were all small: the amounts drifted, the regions did not.
    writeFileSync(
      baseline,
      Array.from({ length: 60 }, (_, i) =>
        JSON.stringify({ amount: 50 * i, truth: 'approve', region: i % 2 ? 'north' : 'south' }),
      ).join('\n'),
    );
    const { io, out } = capture();
    expect(await main(['eval', champion, ...args, '--baseline', baseline], io)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('drift against baseline.jsonl');
    expect(text).toMatch(/amount\s+\d+\.\d+ alert/);
    expect(text).toMatch(/region\s+0\.000 stable/);
  });

  it('checks text answers: exact, contains, or a JSONata check', async () => {
    const { io, out } = capture();
    const textArgs = [
      '--dataset',
      dataset,
      '--label',
      'truth',
      '--prediction',
      'decision.outcome',
      '--input',
      '{ "amount": amount }',
      '--bootstrap',
      '0',
    ];
    expect(await main(['eval', challenger, ...textArgs, '--text-check', 'contains'], io)).toBe(0);
    expect(out.join('\n')).toContain('accuracy   0.933 on 60 labelled rows');
    const check = capture();
    expect(
      await main(
        ['eval', challenger, ...textArgs, '--text-check', '$length(answer) = $length(label)'],
        check.io,
      ),
    ).toBe(0);
    // "review" and "approve" differ in length: the check passes exactly where the answer is right.
    expect(check.out.join('\n')).toContain('accuracy   0.933');
  });

  it('says what is wrong with the dataset, the spec or the options', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3\n');
    const cases: [string[], RegExp][] = [
      [['eval', champion, '--label', 'truth'], /needs --dataset/],
      [['eval', champion, '--dataset', dataset], /needs --label/],
      [
        ['eval', champion, '--dataset', bad, '--label', 'a', '--prediction', 'x'],
        /bad\.csv: line 3: 1 fields where the header has 2/,
      ],
      [['eval', champion, '--dataset', join(dir, 'none.csv'), '--label', 'a'], /none\.csv: no such file/],
      [
        ['eval', champion, '--dataset', dataset, '--label', 'truth'],
        /needs a prediction expression, or a score/,
      ],
      [['eval', champion, ...args, '--concurrency', '1000'], /concurrency/],
      [['eval', champion, ...args, '--cost', 'five'], /--cost is/],
      [['eval', champion, ...args, '--json', '--md'], /exclude each other/],
      [['eval', 'no-such-template', ...args], /no such file or template/],
    ];
    for (const [argv, message] of cases) {
      const { io, err } = capture();
      expect(await main(argv, io)).toBe(2);
      expect(err.join('\n')).toMatch(message);
    }
  });

  it('counts a row whose input the flow refuses as a failed run, and goes on', async () => {
    const { io, out } = capture();
    const data = join(dir, 'mixed.jsonl');
    writeFileSync(data, '{"amount": 100, "truth": "approve"}\n{"amount": "lots", "truth": "review"}\n');
    expect(
      await main(
        [
          'eval',
          champion,
          '--dataset',
          data,
          '--label',
          'truth',
          '--prediction',
          'decision.outcome',
          '--bootstrap',
          '0',
        ],
        io,
      ),
    ).toBe(0);
    expect(out.join('\n')).toContain('accuracy   0.500');
    expect(out.join('\n')).toContain('1 failed');
  });
});
