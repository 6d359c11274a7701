/**
 * A data holder reached over HTTP: another FinFlow server's federated API (`/v1/federated/datasets/<name>/...`),
 * called through a workspace connection of kind `finflow` (its base URL and API key bound by the connection) and
 * the egress client. No answer, a network error or a 5xx makes the holder unavailable (a dropout the coordinator
 * handles); a 4xx is the holder's refusal, reported with its code and message.
 */
import { NodeError } from '@finflow/sdk';
import { HolderUnavailable, type HolderClient } from './coordinator.js';

/** The largest answer read from a holder (a Newton answer at the width limit is about 1 MB). */
export const MAX_HOLDER_ANSWER_BYTES = 16 * 1024 * 1024;

export interface HttpHolderOptions {
  id: string;
  baseUrl: string;
  dataset: string;
  apiKey: string | undefined;
  fetch: typeof globalThis.fetch;
}

async function boundedText(res: Response, limit: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class HolderRefused extends Error {
  override readonly name = 'HolderRefused';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export function httpHolder(options: HttpHolderOptions): HolderClient {
  const root = `${options.baseUrl.replace(/\/+$/, '')}/v1/federated/datasets/${encodeURIComponent(options.dataset)}/sessions`;
  const call = async (method: string, url: string, body: unknown, signal: AbortSignal): Promise<unknown> => {
    let res: Response;
    try {
      res = await options.fetch(url, {
        method,
        headers: {
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
    } catch (err) {
      // The egress policy's refusal is a configuration error, not a dropout.
      if (err instanceof NodeError) throw err;
      if (signal.aborted) throw err;
      throw new HolderUnavailable(`no connection: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = await boundedText(res, MAX_HOLDER_ANSWER_BYTES);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new HolderUnavailable(`the answer broke off: ${(err as Error).message}`);
    }
    if (res.status >= 500 || res.status === 429) throw new HolderUnavailable(`HTTP ${res.status}`);
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new HolderRefused(
        `HTTP ${res.status} with a body that is not JSON`,
        res.status,
        'INVALID_ANSWER',
      );
    }
    if (res.status >= 400) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof error?.code === 'string' ? error.code : `HTTP_${res.status}`;
      const message = typeof error?.message === 'string' ? error.message.slice(0, 500) : `HTTP ${res.status}`;
      throw new HolderRefused(`${code}: ${message}`, res.status, code);
    }
    return parsed;
  };
  return {
    id: options.id,
    join: (request, signal) => call('POST', root, request, signal),
    update: (session, request, signal) =>
      call('POST', `${root}/${encodeURIComponent(session)}/updates`, request, signal),
    leave: async (session, signal) => {
      await call('DELETE', `${root}/${encodeURIComponent(session)}`, undefined, signal);
    },
  };
}
