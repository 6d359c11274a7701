/**
 * The audit log service: records what people and keys did (logins, flow saves, publishes, key and credential
 * use, endpoint decisions) through the group committer, lists a workspace's entries and verifies its chain.
 */
import { ChainVerifier, entryFromRow, type VerifyResult } from '../audit-chain.js';
import type { GroupCommitter } from '../db/group-commit.js';
import type { AuditActor, AuditDraft, AuditEntry, Repository } from '../repo/types.js';

const PAGE = 1000;

export class AuditService {
  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
  ) {}

  /** Appends an entry; the promise settles when it is durable. Details must already be masked. */
  record(
    workspaceId: string,
    actor: AuditActor,
    action: string,
    target: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const draft: AuditDraft = { workspaceId, at: Date.now(), actor, action, target, details };
    return this.writer.write((b) => b.audit.push(draft));
  }

  async list(workspaceId: string, limit: number, beforeSeq?: number): Promise<AuditEntry[]> {
    await this.writer.visible();
    return (await this.repo.listAudit(workspaceId, limit, beforeSeq)).map(entryFromRow);
  }

  async verify(workspaceId: string): Promise<VerifyResult> {
    await this.writer.visible();
    const verifier = new ChainVerifier();
    let after = 0;
    for (;;) {
      const rows = await this.repo.auditChain(workspaceId, after, PAGE);
      if (!verifier.feed(rows) || rows.length < PAGE) break;
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
    return verifier.finish(await this.repo.auditHead(workspaceId));
  }
}
