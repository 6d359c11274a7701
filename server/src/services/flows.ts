/**
 * Flows and their versions. Every save of a changed document is a new immutable version (content hash, author,
 * message); saving an unchanged document is a no-op. Documents are stored migrated to the current schema and
 * normalised (defaults filled in), with the flow's server id as the document id. Prepared execution plans are
 * cached per (flow, version): versions never change, so one plan serves every run of a deployed version.
 */
import {
  connectionProblems,
  FlowValidationError,
  flowDocumentSchema,
  migrateFlowDocument,
  upgradeNodes,
  type ConnectionInfo,
  type FlowDocument,
  type PreparedFlow,
  type Problem,
  type Runtime,
} from '@finflow/runtime';
import { diffFlows, type FlowDiff } from '../diff.js';
import { badRequest, conflict, HttpError, notFound } from '../errors.js';
import { hashValue } from '../hash.js';
import { maskingShape, redactSpecOf, type MaskingShape, type RedactSpec } from '../masking.js';
import { isUniqueViolation } from '../repo/errors.js';
import type { AuditActor, FlowListItem, FlowRecord, Repository, VersionRecord } from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuditService } from './audit.js';

export interface Author {
  id: string;
  name: string;
}

export interface PreparedVersion {
  workspaceId: string;
  flowId: string;
  version: number;
  prepared: PreparedFlow;
  redact: RedactSpec | undefined;
  /** What the run's masker needs of the flow's shape. */
  shape: MaskingShape;
  /** The flow's feedback settings (business key, label schema, prediction path). */
  feedback: NonNullable<FlowDocument['settings']>['feedback'];
  /**
   * Every node is declared pure (runtime's `NodeDefinition.pure`): the run's events are recorded as one compact
   * record, encoded when their batch is committed, instead of one JSON text per event as it happens.
   */
  compact?: boolean;
  /** A draft's content hash (drafts have no version of their own; the run records what it ran). */
  draftHash?: string;
}

export interface VersionView {
  number: number;
  hash: string;
  author: { id: string | null; name: string };
  message: string;
  createdAt: number;
}

export const versionView = (v: VersionRecord): VersionView => ({
  number: v.number,
  hash: v.hash,
  author: { id: v.authorId, name: v.authorName },
  message: v.message,
  createdAt: v.createdAt,
});

export const flowView = (f: FlowRecord) => ({
  id: f.id,
  name: f.name,
  description: f.description,
  tags: f.tags,
  latestVersion: f.latestVersion,
  createdAt: f.createdAt,
  updatedAt: f.updatedAt,
});

const PREPARED_CACHE_SIZE = 256;

/** Problems of a document that is not a flow document at all (the shape, not the graph). */
function documentProblems(issues: { path: PropertyKey[]; message: string }[]): Problem[] {
  return issues.map((i) => ({
    code: 'INVALID_DOCUMENT' as const,
    message: i.message,
    path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
  }));
}

export class FlowService {
  private readonly preparedCache = new Map<string, PreparedVersion>();

  constructor(
    private readonly repo: Repository,
    private readonly runtime: Runtime,
    private readonly audit: AuditService,
  ) {}

  /** A stored document as the editor should see it: nodes at their newest version. */
  current(document: string): unknown {
    return upgradeNodes(JSON.parse(document) as unknown, this.runtime.registry);
  }

  /** Migrates and normalises a document, giving it the flow's id; 400 INVALID_DOCUMENT when it is not one. */
  normalize(input: unknown, flowId: string): FlowDocument {
    const migrated = migrateFlowDocument(input);
    // Nodes are stored at their type's newest version (a model node saved with a base URL comes back naming a
    // connection, or with its legacy endpoint shown for the author to replace).
    if (migrated.ok) migrated.document = upgradeNodes(migrated.document, this.runtime.registry);
    if (!migrated.ok) {
      throw badRequest('INVALID_DOCUMENT', migrated.message, {
        problems: [{ code: 'INVALID_DOCUMENT', message: migrated.message, path: [] }],
      });
    }
    const parsed = flowDocumentSchema.safeParse({ ...migrated.document, id: flowId });
    if (!parsed.success) {
      const problems = documentProblems(parsed.error.issues);
      throw badRequest(
        'INVALID_DOCUMENT',
        `not a valid flow document: ${problems.map((p) => `${p.path?.join('.') || '(root)'}: ${p.message}`).join('; ')}`,
        { problems },
      );
    }
    return parsed.data;
  }

