import { describe, expect, it } from 'vitest';
import { createRuntime, foldRun, MemoryRunStore } from '@finflow/runtime';
import { fixedClock, runNode } from '@finflow/sdk/testing';
import { createBuiltinRegistry } from '../index.js';
import { flowOf, inputNode, outputNode } from '../test-helpers/flows.js';
import { reviewNode } from './review.node.js';
import { reviewTaskSchema, type ReviewDecision } from './review-task.js';

const at = Date.parse('2026-09-14T09:00:00Z');
const loanCase = {
  applicationId: 'APP-1',
  loan: { amount: 80_000, durationMonths: 24 },
  income: 6_000,
  probabilityOfDefault: 0.16,
};
const automated = { outcome: 'review', reasons: ['Borderline score'], factors: ['Savings below 100'] };
const config = {
  queue: 'credit-underwriting',
  title: 'Loan APP-1',
  summary: ['applicationId', 'loan.amount', 'missing.field'],
  outcomes: ['approve', 'decline', 'counter-offer'],
  editableFields: ['loan.amount', 'loan.durationMonths'],
  sla: { dueInMinutes: 240, onExpiry: 'default', defaultOutcome: 'decline' },
  fourEyes: { path: 'loan.amount', above: 50_000 },
};
const alice = { id: 'usr_alice', name: 'Alice' };
const bob = { id: 'usr_bob', name: 'Bob' };
const decision = (d: Partial<ReviewDecision>): ReviewDecision => ({
  action: 'approve',
  reason: 'Payslips verified',
  reviewers: [alice, bob],
  decidedAt: at + 3_600_000,
  ...d,
});
const run = (resumedWith?: unknown, cfg: Record<string, unknown> = config) =>
  runNode(reviewNode, {
    config: cfg,
    inputs: { case: loanCase, decision: automated },
    services: { clock: fixedClock(at) },
    ...(resumedWith === undefined ? {} : { resumedWith }),
  });

