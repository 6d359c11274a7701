/**
 * Continuous learning of a published endpoint (issue 13): the trainable node of its flow is retrained from the
 * feedback collected on it, and the drift of the model's inputs and score is watched against its training
 * baseline.
 *
 * Retraining joins each label to the call it refers to: the training row is what the trainable node received in
 * that call, read from the run's stored (masked) events, so a field the flow's redaction settings mask never
 * reaches training: a column masked in any call, or copying a masked input field, is excluded, and the job says
 * so. The labelled calls are split into training rows and a holdout (by a hash of the run id, so a call stays on
 * its side); the new model goes into a copy of the champion version, saved through the flow service's normal save
 * path as a new version (never published), evaluated against the champion on the holdout (the report is stored as
 * an evaluation), and proposed for shadow or pilot when it does not lose beyond the margin. Manual, or on a
 * schedule; one server at a time per endpoint, under a lease in the repository, so several servers never retrain
 * one endpoint twice and a server that died leaves a lease that expires.
 */
import { createHash } from 'node:crypto';
import {
  createRuntime,
  evaluateExpression,
  evaluateFlows,
  EvaluationSpecError,
  flowDataClass,
  parseEvaluationSpec,
  retrainNode,
  RetrainError,
  trainers,
  type FlowDocument,
  type Runtime,
} from '@finflow/runtime';
import {
  DatasetError,
  datasetLimits,
  featureDrift,
  parseDataset,
  profileFeature,
  type Comparison,
  type DatasetRow,
  type EvaluationReport,
  type FeatureDrift,
  type FeatureProfile,
} from '@finflow/runtime/evaluation';
import {
  learningConfigSchema,
  type Drift,
  type Learning,
  type LearningConfig,
  type ProposalReason,
  type RetrainJob,
} from '@finflow/contract';
import type { DatasetFormat } from '@finflow/runtime/evaluation';
import { canonicalJson } from '../hash.js';
import type { Logger } from '../logger.js';
import { REDACTED } from '../masking.js';
import type {
  AuditActor,
  DriftAlertRecord,
  EndpointRecord,
  Repository,
  RetrainJobRecord,
  RunRecord,
} from '../repo/types.js';
import { newId, type Sealer } from '../security/crypto.js';
import type { AuditService } from './audit.js';
import type { ConnectionService } from './connections.js';
import type { CredentialService } from './credentials.js';
import { primaryVersion, type EndpointService } from './endpoints.js';
import { ConflictError, InvalidError, NotFoundError, UnprocessableError } from './errors.js';
import type { FeedbackService } from './feedback.js';
import type { Author, FlowService } from './flows.js';

export const learningLimits = {
  /** Labelled calls read for one retraining. */
  maxLabels: 20_000,
  /** Rows of an uploaded baseline dataset. */
  maxBaselineRows: 20_000,
  /** How long a retraining lease lasts without renewal, and how often it is renewed. */
  leaseMs: 10 * 60_000,
  renewMs: 60_000,
  /** How often the schedule (and the drift watch) looks at the endpoints. */
  tickMs: 60_000,
  /** Baselines kept per endpoint (one per version, newest kept). */
  maxBaselines: 10,
  /** A drift alert of the same feature and level is recorded again only after this long. */
  alertEveryMs: 60 * 60_000,
};

/** A version's training baseline: the profile of each feature and of the score on the training rows. */
interface Baseline {
  version: number;
  rows: number;
  createdAt: number;
  features: FeatureProfile[];
  score: FeatureProfile | null;
}
type Baselines = Record<string, Baseline>;

/** What a job records, beyond its status (the JSON of `detail`). */
type JobDetail = Omit<
  RetrainJob,
  'id' | 'endpointId' | 'status' | 'trigger' | 'createdBy' | 'createdAt' | 'finishedAt'
>;

/** The column that holds the training target, by trainer (the node's own name for it). */
const targetKey: Record<string, string> = {
  'risk.scorecard': 'target',
  'risk.fraudScore': 'label',
  'model.classify': 'labelColumn',
};
const defaultTarget: Record<string, string> = { 'model.classify': 'label' };
/** The bad/positive class the trainer is told about, for the evaluation's binary figures. */
const positiveKey: Record<string, string> = {
  'risk.scorecard': 'positiveClass',
  'risk.fraudScore': 'positiveClass',
};

/** The node's score in a run's outputs of that node (for the score's drift). */
function scoreOf(type: string, outputs: Record<string, unknown>): number | undefined {
  const first = (t: unknown) =>
    Array.isArray(t) ? (t[0] as Record<string, unknown> | undefined) : undefined;
  const v =
    type === 'model.classify'
      ? outputs['confidence']
      : type === 'risk.fraudScore'
        ? ((outputs['score'] as { value?: unknown } | undefined)?.value ??
          first(outputs['scores'])?.['probability'])
        : first(outputs['scores'])?.['probability'];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The row a trainable node received in a call (its `node.started` inputs). */
function rowOf(type: string, inputs: Record<string, unknown>, textColumn: string): DatasetRow | undefined {
  const obj = (v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as DatasetRow) : undefined;
  if (type === 'model.classify')
    return typeof inputs['text'] === 'string' ? { [textColumn]: inputs['text'] } : undefined;
  const table = inputs['table'];
  const first = Array.isArray(table) ? obj(table[0]) : undefined;
  return type === 'risk.fraudScore' ? (obj(inputs['transaction']) ?? first) : first;
}

/** Values at a dotted path of the input (`*` steps over every element or key). */
function valuesAt(root: unknown, path: string): unknown[] {
  let cur: unknown[] = [root];
  for (const key of path.split('.')) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || typeof v !== 'object') continue;
      if (key === '*') next.push(...Object.values(v));
      else if (Object.hasOwn(v, key)) next.push((v as Record<string, unknown>)[key]);
    }
    cur = next;
  }
  return cur;
}

