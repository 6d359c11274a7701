/**
 * The types the editor works with. The server's request and answer shapes are `@finflow/contract`'s (the same zod
 * schemas the server's routes use); flow documents, ports, catalog entries, problems and run events are the
 * runtime's pure modules'. The shapes of the routes that came with human review, connections, invitations and
 * plugins are still written out here (below the re-exports) until their routes answer through the contract.
 */
import type { Catalog as ContractCatalog } from '@finflow/contract';
import type { CatalogEntry as RuntimeCatalogEntry } from '@finflow/runtime/catalog';
import type { NodeCategory } from '@finflow/runtime/node';
import type { Role, Workspace } from '@finflow/contract';

export type {
  ApiKey,
  ApiKeyCreated,
  Credential,
  Endpoint,
  Flow,
  FlowDetail,
  FlowDiff,
  FlowSummary,
  Localized,
  Problem,
  Role,
  RunDetail,
  RunSummary,
  Session,
  Template,
  User,
  Version as VersionInfo,
  Workspace,
} from '@finflow/contract';
export type { FlowDocument, FlowEdge, FlowNode, RetryPolicy } from '@finflow/runtime/document';
export type { NamedPort, PortType } from '@finflow/runtime/ports';
export type { NodeCategory, NodeMeta } from '@finflow/runtime/node';
export type { ProblemCode } from '@finflow/runtime/problems';
export type {
  NodeRunState,
  NodeStatus,
  RunEvent,
  RunState,
  RunStatus,
  SerializedError,
  SkipReason,
} from '@finflow/runtime/events';

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

/** The catalog with each entry's origin and the loaded plugins. */
export interface Catalog extends Omit<ContractCatalog, 'nodes'> {
  nodes: CatalogEntry[];
  plugins?: { id: string; package: string; version: string; nodes: string[] }[];
}

export type DataClass = 'public' | 'internal' | 'personal' | 'confidential';
export const dataClasses: readonly DataClass[] = ['public', 'internal', 'personal', 'confidential'];

/**
 * A workspace connection: where model, embeddings and transcription calls go, or another FinFlow server holding
 * data for federated training (see server/API.md).
 */
export interface Connection {
  name: string;
  kind: 'openai' | 'ollama' | 'finflow';
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
