/**
 * Published endpoints and API keys. An endpoint (a slug) resolves to its current deployment, a list of flow
 * versions with traffic weights: one target today, several once phased rollout (pilot, expansion, optimisation)
 * arrives. API keys are shown once, stored as SHA-256, scoped to endpoints, revocable, with last-used time.
 * Lookups on the request path (key by hash, endpoint by slug) are cached briefly and dropped on every change.
 */
import { slugPattern } from '@finflow/contract';
import type { GroupCommitter } from '../db/group-commit.js';
import { badRequest, conflict, forbidden, HttpError, notFound, unauthorized } from '../errors.js';
import { TokenBuckets } from '../rate-limit.js';
import type {
  ApiKeyRecord,
  AuditActor,
  DeploymentRecord,
  DeploymentTarget,
  EndpointMode,
  EndpointRecord,
  Repository,
} from '../repo/types.js';
import { isUniqueViolation } from '../repo/errors.js';
import { newId, randomToken, tokenHash } from '../security/crypto.js';
import type { AuditService } from './audit.js';
import type { ConnectionService } from './connections.js';
import type { FlowService, PreparedVersion } from './flows.js';

export const endpointDefaults = {
  mode: 'sync' as EndpointMode,
  timeoutMs: 30_000,
  maxBodyBytes: 1024 * 1024,
  rateLimitPerMinute: 600,
};

/** How long a cached key or endpoint is trusted before it is read again (other processes may change it). */
const CACHE_MS = 5_000;
/** last_used_at is written at most this often per key. */
const KEY_TOUCH_MS = 5_000;

export interface ResolvedEndpoint {
  endpoint: EndpointRecord;
  deployment: DeploymentRecord;
}

export interface EndpointSettings {
  mode?: EndpointMode | undefined;
  timeoutMs?: number | undefined;
  maxBodyBytes?: number | undefined;
  rateLimitPerMinute?: number | undefined;
}

/** The flow version a call runs: a weighted pick among the deployment's targets. */
export function pickTarget(targets: readonly DeploymentTarget[], random: () => number = Math.random): number {
  if (targets.length === 1) return (targets[0] as DeploymentTarget).version;
  const total = targets.reduce((s, t) => s + t.weight, 0);
  let r = random() * total;
  for (const t of targets) {
    r -= t.weight;
    if (r < 0) return t.version;
  }
  return (targets[targets.length - 1] as DeploymentTarget).version;
}

/** The version the deployment mostly serves (the one documented in its OpenAPI). */
export const primaryVersion = (d: DeploymentRecord): number =>
  [...d.targets].sort((a, b) => b.weight - a.weight || b.version - a.version)[0]?.version ?? 0;

export function keyView(k: ApiKeyRecord, lastUsedAt: number | null) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    endpoints: k.endpoints,
    createdAt: k.createdAt,
    lastUsedAt,
    revokedAt: k.revokedAt,
  };
}

