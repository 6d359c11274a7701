/**
 * Rows to records, for both repositories: one mapper per table, so SQLite and Postgres cannot drift apart in
 * what a record holds. Each dialect first converts its column types to these (Postgres already gives booleans,
 * numbers and Buffers; SQLite stores booleans as 0/1, see sqlite.ts), so a mapper only renames and parses.
 */
import type {
  FeedbackSource,
  ReviewApproval,
  Role,
  ApiKeyRecord,
  ArtefactSummary,
  AuditRow,
  ConnectionRecord,
  CredentialRecord,
  DeploymentRecord,
  EndpointRecord,
  DriftAlertRecord,
  EvaluationRecord,
  LearningRecord,
  RetrainJobRecord,
  FederatedDatasetRecord,
  FeedbackRecord,
  FlowRecord,
  InvitationRecord,
  ReviewTaskRecord,
  RunRecord,
  SessionRecord,
  UserRecord,
  VersionRecord,
  WorkspaceRecord,
} from './types.js';

/** A row as the database driver returns it (column names as in the schema). */
export type Row = Record<string, unknown>;

export const str = (v: unknown) => v as string;
export const num = (v: unknown) => v as number;
export const numOrNull = (v: unknown) => (v === null || v === undefined ? null : (v as number));
export const strOrNull = (v: unknown) => (v === null || v === undefined ? null : (v as string));
export const bufOrNull = (v: unknown) => (v === null || v === undefined ? null : (v as Buffer));

export const toWorkspace = (r: Row): WorkspaceRecord => ({
  id: str(r['id']),
  name: str(r['name']),
  createdAt: num(r['created_at']),
});

export const toUser = (r: Row): UserRecord => ({
  id: str(r['id']),
  email: str(r['email']),
  name: str(r['name']),
  passwordHash: str(r['password_hash']),
  createdAt: num(r['created_at']),
  disabledAt: numOrNull(r['disabled_at']),
  instanceOwner: r['instance_owner'] === true,
});

export const toInvitation = (r: Row): InvitationRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  email: str(r['email']),
  role: str(r['role']) as Role,
  invitedBy: strOrNull(r['invited_by']),
  invitedByName: str(r['invited_by_name']),
  createdAt: num(r['created_at']),
  expiresAt: num(r['expires_at']),
});

export const toSession = (r: Row): SessionRecord => ({
  tokenHash: str(r['token_hash']),
  userId: str(r['user_id']),
  workspaceId: strOrNull(r['workspace_id']),
  csrfToken: str(r['csrf_token']),
  createdAt: num(r['created_at']),
  lastSeenAt: num(r['last_seen_at']),
  expiresAt: num(r['expires_at']),
});

export const toFlow = (r: Row): FlowRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  name: str(r['name']),
  description: str(r['description']),
  tags: JSON.parse(str(r['tags'])) as string[],
  latestVersion: num(r['latest_version']),
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
  updatedAt: num(r['updated_at']),
  updatedBy: strOrNull(r['updated_by']),
  deletedAt: numOrNull(r['deleted_at']),
});

export const toVersion = (r: Row): VersionRecord => ({
  flowId: str(r['flow_id']),
  number: num(r['number']),
  document: str(r['document']),
  hash: str(r['hash']),
  authorId: strOrNull(r['author_id']),
  authorName: str(r['author_name']),
  message: str(r['message']),
  createdAt: num(r['created_at']),
});

/**
 * The columns of `runs` that `toRun` reads: every run query names them, so none fetches the events a finished
 * run carries in its row (migration 14), which only `runEvents` reads.
 */
export const RUN_COLUMNS =
  'id, workspace_id, flow_id, flow_version, status, trigger, endpoint_id, deployment_id, actor, rerun_of, ' +
  'input_sealed, outputs_sealed, started_at, finished_at, ms, checkpoint_sealed, resume_claim, business_key, start_spec';

export const toRun = (r: Row): RunRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  flowId: str(r['flow_id']),
  flowVersion: num(r['flow_version']),
  status: str(r['status']) as RunRecord['status'],
  trigger: str(r['trigger']) as RunRecord['trigger'],
  endpointId: strOrNull(r['endpoint_id']),
  deploymentId: strOrNull(r['deployment_id']),
  actor: str(r['actor']),
  rerunOf: strOrNull(r['rerun_of']),
  inputSealed: bufOrNull(r['input_sealed']),
  outputsSealed: bufOrNull(r['outputs_sealed']),
  startedAt: num(r['started_at']),
  finishedAt: numOrNull(r['finished_at']),
  ms: numOrNull(r['ms']),
  checkpointSealed: bufOrNull(r['checkpoint_sealed']),
  resumeClaim: strOrNull(r['resume_claim']),
  businessKey: strOrNull(r['business_key']),
  startSpec: strOrNull(r['start_spec']),
});

