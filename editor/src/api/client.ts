/**
 * The HTTP client for the FinFlow server (server/API.md): JSON in and out, the session cookie, the CSRF header on
 * writes, and errors turned into `ApiError` with the server's SCREAMING_SNAKE code. Every call the editor makes
 * goes through the typed functions at the bottom; their request and answer types are the schemas of
 * `@finflow/contract` that the server's routes use, so the two cannot drift.
 */
import type {
  accountInvitationListSchema,
  apiKeyCreatedSchema,
  apiKeyListSchema,
  apiKeyRotatedSchema,
  authStatusSchema,
  boardSchema,
  catalogSchema,
  connectionListSchema,
  connectionSchema,
  CreateFlowBody,
  CreateKeyBody,
  credentialListSchema,
  EndpointPatchBody,
  endpointListSchema,
  endpointSchema,
  evaluationListSchema,
  evaluationSchema,
  flowCreatedSchema,
  flowDetailSchema,
  flowDiffSchema,
  flowListSchema,
  flowSavedSchema,
  invitationAcceptedSchema,
  okSchema,
  PromoteBody,
  promoteResultSchema,
  promotionNeedsSchema,
  PublishBody,
  PutConnectionBody,
  ReviewDecisionBody,
  reviewDecisionResultSchema,
  ReviewListQuery,
  reviewQueueListSchema,
  reviewTaskListSchema,
  reviewTaskSchema,
  runDetailSchema,
  runEventListSchema,
  runListSchema,
  rolloutBoardSchema,
  RolloutAction,
  rolloutStatusSchema,
  RunsQuery,
  runStartedSchema,
  sessionSchema,
  StartEvaluationBody,
  StartRolloutBody,
  StartRunBody,
  templateListSchema,
  validationSchema,
  versionDetailSchema,
  versionListSchema,
  workspaceListSchema,
  Drift,
  Learning,
  RetrainJob,
} from '@finflow/contract';
import type { z } from 'zod';
import type { FlowDocument } from './types.js';

/** What an answer of a contract schema reads as. */
type Out<S extends z.ZodType> = z.output<S>;

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
let onUnauthorized: (() => void) | undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}
/** Called when a request answers 401 (the session expired or was revoked). */
export function setUnauthorizedHandler(handler: (() => void) | undefined): void {
  onUnauthorized = handler;
}

