/**
 * Strict JSON request bodies: size-limited before parsing (413), JSON content type only (415), an object or an
 * array at the top (400), and no `__proto__` or `constructor.prototype` keys anywhere, so nothing a client sends
 * can reach an object's prototype when the server copies or merges it.
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors.js';

const tooLarge = (limit: number) =>
  new HttpError(413, 'BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`, {
    limitBytes: limit,
  });

/** Reads the raw body, refusing (413) as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed)
        reject(new HttpError(400, 'BODY_READ_FAILED', `the request body could not be read: ${err.message}`));
    });
    req.on('aborted', () => {
      if (!failed) reject(new HttpError(400, 'BODY_READ_FAILED', 'the client aborted the request'));
    });
  });
}

const suspicious = /__proto__|constructor|\\u/;

function guard(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new HttpError(400, 'FORBIDDEN_KEY', 'JSON keys named "__proto__" are not accepted');
  // The reviver runs bottom-up, so a `constructor` object already holds its own `prototype` key here.
  if (
    key === 'constructor' &&
    value !== null &&
    typeof value === 'object' &&
    Object.hasOwn(value, 'prototype')
  ) {
    throw new HttpError(400, 'FORBIDDEN_KEY', 'JSON keys "constructor.prototype" are not accepted');
  }
  return value;
}

/**
 * How deeply objects and arrays may nest in a body. JSON.parse takes any depth, but what the server then does
 * with the value (JSON.stringify into run records, hashing, schema checks) recurses and would overflow the stack
 * on a hostile body; real flow documents and inputs stay far below this.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether JSON text nests objects and arrays deeper than `max` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  // A body with fewer characters than the limit cannot nest that deep: the common case costs nothing.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

/** Parses JSON text that must hold an object or an array; rejects prototype-polluting keys and deep nesting. */
export function parseJsonStrict(text: string): unknown {
  const trimmed = text.trimStart();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) {
    throw new HttpError(400, 'INVALID_JSON', 'the body must be a JSON object or array');
  }
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new HttpError(
      400,
      'TOO_DEEP',
      `the body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`,
      {
        maxDepth: MAX_JSON_DEPTH,
      },
    );
  }
  try {
    // The reviver costs a second walk, so it runs only when a dangerous key could be present at all.
    return suspicious.test(text) ? (JSON.parse(text, guard) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, 'INVALID_JSON', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Reads and parses the JSON body of a request that declares one. Undefined when the request has no body. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if ((length === undefined || length === '0') && !chunked) return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    req.resume();
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
  const raw = await readBody(req, limit);
  if (raw.length === 0) return undefined;
  return parseJsonStrict(raw.toString('utf8'));
}

/** Express middleware: `req.body` is the parsed JSON (or undefined) for methods that carry a body. */
export function jsonBody(limit: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      next();
      return;
    }
    readJsonBody(req, limit).then(
      (body) => {
        req.body = body;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