export class EndpointService {
  private readonly slugCache = new Map<string, { value: ResolvedEndpoint; at: number }>();
  private readonly keyCache = new Map<string, { value: ApiKeyRecord | undefined; at: number }>();
  private readonly keyTouched = new Map<string, number>();
  readonly limiter = new TokenBuckets();

  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly flows: FlowService,
    private readonly audit: AuditService,
    private readonly connections: ConnectionService,
  ) {}

  // Management

  async view(e: EndpointRecord, stats?: { last24h: number; total: number }) {
    const deployment = await this.repo.getDeployment(e.deploymentId);
    const s = stats ?? (await this.repo.endpointStats([e.id], Date.now() - 86_400_000)).get(e.id);
    return {
      id: e.id,
      slug: e.slug,
      flowId: e.flowId,
      flowVersion: deployment ? primaryVersion(deployment) : null,
      status: e.status,
      mode: e.mode,
      timeoutMs: e.timeoutMs,
      maxBodyBytes: e.maxBodyBytes,
      rateLimitPerMinute: e.rateLimitPerMinute,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
      deployment: deployment
        ? { id: deployment.id, targets: deployment.targets, createdAt: deployment.createdAt }
        : null,
      calls: s ?? { last24h: 0, total: 0 },
      url: `/v1/endpoints/${e.slug}`,
    };
  }

  async list(workspaceId: string) {
    await this.writer.visible();
    const endpoints = await this.repo.listEndpoints(workspaceId);
    const stats = await this.repo.endpointStats(
      endpoints.map((e) => e.id),
      Date.now() - 86_400_000,
    );
    return Promise.all(endpoints.map((e) => this.view(e, stats.get(e.id))));
  }

  async get(workspaceId: string, id: string): Promise<EndpointRecord> {
    const e = await this.repo.getEndpoint(workspaceId, id);
    if (!e) throw notFound(`endpoint ${id}`, 'ENDPOINT_NOT_FOUND');
    return e;
  }

  /** Publishes a valid version of a flow under a slug (globally unique: it is part of the public URL). */
  async publish(
    workspaceId: string,
    actor: AuditActor,
    input: { flowId: string; version: number; slug: string } & EndpointSettings,
  ): Promise<EndpointRecord> {
    const plan = await this.flows.prepared(workspaceId, input.flowId, input.version);
    await this.connections.assertUsable(workspaceId, plan.version, plan.prepared);
    if (await this.repo.getEndpointBySlug(input.slug)) {
      throw conflict('SLUG_TAKEN', `the endpoint slug "${input.slug}" is taken`);
    }
    const now = Date.now();
    const id = newId('ep');
    const deployment: DeploymentRecord = {
      id: newId('dep'),
      workspaceId,
      endpointId: id,
      flowId: input.flowId,
      targets: [{ version: input.version, weight: 100 }],
      createdAt: now,
      createdBy: actor.id ?? null,
    };
    const endpoint: EndpointRecord = {
      id,
      workspaceId,
      slug: input.slug,
      flowId: input.flowId,
      deploymentId: deployment.id,
      status: 'active',
      mode: input.mode ?? endpointDefaults.mode,
      timeoutMs: input.timeoutMs ?? endpointDefaults.timeoutMs,
      maxBodyBytes: input.maxBodyBytes ?? endpointDefaults.maxBodyBytes,
      rateLimitPerMinute: input.rateLimitPerMinute ?? endpointDefaults.rateLimitPerMinute,
      createdAt: now,
      createdBy: actor.id ?? null,
      updatedAt: now,
    };
    try {
      await this.repo.createEndpoint(endpoint, deployment);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('SLUG_TAKEN', `the endpoint slug "${input.slug}" is taken`);
      throw err;
    }
    await this.audit.record(workspaceId, actor, 'endpoint.published', `endpoint:${id}`, {
      slug: endpoint.slug,
      flowId: endpoint.flowId,
      deploymentId: deployment.id,
      targets: deployment.targets,
    });
    return endpoint;
  }

  /** Changes settings and/or deploys other versions (a new deployment record each time). */
  async update(
    workspaceId: string,
    id: string,
    actor: AuditActor,
    patch: EndpointSettings & {
      status?: 'active' | 'disabled' | undefined;
      version?: number | undefined;
      targets?: DeploymentTarget[] | undefined;
    },
  ): Promise<EndpointRecord> {
    const endpoint = await this.get(workspaceId, id);
    let targets = patch.targets;
    if (patch.version !== undefined) {
      if (targets) throw badRequest('INVALID_REQUEST', 'give either `version` or `targets`, not both');
      targets = [{ version: patch.version, weight: 100 }];
    }
    let deployment: DeploymentRecord | undefined;
    if (targets) {
      const total = targets.reduce((s, t) => s + t.weight, 0);
      if (Math.abs(total - 100) > 1e-9)
        throw badRequest('INVALID_REQUEST', `target weights add up to ${total}, not 100`);
      for (const t of targets) {
        const plan = await this.flows.prepared(workspaceId, endpoint.flowId, t.version);
        await this.connections.assertUsable(workspaceId, plan.version, plan.prepared);
      }
      deployment = {
        id: newId('dep'),
        workspaceId,
        endpointId: id,
        flowId: endpoint.flowId,
        targets,
        createdAt: Date.now(),
        createdBy: actor.id ?? null,
      };
    }
    const settings = {
      ...(patch.status === undefined ? {} : { status: patch.status }),
      ...(patch.mode === undefined ? {} : { mode: patch.mode }),
      ...(patch.timeoutMs === undefined ? {} : { timeoutMs: patch.timeoutMs }),
      ...(patch.maxBodyBytes === undefined ? {} : { maxBodyBytes: patch.maxBodyBytes }),
      ...(patch.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: patch.rateLimitPerMinute }),
    };
    await this.repo.updateEndpoint(id, { ...settings, updatedAt: Date.now() }, deployment);
    this.slugCache.delete(endpoint.slug);
    if (deployment) {
      await this.audit.record(workspaceId, actor, 'endpoint.deployed', `endpoint:${id}`, {
        slug: endpoint.slug,
        deploymentId: deployment.id,
        targets: deployment.targets,
      });
    }
    if (Object.keys(settings).length) {
      await this.audit.record(workspaceId, actor, 'endpoint.updated', `endpoint:${id}`, {
        slug: endpoint.slug,
        ...settings,
      });
    }
    return this.get(workspaceId, id);
  }

  /** Refuses a version that cannot be deployed: invalid, or calling connections the workspace lacks. */
  async checkDeployable(workspaceId: string, flowId: string, version: number): Promise<void> {
    const plan = await this.flows.prepared(workspaceId, flowId, version);
    await this.connections.assertUsable(workspaceId, plan.version, plan.prepared);
  }

  async deployments(workspaceId: string, id: string) {
    await this.get(workspaceId, id);
    return (await this.repo.listDeployments(id)).map((d) => ({
      id: d.id,
      flowId: d.flowId,
      targets: d.targets,
      createdAt: d.createdAt,
      createdBy: d.createdBy,
    }));
  }

  /** Slugs of the flow's active endpoints (a published flow cannot be deleted). */
  async activeSlugsOf(workspaceId: string, flowId: string): Promise<string[]> {
    return (await this.repo.listEndpoints(workspaceId))
      .filter((e) => e.flowId === flowId && e.status === 'active')
      .map((e) => e.slug);
  }

  // Keys

  /** A new key (its secret, and the record that keeps only its hash). */
  private newKey(
    workspaceId: string,
    actor: AuditActor,
    name: string,
    endpoints: string[] | '*',
  ): { key: string; record: ApiKeyRecord } {
    const prefix = randomToken(6)
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 8)
      .padEnd(8, '0');
    const key = `ffk_${prefix}_${randomToken(32)}`;
    const record: ApiKeyRecord = {
      id: newId('key'),
      workspaceId,
      name,
      prefix,
      hash: tokenHash(key),
      endpoints: endpoints === '*' ? '*' : [...new Set(endpoints)],
      createdAt: Date.now(),
      createdBy: actor.id ?? null,
      lastUsedAt: null,
      revokedAt: null,
    };
    return { key, record };
  }

  async createKey(workspaceId: string, actor: AuditActor, name: string, endpoints: string[] | '*') {
    if (endpoints !== '*') {
      for (const id of endpoints) await this.get(workspaceId, id);
    }
    const { key, record } = this.newKey(workspaceId, actor, name, endpoints);
    await this.repo.createApiKey(record);
    await this.audit.record(workspaceId, actor, 'key.created', `key:${record.id}`, {
      name,
      prefix: record.prefix,
      endpoints: record.endpoints,
    });
    return { ...keyView(record, null), key };
  }

  async listKeys(workspaceId: string) {
    await this.writer.visible();
    return (await this.repo.listApiKeys(workspaceId)).map((k) =>
      keyView(k, Math.max(k.lastUsedAt ?? 0, this.keyTouched.get(k.id) ?? 0) || null),
    );
  }

  /**
   * Rotation: a new key with the old one's name and scope, and the old one revoked, in one transaction (a caller
   * switches to the new key; the old stops working at once). 404 for unknown keys and other workspaces' keys,
   * 409 KEY_REVOKED for a revoked one.
   */
  async rotateKey(workspaceId: string, id: string, actor: AuditActor) {
    const old = await this.repo.getApiKey(workspaceId, id);
    if (!old) throw notFound(`key ${id}`, 'KEY_NOT_FOUND');
    if (old.revokedAt !== null)
      throw conflict('KEY_REVOKED', 'a revoked key cannot be rotated; create a new one');
    const { key, record } = this.newKey(workspaceId, actor, old.name, old.endpoints);
    // A concurrent revoke or rotation of the same key wins; this one then changes nothing.
    if (!(await this.repo.rotateApiKey(workspaceId, id, record, Date.now())))
      throw conflict('KEY_REVOKED', 'the key was revoked meanwhile; create a new one');
    this.keyCache.clear();
    await this.audit.record(workspaceId, actor, 'key.rotated', `key:${id}`, {
      name: old.name,
      revokedPrefix: old.prefix,
      newKeyId: record.id,
      newPrefix: record.prefix,
      endpoints: record.endpoints,
    });
    return { ...keyView(record, null), key, rotatedFrom: id };
  }

  async revokeKey(workspaceId: string, id: string, actor: AuditActor): Promise<void> {
    if (!(await this.repo.revokeApiKey(workspaceId, id, Date.now())))
      throw notFound(`key ${id}`, 'KEY_NOT_FOUND');
    this.keyCache.clear();
    await this.audit.record(workspaceId, actor, 'key.revoked', `key:${id}`);
  }

  // Calls

  /** The key of an `Authorization: Bearer` header: 401 when missing, unknown or revoked. */
  async authenticate(header: string | undefined): Promise<ApiKeyRecord> {
    const challenge = { 'WWW-Authenticate': 'Bearer realm="finflow"' };
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new HttpError(
        401,
        'MISSING_API_KEY',
        'send an API key as `Authorization: Bearer <key>`',
        undefined,
        challenge,
      );
    }
    const hash = tokenHash(match[1] as string);
    const now = Date.now();
    let hit = this.keyCache.get(hash);
    if (!hit || now - hit.at > CACHE_MS) {
      hit = { value: await this.repo.getApiKeyByHash(hash), at: now };
      this.keyCache.set(hash, hit);
      if (this.keyCache.size > 10_000) this.keyCache.clear();
    }
    const key = hit.value;
    if (!key) throw new HttpError(401, 'INVALID_API_KEY', 'the API key is not valid', undefined, challenge);
    if (key.revokedAt !== null)
      throw new HttpError(401, 'API_KEY_REVOKED', 'the API key was revoked', undefined, challenge);
    return key;
  }

  /** Records the key's use (at most every few seconds per key). */
  touchKey(key: ApiKeyRecord): void {
    const now = Date.now();
    const last = this.keyTouched.get(key.id) ?? 0;
    if (now - last < KEY_TOUCH_MS) return;
    this.keyTouched.set(key.id, now);
    void this.writer.write((b) => b.keyUsage.set(key.id, now));
  }

  /** The endpoint a key calls: 404 for unknown slugs (and other workspaces' slugs), 403 when not in scope. */
  async resolve(slug: string, key: ApiKeyRecord): Promise<ResolvedEndpoint> {
    const now = Date.now();
    let hit = this.slugCache.get(slug);
    if (!hit || now - hit.at > CACHE_MS) {
      const endpoint = slugPattern.test(slug) ? await this.repo.getEndpointBySlug(slug) : undefined;
      const deployment = endpoint ? await this.repo.getDeployment(endpoint.deploymentId) : undefined;
      if (!endpoint || !deployment) {
        this.slugCache.delete(slug);
        throw notFound(`endpoint ${slug}`, 'ENDPOINT_NOT_FOUND');
      }
      hit = { value: { endpoint, deployment }, at: now };
      this.slugCache.set(slug, hit);
    }
    const { endpoint } = hit.value;
    if (endpoint.workspaceId !== key.workspaceId) throw notFound(`endpoint ${slug}`, 'ENDPOINT_NOT_FOUND');
    if (key.endpoints !== '*' && !key.endpoints.includes(endpoint.id)) {
      throw forbidden(`this API key may not call ${slug}`, 'KEY_NOT_SCOPED');
    }
    if (endpoint.status !== 'active')
      throw new HttpError(404, 'ENDPOINT_DISABLED', `endpoint ${slug} is disabled`);
    return hit.value;
  }

  /** 429 with Retry-After once the key has used its calls per minute on this endpoint. */
  rateLimit(key: ApiKeyRecord, endpoint: EndpointRecord): void {
    const r = this.limiter.take(`${key.id}|${endpoint.id}`, endpoint.rateLimitPerMinute, 60_000);
    if (!r.ok) {
      const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new HttpError(
        429,
        'RATE_LIMITED',
        `this key may call ${endpoint.slug} ${endpoint.rateLimitPerMinute} times a minute; retry in ${seconds} s`,
        { limitPerMinute: endpoint.rateLimitPerMinute },
        { 'Retry-After': String(seconds) },
      );
    }
  }

  plan(resolved: ResolvedEndpoint, version: number): Promise<PreparedVersion> {
    return this.flows.prepared(resolved.endpoint.workspaceId, resolved.endpoint.flowId, version);
  }

  pruneLimiter(): void {
    this.limiter.prune(60_000);
  }
}

/** Checks a caller-supplied Idempotency-Key header. */
export function checkIdempotencyKey(value: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw badRequest('INVALID_IDEMPOTENCY_KEY', 'an Idempotency-Key is 1-255 visible ASCII characters');
  }
  return value;
}

export function unauthorizedKey(): HttpError {
  return unauthorized('send an API key as `Authorization: Bearer <key>`', 'MISSING_API_KEY');
}
