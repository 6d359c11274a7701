/**
 * The storage interface of the server. Services talk to this, never to SQL, so a second implementation
 * (Postgres, for a team that outgrows one machine) can stand in. Every method returns a promise; the SQLite
 * implementation answers synchronously underneath.
 *
 * High-volume writes (run events, run status, audit entries, idempotency results, last-used times) arrive as
 * one `WriteBatch` per event-loop turn and commit in one transaction (group commit), so durability costs one
 * fsync per batch rather than one per event.
 */

import type { RunEvent } from '@finflow/runtime';

// Roles and run triggers are part of the API: defined once, in the contract.
import type { Role, RunTrigger } from '@finflow/contract';
export { roles, type Role } from '@finflow/contract';

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: number;
}

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  createdAt: number;
  disabledAt: number | null;
}

export interface MemberRecord {
  workspaceId: string;
  userId: string;
  role: Role;
  createdAt: number;
}

export interface SessionRecord {
  tokenHash: string;
  userId: string;
  workspaceId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** A session joined with its user and the user's role in the session's workspace. */
export interface SessionView {
  session: SessionRecord;
  user: UserRecord;
  workspace: WorkspaceRecord;
  /** Null when the user is no longer a member of the workspace. */
  role: Role | null;
}

export interface FlowRecord {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  tags: string[];
  latestVersion: number;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
  updatedBy: string | null;
  deletedAt: number | null;
}

export interface FlowListItem extends FlowRecord {
  updatedByName: string | null;
  published: boolean;
}

export interface VersionRecord {
  flowId: string;
  number: number;
  /** The flow document as JSON text. */
  document: string;
  hash: string;
  authorId: string | null;
  authorName: string;
  message: string;
  createdAt: number;
}

export type { RunTrigger } from '@finflow/contract';
export type StoredRunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface RunRecord {
  id: string;
  workspaceId: string;
  flowId: string;
  flowVersion: number;
  status: StoredRunStatus;
  trigger: RunTrigger;
  endpointId: string | null;
  deploymentId: string | null;
  /** `user:<id>` or `key:<id>`. */
  actor: string;
  rerunOf: string | null;
  /** The original input, sealed with the master key (for re-runs; events hold the masked input). */
  inputSealed: Buffer | null;
  /** The real outputs of an endpoint run, sealed (an async caller polls for them; events hold masked ones). */
  outputsSealed: Buffer | null;
  startedAt: number;
  finishedAt: number | null;
  ms: number | null;
}

export interface RunFilter {
  flowId?: string;
  status?: StoredRunStatus;
  endpointId?: string;
  /** Runs started before this time (ms), for paging. */
  before?: number;
  limit: number;
}

/** Consecutive events of one run (seq .. lastSeq), written together. */
export interface EventChunk {
  runId: string;
  seq: number;
  lastSeq: number;
  /** The events as JSON text, one array element per event. */
  events: string[];
}

export interface CredentialRecord {
  workspaceId: string;
  name: string;
  description: string;
  sealed: Buffer;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

export interface DeploymentTarget {
  version: number;
  /** Share of traffic, 0-100; the targets of a deployment add up to 100. */
  weight: number;
}

export interface DeploymentRecord {
  id: string;
  workspaceId: string;
  endpointId: string;
  flowId: string;
  targets: DeploymentTarget[];
  createdAt: number;
  createdBy: string | null;
}

export type EndpointMode = 'sync' | 'async';

export interface EndpointRecord {
  id: string;
  workspaceId: string;
  slug: string;
  flowId: string;
  deploymentId: string;
  status: 'active' | 'disabled';
  mode: EndpointMode;
  timeoutMs: number;
  maxBodyBytes: number;
  rateLimitPerMinute: number;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
}

export interface EndpointStats {
  last24h: number;
  total: number;
}

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  hash: string;
  /** Endpoint ids the key may call, or '*' for every endpoint of the workspace. */
  endpoints: string[] | '*';
  createdAt: number;
  createdBy: string | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface IdempotencyRecord {
  keyId: string;
  endpointId: string;
  idemKey: string;
  requestHash: string;
  runId: string | null;
  /** HTTP status of the first answer; null while the first request is still running. */
  status: number | null;
  body: string | null;
  createdAt: number;
}

export interface AuditActor {
  type: 'user' | 'key' | 'system' | 'cli';
  id?: string;
  name?: string;
}

/** An audit entry before it is chained: the repository assigns seq, prevHash and hash in its transaction. */
export interface AuditDraft {
  workspaceId: string;
  at: number;
  actor: AuditActor;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditDraft {
  seq: number;
  prevHash: string;
  hash: string;
}

/** An audit entry as stored: actor and details as the canonical JSON text the hash covers. */
export interface AuditRow {
  seq: number;
  workspaceId: string;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: string;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
  count: number;
}

export interface WriteBatch {
  runs: RunRecord[];
  events: EventChunk[];
  runUpdates: {
    id: string;
    status: StoredRunStatus;
    finishedAt: number | null;
    ms: number | null;
    outputsSealed?: Buffer;
  }[];
  audit: AuditDraft[];
  /** First requests with an Idempotency-Key (inserted if absent). */
  idempotencyClaims: IdempotencyRecord[];
  /** Answers to remember for an Idempotency-Key. */
  idempotency: {
    keyId: string;
    endpointId: string;
    idemKey: string;
    status: number;
    body: string;
    runId: string | null;
  }[];
  keyUsage: Map<string, number>;
  credentialUsage: Map<string, { workspaceId: string; name: string; at: number }>;
}

export function emptyBatch(): WriteBatch {
  return {
    runs: [],
    events: [],
    runUpdates: [],
    audit: [],
    idempotencyClaims: [],
    idempotency: [],
    keyUsage: new Map(),
    credentialUsage: new Map(),
  };
}

export function batchSize(b: WriteBatch): number {
  return (
    b.runs.length +
    b.events.length +
    b.runUpdates.length +
    b.audit.length +
    b.idempotencyClaims.length +
    b.idempotency.length +
    b.keyUsage.size +
    b.credentialUsage.size
  );
}

export interface BatchCommit {
  written: Promise<void>;
  durable: Promise<void>;
}

export interface Repository {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Applies a group of writes atomically (audit entries are chained inside the transaction), in call order.
   * `written` settles when reads see the writes; `durable` when they would survive a power cut.
   */
  commit(batch: WriteBatch): BatchCommit;

