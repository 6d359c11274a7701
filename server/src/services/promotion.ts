/**
 * Promotion: a flow proven in one workspace (a business line) is copied into another, with its whole version
 * history and the model artefacts its versions reference, to start its own pilot there. The promoter must be a
 * developer or admin of both workspaces. A flow names connections and credentials by name; those names mean
 * nothing in the target, so the request maps every one of them to one of the target's own (explicitly: a missing,
 * unknown, unused or mismatched mapping is refused with the list of what must be mapped). No credential and no
 * connection is ever copied: the target's are used as they are. The promoted flow has no endpoint and no rollout.
 * Both workspaces' audit chains record who promoted what, when, from where and to where.
 */
import { catalogEntry, type ConnectionInfo, type NodeRegistry } from '@finflow/runtime';
import type { promoteBody } from '@finflow/contract';
import type { z } from 'zod';
import { hashValue } from '../hash.js';
import type { AuditActor, FlowRecord, Repository, Role, VersionRecord } from '../repo/types.js';
import { newId } from '../security/crypto.js';
import type { AuditService } from './audit.js';
import { can } from './auth.js';
import type { ConnectionService } from './connections.js';
import { ForbiddenError, NotFoundError, UnprocessableError } from './errors.js';
import type { ArtefactService } from './artefacts.js';
import type { FlowService } from './flows.js';

export type PromoteBody = z.output<typeof promoteBody>;

export interface Promoter {
  workspaceId: string;
  role: Role;
  user: { id: string; name: string };
  actor: AuditActor;
  /** Where the request came from (the client's address), for the audit trail. */
  source: string;
}

type Slot = { path: (string | number)[]; kind: 'connection' | 'credential'; name: string };

type JsonSchema = Record<string, unknown>;

/** Walks a value with its JSON Schema and collects the strings in fields whose widget names a connection or secret. */
function slotsOf(schema: JsonSchema | undefined, value: unknown, path: (string | number)[], out: Slot[]) {
  if (!schema || value === undefined || value === null) return;
  const widget = schema['widget'];
  if ((widget === 'connection' || widget === 'secret') && typeof value === 'string') {
    out.push({ path, kind: widget === 'connection' ? 'connection' : 'credential', name: value });
    return;
  }
  for (const alt of ['anyOf', 'oneOf', 'allOf'] as const) {
    const alts = schema[alt];
    if (Array.isArray(alts)) for (const s of alts as JsonSchema[]) slotsOf(s, value, path, out);
  }
  if (Array.isArray(value)) {
    const items = schema['items'] as JsonSchema | undefined;
    value.forEach((v, i) => slotsOf(items, v, [...path, i], out));
  } else if (typeof value === 'object') {
    const props = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (Object.hasOwn(props, k)) slotsOf(props[k], v, [...path, k], out);
    }
  }
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: string): void {
  let at: Record<string | number, unknown> = root;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1] as string | number] = value;
}

type Doc = {
  id: string;
  name: string;
  nodes: { type: string; version: number; config?: Record<string, unknown> }[];
};

export class PromotionService {
  private readonly schemas = new Map<string, JsonSchema>();

  constructor(
    private readonly repo: Repository,
    private readonly registry: NodeRegistry,
    private readonly flows: FlowService,
    private readonly connections: ConnectionService,
    private readonly audit: AuditService,
  ) {}

  private schemaOf(type: string, version: number): JsonSchema | undefined {
    const key = `${type}@${version}`;
    if (!this.schemas.has(key)) {
      const def = this.registry.get(type, version);
      if (!def) return undefined;
      this.schemas.set(key, catalogEntry(def).configSchema);
    }
    return this.schemas.get(key);
  }

  /** Every connection and credential name a document's nodes use, where. */
  slots(doc: Doc): { node: number; slot: Slot }[] {
    const out: { node: number; slot: Slot }[] = [];
    doc.nodes.forEach((n, i) => {
      const found: Slot[] = [];
      slotsOf(this.schemaOf(n.type, n.version), n.config ?? {}, [], found);
      for (const slot of found) out.push({ node: i, slot });
    });
    return out;
  }

  /** Forgets the node schemas it read (a plugin was reloaded). */
  invalidate(): void {
    this.schemas.clear();
  }

