/**
 * One node invocation with its reliability policy: per-attempt timeout, retries with exponential backoff
 * (non-retryable codes respected), cancellation through the parent signal, and output validation against the
 * declared ports. Shared by the scheduler, `logic.map`, the CLI's `finflow node` and the SDK's `runNode`.
 *
 * A node that returns synchronously completes synchronously here: no timer, no abort controller and no promise
 * are made for it (a synchronous function cannot be interrupted anyway). That keeps the engine's overhead per
 * trivial node to a few microseconds; asynchronous nodes get the full timeout and cancellation machinery.
 */
import type { RetryPolicy } from './document.js';
import { defaultNonRetryable, ErrorCodes, NodeError, toNodeError } from './errors.js';
import type { AnyNodeDefinition, NodeContext } from './node.js';
import { checkPortValue, type NamedPort } from './ports.js';

export type AttemptOutcome = { ok: true; outputs: Record<string, unknown> } | { ok: false; error: NodeError };

/**
 * What an attempt needs of the run it belongs to: whether the run was stopped, why, and a call when it is.
 * An AbortSignal fits; the executor passes a lighter object of its own (see RunAbort in executor.ts).
 */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export function abortError(signal: AbortSource): NodeError {
  return reasonToError(signal.reason);
}

function reasonToError(reason: unknown): NodeError {
  if (reason instanceof NodeError) return reason;
  return new NodeError(
    reason instanceof Error && reason.message && reason.name !== 'AbortError'
      ? `cancelled: ${reason.message}`
      : 'cancelled',
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
  let declared = 0;
  for (const port of ports) {
    const value = out[port.name];
    if (value === undefined) {
      if (port.required) {
        throw new NodeError(
          `${nodeType} did not produce its output "${port.name}"`,
          ErrorCodes.INVALID_OUTPUT,
        );
      }
      continue;
    }
    declared++;
    if (port.type === 'any') continue;
    const check = checkPortValue(port.type, value);
    if (!check.ok) {
      throw new NodeError(
        `output "${port.name}" of ${nodeType} is ${check.message}`,
        ErrorCodes.INVALID_OUTPUT,
      );
    }
  }
  // Only look for undeclared keys when there are more defined values than declared ones (the common case
  // counts and stops; for...in allocates no key array).
  let present = 0;
  for (const key in out) if (Object.hasOwn(out, key) && out[key] !== undefined) present++;
  if (present > declared) {
    for (const key of Object.keys(out)) {
      if (out[key] !== undefined && !ports.some((p) => p.name === key)) {
        throw new NodeError(`${nodeType} returned an undeclared output "${key}"`, ErrorCodes.INVALID_OUTPUT);
      }
    }
  }
  return out;
}

/**
 * The abort state of one attempt. The AbortSignal a node sees is created only if the node asks for it; aborting
 * before anyone asked records the reason, so a later `signal` read sees an aborted signal. The runtime's node
 * contexts extend this class, so an attempt costs one object, not a context and a signal.
 */
export class AttemptSignal {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get isAborted(): boolean {
    return this.aborted;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** A node's context for one attempt, which also carries that attempt's abort state. */
export type AttemptContext = NodeContext & AttemptSignal;

export interface AttemptSpec {
  readonly def: AnyNodeDefinition;
  readonly outputs: readonly NamedPort[];
  readonly timeoutMs: number;
  /** The run's signal: its abort reaches the node. */
  readonly parent: AbortSource;
  /** The context of attempt `attempt` (1 for the first). */
  makeContext(attempt: number): AttemptContext;
  /** Config for this attempt (a promise when expressions must be evaluated first). */
  config(): unknown;
  readonly inputs: Record<string, unknown>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  );
}

function validated(spec: AttemptSpec, outputs: unknown): AttemptOutcome {
  try {
    return { ok: true, outputs: checkOutputs(outputs, spec.outputs, spec.def.type) };
  } catch (err) {
    return { ok: false, error: toNodeError(err) };
  }
}

/** Runs one attempt; never throws. Synchronous nodes complete synchronously. */
export function runAttempt(spec: AttemptSpec, attempt = 1): AttemptOutcome | Promise<AttemptOutcome> {
  if (spec.parent.aborted) return { ok: false, error: abortError(spec.parent) };
  const ctx = spec.makeContext(attempt);
  let result: unknown;
  try {
    const config = spec.config();
    if (isThenable(config)) {
      result = Promise.resolve(config).then((c) => spec.def.run(ctx, spec.inputs, c));
    } else {
      result = spec.def.run(ctx, spec.inputs, config);
    }
  } catch (err) {
    return { ok: false, error: toNodeError(err) };
  }
  if (!isThenable(result)) return validated(spec, result);
  return awaitAttempt(spec, ctx, result);
}

/** Waits for an asynchronous attempt, ending it on timeout or parent abort even if the node ignores its signal. */
function awaitAttempt(
  spec: AttemptSpec,
  signal: AttemptSignal,
  work: PromiseLike<unknown>,
): Promise<AttemptOutcome> {
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.parent.removeEventListener('abort', onParentAbort);
      resolve(outcome);
    };
    const stop = (reason: unknown) => {
      signal.abort(reason);
      settle({ ok: false, error: reasonToError(reason) });
    };
    const onParentAbort = () => stop(spec.parent.reason);
    const timer = setTimeout(
      () => stop(new NodeError(`${spec.def.type} timed out after ${spec.timeoutMs} ms`, ErrorCodes.TIMEOUT)),
      spec.timeoutMs,
    );
    spec.parent.addEventListener('abort', onParentAbort, { once: true });
    work.then(
      (outputs) => settle(validated(spec, outputs)),
      (err: unknown) =>
        settle({ ok: false, error: signal.isAborted ? reasonToError(signal.reason) : toNodeError(err) }),
    );
  });
}

