/**
 * Human review of a challenger's decisions in a rollout's pilot, on the review machinery of human.review (review
 * tasks, the inbox, maker-checker, SLA), two ways:
 *
 * - **Review before release**: the challenger's calls run a held copy of its flow (`holdForReview`) in which every
 *   result goes through one human.review node before any output node: the run waits (the caller gets 202 and the
 *   run id, or a `waiting` event on a stream) and releases the reviewed answer. An approval releases the
 *   challenger's answer as it was; an override or a rejection puts the reviewer's outcome at the prediction path.
 *   The held copy is a pure function of the version's document and the review settings, and the settings can be
 *   read back from the stored task, so a run resumed by another server, or after a restart, runs the same copy.
 * - **Review after release**: a share of the challenger's answered calls becomes a review task after the answer
 *   went out (`postReleaseTask`); nothing waits on it, and its verdict is only a label.
 *
 * Either way the verdict is stored as review feedback on the challenger's version, which the reviewAgreement and
 * reviewOverrideRate gates read; an approval counts as agreeing with the challenger's decision.
 */
import type { ReviewTask } from '@finflow/nodes';
import type { RunFinishedEvent } from '@finflow/runtime';
import { canonicalJson } from '../hash.js';
import type { ReviewTaskRecord } from '../repo/types.js';
import { newId } from '../security/crypto.js';
import { valueAt } from './rollout-split.js';

/** Node ids of the held copy (a flow that already uses one fails validation of the copy: 422, never a mix-up). */
export const HOLD_PREFIX = 'rollout-hold-';
export const HOLD_REVIEW_NODE = `${HOLD_PREFIX}review`;
/** The node id of a review-after-release task (no node of the flow: nothing waits on it). */
export const POST_RELEASE_NODE = 'rollout-post-release';

// The settings' schema is the API's (contract/src/rollouts.ts: `rolloutReviewSchema`).
export { rolloutReviewSchema, type RolloutReview } from '@finflow/contract';
import type { RolloutReview } from '@finflow/contract';

/** What the held copy depends on besides the document: readable back from a stored task. */
export interface HoldSettings {
  queue: string;
  roles: string[];
  outcomes: string[];
  /** Output path of the decision (`decision.outcome`): where a reviewer's outcome goes. */
  predictionPath: string;
}

export const holdSettingsOf = (review: RolloutReview, predictionPath: string): HoldSettings => ({
  queue: review.queue,
  roles: [...review.roles],
  outcomes: [...review.outcomes],
  predictionPath,
});

/** The settings a held run was made with, from its stored review task (undefined: not a held run's task). */
export function holdSettingsOfTask(t: Pick<ReviewTaskRecord, 'nodeId' | 'task'>): HoldSettings | undefined {
  if (t.nodeId !== HOLD_REVIEW_NODE) return undefined;
  const task = JSON.parse(t.task) as Record<string, unknown>;
  const summary = Array.isArray(task['summary']) ? (task['summary'] as { path?: unknown }[]) : [];
  const path = summary[0]?.path;
  const outcomes = task['outcomes'];
  const roles = task['roles'];
  if (typeof path !== 'string' || !path.startsWith('answer.')) return undefined;
  if (!Array.isArray(outcomes) || !Array.isArray(roles) || typeof task['queue'] !== 'string')
    return undefined;
  return {
    queue: task['queue'],
    roles: roles.map(String),
    outcomes: outcomes.map(String),
    predictionPath: path.slice('answer.'.length),
  };
}

/** A tag naming one held copy (part of the prepared-plan cache key). */
export const holdTag = (s: HoldSettings) => `hold:${canonicalJson(s)}`;

interface DocNode {
  id: string;
  type: string;
  version?: number;
  config?: Record<string, unknown>;
  [k: string]: unknown;
}
interface DocEdge {
  id: string;
  from: { node: string; port: string };
  to: { node: string; port: string };
  [k: string]: unknown;
}

/** A JSONata field reference (backquoted: names may hold `-`). */
const field = (name: string) => `\`${name}\``;

/** JSONata that is `base` with the value at `path` (dotted) replaced by `value`. */
function setAt(base: string, path: string[], value: string): string {
  const [head, ...rest] = path as [string, ...string[]];
  const inner = rest.length ? setAt(`${base}.${field(head)}`, rest, value) : value;
  return `$merge([${base}, { ${JSON.stringify(head)}: ${inner} }])`;
}

/**
 * The held copy of a flow document: each output node's incoming value goes to one review first. The results
 * are collected (`collect`), shown to the reviewer with the flow input (`case`), the decision at the prediction
 * path given as the automated one (`decision`); after the review, `release` builds the reviewed answer and each
 * output takes its own result again (a result the flow did not give stays not given).
 */
