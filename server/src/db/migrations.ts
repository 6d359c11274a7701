/**
 * Versioned schema migrations of the SQLite database. Each entry runs once, in order, inside a transaction,
 * and is recorded in `schema_migrations`; a released migration is never edited, a change adds a new one.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled_at INTEGER
);

CREATE TABLE memberships (
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'analyst', 'approver', 'viewer')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE flows (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  latest_version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL,
  updated_by TEXT,
  deleted_at INTEGER
);
CREATE INDEX flows_workspace ON flows(workspace_id, updated_at);

CREATE TABLE flow_versions (
  flow_id TEXT NOT NULL REFERENCES flows(id),
  number INTEGER NOT NULL,
  document TEXT NOT NULL,
  hash TEXT NOT NULL,
  author_id TEXT,
  author_name TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (flow_id, number)
) WITHOUT ROWID;

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  flow_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  trigger TEXT NOT NULL,
  endpoint_id TEXT,
  deployment_id TEXT,
  actor TEXT NOT NULL,
  rerun_of TEXT,
  input_sealed BLOB,
  outputs_sealed BLOB,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  ms REAL
);
CREATE INDEX runs_workspace ON runs(workspace_id, started_at);
CREATE INDEX runs_flow ON runs(flow_id, started_at);
CREATE INDEX runs_endpoint ON runs(endpoint_id, started_at) WHERE endpoint_id IS NOT NULL;
CREATE INDEX runs_running ON runs(status) WHERE status = 'running';

-- A run's events in order, stored in chunks: the events one group commit wrote for the run, as a JSON array
-- (seq .. last_seq). A fast run is one row, a long one many.
CREATE TABLE run_events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE credentials (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_used_at INTEGER,
  PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;

CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  slug TEXT NOT NULL UNIQUE,
  flow_id TEXT NOT NULL,
  deployment_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  mode TEXT NOT NULL CHECK (mode IN ('sync', 'async')),
  timeout_ms INTEGER NOT NULL,
  max_body_bytes INTEGER NOT NULL,
  rate_limit_per_minute INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX endpoints_workspace ON endpoints(workspace_id);

CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  targets TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT
);
CREATE INDEX deployments_endpoint ON deployments(endpoint_id, created_at);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  endpoints TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  last_used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX api_keys_workspace ON api_keys(workspace_id);

CREATE TABLE idempotency (
  key_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  run_id TEXT,
  status INTEGER,
  body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (key_id, endpoint_id, idem_key)
) WITHOUT ROWID;

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_workspace ON audit_log(workspace_id, seq);
-- Append-only: the server never changes or removes an entry. Someone with the file can drop these triggers;
-- the hash chain is what makes such an edit visible (GET /api/audit/verify).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- The last entry of each workspace's chain, so removing entries from the end is noticed too.
CREATE TABLE audit_heads (
  workspace_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  count INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: 'human review tasks, resumable waiting runs, feedback',
    sql: `
-- A waiting run: the real (unmasked) outcomes recorded up to its last suspension, sealed, to resume from; the
-- token of the resume that took it (set with status = 'running' in the transaction that claims it); the business
-- key its flow declares, hashed, for feedback by business key.
ALTER TABLE runs ADD COLUMN checkpoint_sealed BLOB;
ALTER TABLE runs ADD COLUMN resume_claim TEXT;
ALTER TABLE runs ADD COLUMN business_key TEXT;
CREATE INDEX runs_waiting ON runs(status) WHERE status = 'waiting';
CREATE INDEX runs_business_key ON runs(endpoint_id, business_key, started_at) WHERE business_key IS NOT NULL;

-- One task per waiting human.review node of a run. \`task\` is what the node asked, masked as the run's records
-- are; \`approvals\` holds a first approval waiting for its second (four-eyes); \`resumed_by\` is the claim token of
-- the resume that took the decision (a decided task with none is still to be resumed).
CREATE TABLE review_tasks (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  node_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  flow_version INTEGER NOT NULL,
  endpoint_id TEXT,
  deployment_id TEXT,
  queue TEXT NOT NULL,
  roles TEXT NOT NULL,
  title TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'decided', 'cancelled')),
  due_at INTEGER,
  escalated_at INTEGER,
  starter TEXT NOT NULL,
  task TEXT NOT NULL,
  approvals TEXT NOT NULL DEFAULT '[]',
  decision TEXT,
  decided_at INTEGER,
  decided_by TEXT,
  resumed_by TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, node_id)
);
CREATE INDEX review_tasks_inbox ON review_tasks(workspace_id, status, queue, created_at);
CREATE INDEX review_tasks_due ON review_tasks(due_at) WHERE status = 'open' AND escalated_at IS NULL;
CREATE INDEX review_tasks_unresumed ON review_tasks(run_id) WHERE status = 'decided' AND resumed_by IS NULL;
CREATE INDEX review_tasks_claim ON review_tasks(resumed_by) WHERE resumed_by IS NOT NULL;

-- Ground truth for past decisions: outcomes reported by callers (source 'outcome') and reviewers' decisions
-- (source 'review'), with the flow version and deployment that decided, for accuracy per version. One row per
-- (run, source, dedupe key): a repeated report is the same row.
CREATE TABLE feedback (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  flow_version INTEGER NOT NULL,
  endpoint_id TEXT,
  deployment_id TEXT,
  source TEXT NOT NULL CHECK (source IN ('outcome', 'review')),
  label TEXT NOT NULL,
  prediction TEXT,
  dedupe_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  actor TEXT NOT NULL,
  decided_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, source, dedupe_key)
);
CREATE INDEX feedback_endpoint ON feedback(endpoint_id, flow_version, decided_at) WHERE endpoint_id IS NOT NULL;
CREATE INDEX feedback_flow ON feedback(workspace_id, flow_id, flow_version, decided_at);
`,
  },
  {
    version: 3,
    name: 'connections',
    sql: `
-- A workspace's outbound providers: each binds a base URL to at most one credential (by name), with the models
-- it may be called with, where it runs and the data classes it may receive (JSON lists).
CREATE TABLE connections (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  base_url TEXT NOT NULL,
  credential TEXT,
  models TEXT NOT NULL DEFAULT '[]',
  deployment TEXT NOT NULL,
  data_classes TEXT NOT NULL,
  pricing TEXT,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;
CREATE INDEX connections_credential ON connections(workspace_id, credential) WHERE credential IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'instance owners, invitations, sessions without a workspace, authenticated audit chain',
    // The audit part needs the audit key: the repository registers finflow_audit_mac and finflow_audit_head_mac
    // (HMAC-SHA-256 under the key derived from the master key) on its connection before migrating.
    sql: `
-- Instance owners manage accounts across workspaces. The first admin holds the role: on an existing database,
-- the earliest account that is an admin somewhere.
ALTER TABLE users ADD COLUMN instance_owner INTEGER NOT NULL DEFAULT 0 CHECK (instance_owner IN (0, 1));
UPDATE users SET instance_owner = 1 WHERE id = (
  SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id AND m.role = 'admin'
  ORDER BY u.created_at, u.id LIMIT 1
);

-- Adding an existing account to a workspace is an invitation, addressed to an e-mail, that the account accepts
-- or declines; answered, revoked or expired invitations are deleted (the audit log keeps the record).
CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email TEXT NOT NULL COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'analyst', 'approver', 'viewer')),
  invited_by TEXT,
  invited_by_name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX invitations_workspace_email ON invitations(workspace_id, email);
CREATE INDEX invitations_email ON invitations(email);

-- A session may have no workspace (an account that belongs to none yet answers its invitations).
CREATE TABLE sessions_v2 (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  workspace_id TEXT REFERENCES workspaces(id) ON DELETE SET NULL,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sessions_v2 SELECT token_hash, user_id, workspace_id, csrf_token, created_at, last_seen_at, expires_at
  FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);

-- The audit chain is authenticated: each entry's hash gets a MAC under a key derived from the master key (never
-- in the database), and so does each chain's head. Existing entries keep their SHA-256 hashes and are given
-- their MAC here, at the upgrade: from now on a rewrite of any of them is detected, and a rewrite made before
-- the upgrade still shows if it broke the SHA-256 chain.
ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_heads ADD COLUMN mac TEXT;
DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET mac = finflow_audit_mac(hash);
UPDATE audit_heads SET mac = finflow_audit_head_mac(workspace_id, seq, hash, count);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`,
  },
  {
    version: 5,
    name: 'rollouts',
    sql: `
-- A phased rollout of an endpoint from its champion version to a challenger: the stage, the share of subjects
-- sent to the challenger, the plan (gates, steps, cohort; JSON), and a revision that serialises transitions
-- (an update names the revision it read).
CREATE TABLE rollouts (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  champion_version INTEGER NOT NULL,
  challenger_version INTEGER NOT NULL,
  stage TEXT NOT NULL,
  status TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  share REAL NOT NULL,
  plan TEXT NOT NULL,
  reason TEXT,
  revision INTEGER NOT NULL,
  stage_entered_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL
);
CREATE INDEX rollouts_endpoint ON rollouts(endpoint_id, created_at);
CREATE INDEX rollouts_workspace ON rollouts(workspace_id, status);

-- Every transition of a rollout (who, when, why), in order; the audit chain holds the same facts.
CREATE TABLE rollout_transitions (
  rollout_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_stage TEXT,
  to_stage TEXT NOT NULL,
  from_share REAL,
  to_share REAL NOT NULL,
  reason TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (rollout_id, seq)
) WITHOUT ROWID;

-- What the gates read: one row per call under a rollout (arm champion or challenger) and per shadow run (arm
-- shadow, with whether it agreed with the champion's answer). decision is the JSON of the prediction.
CREATE TABLE rollout_observations (
  rollout_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  arm TEXT NOT NULL,
  version INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  ms REAL NOT NULL,
  decision TEXT,
  agree INTEGER
);
CREATE INDEX rollout_observations_at ON rollout_observations(rollout_id, at);
`,
  },
  {
    version: 6,
    name: 'evaluations',
    sql: `
-- Evaluation reports of flow versions on a labelled dataset (issue 13). The dataset itself is not kept (it may hold
-- personal data): its name, row count and SHA-256 are, so a report says what it was measured on. The report is the
-- JSON of @finflow/runtime/evaluation's EvaluationReport; progress is updated while it runs.
CREATE TABLE evaluations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  versions TEXT NOT NULL,
  dataset_name TEXT NOT NULL,
  dataset_rows INTEGER NOT NULL,
  dataset_sha256 TEXT NOT NULL,
  spec TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
  progress_done INTEGER NOT NULL DEFAULT 0,
  progress_total INTEGER NOT NULL,
  report TEXT,
  error TEXT,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX evaluations_flow ON evaluations(workspace_id, flow_id, created_at);
CREATE INDEX evaluations_running ON evaluations(status) WHERE status = 'running';
`,
  },
  {
    version: 7,
    name: 'federated datasets',
    sql: `
-- A data holder's training table for federated training: its rows sealed with the master key (they never leave
-- this server), the API keys (by id) a coordinator may train with, and the fewest participants a round may have.
CREATE TABLE federated_datasets (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  columns TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  sealed_rows BLOB NOT NULL,
  api_keys TEXT NOT NULL,
  min_participants INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;
`,
  },
  {
    version: 8,
    name: 'queue mode: start specs and run leases',
    sql: `
-- Queue mode (FINFLOW_MODE=queue): a launcher stores a run as 'queued' with how it was started (start_spec, JSON:
-- the handler that finishes it and its parameters), so any worker can execute it and any server recover it; the
-- worker executing a run holds a lease (owner, expiry) it renews while it runs. A run whose lease expired belongs
-- to a worker that is gone and may be taken over; a live lease is never touched.
ALTER TABLE runs ADD COLUMN start_spec TEXT;
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
CREATE INDEX runs_queued ON runs(status, started_at) WHERE status = 'queued';
`,
  },
  {
    version: 9,
    name: 'model artefacts',
    sql: `
-- Trained model artefacts (scorecards, fraud models, text classifiers) as immutable, content-addressed objects per
-- workspace: sha256 is the SHA-256 of the model's canonical JSON, which is stored as that exact text. Flow versions
-- reference them by hash instead of holding the model inline, so a version names its models exactly and a model
-- shared by many versions is stored once. flow_id/flow_version say where it was first stored.
CREATE TABLE model_artefacts (
  workspace_id TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  kind TEXT NOT NULL,
  node_type TEXT NOT NULL,
  content TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  flow_id TEXT,
  flow_version INTEGER,
  created_at INTEGER NOT NULL,
  created_by TEXT,
  PRIMARY KEY (workspace_id, sha256)
) WITHOUT ROWID;
CREATE INDEX model_artefacts_created ON model_artefacts(workspace_id, created_at);
`,
  },
  {
    version: 10,
    name: 'continuous learning: retraining settings, retrain jobs, drift alerts',
    sql: `
-- Continuous learning of a published endpoint (issue 13). learning_settings: per endpoint, what to retrain and
-- when (config, JSON: the trainable node, its training settings, the label mapping, the holdout share, the
-- schedule, drift thresholds), the training baseline of the model it serves (baseline, JSON: the profile of each
-- feature and of the score), when it last retrained and from how many labels, and the lease a server holds while
-- it retrains (so several servers never retrain one endpoint twice, and a server that died leaves a lease that
-- expires). retrain_jobs: each retraining (detail, JSON: versions, rows, excluded columns, evaluation, proposal).
-- drift_alerts: a feature (or the score) whose PSI crossed a threshold over the endpoint's recent calls.
CREATE TABLE learning_settings (
  endpoint_id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  config TEXT NOT NULL,
  baseline TEXT,
  last_retrain_at INTEGER,
  last_retrain_labels INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE retrain_jobs (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
  detail TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX retrain_jobs_endpoint ON retrain_jobs(workspace_id, endpoint_id, created_at);
CREATE TABLE drift_alerts (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  feature TEXT NOT NULL,
  psi REAL NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('watch', 'alert')),
  calls INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX drift_alerts_endpoint ON drift_alerts(workspace_id, endpoint_id, created_at);
`,
  },
  {
    version: 11,
    name: 'rollouts: CPU per call',
    sql: `
-- The CPU time (ms) of each observed rollout call, for the cpuMsPerCall gate: the process's CPU apportioned among
-- the calls in flight while it ran. Null for observations written before this migration and for shadow runs.
ALTER TABLE rollout_observations ADD COLUMN cpu_ms REAL;
`,
  },
  {
    version: 12,
    name: 'runs: fewer pages per commit',
    sql: `
-- What one endpoint call's commit writes (issue 18, round 4): every b-tree a new run touches costs a 4 KiB WAL
-- frame per commit. runs_flow is dropped: no query searches it (a run list filtered by flow is one prepared
-- statement whose flow test, "? IS NULL OR flow_id = ?", no index serves; it walks runs_workspace in time
-- order, as it did before). run_events becomes a rowid table: WITHOUT ROWID keeps a row inside its key's b-tree,
-- where at most about 1 KB of a row stays on the page, so each run's events (1.4 KB for a 3-node endpoint run)
-- went to an overflow page of its own, three-quarters empty. Stored inline, about three rows share a page and
-- the key index holds only the run id and seq. A one-run commit went from 13.9 WAL frames to 12.3, the file
-- from 5.8 KB a run to 3.2 (bench/README.md, "Round 4: the commit path").
DROP INDEX runs_flow;
CREATE TABLE run_events_v12 (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
INSERT INTO run_events_v12 (run_id, seq, last_seq, data)
  SELECT run_id, seq, last_seq, data FROM run_events ORDER BY run_id, seq;
DROP TABLE run_events;
ALTER TABLE run_events_v12 RENAME TO run_events;
`,
  },
  {
    version: 13,
    name: 'rollout observations read back by transaction horizon (Postgres)',
    sql: `
-- Postgres's migration 13 gives rollout_observations the inserting transaction, so that a server reads back
-- another's gate samples only below the horizon of transactions that have all ended. SQLite has one writer: its
-- rowid order is the commit order, and its schema needs no change for the same guarantee.
SELECT 1;
`,
  },
  {
    version: 14,
    name: 'runs: a one-batch run carries its events',
    sql: `
-- What one endpoint call's commit writes (issue 18, round 5): a run that started and finished within one group
-- commit (a pure-node endpoint run) has all its events in one chunk, written once; that chunk now goes into the
-- run's own row (events: the chunk's text, seq 0 .. events_last_seq) instead of a run_events row, so the commit
-- touches neither run_events nor its key index. Runs whose events arrive in several commits (long runs, review
-- holds, live-view runs) keep their run_events rows; a run's events are its row's chunk, then its run_events
-- rows, so rows written before this migration read as they did. events_last_seq comes first: a read that only
-- asks whether a run has events finds it in the row's first page, before the text.
ALTER TABLE runs ADD COLUMN events_last_seq INTEGER;
ALTER TABLE runs ADD COLUMN events TEXT;
`,
  },
];
