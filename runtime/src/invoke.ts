/**
 * One node invocation with its reliability policy: per-attempt timeout, retries with exponential backoff
 * (non-retryable codes respected), cancellation through the parent signal, and output validation against the
 * declared ports. Shared by the scheduler, `logic.map`, the CLI's `finflow node` and the SDK's `runNode`.
 */
import type { RetryPolicy } from './document.js';
import { defaultNonRetryable, ErrorCodes, NodeError, toNodeError } from './errors.js';
import type { AnyNodeDefinition, NodeContext } from './node.js';
import { checkPortValue, type NamedPort } from './ports.js';

export type AttemptOutcome = { ok: true; outputs: Record<string, unknown> } | { ok: false; error: NodeError };

/** Resolves when `signal` aborts, with its reason as a NodeError. */
function abortError(signal: AbortSignal): NodeError {
  const reason: unknown = signal.reason;
  if (reason instanceof NodeError) return reason;
  return new NodeError(
    reason instanceof Error && reason.message ? `cancelled: ${reason.message}` : 'cancelled',
    ErrorCodes.CANCELLED,
  );
}

/** Checks what a node returned against its output ports. */
export function checkOutputs(
  outputs: unknown,
  ports: readonly NamedPort[],
  nodeType: string,
): Record<string, unknown> {
  if (!outputs || typeof outputs !== 'object' || Array.isArray(outputs)) {
    throw new NodeError(
      `${nodeType} returned ${Array.isArray(outputs) ? 'a list' : typeof outputs} instead of its outputs`,
      ErrorCodes.INVALID_OUTPUT,
    );
  }
  const out = outputs as Record<string, unknown>;
  for (const key of Object.keys(out)) {
    if (out[key] !== undefined && !ports.some((p) => p.name === key)) {
      throw new NodeError(`${nodeType} returned an undeclared output "${key}"`, ErrorCodes.INVALID_OUTPUT);
    }
  }
  for (const port of ports) {
    const value = out[port.name];
    if (value === undefined) {
      if (port.required)
        throw new NodeError(
          `${nodeType} did not produce its output "${port.name}"`,
          ErrorCodes.INVALID_OUTPUT,
        );
      continue;
    }
    if (port.type === 'any') continue;
    const check = checkPortValue(port.type, value);
    if (!check.ok)
      throw new NodeError(
        `output "${port.name}" of ${nodeType} is ${check.message}`,
        ErrorCodes.INVALID_OUTPUT,
      );
  }
  return out;
}

export interface AttemptSpec {
  def: AnyNodeDefinition;
  outputs: readonly NamedPort[];
  timeoutMs: number;
  /** The run's signal: its abort reaches the node. */
  parent: AbortSignal;
  makeContext(signal: AbortSignal): NodeContext;
  /** Config for this attempt (resolving expressions happens inside the timeout). */
  config(): unknown | Promise<unknown>;
  inputs: Record<string, unknown>;
}

/** Runs one attempt; never throws. */
export async function runAttempt(spec: AttemptSpec): Promise<AttemptOutcome> {
  if (spec.parent.aborted) return { ok: false, error: abortError(spec.parent) };
  const controller = new AbortController();
  const signal = controller.signal;
  const onParentAbort = () => controller.abort(spec.parent.reason);
  spec.parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(
    () =>
      controller.abort(
        new NodeError(`${spec.def.type} timed out after ${spec.timeoutMs} ms`, ErrorCodes.TIMEOUT),
      ),
    spec.timeoutMs,
  );
  let onAbort: (() => void) | undefined;
  try {
    const work = (async () => {
      const config = await spec.config();
      return spec.def.run(spec.makeContext(signal), spec.inputs, config);
    })();
    // A node that ignores its signal cannot hold the run: the race ends the attempt when the signal aborts.
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const outputs = await Promise.race([work, aborted]);
    return { ok: true, outputs: checkOutputs(outputs, spec.outputs, spec.def.type) };
  } catch (err) {
    return { ok: false, error: signal.aborted ? abortError(signal) : toNodeError(err) };
  } finally {
    clearTimeout(timer);
    spec.parent.removeEventListener('abort', onParentAbort);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export function isRetryable(policy: RetryPolicy, error: NodeError): boolean {
  return !defaultNonRetryable.includes(error.code) && !policy.nonRetryable.includes(error.code);
}

export function retryDelay(policy: RetryPolicy, failedAttempt: number): number {
  return Math.min(policy.initialDelayMs * policy.backoff ** (failedAttempt - 1), policy.maxDelayMs);
}

/** Waits `ms`, or less if `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface InvokeResult {
  outcome: AttemptOutcome;
  attempts: number;
}

/** Attempts a node until it succeeds, fails with a non-retryable error, or runs out of attempts. */
export async function invokeWithRetries(
  spec: Omit<AttemptSpec, 'makeContext'> & {
    retry: RetryPolicy;
    makeContext(signal: AbortSignal, attempt: number): NodeContext;
    onRetry?(attempt: number, error: NodeError, delayMs: number): void;
  },
): Promise<InvokeResult> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await runAttempt({ ...spec, makeContext: (signal) => spec.makeContext(signal, attempt) });
    if (
      outcome.ok ||
      attempt >= spec.retry.maxAttempts ||
      spec.parent.aborted ||
      !isRetryable(spec.retry, outcome.error)
    ) {
      return { outcome, attempts: attempt };
    }
    const delayMs = retryDelay(spec.retry, attempt);
    spec.onRetry?.(attempt, outcome.error, delayMs);
    await sleep(delayMs, spec.parent);
    if (spec.parent.aborted)
      return { outcome: { ok: false, error: abortError(spec.parent) }, attempts: attempt };
  }
}
