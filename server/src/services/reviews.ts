/**
 * Review tasks: the inbox of waiting human.review nodes, the decisions people take on them, and the SLA steps
 * the server takes when nobody decides in time.
 *
 * Exactly once: a decision is one conditional update of its task (applied only if the task is still open with
 * the approvals it was read with) and, in the same transaction, a claim of the waiting run (status waiting to
 * running, with a fresh token); only the holder of the token resumes the run. A decision that loses a race is
 * refused (409), and a run decided while it was still executing another branch, or while the server was down,
 * is claimed when it next waits or at the next start. Maker-checker (the run's starter and the flow's owner may
 * not decide, as the node's config says) and four-eyes (two different approvers when the task asks for two)
 * are checked here; who may decide follows roles: `approver`, and the roles the queue names.
 */
import { decisionProblems, type ReviewDecision, type ReviewTask } from '@finflow/nodes';
import type { GroupCommitter } from '../db/group-commit.js';
import type { Logger } from '../logger.js';
import type {
  AuditActor,
  FeedbackRecord,
  Repository,
  ReviewApproval,
  ReviewTaskFilter,
  ReviewTaskRecord,
  Role,
  WriteBatch,
} from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuthContext } from './auth.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  isWriteConflict,
  type DomainError,
} from './errors.js';
import { reviewTaskView, taskPolicy, type ReviewTaskView } from './review-records.js';
import { isRolloutReview, POST_RELEASE_NODE } from './rollout-review.js';
import type { RunService } from './runs.js';

export interface DecisionRequest {
  action: 'approve' | 'override' | 'reject';
  outcome?: string | undefined;
  reason: string;
  corrections?: Record<string, unknown> | undefined;
}

export interface DecisionResult {
  task: ReviewTaskView;
  /** False while a four-eyes task waits for its second approval. */
  decided: boolean;
  /** The run went on (this decision's claim took it). */
  resumed: boolean;
}

/** The longest a timer waits before the due times are looked at again (other processes may add tasks). */
const MAX_TIMER_MS = 60_000;
const SWEEP_BATCH = 100;

/** Whether a role may decide a task: `approver` always, and the roles its queue names. */
export function canDecide(role: Role, task: Pick<ReviewTaskRecord, 'roles'>): boolean {
  return role === 'approver' || task.roles.includes(role);
}

/** The outcome a decision comes to, as the node will compute it. */
function outcomeOf(policy: ReviewTask | undefined, d: ReviewDecision): string | null {
  switch (d.action) {
    case 'approve':
      return policy?.approveOutcome ?? null;
    case 'reject':
      return policy?.rejectOutcome ?? null;
    case 'override':
      return d.outcome ?? null;
    case 'default':
      return policy?.sla?.defaultOutcome ?? null;
    default:
      return null;
  }
}

