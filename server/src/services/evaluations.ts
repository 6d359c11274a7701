/**
 * Evaluations: a flow's stored versions run on a labelled dataset the user uploads, in the background, with the
 * progress and then the report stored (migration 6). The runs are not recorded as runs (a dataset of thousands of
 * rows would bury the run history) and the dataset is not kept, only its name, size and hash, since it may hold
 * personal data. Bounded so that one user cannot take the server: a row limit, a version limit, one running
 * evaluation per workspace and a few per server, and a concurrency cap inside each.
 */
import { createHash } from 'node:crypto';
import {
  createRuntime,
  evaluateFlows,
  EvaluationSpecError,
  flowDataClass,
  parseEvaluationSpec,
  type Runtime,
} from '@finflow/runtime';
import {
  DatasetError,
  datasetLimits,
  parseDataset,
  reportToMarkdown,
  type DatasetFormat,
  type DatasetRow,
  type EvaluationReport,
  type EvaluationSpecInput,
} from '@finflow/runtime/evaluation';
import type { EvaluationProgress } from '@finflow/contract';
import type { Logger } from '../logger.js';
import type { AuditActor, EvaluationRecord, Repository } from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuditService } from './audit.js';
import type { ConnectionService } from './connections.js';
import type { CredentialService } from './credentials.js';
import { ConflictError, InvalidError, NotFoundError } from './errors.js';
import type { FlowService, PreparedVersion } from './flows.js';

/** Bounds on what the API takes; the body limit (FINFLOW_API_MAX_BODY_BYTES) bounds the dataset's bytes first. */
export const evaluationLimits = {
  maxRows: 20_000,
  maxVersions: 4,
  /** Evaluations running at once on this server, and per workspace. */
  maxRunning: 2,
  maxRunningPerWorkspace: 1,
  /** The progress is written at most this often. */
  progressEveryMs: 500,
  /** ... and pushed to the workspace's sockets at most this often. */
  emitEveryMs: 100,
  /** Rows of one evaluation in flight at once. */
  maxConcurrency: 8,
};

export interface EvaluationRequest {
  workspaceId: string;
  flowId: string;
  versions: number[];
  dataset: { name: string; format: DatasetFormat; content: string };
  spec: EvaluationSpecInput;
  actor: AuditActor;
}

export const evaluationView = (e: EvaluationRecord) => ({
  id: e.id,
  flowId: e.flowId,
  versions: e.versions,
  dataset: { name: e.datasetName, rows: e.datasetRows, sha256: e.datasetSha256 },
  spec: JSON.parse(e.spec) as unknown,
  status: e.status,
  progress: { done: e.progressDone, total: e.progressTotal },
  error: e.error,
  createdBy: e.createdBy,
  createdAt: e.createdAt,
  finishedAt: e.finishedAt,
  ...(e.report === null ? {} : { report: JSON.parse(e.report) as EvaluationReport }),
});

const actorString = (a: AuditActor) => `${a.type}:${a.id ?? ''}`;

export class EvaluationService {
  private readonly running = new Map<
    string,
    { workspaceId: string; controller: AbortController; done: Promise<void> }
  >();
  private stopping = false;
  private progressListener: ((workspaceId: string, p: EvaluationProgress) => void) | undefined;
  /** Nodes run here without a run record: the runtime's store is the null store. */
  private readonly runtime: Runtime;

  constructor(
    private readonly repo: Repository,
    base: Runtime,
    private readonly flows: FlowService,
    private readonly credentials: CredentialService,
    private readonly connections: ConnectionService,
    private readonly audit: AuditService,
    private readonly logger: Logger,
  ) {
    this.runtime = createRuntime({ registry: base.registry });
  }

  /** Where progress goes as it happens (the socket layer's workspace rooms); the stored progress lags it. */
  setProgressListener(listener: (workspaceId: string, p: EvaluationProgress) => void): void {
    this.progressListener = listener;
  }