export function isRetryable(policy: RetryPolicy, error: NodeError): boolean {
  return !defaultNonRetryable.includes(error.code) && !policy.nonRetryable.includes(error.code);
}

export function retryDelay(policy: RetryPolicy, failedAttempt: number): number {
  return Math.min(policy.initialDelayMs * policy.backoff ** (failedAttempt - 1), policy.maxDelayMs);
}

/** Waits `ms`, or less if `signal` aborts first. */
export function sleep(ms: number, signal: AbortSource): Promise<void> {
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

export interface InvokeSpec extends AttemptSpec {
  retry: RetryPolicy;
  onRetry?(attempt: number, error: NodeError, delayMs: number): void;
}

function done(spec: InvokeSpec, outcome: AttemptOutcome, attempt: number): boolean {
  return (
    outcome.ok ||
    attempt >= spec.retry.maxAttempts ||
    spec.parent.aborted ||
    !isRetryable(spec.retry, outcome.error)
  );
}

/**
 * Attempts a node until it succeeds, fails with a non-retryable error, or runs out of attempts. Returns
 * synchronously when the first attempt settles synchronously and needs no retry.
 */
export function invokeWithRetries(spec: InvokeSpec): InvokeResult | Promise<InvokeResult> {
  const first = runAttempt(spec, 1);
  if (!(first instanceof Promise) && done(spec, first, 1)) return { outcome: first, attempts: 1 };
  return retryLoop(spec, first);
}

async function retryLoop(
  spec: InvokeSpec,
  first: AttemptOutcome | Promise<AttemptOutcome>,
): Promise<InvokeResult> {
  let outcome = await first;
  for (let attempt = 1; ; attempt++) {
    if (done(spec, outcome, attempt)) return { outcome, attempts: attempt };
    const error = (outcome as { error: NodeError }).error;
    const delayMs = retryDelay(spec.retry, attempt);
    spec.onRetry?.(attempt, error, delayMs);
    await sleep(delayMs, spec.parent);
    if (spec.parent.aborted)
      return { outcome: { ok: false, error: abortError(spec.parent) }, attempts: attempt };
    outcome = await runAttempt(spec, attempt + 1);
  }
}
