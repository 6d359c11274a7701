/**
 * Versioned schema migrations of the Postgres database: the same tables, columns and versions as the SQLite
 * migrations (db/migrations.ts), in Postgres's types. A version here means the same schema as the SQLite version
 * with that number, so a FinFlow release knows one schema version whichever database it runs on. Each entry runs
 * once, in order, in a transaction, under an advisory lock (servers starting together migrate once), recorded in
 * `schema_migrations`; a released migration is never edited, a change adds a new one.
 *
 * Differences from SQLite, and why: times are BIGINT (milliseconds since 1970 overflow INTEGER); blobs are BYTEA;
 * e-mail addresses are unique and looked up case-insensitively through an index on lower(email) (SQLite's
 * COLLATE NOCASE); deployments get an identity column to order deployments created in the same millisecond
 * (SQLite's rowid); the audit log is made append-only by a trigger function that also refuses TRUNCATE.
 * JSON columns stay TEXT: the audit chain hashes, and review decisions compare, the exact stored text.
 */
import type { Migration } from './migrations.js';

export interface PostgresMigration extends Migration {
  /**
   * Gives existing audit entries and heads their MACs after the SQL ran (the audit key is derived from the master
   * key, which Postgres never sees, so the repository computes them; SQLite registers SQL functions instead).
   */
  authenticateAudit?: boolean;
}

export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  disabled_at BIGINT
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE memberships (
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'analyst', 'approver', 'viewer')),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE flows (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  latest_version INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT,
  updated_at BIGINT NOT NULL,
  updated_by TEXT,
  deleted_at BIGINT
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
  created_at BIGINT NOT NULL,
  PRIMARY KEY (flow_id, number)
);

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
  input_sealed BYTEA,
  outputs_sealed BYTEA,
  started_at BIGINT NOT NULL,
  finished_at BIGINT,
  ms DOUBLE PRECISION
);
CREATE INDEX runs_workspace ON runs(workspace_id, started_at);
CREATE INDEX runs_flow ON runs(flow_id, started_at);
CREATE INDEX runs_endpoint ON runs(endpoint_id, started_at) WHERE endpoint_id IS NOT NULL;
CREATE INDEX runs_running ON runs(status) WHERE status = 'running';

-- A run's events in order, in chunks: the events one group commit wrote for the run, as a JSON array
-- (seq .. last_seq).
CREATE TABLE run_events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE credentials (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  sealed BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_used_at BIGINT,
  PRIMARY KEY (workspace_id, name)
);

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
  created_at BIGINT NOT NULL,
  created_by TEXT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX endpoints_workspace ON endpoints(workspace_id);
CREATE INDEX endpoints_flow ON endpoints(flow_id);

CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  ord BIGINT GENERATED ALWAYS AS IDENTITY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  targets TEXT NOT NULL,
  created_at BIGINT NOT NULL,
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
  created_at BIGINT NOT NULL,
  created_by TEXT,
  last_used_at BIGINT,
  revoked_at BIGINT
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
  created_at BIGINT NOT NULL,
  PRIMARY KEY (key_id, endpoint_id, idem_key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);

CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_workspace ON audit_log(workspace_id, seq);
-- Append-only: the server never changes or removes an entry. A superuser can drop the triggers; the hash chain
-- is what makes such an edit visible (GET /api/audit/verify).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The last entry of each workspace's chain, so removing entries from the end is noticed too.
CREATE TABLE audit_heads (
  workspace_id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL,
  count BIGINT NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'human review tasks, resumable waiting runs, feedback',
    sql: `
ALTER TABLE runs ADD COLUMN checkpoint_sealed BYTEA;
ALTER TABLE runs ADD COLUMN resume_claim TEXT;
ALTER TABLE runs ADD COLUMN business_key TEXT;
CREATE INDEX runs_waiting ON runs(status) WHERE status = 'waiting';
CREATE INDEX runs_business_key ON runs(endpoint_id, business_key, started_at) WHERE business_key IS NOT NULL;

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
  due_at BIGINT,
  escalated_at BIGINT,
  starter TEXT NOT NULL,
  task TEXT NOT NULL,
  approvals TEXT NOT NULL DEFAULT '[]',
  decision TEXT,
  decided_at BIGINT,
  decided_by TEXT,
  resumed_by TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (run_id, node_id)
);
CREATE INDEX review_tasks_inbox ON review_tasks(workspace_id, status, queue, created_at);
CREATE INDEX review_tasks_due ON review_tasks(due_at) WHERE status = 'open' AND escalated_at IS NULL;
CREATE INDEX review_tasks_unresumed ON review_tasks(run_id) WHERE status = 'decided' AND resumed_by IS NULL;
CREATE INDEX review_tasks_claim ON review_tasks(resumed_by) WHERE resumed_by IS NOT NULL;

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
  decided_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
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
  created_at BIGINT NOT NULL,
  created_by TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, name)
);
CREATE INDEX connections_credential ON connections(workspace_id, credential) WHERE credential IS NOT NULL;
`,
  },
  {
    version: 4,
    name: 'instance owners, invitations, sessions without a workspace, authenticated audit chain',
    authenticateAudit: true,
    sql: `
-- Instance owners manage accounts across workspaces; on an existing database, the earliest account that is an
-- admin somewhere.
ALTER TABLE users ADD COLUMN instance_owner BOOLEAN NOT NULL DEFAULT false;
UPDATE users SET instance_owner = true WHERE id = (
  SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id AND m.role = 'admin'
  ORDER BY u.created_at, u.id LIMIT 1
);

CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'analyst', 'approver', 'viewer')),
  invited_by TEXT,
  invited_by_name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
-- E-mail compared ignoring case, as SQLite's COLLATE NOCASE column does.
CREATE UNIQUE INDEX invitations_workspace_email ON invitations(workspace_id, lower(email));
CREATE INDEX invitations_email ON invitations(lower(email));

-- A session may have no workspace (an account that belongs to none yet answers its invitations).
ALTER TABLE sessions ALTER COLUMN workspace_id DROP NOT NULL;
ALTER TABLE sessions DROP CONSTRAINT sessions_workspace_id_fkey;
ALTER TABLE sessions ADD CONSTRAINT sessions_workspace_id_fkey
  FOREIGN KEY (workspace_id) REFERENCES workspaces(id) ON DELETE SET NULL;

-- The audit chain is authenticated: each entry's hash and each head get a MAC under a key derived from the
-- master key (never in the database). The repository gives existing rows theirs after this SQL, with the
-- append-only trigger switched off for that moment inside this transaction.
ALTER TABLE audit_log ADD COLUMN mac TEXT;
ALTER TABLE audit_heads ADD COLUMN mac TEXT;
`,
  },
  {
    version: 5,
    name: 'rollouts',
    sql: `
-- A phased rollout of an endpoint from its champion version to a challenger (as SQLite's migration 5): the stage,
-- the share of subjects sent to the challenger, the plan (JSON), and a revision that serialises transitions.
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
  share DOUBLE PRECISION NOT NULL,
  plan TEXT NOT NULL,
  reason TEXT,
  revision INTEGER NOT NULL,
  stage_entered_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT,
  updated_at BIGINT NOT NULL,
  -- Orders rollouts created in the same millisecond (SQLite's rowid).
  ord BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX rollouts_endpoint ON rollouts(endpoint_id, created_at);
CREATE INDEX rollouts_workspace ON rollouts(workspace_id, status);

-- Every transition of a rollout (who, when, why), in order.
CREATE TABLE rollout_transitions (
  rollout_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_stage TEXT,
  to_stage TEXT NOT NULL,
  from_share DOUBLE PRECISION,
  to_share DOUBLE PRECISION NOT NULL,
  reason TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (rollout_id, seq)
);

-- What the gates read: one row per call under a rollout and per shadow run. ok and agree stay INTEGER (0/1) as
-- in SQLite, so a row reads the same from either database.
CREATE TABLE rollout_observations (
  rollout_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  arm TEXT NOT NULL,
  version INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  ms DOUBLE PRECISION NOT NULL,
  decision TEXT,
  agree INTEGER,
  ord BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX rollout_observations_at ON rollout_observations(rollout_id, at);
`,
  },
  {
    version: 6,
    name: 'evaluations',
    sql: `
-- Evaluation reports of flow versions on a labelled dataset (issue 13; as SQLite's migration 6). The dataset is
-- not kept, only its name, row count and SHA-256; the report is the JSON of the EvaluationReport.
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
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX evaluations_flow ON evaluations(workspace_id, flow_id, created_at);
CREATE INDEX evaluations_running ON evaluations(status) WHERE status = 'running';
`,
  },
  {
    version: 7,
    name: 'federated datasets',
    sql: `
-- A data holder's training table for federated training (as SQLite's migration 7): its rows sealed with the
-- master key, the API keys (by id) a coordinator may train with, and the fewest participants a round may have.
CREATE TABLE federated_datasets (
  workspace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  columns TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  sealed_rows BYTEA NOT NULL,
  api_keys TEXT NOT NULL,
  min_participants INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, name)
);
`,
  },
  {
    version: 8,
    name: 'queue mode: start specs and run leases',
    sql: `
-- Queue mode (as SQLite's migration 8): how a queued run was started (start_spec, JSON), and the lease (owner,
-- expiry) of the worker executing it. A run whose lease expired may be taken over; a live lease never is.
ALTER TABLE runs ADD COLUMN start_spec TEXT;
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at BIGINT;
CREATE INDEX runs_queued ON runs(status, started_at) WHERE status = 'queued';
`,
  },
  {
    version: 9,
    name: 'model artefacts',
    sql: `
-- Trained model artefacts (as SQLite's migration 9): immutable, content-addressed objects per workspace (sha256 of
-- the model's canonical JSON, stored as that exact text) that flow versions reference by hash.
CREATE TABLE model_artefacts (
  workspace_id TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  kind TEXT NOT NULL,
  node_type TEXT NOT NULL,
  content TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  flow_id TEXT,
  flow_version INTEGER,
  created_at BIGINT NOT NULL,
  created_by TEXT,
  PRIMARY KEY (workspace_id, sha256)
);
CREATE INDEX model_artefacts_created ON model_artefacts(workspace_id, created_at);
`,
  },
  {
    version: 10,
    name: 'continuous learning: retraining settings, retrain jobs, drift alerts',
    sql: `
-- Continuous learning of a published endpoint (issue 13; as SQLite's migration 10). learning_settings: per endpoint, what to retrain and
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
  last_retrain_at BIGINT,
  last_retrain_labels INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE retrain_jobs (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
  detail TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX retrain_jobs_endpoint ON retrain_jobs(workspace_id, endpoint_id, created_at);
CREATE TABLE drift_alerts (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  feature TEXT NOT NULL,
  psi DOUBLE PRECISION NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('watch', 'alert')),
  calls INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX drift_alerts_endpoint ON drift_alerts(workspace_id, endpoint_id, created_at);
`,
  },
  {
    version: 11,
    name: 'rollouts: CPU per call',
    sql: `
-- As SQLite's migration 11: the CPU time (ms) of each observed rollout call, for the cpuMsPerCall gate.
ALTER TABLE rollout_observations ADD COLUMN cpu_ms DOUBLE PRECISION;
`,
  },
  {
    version: 12,
    name: 'runs: fewer pages per commit',
    sql: `
-- As SQLite's migration 12: runs_flow goes (one index fewer to update per run inserted); a run list filtered by
-- flow walks runs_workspace in time order, as SQLite's does. run_events stays: a Postgres heap row keeps its
-- text in line (or in TOAST past 2 KB), without the overflow page per row that SQLite's WITHOUT ROWID table had.
DROP INDEX IF EXISTS runs_flow;
`,
  },
  {
    version: 13,
    name: 'rollout observations read back by transaction horizon',
    sql: `
-- How a server reads back the gate samples other servers stored (RolloutStorage.observationsAfter). An identity
-- column is handed out at insert, not at commit: a row whose transaction committed after a higher-numbered row
-- had been read was never seen by the reading server. Each row now records its transaction, and a read takes only
-- rows of transactions below the horizon of the reader's snapshot (every transaction below it has ended, so
-- nothing can still appear there), from the horizon of the previous read up to this one.
ALTER TABLE rollout_observations ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX rollout_observations_tx ON rollout_observations(rollout_id, tx);
`,
  },
  {
    version: 14,
    name: 'runs: a one-batch run carries its events',
    sql: `
-- As SQLite's migration 14: a run that started and finished within one group commit keeps its events (one chunk,
-- seq 0 .. events_last_seq) in its own row, so its commit writes no run_events row and no index entry for one
-- (a heap tuple and a primary-key entry fewer, and one statement fewer per commit). Runs whose events arrive in
-- several commits keep their run_events rows; a run's events are its row's chunk, then those rows.
ALTER TABLE runs ADD COLUMN events_last_seq INTEGER;
ALTER TABLE runs ADD COLUMN events TEXT;

-- The audit chain's turn and where it stands, in the statement that writes a group's runs (one round trip where
-- there were two): takes the appenders' lock, then reads the heads of the given workspaces and the last seq. A
-- VOLATILE function's query takes its own snapshot when it starts, after the lock was granted, so it sees every
-- append committed before (the calling statement's snapshot, taken before it waited, would not).
CREATE FUNCTION audit_lock_heads(lock_key BIGINT, workspaces TEXT[])
  RETURNS TABLE (workspace_id TEXT, seq BIGINT, hash TEXT, count BIGINT)
  LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(lock_key);
  RETURN QUERY
    SELECT h.workspace_id, h.seq, h.hash, h.count FROM audit_heads h WHERE h.workspace_id = ANY(workspaces)
    UNION ALL SELECT NULL::text, coalesce(max(l.seq), 0)::bigint, NULL::text, NULL::bigint FROM audit_log l;
END;
$$;
`,
  },
];
