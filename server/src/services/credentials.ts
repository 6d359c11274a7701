/**
 * Credentials (model provider keys and the like): sealed with the master key, bound to their workspace and name,
 * never returned by the API. Nodes reach them only through `ctx.secret(name)`, which this service answers per
 * run; each credential's first use in a run is audited and its last-used time kept.
 */
import type { SecretResolver } from '@finflow/runtime';
import type { GroupCommitter } from '../db/group-commit.js';
import { conflict, notFound } from '../errors.js';
import type { AuditActor, CredentialRecord, Repository } from '../repo/types.js';
import type { Sealer } from '../security/crypto.js';
import type { AuditService } from './audit.js';

const context = (workspaceId: string, name: string) => `credential:${workspaceId}:${name}`;

export const credentialView = (c: CredentialRecord) => ({
  name: c.name,
  description: c.description,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
  lastUsedAt: c.lastUsedAt,
});

export class CredentialService {
  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly sealer: Sealer,
    private readonly audit: AuditService,
  ) {}

  async list(workspaceId: string) {
    await this.writer.visible();
    return (await this.repo.listCredentials(workspaceId)).map(credentialView);
  }

  async put(
    workspaceId: string,
    name: string,
    value: string,
    description: string | undefined,
    actor: AuditActor,
  ) {
    const existing = await this.repo.getCredential(workspaceId, name);
    const now = Date.now();
    const outcome = await this.repo.putCredential({
      workspaceId,
      name,
      description: description ?? existing?.description ?? '',
      sealed: this.sealer.seal(value, context(workspaceId, name)),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      lastUsedAt: existing?.lastUsedAt ?? null,
    });
    await this.audit.record(workspaceId, actor, `credential.${outcome}`, `credential:${name}`);
    return outcome;
  }

  async remove(workspaceId: string, name: string, actor: AuditActor): Promise<void> {
    // A connection without its credential would fail every call; the connection goes first.
    const users = await this.repo.connectionsUsing(workspaceId, name);
    if (users.length)
      throw conflict(
        'CREDENTIAL_IN_USE',
        `the credential is sent by the connection${users.length > 1 ? 's' : ''} ${users.join(', ')}; change or delete ${users.length > 1 ? 'them' : 'it'} first`,
        { connections: users },
      );
    if (!(await this.repo.deleteCredential(workspaceId, name)))
      throw notFound(`credential ${name}`, 'CREDENTIAL_NOT_FOUND');
    await this.audit.record(workspaceId, actor, 'credential.deleted', `credential:${name}`);
  }

  /** What `ctx.secret` calls during one run: the workspace's credentials, usage audited once per name. */
  resolver(workspaceId: string, runId: string, actor: AuditActor): SecretResolver {
    const used = new Set<string>();
    return {
      get: async (name) => {
        const record = await this.repo.getCredential(workspaceId, name);
        if (!record) return undefined;
        const value = this.sealer.open(record.sealed, context(workspaceId, name)).toString('utf8');
        if (!used.has(name)) {
          used.add(name);
          const at = Date.now();
          void this.writer.write((b) => {
            b.credentialUsage.set(`${workspaceId}\u0000${name}`, { workspaceId, name, at });
            b.audit.push({
              workspaceId,
              at,
              actor,
              action: 'credential.used',
              target: `credential:${name}`,
              details: { runId },
            });
          });
        }
        return value;
      },
    };
  }
}
