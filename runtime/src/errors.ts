/**
 * Errors a node raises: a message for people and a SCREAMING_SNAKE code for machines (retry policies name
 * the codes that must not retry; the editor and API show both).
 */

export interface NodeErrorOptions {
  /** Structured context for the run view; must not hold secrets or unmasked personal data. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class NodeError extends Error {
  override readonly name = 'NodeError';
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, code: string, options: NodeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!/^[A-Z][A-Z0-9_]*$/.test(code)) throw new TypeError(`error codes are SCREAMING_SNAKE: ${code}`);
    this.code = code;
    this.details = options.details;
  }
}

/** Codes the runtime itself raises. */
export const ErrorCodes = {
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  RUN_DEADLINE: 'RUN_DEADLINE',
  INVALID_INPUT: 'INVALID_INPUT',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_OUTPUT: 'INVALID_OUTPUT',
  EXPRESSION_FAILED: 'EXPRESSION_FAILED',
  SECRET_NOT_FOUND: 'SECRET_NOT_FOUND',
  /** Not a failure: the node waits for a decision (see NodeWaiting). */
  WAITING: 'WAITING',
  /** The node names a connection the workspace does not have. */
  CONNECTION_NOT_FOUND: 'CONNECTION_NOT_FOUND',
  /** The connection may not take this call: another kind, a model it does not allow, or data it may not receive. */
  CONNECTION_NOT_ALLOWED: 'CONNECTION_NOT_ALLOWED',
  /** A node saved before connections (a base URL in its config) matches no connection: the author picks one. */
  CONNECTION_REQUIRED: 'CONNECTION_REQUIRED',
  /** A node names a credential together with a destination that no connection binds it to. */
  CREDENTIAL_DESTINATION_MISMATCH: 'CREDENTIAL_DESTINATION_MISMATCH',
  /** The server's egress policy refused the address a call would reach. */
  EGRESS_DENIED: 'EGRESS_DENIED',
  INTERNAL: 'INTERNAL',
} as const;

/** Codes that a retry would not change: the same input fails the same way. */
export const defaultNonRetryable: readonly string[] = [
  ErrorCodes.CANCELLED,
  ErrorCodes.INVALID_INPUT,
  ErrorCodes.INVALID_CONFIG,
  ErrorCodes.INVALID_OUTPUT,
  ErrorCodes.EXPRESSION_FAILED,
  ErrorCodes.SECRET_NOT_FOUND,
  ErrorCodes.RUN_DEADLINE,
  ErrorCodes.WAITING,
  ErrorCodes.CONNECTION_NOT_FOUND,
  ErrorCodes.CONNECTION_NOT_ALLOWED,
  ErrorCodes.CONNECTION_REQUIRED,
  ErrorCodes.CREDENTIAL_DESTINATION_MISMATCH,
  ErrorCodes.EGRESS_DENIED,
];

/**
 * Thrown by a node that cannot finish until someone decides (a reviewer, another system): the node is recorded as
 * waiting with `task` (what the decider needs), the rest of the run goes on as far as it can without it, and the
 * run's execution then ends in status `waiting`. `Runtime.resume` later runs the node again with the decision as
 * `ctx.resumedWith`; nothing upstream runs again. A NodeError so the retry loop and timeouts treat it as final
 * (WAITING never retries); the executor tells it apart from a failure by its class.
 */
export class NodeWaiting extends NodeError {
  constructor(
    readonly task: Record<string, unknown>,
    message = 'waiting for a decision',
  ) {
    super(message, ErrorCodes.WAITING);
  }
}

export interface SerializedError {
  message: string;
  code: string;
  details?: Record<string, unknown>;
}

/** Turns anything thrown into a NodeError; foreign exceptions become INTERNAL with their message. */
export function toNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof Error)
    return new NodeError(err.message || err.name, ErrorCodes.INTERNAL, { cause: err });
  return new NodeError(typeof err === 'string' ? err : 'unknown error', ErrorCodes.INTERNAL);
}

export function serializeError(err: NodeError): SerializedError {
  return err.details
    ? { message: err.message, code: err.code, details: err.details }
    : { message: err.message, code: err.code };
}
