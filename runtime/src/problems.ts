/** Validation problems: every one a flow has, each located on the node, edge or config path it concerns. */

export const problemCodes = [
  'INVALID_DOCUMENT',
  'DUPLICATE_ID',
  'UNKNOWN_NODE_TYPE',
  'DANGLING_EDGE',
  'UNKNOWN_PORT',
  'PORT_TYPE_MISMATCH',
  'MISSING_REQUIRED_INPUT',
  'MULTIPLE_EDGES_INTO_PORT',
  'CYCLE',
  'INVALID_CONFIG',
  'NO_INPUT_NODE',
  'MULTIPLE_INPUT_NODES',
  'NO_OUTPUT_NODE',
  'INVALID_EXPRESSION',
  'CONNECTION_NOT_FOUND',
  'CONNECTION_NOT_ALLOWED',
  'CONNECTION_REQUIRED',
  'CREDENTIAL_DESTINATION_MISMATCH',
] as const;
export type ProblemCode = (typeof problemCodes)[number];

export interface Problem {
  code: ProblemCode;
  message: string;
  nodeId?: string;
  edgeId?: string;
  /** For INVALID_DOCUMENT a path in the document; for INVALID_CONFIG/INVALID_EXPRESSION a path in the node's config. */
  path?: (string | number)[];
  /**
   * The values the message is made of (`port`, `node`, `type`, `from`, `to`, ...), so an editor can say the same
   * in its own language; the `message` stays the English rendering.
   */
  params?: Record<string, string | number>;
}

/** A one-line rendering for terminals and logs. */
export function formatProblem(p: Problem): string {
  const where = [
    p.nodeId ? `node ${p.nodeId}` : '',
    p.edgeId ? `edge ${p.edgeId}` : '',
    p.path && p.path.length ? `at ${p.path.join('.')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${p.code}${where ? ` (${where})` : ''}: ${p.message}`;
}
