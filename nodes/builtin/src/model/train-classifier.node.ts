/**
 * model.trainClassifier: trains the offline text classifier on labelled examples and outputs the model as an
 * artefact, to be stored in a model.classify node (or fed to its artifact input) so flows classify without
 * retraining. An optional stratified hold-out reports accuracy on examples the model did not see.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import type { LabelledExample } from './classifier.js';
import { classifierEngine, collectExamples, exampleFields } from './training-data.js';

/** A deterministic stratified split: every k-th example of each label (in input order) is held out. */
export function holdOut(
  examples: readonly LabelledExample[],
  fraction: number,
): { train: LabelledExample[]; test: LabelledExample[] } {
  if (fraction <= 0) return { train: [...examples], test: [] };
  const step = Math.max(2, Math.round(1 / fraction));
  const seen = new Map<string, number>();
  const train: LabelledExample[] = [];
  const test: LabelledExample[] = [];
  for (const e of examples) {
    const i = (seen.get(e.label) ?? 0) + 1;
    seen.set(e.label, i);
    (i % step === 0 ? test : train).push(e);
  }
  return { train, test };
}

export const trainClassifierNode = defineNode({
  type: 'model.trainClassifier',
  version: 1,
  meta: {
    title: 'Train classifier',
    category: 'model',
    description:
      'Trains the offline text classifier (TF-IDF word and character n-grams + logistic regression) on labelled examples and outputs it as an artefact for model.classify. Optionally holds out a share of the examples to report accuracy.',
    zh: {
      title: '训练分类器',
      description:
        '用标注样例训练离线文本分类器（TF-IDF + 逻辑回归），输出模型供文本分类节点使用；可留出部分样例评估准确率。',
    },
    icon: 'graduation-cap',
  },
  config: z.object({
    ...exampleFields,
    holdout: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .meta({
        title: 'Hold-out share',
        description: 'Share of each label kept out of training to measure accuracy (0: train on all)',
        zh: {
          title: '留出验证比例',
          description: '每个标签留出不参与训练、用于评估准确率的样本比例（0：全部用于训练）',
        },
      }),
  }),
  inputs: {
    examples: port('table', {
      required: false,
      title: 'Training examples',
      zh: { title: '训练样本' },
      description: 'Rows with a text and a label column',
    }),
  },
  outputs: {
    artifact: port('artifact', { title: 'Trained model', zh: { title: '训练好的模型' } }),
    metrics: port('record', {
      title: 'Metrics',
      zh: { title: '指标' },
      description: 'examples, labels, features, trainingMs, artifactBytes, holdoutExamples, holdoutAccuracy',
    }),
  },
  timeoutMs: 300_000,
  retry: { maxAttempts: 1 },
  async run(ctx, inputs, config) {
    const examples = collectExamples(config, inputs.examples);
    if (!examples.length)
      throw new NodeError(
        'no labelled examples: add them in the config or connect a table',
        'INSUFFICIENT_TRAINING_DATA',
      );
    const { train, test } = holdOut(examples, config.holdout);
    const { loadClassifier, predict, trainClassifier } = await classifierEngine();
    const artifact = await trainClassifier(train, { signal: ctx.signal });
    let holdoutAccuracy: number | undefined;
    if (test.length) {
      const model = loadClassifier(artifact);
      const correct = test.filter((e) => predict(model, e.text, 0).label === e.label).length;
      holdoutAccuracy = Math.round((correct / test.length) * 10_000) / 10_000;
    }
    const metrics = {
      examples: train.length,
      labels: artifact.labels.length,
      features: artifact.vocabulary.length,
      trainingMs: artifact.training.trainingMs,
      artifactBytes: Buffer.byteLength(JSON.stringify(artifact)),
      holdoutExamples: test.length,
      ...(holdoutAccuracy === undefined ? {} : { holdoutAccuracy }),
    };
    ctx.log.info('classifier trained', metrics);
    return { artifact: { ...artifact, training: { ...artifact.training, ...metrics } }, metrics };
  },
});