let onNoWorkspace: (() => void) | undefined;
/** Called when a request answers 403 NO_WORKSPACE (the account was removed from the session's workspace). */
export function setNoWorkspaceHandler(handler: (() => void) | undefined): void {
  onNoWorkspace = handler;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(`the server cannot be reached (${(err as Error).message})`, 'NETWORK_ERROR', 0);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
      ?.error;
    if (res.status === 401 && !path.startsWith('/api/auth/')) onUnauthorized?.();
    if (res.status === 403 && e?.code === 'NO_WORKSPACE') onNoWorkspace?.();
    throw new ApiError(
      e?.message ?? `${method} ${path} failed with HTTP ${res.status}`,
      e?.code ?? `HTTP_${res.status}`,
      res.status,
      e?.details,
    );
  }
  return data as T;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`)
    .join('&');
  return q ? `?${q}` : '';
}

export const api = {
  authStatus: () => request<Out<typeof authStatusSchema>>('GET', '/api/auth/status'),
  setup: (body: { token: string; email: string; name: string; password: string }) =>
    request<Out<typeof sessionSchema>>('POST', '/api/auth/setup', body),
  login: (email: string, password: string) =>
    request<Out<typeof sessionSchema>>('POST', '/api/auth/login', { email, password }),
  logout: () => request<void>('POST', '/api/auth/logout'),
  me: () => request<Out<typeof sessionSchema>>('GET', '/api/auth/me'),
  /** The workspaces the account is a member of, with its role in each. */
  workspaces: () => request<Out<typeof workspaceListSchema>>('GET', '/api/workspaces'),
  switchWorkspace: (workspaceId: string) =>
    request<Out<typeof sessionSchema>>('POST', '/api/auth/workspace', { workspaceId }),
  invitations: () => request<Out<typeof accountInvitationListSchema>>('GET', '/api/account/invitations'),
  acceptInvitation: (id: string) =>
    request<Out<typeof invitationAcceptedSchema>>('POST', `/api/account/invitations/${enc(id)}/accept`),
  declineInvitation: (id: string) => request<void>('POST', `/api/account/invitations/${enc(id)}/decline`),

  catalog: () => request<Out<typeof catalogSchema>>('GET', '/api/catalog'),
  templates: () => request<Out<typeof templateListSchema>>('GET', '/api/templates'),

  flows: (search?: string) => request<Out<typeof flowListSchema>>('GET', `/api/flows${query({ search })}`),
  createFlow: (body: CreateFlowBody) => request<Out<typeof flowCreatedSchema>>('POST', '/api/flows', body),
  importFlow: (document: unknown) =>
    request<Out<typeof flowCreatedSchema>>('POST', '/api/flows/import', document),
  validate: (document: FlowDocument) =>
    request<Out<typeof validationSchema>>('POST', '/api/flows/validate', { document }),
  flow: (id: string) => request<Out<typeof flowDetailSchema>>('GET', `/api/flows/${enc(id)}`),
  saveFlow: (id: string, document: FlowDocument, message: string) =>
    request<Out<typeof flowSavedSchema>>('PUT', `/api/flows/${enc(id)}`, { document, message }),
  deleteFlow: (id: string) => request<void>('DELETE', `/api/flows/${enc(id)}`),
  versions: (id: string) => request<Out<typeof versionListSchema>>('GET', `/api/flows/${enc(id)}/versions`),
  version: (id: string, n: number) =>
    request<Out<typeof versionDetailSchema>>('GET', `/api/flows/${enc(id)}/versions/${n}`),
  diff: (id: string, from: number, to: number) =>
    request<Out<typeof flowDiffSchema>>('GET', `/api/flows/${enc(id)}/diff${query({ from, to })}`),
  restore: (id: string, n: number, message?: string) =>
    request<Out<typeof flowCreatedSchema>>(
      'POST',
      `/api/flows/${enc(id)}/versions/${n}/restore`,
      message ? { message } : {},
    ),

  startRun: (flowId: string, body: StartRunBody) =>
    request<Out<typeof runStartedSchema>>('POST', `/api/flows/${enc(flowId)}/runs`, body),
  runs: (params: RunsQuery) => request<Out<typeof runListSchema>>('GET', `/api/runs${query(params)}`),
  run: (id: string) => request<Out<typeof runDetailSchema>>('GET', `/api/runs/${enc(id)}`),
  runEvents: (id: string, after?: number) =>
    request<Out<typeof runEventListSchema>>('GET', `/api/runs/${enc(id)}/events${query({ after })}`),
  cancelRun: (id: string) => request<Out<typeof okSchema>>('POST', `/api/runs/${enc(id)}/cancel`),

  startEvaluation: (flowId: string, body: StartEvaluationBody) =>
    request<Out<typeof evaluationSchema>>('POST', `/api/flows/${enc(flowId)}/evaluations`, body),
  evaluations: (flowId: string) =>
    request<Out<typeof evaluationListSchema>>('GET', `/api/flows/${enc(flowId)}/evaluations`),
  evaluation: (id: string) => request<Out<typeof evaluationSchema>>('GET', `/api/evaluations/${enc(id)}`),
  cancelEvaluation: (id: string) =>
    request<Out<typeof okSchema>>('POST', `/api/evaluations/${enc(id)}/cancel`),

  credentials: () => request<Out<typeof credentialListSchema>>('GET', '/api/credentials'),

  reviews: (params: ReviewListQuery) =>
    request<Out<typeof reviewTaskListSchema>>('GET', `/api/reviews${query(params)}`),
  reviewQueues: () => request<Out<typeof reviewQueueListSchema>>('GET', '/api/reviews/queues'),
  review: (id: string) => request<Out<typeof reviewTaskSchema>>('GET', `/api/reviews/${enc(id)}`),
  decide: (id: string, body: ReviewDecisionBody) =>
    request<Out<typeof reviewDecisionResultSchema>>('POST', `/api/reviews/${enc(id)}/decision`, body),
  runReviews: (runId: string) =>
    request<Out<typeof reviewTaskListSchema>>('GET', `/api/runs/${enc(runId)}/reviews`),
  connections: () => request<Out<typeof connectionListSchema>>('GET', '/api/connections'),
  putConnection: (name: string, spec: PutConnectionBody) =>
    request<Out<typeof connectionSchema>>('PUT', `/api/connections/${enc(name)}`, spec),
  deleteConnection: (name: string) => request<void>('DELETE', `/api/connections/${enc(name)}`),

  endpoints: () => request<Out<typeof endpointListSchema>>('GET', '/api/endpoints'),
  createEndpoint: (body: PublishBody) => request<Out<typeof endpointSchema>>('POST', '/api/endpoints', body),
  updateEndpoint: (id: string, body: EndpointPatchBody) =>
    request<Out<typeof endpointSchema>>('PATCH', `/api/endpoints/${enc(id)}`, body),
  keys: () => request<Out<typeof apiKeyListSchema>>('GET', '/api/keys'),
  createKey: (body: CreateKeyBody) => request<Out<typeof apiKeyCreatedSchema>>('POST', '/api/keys', body),
  rotateKey: (id: string) => request<Out<typeof apiKeyRotatedSchema>>('POST', `/api/keys/${enc(id)}/rotate`),
  rolloutBoard: () => request<Out<typeof rolloutBoardSchema>>('GET', '/api/rollouts'),
  /** Every endpoint of every workspace the user is in (the programme owner's board). */
  programmeBoard: () => request<Out<typeof boardSchema>>('GET', '/api/rollouts/board'),
  promotionNeeds: (flowId: string, targetWorkspaceId: string) =>
    request<Out<typeof promotionNeedsSchema>>(
      'GET',
      `/api/flows/${enc(flowId)}/promotion${query({ targetWorkspaceId })}`,
    ),
  promote: (flowId: string, body: PromoteBody) =>
    request<Out<typeof promoteResultSchema>>('POST', `/api/flows/${enc(flowId)}/promote`, body),
  learning: (endpointId: string) => request<Learning>('GET', `/api/endpoints/${enc(endpointId)}/learning`),
  configureLearning: (endpointId: string, config: Record<string, unknown>) =>
    request<Learning>('PUT', `/api/endpoints/${enc(endpointId)}/learning`, { config }),
  retrain: (endpointId: string) =>
    request<RetrainJob>('POST', `/api/endpoints/${enc(endpointId)}/retrain`, {}),
  retrainJobs: (endpointId: string) =>
    request<RetrainJob[]>('GET', `/api/endpoints/${enc(endpointId)}/retrain-jobs?limit=5`),
  drift: (endpointId: string) => request<Drift>('GET', `/api/endpoints/${enc(endpointId)}/drift`),
  rollout: (endpointId: string) =>
    request<Out<typeof rolloutStatusSchema>>('GET', `/api/endpoints/${enc(endpointId)}/rollout?buckets=30`),
  startRollout: (endpointId: string, body: StartRolloutBody) =>
    request<Out<typeof rolloutStatusSchema>>('POST', `/api/endpoints/${enc(endpointId)}/rollouts`, body),
  rolloutAction: (rolloutId: string, action: RolloutAction, reason: string) =>
    request<Out<typeof rolloutStatusSchema>>('POST', `/api/rollouts/${enc(rolloutId)}/${action}`, { reason }),
  revokeKey: (id: string) => request<void>('DELETE', `/api/keys/${enc(id)}`),
};
