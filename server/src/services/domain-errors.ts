/**
 * Errors the services raise in their own terms (a task someone else decided, a label that does not fit its
 * schema); the HTTP layer maps each kind to a status in one place (`errorAnswer` in app.ts). Codes are
 * SCREAMING_SNAKE and reach API clients as `error.code`.
 */
export const domainErrorStatus = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unprocessable: 422,
} as const;
export type DomainErrorKind = keyof typeof domainErrorStatus;

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** True for the error a conditional write raises when its condition was gone (someone else acted first). */
export function isWriteConflict(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'REVIEW_CONFLICT';
}
