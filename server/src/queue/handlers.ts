/**
 * Finish handlers keyed by what started a run (its start spec's `kind`): what a worker adds to the transaction
 * that records a queued run's `run.finished` or `run.suspended`. In main mode these are closures of the request
 * that started the run; in queue mode the request may be on another server, or gone, so they are looked up here.
 */
import type { RunFinishedEvent, RunSuspendedEvent } from '@finflow/runtime';
import type { ReviewTaskRecord, RunRecord, WriteBatch } from '../repo/types.js';
import type { Sealer } from '../security/crypto.js';
import { answerOf, waitingAnswer, type Answer } from '../routes/endpoint-call.js';
import type { StartRequest } from '../services/runs.js';
import { idempotencyContext, type EndpointStartSpec, type StartSpec } from './start-spec.js';

export type RunHandlers = Pick<StartRequest, 'onFinished' | 'onSuspended' | 'keepOutputs' | 'deadlineMs'>;

type HandlerFactory<S extends StartSpec> = (
  run: RunRecord,
  spec: S,
  deps: { sealer: Sealer; now: number },
) => RunHandlers;

const keyIdOf = (run: RunRecord) => (run.actor.startsWith('key:') ? run.actor.slice(4) : '');

/** An endpoint call: the decision's audit entry, and the answer a repeated Idempotency-Key call gets. */
const endpointHandlers: HandlerFactory<EndpointStartSpec> = (run, spec, { sealer, now }) => {
  const keyId = keyIdOf(run);
  const endpointId = run.endpointId ?? '';
  const actor = { type: 'key' as const, id: keyId, name: spec.keyName };
  const remember = (b: WriteBatch, answer: Answer) => {
    if (spec.idemKey === undefined || spec.async) return;
    b.idempotency.push({
      keyId,
      endpointId,
      idemKey: spec.idemKey,
      status: answer.status,
      body: sealer
        .seal(JSON.stringify(answer.body), idempotencyContext(keyId, endpointId, spec.idemKey))
        .toString('base64'),
      runId: run.id,
    });
  };
  const base = {
    slug: spec.slug,
    deploymentId: run.deploymentId,
    flowId: run.flowId,
    flowVersion: run.flowVersion,
    runId: run.id,
    inputHash: spec.inputHash,
  };
  // The deadline counts from when the call was accepted, not from when a worker took the run.
  const left = spec.timeoutMs === undefined ? undefined : Math.max(1, spec.timeoutMs - (now - run.startedAt));
  return {
    // Every queued endpoint run keeps its real outputs sealed: the answer is built by whichever server waits.
    keepOutputs: true,
    ...(left === undefined ? {} : { deadlineMs: left }),
    onFinished: (b: WriteBatch, event: RunFinishedEvent, masked: RunFinishedEvent) => {
      const answer = answerOf(event, run.id, run.flowVersion, spec.timeoutMs ?? 0);
      const error = masked.error;
      b.audit.push({
        workspaceId: run.workspaceId,
        at: event.at,
        actor,
        action: 'endpoint.decision',
        target: `endpoint:${endpointId}`,
        details: {
          ...base,
          status: event.status,
          ...(spec.async ? {} : { httpStatus: answer.status }),
          outputs: masked.outputs,
          ...(error
            ? { error: { code: error.code, ...(error.nodeId ? { nodeId: error.nodeId } : {}) } }
            : {}),
        },
      });
      remember(b, answer);
    },
    onSuspended: (b: WriteBatch, event: RunSuspendedEvent, tasks: ReviewTaskRecord[]) => {
      b.audit.push({
        workspaceId: run.workspaceId,
        at: event.at,
        actor,
        action: 'endpoint.waiting',
        target: `endpoint:${endpointId}`,
        details: { ...base, reviews: tasks.map((t) => ({ id: t.id, queue: t.queue })) },
      });
      remember(b, waitingAnswer(event, run.flowVersion, tasks));
    },
  };
};

const noHandlers: HandlerFactory<StartSpec> = () => ({});

const factories: { [K in StartSpec['kind']]: HandlerFactory<Extract<StartSpec, { kind: K }>> } = {
  endpoint: endpointHandlers,
  manual: noHandlers,
  rerun: noHandlers,
};

/** The handlers of a queued run, by what started it. */
export function handlersFor(
  run: RunRecord,
  spec: StartSpec,
  deps: { sealer: Sealer; now: number },
): RunHandlers {
  const factory = factories[spec.kind] as HandlerFactory<StartSpec>;
  return factory(run, spec, deps);
}
