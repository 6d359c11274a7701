/**
 * Retraining a trainable node from labelled rows (feedback joined to the inputs it labels): the node's type runs in
 * train mode on the rows, and the model it outputs replaces the stored one in a copy of the flow, which becomes a
 * draft to evaluate against the champion (evaluateFlows) before anyone proposes it for shadow or pilot. Nothing
 * here publishes; the caller decides where the draft goes.
 */
import type { FlowDocument } from '../document.js';
import type { Runtime } from '../executor.js';
import type { DatasetRow } from './dataset.js';

/** Node types that train in the flow's own terms: a `mode: 'train'` run outputs `model`, kept in `config.model`. */
export const trainableNodeTypes = ['risk.scorecard'] as const;

export class RetrainError extends Error {
  override readonly name = 'RetrainError';
  constructor(
    message: string,
    /** NOT_TRAINABLE, NODE_NOT_FOUND, TRAINING_FAILED */
    readonly code: string,
  ) {
    super(message);
  }
}

export interface RetrainResult {
  flow: FlowDocument;
  model: unknown;
  /** The node's own cross-validation figures, when the training config asks for them. */
  metrics: unknown;
}

/**
 * A copy of `flow` whose node `nodeId` holds a model trained on `rows` with `trainConfig` (the node's train-mode
 * settings: target, positive class, classes, cross-validation, ...). `clock` fixes the training date, so the same
 * rows and settings give the same artefact.
 */
export async function retrainNode(o: {
  runtime: Runtime;
  flow: FlowDocument;
  nodeId: string;
  rows: readonly DatasetRow[];
  trainConfig: Record<string, unknown>;
  now?: () => number;
}): Promise<RetrainResult> {
  const node = o.flow.nodes.find((n) => n.id === o.nodeId);
  if (!node) throw new RetrainError(`the flow has no node ${o.nodeId}`, 'NODE_NOT_FOUND');
  if (!(trainableNodeTypes as readonly string[]).includes(node.type))
    throw new RetrainError(
      `${node.type} does not retrain (trainable: ${trainableNodeTypes.join(', ')})`,
      'NOT_TRAINABLE',
    );
  const result = await o.runtime.runNode(
    { type: node.type, version: node.version, config: { ...o.trainConfig, mode: 'train' } },
    { table: o.rows },
    ...(o.now ? [{ services: { clock: { now: o.now } } }] : []),
  );
  const model = result.outputs?.['model'];
  if (result.status !== 'succeeded' || model === undefined)
    throw new RetrainError(
      `training ${o.nodeId} failed: ${result.error?.code ?? 'NO_MODEL'}: ${result.error?.message ?? 'no model'}`,
      'TRAINING_FAILED',
    );
  const flow = structuredClone(o.flow);
  const target = flow.nodes.find((n) => n.id === o.nodeId);
  if (target) target.config = { ...(target.config ?? {}), model };
  return { flow, model, metrics: result.outputs?.['metrics'] };
}
