/**
 * Errors the services throw, in the domain's terms: what kind of failure (not found, conflict, not allowed, ...),
 * a SCREAMING_SNAKE code for machines and a message for people. They know nothing of HTTP; the HTTP layer
 * (`errorAnswer` in app.ts) and the socket layer choose the status from the class.
 */

export abstract class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The request itself is wrong (a field, a value, a shape). */
export class InvalidError extends DomainError {
  override readonly name: string = 'InvalidError';
}

/** Who is asking is not known (no session, wrong password). */
export class UnauthenticatedError extends DomainError {
  override readonly name: string = 'UnauthenticatedError';
}

/** Who is asking is known, and may not do this. */
export class ForbiddenError extends DomainError {
  override readonly name: string = 'ForbiddenError';
}

export class NotFoundError extends DomainError {
  override readonly name: string = 'NotFoundError';
}

/** The request is valid but clashes with the state (already a member, the last admin, ...). */
export class ConflictError extends DomainError {
  override readonly name: string = 'ConflictError';
}

/** Too many attempts; try again after `retryAfterMs`. */
export class TooManyAttemptsError extends DomainError {
  override readonly name: string = 'TooManyAttemptsError';
  constructor(
    code: string,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(code, message);
  }
}

/** Something the service had to do did not happen (a run that could not be recorded). */
export class NotDoneError extends DomainError {
  override readonly name: string = 'NotDoneError';
}

/** The request is well formed, but what it names cannot be used (a flow version that no longer validates). */
export class UnprocessableError extends DomainError {
  override readonly name: string = 'UnprocessableError';
}

/** True for the error a conditional write raises when its condition was gone (someone else acted first). */
export function isWriteConflict(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'REVIEW_CONFLICT';
}
