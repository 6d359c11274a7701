/**
 * Provider failures as node errors: HTTP statuses and client exceptions from OpenAI-compatible servers, Ollama
 * and local runtimes become codes that the model nodes' retry policy can name (rate limits and time-outs retry,
 * authentication and bad requests do not).
 */
import { NodeError, type RetryPolicy } from '@finflow/sdk';

export const ModelErrorCodes = {
  RATE_LIMITED: 'RATE_LIMITED',
  PROVIDER_TIMEOUT: 'PROVIDER_TIMEOUT',
  PROVIDER_ERROR: 'PROVIDER_ERROR',
  PROVIDER_UNREACHABLE: 'PROVIDER_UNREACHABLE',
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  AUTH_FAILED: 'AUTH_FAILED',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  CONTEXT_TOO_LONG: 'CONTEXT_TOO_LONG',
  STRUCTURED_OUTPUT_INVALID: 'STRUCTURED_OUTPUT_INVALID',
  OFFLINE_MODEL_UNSUPPORTED: 'OFFLINE_MODEL_UNSUPPORTED',
} as const;

/** Failures that the same request would meet again. */
export const modelNonRetryable: string[] = [
  ModelErrorCodes.AUTH_FAILED,
  ModelErrorCodes.MODEL_NOT_FOUND,
  ModelErrorCodes.PROVIDER_REJECTED,
  ModelErrorCodes.PROVIDER_UNAVAILABLE,
  ModelErrorCodes.CONTEXT_TOO_LONG,
  ModelErrorCodes.OFFLINE_MODEL_UNSUPPORTED,
  'TEMPLATE_VARIABLE_MISSING',
];

/** The model nodes' default: three attempts, 1 s then 2 s apart (rate limits, time-outs, 5xx). */
export const modelRetryPolicy: Partial<RetryPolicy> = {
  maxAttempts: 3,
  initialDelayMs: 1_000,
  backoff: 2,
  maxDelayMs: 20_000,
  nonRetryable: modelNonRetryable,
};

function field(err: unknown, key: string): unknown {
  return err && typeof err === 'object' ? (err as Record<string, unknown>)[key] : undefined;
}

function statusOf(err: unknown): number | undefined {
  for (const key of ['status', 'status_code', 'statusCode']) {
    const v = field(err, key);
    if (typeof v === 'number') return v;
  }
  const response = field(err, 'response');
  const v = field(response, 'status');
  return typeof v === 'number' ? v : undefined;
}

function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err, i = 0; e && i < 5; e = field(e, 'cause'), i++) chain.push(e);
  return chain;
}

/** Removes anything that looks like a bearer token or API key from a provider's message. */
function clean(message: string): string {
  const m = message
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{8,}/g, '$1-***')
    .replace(/Bearer\s+\S+/gi, 'Bearer ***')
    .replace(/\s+/g, ' ')
    .trim();
  return m.length > 300 ? `${m.slice(0, 297)}...` : m;
}

/**
 * Converts anything a provider call threw into a NodeError. `where` names the provider and model for the message
 * ("openai:gpt-4o-mini at http://127.0.0.1:8000/v1"). Aborts are rethrown as they are: the runtime reports its
 * own reason (time-out or cancellation).
 */
export function toModelError(err: unknown, where: string, signal?: AbortSignal): unknown {
  if (err instanceof NodeError) return err;
  if (signal?.aborted) return signal.reason ?? err;
  const message = clean(err instanceof Error ? err.message : String(err));
  const status = statusOf(err);
  const lcCode = field(err, 'lc_error_code');
  const names = causeChain(err).map((e) => `${String(field(e, 'name'))} ${String(field(e, 'code'))}`);
  const details: Record<string, unknown> = { provider: where, ...(status ? { status } : {}) };
  const make = (code: string, text: string) => new NodeError(text, code, { details, cause: err });

  if (status === 401 || status === 403 || lcCode === 'MODEL_AUTHENTICATION')
    return make(
      ModelErrorCodes.AUTH_FAILED,
      `${where} refused the credential (HTTP ${status ?? 401}): ${message}`,
    );
  if (status === 429 || lcCode === 'MODEL_RATE_LIMIT')
    return make(ModelErrorCodes.RATE_LIMITED, `${where} is rate limiting requests (HTTP 429): ${message}`);
  if (status === 404 || lcCode === 'MODEL_NOT_FOUND')
    return make(
      ModelErrorCodes.MODEL_NOT_FOUND,
      `${where}: model or endpoint not found (HTTP 404): ${message}`,
    );
  if (
    field(err, 'name') === 'ContextOverflowError' ||
    /context length|maximum context|too many tokens/i.test(message)
  )
    return make(
      ModelErrorCodes.CONTEXT_TOO_LONG,
      `${where}: the prompt is too long for the model: ${message}`,
    );
  if (status === 408 || status === 504 || names.some((n) => /Timeout|ETIMEDOUT|UND_ERR_.*TIMEOUT/i.test(n)))
    return make(ModelErrorCodes.PROVIDER_TIMEOUT, `${where} did not answer in time: ${message}`);
  if (status !== undefined && status >= 500)
    return make(ModelErrorCodes.PROVIDER_ERROR, `${where} failed with HTTP ${status}: ${message}`);
  if (status !== undefined && status >= 400)
    return make(
      ModelErrorCodes.PROVIDER_REJECTED,
      `${where} rejected the request (HTTP ${status}): ${message}`,
    );
  if (
    names.some((n) =>
      /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|APIConnectionError|UND_ERR_SOCKET/i.test(n),
    ) ||
    /fetch failed|connection error|ECONNREFUSED|socket hang up/i.test(message)
  )
    return make(ModelErrorCodes.PROVIDER_UNREACHABLE, `${where} is unreachable: ${message}`);
  return make(ModelErrorCodes.PROVIDER_ERROR, `${where} failed: ${message}`);
}
