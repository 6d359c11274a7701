/**
 * Feedback: ground-truth outcomes attached to past decisions (a loan defaulted within 12 months, a chargeback
 * was confirmed), by run id or by the business key the flow declares, validated against the flow's label
 * schema, and stored with the flow version and deployment that decided, so accuracy can be computed per
 * version. Reviewers' decisions are stored here too (source `review`, see the review service).
 *
 * Idempotent: a report is one row per (run, source, dedupe key), the key being the caller's Idempotency-Key or,
 * without one, the label itself; repeating a report returns the first row, and reusing a key with another body
 * is a conflict.
 */
import { validateJsonSchema } from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { canonicalJson, sha256 } from '../hash.js';
import type {
  AuditActor,
  EndpointRecord,
  FeedbackQuery,
  FeedbackRecord,
  Repository,
  RunRecord,
} from '../repo/types.js';
import { newId } from '../security/crypto.js';
import { ConflictError, InvalidError, NotFoundError, UnprocessableError } from './errors.js';
import type { FlowService } from './flows.js';
import { businessKeyHash } from './runs.js';

/** Labels (and reviewers' corrections) are small JSON values: deeper or bigger ones are refused before any schema sees them. */
export const labelLimits = { depth: 16, nodes: 2_000 };

export interface FeedbackRequest {
  workspaceId: string;
  /** Set for the endpoint API: the run must be one of this endpoint's. */
  endpoint?: EndpointRecord;
  runId?: string | undefined;
  businessKey?: string | number | undefined;
  label: unknown;
  idempotencyKey?: string | undefined;
  actor: AuditActor;
}

export const feedbackView = (f: FeedbackRecord) => ({
  id: f.id,
  runId: f.runId,
  flowId: f.flowId,
  flowVersion: f.flowVersion,
  endpointId: f.endpointId,
  deploymentId: f.deploymentId,
  source: f.source,
  label: JSON.parse(f.label) as unknown,
  prediction: f.prediction === null ? null : (JSON.parse(f.prediction) as unknown),
  actor: f.actor,
  decidedAt: f.decidedAt,
  createdAt: f.createdAt,
});

/** Refuses values nested deeper or holding more values than labelLimits (walked without recursion). */
export function checkLabelSize(value: unknown, what: 'LABEL' | 'CORRECTIONS' = 'LABEL'): void {
  const stack: [unknown, number][] = [[value, 1]];
  let nodes = 0;
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (++nodes > labelLimits.nodes)
      throw new InvalidError(
        `${what}_TOO_LARGE`,
        `${what.toLowerCase()} hold at most ${labelLimits.nodes} values`,
      );
    if (v === null || typeof v !== 'object') continue;
    if (depth > labelLimits.depth)
      throw new InvalidError(
        `${what}_TOO_DEEP`,
        `${what.toLowerCase()} nest at most ${labelLimits.depth} deep`,
      );
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
}

function valueAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const actorString = (a: AuditActor) => `${a.type}:${a.id ?? ''}`;