  getSetting(key: string): Promise<string | undefined>;
  setSetting(key: string, value: string): Promise<void>;

  // Workspaces, users, memberships, sessions
  countUsers(): Promise<number>;
  createWorkspace(ws: WorkspaceRecord): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRecord | undefined>;
  firstWorkspace(): Promise<WorkspaceRecord | undefined>;
  workspacesOf(userId: string): Promise<{ workspace: WorkspaceRecord; role: Role }[]>;
  createUser(user: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByEmail(email: string): Promise<UserRecord | undefined>;
  updateUser(
    id: string,
    patch: { name?: string; passwordHash?: string; disabledAt?: number | null },
  ): Promise<void>;
  setMembership(m: MemberRecord): Promise<void>;
  removeMembership(workspaceId: string, userId: string): Promise<void>;
  getMembership(workspaceId: string, userId: string): Promise<MemberRecord | undefined>;
  listMembers(workspaceId: string): Promise<(MemberRecord & { user: UserRecord })[]>;
  createSession(s: SessionRecord): Promise<void>;
  getSession(tokenHash: string): Promise<SessionView | undefined>;
  updateSession(tokenHash: string, patch: { lastSeenAt?: number; workspaceId?: string }): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteSessionsOf(userId: string): Promise<void>;
  deleteExpiredSessions(now: number): Promise<number>;

  // Flows and versions
  createFlow(flow: FlowRecord, version: VersionRecord): Promise<void>;
  addVersion(
    version: VersionRecord,
    flow: Pick<FlowRecord, 'name' | 'description' | 'tags' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void>;
  getFlow(workspaceId: string, id: string): Promise<FlowRecord | undefined>;
  listFlows(workspaceId: string, search?: string): Promise<FlowListItem[]>;
  deleteFlow(workspaceId: string, id: string, at: number): Promise<boolean>;
  listVersions(flowId: string): Promise<VersionRecord[]>;
  getVersion(flowId: string, number: number): Promise<VersionRecord | undefined>;

  // Runs
  getRun(workspaceId: string, id: string): Promise<RunRecord | undefined>;
  listRuns(workspaceId: string, filter: RunFilter): Promise<RunRecord[]>;
  /** The run's events after `afterSeq`, in order. */
  runEvents(runId: string, afterSeq: number): Promise<RunEvent[]>;
  lastEventSeq(runId: string): Promise<number>;
  runningRuns(): Promise<RunRecord[]>;

  // Credentials
  listCredentials(workspaceId: string): Promise<CredentialRecord[]>;
  getCredential(workspaceId: string, name: string): Promise<CredentialRecord | undefined>;
  putCredential(c: CredentialRecord): Promise<'created' | 'updated'>;
  deleteCredential(workspaceId: string, name: string): Promise<boolean>;

  // Endpoints and deployments
  createEndpoint(endpoint: EndpointRecord, deployment: DeploymentRecord): Promise<void>;
  getEndpoint(workspaceId: string, id: string): Promise<EndpointRecord | undefined>;
  getEndpointBySlug(slug: string): Promise<EndpointRecord | undefined>;
  listEndpoints(workspaceId: string): Promise<EndpointRecord[]>;
  endpointStats(endpointIds: string[], since: number): Promise<Map<string, EndpointStats>>;
  updateEndpoint(
    id: string,
    patch: Partial<
      Pick<EndpointRecord, 'status' | 'mode' | 'timeoutMs' | 'maxBodyBytes' | 'rateLimitPerMinute'>
    > & {
      updatedAt: number;
    },
    deployment?: DeploymentRecord,
  ): Promise<void>;
  getDeployment(id: string): Promise<DeploymentRecord | undefined>;
  listDeployments(endpointId: string): Promise<DeploymentRecord[]>;

  // API keys
  createApiKey(key: ApiKeyRecord): Promise<void>;
  listApiKeys(workspaceId: string): Promise<ApiKeyRecord[]>;
  getApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  revokeApiKey(workspaceId: string, id: string, at: number): Promise<boolean>;
  getApiKey(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined>;
  /**
   * Replaces a key in one transaction: the old one is revoked at `at` and `next` inserted. False (and nothing
   * written) when the old key is not in the workspace or already revoked.
   */
  rotateApiKey(workspaceId: string, oldId: string, next: ApiKeyRecord, at: number): Promise<boolean>;

  // Idempotency
  getIdempotency(keyId: string, endpointId: string, idemKey: string): Promise<IdempotencyRecord | undefined>;
  deleteIdempotencyBefore(at: number): Promise<number>;

  // Audit
  /** Newest first. */
  listAudit(workspaceId: string, limit: number, beforeSeq?: number): Promise<AuditRow[]>;
  /** A workspace's chain in order, a page at a time (for verification). */
  auditChain(workspaceId: string, afterSeq: number, limit: number): Promise<AuditRow[]>;
  auditHead(workspaceId: string): Promise<AuditHead | undefined>;
}
