/**
 * Provider failures as node errors: HTTP statuses and client exceptions from OpenAI-compatible servers, Ollama
 * and local runtimes become codes that the model nodes' retry policy can name (rate limits and time-outs retry,
 * authentication and bad requests do not). What a remote server answered reaches the flow author as its status
 * and a short reason (the status text, or the provider's error code when it is a plain token), never as the body:
 * a page from an internal address must not come back through a node error.
 */
import { STATUS_CODES } from 'node:http';
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

/** A provider's machine-readable error code (`model_not_found`, `rate_limit_exceeded`), when it is a plain token. */
export function providerCode(err: unknown): string | undefined {
  const body = field(err, 'error');
  for (const v of [field(body, 'code'), field(body, 'type'), field(err, 'code'), field(err, 'type')]) {
    if (typeof v === 'string' && /^[a-z][a-z0-9_.-]{1,63}$/i.test(v) && !/^(E[A-Z]+|UND_ERR.*)$/.test(v))
      return v;
  }
  return undefined;
}

/** "HTTP 502 Bad Gateway (upstream_error)": a status and a short reason, nothing of the body. */
export function httpReason(status: number, code?: string): string {
  return `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}${code ? ` (${code})` : ''}`;
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
 * ("openai:gpt-4o-mini via \"cloud-llm\""). Aborts are rethrown as they are: the runtime reports its own reason
 * (time-out or cancellation). A NodeError anywhere in the cause chain (the egress policy's refusal, wrapped by a
 * client library) is the error. `remote`: the failure came from a server, so its text is not repeated.
 */
export function toModelError(
  err: unknown,
  where: string,
  signal?: AbortSignal,
  options: { remote?: boolean } = {},
): unknown {
  if (err instanceof NodeError) return err;
  if (signal?.aborted) return signal.reason ?? err;
  for (const e of causeChain(err)) if (e instanceof NodeError) return e;
  const raw = err instanceof Error ? err.message : String(err);
  const message = clean(raw);
  const status = statusOf(err);
  const lcCode = field(err, 'lc_error_code');
  const names = causeChain(err).map((e) => `${String(field(e, 'name'))} ${String(field(e, 'code'))}`);
  const details: Record<string, unknown> = { provider: where, ...(status ? { status } : {}) };
  const make = (code: string, text: string) => new NodeError(text, code, { details, cause: err });
  const reason = status !== undefined ? httpReason(status, providerCode(err)) : '';
  // Local runtimes (llama.cpp, the offline model) explain themselves; a remote server's words stay out.
  const said = options.remote ? '' : `: ${message}`;

  if (status === 401 || status === 403 || lcCode === 'MODEL_AUTHENTICATION')
    return make(
      ModelErrorCodes.AUTH_FAILED,
      `${where} refused the credential (${reason || 'HTTP 401 Unauthorized'})`,
    );
  if (status === 429 || lcCode === 'MODEL_RATE_LIMIT')
    return make(ModelErrorCodes.RATE_LIMITED, `${where} is rate limiting requests (${reason || 'HTTP 429'})`);
  if (status === 404 || lcCode === 'MODEL_NOT_FOUND')
    return make(
      ModelErrorCodes.MODEL_NOT_FOUND,
      `${where}: model or endpoint not found (${reason || 'HTTP 404 Not Found'})`,
    );
  if (
    field(err, 'name') === 'ContextOverflowError' ||
    /context length|maximum context|too many tokens|context_length_exceeded/i.test(raw)
  )
    return make(
      ModelErrorCodes.CONTEXT_TOO_LONG,
      `${where}: the prompt is too long for the model${reason ? ` (${reason})` : ''}`,
    );
  if (status === 408 || status === 504 || names.some((n) => /Timeout|ETIMEDOUT|UND_ERR_.*TIMEOUT/i.test(n)))
    return make(
      ModelErrorCodes.PROVIDER_TIMEOUT,
      `${where} did not answer in time${reason ? ` (${reason})` : ''}`,
    );
  if (status !== undefined && status >= 500)
    return make(ModelErrorCodes.PROVIDER_ERROR, `${where} failed (${reason})`);
  if (status !== undefined && status >= 400)
    return make(ModelErrorCodes.PROVIDER_REJECTED, `${where} rejected the request (${reason})`);
  const network = names
    .join(' ')
    .match(/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|UND_ERR_SOCKET/i)?.[0];
  if (
    network ||
    names.some((n) => /APIConnectionError/i.test(n)) ||
    /fetch failed|connection error|ECONNREFUSED|socket hang up/i.test(raw)
  )
    return make(
      ModelErrorCodes.PROVIDER_UNREACHABLE,
      `${where} is unreachable${network ? ` (${network.toUpperCase()})` : ''}`,
    );
  return make(
    ModelErrorCodes.PROVIDER_ERROR,
    options.remote
      ? `${where} failed: its reply could not be used (${err instanceof Error ? err.name : 'error'})`
      : `${where} failed${said}`,
  );
}
