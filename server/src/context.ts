/**
 * The services of one server instance, built once at start and handed to the routes and the socket layer.
 */
import type { NodeRegistry, Runtime } from '@finflow/runtime';
import type { SandboxPool } from '@finflow/nodes';
import type { Template } from '@finflow/templates';
import type { ServerConfig } from './config.js';
import type { GroupCommitter } from './db/group-commit.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Repository } from './repo/types.js';
import type { Sealer } from './security/crypto.js';
import type { AuditService } from './services/audit.js';
import type { AuthService } from './services/auth.js';
import type { ConnectionService } from './services/connections.js';
import type { CredentialService } from './services/credentials.js';
import type { EndpointService } from './services/endpoints.js';
import type { EvaluationService } from './services/evaluations.js';
import type { FederatedService } from './services/federated.js';
import type { FeedbackService } from './services/feedback.js';
import type { FlowService } from './services/flows.js';
import type { PromotionService } from './services/promotion.js';
import type { LearningService } from './services/learning.js';
import type { ReviewService } from './services/reviews.js';
import type { RolloutBoardService } from './services/rollout-board.js';
import type { PluginService } from './services/plugins.js';
import type { RolloutService } from './services/rollouts.js';
import type { RunService } from './services/runs.js';
import type { QueueMode } from './queue/api-mode.js';

export interface AppContext {
  config: ServerConfig;
  repo: Repository;
  writer: GroupCommitter;
  logger: Logger;
  metrics: Metrics;
  registry: NodeRegistry;
  runtime: Runtime;
  sealer: Sealer;
  audit: AuditService;
  auth: AuthService;
  flows: FlowService;
  runs: RunService;
  credentials: CredentialService;
  connections: ConnectionService;
  endpoints: EndpointService;
  reviews: ReviewService;
  feedback: FeedbackService;
  evaluations: EvaluationService;
  /** Continuous learning of endpoints: retraining from feedback, training baselines, drift. */
  learning: LearningService;
  /** Phased rollouts: the choice of version for every endpoint call, gates, transitions. */
  rollouts: RolloutService;
  /** Promoting a flow (history, artefacts, remapped connections) into another workspace. */
  promotion: PromotionService;
  /** The programme owner's board: every endpoint of every workspace the caller is in. */
  rolloutBoard: RolloutBoardService;
  /** Federated training, the data holder's side: datasets and coordinators' sessions. */
  federated: FederatedService;
  templates: Template[];
  /** Node plugins: what loaded, what failed, and reloading on a developer's server. */
  plugins: PluginService;
  /** The sandbox processes of the code node. */
  codeSandbox: SandboxPool;
  /** The catalog response, serialised once on first request. */
  catalogJson(): string;
  state: { ready: boolean; shuttingDown: boolean };
  /** Queue mode (FINFLOW_MODE=queue): runs are launched here and executed by workers. */
  queue?: QueueMode;
}
