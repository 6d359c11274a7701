/**
 * The shapes the server sends and accepts (server/API.md). Flow documents, ports, catalog entries, problems and
 * run events come from the runtime's pure modules (no executor code reaches the bundle); the rest are the
 * server's own shapes.
 */
import type { FlowDocument, FlowEdge, FlowNode, RetryPolicy } from '@finflow/runtime/document';
import type { NamedPort, PortType } from '@finflow/runtime/ports';
import type { CatalogEntry as RuntimeCatalogEntry } from '@finflow/runtime/catalog';
import type { NodeCategory, NodeMeta } from '@finflow/runtime/node';
import type { Problem, ProblemCode } from '@finflow/runtime/problems';
import type {
  NodeRunState,
  NodeStatus,
  RunEvent,
  RunState,
  RunStatus,
  SkipReason,
} from '@finflow/runtime/events';

export type { FlowDocument, FlowEdge, FlowNode, RetryPolicy, NamedPort, PortType };

export type Role = 'admin' | 'developer' | 'analyst' | 'approver' | 'viewer';
export interface User {
  id: string;
  email: string;
  name: string;
  /** The role in the session's workspace; null when the session is in none. */
  role: Role | null;
  /** Manages accounts across workspaces (the first admin is one). */
  instanceOwner?: boolean;
}
export interface Workspace {
  id: string;
  name: string;
}
export interface Session {
  user: User;
  /** Null for an account that belongs to no workspace yet: it answers its invitations. */
  workspace: Workspace | null;
  csrfToken: string;
  /** Pending invitations to workspaces. */
  invitations?: number;
}
/** An invitation to join a workspace, as the invited account sees it. */
export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invitedBy: { id: string | null; name: string };
  createdAt: number;
  expiresAt: number;
  workspace: Workspace;
}

export type { NodeCategory, NodeMeta };
/** Palette order: the finance categories first, plumbing last. */
export const nodeCategories: readonly NodeCategory[] = [
  'io',
  'model',
  'risk',
  'compliance',
  'multimodal',
  'human',
  'logic',
  'data',
  'custom',
];

/** A JSON Schema as the catalog serves it (draft 2020-12 from zod, with `title`, `description`, `widget`). */
export type JsonSchema = Record<string, unknown>;

/** Where a node type comes from: the built-in package or a plugin package, with its version. */
export interface NodeOrigin {
  package: string;
  version: string;
  plugin?: string;
  source?: 'builtin' | 'env' | 'package' | 'folder' | 'dev';
}
export interface CatalogEntry extends RuntimeCatalogEntry {
  origin?: NodeOrigin;
}
export interface Catalog {
  nodes: CatalogEntry[];
  plugins?: { id: string; package: string; version: string; nodes: string[] }[];
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

export type { Problem, ProblemCode };
export type { NodeRunState, NodeStatus, RunEvent, RunState, RunStatus, SkipReason };
export type { SerializedError } from '@finflow/runtime/events';

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

export type DataClass = 'public' | 'internal' | 'personal' | 'confidential';
export const dataClasses: readonly DataClass[] = ['public', 'internal', 'personal', 'confidential'];

/** A workspace connection: where model, embeddings and transcription calls go (see server/API.md). */
export interface Connection {
  name: string;
  kind: 'openai' | 'ollama';
  baseUrl: string;
  credential: string | null;
  models: string[];
  deployment: 'private' | 'cloud';
  dataClasses: DataClass[];
  pricing: { currency: string; inputPer1kTokens: number; outputPer1kTokens: number } | null;
  description: string;
  createdAt?: number;
  updatedAt?: number;
}

export type ConnectionSpec = Omit<Connection, 'name' | 'createdAt' | 'updatedAt'>;

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

/** A review task as the server shows it (server/API.md, "Reviews"). `task` is what the waiting node asked. */
export interface ReviewTask {
  id: string;
  runId: string;
  nodeId: string;
  flowId: string;
  flowVersion: number;
  endpointId: string | null;
  queue: string;
  roles: string[];
  title: string;
  status: 'open' | 'decided' | 'cancelled';
  dueAt: number | null;
  overdue: boolean;
  escalatedAt: number | null;
  createdAt: number;
  task: {
    summary?: { path: string; value: unknown }[];
    case?: Record<string, unknown> | string;
    decision?: Record<string, unknown> | string | null;
    outcomes?: string[];
    approveOutcome?: string;
    rejectOutcome?: string;
    editableFields?: string[];
    approvalsRequired?: number;
    fourEyes?: { path: string; above: number; value: number | null } | null;
    sla?: { dueInMinutes: number; onExpiry: string; escalateTo?: string; defaultOutcome?: string } | null;
    [k: string]: unknown;
  };
  approvals: {
    reviewer: { id: string; name: string };
    action: string;
    outcome?: string;
    reason: string;
    at: number;
  }[];
  decision: {
    action: string;
    outcome?: string;
    reason: string;
    reviewers: { id: string; name: string }[];
    corrections?: Record<string, unknown>;
    decidedAt: number;
  } | null;
  decidedAt: number | null;
  decidedBy: string | null;
}

export interface ReviewQueue {
  queue: string;
  open: number;
  overdue: number;
}

export interface ReviewDecisionRequest {
  action: 'approve' | 'override' | 'reject';
  outcome?: string;
  reason: string;
  corrections?: Record<string, unknown>;
}
