/**
 * Retraining a trainable node from labelled rows (feedback joined to the inputs it labels): each trainable type
 * names the node that trains it (itself in train mode, or its trainer node), the port the rows go to, the output
 * that holds the model and the config key the model is kept under. The model replaces the stored one in a copy of
 * the flow, which becomes a draft to evaluate against the champion (evaluateFlows) before anyone proposes it for
 * shadow or pilot. Nothing here publishes; the caller decides where the draft goes.
 */
import type { FlowDocument } from '../document.js';
import type { Runtime } from '../executor.js';
import type { DatasetRow } from './dataset.js';

/** How one node type is retrained. */
export interface Trainer {
  /** The node type that trains (the trainable type itself in `mode: 'train'`, or a trainer node). */
  type: string;
  /** Config given to the trainer over the caller's training settings. */
  config: Record<string, unknown>;
  /** The trainer's input port taking the rows. */
  port: string;
  /** The trainer's output holding the model. */
  output: string;
  /** The trainable node's config key the model is kept under. */
  key: string;
}

export const trainers: Readonly<Record<string, Trainer>> = {
  'risk.scorecard': {
    type: 'risk.scorecard',
    config: { mode: 'train' },
    port: 'table',
    output: 'model',
    key: 'model',
  },
  'risk.fraudScore': {
    type: 'risk.fraudScore',
    config: { mode: 'train' },
    port: 'table',
    output: 'model',
    key: 'model',
  },
  // The classifier's artefact comes from its trainer node (TF-IDF + logistic regression on textColumn/labelColumn).
  'model.classify': {
    type: 'model.trainClassifier',
    config: {},
    port: 'examples',
    output: 'artifact',
    key: 'artifact',
  },
};

/** Node types that retrain from labelled rows. */
export const trainableNodeTypes = Object.keys(trainers) as readonly string[];

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
  /** The trainer's own figures (cross-validation, hold-out accuracy), when it reports them. */
  metrics: unknown;
}

/**
 * A copy of `flow` whose node `nodeId` holds a model trained on `rows` with `trainConfig` (the trainer's settings:
 * target, positive class, classes, cross-validation, text and label columns, ...). `now` fixes the training date,
 * so the same rows and settings give the same artefact.
 */
export async function retrainNode(o: {
  runtime: Runtime;
  flow: FlowDocument;
  nodeId: string;
  rows: readonly DatasetRow[];
  trainConfig: Record<string, unknown>;
  now?: () => number;
  signal?: AbortSignal;
}): Promise<RetrainResult> {
  const node = o.flow.nodes.find((n) => n.id === o.nodeId);
  if (!node) throw new RetrainError(`the flow has no node ${o.nodeId}`, 'NODE_NOT_FOUND');
  const trainer = trainers[node.type];
  if (!trainer)
    throw new RetrainError(
      `${node.type} does not retrain (trainable: ${trainableNodeTypes.join(', ')})`,
      'NOT_TRAINABLE',
    );
  const result = await o.runtime.runNode(
    {
      type: trainer.type,
      ...(trainer.type === node.type ? { version: node.version } : {}),
      config: { ...o.trainConfig, ...trainer.config },
    },
    { [trainer.port]: o.rows },
    {
      ...(o.now ? { services: { clock: { now: o.now } } } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    },
  );
  const model = result.outputs?.[trainer.output];
  if (result.status !== 'succeeded' || model === undefined)
    throw new RetrainError(
      `training ${o.nodeId} failed: ${result.error?.code ?? 'NO_MODEL'}: ${result.error?.message ?? 'no model'}`,
      'TRAINING_FAILED',
    );
  const flow = structuredClone(o.flow);
  const target = flow.nodes.find((n) => n.id === o.nodeId);
  if (target) target.config = { ...(target.config ?? {}), [trainer.key]: model };
  return { flow, model, metrics: result.outputs?.['metrics'] };
}
