/**
 * The audit log service: records what people and keys did (logins, flow saves, publishes, key and credential
 * use, endpoint decisions, identity and membership changes) through the group committer, lists a workspace's
 * entries, verifies its chain (optionally against a checkpoint an auditor kept) and exports checkpoints.
 * Instance-level events (accounts, instance owners) go to a chain of their own, `INSTANCE_AUDIT`.
 */
import {
  ChainVerifier,
  checkpointGenuine,
  entryFromRow,
  signCheckpoint,
  type AuditCheckpoint,
  type AuditKeys,
  type VerifyResult,
  GENESIS_HASH,
} from '../audit-chain.js';
import type { GroupCommitter } from '../db/group-commit.js';
import type { AuditActor, AuditDraft, AuditEntry, Repository } from '../repo/types.js';
import { ConflictError, InvalidError } from './errors.js';

/** The chain of instance-level events (no workspace id starts like this). */
export const INSTANCE_AUDIT = 'instance';

const PAGE = 1000;

export class AuditService {
  constructor(
    private readonly repo: Repository,
    private readonly writer: GroupCommitter,
    private readonly keys: AuditKeys,
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

  /** Appends the same entry to several chains in one commit (an account change, in each of its workspaces). */
  recordIn(
    workspaceIds: Iterable<string>,
    actor: AuditActor,
    action: string,
    target: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const at = Date.now();
    const ids = [...new Set(workspaceIds)];
    return this.writer.write((b) => {
      for (const workspaceId of ids) b.audit.push({ workspaceId, at, actor, action, target, details });
    });
  }

  async list(workspaceId: string, limit: number, beforeSeq?: number): Promise<AuditEntry[]> {
    await this.writer.visible();
    return (await this.repo.listAudit(workspaceId, limit, beforeSeq)).map(entryFromRow);
  }

  /** Verifies a chain; with a checkpoint (refused unless this server signed it), against it too. */
  async verify(workspaceId: string, checkpoint?: AuditCheckpoint): Promise<VerifyResult> {
    if (checkpoint) {
      if (!checkpointGenuine(this.keys.checkpoints, checkpoint))
        throw new InvalidError(
          'INVALID_CHECKPOINT',
          'the checkpoint was not signed by this server (or was altered after it was exported)',
        );
      if (checkpoint.workspaceId !== workspaceId)
        throw new InvalidError(
          'INVALID_CHECKPOINT',
          `the checkpoint is of workspace ${checkpoint.workspaceId}, not of ${workspaceId}`,
        );
    }
    await this.writer.visible();
    const verifier = new ChainVerifier(this.keys.entries, checkpoint);
    let after = 0;
    for (;;) {
      const rows = await this.repo.auditChain(workspaceId, after, PAGE);
      if (!verifier.feed(rows) || rows.length < PAGE) break;
      after = (rows[rows.length - 1] as { seq: number }).seq;
    }
    return verifier.finish(await this.repo.auditHead(workspaceId), workspaceId);
  }

  /**
   * A signed checkpoint of a chain's head, for an auditor to keep. The chain is verified first: a checkpoint of
   * a broken chain would vouch for the break.
   */
  async checkpoint(workspaceId: string): Promise<AuditCheckpoint> {
    const verified = await this.verify(workspaceId);
    if (!verified.ok)
      throw new ConflictError(
        'AUDIT_CHAIN_BROKEN',
        `the chain is broken at entry ${verified.firstBroken.seq} (${verified.firstBroken.reason}); no checkpoint is issued`,
        { firstBroken: verified.firstBroken },
      );
    const head = await this.repo.auditHead(workspaceId);
    return signCheckpoint(this.keys.checkpoints, {
      workspaceId,
      seq: head?.seq ?? 0,
      count: head?.count ?? 0,
      hash: head?.hash ?? GENESIS_HASH,
    });
  }
}
