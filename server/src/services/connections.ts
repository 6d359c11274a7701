/**
 * Connections: a workspace's outbound providers, written by developers and admins. Each binds one base URL to at
 * most one of the workspace's credentials, so a flow author (an analyst included) chooses a connection by name
 * and can never point a stored key somewhere else. The service checks a connection when it is written (the
 * credential exists; an address in the URL is one the egress policy allows) and answers each run through a
 * resolver that applies the connection rule of the runtime and audits every decision: a connection's first use
 * in a run, every refused call, every routing decision.
 */
import { checkConnectionUrl, type EgressPolicy } from '@finflow/nodes';
import {
  connectionProblems,
  createConnectionResolver,
  type ConnectionEvent,
  type ConnectionInfo,
  type ConnectionResolver,
  type ConnectionSpec,
  type DataClass,
  type PreparedFlow,
  type Problem,
} from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { badRequest, HttpError, notFound } from '../errors.js';
import type { AuditActor, ConnectionRecord, Repository } from '../repo/types.js';
import type { AuditService } from './audit.js';

const CACHE_MS = 5_000;

export const connectionView = (c: ConnectionRecord) => ({
  name: c.name,
  kind: c.kind,
  baseUrl: c.baseUrl,
  credential: c.credential,
  models: c.models,
  deployment: c.deployment,
  dataClasses: c.dataClasses,
  pricing: c.pricing,
  description: c.description,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

const infoOf = (c: ConnectionRecord): ConnectionInfo => ({
  name: c.name,
  kind: c.kind,
  baseUrl: c.baseUrl,
  credential: c.credential,
  models: c.models,
  deployment: c.deployment,
  dataClasses: c.dataClasses,
  pricing: c.pricing,
  description: c.description,
});

export class ConnectionService {
  /**
   * Each workspace's connections, dropped when one is written here and read again after a few seconds anyway, so
   * a change made by another process (a second server on the same database) is not missed for long.
   */
  private readonly cache = new Map<string, { at: number; list: Promise<ConnectionInfo[]> }>();

  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly audit: AuditService,
    private readonly egress: EgressPolicy,
  ) {}

  async list(workspaceId: string) {
    return (await this.repo.listConnections(workspaceId)).map(connectionView);
  }

  async get(workspaceId: string, name: string) {
    const c = await this.repo.getConnection(workspaceId, name);
    if (!c) throw notFound(`connection ${name}`, 'CONNECTION_NOT_FOUND');
    return connectionView(c);
  }

  /** Every connection of a workspace, as nodes and validation see them (no secrets). */
  infos(workspaceId: string): Promise<ConnectionInfo[]> {
    const hit = this.cache.get(workspaceId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.list;
    const list = this.repo.listConnections(workspaceId).then((rows) => rows.map(infoOf));
    this.cache.set(workspaceId, { at: Date.now(), list });
    list.catch(() => this.cache.delete(workspaceId));
    return list;
  }

  async put(workspaceId: string, name: string, spec: ConnectionSpec, actor: AuditActor) {
    if (spec.credential !== null && !(await this.repo.getCredential(workspaceId, spec.credential)))
      throw badRequest('CREDENTIAL_NOT_FOUND', `the workspace has no credential named "${spec.credential}"`);
    const refused = checkConnectionUrl(this.egress, spec.baseUrl);
    if (refused) throw badRequest('EGRESS_DENIED', refused);
    const existing = await this.repo.getConnection(workspaceId, name);
    const now = Date.now();
    const outcome = await this.repo.putConnection({
      workspaceId,
      name,
      ...spec,
      createdAt: existing?.createdAt ?? now,
      createdBy: existing?.createdBy ?? actor.id ?? null,
      updatedAt: now,
    });
    this.cache.delete(workspaceId);
    await this.audit.record(workspaceId, actor, `connection.${outcome}`, `connection:${name}`, {
      kind: spec.kind,
      baseUrl: spec.baseUrl,
      credential: spec.credential,
      deployment: spec.deployment,
      dataClasses: spec.dataClasses,
      models: spec.models,
      ...(existing && existing.baseUrl !== spec.baseUrl ? { previousBaseUrl: existing.baseUrl } : {}),
    });
    return outcome;
  }

  async remove(workspaceId: string, name: string, actor: AuditActor): Promise<void> {
    if (!(await this.repo.deleteConnection(workspaceId, name)))
      throw notFound(`connection ${name}`, 'CONNECTION_NOT_FOUND');
    this.cache.delete(workspaceId);
    await this.audit.record(workspaceId, actor, 'connection.deleted', `connection:${name}`);
  }

  /** Connection problems of a valid flow in a workspace (unknown names, models, kinds, data classes). */
  async problems(workspaceId: string, prepared: PreparedFlow): Promise<Problem[]> {
    return connectionProblems(prepared, await this.infos(workspaceId));
  }

  /** 422 INVALID_FLOW when a version's nodes name connections the workspace lacks or may not use for its data. */
  async assertUsable(workspaceId: string, version: number, prepared: PreparedFlow): Promise<void> {
    const problems = await this.problems(workspaceId, prepared);
    if (problems.length)
      throw new HttpError(
        422,
        'INVALID_FLOW',
        `version ${version} of the flow cannot run here: ${problems.map((p) => p.message).join('; ')}`,
        { problems },
      );
  }

  /** What `ctx.services.connections` answers during one run; every decision goes to the audit trail. */
  resolver(
    workspaceId: string,
    runId: string,
    actor: AuditActor,
    flowDataClass: DataClass,
  ): ConnectionResolver {
    const record = (e: ConnectionEvent) => {
      const { type, connection, ...details } = e;
      const action =
        type === 'routed' ? 'model.routed' : type === 'refused' ? 'connection.refused' : 'connection.used';
      void this.writer.write((b) =>
        b.audit.push({
          workspaceId,
          at: Date.now(),
          actor,
          action,
          target: `connection:${connection}`,
          details: { runId, ...details },
        }),
      );
    };
    return createConnectionResolver({ list: () => this.infos(workspaceId), flowDataClass, record });
  }
}