  private emit(record: EvaluationRecord, patch: Partial<EvaluationProgress>): void {
    this.progressListener?.(record.workspaceId, {
      id: record.id,
      flowId: record.flowId,
      status: record.status,
      progress: { done: record.progressDone, total: record.progressTotal },
      ...patch,
    });
  }

  /** Checks the request, records the evaluation and starts it; answers before the first row runs. */
  async start(req: EvaluationRequest): Promise<EvaluationRecord> {
    try {
      parseEvaluationSpec(req.spec);
    } catch (err) {
      if (err instanceof EvaluationSpecError)
        throw new InvalidError('INVALID_SPEC', `the evaluation spec: ${err.message}`);
      throw err;
    }
    const versions = [...new Set(req.versions)];
    if (versions.length > evaluationLimits.maxVersions)
      throw new InvalidError('TOO_MANY_VERSIONS', `at most ${evaluationLimits.maxVersions} versions at once`);
    let rows;
    try {
      rows = parseDataset(req.dataset.content, req.dataset.format, {
        ...datasetLimits,
        maxRows: evaluationLimits.maxRows,
      });
    } catch (err) {
      if (err instanceof DatasetError)
        throw new InvalidError(`DATASET_${err.code}`, `the dataset: ${err.message}`, {
          ...(err.line === undefined ? {} : { line: err.line }),
        });
      throw err;
    }
    const plans = [];
    for (const v of versions) plans.push(await this.flows.prepared(req.workspaceId, req.flowId, v));
    const first = plans[0];
    if (!first) throw new InvalidError('NO_VERSIONS', 'name at least one version');
    const busy = [...this.running.values()];
    if (
      busy.length >= evaluationLimits.maxRunning ||
      busy.filter((b) => b.workspaceId === req.workspaceId).length >= evaluationLimits.maxRunningPerWorkspace
    )
      throw new ConflictError(
        'EVALUATION_BUSY',
        'another evaluation is running; try again when it has finished',
      );
    const id = newId('ev');
    const controller = new AbortController();
    // The slot is taken before the first await, so two requests at once cannot both pass the check above.
    const slot = { workspaceId: req.workspaceId, controller, done: Promise.resolve() };
    this.running.set(id, slot);
    try {
      return await this.begin(id, slot, req, versions, rows, plans, first);
    } catch (err) {
      this.running.delete(id);
      throw err;
    }
  }

