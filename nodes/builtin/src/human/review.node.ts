/**
 * human.review: a person decides. The node pauses its run (NodeWaiting) with a task for a review queue: the case
 * summary its config selects, the automated decision so far with its reasons and attributions, the outcomes a
 * reviewer may choose, the due time and what happens when it passes, maker-checker and four-eyes rules. The
 * server stores the task, shows it in the review inbox, and resumes the run with the decision; the node then
 * turns the decision into its outputs. Nothing upstream runs again.
 */
import { defineNode, NodeError, NodeWaiting, port, z } from '@finflow/sdk';
import {
  decisionProblems,
  reviewDecisionSchema,
  reviewerRoles,
  reviewTaskSchema,
  valueAt,
  withValueAt,
  type ReviewTask,
} from './review-task.js';

const queueName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a queue name is lower-case letters, digits and -');
const outcomeName = z.string().min(1).max(100);

const config = z.object({
  queue: queueName.meta({
    title: 'Queue',
    description: 'The review queue the task lands in, e.g. credit-underwriting',
    zh: { title: '审核队列', description: '任务进入的审核队列，例如 credit-underwriting' },
  }),
  roles: z
    .array(z.enum(reviewerRoles))
    .min(1)
    .default(['approver'])
    .meta({
      title: 'Roles that decide',
      description: 'Workspace roles whose members may decide tasks of this queue',
      zh: {
        title: '可审批的角色',
        description: '哪些工作区角色的成员可以处理该队列的任务',
        options: {
          admin: '管理员',
          developer: '开发者',
          analyst: '分析师',
          approver: '审批人',
          viewer: '只读',
        },
      },
    }),
  title: z
    .string()
    .max(300)
    .default('')
    .meta({
      title: 'Task title',
      description: 'Shown in the inbox; an expression (=...) can name the case, e.g. its application id',
      zh: { title: '任务标题', description: '显示在收件箱中；可用表达式（=...）写出案件编号等' },
    }),
  summary: z
    .array(z.string().min(1).max(200))
    .max(50)
    .default([])
    .meta({
      title: 'Summary fields',
      description: 'Dotted paths into the case shown first (empty: the whole case)',
      zh: { title: '摘要字段', description: '优先展示的案件字段路径（用点分隔；留空则展示整个案件）' },
    }),
  outcomes: z
    .array(outcomeName)
    .min(1)
    .max(20)
    .default(['approve', 'decline'])
    .meta({
      title: 'Outcomes',
      description: 'Outcomes a reviewer may choose when overriding',
      zh: { title: '可选结论', description: '审核人改判时可以选择的结论' },
    }),
  approveOutcome: outcomeName.default('approve').meta({
    title: 'Outcome of an approval',
    zh: { title: '批准时的结论' },
  }),
  rejectOutcome: outcomeName.default('decline').meta({
    title: 'Outcome of a rejection',
    zh: { title: '拒绝时的结论' },
  }),
  editableFields: z
    .array(z.string().min(1).max(200))
    .max(50)
    .default([])
    .meta({
      title: 'Fields a reviewer may correct',
      description: 'Dotted paths into the case; corrected values go out on the case output',
      zh: { title: '可更正字段', description: '案件字段路径；更正后的值从“案件”输出送出' },
    }),
  sla: z
    .object({
      dueInMinutes: z
        .number()
        .positive()
        .max(525_600)
        .meta({ title: 'Due in (minutes)', zh: { title: '处理时限（分钟）' } }),
      onExpiry: z
        .enum(['escalate', 'default', 'fail'])
        .default('escalate')
        .meta({
          title: 'When it is overdue',
          description:
            'escalate: move to another queue; default: take the default outcome; fail: the run fails',
          zh: {
            title: '超时处理',
            description: '升级：转到另一队列；默认：采用默认结论；失败：流程运行失败',
            options: { escalate: '升级', default: '采用默认结论', fail: '失败' },
          },
        }),
      escalateTo: queueName.optional().meta({ title: 'Escalate to queue', zh: { title: '升级到的队列' } }),
      defaultOutcome: outcomeName.optional().meta({ title: 'Default outcome', zh: { title: '默认结论' } }),
    })
    .optional()
    .meta({ title: 'Due time (SLA)', zh: { title: '处理时限（SLA）' } }),
  makerChecker: z
    .object({
      excludeStarter: z
        .boolean()
        .default(true)
        .meta({ title: 'The run’s starter may not decide', zh: { title: '发起运行的人不得审批' } }),
      excludeFlowOwner: z
        .boolean()
        .default(true)
        .meta({ title: 'The flow’s owner may not decide', zh: { title: '流程的所有者不得审批' } }),
    })
    .default({ excludeStarter: true, excludeFlowOwner: true })
    .meta({ title: 'Maker-checker', zh: { title: '制衡（经办与复核分离）' } }),
  fourEyes: z
    .object({
      path: z
        .string()
        .min(1)
        .max(200)
        .meta({ title: 'Amount or score field', zh: { title: '金额或评分字段' } }),
      above: z.number().meta({ title: 'Above', zh: { title: '高于' } }),
    })
    .optional()
    .meta({
      title: 'Four-eyes',
      description: 'Two different approvers when the case field is above this value',
      zh: { title: '双人复核', description: '案件字段高于该值时，需要两位不同的审批人' },
    }),
});
type Config = z.output<typeof config>;

