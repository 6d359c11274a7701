/**
 * HTTP errors: every failure the API reports is `{ error: { code, message, details? } }` with a status chosen
 * here, never a stack trace or an HTML page. Route code throws `HttpError`; the error middleware renders it.
 */
import type { z } from 'zod';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return this.details
      ? { error: { code: this.code, message: this.message, details: this.details } }
      : { error: { code: this.code, message: this.message } };
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new HttpError(400, code, message, details);
export const unauthorized = (message = 'sign in first', code = 'UNAUTHENTICATED') =>
  new HttpError(401, code, message);
export const forbidden = (message: string, code = 'FORBIDDEN') => new HttpError(403, code, message);
export const notFound = (what: string, code = 'NOT_FOUND') => new HttpError(404, code, `${what} not found`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new HttpError(409, code, message, details);

export interface FieldIssue {
  path: string;
  message: string;
}

/** Field-level issues of a zod error, with dotted paths. */
export function zodFields(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Parses a request part with a zod schema, or throws 400 with every field problem. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields = zodFields(r.error);
  throw badRequest(
    'INVALID_REQUEST',
    `invalid ${where}: ${fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ')}`,
    { fields },
  );
}
