/**
 * The storage interface of the server. Services talk to this, never to SQL, so a second implementation
 * (Postgres, for a team that outgrows one machine) can stand in. Every method returns a promise; the SQLite
 * implementation answers synchronously underneath.
 *
 * High-volume writes (run events, run status, audit entries, idempotency results, last-used times) arrive as
 * one `WriteBatch` per event-loop turn and commit in one transaction (group commit), so durability costs one
 * fsync per batch rather than one per event.
 */

import type { ConnectionInfo, RunEvent } from '@finflow/runtime';

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
  /** Instance owner: manages accounts (password, e-mail, disabled, ownership) across every workspace. */
  instanceOwner: boolean;
}

/** An invitation to join a workspace, addressed to an e-mail (registered or not); the account accepts it. */
export interface InvitationRecord {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  invitedByName: string;
  createdAt: number;
  expiresAt: number;
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
  /** Null for an account that belongs to no workspace (yet): it may read and answer its invitations. */
  workspaceId: string | null;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** A session joined with its user and the user's role in the session's workspace. */
export interface SessionView {
  session: SessionRecord;
  user: UserRecord;
  /** Null when the session has no workspace. */
  workspace: WorkspaceRecord | null;
  /** Null when the session has no workspace, or the user is no longer a member of it. */
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
export type StoredRunStatus =
  'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

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
  /** The real recorded outcomes at the run's last suspension, sealed (a waiting run resumes from them). */
  checkpointSealed: Buffer | null;
  /** The token of the resume that took the run out of `waiting`. */
  resumeClaim: string | null;
  /** SHA-256 of the flow's business key value (`settings.feedback.businessKey`), for feedback by business key. */
  businessKey: string | null;
  /**
   * Queue mode: how the run was started (JSON, see `startSpecSchema` in queue/start-spec.ts), stored by the
   * launcher with the queued run so any worker can execute it and call the right handler when it finishes.
   */
  startSpec?: string | null;
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
  /**
   * Or the events themselves, for a run of pure nodes: encoded as one compact record when the batch is committed
   * (see event-rows.ts). A chunk holds one or the other.
   */
  objects?: RunEvent[];
}

export type ReviewTaskStatus = 'open' | 'decided' | 'cancelled';

/** A first approval waiting for its second (four-eyes). */
export interface ReviewApproval {
  reviewer: { id: string; name: string };
  action: 'approve' | 'override';
  outcome?: string;
  reason: string;
  corrections?: Record<string, unknown>;
  at: number;
}

export interface ReviewTaskRecord {
  id: string;
  workspaceId: string;
  runId: string;
  nodeId: string;
  flowId: string;
  flowVersion: number;
  endpointId: string | null;
  deploymentId: string | null;
  queue: string;
  /** Roles the node's config names (the `approver` role may always decide). */
  roles: string[];
  title: string;
  status: ReviewTaskStatus;
  dueAt: number | null;
  escalatedAt: number | null;
  /** The run's actor (`user:<id>`, `key:<id>`), for maker-checker. */
  starter: string;
  /** The node's task as JSON text, masked like the run's records. */
  task: string;
  approvals: ReviewApproval[];
  /** The decision that resumes the node, as JSON text. */
  decision: string | null;
  decidedAt: number | null;
  /** `user:<id>` or `system:sla`. */
  decidedBy: string | null;
  resumedBy: string | null;
  createdAt: number;
}

export interface ReviewTaskFilter {
  status?: ReviewTaskStatus;
  queue?: string;
  flowId?: string;
  /** Only tasks one of these roles may decide (undefined: all). */
  roles?: string[];
  /** Tasks created (open) or decided (history) before this time, for paging. */
  before?: number;
  limit: number;
}

export type FeedbackSource = 'outcome' | 'review';

export interface FeedbackRecord {
  id: string;
  workspaceId: string;
  runId: string;
  flowId: string;
  flowVersion: number;
  endpointId: string | null;
  deploymentId: string | null;
  source: FeedbackSource;
  /** The label as JSON text. */
  label: string;
  /** The run's prediction (its output at the flow's `settings.feedback.predictionPath`) as JSON text. */
  prediction: string | null;
  dedupeKey: string;
  requestHash: string;
  actor: string;
  /** When the labelled run decided (its start). */
  decidedAt: number;
  createdAt: number;
}

/** Labelled decisions of an endpoint or flow version in a time window (of decision times), oldest first. */
export interface FeedbackQuery {
  workspaceId: string;
  endpointId?: string;
  flowId?: string;
  flowVersion?: number;
  source?: FeedbackSource;
  from: number;
  to: number;
  limit: number;
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

/** A connection as stored: its spec (see `connectionSpecSchema`) with who wrote it when. */
export interface ConnectionRecord extends ConnectionInfo {
  workspaceId: string;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
}

/** A data holder's federated training table (rows sealed; see services/federated.ts). */
export interface FederatedDatasetRecord {
  workspaceId: string;
  name: string;
  description: string;
  columns: string[];
  rowCount: number;
  sealedRows: Buffer;
  /** Ids of the workspace's API keys a coordinator may train with. */
  apiKeys: string[];
  minParticipants: number;
  createdAt: number;
  createdBy: string | null;
  updatedAt: number;
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
  /** HMAC of `hash` under the audit key (derived from the master key, never stored); null only if forged. */
  mac: string | null;
}

export interface AuditHead {
  seq: number;
  hash: string;
  count: number;
  /** HMAC of the head under the audit key. */
  mac: string | null;
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
    checkpointSealed?: Buffer;
  }[];
  /** New review tasks (a task already there for the run's node is left as it is). */
  reviewTasks: ReviewTaskRecord[];
  /**
   * Review decisions and four-eyes approvals, each applied only if the task is still open with the approvals it
   * was read with; otherwise the whole batch fails with code REVIEW_CONFLICT (someone else acted first).
   */
  reviewDecisions: {
    id: string;
    status: ReviewTaskStatus;
    approvals: ReviewApproval[];
    /** The approvals JSON the decision was made against. */
    expectApprovals: string;
    decision: string | null;
    decidedAt: number | null;
    decidedBy: string | null;
  }[];
  /** Overdue tasks moved to another queue, once (a task already escalated or closed fails the batch too). */
  reviewEscalations: { id: string; queue: string; escalatedAt: number }[];
  /**
   * Takes waiting runs out of `waiting` with a token, after the decisions above: a run is taken only if it still
   * waits and (unless `cancel`) has a decided task nobody resumed; its decided tasks get the token. The caller
   * reads the tasks with its token to learn whether it won. `cancel` also closes the run's open tasks.
   */
  resumeClaims: { runId: string; token: string; cancel: boolean }[];
  /** Feedback rows (a row with the same run, source and dedupe key is left as it is). */
  feedback: FeedbackRecord[];
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
    reviewTasks: [],
    reviewDecisions: [],
    reviewEscalations: [],
    resumeClaims: [],
    feedback: [],
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
    b.reviewTasks.length +
    b.reviewDecisions.length +
    b.reviewEscalations.length +
    b.resumeClaims.length +
    b.feedback.length +
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

/**
 * Continuous learning settings of one endpoint (migration 10): `config` is the JSON the learning service validates
 * (trainable node, training settings, label mapping, holdout, schedule, drift thresholds); `baseline` the training
 * profile of the model it serves (JSON); the lease is held by the server retraining it.
 */
export interface LearningRecord {
  workspaceId: string;
  endpointId: string;
  config: string;
  baseline: string | null;
  lastRetrainAt: number | null;
  /** Labels of the endpoint when it last retrained (the schedule waits for enough new ones). */
  lastRetrainLabels: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  updatedAt: number;
  updatedBy: string;
}

export type RetrainJobStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One retraining of an endpoint's model; `detail` is JSON (versions, rows, excluded columns, evaluation, proposal). */
export interface RetrainJobRecord {
  id: string;
  workspaceId: string;
  endpointId: string;
  status: RetrainJobStatus;
  trigger: 'manual' | 'schedule';
  detail: string;
  createdBy: string;
  createdAt: number;
  finishedAt: number | null;
}

/** A feature (or `(score)`) whose PSI over an endpoint's recent calls crossed a drift threshold. */
export interface DriftAlertRecord {
  id: string;
  workspaceId: string;
  endpointId: string;
  feature: string;
  psi: number;
  level: 'watch' | 'alert';
  /** Calls the PSI was computed over. */
  calls: number;
  createdAt: number;
}

export interface EvaluationRecord {
  id: string;
  workspaceId: string;
  flowId: string;
  versions: number[];
  datasetName: string;
  datasetRows: number;
  datasetSha256: string;
  /** The evaluation spec, JSON. */
  spec: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  progressDone: number;
  progressTotal: number;
  /** The EvaluationReport, JSON; null while running or after a failure. */
  report: string | null;
  error: string | null;
  createdBy: string;
  createdAt: number;
  finishedAt: number | null;
}

/**
 * A trained model as an immutable, content-addressed object of a workspace: `sha256` is the SHA-256 of `content`,
 * the model's canonical JSON. Flow versions reference artefacts by hash (see services/artefacts.ts).
 */
export interface ArtefactRecord {
  workspaceId: string;
  sha256: string;
  /** The model's own kind (`scorecard`, `fraud-model`, `finflow.textClassifier`, ...). */
  kind: string;
  /** The node type whose config first held it. */
  nodeType: string;
  /** The model as canonical JSON text (exactly the bytes the hash covers). */
  content: string;
  bytes: number;
  /** Where it was first stored (null for an artefact that arrived by promotion before any version of its own). */
  flowId: string | null;
  flowVersion: number | null;
  createdAt: number;
  createdBy: string | null;
}

/** An artefact without its content (for lists). */
export type ArtefactSummary = Omit<ArtefactRecord, 'content'>;

export interface Repository {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Gives back memory held after load by the store's own threads and connections (the server calls it when it
   * goes quiet, with its own idle collection); optional, a store without such state leaves it out.
   */
  releaseMemory?(): void;

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
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  workspacesOf(userId: string): Promise<{ workspace: WorkspaceRecord; role: Role }[]>;
  createUser(user: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByEmail(email: string): Promise<UserRecord | undefined>;
  /** Every account, by e-mail (for instance owners). */
  listUsers(): Promise<UserRecord[]>;
  updateUser(
    id: string,
    patch: {
      name?: string;
      email?: string;
      passwordHash?: string;
      disabledAt?: number | null;
      instanceOwner?: boolean;
    },
  ): Promise<void>;
  setMembership(m: MemberRecord): Promise<void>;
  removeMembership(workspaceId: string, userId: string): Promise<void>;
  getMembership(workspaceId: string, userId: string): Promise<MemberRecord | undefined>;
  /** The member of a workspace with this e-mail, if any. */
  getMemberByEmail(workspaceId: string, email: string): Promise<MemberRecord | undefined>;
  listMembers(workspaceId: string): Promise<(MemberRecord & { user: UserRecord })[]>;

  /** Creates or renews the workspace's invitation of an e-mail (one per workspace and e-mail). */
  putInvitation(inv: InvitationRecord): Promise<void>;
  getInvitation(id: string): Promise<InvitationRecord | undefined>;
  /** Invitations to an e-mail not expired at `now`, with their workspaces. */
  invitationsFor(email: string, now: number): Promise<(InvitationRecord & { workspace: WorkspaceRecord })[]>;
  workspaceInvitations(workspaceId: string, now: number): Promise<InvitationRecord[]>;
  deleteInvitation(id: string): Promise<boolean>;
  deleteExpiredInvitations(now: number): Promise<number>;
  /** Adds the membership and removes the invitation in one transaction; false if the invitation is gone. */
  acceptInvitation(id: string, member: MemberRecord): Promise<boolean>;

  createSession(s: SessionRecord): Promise<void>;
  getSession(tokenHash: string): Promise<SessionView | undefined>;
  updateSession(
    tokenHash: string,
    patch: { lastSeenAt?: number; workspaceId?: string | null },
  ): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Ends a user's sessions: all of them, all but one (`except`), or those in one workspace. */
  deleteSessionsOf(userId: string, options?: { except?: string; workspaceId?: string }): Promise<void>;
  deleteExpiredSessions(now: number): Promise<number>;

  // Flows and versions
  /** Creates a flow with its first version, or (promotion) with a whole history, in one transaction. */
  createFlow(flow: FlowRecord, version: VersionRecord | readonly VersionRecord[]): Promise<void>;
  addVersion(
    version: VersionRecord,
    flow: Pick<FlowRecord, 'name' | 'description' | 'tags' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void>;
  getFlow(workspaceId: string, id: string): Promise<FlowRecord | undefined>;
  listFlows(workspaceId: string, search?: string): Promise<FlowListItem[]>;
  deleteFlow(workspaceId: string, id: string, at: number): Promise<boolean>;
  listVersions(flowId: string): Promise<VersionRecord[]>;
  getVersion(flowId: string, number: number): Promise<VersionRecord | undefined>;

  // Model artefacts (immutable: a second put of the same hash keeps the first row)
  putArtefact(a: ArtefactRecord): Promise<'created' | 'exists'>;
  getArtefact(workspaceId: string, sha256: string): Promise<ArtefactRecord | undefined>;
  /** Newest first, without content; `before` (a creation time) pages. */
  listArtefacts(workspaceId: string, limit: number, before?: number): Promise<ArtefactSummary[]>;

  // Runs
  getRun(workspaceId: string, id: string): Promise<RunRecord | undefined>;
  listRuns(workspaceId: string, filter: RunFilter): Promise<RunRecord[]>;
  /** The run's events after `afterSeq`, in order. */
  runEvents(runId: string, afterSeq: number): Promise<RunEvent[]>;
  lastEventSeq(runId: string): Promise<number>;
  runningRuns(): Promise<RunRecord[]>;
  /** A run by id alone (services that already know its workspace from elsewhere). */
  getRunById(id: string): Promise<RunRecord | undefined>;
  /** The newest run of an endpoint with this business key hash. */
  runByBusinessKey(endpointId: string, businessKey: string): Promise<RunRecord | undefined>;

  // Review tasks
  getReviewTask(workspaceId: string, id: string): Promise<ReviewTaskRecord | undefined>;
  listReviewTasks(workspaceId: string, filter: ReviewTaskFilter): Promise<ReviewTaskRecord[]>;
  /** Open task counts by queue. */
  reviewQueues(workspaceId: string): Promise<{ queue: string; open: number; overdue: number }[]>;
  reviewTasksOfRun(runId: string): Promise<ReviewTaskRecord[]>;
  /** Decided tasks a resume with this token took. */
  reviewTasksClaimedBy(token: string): Promise<ReviewTaskRecord[]>;
  /** Open tasks past their due time that no SLA step has handled yet. */
  overdueReviewTasks(now: number, limit: number): Promise<ReviewTaskRecord[]>;
  /** The earliest due time of an open task no SLA step has handled yet. */
  nextReviewDue(): Promise<number | undefined>;
  /** Waiting runs with a decided task no resume has taken (after a crash between decision and resume). */
  waitingRunsWithDecisions(): Promise<string[]>;
  /**
   * Puts a claimed run back to `waiting` and frees its tasks, when the process that claimed it stopped before the
   * resumed execution recorded anything. True when the run was reopened.
   */
  reopenClaim(runId: string, token: string): Promise<boolean>;

  // Feedback
  getFeedback(runId: string, source: FeedbackSource, dedupeKey: string): Promise<FeedbackRecord | undefined>;
  feedbackOfRun(runId: string): Promise<FeedbackRecord[]>;
  labelledDecisions(query: FeedbackQuery): Promise<FeedbackRecord[]>;

  // Credentials
  listCredentials(workspaceId: string): Promise<CredentialRecord[]>;
  getCredential(workspaceId: string, name: string): Promise<CredentialRecord | undefined>;
  putCredential(c: CredentialRecord): Promise<'created' | 'updated'>;
  deleteCredential(workspaceId: string, name: string): Promise<boolean>;

  // Federated datasets
  listFederatedDatasets(workspaceId: string): Promise<FederatedDatasetRecord[]>;
  getFederatedDataset(workspaceId: string, name: string): Promise<FederatedDatasetRecord | undefined>;
  putFederatedDataset(d: FederatedDatasetRecord): Promise<'created' | 'updated'>;
  deleteFederatedDataset(workspaceId: string, name: string): Promise<boolean>;

  // Connections
  listConnections(workspaceId: string): Promise<ConnectionRecord[]>;
  getConnection(workspaceId: string, name: string): Promise<ConnectionRecord | undefined>;
  putConnection(c: ConnectionRecord): Promise<'created' | 'updated'>;
  deleteConnection(workspaceId: string, name: string): Promise<boolean>;
  /** Names of the connections that send a credential. */
  connectionsUsing(workspaceId: string, credential: string): Promise<string[]>;

  // Evaluations
  createEvaluation(e: EvaluationRecord): Promise<void>;
  /** Updates a running evaluation; false when it is no longer running (cancelled or interrupted meanwhile). */
  updateEvaluation(
    id: string,
    patch: Partial<Pick<EvaluationRecord, 'status' | 'progressDone' | 'report' | 'error' | 'finishedAt'>>,
  ): Promise<boolean>;
  getEvaluation(workspaceId: string, id: string): Promise<EvaluationRecord | undefined>;
  /** Newest first, without the report (a list shows status and headline figures only). */
  listEvaluations(workspaceId: string, flowId: string, limit: number): Promise<EvaluationRecord[]>;
  /** Marks evaluations left running by a stopped process as interrupted; returns how many. */
  interruptRunningEvaluations(at: number): Promise<number>;

  // Continuous learning (migration 10)
  getLearning(workspaceId: string, endpointId: string): Promise<LearningRecord | undefined>;
  /** Creates or replaces an endpoint's learning config; its baseline, history and lease stay. */
  putLearning(
    r: Pick<LearningRecord, 'workspaceId' | 'endpointId' | 'config' | 'updatedAt' | 'updatedBy'>,
  ): Promise<void>;
  /** Every endpoint's learning settings (the scheduler filters them). */
  listLearning(): Promise<LearningRecord[]>;
  /**
   * Takes the endpoint's retraining lease for `owner` until `until` when nobody holds a live one (expired at
   * `now`, or held by `owner`); false when another holder's lease is live. One conditional write: of several
   * servers asking at once, one gets it.
   */
  claimLearning(endpointId: string, owner: string, now: number, until: number): Promise<boolean>;
  /** Releases `owner`'s lease, recording the retraining when given; false when `owner` no longer held it. */
  releaseLearning(
    endpointId: string,
    owner: string,
    done?: { lastRetrainAt: number; lastRetrainLabels: number },
  ): Promise<boolean>;
  setLearningBaseline(endpointId: string, baseline: string | null): Promise<void>;
  createRetrainJob(job: RetrainJobRecord): Promise<void>;
  /** Ends a running job; false when it is no longer running. */
  finishRetrainJob(
    id: string,
    patch: Pick<RetrainJobRecord, 'status' | 'detail' | 'finishedAt'>,
  ): Promise<boolean>;
  getRetrainJob(workspaceId: string, id: string): Promise<RetrainJobRecord | undefined>;
  /** Newest first. */
  listRetrainJobs(workspaceId: string, endpointId: string, limit: number): Promise<RetrainJobRecord[]>;
  /** Marks jobs left running by a stopped process as interrupted (of one endpoint, or all); returns how many. */
  interruptRunningRetrainJobs(at: number, endpointId?: string): Promise<number>;
  addDriftAlert(alert: DriftAlertRecord): Promise<void>;
  /** Newest first. */
  listDriftAlerts(workspaceId: string, endpointId: string, limit: number): Promise<DriftAlertRecord[]>;

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
