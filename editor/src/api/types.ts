/**
 * The shapes the server sends and accepts (server/API.md). Flow documents, ports, catalog entries, problems and
 * run events come from the runtime's pure modules (no executor code reaches the bundle); the rest are the
 * server's own shapes.
 */
import type { FlowDocument, FlowEdge, FlowNode, RetryPolicy } from '@finflow/runtime/document';
import type { NamedPort, PortType } from '@finflow/runtime/ports';
import type { CatalogEntry } from '@finflow/runtime/catalog';
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
  'logic',
  'data',
  'custom',
];

/** A JSON Schema as the catalog serves it (draft 2020-12 from zod, with `title`, `description`, `widget`). */
export type JsonSchema = Record<string, unknown>;

export type { CatalogEntry };
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