  /** The target workspace, if the promoter may promote into it (404 when not a member, as switching does). */
  private async targetOf(p: Promoter, targetId: string) {
    if (!can(p.role, 'flow.promote'))
      throw new ForbiddenError('FORBIDDEN', 'promoting a flow needs the developer or admin role here');
    if (targetId === p.workspaceId)
      throw new UnprocessableError('SAME_WORKSPACE', 'the flow is already in this workspace');
    const membership = await this.repo.getMembership(targetId, p.user.id);
    const target = membership ? await this.repo.getWorkspace(targetId) : undefined;
    if (!membership || !target)
      throw new NotFoundError('WORKSPACE_NOT_FOUND', `workspace ${targetId} not found`);
    if (!can(membership.role, 'flow.promote'))
      throw new ForbiddenError(
        'FORBIDDEN',
        `promoting into ${target.name} needs the developer or admin role there (you are ${membership.role})`,
      );
    return target;
  }

  /** Every version of a flow, oldest first, with its models put back (old ones may hold them inline). */
  private async history(workspaceId: string, flowId: string) {
    const stored = (await this.repo.listVersions(flowId)).sort((a, b) => a.number - b.number);
    const versions: { record: VersionRecord; doc: Doc }[] = [];
    for (const v of stored) {
      const text = await this.flows.artefacts.resolve(workspaceId, v.document);
      versions.push({ record: v, doc: JSON.parse(text) as Doc });
    }
    return versions;
  }

  /** The names the versions use, over the whole history: a rollback in the target must find them too. */
  private used(versions: readonly { doc: Doc }[]) {
    const used = { connection: new Set<string>(), credential: new Set<string>() };
    for (const { doc } of versions) for (const { slot } of this.slots(doc)) used[slot.kind].add(slot.name);
    return used;
  }

  /** What a promotion of the flow into the target must map, and what the target offers (the editor's dialog). */
  async needs(p: Promoter, flowId: string, targetId: string) {
    const target = await this.targetOf(p, targetId);
    const flow = await this.flows.get(p.workspaceId, flowId);
    const used = this.used(await this.history(p.workspaceId, flow.id));
    const sourceConnections = new Map(
      (await this.repo.listConnections(p.workspaceId)).map((c) => [c.name, c]),
    );
    return {
      connections: [...used.connection]
        .sort()
        .map((n) => ({ name: n, kind: sourceConnections.get(n)?.kind ?? null })),
      credentials: [...used.credential].sort(),
      target: {
        connections: (await this.repo.listConnections(target.id)).map((c) => ({
          name: c.name,
          kind: c.kind,
        })),
        credentials: (await this.repo.listCredentials(target.id)).map((c) => c.name).sort(),
      },
    };
  }

