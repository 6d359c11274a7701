/**
 * The shapes the server sends and accepts (server/API.md). The editor may not import the runtime's executor
 * modules, so run events, run state, catalog entries and problems are mirrored here as plain types.
 */
import type { FlowDocument, FlowEdge, FlowNode, RetryPolicy } from '@finflow/runtime/document';
import type { DynamicPortsSpec, NamedPort, PortType } from '@finflow/runtime/ports';

export type { FlowDocument, FlowEdge, FlowNode, RetryPolicy, NamedPort, PortType };

export type Role = 'admin' | 'developer' | 'analyst' | 'approver' | 'viewer';
export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}
export interface Workspace {
  id: string;
  name: string;
}
export interface Session {
  user: User;
  workspace: Workspace;
  csrfToken: string;
}

export type NodeCategory =
  'io' | 'logic' | 'data' | 'model' | 'risk' | 'compliance' | 'multimodal' | 'custom';
export const nodeCategories: NodeCategory[] = [
  'io',
  'model',
  'risk',
  'compliance',
  'multimodal',
  'logic',
  'data',
  'custom',
];

export interface NodeMeta {
  title: string;
  category: NodeCategory;
  description: string;
  zh?: { title: string; description?: string };
  icon?: string;
  tags?: string[];
  badge?: string;
}

/** A JSON Schema as the catalog serves it (draft 2020-12 from zod, with `title`, `description`, `widget`). */
export type JsonSchema = Record<string, unknown>;

export interface CatalogEntry {
  type: string;
  version: number;
  meta: NodeMeta;
  configSchema: JsonSchema;
  defaultConfig: Record<string, unknown>;
  inputs: NamedPort[];
  outputs: NamedPort[];
  dynamicInputs?: DynamicPortsSpec;
  dynamicOutputs?: DynamicPortsSpec;
  timeoutMs: number;
  retry: RetryPolicy;
}
export interface Catalog {
  nodes: CatalogEntry[];
  portTypes: { name: PortType; color: string }[];
  coercions: { from: PortType; to: PortType; coercion: string }[];
}

export interface Localized {
  en: string;
  zh: string;
}
export interface TemplateFixture {
  name: string;
  input: unknown;
  expected?: unknown;
}
export interface Template {
  id: string;
  title: Localized;
  description: Localized;
  scenario: string;
  tags: string[];
  icon: string;
  regulations: string[];
  flow: FlowDocument;
  fixtures: TemplateFixture[];
}

export interface FlowSummary {
  id: string;
  name: string;
  description: string;
  tags?: string[];
  latestVersion: number;
  updatedAt: string | number;
  updatedBy?: { id: string; name: string } | null;
  published: boolean;
}
export interface VersionInfo {
  number: number;
  hash: string;
  author: { id: string; name: string } | string | null;
  message: string;
  createdAt: string | number;
}
export interface FlowDetail {
  flow: { id: string; name: string; description?: string; [k: string]: unknown };
  version: VersionInfo;
  document: FlowDocument;
}
export interface FlowDiff {
  nodes: {
    added: string[];
    removed: string[];
    changed: { id: string; fields: { path: string; before: unknown; after: unknown }[] }[];
  };
  edges: { added: string[]; removed: string[] };
}

export type ProblemCode =
  | 'INVALID_DOCUMENT'
  | 'DUPLICATE_ID'
  | 'UNKNOWN_NODE_TYPE'
  | 'DANGLING_EDGE'
  | 'UNKNOWN_PORT'
  | 'PORT_TYPE_MISMATCH'
  | 'MISSING_REQUIRED_INPUT'
  | 'MULTIPLE_EDGES_INTO_PORT'
  | 'CYCLE'
  | 'INVALID_CONFIG'
  | 'NO_INPUT_NODE'
  | 'MULTIPLE_INPUT_NODES'
  | 'NO_OUTPUT_NODE'
  | 'INVALID_EXPRESSION';
export interface Problem {
  code: ProblemCode | string;
  message: string;
  nodeId?: string;
  edgeId?: string;
  path?: (string | number)[];
}

export interface SerializedError {
  message: string;
  code: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type NodeStatus = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped';
export type SkipReason = 'branch-not-taken' | 'upstream-failed' | 'run-failed' | 'run-cancelled';

interface EventBase {
  runId: string;
  seq: number;
  at: number;
}
export type RunEvent =
  | (EventBase & {
      type: 'run.started';
      flowId: string;
      flowName: string;
      input: unknown;
      nodes: { id: string; type: string }[];
      meta?: Record<string, unknown>;
    })
  | (EventBase & { type: 'node.queued'; nodeId: string })
  | (EventBase & { type: 'node.started'; nodeId: string; inputs: Record<string, unknown> })
  | (EventBase & { type: 'node.streamed'; nodeId: string; chunk: unknown })
  | (EventBase & {
      type: 'node.logged';
      nodeId: string;
      level: 'debug' | 'info' | 'warn' | 'error';
      message: string;
      data?: Record<string, unknown>;
    })
  | (EventBase & {
      type: 'node.retrying';
      nodeId: string;
      attempt: number;
      error: SerializedError;
      delayMs: number;
    })
  | (EventBase & {
      type: 'node.succeeded';
      nodeId: string;
      outputs: Record<string, unknown>;
      attempts: number;
      ms: number;
    })
  | (EventBase & {
      type: 'node.failed';
      nodeId: string;
      error: SerializedError;
      attempts: number;
      ms: number;
      handled?: 'continue' | 'route';
      outputs?: Record<string, unknown>;
    })
  | (EventBase & { type: 'node.skipped'; nodeId: string; reason: SkipReason })
  | (EventBase & {
      type: 'run.finished';
      status: 'succeeded' | 'failed' | 'cancelled';
      outputs: Record<string, unknown>;
      error?: SerializedError & { nodeId?: string };
      ms: number;
    })
  | (EventBase & { type: 'run.interrupted'; reason: string });

export interface NodeRunState {
  id: string;
  type: string;
  status: NodeStatus;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  ms?: number;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  error?: SerializedError;
  handled?: 'continue' | 'route';
  skipReason?: SkipReason;
  streamed: string;
  logs: { at: number; level: string; message: string; data?: Record<string, unknown> }[];
}
export interface RunState {
  runId: string;
  flowId: string;
  flowName: string;
  status: RunStatus;
  input: unknown;
  meta?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  error?: SerializedError & { nodeId?: string };
  startedAt: number;
  finishedAt?: number;
  ms?: number;
  lastSeq: number;
  nodes: Record<string, NodeRunState>;
  order: string[];
}
export interface RunSummary {
  id: string;
  flowId: string;
  flowVersion: number;
  status: RunStatus;
  startedAt: string | number;
  finishedAt?: string | number | null;
  ms?: number | null;
  trigger: string;
}

export interface Credential {
  name: string;
  description?: string;
  createdAt?: string | number;
  updatedAt?: string | number;
  lastUsedAt?: string | number | null;
}

export interface Endpoint {
  id: string;
  slug: string;
  flowId: string;
  flowVersion: number;
  status: 'active' | 'disabled' | string;
  mode?: string;
  createdAt: string | number;
  calls?: { last24h: number; total: number };
  url?: string;
}
export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  endpoints: string[] | '*';
  createdAt: string | number;
  lastUsedAt?: string | number | null;
  revokedAt?: string | number | null;
}