  /** Every problem of a document, and with a workspace's connections those its nodes would meet there. */
  async validate(document: unknown, connections?: readonly ConnectionInfo[]): Promise<Problem[]> {
    const problems = this.runtime.validate(document);
    if (problems.length || !connections) return problems;
    return connectionProblems(this.runtime.prepare(document), connections);
  }

  private version(
    flowId: string,
    number: number,
    doc: FlowDocument,
    author: Author,
    message: string,
  ): VersionRecord {
    return {
      flowId,
      number,
      document: JSON.stringify(doc),
      hash: hashValue(doc),
      authorId: author.id,
      authorName: author.name,
      message,
      createdAt: Date.now(),
    };
  }

  async create(
    workspaceId: string,
    author: Author,
    document: unknown,
    message: string,
    actor: AuditActor,
  ): Promise<{ flow: FlowRecord; version: VersionRecord }> {
    const id = newId('flw');
    const doc = this.normalize(document, id);
    const now = Date.now();
    const flow: FlowRecord = {
      id,
      workspaceId,
      name: doc.name,
      description: doc.description,
      tags: doc.tags ?? [],
      latestVersion: 1,
      createdAt: now,
      createdBy: author.id,
      updatedAt: now,
      updatedBy: author.id,
      deletedAt: null,
    };
    const version = this.version(id, 1, doc, author, message);
    await this.repo.createFlow(flow, version);
    await this.audit.record(workspaceId, actor, 'flow.created', `flow:${id}`, {
      name: flow.name,
      version: 1,
      hash: version.hash,
      message,
    });
    return { flow, version };
  }

  async get(workspaceId: string, id: string): Promise<FlowRecord> {
    const flow = await this.repo.getFlow(workspaceId, id);
    if (!flow) throw notFound(`flow ${id}`, 'FLOW_NOT_FOUND');
    return flow;
  }

  list(workspaceId: string, search?: string): Promise<FlowListItem[]> {
    return this.repo.listFlows(workspaceId, search);
  }

  async getVersion(
    workspaceId: string,
    flowId: string,
    number?: number,
  ): Promise<{ flow: FlowRecord; version: VersionRecord }> {
    const flow = await this.get(workspaceId, flowId);
    const n = number ?? flow.latestVersion;
    const version = await this.repo.getVersion(flowId, n);
    if (!version) throw notFound(`version ${n} of flow ${flowId}`, 'VERSION_NOT_FOUND');
    return { flow, version };
  }

