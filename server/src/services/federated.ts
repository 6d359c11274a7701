/**
 * Federated training, the data holder's side. A developer or admin stores a training table here (a federated
 * dataset: rows sealed with the master key) and names the API keys a coordinator may train with. A coordinator
 * (another FinFlow server's risk.federatedScorecard node) then joins a session with one of those keys and asks
 * for masked updates; the rows never leave this server, and every session, update and refusal is audited here
 * so the holder's owner sees what was asked of its data. Sessions live in memory (a restart ends them: the
 * coordinator sees a dropout) and expire when idle.
 */
import type * as HolderProtocolModule from '@finflow/nodes/federated';
import type { HolderRefusalCode, HolderSession } from '@finflow/nodes/federated';
import {
  federatedDatasetBodyLimits,
  type FederatedDataset,
  type FederatedDatasetBody,
  type JoinRequest,
  type JoinResponse,
  type UpdateRequest,
  type UpdateResponse,
} from '@finflow/contract';
import type { ApiKeyRecord, AuditActor, FederatedDatasetRecord, Repository } from '../repo/types.js';
import type { Sealer } from '../security/crypto.js';
import { TokenBuckets } from '../rate-limit.js';
import type { AuditService } from './audit.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  TooManyAttemptsError,
  UnprocessableError,
} from './errors.js';

export const federatedDatasetLimits = {
  ...federatedDatasetBodyLimits,
  /** Open sessions per dataset: a coordinator cannot fill the holder's memory with copies of its rows. */
  sessions: 16,
  sessionIdleMs: 30 * 60_000,
  updatesPerMinute: 1200,
};

export const federatedDatasetView = (d: FederatedDatasetRecord): FederatedDataset => ({
  name: d.name,
  description: d.description,
  columns: d.columns,
  rows: d.rowCount,
  apiKeys: d.apiKeys,
  minParticipants: d.minParticipants,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
});

const sealContext = (workspaceId: string, name: string) => `federated-dataset:${workspaceId}:${name}`;

/** Refusals that are about the protocol (409) rather than the data or the request (422). */
const protocolRefusals: ReadonlySet<HolderRefusalCode> = new Set([
  'TOO_FEW_PARTICIPANTS',
  'NOT_A_PARTICIPANT',
  'DUPLICATE_PARTICIPANT',
  'MASK_REUSED',
]);

interface OpenSession {
  workspaceId: string;
  dataset: string;
  keyId: string;
  holder: HolderSession;
  lastUsed: number;
}

type HolderProtocol = typeof HolderProtocolModule;
/** A data holder's side of the protocol (secure sums, the scorecard maths) loads with the first session. */
let holderProtocol: Promise<HolderProtocol> | undefined;
const loadHolderProtocol = (): Promise<HolderProtocol> =>
  (holderProtocol ??= import('@finflow/nodes/federated').catch((err: unknown) => {
    holderProtocol = undefined;
    throw err;
  }));

const keyActor = (key: ApiKeyRecord): AuditActor => ({ type: 'key', id: key.id, name: key.name });

export class FederatedService {
  private readonly sessions = new Map<string, OpenSession>();
  private readonly limiter = new TokenBuckets();

  constructor(
    private readonly repo: Repository,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
  ) {}

  // The dataset, managed by developers and admins of the holder's workspace.

  async list(workspaceId: string) {
    return (await this.repo.listFederatedDatasets(workspaceId)).map(federatedDatasetView);
  }

  async get(workspaceId: string, name: string) {
    const d = await this.repo.getFederatedDataset(workspaceId, name);
    if (!d) throw new NotFoundError('DATASET_NOT_FOUND', `federated dataset ${name} not found`);
    return federatedDatasetView(d);
  }

  async put(workspaceId: string, name: string, body: FederatedDatasetBody, actor: AuditActor) {
    const keys = new Map((await this.repo.listApiKeys(workspaceId)).map((k) => [k.id, k]));
    const unknown = body.apiKeys.filter((id) => !keys.has(id) || keys.get(id)?.revokedAt !== null);
    if (unknown.length)
      throw new InvalidError(
        'API_KEY_NOT_FOUND',
        `the workspace has no active API key ${unknown.map((k) => `"${k}"`).join(', ')}`,
      );
    const columns = new Set<string>();
    for (const row of body.rows) for (const c of Object.keys(row)) columns.add(c);
    const existing = await this.repo.getFederatedDataset(workspaceId, name);
    const now = this.now();
    const outcome = await this.repo.putFederatedDataset({
      workspaceId,
      name,
      description: body.description,
      columns: [...columns],
      rowCount: body.rows.length,
      sealedRows: this.sealer.seal(JSON.stringify(body.rows), sealContext(workspaceId, name)),
      apiKeys: [...new Set(body.apiKeys)],
      minParticipants: body.minParticipants,
      createdAt: existing?.createdAt ?? now,
      createdBy: existing?.createdBy ?? actor.id ?? null,
      updatedAt: now,
    });
    // Sessions over the old rows end: a coordinator must not mix two versions of the data in one model.
    this.closeSessions(workspaceId, name);
    await this.audit.record(workspaceId, actor, `federated.dataset.${outcome}`, `federated-dataset:${name}`, {
      rows: body.rows.length,
      columns: [...columns],
      apiKeys: body.apiKeys,
      minParticipants: body.minParticipants,
    });
    return outcome;
  }

