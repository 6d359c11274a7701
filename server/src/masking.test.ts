import type { RunEvent } from '@finflow/runtime';
import { describe, expect, it } from 'vitest';
import { REDACTED, RunMasker } from './masking.js';

const input = {
  applicants: [
    { name: 'Wang Xiuying', idNumber: '11010519491231002X', income: 88000 },
    { name: 'Li Qiang', idNumber: '440524188001010014', income: 51000 },
  ],
  product: 'mortgage',
};

const masker = new RunMasker(
  { inputPaths: ['applicants.*.name', 'applicants.*.idNumber'], nodes: ['kyc'] },
  input,
  {
    vocabulary: new Set(),
    inputNodeIds: new Set(['in']),
    outputNodes: new Map([
      ['report', 'out'],
      ['kycResult', 'outKyc'],
    ]),
    taintedInputs: new Map([['outKyc', new Set(['value'])]]),
  },
);

const base = { runId: 'r', at: 0 };

describe('RunMasker', () => {
  it('masks marked input paths with wildcards and keeps everything else', () => {
    expect(masker.maskInput(input)).toEqual({
      applicants: [
        { name: REDACTED, idNumber: REDACTED, income: 88000 },
        { name: REDACTED, idNumber: REDACTED, income: 51000 },
      ],
      product: 'mortgage',
    });
    // The input itself is not changed.
    expect(input.applicants[0]?.name).toBe('Wang Xiuying');
  });

  it('scrubs marked values wherever they reappear, in text and nested data', () => {
    const e: RunEvent = {
      ...base,
      seq: 3,
      type: 'node.succeeded',
      nodeId: 'letter',
      attempts: 1,
      ms: 1,
      outputs: {
        text: 'Dear Wang Xiuying, your application (ID 11010519491231002X) is approved.',
        income: 88000,
      },
    };
    expect(masker.maskEvent(e)).toMatchObject({
      outputs: { text: `Dear ${REDACTED}, your application (ID ${REDACTED}) is approved.`, income: 88000 },
    });
  });

  it('masks the inputs and outputs of marked nodes wholesale, and the results they feed', () => {
    const started: RunEvent = {
      ...base,
      seq: 1,
      type: 'node.started',
      nodeId: 'kyc',
      inputs: { applicant: { x: 1 } },
    };
    expect(masker.maskEvent(started)).toMatchObject({ inputs: { applicant: REDACTED } });
    const fed: RunEvent = {
      ...base,
      seq: 2,
      type: 'node.started',
      nodeId: 'outKyc',
      inputs: { value: { risk: 'low' } },
    };
    expect(masker.maskEvent(fed)).toMatchObject({ inputs: { value: REDACTED } });
    const finished: RunEvent = {
      ...base,
      seq: 9,
      type: 'run.finished',
      status: 'succeeded',
      ms: 1,
      outputs: { report: { product: 'mortgage', for: 'Li Qiang' }, kycResult: { risk: 'low' } },
    };
    expect(masker.maskEvent(finished)).toMatchObject({
      outputs: { report: { product: 'mortgage', for: REDACTED }, kycResult: REDACTED },
    });
  });

  it('masks the input node outputs field by field', () => {
    const e: RunEvent = {
      ...base,
      seq: 2,
      type: 'node.succeeded',
      nodeId: 'in',
      attempts: 1,
      ms: 0,
      outputs: { value: input, applicants: input.applicants, product: 'mortgage' },
    };
    const masked = masker.maskEvent(e) as Extract<RunEvent, { type: 'node.succeeded' }>;
    expect(JSON.stringify(masked)).not.toMatch(/Wang|Li Qiang|11010519491231002X/);
    expect(masked.outputs['product']).toBe('mortgage');
  });
});

describe('RunMasker on text that moves and streams', () => {
  const message = 'I lost my card yesterday near the station. Please block it, my number is 13912345678.';
  const shape = {
    vocabulary: new Set(['voice', 'text']),
    inputNodeIds: new Set(['in']),
    outputNodes: new Map([['reply', 'out']]),
    taintedInputs: new Map<string, Set<string>>(),
  };
  const streamed = (m: RunMasker, nodeId: string, chunks: string[]) =>
    chunks
      .map((chunk, i) => m.maskEvent({ ...base, seq: i, type: 'node.streamed', nodeId, chunk }))
      .map((e) => (e as Extract<RunEvent, { type: 'node.streamed' }>).chunk)
      .join('');

  it('masks a marked value split over streamed tokens, holding back only what could still match', () => {
    const m = new RunMasker({ inputPaths: ['text'], nodes: [] }, { text: message }, shape);
    const tokens = `Quoting you: "${message}" We are on it.`.split(/(?<= )/);
    const joined = streamed(m, 'answer', tokens);
    expect(joined).not.toContain('lost my card');
    expect(joined).not.toContain('13912345678');
    expect(joined).toContain(`Quoting you: "${REDACTED}`);
    // The last few characters wait for the node's end (its output follows, masked, in node.succeeded).
    expect(`Quoting you: "${REDACTED}" We are on it.`.startsWith(joined)).toBe(true);
  });

  it('masks a copied stretch of a marked value, and identifiers inside it, not only the whole value', () => {
    const m = new RunMasker({ inputPaths: ['text'], nodes: [] }, { text: message }, shape);
    expect(m.scrub({ note: 'Customer said: Please block it, my number is on file.' })).toEqual({
      note: `Customer said: ${REDACTED} on file.`,
    });
    expect(m.scrub('call back on 13912345678 today')).toBe(`call back on ${REDACTED} today`);
    const zh = new RunMasker(
      { inputPaths: ['name', 'text'], nodes: [] },
      { name: '刘芳', text: '我的卡上周被扣了两次款' },
      shape,
    );
    expect(zh.scrub('尊敬的刘芳：您反映的卡上周被扣了两次的问题')).toBe(
      `尊敬的${REDACTED}：您反映${REDACTED}的问题`,
    );
  });

  it("learns what a marked node produces (a transcript), but not its labels or the flow's own words", () => {
    const m = new RunMasker({ inputPaths: ['audio'], nodes: ['intake'] }, { audio: 'UklGRg==' }, shape);
    const out = m.maskEvent({
      ...base,
      seq: 1,
      type: 'node.succeeded',
      nodeId: 'intake',
      attempts: 1,
      ms: 1,
      outputs: { text: 'i lost my card please block it', kind: 'voice', entity: 'CN_MOBILE' },
    });
    expect(out).toMatchObject({ outputs: { text: REDACTED, kind: REDACTED } });
    const later = m.maskEvent({
      ...base,
      seq: 2,
      type: 'node.logged',
      nodeId: 'classify',
      level: 'info',
      message: 'voice message: i lost my card please block it (CN_MOBILE found)',
    });
    expect(later).toMatchObject({ message: `voice message: ${REDACTED} (CN_MOBILE found)` });
  });

  it('fails closed on values nested past its depth, and does not overflow at any depth', () => {
    const m = new RunMasker({ inputPaths: ['name'], nodes: [] }, { name: 'Wang Xiuying' }, shape);
    let deep: unknown = 'Wang Xiuying';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    let v = m.scrub(deep) as Record<string, unknown>;
    let depth = 0;
    while (typeof v === 'object' && v !== null) {
      v = v['a'] as Record<string, unknown>;
      depth++;
    }
    expect(v).toBe(REDACTED);
    expect(depth).toBeLessThanOrEqual(200);
  });
});