/** The task this node waits with. */
export function reviewTask(
  cfg: Config,
  reviewCase: Record<string, unknown>,
  decision: Record<string, unknown> | undefined,
  now: number,
): ReviewTask {
  const amount = cfg.fourEyes ? valueAt(reviewCase, cfg.fourEyes.path) : undefined;
  const value = typeof amount === 'number' && Number.isFinite(amount) ? amount : null;
  const fourEyes = cfg.fourEyes ? { ...cfg.fourEyes, value } : null;
  return reviewTaskSchema.parse({
    kind: 'human.review',
    queue: cfg.queue,
    roles: cfg.roles,
    title: cfg.title,
    summary: cfg.summary.map((path) => ({ path, value: valueAt(reviewCase, path) ?? null })),
    case: reviewCase,
    decision: decision ?? null,
    outcomes: cfg.outcomes,
    approveOutcome: cfg.approveOutcome,
    rejectOutcome: cfg.rejectOutcome,
    editableFields: cfg.editableFields,
    dueAt: cfg.sla ? now + Math.round(cfg.sla.dueInMinutes * 60_000) : null,
    sla: cfg.sla ?? null,
    makerChecker: cfg.makerChecker,
    // A field that is missing or not a number counts as above the limit: four-eyes fails safe.
    approvalsRequired: cfg.fourEyes && (value === null || value > cfg.fourEyes.above) ? 2 : 1,
    fourEyes,
  });
}