describe('human.review', () => {
  it('waits with a task: summary, decision so far, outcomes, due time, maker-checker and four-eyes', async () => {
    const r = await run();
    expect(r.status).toBe('waiting');
    const task = reviewTaskSchema.parse(r.task);
    expect(task).toMatchObject({
      kind: 'human.review',
      queue: 'credit-underwriting',
      roles: ['approver'],
      title: 'Loan APP-1',
      summary: [
        { path: 'applicationId', value: 'APP-1' },
        { path: 'loan.amount', value: 80_000 },
        { path: 'missing.field', value: null },
      ],
      case: loanCase,
      decision: automated,
      approveOutcome: 'approve',
      rejectOutcome: 'decline',
      dueAt: at + 240 * 60_000,
      makerChecker: { excludeStarter: true, excludeFlowOwner: true },
      approvalsRequired: 2,
      fourEyes: { path: 'loan.amount', above: 50_000, value: 80_000 },
    });
    // Below the limit one approver is enough; a missing amount needs two (it fails safe).
    const small = await runNode(reviewNode, {
      config,
      inputs: { case: { ...loanCase, loan: { amount: 1_000 } } },
      services: { clock: fixedClock(at) },
    });
    expect(small.task).toMatchObject({ approvalsRequired: 1, decision: null });
    const unknown = await runNode(reviewNode, { config, inputs: { case: { applicationId: 'X' } } });
    expect(unknown.task).toMatchObject({ approvalsRequired: 2, fourEyes: { value: null } });
  });

  it('approves, rejects or overrides with a reason, applying corrections to the case', async () => {
    const approved = await run(decision({}));
    expect(approved.status).toBe('succeeded');
    expect(approved.outputs?.['decision']).toEqual({
      outcome: 'approve',
      reasons: ['Payslips verified'],
      action: 'approve',
      decidedBy: 'reviewer',
      reviewers: [alice, bob],
      recommendation: 'review',
    });
    expect(approved.outputs?.['review']).toMatchObject({
      queue: 'credit-underwriting',
      decidedAt: '2026-09-14T10:00:00.000Z',
      corrections: {},
    });
    const rejected = await run(
      decision({ action: 'reject', reason: 'Income not verified', reviewers: [alice] }),
    );
    expect(rejected.outputs?.['decision']).toMatchObject({
      outcome: 'decline',
      reasons: ['Income not verified'],
    });
    const countered = await run(
      decision({ action: 'override', outcome: 'counter-offer', corrections: { 'loan.amount': 40_000 } }),
    );
    expect(countered.outputs?.['decision']).toMatchObject({ outcome: 'counter-offer', action: 'override' });
    expect(countered.outputs?.['case']).toEqual({
      ...loanCase,
      loan: { amount: 40_000, durationMonths: 24 },
    });
  });

  it('refuses decisions that do not fit the task', async () => {
    const code = async (d: unknown) => (await run(d)).error?.code;
    const message = async (d: unknown) => (await run(d)).error?.message;
    expect(await code({ action: 'maybe' })).toBe('INVALID_DECISION');
    expect(await message(decision({ action: 'override', outcome: 'approve-twice' }))).toMatch(/not one of/);
    expect(
      await message(decision({ action: 'override', outcome: 'approve', corrections: { income: 1 } })),
    ).toMatch(/"income" cannot be corrected/);
    expect(await message(decision({ reviewers: [alice] }))).toMatch(/needs 2 different approvers/);
    expect(await message(decision({ reviewers: [alice, alice] }))).toMatch(/two different people/);
    expect(await message(decision({ reason: '  ' }))).toMatch(/gives its reason/);
  });

  it('takes the SLA path: the default outcome, or fails when the task expired', async () => {
    const byDefault = await run({ action: 'default', reason: '', reviewers: [], decidedAt: at });
    expect(byDefault.outputs?.['decision']).toMatchObject({
      outcome: 'decline',
      decidedBy: 'sla',
      reviewers: [],
    });
    const expired = await run({ action: 'expire', reason: '', reviewers: [], decidedAt: at });
    expect(expired.error).toMatchObject({ code: 'REVIEW_EXPIRED' });
    expect(expired.error?.message).toMatch(/credit-underwriting/);
  });

  it('refuses configs whose outcomes or SLA paths do not add up', async () => {
    const bad = await run(undefined, {
      queue: 'q',
      outcomes: ['yes'],
      sla: { dueInMinutes: 5, onExpiry: 'escalate' },
    });
    expect(bad.error?.code).toBe('INVALID_CONFIG');
    expect(bad.error?.message).toMatch(/"approve" is not in the outcomes/);
    expect(bad.error?.message).toMatch(/escalates to/);
    expect((await run(undefined, { queue: 'Not A Queue' })).error?.code).toBe('INVALID_CONFIG');
  });

  it('pauses a flow and resumes it with the decision, the case corrected downstream', async () => {
    const store = new MemoryRunStore();
    const runtime = createRuntime({ registry: createBuiltinRegistry(), store });
    const doc = flowOf(
      [
        inputNode({ case: { type: 'object' } }),
        { id: 'review', type: 'human.review', config: { ...config, fourEyes: undefined } },
        outputNode('decision'),
        outputNode('case'),
      ],
      ['in.case->review.case', 'review.decision->decision.value', 'review.case->case.value'],
    );
    const first = await runtime.run(doc, { case: loanCase });
    expect(first.status).toBe('waiting');
    const done = await runtime.resume(doc, store.events(first.runId), {
      review: decision({
        action: 'override',
        outcome: 'counter-offer',
        corrections: { 'loan.amount': 40_000 },
        reviewers: [bob],
      }),
    }).result;
    expect(done.status).toBe('succeeded');
    expect(done.outputs['decision']).toMatchObject({ outcome: 'counter-offer', reviewers: [bob] });
    expect(done.outputs['case']).toMatchObject({ loan: { amount: 40_000 } });
    expect(foldRun(store.events(first.runId)).nodes['review']?.task).toMatchObject({
      queue: 'credit-underwriting',
    });
  });
});
