/**
 * The two shapes that cross the boundary between `human.review` and whoever decides for it: the task the node
 * waits with (the server stores it as a review task and shows it in the inbox) and the decision that resumes the
 * node. One zod schema each, shared by the node, the server (which validates a reviewer's decision before it
 * resumes anything) and the template tests.
 */
import { z } from '@finflow/sdk';

/** Workspace roles a review queue may name (the server's roles). */
export const reviewerRoles = ['admin', 'developer', 'analyst', 'approver', 'viewer'] as const;
export type ReviewerRole = (typeof reviewerRoles)[number];

/** What a reviewer does: approve the proposal, override it with another outcome, or reject it. */
export const reviewerActions = ['approve', 'override', 'reject'] as const;
/** What the server does when nobody decided in time (the task's SLA): take the default outcome, or fail. */
export const expiryActions = ['default', 'expire'] as const;

export const slaSchema = z.object({
  dueInMinutes: z.number().positive().max(525_600),
  onExpiry: z.enum(['escalate', 'default', 'fail']),
  escalateTo: z.string().optional(),
  defaultOutcome: z.string().optional(),
});
export type ReviewSla = z.output<typeof slaSchema>;

/** The task a waiting `human.review` gives (NodeWaiting's `task`). */
export const reviewTaskSchema = z.object({
  kind: z.literal('human.review'),
  queue: z.string().min(1),
  roles: z.array(z.enum(reviewerRoles)).min(1),
  title: z.string(),
  /** The fields the node's config selects for the summary, in order (the whole case when none is selected). */
  summary: z.array(z.object({ path: z.string(), value: z.unknown() })),
  case: z.record(z.string(), z.unknown()),
  /** The automated decision so far, with its reasons and attributions, when the node was given one. */
  decision: z.record(z.string(), z.unknown()).nullable(),
  outcomes: z.array(z.string().min(1)).min(1),
  approveOutcome: z.string().min(1),
  rejectOutcome: z.string().min(1),
  /** Case fields (dotted paths) a reviewer may correct when overriding. */
  editableFields: z.array(z.string()),
  /** Milliseconds since the epoch; null without an SLA. */
  dueAt: z.number().nullable(),
  sla: slaSchema.nullable(),
  makerChecker: z.object({ excludeStarter: z.boolean(), excludeFlowOwner: z.boolean() }),
  /** 2 when four-eyes applies to this case (the value at `fourEyes.path` is above `fourEyes.above`). */
  approvalsRequired: z.union([z.literal(1), z.literal(2)]),
  fourEyes: z.object({ path: z.string(), above: z.number(), value: z.number().nullable() }).nullable(),
});
export type ReviewTask = z.output<typeof reviewTaskSchema>;

export const reviewerSchema = z.object({ id: z.string().min(1).max(200), name: z.string().max(200) });

/** The decision that resumes a `human.review` (its `ctx.resumedWith`). */
export const reviewDecisionSchema = z.object({
  action: z.enum([...reviewerActions, ...expiryActions]),
  /** The outcome chosen when overriding. */
  outcome: z.string().min(1).max(100).optional(),
  reason: z.string().max(4000),
  /** Corrected case fields by dotted path (only the task's editable fields). */
  corrections: z.record(z.string().max(200), z.unknown()).optional(),
  /** Who decided: one person, two under four-eyes, nobody when the SLA decided. */
  reviewers: z.array(reviewerSchema).max(2),
  decidedAt: z.number(),
});
export type ReviewDecision = z.output<typeof reviewDecisionSchema>;

/** The value at a dotted path (`loan.amount`, `items.0.id`); undefined when absent. */
export function valueAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A copy of `root` with the value at a dotted path replaced (objects created along the way). */
export function withValueAt(
  root: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  if (head === '__proto__' || head === 'constructor' || head === 'prototype') return root;
  const child = root[head];
  const next =
    rest.length === 0
      ? value
      : withValueAt(
          child !== null && typeof child === 'object' && !Array.isArray(child)
            ? (child as Record<string, unknown>)
            : {},
          rest.join('.'),
          value,
        );
  return { ...root, [head]: next };
}

/**
 * Checks a decision against its task: the outcome an override chooses, the fields it corrects, the reviewers
 * four-eyes needs. Returns the problems in words (empty when it fits); the node and the server both call it.
 */
export function decisionProblems(task: ReviewTask, d: ReviewDecision): string[] {
  const problems: string[] = [];
  if (d.action === 'override') {
    if (!d.outcome) problems.push('an override names the outcome it chooses');
    else if (!task.outcomes.includes(d.outcome))
      problems.push(`outcome "${d.outcome}" is not one of ${task.outcomes.join(', ')}`);
  }
  if (d.corrections && Object.keys(d.corrections).length > 0) {
    if (d.action !== 'override') problems.push('fields are corrected only with an override');
    for (const path of Object.keys(d.corrections))
      if (!task.editableFields.includes(path)) problems.push(`field "${path}" cannot be corrected`);
  }
  const byPerson = d.action === 'approve' || d.action === 'override' || d.action === 'reject';
  if (byPerson) {
    if (!d.reason.trim()) problems.push('a decision gives its reason');
    if (d.reviewers.length === 0) problems.push('a decision names who took it');
    if (new Set(d.reviewers.map((r) => r.id)).size !== d.reviewers.length)
      problems.push('the two approvals of four-eyes come from two different people');
    if (d.action !== 'reject' && d.reviewers.length < task.approvalsRequired)
      problems.push(`four-eyes: this case needs ${task.approvalsRequired} different approvers`);
  }
  if (d.action === 'default' && !task.sla?.defaultOutcome)
    problems.push('the task has no default outcome to take');
  return problems;
}