/**
 * A call's side of the split, from what the node received (the stored row): the same call is always on the same
 * side, and the same labelled calls give the same split on every server and every run.
 */
function inHoldout(row: DatasetRow, seed: number, share: number): boolean {
  const h = createHash('sha256')
    .update(`${seed}:${canonicalJson(row)}`)
    .digest();
  return h.readUInt32BE(0) / 2 ** 32 < share;
}

const actorString = (a: AuditActor) => `${a.type}:${a.id ?? ''}`;
const scheduleActor: AuditActor = { type: 'system', id: 'retrain-schedule', name: 'retraining schedule' };
const driftActor: AuditActor = { type: 'system', id: 'drift-watch', name: 'drift watch' };

/** A job's stored detail; jobs stored before reasons had codes hold them as English text. */
type StoredDetail = Omit<JobDetail, 'proposal'> & {
  proposal?: { stage: 'shadow' | 'pilot' | null; reasons: (ProposalReason | string)[] };
};

export function retrainJobView(j: RetrainJobRecord): RetrainJob {
  const { proposal, ...detail } = JSON.parse(j.detail) as StoredDetail;
  return {
    ...detail,
    ...(proposal
      ? {
          proposal: {
            stage: proposal.stage,
            reasons: proposal.reasons.map((r) =>
              typeof r === 'string' ? { code: 'TEXT' as const, params: {}, message: r } : r,
            ),
          },
        }
      : {}),
    id: j.id,
    endpointId: j.endpointId,
    status: j.status,
    trigger: j.trigger,
    createdBy: j.createdBy,
    createdAt: j.createdAt,
    finishedAt: j.finishedAt,
  };
}

export const driftAlertView = (a: DriftAlertRecord) => ({
  id: a.id,
  endpointId: a.endpointId,
  feature: a.feature,
  psi: a.psi,
  level: a.level,
  calls: a.calls,
  createdAt: a.createdAt,
});

/** The labelled calls of an endpoint, joined to what the trainable node received in each. */
interface LabelledCall {
  run: RunRecord;
  row: DatasetRow;
  target: string;
}