  private async begin(
    id: string,
    slot: { workspaceId: string; controller: AbortController; done: Promise<void> },
    req: EvaluationRequest,
    versions: number[],
    rows: DatasetRow[],
    plans: PreparedVersion[],
    first: PreparedVersion,
  ): Promise<EvaluationRecord> {
    const controller = slot.controller;
    // Rows of one evaluation at a time on the server's event loop: fewer than the CLI allows.
    const spec = {
      ...req.spec,
      concurrency: Math.min(req.spec.concurrency ?? 4, evaluationLimits.maxConcurrency),
    };
    const record: EvaluationRecord = {
      id,
      workspaceId: req.workspaceId,
      flowId: req.flowId,
      versions,
      datasetName: req.dataset.name,
      datasetRows: rows.length,
      datasetSha256: createHash('sha256').update(req.dataset.content).digest('hex'),
      spec: JSON.stringify(spec),
      status: 'running',
      progressDone: 0,
      progressTotal: rows.length * versions.length,
      report: null,
      error: null,
      createdBy: actorString(req.actor),
      createdAt: Date.now(),
      finishedAt: null,
    };
    const services = {
      secrets: this.credentials.resolver(req.workspaceId, `evaluation:${id}`, req.actor),
      connections: this.connections.resolver(
        req.workspaceId,
        `evaluation:${id}`,
        req.actor,
        flowDataClass(first.prepared.flow),
      ),
    };
    let lastWrite = 0;
    let lastEmit = 0;
    const versionIndex = new Map(plans.map((p, i) => [`v${p.version}`, i]));
    await this.repo.createEvaluation(record);
    await this.audit.record(req.workspaceId, req.actor, 'evaluation.started', `flow:${req.flowId}`, {
      evaluationId: id,
      versions,
      dataset: req.dataset.name,
      rows: rows.length,
    });
    const evaluation = evaluateFlows({
      runtime: this.runtime,
      versions: plans.map((p) => ({ version: `v${p.version}`, flow: p.prepared })),
      rows,
      datasetName: req.dataset.name,
      spec,
      signal: controller.signal,
      start: { services },
      onProgress: ({ version, done }) => {
        const now = Date.now();
        const offset = (versionIndex.get(version) ?? 0) * rows.length;
        if (now - lastEmit >= evaluationLimits.emitEveryMs) {
          lastEmit = now;
          this.emit(record, { progress: { done: offset + done, total: record.progressTotal } });
        }
        if (now - lastWrite < evaluationLimits.progressEveryMs) return;
        lastWrite = now;
        void this.repo.updateEvaluation(id, { progressDone: offset + done });
      },
    });
    const done = evaluation.then(
      async (report) => {
        await this.repo.updateEvaluation(id, {
          status: 'succeeded',
          progressDone: record.progressTotal,
          report: JSON.stringify(report),
          finishedAt: Date.now(),
        });
        this.emit(record, {
          status: 'succeeded',
          progress: { done: record.progressTotal, total: record.progressTotal },
        });
      },
      async (err: unknown) => {
        const cancelled = controller.signal.aborted;
        const stopped = cancelled && this.stopping;
        if (!cancelled)
          this.logger.warn({ evaluationId: id, err: (err as Error).message }, 'evaluation failed');
        const status = stopped ? 'interrupted' : cancelled ? 'cancelled' : 'failed';
        this.emit(record, { status });
        await this.repo.updateEvaluation(id, {
          status,
          error: stopped
            ? 'the server stopped while the evaluation ran'
            : cancelled
              ? 'cancelled'
              : (err as Error).message,
          finishedAt: Date.now(),
        });
      },
    );
    slot.done = done.finally(() => this.running.delete(id));
    return record;
  }

  async get(workspaceId: string, id: string): Promise<EvaluationRecord> {
    const e = await this.repo.getEvaluation(workspaceId, id);
    if (!e) throw new NotFoundError('EVALUATION_NOT_FOUND', `evaluation ${id} not found`);
    return e;
  }

  async markdown(workspaceId: string, id: string): Promise<string> {
    const e = await this.get(workspaceId, id);
    if (e.report === null)
      throw new ConflictError('EVALUATION_NOT_FINISHED', `the evaluation is ${e.status}: no report yet`);
    return reportToMarkdown(JSON.parse(e.report) as EvaluationReport);
  }

  async list(workspaceId: string, flowId: string, limit = 50): Promise<EvaluationRecord[]> {
    await this.flows.get(workspaceId, flowId);
    return this.repo.listEvaluations(workspaceId, flowId, limit);
  }

  async cancel(workspaceId: string, id: string): Promise<void> {
    const e = await this.get(workspaceId, id);
    const live = this.running.get(id);
    if (e.status !== 'running' || !live)
      throw new ConflictError('EVALUATION_NOT_RUNNING', `the evaluation is ${e.status}`);
    live.controller.abort(new Error('cancelled'));
    await live.done;
  }

  /** At start: evaluations a stopped process left running can never finish. */
  recoverInterrupted(): Promise<number> {
    return this.repo.interruptRunningEvaluations(Date.now());
  }

  /** At shutdown: stops what runs and records it as interrupted. */
  async stop(): Promise<void> {
    this.stopping = true;
    const live = [...this.running.values()];
    for (const l of live) l.controller.abort(new Error('the server is stopping'));
    await Promise.allSettled(live.map((l) => l.done));
  }
}