export class FeedbackService {
  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly flows: FlowService,
  ) {}

  /** Records an outcome for a past run; `created` is false when the same report was recorded before. */
  async record(req: FeedbackRequest): Promise<{ feedback: FeedbackRecord; created: boolean }> {
    checkLabelSize(req.label);
    await this.writer.visible();
    const run = await this.findRun(req);
    if (run.status !== 'succeeded') {
      throw new ConflictError(
        'RUN_NOT_DECIDED',
        `the run ${run.status === 'waiting' ? 'still waits' : run.status}; only decisions that were made can be labelled`,
      );
    }
    const plan = await this.flows.prepared(run.workspaceId, run.flowId, run.flowVersion);
    const schema = plan.feedback?.labelSchema;
    if (!schema) {
      throw new UnprocessableError(
        'NO_LABEL_SCHEMA',
        `version ${run.flowVersion} of the flow declares no label schema (settings.feedback.labelSchema)`,
      );
    }
    const fields = validateJsonSchema(schema, req.label);
    if (fields.length) {
      throw new InvalidError(
        'INVALID_LABEL',
        `the label does not match the flow's label schema: ${fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ')}`,
        { fields },
      );
    }
    const labelJson = canonicalJson(req.label);
    const requestHash = sha256(labelJson);
    const dedupeKey = req.idempotencyKey !== undefined ? `key:${req.idempotencyKey}` : `label:${requestHash}`;
    const existing = await this.repo.getFeedback(run.id, 'outcome', dedupeKey);
    if (existing) return this.replay(existing, requestHash);

    const row: FeedbackRecord = {
      id: newId('fb'),
      workspaceId: run.workspaceId,
      runId: run.id,
      flowId: run.flowId,
      flowVersion: run.flowVersion,
      endpointId: run.endpointId,
      deploymentId: run.deploymentId,
      source: 'outcome',
      label: labelJson,
      prediction: await this.prediction(run, plan.feedback?.predictionPath),
      dedupeKey,
      requestHash,
      actor: actorString(req.actor),
      decidedAt: run.startedAt,
      createdAt: Date.now(),
    };
    await this.writer.write((b) => {
      b.feedback.push(row);
      b.audit.push({
        workspaceId: run.workspaceId,
        at: row.createdAt,
        actor: req.actor,
        action: 'feedback.recorded',
        target: `run:${run.id}`,
        details: {
          feedbackId: row.id,
          flowId: run.flowId,
          flowVersion: run.flowVersion,
          deploymentId: run.deploymentId,
          labelHash: requestHash,
        },
      });
    });
    // Two identical reports at once both insert; the row that is there is the answer for both.
    const stored = await this.repo.getFeedback(run.id, 'outcome', dedupeKey);
    if (!stored) throw new Error('the feedback row was not stored');
    return stored.id === row.id ? { feedback: stored, created: true } : this.replay(stored, requestHash);
  }

  private replay(
    existing: FeedbackRecord,
    requestHash: string,
  ): { feedback: FeedbackRecord; created: boolean } {
    if (existing.requestHash !== requestHash) {
      throw new ConflictError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different label');
    }
    return { feedback: existing, created: false };
  }

  /** The run a report names: unknown runs, and runs of another workspace or endpoint, are not found. */
  private async findRun(req: FeedbackRequest): Promise<RunRecord> {
    const notFound = () =>
      new NotFoundError('RUN_NOT_FOUND', 'no decision of this endpoint matches the run or business key');
    let run: RunRecord | undefined;
    if (req.runId !== undefined) run = await this.repo.getRun(req.workspaceId, req.runId);
    else if (req.businessKey !== undefined && req.endpoint) {
      const key = businessKeyHash(req.endpoint.flowId, req.businessKey);
      if (key !== null) run = await this.repo.runByBusinessKey(req.endpoint.id, key);
    }
    if (!run || run.workspaceId !== req.workspaceId) throw notFound();
    if (req.endpoint && run.endpointId !== req.endpoint.id) throw notFound();
    return run;
  }

  /** The decision a label judges: the run's (masked, as stored) output at the flow's prediction path. */
  private async prediction(run: RunRecord, path: string | undefined): Promise<string | null> {
    if (!path) return null;
    const last = (await this.repo.runEvents(run.id, (await this.repo.lastEventSeq(run.id)) - 1))[0];
    if (last?.type !== 'run.finished') return null;
    const value = valueAt(last.outputs, path);
    return value === undefined ? null : JSON.stringify(value);
  }

  async ofRun(workspaceId: string, runId: string): Promise<FeedbackRecord[]> {
    await this.writer.visible();
    const run = await this.repo.getRun(workspaceId, runId);
    if (!run) throw new NotFoundError('RUN_NOT_FOUND', `run ${runId} not found`);
    return this.repo.feedbackOfRun(runId);
  }

  /** Labelled decisions of an endpoint or flow (version) in a window of decision times. */
  async labelled(query: FeedbackQuery): Promise<FeedbackRecord[]> {
    await this.writer.visible();
    return this.repo.labelledDecisions(query);
  }
}
