/**
 * Review tasks as records: built from a waiting node's `node.waiting` events (the masked task a reviewer sees,
 * with the decision rules taken from the real one), read back into the policy a decision is checked against, and
 * shown through the API. Pure functions, shared by the run service (which stores tasks when a run waits) and the
 * review service (which decides them).
 */
import { reviewTaskSchema, type ReviewDecision, type ReviewTask } from '@finflow/nodes';
import type { NodeWaitingEvent } from '@finflow/runtime';
import { z } from 'zod';
import type { ReviewTaskRecord } from '../repo/types.js';
import { newId } from '../security/crypto.js';

/** The task fields a decision is checked against; none of them is case data, so they are kept unmasked. */
const policyKeys = [
  'kind',
  'queue',
  'roles',
  'outcomes',
  'approveOutcome',
  'rejectOutcome',
  'editableFields',
  'dueAt',
  'sla',
  'makerChecker',
  'approvalsRequired',
] as const;

/** What the inbox needs of any waiting node's task, with defaults for tasks not made by human.review. */
const looseTask = z.object({
  queue: z.string().min(1).max(64).catch('default'),
  roles: z.array(z.string()).min(1).catch(['approver']),
  dueAt: z.number().nullable().catch(null),
});

/** The record of a task a run now waits on: `masked` is what is stored and shown, `real` gives the rules. */
export function taskRecord(
  run: {
    id: string;
    workspaceId: string;
    flowId: string;
    flowVersion: number;
    endpointId: string | null;
    deploymentId: string | null;
    actor: string;
  },
  real: NodeWaitingEvent,
  masked: NodeWaitingEvent,
  now: number,
): ReviewTaskRecord {
  const task: Record<string, unknown> = { ...masked.task };
  for (const key of policyKeys) if (key in real.task) task[key] = real.task[key];
  const fields = looseTask.parse(real.task);
  return {
    id: newId('rvw'),
    workspaceId: run.workspaceId,
    runId: run.id,
    nodeId: real.nodeId,
    flowId: run.flowId,
    flowVersion: run.flowVersion,
    endpointId: run.endpointId,
    deploymentId: run.deploymentId,
    queue: fields.queue,
    roles: fields.roles,
    // The title may name the case (an application id): the masked one is kept.
    title: typeof masked.task['title'] === 'string' ? (masked.task['title'] as string).slice(0, 300) : '',
    status: 'open',
    dueAt: fields.dueAt,
    escalatedAt: null,
    starter: run.actor,
    task: JSON.stringify(task),
    approvals: [],
    decision: null,
    decidedAt: null,
    decidedBy: null,
    resumedBy: null,
    createdAt: now,
  };
}

/** The stored task as human.review's task shape (its policy is intact; its case may be masked). */
export function taskPolicy(record: ReviewTaskRecord): ReviewTask | undefined {
  const task = JSON.parse(record.task) as Record<string, unknown>;
  const parsed = reviewTaskSchema.safeParse({
    ...task,
    // Masking may have replaced the case or the decision wholesale; the rules do not depend on them.
    case: typeof task['case'] === 'object' && task['case'] !== null ? task['case'] : {},
    decision: typeof task['decision'] === 'object' ? task['decision'] : null,
    summary: Array.isArray(task['summary']) ? task['summary'] : [],
    queue: record.queue,
  });
  return parsed.success ? parsed.data : undefined;
}

/** A task as the API shows it. */
export function reviewTaskView(t: ReviewTaskRecord, now = Date.now()) {
  return {
    id: t.id,
    runId: t.runId,
    nodeId: t.nodeId,
    flowId: t.flowId,
    flowVersion: t.flowVersion,
    endpointId: t.endpointId,
    queue: t.queue,
    roles: t.roles,
    title: t.title,
    status: t.status,
    dueAt: t.dueAt,
    overdue: t.status === 'open' && t.dueAt !== null && t.dueAt < now,
    escalatedAt: t.escalatedAt,
    createdAt: t.createdAt,
    task: JSON.parse(t.task) as Record<string, unknown>,
    approvals: t.approvals.map((a) => ({
      reviewer: a.reviewer,
      action: a.action,
      ...(a.outcome ? { outcome: a.outcome } : {}),
      reason: a.reason,
      at: a.at,
    })),
    decision: t.decision === null ? null : (JSON.parse(t.decision) as ReviewDecision),
    decidedAt: t.decidedAt,
    decidedBy: t.decidedBy,
  };
}
export type ReviewTaskView = ReturnType<typeof reviewTaskView>;