export const reviewNode = defineNode({
  type: 'human.review',
  version: 1,
  meta: {
    title: 'Human review',
    category: 'human',
    description:
      'Pauses the run until a person in a review queue approves, overrides or rejects the case, with a reason; due times, maker-checker and four-eyes apply.',
    zh: {
      title: '人工审核',
      description:
        '暂停运行，直到审核队列中的人员批准、改判或拒绝该案件并说明理由；支持处理时限、经办复核分离与双人复核。',
    },
    icon: 'user-check',
  },
  config,
  inputs: {
    case: port('record', {
      title: 'Case',
      zh: { title: '案件', description: '复核人看到并可修改的内容' },
      description: 'What the reviewer sees and may correct',
    }),
    // A record rather than a decision port: automated decisions carry structured reasons (codes, factors, texts).
    decision: port('record', {
      title: 'Decision so far',
      zh: { title: '当前决策', description: '自动决策的结果（结论、原因和归因）' },
      description: 'The automated decision (its outcome, reasons and attributions)',
      required: false,
    }),
  },
  outputs: {
    decision: port('decision', {
      title: 'Decision',
      zh: { title: '决策', description: '复核后的结论及原因' },
      description: 'The reviewed outcome with the reason',
    }),
    review: port('record', {
      title: 'Review',
      zh: { title: '复核', description: '谁在何时做了什么决定、为什么' },
      description: 'Who decided what, when, and why',
    }),
    case: port('record', {
      title: 'Case',
      zh: { title: '案件', description: '含复核人修改的案件' },
      description: 'The case with the reviewer’s corrections',
    }),
  },
  // The node itself only builds a task or reads a decision.
  timeoutMs: 5_000,
  // It asks a person: a shadow run never does (the node and what needs its outputs are skipped there).
  sideEffects: true,
  validate(cfg, helpers) {
    const outcomes = new Set(cfg.outcomes);
    if (!outcomes.has(cfg.approveOutcome))
      helpers.problem(`the approval outcome "${cfg.approveOutcome}" is not in the outcomes`, [
        'approveOutcome',
      ]);
    if (!outcomes.has(cfg.rejectOutcome))
      helpers.problem(`the rejection outcome "${cfg.rejectOutcome}" is not in the outcomes`, [
        'rejectOutcome',
      ]);
    if (cfg.sla?.onExpiry === 'escalate' && !cfg.sla.escalateTo)
      helpers.problem('name the queue an overdue task escalates to', ['sla', 'escalateTo']);
    if (cfg.sla?.onExpiry === 'default' && !(cfg.sla.defaultOutcome && outcomes.has(cfg.sla.defaultOutcome)))
      helpers.problem('the default outcome of an overdue task must be one of the outcomes', [
        'sla',
        'defaultOutcome',
      ]);
  },
  run(ctx, inputs, cfg) {
    const reviewCase = inputs.case;
    const automated = inputs.decision;
    const task = reviewTask(cfg, reviewCase, automated, ctx.services.clock.now());
    if (ctx.resumedWith === undefined)
      throw new NodeWaiting(task, `waiting for a reviewer in queue ${cfg.queue}`);

    const parsed = reviewDecisionSchema.safeParse(ctx.resumedWith);
    if (!parsed.success)
      throw new NodeError(
        `the decision is not valid: ${parsed.error.issues[0]?.message ?? ''}`,
        'INVALID_DECISION',
      );
    const d = parsed.data;
    if (d.action === 'expire')
      throw new NodeError(`nobody in queue ${task.queue} decided before the due time`, 'REVIEW_EXPIRED');
    const problems = decisionProblems(task, d);
    if (problems.length)
      throw new NodeError(`the decision is not valid: ${problems.join('; ')}`, 'INVALID_DECISION');

    const outcome =
      d.action === 'approve'
        ? cfg.approveOutcome
        : d.action === 'reject'
          ? cfg.rejectOutcome
          : d.action === 'default'
            ? (cfg.sla?.defaultOutcome as string)
            : (d.outcome as string);
    let corrected = reviewCase;
    for (const [path, value] of Object.entries(d.corrections ?? {}))
      corrected = withValueAt(corrected, path, value);
    const bySla = d.action === 'default';
    const reason = bySla
      ? `No decision before the due time: the default outcome ${outcome} applies`
      : d.reason;
    return {
      decision: {
        outcome,
        reasons: [reason],
        action: d.action,
        decidedBy: bySla ? 'sla' : 'reviewer',
        reviewers: d.reviewers,
        recommendation: typeof automated?.outcome === 'string' ? automated.outcome : null,
      },
      review: {
        queue: task.queue,
        action: d.action,
        outcome,
        reason,
        reviewers: d.reviewers,
        decidedAt: new Date(d.decidedAt).toISOString(),
        corrections: d.corrections ?? {},
      },
      case: corrected,
    };
  },
});