export const toReviewTask = (r: Row): ReviewTaskRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  runId: str(r['run_id']),
  nodeId: str(r['node_id']),
  flowId: str(r['flow_id']),
  flowVersion: num(r['flow_version']),
  endpointId: strOrNull(r['endpoint_id']),
  deploymentId: strOrNull(r['deployment_id']),
  queue: str(r['queue']),
  roles: JSON.parse(str(r['roles'])) as string[],
  title: str(r['title']),
  status: str(r['status']) as ReviewTaskRecord['status'],
  dueAt: numOrNull(r['due_at']),
  escalatedAt: numOrNull(r['escalated_at']),
  starter: str(r['starter']),
  task: str(r['task']),
  approvals: JSON.parse(str(r['approvals'])) as ReviewApproval[],
  decision: strOrNull(r['decision']),
  decidedAt: numOrNull(r['decided_at']),
  decidedBy: strOrNull(r['decided_by']),
  resumedBy: strOrNull(r['resumed_by']),
  createdAt: num(r['created_at']),
});

/**
 * A review task's values in the column order of `review_tasks` (the reverse of `toReviewTask`): the Postgres insert
 * and the SQLite writer thread's batch both bind these, so a new column is added in one place.
 */
export const reviewTaskColumns = [
  'id',
  'workspace_id',
  'run_id',
  'node_id',
  'flow_id',
  'flow_version',
  'endpoint_id',
  'deployment_id',
  'queue',
  'roles',
  'title',
  'status',
  'due_at',
  'escalated_at',
  'starter',
  'task',
  'approvals',
  'decision',
  'decided_at',
  'decided_by',
  'resumed_by',
  'created_at',
] as const;

export const reviewTaskValues = (t: ReviewTaskRecord): unknown[] => [
  t.id,
  t.workspaceId,
  t.runId,
  t.nodeId,
  t.flowId,
  t.flowVersion,
  t.endpointId,
  t.deploymentId,
  t.queue,
  JSON.stringify(t.roles),
  t.title,
  t.status,
  t.dueAt,
  t.escalatedAt,
  t.starter,
  t.task,
  JSON.stringify(t.approvals),
  t.decision,
  t.decidedAt,
  t.decidedBy,
  t.resumedBy,
  t.createdAt,
];

export const toFeedback = (r: Row): FeedbackRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  runId: str(r['run_id']),
  flowId: str(r['flow_id']),
  flowVersion: num(r['flow_version']),
  endpointId: strOrNull(r['endpoint_id']),
  deploymentId: strOrNull(r['deployment_id']),
  source: str(r['source']) as FeedbackSource,
  label: str(r['label']),
  prediction: strOrNull(r['prediction']),
  dedupeKey: str(r['dedupe_key']),
  requestHash: str(r['request_hash']),
  actor: str(r['actor']),
  decidedAt: num(r['decided_at']),
  createdAt: num(r['created_at']),
});

export const toCredential = (r: Row): CredentialRecord => ({
  workspaceId: str(r['workspace_id']),
  name: str(r['name']),
  description: str(r['description']),
  sealed: r['sealed'] as Buffer,
  createdAt: num(r['created_at']),
  updatedAt: num(r['updated_at']),
  lastUsedAt: numOrNull(r['last_used_at']),
});

export const toEvaluation = (r: Row): EvaluationRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  flowId: str(r['flow_id']),
  versions: JSON.parse(str(r['versions'])) as number[],
  datasetName: str(r['dataset_name']),
  datasetRows: num(r['dataset_rows']),
  datasetSha256: str(r['dataset_sha256']),
  spec: str(r['spec']),
  status: str(r['status']) as EvaluationRecord['status'],
  progressDone: num(r['progress_done']),
  progressTotal: num(r['progress_total']),
  report: strOrNull(r['report']),
  error: strOrNull(r['error']),
  createdBy: str(r['created_by']),
  createdAt: num(r['created_at']),
  finishedAt: numOrNull(r['finished_at']),
});

export const toFederatedDataset = (r: Row): FederatedDatasetRecord => ({
  workspaceId: str(r['workspace_id']),
  name: str(r['name']),
  description: str(r['description']),
  columns: JSON.parse(str(r['columns'])) as string[],
  rowCount: num(r['row_count']),
  sealedRows: r['sealed_rows'] as Buffer,
  apiKeys: JSON.parse(str(r['api_keys'])) as string[],
  minParticipants: num(r['min_participants']),
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
  updatedAt: num(r['updated_at']),
});

