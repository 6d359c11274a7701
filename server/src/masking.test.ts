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