  /** Saves a document as the next version; `created` is false when the content did not change. */
  async save(
    workspaceId: string,
    flowId: string,
    author: Author,
    document: unknown,
    message: string,
    actor: AuditActor,
    action = 'flow.saved',
    extra: Record<string, unknown> = {},
  ): Promise<{ flow: FlowRecord; version: VersionRecord; created: boolean }> {
    const { flow, version: latest } = await this.getVersion(workspaceId, flowId);
    const doc = this.normalize(document, flowId);
    const hash = hashValue(doc);
    if (hash === latest.hash) return { flow, version: latest, created: false };
    const version = this.version(flowId, flow.latestVersion + 1, doc, author, message);
    const update = {
      name: doc.name,
      description: doc.description,
      tags: doc.tags ?? [],
      updatedAt: version.createdAt,
      updatedBy: author.id,
    };
    try {
      await this.repo.addVersion(version, update);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw conflict(
          'VERSION_CONFLICT',
          'another save of this flow happened at the same time; reload and save again',
        );
      }
      throw err;
    }
    await this.audit.record(workspaceId, actor, action, `flow:${flowId}`, {
      version: version.number,
      hash: version.hash,
      message,
      ...extra,
    });
    return { flow: { ...flow, ...update, latestVersion: version.number }, version, created: true };
  }

  async restore(
    workspaceId: string,
    flowId: string,
    number: number,
    author: Author,
    message: string | undefined,
    actor: AuditActor,
  ) {
    const { version } = await this.getVersion(workspaceId, flowId, number);
    const r = await this.save(
      workspaceId,
      flowId,
      author,
      JSON.parse(version.document),
      message ?? `restore version ${number}`,
      actor,
      'flow.restored',
      { restoredFrom: number },
    );
    if (!r.created)
      throw conflict('NOTHING_TO_RESTORE', `version ${number} is the same as the latest version`);
    return r;
  }

  async diff(workspaceId: string, flowId: string, from: number, to: number): Promise<FlowDiff> {
    const a = await this.getVersion(workspaceId, flowId, from);
    const b = await this.repo.getVersion(flowId, to);
    if (!b) throw notFound(`version ${to} of flow ${flowId}`, 'VERSION_NOT_FOUND');
    return diffFlows(JSON.parse(a.version.document), JSON.parse(b.document));
  }

  async remove(
    workspaceId: string,
    flowId: string,
    actor: AuditActor,
    publishedSlugs: string[],
  ): Promise<void> {
    const flow = await this.get(workspaceId, flowId);
    if (publishedSlugs.length) {
      throw conflict(
        'FLOW_PUBLISHED',
        `the flow is published at ${publishedSlugs.join(', ')}; disable those endpoints first`,
        {
          endpoints: publishedSlugs,
        },
      );
    }
    await this.repo.deleteFlow(workspaceId, flowId, Date.now());
    await this.audit.record(workspaceId, actor, 'flow.deleted', `flow:${flowId}`, { name: flow.name });
  }

  /**
   * The execution plan of a draft: a document the editor holds and has not saved, run without creating a version.
   * 400 INVALID_DOCUMENT when it is not a flow document, 422 INVALID_FLOW (with every problem) when it does not
   * validate, 404 when the flow is not in the workspace. The plan carries the latest saved version number (the
   * draft's base); it is not cached.
   */
  async prepareDraft(workspaceId: string, flowId: string, document: unknown): Promise<PreparedVersion> {
    const flow = await this.get(workspaceId, flowId);
    const doc = this.normalize(document, flowId);
    const plan = this.plan(workspaceId, flowId, flow.latestVersion, doc, 'the draft is not valid');
    plan.draftHash = hashValue(doc);
    return plan;
  }

  /** Drops every cached plan (the node types changed: a plugin was reloaded). Runs in flight keep theirs. */
  invalidatePrepared(): void {
    this.preparedCache.clear();
  }

  /** The execution plan of a version, from the cache; 422 INVALID_FLOW when the version does not validate. */
  async prepared(workspaceId: string, flowId: string, number: number): Promise<PreparedVersion> {
    const key = `${flowId}\u0000${number}`;
    const hit = this.preparedCache.get(key);
    if (hit) {
      if (hit.workspaceId !== workspaceId) throw notFound(`flow ${flowId}`, 'FLOW_NOT_FOUND');
      // Refresh its place in the LRU order.
      this.preparedCache.delete(key);
      this.preparedCache.set(key, hit);
      return hit;
    }
    const { version } = await this.getVersion(workspaceId, flowId, number);
    const entry = this.plan(
      workspaceId,
      flowId,
      number,
      JSON.parse(version.document),
      `version ${number} of the flow is not valid`,
    );
    this.preparedCache.set(key, entry);
    if (this.preparedCache.size > PREPARED_CACHE_SIZE) {
      const oldest = this.preparedCache.keys().next().value;
      if (oldest !== undefined) this.preparedCache.delete(oldest);
    }
    return entry;
  }

  /** Prepares a document for running: 422 INVALID_FLOW with every problem when it does not validate. */
  private plan(
    workspaceId: string,
    flowId: string,
    number: number,
    document: unknown,
    invalid: string,
  ): PreparedVersion {
    let prepared: PreparedFlow;
    try {
      prepared = this.runtime.prepare(document);
    } catch (err) {
      if (err instanceof FlowValidationError) {
        throw new HttpError(422, 'INVALID_FLOW', `${invalid}: ${err.message}`, { problems: err.problems });
      }
      throw err;
    }
    const redact = redactSpecOf(prepared.flow);
    return {
      workspaceId,
      flowId,
      version: number,
      prepared,
      redact,
      shape: maskingShape(prepared, redact),
      feedback: prepared.flow.settings?.feedback,
      compact: prepared.nodes.every((n) => n.def.pure === true),
    };
  }
}