export function holdForReview(document: unknown, s: HoldSettings): unknown {
  const doc = document as { nodes: DocNode[]; edges: DocEdge[]; [k: string]: unknown };
  const outputs = doc.nodes.filter((n) => n.type === 'io.output');
  const feeds = outputs
    .map((o) => ({ o, e: doc.edges.find((e) => e.to.node === o.id) }))
    .filter((x): x is { o: DocNode; e: DocEdge } => x.e !== undefined);
  const id = (name: string) => `${HOLD_PREFIX}${name}`;
  const names = feeds.map((_, i) => `r${i}`);
  // logic.merge takes at least two inputs; an unconnected one is never taken.
  const mergeInputs = names.length >= 2 ? names : [...names, 'unused'];
  const resultName = (o: DocNode) => String(o.config?.['name'] ?? o.id);
  const answer = feeds.map((f, i) => `${JSON.stringify(resultName(f.o))}: data.${names[i]}`).join(', ');
  const path = s.predictionPath.split('.');
  const edge = (name: string, from: string, fromPort: string, to: string, toPort: string): DocEdge => ({
    id: id(name),
    from: { node: from, port: fromPort },
    to: { node: to, port: toPort },
  });
  const nodes: DocNode[] = [
    ...doc.nodes,
    {
      id: id('collect'),
      type: 'logic.merge',
      version: 1,
      config: { inputs: mergeInputs, mode: 'collect' },
    },
    {
      id: id('case'),
      type: 'data.transform',
      version: 1,
      config: { expression: `{ "input": input, "answer": { ${answer} } }` },
    },
    {
      id: id('decision'),
      type: 'data.transform',
      version: 1,
      config: { expression: `{ "outcome": data.answer.${path.map(field).join('.')} }` },
    },
    {
      id: HOLD_REVIEW_NODE,
      type: 'human.review',
      version: 1,
      config: {
        queue: s.queue,
        roles: s.roles,
        title: 'Challenger decision before release',
        summary: [`answer.${s.predictionPath}`],
        outcomes: s.outcomes,
        approveOutcome: s.outcomes[0],
        rejectOutcome: s.outcomes[s.outcomes.length - 1],
      },
    },
    {
      id: id('verdict'),
      type: 'logic.merge',
      version: 1,
      config: { inputs: ['case', 'decision'], mode: 'collect' },
    },
    {
      id: id('release'),
      type: 'data.transform',
      version: 1,
      config: {
        // An approval releases the challenger's answer as it was; otherwise the reviewer's outcome goes in.
        expression: `data.decision.action = "approve" ? data.case.answer : ${setAt('data.case.answer', path, 'data.decision.outcome')}`,
      },
    },
  ];
  const edges: DocEdge[] = doc.edges.filter((e) => !feeds.some((f) => f.e === e));
  feeds.forEach((f, i) => {
    const name = names[i] as string;
    edges.push(edge(`in-${i}`, f.e.from.node, f.e.from.port, id('collect'), name));
    nodes.push(
      {
        id: id(`has-${i}`),
        type: 'logic.branch',
        version: 1,
        config: { condition: `$exists(value.${field(resultName(f.o))})` },
      },
      {
        id: id(`out-${i}`),
        type: 'data.transform',
        version: 1,
        config: { expression: `data.${field(resultName(f.o))}`, emptyResult: 'null' },
      },
    );
    edges.push(
      edge(`has-${i}`, id('release'), 'result', id(`has-${i}`), 'value'),
      edge(`out-${i}`, id(`has-${i}`), 'true', id(`out-${i}`), 'data'),
      edge(`to-${i}`, id(`out-${i}`), 'result', f.o.id, 'value'),
    );
  });
  edges.push(
    edge('case', id('collect'), 'value', id('case'), 'data'),
    edge('decision', id('case'), 'result', id('decision'), 'data'),
    edge('review-case', id('case'), 'result', HOLD_REVIEW_NODE, 'case'),
    edge('review-decision', id('decision'), 'result', HOLD_REVIEW_NODE, 'decision'),
    edge('verdict-case', HOLD_REVIEW_NODE, 'case', id('verdict'), 'case'),
    edge('verdict-decision', HOLD_REVIEW_NODE, 'decision', id('verdict'), 'decision'),
    edge('release', id('verdict'), 'value', id('release'), 'data'),
  );
  return { ...doc, nodes, edges };
}

/**
 * A review-after-release task for an answered challenger call: the masked answer as the case, the decision at the
 * prediction path as the automated one. Nothing waits on it; a decision only labels the call.
 */
export function postReleaseTask(
  run: {
    runId: string;
    workspaceId: string;
    flowId: string;
    flowVersion: number;
    endpointId: string;
    deploymentId: string;
    starter: string;
  },
  masked: Pick<RunFinishedEvent, 'outputs'>,
  review: RolloutReview,
  predictionPath: string | undefined,
  now: number,
): ReviewTaskRecord {
  const outcome = predictionPath ? valueAt(masked.outputs, predictionPath) : undefined;
  const task: ReviewTask = {
    kind: 'human.review',
    queue: review.queue,
    roles: review.roles,
    title: 'Challenger decision after release',
    summary: predictionPath ? [{ path: `answer.${predictionPath}`, value: (outcome ?? null) as never }] : [],
    case: { answer: masked.outputs },
    decision: outcome === undefined ? null : { outcome },
    outcomes: review.outcomes,
    approveOutcome: review.outcomes[0] as string,
    rejectOutcome: review.outcomes[review.outcomes.length - 1] as string,
    editableFields: [],
    dueAt: null,
    sla: null,
    makerChecker: { excludeStarter: true, excludeFlowOwner: true },
    approvalsRequired: 1,
    fourEyes: null,
  } as ReviewTask;
  return {
    id: newId('rvw'),
    workspaceId: run.workspaceId,
    runId: run.runId,
    nodeId: POST_RELEASE_NODE,
    flowId: run.flowId,
    flowVersion: run.flowVersion,
    endpointId: run.endpointId,
    deploymentId: run.deploymentId,
    queue: review.queue,
    roles: review.roles,
    title: 'Challenger decision after release',
    status: 'open',
    dueAt: null,
    escalatedAt: null,
    starter: run.starter,
    task: JSON.stringify(task),
    approvals: [],
    decision: null,
    decidedAt: null,
    decidedBy: null,
    resumedBy: null,
    createdAt: now,
  };
}

/** A task of a rollout's review (held or after release): an approval agrees with the challenger's decision. */
export const isRolloutReview = (nodeId: string) =>
  nodeId === HOLD_REVIEW_NODE || nodeId === POST_RELEASE_NODE;