export class LearningService {
  /** Nodes run here without a run record (training, evaluation, baselines). */
  private readonly runtime: Runtime;
  /** This process, as a lease holder. */
  private readonly owner = newId('srv');
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly repo: Repository,
    base: Runtime,
    private readonly flows: FlowService,
    private readonly endpoints: EndpointService,
    private readonly feedback: FeedbackService,
    private readonly credentials: CredentialService,
    private readonly connections: ConnectionService,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly logger: Logger,
    private readonly options: { tickMs?: number } = {},
  ) {
    this.runtime = createRuntime({ registry: base.registry });
  }

  // Settings

  private parseConfig(text: string): LearningConfig {
    return learningConfigSchema.parse(JSON.parse(text));
  }

  /** The endpoint's trainable node, checked against the version it serves. */
  private async checkNode(workspaceId: string, endpoint: EndpointRecord, nodeId: string): Promise<string> {
    const version = await this.servedVersion(endpoint);
    const { version: v } = await this.flows.getVersion(workspaceId, endpoint.flowId, version);
    const node = (JSON.parse(v.document) as FlowDocument).nodes.find((n) => n.id === nodeId);
    if (!node)
      throw new InvalidError('NODE_NOT_FOUND', `version ${version} of the flow has no node ${nodeId}`);
    if (!trainers[node.type])
      throw new InvalidError(
        'NOT_TRAINABLE',
        `${nodeId} is a ${node.type}, which does not retrain (trainable: ${Object.keys(trainers).join(', ')})`,
      );
    return node.type;
  }

  private async servedVersion(endpoint: EndpointRecord): Promise<number> {
    const d = await this.repo.getDeployment(endpoint.deploymentId);
    if (!d) throw new NotFoundError('ENDPOINT_NOT_FOUND', `endpoint ${endpoint.id} has no deployment`);
    return primaryVersion(d);
  }

  async configure(
    workspaceId: string,
    endpointId: string,
    config: LearningConfig,
    actor: AuditActor,
  ): Promise<Learning> {
    const endpoint = await this.endpoints.get(workspaceId, endpointId);
    await this.checkNode(workspaceId, endpoint, config.nodeId);
    // The evaluation's expressions compile now, so a mistake is reported when it is made, not at 3 a.m.
    this.holdoutSpec(config, 'risk.scorecard');
    if (config.label !== undefined) await this.mapLabel(config, null);
    const size = JSON.stringify(config.train).length;
    if (size > 256 * 1024)
      throw new InvalidError('TRAIN_CONFIG_TOO_LARGE', 'the training settings hold at most 256 KiB of JSON');
    await this.repo.putLearning({
      workspaceId,
      endpointId,
      config: JSON.stringify(config),
      updatedAt: Date.now(),
      updatedBy: actorString(actor),
    });
    await this.audit.record(workspaceId, actor, 'learning.configured', `endpoint:${endpointId}`, {
      nodeId: config.nodeId,
      holdout: config.holdout,
      schedule: config.schedule,
      drift: config.drift,
    });
    return this.get(workspaceId, endpointId);
  }

  /** The trainable nodes of the version an endpoint serves (what its settings may name). */
  private async trainableNodes(
    workspaceId: string,
    endpoint: EndpointRecord,
  ): Promise<Learning['trainableNodes']> {
    const { version } = await this.flows.getVersion(
      workspaceId,
      endpoint.flowId,
      await this.servedVersion(endpoint),
    );
    return (JSON.parse(version.document) as FlowDocument).nodes
      .filter((n) => trainers[n.type])
      .map((n) => ({ id: n.id, type: n.type, ...(n.label ? { label: n.label } : {}) }));
  }

  async get(workspaceId: string, endpointId: string): Promise<Learning> {
    const endpoint = await this.endpoints.get(workspaceId, endpointId);
    const r = await this.repo.getLearning(workspaceId, endpointId);
    const config = r ? this.parseConfig(r.config) : null;
    const baselines = Object.values(r?.baseline ? (JSON.parse(r.baseline) as Baselines) : {}).map((b) => ({
      version: b.version,
      rows: b.rows,
      createdAt: b.createdAt,
    }));
    return {
      endpointId,
      config,
      baselines,
      lastRetrainAt: r?.lastRetrainAt ?? null,
      lastRetrainLabels: r?.lastRetrainLabels ?? 0,
      labels: (await this.labelled(workspaceId, endpointId)).length,
      trainableNodes: await this.trainableNodes(workspaceId, endpoint),
      nextCheckAt:
        config?.schedule && r
          ? Math.max(Date.now(), (r.lastRetrainAt ?? 0) + config.schedule.everyHours * 3_600_000)
          : null,
    };
  }

  private async settings(workspaceId: string, endpointId: string) {
    const r = await this.repo.getLearning(workspaceId, endpointId);
    if (!r)
      throw new ConflictError(
        'LEARNING_NOT_CONFIGURED',
        'this endpoint has no learning settings: PUT /api/endpoints/:id/learning first',
      );
    return { record: r, config: this.parseConfig(r.config) };
  }

  // Retraining

  private labelled(workspaceId: string, endpointId: string) {
    return this.feedback.labelled({
      workspaceId,
      endpointId,
      source: 'outcome',
      from: 0,
      to: Date.now() + 1,
      limit: learningLimits.maxLabels,
    });
  }

  private async mapLabel(config: LearningConfig, label: unknown): Promise<string | null> {
    let v: unknown = label;
    if (config.label !== undefined) {
      try {
        v = await evaluateExpression(config.label, label);
      } catch (err) {
        throw new InvalidError('INVALID_LABEL_EXPRESSION', `the label expression: ${(err as Error).message}`);
      }
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    return null;
  }

  private holdoutSpec(config: LearningConfig, type: string) {
    const positive = config.evaluation.positive ?? config.train[positiveKey[type] ?? ''];
    const spec = {
      label: 'label',
      input: 'input',
      ...config.evaluation,
      ...(typeof positive === 'string' || typeof positive === 'number' ? { positive: String(positive) } : {}),
      bootstrap: 500,
      seed: config.seed,
      concurrency: 4,
    };
    try {
      parseEvaluationSpec(spec);
    } catch (err) {
      if (err instanceof EvaluationSpecError)
        throw new InvalidError('INVALID_SPEC', `the evaluation settings: ${err.message}`);
      throw err;
    }
    return spec;
  }

  /** Starts a retraining (answers at once with the running job); 409 when one runs for the endpoint. */
  async retrain(
    workspaceId: string,
    endpointId: string,
    actor: AuditActor,
    author: Author,
    trigger: 'manual' | 'schedule' = 'manual',
    reason?: string,
  ): Promise<RetrainJob> {
    const endpoint = await this.endpoints.get(workspaceId, endpointId);
    const { config } = await this.settings(workspaceId, endpointId);
    if (this.stopping) throw new ConflictError('SHUTTING_DOWN', 'the server is stopping');
    const now = Date.now();
    if (!(await this.repo.claimLearning(endpointId, this.owner, now, now + learningLimits.leaseMs)))
      throw new ConflictError(
        'RETRAIN_BUSY',
        'a retraining of this endpoint is running; wait for it to finish',
      );
    if (this.running.has(endpointId)) {
      throw new ConflictError(
        'RETRAIN_BUSY',
        'a retraining of this endpoint is running; wait for it to finish',
      );
    }
    const job: RetrainJobRecord = {
      id: newId('rt'),
      workspaceId,
      endpointId,
      status: 'running',
      trigger,
      detail: JSON.stringify({ flowId: endpoint.flowId, nodeId: config.nodeId } satisfies JobDetail),
      createdBy: actorString(actor),
      createdAt: now,
      finishedAt: null,
    };
    try {
      await this.repo.createRetrainJob(job);
      await this.audit.record(workspaceId, actor, 'model.retrain.started', `endpoint:${endpointId}`, {
        jobId: job.id,
        trigger,
        nodeId: config.nodeId,
        ...(reason ? { reason } : {}),
      });
    } catch (err) {
      await this.repo.releaseLearning(endpointId, this.owner);
      throw err;
    }
    const renew = setInterval(() => {
      const t = Date.now();
      void this.repo.claimLearning(endpointId, this.owner, t, t + learningLimits.leaseMs).catch(() => {});
    }, learningLimits.renewMs);
    renew.unref();
    const done = this.execute(job, endpoint, config, actor, author)
      .then(async ({ detail, labels }) => {
        await this.repo.finishRetrainJob(job.id, {
          status: 'succeeded',
          detail: JSON.stringify(detail),
          finishedAt: Date.now(),
        });
        await this.repo.releaseLearning(endpointId, this.owner, {
          lastRetrainAt: Date.now(),
          lastRetrainLabels: labels,
        });
        await this.audit.record(workspaceId, actor, 'model.retrain.finished', `endpoint:${endpointId}`, {
          jobId: job.id,
          newVersion: detail.newVersion,
          evaluationId: detail.evaluationId,
          proposal: detail.proposal?.stage ?? null,
          excluded: detail.excluded?.map((e) => e.column),
        });
        if (detail.proposal?.stage)
          await this.audit.record(workspaceId, actor, 'model.retrain.proposed', `endpoint:${endpointId}`, {
            jobId: job.id,
            version: detail.newVersion,
            stage: detail.proposal.stage,
          });
      })
      .catch(async (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.logger.warn({ jobId: job.id, endpointId, err: message }, 'retraining failed');
        const detail = { ...(JSON.parse(job.detail) as JobDetail), error: message };
        await this.repo
          .finishRetrainJob(job.id, {
            status: this.stopping ? 'interrupted' : 'failed',
            detail: JSON.stringify(detail),
            finishedAt: Date.now(),
          })
          .catch(() => {});
        // A failure still counts as an attempt for the schedule, so a broken setting does not retry every minute.
        const labels = (await this.labelled(workspaceId, endpointId).catch(() => [])).length;
        await this.repo
          .releaseLearning(endpointId, this.owner, { lastRetrainAt: Date.now(), lastRetrainLabels: labels })
          .catch(() => {});
        await this.audit
          .record(workspaceId, actor, 'model.retrain.failed', `endpoint:${endpointId}`, {
            jobId: job.id,
            error: message,
          })
          .catch(() => {});
      })
      .finally(() => {
        clearInterval(renew);
        this.running.delete(endpointId);
      });
    this.running.set(endpointId, done);
    return retrainJobView(job);
  }

  /** Collects the labelled calls, trains, saves the new version, evaluates it and proposes it. */
  private async execute(
    job: RetrainJobRecord,
    endpoint: EndpointRecord,
    config: LearningConfig,
    actor: AuditActor,
    author: Author,
  ): Promise<{ detail: JobDetail; labels: number }> {
    const workspaceId = endpoint.workspaceId;
    const championVersion = await this.servedVersion(endpoint);
    const champion = await this.flows.getVersion(workspaceId, endpoint.flowId, championVersion);
    const doc = JSON.parse(champion.version.document) as FlowDocument;
    const node = doc.nodes.find((n) => n.id === config.nodeId);
    if (!node || !trainers[node.type])
      throw new UnprocessableError(
        'NOT_TRAINABLE',
        `version ${championVersion} has no trainable node ${config.nodeId}`,
      );
    const type = node.type;
    const targetColumn = String(config.train[targetKey[type] ?? ''] ?? defaultTarget[type] ?? '');
    if (!targetColumn)
      throw new InvalidError(
        'NO_TARGET',
        `the training settings name no target column (train.${targetKey[type] ?? 'target'})`,
      );
    const textColumn = String(config.train['textColumn'] ?? 'text');
    const spec = this.holdoutSpec(config, type);

    // The labels, the latest per call, joined to what the node received and to the call's input.
    const feedback = await this.labelled(workspaceId, endpoint.id);
    const latest = new Map<string, (typeof feedback)[number]>();
    for (const f of feedback) {
      const seen = latest.get(f.runId);
      if (!seen || f.createdAt >= seen.createdAt) latest.set(f.runId, f);
    }
    const calls: LabelledCall[] = [];
    const inputs = new Map<string, unknown>();
    for (const f of latest.values()) {
      const run = await this.repo.getRun(workspaceId, f.runId);
      if (!run || run.status !== 'succeeded') continue;
      const started = (await this.repo.runEvents(run.id, -1)).find(
        (e) => e.type === 'node.started' && e.nodeId === config.nodeId,
      );
      if (started?.type !== 'node.started') continue;
      const row = rowOf(type, started.inputs, textColumn);
      const target = await this.mapLabel(config, JSON.parse(f.label) as unknown);
      if (!row || target === null) continue;
      calls.push({ run, row: { ...row }, target });
      if (run.inputSealed)
        inputs.set(
          run.id,
          JSON.parse(this.sealer.open(run.inputSealed, `run-input:${run.id}`).toString('utf8')) as unknown,
        );
    }
    if (calls.length < config.minLabels)
      throw new ConflictError(
        'NOT_ENOUGH_LABELS',
        `${calls.length} labelled calls of this endpoint can be used; the settings ask for at least ${config.minLabels}`,
      );

    // What the redaction settings allow: a column masked in any call, or copying a masked input field in most
    // calls where both are present, is left out of training.
    const excluded = new Map<
      string,
      { column: string; reason: 'masked' | 'copies-masked-input'; path?: string }
    >();
    const columns = [...new Set(calls.flatMap((c) => Object.keys(c.row)))];
    for (const c of columns)
      if (calls.some((x) => x.row[c] === REDACTED)) excluded.set(c, { column: c, reason: 'masked' });
    const masked = doc.settings?.redact?.inputPaths ?? [];
    for (const path of masked) {
      for (const c of columns) {
        if (excluded.has(c)) continue;
        let both = 0;
        let same = 0;
        for (const x of calls) {
          const v = x.row[c];
          if (v === undefined || v === null || typeof v === 'boolean' || typeof v === 'object') continue;
          const real = valuesAt(inputs.get(x.run.id), path).filter(
            (r) => typeof r === 'string' || typeof r === 'number',
          );
          if (!real.length) continue;
          both++;
          if (real.some((r) => String(r) === String(v))) same++;
        }
        if (both > 0 && same * 2 >= both) excluded.set(c, { column: c, reason: 'copies-masked-input', path });
      }
    }
    if (type === 'model.classify' && excluded.has(textColumn))
      throw new UnprocessableError(
        'TEXT_MASKED',
        `the classifier's text is masked by the flow's redaction settings; it cannot be trained on`,
      );
    for (const c of calls) {
      for (const col of excluded.keys()) delete c.row[col];
      c.row[targetColumn] = c.target;
    }
    const drop = (list: unknown) =>
      Array.isArray(list) ? list.filter((x) => !excluded.has(String(x))) : list;
    const train: Record<string, unknown> = { ...config.train };
    for (const k of ['features', 'numeric', 'categorical']) if (k in train) train[k] = drop(train[k]);
    // Per-column settings (the scorecard's reviewed coarse classes) of an excluded column go with it.
    const classes = train['classes'];
    if (classes !== null && typeof classes === 'object' && !Array.isArray(classes))
      train['classes'] = Object.fromEntries(Object.entries(classes).filter(([c]) => !excluded.has(c)));
    if (type !== 'model.classify' && excluded.size)
      train['exclude'] = [
        ...new Set([...(Array.isArray(train['exclude']) ? train['exclude'] : []), ...excluded.keys()]),
      ];

    const sides = new Map(calls.map((c) => [c, inHoldout(c.row, config.seed, config.holdout)]));
    const holdout = calls.filter((c) => sides.get(c));
    const training = calls.filter((c) => !sides.get(c));
    const evaluable = holdout.filter((c) => inputs.has(c.run.id));
    if (training.length < 10 || evaluable.length < 10)
      throw new ConflictError(
        'NOT_ENOUGH_LABELS',
        `${training.length} training and ${evaluable.length} holdout calls: too few to train and compare`,
      );

    let retrained;
    try {
      retrained = await retrainNode({
        runtime: this.runtime,
        flow: doc,
        nodeId: config.nodeId,
        rows: training.map((c) => c.row),
        trainConfig: train,
      });
    } catch (err) {
      if (err instanceof RetrainError) throw new UnprocessableError(err.code, err.message);
      throw err;
    }
    const saved = await this.flows.save(
      workspaceId,
      endpoint.flowId,
      author,
      retrained.flow,
      `retrained ${config.nodeId} from ${training.length} labelled calls of endpoint ${endpoint.slug} (job ${job.id})`,
      actor,
      'flow.retrained',
      { jobId: job.id, endpointId: endpoint.id, nodeId: config.nodeId, fromVersion: championVersion },
    );
    const newVersion = saved.version.number;

    // Champion and challenger on the holdout; the report is stored as an evaluation of the flow.
    const plans = [
      await this.flows.prepared(workspaceId, endpoint.flowId, championVersion),
      await this.flows.prepared(workspaceId, endpoint.flowId, newVersion),
    ];
    const rows = evaluable.map((c) => ({ input: inputs.get(c.run.id), label: c.target }));
    const services = {
      secrets: this.credentials.resolver(workspaceId, `retrain:${job.id}`, actor),
      connections: this.connections.resolver(
        workspaceId,
        `retrain:${job.id}`,
        actor,
        flowDataClass(plans[0]!.prepared.flow),
      ),
    };
    const datasetName = `holdout of retrain job ${job.id} (${evaluable.length} labelled calls of ${endpoint.slug})`;
    const report = await evaluateFlows({
      runtime: this.runtime,
      versions: plans.map((p) => ({ version: `v${p.version}`, flow: p.prepared })),
      rows: rows as DatasetRow[],
      datasetName,
      spec,
      start: { services },
    });
    const evaluationId = newId('ev');
    await this.repo.createEvaluation({
      id: evaluationId,
      workspaceId,
      flowId: endpoint.flowId,
      versions: [championVersion, newVersion],
      datasetName,
      datasetRows: rows.length,
      // The holdout is named by its calls, not its content (which may hold personal data).
      datasetSha256: createHash('sha256')
        .update(evaluable.map((c) => c.run.id).join('\n'))
        .digest('hex'),
      spec: JSON.stringify(spec),
      status: 'succeeded',
      progressDone: rows.length * 2,
      progressTotal: rows.length * 2,
      report: JSON.stringify(report),
      error: null,
      createdBy: actorString(actor),
      createdAt: Date.now(),
      finishedAt: Date.now(),
    });

    // The baseline of the new version, for drift once it serves.
    await this.storeBaseline(
      endpoint.id,
      workspaceId,
      newVersion,
      retrained.flow,
      config.nodeId,
      training.map((c) => c.row),
      targetColumn,
      Array.isArray(train['exclude']) ? train['exclude'].map(String) : [],
    );

    const comparison = report.comparisons[0];
    const proposal = this.propose(comparison, config.margin);
    const detail: JobDetail = {
      flowId: endpoint.flowId,
      nodeId: config.nodeId,
      championVersion,
      newVersion,
      labels: feedback.length,
      trainingRows: training.length,
      holdoutRows: evaluable.length,
      excluded: [...excluded.values()],
      evaluationId,
      ...(comparison ? { comparison: this.figures(report, comparison) } : {}),
      proposal,
      summary: this.summary(
        championVersion,
        newVersion,
        training.length,
        evaluable.length,
        [...excluded.values()],
        report,
        comparison,
        proposal,
      ),
    };
    return { detail, labels: feedback.length };
  }

  private figures(report: EvaluationReport, c: Comparison) {
    const [a, b] = report.versions;
    const d = (i: { estimate: number; lo: number; hi: number } | undefined) =>
      i ? { estimate: i.estimate, lo: i.lo, hi: i.hi } : null;
    return {
      accuracy: {
        champion: a?.quality.accuracy ?? null,
        challenger: b?.quality.accuracy ?? null,
        difference: d(c.accuracy),
      },
      ...(c.auc
        ? {
            auc: {
              champion: a?.quality.scores?.auc ?? null,
              challenger: b?.quality.scores?.auc ?? null,
              difference: d(c.auc),
            },
          }
        : {}),
      ...(c.cost
        ? {
            cost: {
              champion: a?.quality.cost?.perRow ?? null,
              challenger: b?.quality.cost?.perRow ?? null,
              difference: d(c.cost),
            },
          }
        : {}),
    };
  }

  /**
   * Judged on the measure that matters most in the report: cost per call under the cost matrix when there is one,
   * else AUC when there is a score, else accuracy. Pilot when the new version is better (the difference's 95 %
   * interval on the good side), shadow when it is not shown worse beyond the margin (shadow changes no answer),
   * not proposed when it is.
   */
  private propose(
    c: Comparison | undefined,
    margin: number,
  ): { stage: 'shadow' | 'pilot' | null; reasons: ProposalReason[] } {
    if (!c)
      return {
        stage: null,
        reasons: [{ code: 'NO_COMPARISON', params: {}, message: 'no comparison' }],
      };
    const [measure, d, lowerIsBetter] = c.cost
      ? (['cost', c.cost, true] as const)
      : c.auc
        ? (['auc', c.auc, false] as const)
        : (['accuracy', c.accuracy, false] as const);
    const name = { cost: 'cost per call', auc: 'AUC', accuracy: 'accuracy' }[measure];
    const ci = `${d.estimate.toFixed(3)} [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}]`;
    const params = { measure, estimate: d.estimate, lo: d.lo, hi: d.hi };
    const better = lowerIsBetter ? d.hi < 0 : d.lo > 0;
    const worse = lowerIsBetter ? d.lo > margin : d.hi < -margin;
    if (better)
      return {
        stage: 'pilot',
        reasons: [
          {
            code: 'BETTER_THAN_CHAMPION',
            params,
            message: `${name} better than the champion's on the holdout: ${ci}`,
          },
        ],
      };
    if (worse)
      return {
        stage: null,
        reasons: [
          {
            code: 'WORSE_THAN_CHAMPION',
            params,
            message: `${name} worse than the champion's on the holdout: ${ci}`,
          },
        ],
      };
    return {
      stage: 'shadow',
      reasons: [
        {
          code: 'NOT_SHOWN_DIFFERENT',
          params,
          message: `${name} not shown better or worse than the champion's: ${ci}`,
        },
      ],
    };
  }

  private summary(
    from: number,
    to: number,
    trainingRows: number,
    holdoutRows: number,
    excluded: { column: string; reason: string; path?: string }[],
    report: EvaluationReport,
    c: Comparison | undefined,
    proposal: { stage: string | null; reasons: ProposalReason[] },
  ): string {
    const [a, b] = report.versions;
    const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
    const i = (x: { estimate: number; lo: number; hi: number }) =>
      `${x.estimate >= 0 ? '+' : ''}${f(x.estimate)} [${f(x.lo)}, ${f(x.hi)}]`;
    const parts = [
      `Version ${to} retrained from ${trainingRows} labelled calls and compared with version ${from} on ${holdoutRows} held-out calls.`,
      `Accuracy ${f(a?.quality.accuracy)} → ${f(b?.quality.accuracy)}${c ? ` (${i(c.accuracy)})` : ''}.`,
    ];
    if (c?.auc) parts.push(`AUC ${f(a?.quality.scores?.auc)} → ${f(b?.quality.scores?.auc)} (${i(c.auc)}).`);
    if (c?.cost)
      parts.push(
        `Cost per call ${f(a?.quality.cost?.perRow)} → ${f(b?.quality.cost?.perRow)} (${i(c.cost)}).`,
      );
    parts.push(
      excluded.length
        ? `Excluded from training by the flow's masking: ${excluded.map((e) => (e.reason === 'masked' ? `${e.column} (masked)` : `${e.column} (copies masked input ${e.path ?? ''})`)).join(', ')}.`
        : 'No column was excluded by the masking settings.',
    );
    parts.push(
      proposal.stage
        ? `Proposed for ${proposal.stage}: ${proposal.reasons.map((r) => r.message).join('; ')}. Not published: start a rollout to use it.`
        : `Not proposed: ${proposal.reasons.map((r) => r.message).join('; ')}.`,
    );
    return parts.join(' ');
  }

  async job(workspaceId: string, id: string): Promise<RetrainJob> {
    const j = await this.repo.getRetrainJob(workspaceId, id);
    if (!j) throw new NotFoundError('RETRAIN_JOB_NOT_FOUND', `retrain job ${id} not found`);
    return retrainJobView(j);
  }

  async jobs(workspaceId: string, endpointId: string, limit = 20): Promise<RetrainJob[]> {
    await this.endpoints.get(workspaceId, endpointId);
    return (await this.repo.listRetrainJobs(workspaceId, endpointId, limit)).map(retrainJobView);
  }

  // Baselines and drift

  /** Profiles the training rows' features and the node's scores on them, kept as the version's baseline. */
  private async storeBaseline(
    endpointId: string,
    workspaceId: string,
    version: number,
    flow: FlowDocument,
    nodeId: string,
    rows: DatasetRow[],
    targetColumn: string | undefined,
    excludeColumns: readonly string[],
  ): Promise<Baseline> {
    const node = flow.nodes.find((n) => n.id === nodeId);
    if (!node) throw new InvalidError('NODE_NOT_FOUND', `the flow has no node ${nodeId}`);
    // The model's features only: the target and what its training settings exclude are not inputs of it.
    const exclude = new Set([...(targetColumn ? [targetColumn] : []), ...excludeColumns]);
    const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => !exclude.has(c));
    const features = names.map((n) =>
      profileFeature(
        n,
        rows.map((r) => r[n]),
      ),
    );
    let score: FeatureProfile | null = null;
    if (node.type !== 'model.classify') {
      const r = await this.runtime.runNode(
        { type: node.type, version: node.version, config: { ...(node.config ?? {}), mode: 'score' } },
        { table: rows },
      );
      const scores = r.outputs?.['scores'];
      if (r.status === 'succeeded' && Array.isArray(scores))
        score = profileFeature(
          '(score)',
          scores.map((s) => (s as Record<string, unknown>)['probability']),
          { kind: 'numeric' },
        );
    }
    const baseline: Baseline = { version, rows: rows.length, createdAt: Date.now(), features, score };
    const record = await this.repo.getLearning(workspaceId, endpointId);
    const all = record?.baseline ? (JSON.parse(record.baseline) as Baselines) : {};
    all[String(version)] = baseline;
    const kept = Object.values(all)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, learningLimits.maxBaselines);
    await this.repo.setLearningBaseline(
      endpointId,
      JSON.stringify(Object.fromEntries(kept.map((b) => [String(b.version), b]))),
    );
    return baseline;
  }

  /** A baseline from the data a version's model was trained on (for models trained elsewhere). */
  async setBaseline(
    workspaceId: string,
    endpointId: string,
    version: number,
    dataset: { name: string; format: DatasetFormat; content: string },
    actor: AuditActor,
  ) {
    await this.endpoints.get(workspaceId, endpointId);
    const { config } = await this.settings(workspaceId, endpointId);
    const { version: v } = await this.flows.getVersion(
      workspaceId,
      (await this.endpoints.get(workspaceId, endpointId)).flowId,
      version,
    );
    const flow = JSON.parse(v.document) as FlowDocument;
    const node = flow.nodes.find((n) => n.id === config.nodeId);
    if (!node || !trainers[node.type])
      throw new InvalidError('NOT_TRAINABLE', `version ${version} has no trainable node ${config.nodeId}`);
    let rows: DatasetRow[];
    try {
      rows = parseDataset(dataset.content, dataset.format, {
        ...datasetLimits,
        maxRows: learningLimits.maxBaselineRows,
      });
    } catch (err) {
      if (err instanceof DatasetError)
        throw new InvalidError(`DATASET_${err.code}`, `the dataset: ${err.message}`);
      throw err;
    }
    if (rows.length < 20) throw new InvalidError('DATASET_TOO_SMALL', 'a baseline needs at least 20 rows');
    const target = config.train[targetKey[node.type] ?? ''];
    const b = await this.storeBaseline(
      endpointId,
      workspaceId,
      version,
      flow,
      config.nodeId,
      rows,
      typeof target === 'string' ? target : undefined,
      Array.isArray(config.train['exclude']) ? config.train['exclude'].map(String) : [],
    );
    await this.audit.record(workspaceId, actor, 'learning.baseline.set', `endpoint:${endpointId}`, {
      version,
      dataset: dataset.name,
      rows: rows.length,
    });
    return { version: b.version, rows: b.rows, createdAt: b.createdAt };
  }

  /**
   * PSI of each feature and of the score over the endpoint's recent calls (of `version`, by default the one it
   * serves) against that version's training baseline. Levels at or above the thresholds are recorded as alerts
   * (audited) when `record` is set.
   */
  async drift(
    workspaceId: string,
    endpointId: string,
    options: { version?: number; since?: number; calls?: number; record?: boolean } = {},
  ): Promise<Drift> {
    const endpoint = await this.endpoints.get(workspaceId, endpointId);
    const { record, config } = await this.settings(workspaceId, endpointId);
    const version = options.version ?? (await this.servedVersion(endpoint));
    const baselines = record.baseline ? (JSON.parse(record.baseline) as Baselines) : {};
    const baseline = baselines[String(version)];
    if (!baseline)
      throw new ConflictError(
        'NO_BASELINE',
        `version ${version} has no training baseline: retrain it here, or PUT /api/endpoints/${endpointId}/learning/baseline with its training data`,
      );
    const limit = options.calls ?? config.drift.calls;
    const runs = (
      await this.repo.listRuns(workspaceId, { endpointId, status: 'succeeded', limit: limit * 3 })
    )
      .filter(
        (r) => r.flowVersion === version && (options.since === undefined || r.startedAt >= options.since),
      )
      .slice(0, limit);
    const { document } = (await this.flows.getVersion(workspaceId, endpoint.flowId, version)).version;
    const type = (JSON.parse(document) as FlowDocument).nodes.find((n) => n.id === config.nodeId)?.type ?? '';
    const rows: DatasetRow[] = [];
    const scores: number[] = [];
    for (const run of runs) {
      const events = await this.repo.runEvents(run.id, -1);
      for (const e of events) {
        if (e.type === 'node.started' && e.nodeId === config.nodeId) {
          const row = rowOf(type, e.inputs, String(config.train['textColumn'] ?? 'text'));
          if (row) rows.push(row);
        } else if (e.type === 'node.succeeded' && e.nodeId === config.nodeId) {
          const s = scoreOf(type, e.outputs);
          if (s !== undefined) scores.push(s);
        }
      }
    }
    const thresholds = { warn: config.drift.watch, alert: config.drift.alert };
    const view = (d: FeatureDrift) => ({
      name: d.name,
      psi: Number.isFinite(d.psi) ? d.psi : null,
      level: d.level === 'warn' ? ('watch' as const) : d.level,
      bins: d.bins,
    });
    const features = rows.length
      ? baseline.features
          .map((p) =>
            featureDrift(
              p,
              rows.map((r) => r[p.name]),
              thresholds,
            ),
          )
          .sort((a, b) => (Number.isNaN(b.psi) ? -1 : b.psi) - (Number.isNaN(a.psi) ? -1 : a.psi))
          .map(view)
      : [];
    const score =
      baseline.score && scores.length ? view(featureDrift(baseline.score, scores, thresholds)) : null;
    const drift: Drift = {
      endpointId,
      version,
      calls: runs.length,
      thresholds: { watch: config.drift.watch, alert: config.drift.alert },
      baseline: { version: baseline.version, rows: baseline.rows, createdAt: baseline.createdAt },
      score,
      features,
    };
    if (options.record) await this.recordAlerts(workspaceId, endpointId, drift);
    return drift;
  }

  /** Records an alert per feature at watch or alert level, unless the same one was recorded within the hour. */
  private async recordAlerts(workspaceId: string, endpointId: string, drift: Drift): Promise<void> {
    const now = Date.now();
    const recent = await this.repo.listDriftAlerts(workspaceId, endpointId, 200);
    for (const d of [...(drift.score ? [drift.score] : []), ...drift.features]) {
      if (d.level === 'stable' || d.psi === null) continue;
      const level = d.level;
      if (
        recent.some(
          (a) => a.feature === d.name && a.level === level && now - a.createdAt < learningLimits.alertEveryMs,
        )
      )
        continue;
      const alert: DriftAlertRecord = {
        id: newId('da'),
        workspaceId,
        endpointId,
        feature: d.name,
        psi: d.psi,
        level,
        calls: drift.calls,
        createdAt: now,
      };
      await this.repo.addDriftAlert(alert);
      await this.audit.record(workspaceId, driftActor, 'drift.alert', `endpoint:${endpointId}`, {
        alertId: alert.id,
        feature: d.name,
        psi: d.psi,
        level,
        calls: drift.calls,
        version: drift.version,
      });
    }
  }

  async alerts(workspaceId: string, endpointId: string, limit = 50) {
    await this.endpoints.get(workspaceId, endpointId);
    return (await this.repo.listDriftAlerts(workspaceId, endpointId, limit)).map(driftAlertView);
  }

  /**
   * The largest feature PSI and the score PSI of a rollout's challenger calls since `since`, for the drift gates;
   * undefined without learning settings or a baseline of that version.
   */
  async gateDrift(
    workspaceId: string,
    endpointId: string,
    version: number,
    since: number,
  ): Promise<{ score: number | null; feature: number | null; calls: number } | undefined> {
    try {
      const d = await this.drift(workspaceId, endpointId, { version, since });
      const psis = d.features.map((f) => f.psi).filter((x): x is number => x !== null);
      return { score: d.score?.psi ?? null, feature: psis.length ? Math.max(...psis) : null, calls: d.calls };
    } catch (err) {
      if (err instanceof ConflictError) return undefined;
      throw err;
    }
  }

  // The schedule

  /** Starts the schedule and recovers jobs a stopped server left running (on endpoints nobody holds). */
  async start(): Promise<void> {
    const now = Date.now();
    for (const l of await this.repo.listLearning())
      if (!l.leaseOwner || (l.leaseUntil ?? 0) < now)
        await this.repo.interruptRunningRetrainJobs(now, l.endpointId);
    const tick = this.options.tickMs ?? learningLimits.tickMs;
    this.timer = setInterval(() => {
      void this.tick().catch((err: unknown) => this.logger.error({ err }, 'the learning schedule failed'));
    }, tick);
    this.timer.unref();
  }

  /** One look at every endpoint: retrain those due, record drift alerts. Several servers may look at once. */
  async tick(now = Date.now()): Promise<void> {
    for (const l of await this.repo.listLearning()) {
      if (this.stopping) return;
      let config: LearningConfig;
      try {
        config = this.parseConfig(l.config);
      } catch {
        continue;
      }
      if (l.baseline)
        await this.drift(l.workspaceId, l.endpointId, { record: true }).catch((err: unknown) => {
          if (!(err instanceof ConflictError || err instanceof NotFoundError))
            this.logger.warn({ endpointId: l.endpointId, err: (err as Error).message }, 'drift check failed');
        });
      if (!config.schedule || this.running.has(l.endpointId)) continue;
      if (l.lastRetrainAt !== null && now - l.lastRetrainAt < config.schedule.everyHours * 3_600_000)
        continue;
      if (l.leaseOwner && (l.leaseUntil ?? 0) >= now) continue;
      const labels = (await this.labelled(l.workspaceId, l.endpointId)).length;
      if (labels - l.lastRetrainLabels < config.schedule.minNewLabels || labels < config.minLabels) continue;
      try {
        await this.retrain(
          l.workspaceId,
          l.endpointId,
          scheduleActor,
          { id: 'retrain-schedule', name: 'Retraining schedule' },
          'schedule',
        );
      } catch (err) {
        // Another server took the lease first: it retrains.
        if (!(err instanceof ConflictError)) throw err;
      }
    }
  }

  /** Waits for the retraining of an endpoint that runs here (tests and shutdown). */
  async idle(endpointId?: string): Promise<void> {
    await Promise.allSettled(endpointId ? [this.running.get(endpointId)] : [...this.running.values()]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }
}