  async remove(workspaceId: string, name: string, actor: AuditActor): Promise<void> {
    if (!(await this.repo.deleteFederatedDataset(workspaceId, name)))
      throw new NotFoundError('DATASET_NOT_FOUND', `federated dataset ${name} not found`);
    this.closeSessions(workspaceId, name);
    await this.audit.record(workspaceId, actor, 'federated.dataset.deleted', `federated-dataset:${name}`);
  }

  private closeSessions(workspaceId: string, dataset: string): void {
    for (const [k, s] of this.sessions)
      if (s.workspaceId === workspaceId && s.dataset === dataset) this.sessions.delete(k);
  }

  // The holder API, called by a coordinator with an API key the dataset names.

  /** The dataset a key may train on: 404 for other workspaces' (and unknown) names, 403 for a key not named. */
  private async authorize(key: ApiKeyRecord, name: string): Promise<FederatedDatasetRecord> {
    const d = await this.repo.getFederatedDataset(key.workspaceId, name);
    if (!d) throw new NotFoundError('DATASET_NOT_FOUND', `federated dataset ${name} not found`);
    if (!d.apiKeys.includes(key.id))
      throw new ForbiddenError('KEY_NOT_SCOPED', `this API key may not train on ${name}`);
    const r = this.limiter.take(key.id, federatedDatasetLimits.updatesPerMinute, 60_000);
    if (!r.ok)
      throw new TooManyAttemptsError(
        'RATE_LIMITED',
        'too many federated requests with this key; slow down',
        r.retryAfterMs,
      );
    return d;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, s] of this.sessions)
      if (now - s.lastUsed > federatedDatasetLimits.sessionIdleMs) this.sessions.delete(k);
  }

  private refusal(err: unknown, { HolderRefusal }: HolderProtocol): never {
    if (err instanceof HolderRefusal)
      throw protocolRefusals.has(err.code)
        ? new ConflictError(err.code, err.message)
        : new UnprocessableError(err.code, err.message);
    throw err;
  }

  async join(key: ApiKeyRecord, name: string, request: JoinRequest): Promise<JoinResponse> {
    const d = await this.authorize(key, name);
    this.prune();
    const id = `${d.workspaceId}|${d.name}|${request.session}`;
    if (this.sessions.has(id))
      throw new ConflictError('SESSION_EXISTS', `session ${request.session} is already open`);
    const open = [...this.sessions.values()].filter(
      (s) => s.workspaceId === d.workspaceId && s.dataset === d.name,
    );
    if (open.length >= federatedDatasetLimits.sessions)
      throw new ConflictError(
        'TOO_MANY_SESSIONS',
        `${name} has ${open.length} open training sessions; end one first`,
      );
    const rows = JSON.parse(
      this.sealer.open(d.sealedRows, sealContext(d.workspaceId, d.name)).toString('utf8'),
    ) as Record<string, unknown>[];
    const protocol = await loadHolderProtocol();
    let joined: ReturnType<HolderProtocol['joinSession']>;
    try {
      joined = protocol.joinSession(rows, request, { minParticipants: d.minParticipants });
    } catch (err) {
      await this.audit.record(
        d.workspaceId,
        keyActor(key),
        'federated.refused',
        `federated-dataset:${name}`,
        {
          session: request.session,
          stage: 'join',
          code: (err as { code?: string }).code,
        },
      );
      this.refusal(err, protocol);
    }
    this.sessions.set(id, {
      workspaceId: d.workspaceId,
      dataset: d.name,
      keyId: key.id,
      holder: joined.session,
      lastUsed: this.now(),
    });
    await this.audit.record(d.workspaceId, keyActor(key), 'federated.joined', `federated-dataset:${name}`, {
      session: request.session,
      holder: request.holder,
      target: request.spec.target,
      features: request.spec.features,
    });
    return joined.response;
  }

  private session(key: ApiKeyRecord, d: FederatedDatasetRecord, session: string): OpenSession {
    this.prune();
    const s = this.sessions.get(`${d.workspaceId}|${d.name}|${session}`);
    // Another key's session is as unknown as a missing one.
    if (!s || s.keyId !== key.id)
      throw new NotFoundError('SESSION_NOT_FOUND', `training session ${session} not found`);
    s.lastUsed = this.now();
    return s;
  }

  async update(
    key: ApiKeyRecord,
    name: string,
    session: string,
    request: UpdateRequest,
  ): Promise<UpdateResponse> {
    const d = await this.authorize(key, name);
    const s = this.session(key, d, session);
    const details = {
      session,
      stage: request.stage,
      round: request.round,
      attempt: request.attempt,
      participants: request.participants.map((p) => p.id),
    };
    try {
      const answer = s.holder.update(request);
      await this.audit.record(
        d.workspaceId,
        keyActor(key),
        'federated.update',
        `federated-dataset:${name}`,
        details,
      );
      return answer;
    } catch (err) {
      await this.audit.record(
        d.workspaceId,
        keyActor(key),
        'federated.refused',
        `federated-dataset:${name}`,
        {
          ...details,
          code: (err as { code?: string }).code,
        },
      );
      // A session exists, so the protocol module has loaded.
      this.refusal(err, await loadHolderProtocol());
    }
  }

  async leave(key: ApiKeyRecord, name: string, session: string): Promise<void> {
    const d = await this.authorize(key, name);
    this.session(key, d, session);
    this.sessions.delete(`${d.workspaceId}|${d.name}|${session}`);
    await this.audit.record(d.workspaceId, keyActor(key), 'federated.left', `federated-dataset:${name}`, {
      session,
    });
  }
}
