/**
 * The types the editor works with. The server's request and answer shapes are `@finflow/contract`'s (the same zod
 * schemas the server's routes use); flow documents, ports, catalog entries, problems and run events are the
 * runtime's pure modules'. Nothing here restates a shape: this module only gathers the names, plus the palette
 * order, which is the editor's own.
 */
import type { NodeCategory } from '@finflow/runtime/node';

export type {
  ApiKey,
  ApiKeyCreated,
  Catalog,
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
export type { CatalogEntry } from '@finflow/runtime/catalog';
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
  'logic',
  'data',
  'custom',
];

/** A JSON Schema as the catalog serves it (draft 2020-12 from zod, with `title`, `description`, `widget`). */
export type JsonSchema = Record<string, unknown>;