export const toConnection = (r: Row): ConnectionRecord => ({
  workspaceId: str(r['workspace_id']),
  name: str(r['name']),
  kind: str(r['kind']) as ConnectionRecord['kind'],
  baseUrl: str(r['base_url']),
  credential: strOrNull(r['credential']),
  models: JSON.parse(str(r['models'])) as string[],
  deployment: str(r['deployment']) as ConnectionRecord['deployment'],
  dataClasses: JSON.parse(str(r['data_classes'])) as ConnectionRecord['dataClasses'],
  pricing: r['pricing'] === null ? null : (JSON.parse(str(r['pricing'])) as ConnectionRecord['pricing']),
  description: str(r['description']),
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
  updatedAt: num(r['updated_at']),
});

export const toEndpoint = (r: Row): EndpointRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  slug: str(r['slug']),
  flowId: str(r['flow_id']),
  deploymentId: str(r['deployment_id']),
  status: str(r['status']) as EndpointRecord['status'],
  mode: str(r['mode']) as EndpointRecord['mode'],
  timeoutMs: num(r['timeout_ms']),
  maxBodyBytes: num(r['max_body_bytes']),
  rateLimitPerMinute: num(r['rate_limit_per_minute']),
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
  updatedAt: num(r['updated_at']),
});

export const toDeployment = (r: Row): DeploymentRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  endpointId: str(r['endpoint_id']),
  flowId: str(r['flow_id']),
  targets: JSON.parse(str(r['targets'])) as DeploymentRecord['targets'],
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
});

export const toApiKey = (r: Row): ApiKeyRecord => {
  const endpoints = str(r['endpoints']);
  return {
    id: str(r['id']),
    workspaceId: str(r['workspace_id']),
    name: str(r['name']),
    prefix: str(r['prefix']),
    hash: str(r['hash']),
    endpoints: endpoints === '*' ? '*' : (JSON.parse(endpoints) as string[]),
    createdAt: num(r['created_at']),
    createdBy: strOrNull(r['created_by']),
    lastUsedAt: numOrNull(r['last_used_at']),
    revokedAt: numOrNull(r['revoked_at']),
  };
};

export const toAudit = (r: Row): AuditRow => ({
  seq: num(r['seq']),
  workspaceId: str(r['workspace_id']),
  at: num(r['at']),
  actor: str(r['actor']),
  action: str(r['action']),
  target: str(r['target']),
  details: str(r['details']),
  prevHash: str(r['prev_hash']),
  hash: str(r['hash']),
  mac: strOrNull(r['mac']),
});

/** A model artefact without its content (`getArtefact` adds `content`). */
export const toArtefactSummary = (r: Row): ArtefactSummary => ({
  workspaceId: str(r['workspace_id']),
  sha256: str(r['sha256']),
  kind: str(r['kind']),
  nodeType: str(r['node_type']),
  bytes: num(r['bytes']),
  flowId: strOrNull(r['flow_id']),
  flowVersion: numOrNull(r['flow_version']),
  createdAt: num(r['created_at']),
  createdBy: strOrNull(r['created_by']),
});

export const toLearning = (r: Row): LearningRecord => ({
  workspaceId: str(r['workspace_id']),
  endpointId: str(r['endpoint_id']),
  config: str(r['config']),
  baseline: strOrNull(r['baseline']),
  lastRetrainAt: numOrNull(r['last_retrain_at']),
  lastRetrainLabels: num(r['last_retrain_labels']),
  leaseOwner: strOrNull(r['lease_owner']),
  leaseUntil: numOrNull(r['lease_until']),
  updatedAt: num(r['updated_at']),
  updatedBy: str(r['updated_by']),
});

export const toRetrainJob = (r: Row): RetrainJobRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  endpointId: str(r['endpoint_id']),
  status: str(r['status']) as RetrainJobRecord['status'],
  trigger: str(r['trigger']) as RetrainJobRecord['trigger'],
  detail: str(r['detail']),
  createdBy: str(r['created_by']),
  createdAt: num(r['created_at']),
  finishedAt: numOrNull(r['finished_at']),
});

export const toDriftAlert = (r: Row): DriftAlertRecord => ({
  id: str(r['id']),
  workspaceId: str(r['workspace_id']),
  endpointId: str(r['endpoint_id']),
  feature: str(r['feature']),
  psi: num(r['psi']),
  level: str(r['level']) as DriftAlertRecord['level'],
  calls: num(r['calls']),
  createdAt: num(r['created_at']),
});
