/**
 * Labelled examples for the offline classifier from config and input tables, and the per-process cache of
 * trained and decoded classifiers (training the same examples twice returns the same model, so a flow with
 * inline examples trains once, not on every run). The classifier's maths loads when a node first trains or
 * predicts: the definitions (the catalog, validation) need only the fields here.
 */
import { NodeError, onFirstRun, z } from '@finflow/sdk';
import type { LabelledExample, LoadedClassifier } from './classifier.js';

/** The classifier (TF-IDF, logistic regression), imported on first use. */
export const classifierEngine = onFirstRun(() => import('./classifier.js'));

export const exampleSchema = z.object({
  text: z
    .string()
    .min(1)
    .max(10_000)
    .meta({ title: 'Text', zh: { title: '文本' } }),
  label: z
    .string()
    .min(1)
    .max(200)
    .meta({ title: 'Label', zh: { title: '标签' } }),
});

export const exampleFields = {
  examples: z
    .array(exampleSchema)
    .max(50_000)
    .default([])
    .meta({
      title: 'Training examples',
      description: 'Labelled texts; rows of the examples input are added to these',
      zh: { title: '训练样本', description: '已标注的文本；examples 输入中的行会追加到这些样本之后' },
    }),
  textColumn: z
    .string()
    .min(1)
    .default('text')
    .meta({ title: 'Text column', group: 'Training data', zh: { title: '文本列' } }),
  labelColumn: z
    .string()
    .min(1)
    .default('label')
    .meta({ title: 'Label column', group: 'Training data', zh: { title: '标签列' } }),
};

/** Examples from config plus rows of an input table (`textColumn`, `labelColumn`). */
export function collectExamples(
  config: { examples: LabelledExample[]; textColumn: string; labelColumn: string },
  table: readonly Record<string, unknown>[] | undefined,
): LabelledExample[] {
  const out = [...config.examples];
  table?.forEach((row, i) => {
    const text = row[config.textColumn];
    const label = row[config.labelColumn];
    if (typeof text !== 'string' || !text.trim())
      throw new NodeError(
        `row ${i + 1} of the examples has no text in column "${config.textColumn}"`,
        'INVALID_INPUT',
      );
    if ((typeof label !== 'string' && typeof label !== 'number') || String(label).trim() === '')
      throw new NodeError(
        `row ${i + 1} of the examples has no label in column "${config.labelColumn}"`,
        'INVALID_INPUT',
      );
    out.push({ text, label: String(label) });
  });
  return out;
}

const MAX_CACHED = 8;
const cache = new Map<string, Promise<LoadedClassifier>>();

function remember(key: string, make: () => Promise<LoadedClassifier>): Promise<LoadedClassifier> {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const pending = make();
  cache.set(key, pending);
  pending.catch(() => {
    if (cache.get(key) === pending) cache.delete(key);
  });
  while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return pending;
}

/** A decoded artefact, cached by its id (decoding BANKING77's weights takes tens of milliseconds). */
export async function classifierFromArtifact(artifact: unknown): Promise<LoadedClassifier> {
  const { loadClassifier } = await classifierEngine();
  const a = artifact as { id?: unknown; weights?: unknown };
  if (typeof a?.id !== 'string' || typeof a.weights !== 'string') return loadClassifier(artifact);
  return remember(`artifact:${a.id}:${a.weights.length}`, async () => loadClassifier(artifact));
}

/** The classifier trained on these examples, trained once per process. */
export async function classifierFromExamples(
  examples: readonly LabelledExample[],
  signal?: AbortSignal,
): Promise<LoadedClassifier> {
  const { hashExamples, loadClassifier, trainClassifier } = await classifierEngine();
  return remember(`examples:${hashExamples(examples)}`, async () =>
    loadClassifier(await trainClassifier(examples, signal ? { signal } : {})),
  );
}
