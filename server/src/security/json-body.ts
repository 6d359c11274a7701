/**
 * Strict JSON request bodies: size-limited before and after decompression (413), JSON content type only (415),
 * `Content-Encoding` gzip, deflate or br decoded (anything else 415, a body that does not decode 400), nesting and
 * numbers within the limits of `parseJson` (400), an object or an array at the top (400), and no `__proto__` or
 * `constructor.prototype` keys anywhere, so nothing a client sends can reach an object's prototype when the server
 * copies or merges it.
 */
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors.js';
import { DEFAULT_MAX_JSON_DEPTH, JsonInputError, parseJson } from './safe-json.js';

const tooLarge = (limit: number, decoded = false) =>
  new HttpError(
    413,
    'BODY_TOO_LARGE',
    `the request body is larger than ${limit} bytes${decoded ? ' once decompressed' : ''}`,
    { limitBytes: limit },
  );

type Coding = 'identity' | 'gzip' | 'deflate' | 'br';

/** The body's content coding; 415 for codings the server does not decode (and for stacked codings). */
export function contentCoding(header: string | string[] | undefined): Coding {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate' || value === 'br') return value;
  throw new HttpError(
    415,
    'UNSUPPORTED_CONTENT_ENCODING',
    `Content-Encoding "${value.slice(0, 40)}" is not supported: send the body as is, or gzip, deflate or br`,
  );
}

function decoderFor(coding: Exclude<Coding, 'identity'>): Transform {
  if (coding === 'br') return createBrotliDecompress();
  if (coding === 'deflate') return createInflate();
  return createGunzip();
}

/**
 * Reads the raw body, refusing (413) as soon as it passes `limit` bytes; a compressed body is decoded and its
 * decoded size is held to the same limit, so a small compressed body cannot expand into a large one.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  let coding: Coding;
  try {
    coding = contentCoding(req.headers['content-encoding']);
  } catch (err) {
    req.resume();
    return Promise.reject(err);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let size = 0;
    let settled = false;
    const decoder = coding === 'identity' ? undefined : decoderFor(coding);
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      req.resume();
      reject(err);
    };
    const collect = (chunk: Buffer, decoded: boolean) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit, decoded));
      else chunks.push(chunk);
    };
    const done = () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(tooLarge(limit));
      else if (!decoder) collect(chunk, false);
    });
    if (decoder) {
      req.pipe(decoder);
      decoder.on('data', (chunk: Buffer) => collect(chunk, true));
      decoder.on('end', done);
      decoder.on('error', (err: Error) =>
        fail(
          new HttpError(
            400,
            'INVALID_CONTENT_ENCODING',
            `the body is not valid ${coding} data (Content-Encoding: ${coding}): ${err.message}`,
          ),
        ),
      );
    } else req.on('end', done);
    req.on('error', (err) =>
      fail(new HttpError(400, 'BODY_READ_FAILED', `the request body could not be read: ${err.message}`)),
    );
    req.on('aborted', () => fail(new HttpError(400, 'BODY_READ_FAILED', 'the client aborted the request')));
  });
}

/** Parses a request body that must hold a JSON object or array, within the nesting limit. */
export function parseJsonStrict(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  const trimmed = text.trimStart();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) {
    throw new JsonInputError('INVALID_JSON', 'the body must be a JSON object or array');
  }
  try {
    return parseJson(text, { maxDepth });
  } catch (err) {
    if (err instanceof JsonInputError && err.code === 'INVALID_JSON')
      throw new JsonInputError('INVALID_JSON', `the body is ${err.message}`);
    throw err;
  }
}

export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** Reads and parses the JSON body of a request that declares one. Undefined when the request has no body. */
export async function readJsonBody(
  req: IncomingMessage,
  limit: number,
  maxDepth = DEFAULT_MAX_JSON_DEPTH,
): Promise<unknown> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if ((length === undefined || length === '0') && !chunked) return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    req.resume();
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
  const raw = await readBody(req, limit);
  if (raw.length === 0) return undefined;
  return parseJsonStrict(raw.toString('utf8'), maxDepth);
}

/** Express middleware: `req.body` is the parsed JSON (or undefined) for methods that carry a body. */
export function jsonBody(limit: number, maxDepth = DEFAULT_MAX_JSON_DEPTH) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      next();
      return;
    }
    readJsonBody(req, limit, maxDepth).then(
      (body) => {
        req.body = body;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
