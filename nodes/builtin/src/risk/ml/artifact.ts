/**
 * Reading a stored model artefact: its kind, its format version (newer than this code: refused; older: upgraded
 * by the migrations) and its shape, validated so a stored or hand-edited model fails with a clear message.
 */
import { NodeError, type z } from '@finflow/sdk';

export interface ArtifactFormat<T> {
  kind: string;
  /** How the artefact is named in messages: "the fraud model", "the scorecard". */
  label: string;
  /** The node that trains it, for the message when another kind is given. */
  trainedBy: string;
  formatVersion: number;
  /** Upgrades keyed by the version they upgrade from (n -> n + 1). */
  migrations: Readonly<Record<number, (model: Record<string, unknown>) => Record<string, unknown>>>;
  schema: z.ZodType;
  /** Checks across fields the schema cannot express; returns what is damaged, if anything. */
  check?(model: T): string | undefined;
}

/** Validates an artefact against its format, memoised per artefact object (a model scores many rows). */
export function artifactReader<T extends object>(format: ArtifactFormat<T>): (artifact: unknown) => T {
  const validated = new WeakMap<object, T>();
  return (artifact) => {
    if (!artifact || typeof artifact !== 'object' || Array.isArray(artifact))
      throw new NodeError('the model input is not a model artefact', 'INVALID_MODEL');
    const cached = validated.get(artifact);
    if (cached) return cached;
    let model = artifact as Record<string, unknown>;
    if (model['kind'] !== format.kind)
      throw new NodeError(
        `the model is a ${JSON.stringify(model['kind'])} artefact, not a ${format.kind}; train it with ${format.trainedBy}`,
        'MODEL_KIND_MISMATCH',
      );
    const version = model['formatVersion'];
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
      throw new NodeError(`${format.label} has no valid formatVersion`, 'INVALID_MODEL');
    if (version > format.formatVersion)
      throw new NodeError(
        `${format.label} has format version ${version}; this FinFlow reads up to ${format.formatVersion} (upgrade FinFlow to score it)`,
        'MODEL_VERSION_UNSUPPORTED',
      );
    for (let v = version; v < format.formatVersion; v++) {
      const up = format.migrations[v];
      if (!up) throw new NodeError(`no upgrade from ${format.kind} format ${v}`, 'MODEL_VERSION_UNSUPPORTED');
      model = up(model);
    }
    const parsed = format.schema.safeParse(model);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new NodeError(
        `${format.label} is damaged at ${issue?.path.join('.') || 'its root'}: ${issue?.message ?? 'invalid'}`,
        'INVALID_MODEL',
      );
    }
    const m = parsed.data as T;
    const problem = format.check?.(m);
    if (problem) throw new NodeError(`${format.label} is damaged: ${problem}`, 'INVALID_MODEL');
    validated.set(artifact, m);
    return m;
  };
}