export class ReviewService {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly runs: RunService,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    runs.onSuspension((runId, tasks) => void this.onSuspended(runId, tasks));
  }

  // The inbox

  /** Tasks the user may decide (all of the workspace's for an admin, who can read but not decide them). */
  async list(auth: AuthContext, filter: Omit<ReviewTaskFilter, 'roles'>): Promise<ReviewTaskView[]> {
    await this.writer.visible();
    const roles = auth.role === 'admin' || auth.role === 'approver' ? undefined : [auth.role];
    const tasks = await this.repo.listReviewTasks(auth.workspace.id, {
      ...filter,
      ...(roles ? { roles } : {}),
    });
    const now = this.now();
    return tasks.map((t) => reviewTaskView(t, now));
  }

  async queues(workspaceId: string) {
    await this.writer.visible();
    return this.repo.reviewQueues(workspaceId);
  }

  async get(workspaceId: string, id: string): Promise<ReviewTaskRecord> {
    await this.writer.visible();
    const task = await this.repo.getReviewTask(workspaceId, id);
    if (!task) throw new NotFoundError('REVIEW_NOT_FOUND', `review task ${id} not found`);
    return task;
  }

  async ofRun(workspaceId: string, runId: string): Promise<ReviewTaskView[]> {
    await this.runs.get(workspaceId, runId);
    const now = this.now();
    return (await this.repo.reviewTasksOfRun(runId)).map((t) => reviewTaskView(t, now));
  }

  // Deciding

  /** A reviewer's decision (or, under four-eyes, the first of two approvals). */
  async decide(auth: AuthContext, id: string, request: DecisionRequest): Promise<DecisionResult> {
    const task = await this.get(auth.workspace.id, id);
    if (!canDecide(auth.role, task)) {
      throw new ForbiddenError(
        'REVIEW_FORBIDDEN',
        `queue ${task.queue} is decided by ${['approver', ...task.roles.filter((r) => r !== 'approver')].join(', ')}`,
      );
    }
    if (task.status !== 'open')
      throw new ConflictError('REVIEW_CLOSED', `the task is ${task.status} already`);
    const policy = taskPolicy(task);
    await this.checkMakerChecker(auth, task, policy);

    const now = this.now();
    const reviewer = { id: auth.user.id, name: auth.user.name };
    const pending = task.approvals[0];
    if (pending && pending.reviewer.id === reviewer.id) {
      throw new ForbiddenError(
        'FOUR_EYES_SAME_PERSON',
        'you gave the first approval; the second must come from someone else',
      );
    }
    const corrections =
      request.corrections && Object.keys(request.corrections).length ? request.corrections : undefined;
    const mine: ReviewDecision = {
      action: request.action,
      ...(request.outcome === undefined ? {} : { outcome: request.outcome }),
      reason: request.reason,
      ...(corrections ? { corrections } : {}),
      reviewers: [reviewer],
      decidedAt: now,
    };
    let final: ReviewDecision | undefined;
    let approvals: ReviewApproval[] = task.approvals;
    if (request.action === 'approve' && pending) {
      // The second approval confirms the first one's decision.
      final = {
        action: pending.action,
        ...(pending.outcome === undefined ? {} : { outcome: pending.outcome }),
        reason: `${pending.reason} — ${request.reason}`,
        ...(pending.corrections ? { corrections: pending.corrections } : {}),
        reviewers: [pending.reviewer, reviewer],
        decidedAt: now,
      };
    } else if (request.action !== 'reject' && (policy?.approvalsRequired ?? 1) > 1) {
      // Four-eyes: recorded as the first approval (an override replaces a first approval that was pending).
      const problems = policy ? decisionProblems({ ...policy, approvalsRequired: 1 }, mine) : [];
      if (problems.length) throw this.invalid(problems);
      const first: ReviewApproval = {
        reviewer,
        action: request.action,
        ...(request.outcome === undefined ? {} : { outcome: request.outcome }),
        reason: request.reason,
        ...(corrections ? { corrections } : {}),
        at: now,
      };
      approvals = [first];
    } else final = mine;
    if (final && policy) {
      const problems = decisionProblems(policy, final);
      if (problems.length) throw this.invalid(problems);
    }

    const actor: AuditActor = { type: 'user', id: reviewer.id, name: reviewer.name };
    const decidedBy = `user:${reviewer.id}`;
    const update: WriteBatch['reviewDecisions'][number] = {
      id: task.id,
      status: final ? 'decided' : 'open',
      approvals: final ? task.approvals : approvals,
      expectApprovals: JSON.stringify(task.approvals),
      decision: final ? JSON.stringify(final) : null,
      decidedAt: final ? now : null,
      decidedBy: final ? decidedBy : null,
    };
    const feedback = final ? await this.reviewFeedback(task, policy, final, decidedBy, now) : undefined;
    const fill = (b: WriteBatch) => {
      b.reviewDecisions.push(update);
      b.audit.push({
        workspaceId: task.workspaceId,
        at: now,
        actor,
        action: final ? 'review.decided' : 'review.approved',
        target: `review:${task.id}`,
        details: {
          runId: task.runId,
          nodeId: task.nodeId,
          queue: task.queue,
          action: final?.action ?? request.action,
          outcome: final ? outcomeOf(policy, final) : (request.outcome ?? policy?.approveOutcome ?? null),
          reason: final?.reason ?? request.reason,
          reviewers: (final?.reviewers ?? [reviewer]).map((r) => r.id),
          ...(final ? {} : { approvalsRequired: policy?.approvalsRequired ?? 1 }),
        },
      });
      if (feedback) b.feedback.push(feedback);
    };
    let resumed = false;
    try {
      // A review after release: the answer went out already, nothing waits; the decision is only a label.
      if (final && task.nodeId !== POST_RELEASE_NODE)
        resumed = (await this.runs.claimAndResume(task.runId, { fill })) !== undefined;
      else await this.writer.commitAlone(fill);
    } catch (err) {
      if (isWriteConflict(err))
        throw new ConflictError('REVIEW_CLOSED', 'someone else acted on this task first');
      throw err;
    }
    const after = await this.get(auth.workspace.id, id);
    return { task: reviewTaskView(after, this.now()), decided: final !== undefined, resumed };
  }

  private invalid(problems: string[]): DomainError {
    return new InvalidError(
      'INVALID_DECISION',
      `the decision does not fit the task: ${problems.join('; ')}`,
      {
        problems,
      },
    );
  }

  private async checkMakerChecker(
    auth: AuthContext,
    task: ReviewTaskRecord,
    policy: ReviewTask | undefined,
  ): Promise<void> {
    const rules = policy?.makerChecker ?? { excludeStarter: true, excludeFlowOwner: true };
    if (rules.excludeStarter && task.starter === `user:${auth.user.id}`) {
      throw new ForbiddenError('MAKER_CHECKER', 'you started this run, so someone else decides its review');
    }
    if (rules.excludeFlowOwner) {
      const flow = await this.repo.getFlow(task.workspaceId, task.flowId);
      if (flow?.createdBy === auth.user.id) {
        throw new ForbiddenError('MAKER_CHECKER', 'you own this flow, so someone else decides its reviews');
      }
    }
  }

  /** A reviewer's decision is the human label of the automated decision it reviewed. */
  private async reviewFeedback(
    task: ReviewTaskRecord,
    policy: ReviewTask | undefined,
    d: ReviewDecision,
    actor: string,
    now: number,
  ): Promise<FeedbackRecord> {
    const run = await this.repo.getRunById(task.runId);
    const automated = (JSON.parse(task.task) as { decision?: { outcome?: unknown } | null }).decision;
    // In a rollout's review an approval keeps the challenger's decision: it agrees with it.
    const outcome =
      d.action === 'approve' && isRolloutReview(task.nodeId) && automated?.outcome !== undefined
        ? automated.outcome
        : outcomeOf(policy, d);
    return {
      id: newId('fb'),
      workspaceId: task.workspaceId,
      runId: task.runId,
      flowId: task.flowId,
      flowVersion: task.flowVersion,
      endpointId: task.endpointId,
      deploymentId: task.deploymentId,
      source: 'review',
      label: JSON.stringify({ outcome, action: d.action, nodeId: task.nodeId }),
      prediction:
        automated && typeof automated === 'object' ? JSON.stringify(automated.outcome ?? null) : null,
      dedupeKey: `review:${task.id}`,
      requestHash: '',
      actor,
      decidedAt: run?.startedAt ?? task.createdAt,
      createdAt: now,
    };
  }

  // SLA

  /** Looks at overdue tasks now and arms the timer for the next due time (at start). */
  async start(): Promise<void> {
    await this.sweep();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Waits for a sweep in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.sweeping;
  }

  private async onSuspended(runId: string, tasks: ReviewTaskRecord[]): Promise<void> {
    try {
      for (const t of tasks) if (t.dueAt !== null) this.arm(t.dueAt);
      // A task decided while the run was still executing (two reviews in parallel) is resumed now.
      const all = await this.repo.reviewTasksOfRun(runId);
      if (all.some((t) => t.status === 'decided' && t.resumedBy === null))
        await this.runs.claimAndResume(runId);
    } catch (err) {
      this.logger.error({ err, runId }, 'following up a suspended run failed');
    }
  }

  private arm(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    const delay = Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.sweep();
    }, delay);
    this.timer.unref();
  }

  /** Applies the SLA step of every overdue task, then arms the timer for the next due time. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        for (;;) {
          await this.writer.visible();
          const due = await this.repo.overdueReviewTasks(this.now(), SWEEP_BATCH);
          for (const task of due) {
            try {
              await this.expire(task);
            } catch (err) {
              this.logger.error({ err, taskId: task.id }, 'the SLA step of a review task failed');
            }
          }
          if (due.length < SWEEP_BATCH) break;
        }
        // A task whose step failed is still due: it is tried again a second later, not in a tight loop.
        const next = await this.repo.nextReviewDue();
        this.arm(next === undefined ? this.now() + MAX_TIMER_MS : Math.max(next, this.now() + 1_000));
      } catch (err) {
        this.logger.error({ err }, 'the review SLA sweep failed');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /** One overdue task: escalate it, take its default outcome, or fail its run, as its node's config says. */
  private async expire(task: ReviewTaskRecord): Promise<void> {
    const policy = taskPolicy(task);
    const sla = policy?.sla;
    const now = this.now();
    const actor: AuditActor = { type: 'system', name: 'sla' };
    const audit = (b: WriteBatch, action: string, details: Record<string, unknown>) =>
      b.audit.push({
        workspaceId: task.workspaceId,
        at: now,
        actor,
        action,
        target: `review:${task.id}`,
        details: { runId: task.runId, nodeId: task.nodeId, queue: task.queue, dueAt: task.dueAt, ...details },
      });
    try {
      if (!sla || sla.onExpiry === 'escalate') {
        // A task without an SLA of its own (not made by human.review) is marked, so it is looked at once.
        const to = sla?.escalateTo ?? task.queue;
        await this.writer.commitAlone((b) => {
          b.reviewEscalations.push({ id: task.id, queue: to, escalatedAt: now });
          audit(b, 'review.escalated', { to });
        });
        return;
      }
      const decision: ReviewDecision = {
        action: sla.onExpiry === 'default' ? 'default' : 'expire',
        reason: '',
        reviewers: [],
        decidedAt: now,
      };
      await this.runs.claimAndResume(task.runId, {
        fill: (b) => {
          b.reviewDecisions.push({
            id: task.id,
            status: 'decided',
            approvals: task.approvals,
            expectApprovals: JSON.stringify(task.approvals),
            decision: JSON.stringify(decision),
            decidedAt: now,
            decidedBy: 'system:sla',
          });
          audit(b, 'review.expired', {
            then: sla.onExpiry,
            ...(sla.onExpiry === 'default' ? { outcome: sla.defaultOutcome ?? null } : {}),
          });
        },
      });
    } catch (err) {
      // Someone decided or escalated it meanwhile.
      if (!isWriteConflict(err)) throw err;
    }
  }
}