  async promote(p: Promoter, flowId: string, body: PromoteBody) {
    const target = await this.targetOf(p, body.targetWorkspaceId);
    const sourceWs = await this.repo.getWorkspace(p.workspaceId);
    const flow = await this.flows.get(p.workspaceId, flowId);
    const versions = await this.history(p.workspaceId, flow.id);
    const sourceConnections = new Map(
      (await this.repo.listConnections(p.workspaceId)).map((c) => [c.name, c]),
    );
    const targetConnections = new Map((await this.repo.listConnections(target.id)).map((c) => [c.name, c]));
    const targetCredentials = new Set((await this.repo.listCredentials(target.id)).map((c) => c.name));
    const used = this.used(versions);
    const maps = {
      connection: new Map(Object.entries(body.connections)),
      credential: new Map(Object.entries(body.credentials)),
    };
    const missing = { connections: [] as string[], credentials: [] as string[] };
    const unknownTargets = { connections: [] as string[], credentials: [] as string[] };
    const unused = { connections: [] as string[], credentials: [] as string[] };
    const mismatched: { source: string; target: string; sourceKind: string; targetKind: string }[] = [];
    for (const n of used.connection) {
      const to = maps.connection.get(n);
      if (to === undefined) missing.connections.push(n);
      else if (!targetConnections.has(to)) unknownTargets.connections.push(to);
      else {
        const from = sourceConnections.get(n);
        const into = targetConnections.get(to) as ConnectionInfo;
        if (from && from.kind !== into.kind)
          mismatched.push({ source: n, target: to, sourceKind: from.kind, targetKind: into.kind });
      }
    }
    for (const n of used.credential) {
      const to = maps.credential.get(n);
      if (to === undefined) missing.credentials.push(n);
      else if (!targetCredentials.has(to)) unknownTargets.credentials.push(to);
    }
    for (const n of maps.connection.keys()) if (!used.connection.has(n)) unused.connections.push(n);
    for (const n of maps.credential.keys()) if (!used.credential.has(n)) unused.credentials.push(n);
    const count = (o: { connections: string[]; credentials: string[] }) =>
      o.connections.length + o.credentials.length;
    if (count(missing) || count(unknownTargets) || count(unused) || mismatched.length) {
      const parts = [
        count(missing) &&
          `map ${[...missing.connections.map((n) => `connection "${n}"`), ...missing.credentials.map((n) => `credential "${n}"`)].join(', ')}`,
        count(unknownTargets) &&
          `${target.name} has no ${[...unknownTargets.connections.map((n) => `connection "${n}"`), ...unknownTargets.credentials.map((n) => `credential "${n}"`)].join(', ')}`,
        count(unused) &&
          `the flow does not use ${[...unused.connections.map((n) => `connection "${n}"`), ...unused.credentials.map((n) => `credential "${n}"`)].join(', ')}`,
        mismatched.length &&
          mismatched
            .map((m) => `"${m.source}" is ${m.sourceKind} but "${m.target}" is ${m.targetKind}`)
            .join(', '),
      ].filter(Boolean);
      throw new UnprocessableError('PROMOTION_MAPPING', `the mapping is not complete: ${parts.join('; ')}`, {
        required: { connections: [...used.connection].sort(), credentials: [...used.credential].sort() },
        missing,
        unknownTargets,
        unused,
        mismatched,
        targetConnections: [...targetConnections.values()].map((c) => ({ name: c.name, kind: c.kind })),
        targetCredentials: [...targetCredentials].sort(),
      });
    }

    // The copies: new flow id, names remapped, models stored in the target as artefacts, history kept.
    const latest = versions[versions.length - 1];
    if (!latest) throw new NotFoundError('VERSION_NOT_FOUND', `flow ${flowId} has no versions`);
    const id = newId('flw');
    const records: VersionRecord[] = [];
    let newest: Doc | undefined;
    for (const v of versions) {
      const copy = JSON.parse(JSON.stringify(v.doc)) as Doc;
      copy.id = id;
      if (body.name && v === latest) copy.name = body.name;
      for (const { node, slot } of this.slots(v.doc)) {
        const config = (copy.nodes[node] as Doc['nodes'][number]).config as Record<string, unknown>;
        setAt(config, slot.path, maps[slot.kind].get(slot.name) as string);
      }
      const { stored: referencing, artefacts } = this.flows.artefacts.extract(
        copy as unknown as Parameters<ArtefactService['extract']>[0],
      );
      await this.flows.artefacts.store(target.id, artefacts, {
        flowId: id,
        flowVersion: v.record.number,
        createdBy: p.user.id,
      });
      records.push({ ...v.record, flowId: id, document: JSON.stringify(referencing), hash: hashValue(copy) });
      newest = copy;
    }
    // The target's connections must accept the newest version as it stands (kinds, models, data classes); a
    // version that does not validate at all is promoted as it is, as a save would keep it.
    if (newest && !(await this.flows.validate(newest)).length) {
      const problems = await this.flows.validate(newest, await this.connections.infos(target.id));
      if (problems.length)
        throw new UnprocessableError(
          'PROMOTION_MAPPING',
          `the newest version would not run in ${target.name}: ${problems.map((pr) => pr.message).join('; ')}`,
          { problems },
        );
    }

    const now = Date.now();
    const promoted: FlowRecord = {
      id,
      workspaceId: target.id,
      name: body.name ?? flow.name,
      description: flow.description,
      tags: flow.tags,
      latestVersion: latest.record.number,
      createdAt: now,
      createdBy: p.user.id,
      updatedAt: now,
      updatedBy: p.user.id,
      deletedAt: null,
    };
    await this.repo.createFlow(promoted, records);
    const artefacts = [
      ...new Set(records.flatMap((r) => this.flows.artefacts.references(JSON.parse(r.document)))),
    ];
    const mapped = {
      connections: Object.fromEntries(maps.connection),
      credentials: Object.fromEntries(maps.credential),
    };
    await this.audit.record(p.workspaceId, p.actor, 'flow.promoted', `flow:${flow.id}`, {
      to: { workspaceId: target.id, workspaceName: target.name, flowId: id },
      versions: records.length,
      artefacts,
      mapping: mapped,
      source: p.source,
      ...(body.message ? { message: body.message } : {}),
    });
    await this.audit.record(target.id, p.actor, 'flow.promoted-in', `flow:${id}`, {
      from: { workspaceId: p.workspaceId, workspaceName: sourceWs?.name ?? '', flowId: flow.id },
      versions: records.length,
      artefacts,
      mapping: mapped,
      source: p.source,
      ...(body.message ? { message: body.message } : {}),
    });
    return { flow: promoted, versions: records.length, artefacts, targetWorkspace: target };
  }
}
