/**
 * The launcher (queue mode, on API servers): accepts a run by storing it as `queued`, with its input sealed and
 * its start spec, in one durable commit (with the Idempotency-Key claim when there is one), then hands its id to
 * the BullMQ queue. It never executes anything: workers do (worker.ts). A run whose job Redis lost is still on
 * record and a worker's sweep enqueues it again, so an accepted run is never lost.
 */
import { FlowInputError } from '@finflow/runtime';
import type { Queue } from 'bullmq';
import type { GroupCommitter } from '../db/group-commit.js';
import type { Logger } from '../logger.js';
import type { AuditActor, IdempotencyRecord, RunRecord, RunTrigger } from '../repo/types.js';
import { timeOrderedUuid, type Sealer } from '../security/crypto.js';
import type { ConnectionService } from '../services/connections.js';
import type { FlowService, PreparedVersion } from '../services/flows.js';
import { businessKeyHash, valueAt } from '../services/runs.js';
import type { Runtime } from '@finflow/runtime';
import type { StartSpec } from './start-spec.js';

export const QUEUE_NAME = 'finflow-runs';

/** The job of a queued run: only its id (everything else is on record). */
export interface RunJob {
  runId: string;
}

/** How long an accepted request waits for Redis to take the job before answering anyway (the sweep enqueues it). */
const ENQUEUE_WAIT_MS = 1_500;

export interface LaunchRequest {
  workspaceId: string;
  flowId: string;
  version: number;
  input: unknown;
  trigger: RunTrigger;
  actor: AuditActor;
  endpoint?: { id: string; deploymentId: string };
  rerunOf?: string;
  spec: StartSpec;
  /** The id to give the run (an Idempotency-Key was claimed for it already); a new one otherwise. */
  runId?: string;
  /** Stored in the same commit as the run. */
  idempotencyClaim?: IdempotencyRecord;
}

export interface LaunchedRun {
  runId: string;
  flowVersion: number;
  startedAt: number;
}

const actorString = (a: AuditActor) => `${a.type}:${a.id ?? ''}`;

/** Enqueues a run id (the job id is the run id, so enqueueing twice is harmless). */
export function enqueue(queue: Queue<RunJob>, runId: string): Promise<unknown> {
  return queue.add('run', { runId }, { jobId: runId, removeOnComplete: true, removeOnFail: true });
}

export class RunLauncher {
  constructor(
    private readonly deps: {
      runtime: Runtime;
      flows: FlowService;
      connections: ConnectionService;
      writer: GroupCommitter;
      sealer: Sealer;
      queue: Queue<RunJob>;
      logger: Logger;
    },
  ) {}

  /** A manual start (the editor's Run): the same checks as in main mode, then queued. */
  async start(req: Omit<LaunchRequest, 'spec'> & { spec?: StartSpec }): Promise<LaunchedRun> {
    const plan = await this.deps.flows.prepared(req.workspaceId, req.flowId, req.version);
    await this.deps.connections.assertUsable(req.workspaceId, plan.version, plan.prepared);
    return this.launch(plan, { ...req, spec: req.spec ?? { kind: 'manual' } });
  }

  /**
   * Stores the run as queued (durably) and enqueues it. Throws FlowInputError (400) before anything is stored
   * when the input does not fit the flow's input schema.
   */
  async launch(plan: PreparedVersion, req: LaunchRequest): Promise<LaunchedRun> {
    const errors = this.deps.runtime.checkInput(plan.prepared, req.input);
    if (errors.length) throw new FlowInputError(errors);
    const runId = req.runId ?? timeOrderedUuid();
    const keyPath = plan.feedback?.businessKey;
    const startedAt = Date.now();
    const record: RunRecord = {
      id: runId,
      workspaceId: req.workspaceId,
      flowId: req.flowId,
      flowVersion: plan.version,
      status: 'queued',
      trigger: req.trigger,
      endpointId: req.endpoint?.id ?? null,
      deploymentId: req.endpoint?.deploymentId ?? null,
      actor: actorString(req.actor),
      rerunOf: req.rerunOf ?? null,
      inputSealed: this.deps.sealer.seal(JSON.stringify(req.input), `run-input:${runId}`),
      outputsSealed: null,
      startedAt,
      finishedAt: null,
      ms: null,
      checkpointSealed: null,
      resumeClaim: null,
      businessKey: keyPath ? businessKeyHash(req.flowId, valueAt(req.input, keyPath)) : null,
      startSpec: JSON.stringify(req.spec),
    };
    const claim = req.idempotencyClaim;
    await this.deps.writer.write((b) => {
      b.runs.push(record);
      if (claim) b.idempotencyClaims.push({ ...claim, runId });
    });
    let timer: NodeJS.Timeout | undefined;
    const added = enqueue(this.deps.queue, runId).then(
      () => true,
      (err: unknown) => {
        this.deps.logger.warn({ err, runId }, 'enqueueing a run failed; the workers sweep will take it');
        return false;
      },
    );
    const inTime = await Promise.race([
      added,
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ENQUEUE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!inTime)
      this.deps.logger.warn({ runId }, 'Redis did not take the run in time; it stays queued for the sweep');
    return { runId, flowVersion: plan.version, startedAt };
  }
}
