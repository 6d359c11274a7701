/**
 * The programme owner's rollout board: every endpoint of every workspace the caller belongs to, with its rollout
 * stage, the traffic split, gate health counts and what waits for a person (an approval to advance, open reviews).
 * Only the caller's memberships are read, so the board never shows a workspace they are not in. Each
 * workspace's figures come from the rollout service as that workspace's own status page shows them.
 */
import type { AuditActor, Repository, Role } from '../repo/types.js';
import { NotFoundError } from './errors.js';
import type { GateStatus } from './rollout-gates.js';
import type { RolloutService } from './rollouts.js';

export interface BoardRow {
  workspace: { id: string; name: string };
  role: Role;
  endpointId: string;
  slug: string;
  endpointStatus: 'active' | 'disabled';
  flowId: string;
  flowName: string | null;
  /** `none` when the endpoint never had a rollout. */
  stage: string;
  /** The rollout's status (active, paused, rolled-back, ...), or null without one. */
  rolloutStatus: string | null;
  rolloutId: string | null;
  /** Share of traffic per flow version (adds up to 100). */
  split: { version: number; share: number; role: 'champion' | 'challenger' | 'deployed' }[];
  gates: Record<GateStatus, number>;
  /** 1 when the stage's gates pass and it has held long enough: an approver may advance it. */
  pendingApprovals: number;
  openReviews: number;
  reason: string | null;
  updatedAt: number;
}

const noGates = (): Record<GateStatus, number> => ({ pass: 0, uncertain: 0, breach: 0, insufficient: 0 });

export class RolloutBoardService {
  constructor(
    private readonly repo: Repository,
    private readonly rollouts: RolloutService,
  ) {}

  async board(user: { id: string }, actor: AuditActor): Promise<BoardRow[]> {
    const rows: BoardRow[] = [];
    const memberships = await this.repo.workspacesOf(user.id);
    for (const { workspace, role } of memberships) {
      const op = { workspaceId: workspace.id, actor, role };
      const flows = new Map<string, string | null>();
      for (const e of await this.repo.listEndpoints(workspace.id)) {
        if (!flows.has(e.flowId))
          flows.set(e.flowId, (await this.repo.getFlow(workspace.id, e.flowId))?.name ?? null);
        let status: Awaited<ReturnType<RolloutService['status']>> | undefined;
        try {
          status = await this.rollouts.status(op, e.id, 1);
        } catch (err) {
          if (!(err instanceof NotFoundError && err.code === 'NO_ROLLOUT')) throw err;
        }
        const gates = noGates();
        for (const g of status?.gates ?? []) gates[g.status] += 1;
        const live = status && (status.status === 'active' || status.status === 'paused');
        let split: BoardRow['split'];
        if (status && live && status.stage !== 'optimisation') {
          split = [
            { version: status.championVersion, share: 100 - status.share, role: 'champion' },
            { version: status.challengerVersion, share: status.share, role: 'challenger' },
          ];
        } else {
          const d = await this.repo.getDeployment(e.deploymentId);
          split = (d?.targets ?? []).map((t) => ({ version: t.version, share: t.weight, role: 'deployed' }));
        }
        rows.push({
          workspace: { id: workspace.id, name: workspace.name },
          role,
          endpointId: e.id,
          slug: e.slug,
          endpointStatus: e.status,
          flowId: e.flowId,
          flowName: flows.get(e.flowId) ?? null,
          stage: status?.stage ?? 'none',
          rolloutStatus: status?.status ?? null,
          rolloutId: status?.id ?? null,
          split,
          gates,
          pendingApprovals: status?.awaitingApproval ? 1 : 0,
          openReviews: status?.openReviews ?? 0,
          reason: status?.reason ?? null,
          updatedAt: status?.updatedAt ?? e.updatedAt,
        });
      }
    }
    return rows;
  }
}
