/**
 * The types the editor works with, named in one place. Every request and answer shape of the server is
 * `@finflow/contract`'s (the same zod schemas the server's routes parse and answer with), so none is written out
 * here; flow documents, ports, catalog entries, problems and run events are the runtime's pure modules'.
 */
import type { NodeCategory } from '@finflow/runtime/node';

export type {
  ApiKey,
  ApiKeyCreated,
  Catalog,
  CatalogEntry,
  Connection,
  Credential,
  Endpoint,
  Flow,
  FlowDetail,
  FlowDiff,
  FlowSummary,
  Invitation,
  Localized,
  NodeOrigin,
  Problem,
  PutConnectionBody as ConnectionSpec,
  ReviewDecisionBody as ReviewDecisionRequest,
  ReviewQueue,
  ReviewTask,
  Role,
  RunDetail,
  RunSummary,
  Session,
  Template,
  User,
  Version as VersionInfo,
  Workspace,
} from '@finflow/contract';
export { dataClasses, type DataClass } from '@finflow/runtime/document';
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
