/**
 * The HTTP client for the FinFlow server (server/API.md): JSON in and out, the session cookie, the CSRF header on
 * writes, and errors turned into `ApiError` with the server's SCREAMING_SNAKE code. Every call the editor makes
 * goes through the typed functions at the bottom, so the contract lives in one place.
 */
import type {
  ApiKey,
  Catalog,
  Connection,
  ConnectionSpec,
  Credential,
  Endpoint,
  FlowDetail,
  FlowDiff,
  FlowDocument,
  FlowSummary,
  Invitation,
  Problem,
  ReviewDecisionRequest,
  ReviewQueue,
  ReviewTask,
  Role,
  RunEvent,
  RunState,
  RunSummary,
  Session,
  Template,
  User,
  VersionInfo,
  Workspace,
} from './types.js';

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

function query(params: Record<string, string | number | undefined>): string {
  const q = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`)
    .join('&');
  return q ? `?${q}` : '';
}

/** Some list endpoints may wrap their array (`{ flows: [...] }`); accept both. */
function list<T>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) return data as T[];
  const inner = (data as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

export const api = {
  authStatus: () => request<{ setupRequired: boolean }>('GET', '/api/auth/status'),
  setup: (body: { token: string; email: string; name: string; password: string }) =>
    request<{ user: User }>('POST', '/api/auth/setup', body),
  login: (email: string, password: string) =>
    request<{ user: User; workspace: Workspace | null; csrfToken: string }>('POST', '/api/auth/login', {
      email,
      password,
    }),
  logout: () => request<void>('POST', '/api/auth/logout'),
  me: () => request<Session>('GET', '/api/auth/me'),
  switchWorkspace: (workspaceId: string) => request<Session>('POST', '/api/auth/workspace', { workspaceId }),
  invitations: () => request<Invitation[]>('GET', '/api/account/invitations'),
  acceptInvitation: (id: string) =>
    request<{ workspace: Workspace; role: Role }>('POST', `/api/account/invitations/${enc(id)}/accept`),
  declineInvitation: (id: string) => request<void>('POST', `/api/account/invitations/${enc(id)}/decline`),

  catalog: () => request<Catalog>('GET', '/api/catalog'),
  templates: async () => list<Template>(await request<unknown>('GET', '/api/templates'), 'templates'),

  flows: async (search?: string) =>
    list<FlowSummary>(await request<unknown>('GET', `/api/flows${query({ search })}`), 'flows'),
  createFlow: (body: { document: FlowDocument; message?: string } | { templateId: string; name?: string }) =>
    request<{ flow: FlowDetail['flow']; version: VersionInfo }>('POST', '/api/flows', body),
  importFlow: (document: unknown) =>
    request<{ flow: FlowDetail['flow']; version: VersionInfo }>('POST', '/api/flows/import', document),
  validate: (document: FlowDocument) =>
    request<{ ok: boolean; problems: Problem[] }>('POST', '/api/flows/validate', { document }),
  flow: (id: string) => request<FlowDetail>('GET', `/api/flows/${enc(id)}`),
  saveFlow: (id: string, document: FlowDocument, message: string) =>
    request<{ version?: VersionInfo; [k: string]: unknown }>('PUT', `/api/flows/${enc(id)}`, {
      document,
      message,
    }),
  deleteFlow: (id: string) => request<void>('DELETE', `/api/flows/${enc(id)}`),
  versions: async (id: string) =>
    list<VersionInfo>(await request<unknown>('GET', `/api/flows/${enc(id)}/versions`), 'versions'),
  version: (id: string, n: number) =>
    request<{ version: VersionInfo; document: FlowDocument }>('GET', `/api/flows/${enc(id)}/versions/${n}`),
  diff: (id: string, from: number, to: number) =>
    request<FlowDiff>('GET', `/api/flows/${enc(id)}/diff${query({ from, to })}`),
  restore: (id: string, n: number, message?: string) =>
    request<{ version?: VersionInfo }>(
      'POST',
      `/api/flows/${enc(id)}/versions/${n}/restore`,
      message ? { message } : {},
    ),

  startRun: (flowId: string, input: unknown, version?: number) =>
    request<{ runId: string }>(
      'POST',
      `/api/flows/${enc(flowId)}/runs`,
      version !== undefined ? { input, version } : { input },
    ),
  runs: async (params: { flowId?: string; status?: string; limit?: number; before?: string }) =>
    list<RunSummary>(await request<unknown>('GET', `/api/runs${query(params)}`), 'runs'),
  run: (id: string) =>
    request<{ run: RunState; flowId: string; flowVersion: number }>('GET', `/api/runs/${enc(id)}`),
  runEvents: async (id: string, after?: number) =>
    list<RunEvent>(await request<unknown>('GET', `/api/runs/${enc(id)}/events${query({ after })}`), 'events'),
  cancelRun: (id: string) => request<void>('POST', `/api/runs/${enc(id)}/cancel`),

  credentials: async () => list<Credential>(await request<unknown>('GET', '/api/credentials'), 'credentials'),

  reviews: async (params: { status?: string; queue?: string; limit?: number }) =>
    list<ReviewTask>(await request<unknown>('GET', `/api/reviews${query(params)}`), 'reviews'),
  reviewQueues: () => request<ReviewQueue[]>('GET', '/api/reviews/queues'),
  review: (id: string) => request<ReviewTask>('GET', `/api/reviews/${enc(id)}`),
  decide: (id: string, body: ReviewDecisionRequest) =>
    request<{ task: ReviewTask; decided: boolean; resumed: boolean }>(
      'POST',
      `/api/reviews/${enc(id)}/decision`,
      body,
    ),
  runReviews: (runId: string) => request<ReviewTask[]>('GET', `/api/runs/${enc(runId)}/reviews`),
  connections: async () => list<Connection>(await request<unknown>('GET', '/api/connections'), 'connections'),
  putConnection: (name: string, spec: ConnectionSpec) =>
    request<Connection>('PUT', `/api/connections/${enc(name)}`, spec),
  deleteConnection: (name: string) => request<void>('DELETE', `/api/connections/${enc(name)}`),

  endpoints: async () => list<Endpoint>(await request<unknown>('GET', '/api/endpoints'), 'endpoints'),
  createEndpoint: (body: { flowId: string; version: number; slug: string }) =>
    request<Endpoint>('POST', '/api/endpoints', body),
  updateEndpoint: (id: string, body: { version?: number; status?: 'active' | 'disabled' }) =>
    request<Endpoint>('PATCH', `/api/endpoints/${enc(id)}`, body),
  keys: async () => list<ApiKey>(await request<unknown>('GET', '/api/keys'), 'keys'),
  createKey: (name: string, endpoints: string[] | '*') =>
    request<{ id: string; key: string }>('POST', '/api/keys', { name, endpoints }),
  revokeKey: (id: string) => request<void>('DELETE', `/api/keys/${enc(id)}`),
};
