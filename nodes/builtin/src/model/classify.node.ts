/**
 * model.classify: routes a text to one of N labels, either with the trainable offline classifier (TF-IDF +
 * logistic regression; a stored artefact, or labelled examples trained once per process) or with an LLM given
 * the labels and their descriptions.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { validateJsonSchema } from '@finflow/runtime';
import type { BaseMessage } from '@langchain/core/messages';
import { answeredBy, chatMessages, toLangChain } from './chat-run.js';
import { ModelErrorCodes, modelRetryPolicy, toModelError } from './errors.js';
import {
  chatModelFor,
  checkProviderConfig,
  migrateProviderConfigV1,
  providerConnectionUses,
  providerFields,
} from './services.js';
import {
  classifierEngine,
  classifierFromArtifact,
  classifierFromExamples,
  collectExamples,
  exampleFields,
} from './training-data.js';

const labelSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(200)
    .meta({ title: 'Label', zh: { title: '标签' } }),
  description: z
    .string()
    .max(2_000)
    .optional()
    .meta({
      title: 'Description',
      description: 'What belongs here (for the LLM)',
      zh: { title: '说明', description: '哪些内容属于该类别（供大模型参考）' },
    }),
});

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function llmSchema(labels: readonly string[], alternatives: number): Record<string, unknown> {
  const label = { type: 'string', enum: [...labels] };
  const confidence = { type: 'number', minimum: 0, maximum: 1 };
  return {
    type: 'object',
    properties: {
      label: { ...label, description: 'The one label that fits the text best' },
      confidence: { ...confidence, description: 'Your confidence in that label, 0 to 1' },
      alternatives: {
        type: 'array',
        maxItems: alternatives,
        description: 'Other plausible labels, most likely first',
        items: { type: 'object', properties: { label, confidence }, required: ['label', 'confidence'] },
      },
    },
    required: ['label', 'confidence'],
  };
}

export const classifyNode = defineNode({
  type: 'model.classify',
  version: 2,
  meta: {
    title: 'Classify text',
    category: 'model',
    description:
      'Routes a text to one of N labels. trained: an offline TF-IDF + logistic-regression classifier, from a stored artefact (model.trainClassifier) or from labelled examples (trained once, then reused; ~0.91 accuracy on BANKING77). llm: a chat model chooses among labels with descriptions (its confidence is self-reported).',
    zh: {
      title: '文本分类',
      description:
        '把文本分到 N 个标签之一。trained：离线 TF-IDF + 逻辑回归分类器（来自已存储的模型或标注样例，只训练一次）；llm：由对话模型根据标签说明选择（置信度为模型自报）。',
    },
    icon: 'tags',
  },
  config: z.object({
    backend: z
      .enum(['trained', 'llm'])
      .default('trained')
      .meta({
        title: 'Backend',
        description: 'trained: offline classifier; llm: a chat model with label descriptions',
        zh: {
          title: '分类方式',
          description: '训练模型：离线分类器；大模型：结合标签说明调用对话模型',
          options: { trained: '训练模型', llm: '大模型' },
        },
      }),
    ...exampleFields,
    artifact: z
      .looseObject({ kind: z.string() })
      .optional()
      .meta({
        // A trained model: flow versions store it as a content-addressed artefact (server/src/services/artefacts.ts).
        artefact: true,
        title: 'Trained model',
        description: 'An artefact from model.trainClassifier; used instead of training',
        widget: 'json',
        group: 'Advanced',
        zh: { title: '已训练模型', description: '来自 model.trainClassifier 的模型产物；提供后不再训练' },
      }),
    labels: z
      .array(labelSchema)
      .max(500)
      .default([])
      .meta({
        title: 'Labels (LLM)',
        description: 'Names and descriptions the LLM chooses from',
        zh: { title: '标签（大模型）', description: '供大模型选择的标签名称及说明' },
      }),
    ...providerFields,
    alternatives: z
      .int()
      .min(0)
      .max(10)
      .default(3)
      .meta({ title: 'Alternatives to list', zh: { title: '列出的备选标签数' } }),
    minConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .meta({
        title: 'Minimum confidence',
        description: 'Below it the label becomes the fallback label',
        group: 'Routing',
        zh: { title: '最低置信度', description: '置信度低于此值时改用兜底标签' },
      }),
    fallbackLabel: z
      .string()
      .min(1)
      .max(200)
      .default('unknown')
      .meta({ title: 'Fallback label', group: 'Routing', zh: { title: '兜底标签' } }),
  }),
  inputs: {
    text: port('text', { title: 'Text', zh: { title: '文本' } }),
    examples: port('table', {
      required: false,
      title: 'Training examples',
      zh: { title: '训练样本' },
      description: 'Rows with a text and a label column',
    }),
    artifact: port('artifact', { required: false, title: 'Trained model', zh: { title: '训练好的模型' } }),
  },
  outputs: {
    label: port('text', { title: 'Label', zh: { title: '标签' } }),
    confidence: port('number', { title: 'Confidence', zh: { title: '置信度' } }),
    alternatives: port('table', {
      title: 'Alternatives',
      zh: { title: '其他候选' },
      description: 'Other labels with their confidence, most likely first',
    }),
    model: port('text', { title: 'Model', zh: { title: '模型' } }),
  },
  timeoutMs: 120_000,
  retry: {
    ...modelRetryPolicy,
    nonRetryable: [
      ...(modelRetryPolicy.nonRetryable ?? []),
      'INSUFFICIENT_TRAINING_DATA',
      'INVALID_TRAINING_DATA',
      'INVALID_ARTIFACT',
    ],
  },
  migrations: { 1: migrateProviderConfigV1 },
  connections: (config) => (config.backend === 'llm' ? providerConnectionUses(config) : []),
  validate(config, helpers) {
    if (config.backend === 'llm') {
      checkProviderConfig(config, helpers.problem);
      if (config.labels.length < 2) helpers.problem('the LLM backend needs at least two labels', ['labels']);
      if (config.provider === 'offline')
        helpers.problem(
          'the offline model is not an LLM and cannot choose labels from descriptions: pick a provider or the trained backend',
          ['provider'],
        );
    }
  },
  async run(ctx, inputs, config) {
    const text = inputs.text.trim();
    if (!text) throw new NodeError('the text to classify is empty', 'INVALID_INPUT');
    let result: {
      label: string;
      confidence: number;
      alternatives: { label: string; confidence: number }[];
      model: string;
    };

    if (config.backend === 'trained') {
      const artifact = inputs.artifact ?? config.artifact;
      let classifier;
      if (artifact) classifier = await classifierFromArtifact(artifact);
      else {
        const examples = collectExamples(config, inputs.examples);
        if (!examples.length)
          throw new NodeError(
            'the trained backend needs a trained model (artifact) or labelled examples',
            'INSUFFICIENT_TRAINING_DATA',
          );
        classifier = await classifierFromExamples(examples, ctx.signal);
      }
      const p = (await classifierEngine()).predict(classifier, text, config.alternatives);
      result = { ...p, model: `trained:tfidf-logreg ${classifier.artifact.id.slice(0, 12)}` };
    } else {
      if (config.labels.length < 2)
        throw new NodeError('the LLM backend needs at least two labels', 'INVALID_CONFIG');
      const resolved = await chatModelFor(ctx, config, { temperature: 0, maxTokens: 512 }, () => text);
      if (resolved.offline)
        throw new NodeError(
          'the offline model is not an LLM and cannot choose labels from descriptions: choose an LLM provider, or the trained backend with labelled examples',
          ModelErrorCodes.OFFLINE_MODEL_UNSUPPORTED,
        );
      const names = config.labels.map((l) => l.name);
      const schema = llmSchema(names, config.alternatives);
      const system = [
        'Classify the text into exactly one of these labels:',
        ...config.labels.map((l) => `- ${l.name}${l.description ? `: ${l.description}` : ''}`),
        `Give your confidence between 0 and 1${config.alternatives ? ` and up to ${config.alternatives} other plausible labels` : ''}.`,
      ].join('\n');
      let reply: { raw: BaseMessage; parsed: unknown };
      try {
        reply = (await resolved.model
          .withStructuredOutput(schema, { name: 'classification', includeRaw: true })
          .invoke(toLangChain(chatMessages(system, [], text)), { signal: ctx.signal })) as {
          raw: BaseMessage;
          parsed: unknown;
        };
      } catch (err) {
        throw toModelError(err, resolved.label, ctx.signal, { remote: resolved.remote });
      }
      const errors = reply.parsed
        ? validateJsonSchema(schema, reply.parsed)
        : [{ path: '', message: 'not JSON' }];
      if (errors.length)
        throw new NodeError(
          `the model's classification is invalid: ${errors
            .slice(0, 3)
            .map((e) => `${e.path || '(root)'}: ${e.message}`)
            .join('; ')}`,
          ModelErrorCodes.STRUCTURED_OUTPUT_INVALID,
        );
      const parsed = reply.parsed as {
        label: string;
        confidence: number;
        alternatives?: { label: string; confidence: number }[];
      };
      result = {
        label: parsed.label,
        confidence: parsed.confidence,
        alternatives: (parsed.alternatives ?? [])
          .filter((a) => a.label !== parsed.label)
          .slice(0, config.alternatives),
        model: answeredBy(resolved, reply.raw?.response_metadata),
      };
    }

    const label = result.confidence < config.minConfidence ? config.fallbackLabel : result.label;
    return {
      label,
      confidence: round(result.confidence),
      alternatives: result.alternatives.map((a) => ({ label: a.label, confidence: round(a.confidence) })),
      model: result.model,
    };
  },
});
