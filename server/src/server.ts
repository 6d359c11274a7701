/**
 * Builds and starts a FinFlow server: storage, master key, node registry (built-ins, plugins, extra nodes),
 * services, HTTP and socket.io, and a shutdown that stops taking requests, lets runs in flight finish for a
 * grace period, marks the rest interrupted and closes the database last.
 */
import { readdirSync, existsSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  buildCatalog,
  coercionPairs,
  createRuntime,
  portColors,
  portTypes,
  type AnyNodeDefinition,
  type Services,
} from '@finflow/runtime';
import {
  builtinNodes,
  createEgress,
  disposeMultimodal,
  parseEgressAllowList,
  SandboxPool,
} from '@finflow/nodes';
import { loadTemplate, templatesRoot, type Template } from '@finflow/templates';
import { createRequestHandler } from './app.js';
import { startIdleGc } from './idle-gc.js';
import { loadConfig, type ServerConfig } from './config.js';
import type { AppContext } from './context.js';
import { GroupCommitter } from './db/group-commit.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { openStorage, rolloutStorageOf } from './repo/open.js';
import { Sealer } from './security/crypto.js';
import { AuditService } from './services/audit.js';
import { AuthService } from './services/auth.js';
import { ConnectionService } from './services/connections.js';
import { CredentialService } from './services/credentials.js';
import { EndpointService } from './services/endpoints.js';
import { EvaluationService } from './services/evaluations.js';
import { LearningService } from './services/learning.js';
import { FederatedService } from './services/federated.js';
import { FeedbackService } from './services/feedback.js';
import { FlowService } from './services/flows.js';
import { PromotionService } from './services/promotion.js';
import { ReviewService } from './services/reviews.js';
import { RolloutBoardService } from './services/rollout-board.js';
import { PluginService } from './services/plugins.js';
import { RolloutService, type RolloutOptions } from './services/rollouts.js';
import { RunService } from './services/runs.js';
import { attachSockets, evaluationRoom, type LiveSockets } from './sockets.js';

export interface StartOptions {
  /** Default: from the environment. */
  config?: ServerConfig;
  /** Node types besides the built-ins and FINFLOW_PLUGINS (tests, embedding). */
  extraNodes?: readonly AnyNodeDefinition[];
  /** Services given to every node (chat models, clock). */
  services?: Partial<Services>;
  logger?: Logger;
  /** What to do with the one-time setup token when there are no users (default: print it to stdout). */
  onSetupToken?: (token: string, url: string) => void;
  /** Register process metrics (CPU, memory, event loop); default true. */
  processMetrics?: boolean;
  /** How often rollout gates are judged, shadow concurrency (tests judge more often). */
  rollouts?: RolloutOptions;
  /** How often the retraining schedule and the drift watch look at the endpoints (tests look more often). */
  learning?: { tickMs?: number };
}

export interface FinflowServer {
  url: string;
  port: number;
  context: AppContext;
  http: HttpServer;
  /** socket.io, loaded with the first socket.io request (or at start in queue mode). */
  sockets: LiveSockets;
  /** The setup token issued at start, when there were no users. */
  setupToken: string | undefined;
  close(): Promise<void>;
}

const MAINTENANCE_MS = 60_000;
const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** The templates that load; a broken one is logged and left out rather than stopping the server. */
export function loadTemplates(logger: Logger, root: string = templatesRoot): Template[] {
  if (!existsSync(root)) return [];
  const templates: Template[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !existsSync(join(root, entry.name, 'template.json'))) continue;
    try {
      templates.push(loadTemplate(join(root, entry.name)));
    } catch (err) {
      logger.error({ template: entry.name, err: (err as Error).message }, 'a template failed to load');
    }
  }
  return templates.sort((a, b) => a.meta.id.localeCompare(b.meta.id));
}

export async function startServer(options: StartOptions = {}): Promise<FinflowServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  const { repo, masterKey, auditKeys, applied } = await openStorage(config);
  try {
    if (applied.length) logger.info({ versions: applied }, 'database migrations applied');
    if (masterKey.warning) logger.warn(masterKey.warning);
    if (masterKey.source === 'file-created')
      logger.info({ file: config.secretKeyFile }, 'created the master key file (mode 0600); back it up');

    const metrics = createMetrics(options.processMetrics ?? true);
    const writer = new GroupCommitter(repo, config.durability, (size, ms) => {
      metrics.dbCommits.observe(ms / 1000);
      metrics.dbCommitSize.observe(size);
    });
    const sealer = new Sealer(masterKey.key);
    const plugins = await PluginService.start({
      builtins: builtinNodes,
      extra: options.extraNodes ?? [],
      specs: config.plugins,
      nodeModules: config.discoverPlugins,
      pluginsDir: config.pluginsDir,
      devReload: config.devReload,
      logger,
    });
    const registry = plugins.registry;
    // User code (the code node) runs in sandbox processes with the server's ceilings, never in this process.
    const codeSandbox = new SandboxPool({
      processes: config.codeSandbox.processes,
      concurrency: config.codeSandbox.concurrency,
      limits: {
        maxMemoryMb: config.codeSandbox.maxMemoryMb,
        maxCpuMs: config.codeSandbox.maxCpuMs,
        maxDataBytes: config.codeSandbox.maxDataBytes,
      },
    });
    // Every call a node makes outside the server goes through this client, under the egress policy.
    let egressPolicy;
    try {
      egressPolicy = parseEgressAllowList(config.egressAllow);
    } catch (err) {
      throw new Error(`invalid configuration: FINFLOW_EGRESS_ALLOW: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const egress = createEgress(egressPolicy);
    if (egressPolicy.source)
      logger.info({ allow: egressPolicy.source }, 'egress allowed beyond public addresses');
    const runtime = createRuntime({ registry, services: { codeSandbox, egress, ...options.services } });
    const audit = new AuditService(repo, writer, auditKeys);
    const flows = new FlowService(repo, runtime, audit);
    const credentials = new CredentialService(repo, writer, sealer, audit);
    const connections = new ConnectionService(repo, writer, audit, egressPolicy);
    const runs = new RunService(
      repo,
      writer,
      runtime,
      flows,
      credentials,
      connections,
      sealer,
      metrics,
      logger,
    );
    const endpoints = new EndpointService(repo, writer, flows, audit, connections);
    const reviews = new ReviewService(repo, writer, runs, logger);
    const feedback = new FeedbackService(repo, writer, flows);
    const evaluations = new EvaluationService(repo, runtime, flows, credentials, connections, audit, logger);
    const rollouts = new RolloutService(rolloutStorageOf(repo), repo, flows, endpoints, runs, audit, logger, {
      // Other servers on the database, or queue-mode workers, feed the gates too: read the window back.
      shared: repo.kind === 'postgres' || config.mode === 'queue',
      ...options.rollouts,
    });
    const federated = new FederatedService(repo, sealer, audit);
    const promotion = new PromotionService(repo, registry, flows, connections, audit);
    const rolloutBoard = new RolloutBoardService(repo, rollouts);
    const learning = new LearningService(
      repo,
      runtime,
      flows,
      endpoints,
      feedback,
      credentials,
      connections,
      sealer,
      audit,
      logger,
      options.learning ?? {},
    );
    rollouts.setDriftSource((r, since) =>
      learning.gateDrift(r.workspaceId, r.endpointId, r.challengerVersion, since),
    );
    const auth = new AuthService(repo, audit, {
      ttlMs: config.sessionTtlMs,
      idleMs: config.sessionIdleMs,
      failuresPerAccount: config.loginFailuresPerAccount,
      failuresPerAddress: config.loginFailuresPerAddress,
      windowMs: config.loginWindowMs,
    });
    let catalog: string | undefined;
    const ctx: AppContext = {
      config,
      repo,
      writer,
      logger,
      metrics,
      registry,
      runtime,
      sealer,
      audit,
      auth,
      flows,
      runs,
      credentials,
      connections,
      endpoints,
      reviews,
      feedback,
      evaluations,
      learning,
      rollouts,
      promotion,
      rolloutBoard,
      federated,
      templates: loadTemplates(logger, config.templatesDir),
      plugins,
      codeSandbox,
      catalogJson: () =>
        (catalog ??= JSON.stringify({
          nodes: buildCatalog(registry).map((entry) => {
            const origin = plugins.origin(entry.type, entry.version);
            return origin ? { ...entry, origin } : entry;
          }),
          plugins: plugins.list().map(({ id, package: name, version, nodes }) => ({
            id,
            package: name,
            version,
            nodes: nodes.map((n) => n.type),
          })),
          portTypes: portTypes.map((name) => ({ name, color: portColors[name] })),
          coercions: coercionPairs(),
        })),
      state: { ready: false, shuttingDown: false },
    };

    // A reloaded plugin: the catalog is rebuilt, cached plans are dropped (new runs use the new code), and the
    // editors are told to fetch the catalog again.
    plugins.onChange(() => {
      catalog = undefined;
      flows.invalidatePrepared();
      promotion.invalidate();
      sockets.emit('catalog.changed', { at: Date.now() });
    });

    if (config.mode === 'queue' && config.redisUrl) {
      // Loaded only in queue mode: a main-mode server never loads BullMQ or a Redis client.
      const { QueueMode } = await import('./queue/api-mode.js');
      ctx.queue = await QueueMode.start({
        redisUrl: config.redisUrl,
        repo,
        writer,
        runtime,
        flows,
        connections,
        runs,
        sealer,
        logger,
      });
      logger.info('queue mode: runs are executed by `finflow worker` processes');
    }
    // In queue mode a run recorded as running belongs to a worker with a lease (workers recover expired ones).
    else await runs.recoverInterrupted();
    await evaluations.recoverInterrupted();
    // Waiting runs survive a restart: decisions stored but not yet acted on are resumed, and due times checked.
    await runs.resumePending();
    await reviews.start();
    await rollouts.start();
    await learning.start();

    const sockets = await attachSockets(ctx);
    const app = createRequestHandler(ctx);
    const http = createServer((req, res) =>
      sockets.handles(req) ? sockets.handleRequest(req, res) : app(req, res),
    );
    http.keepAliveTimeout = 65_000;
    // Upgrades are socket.io's (websocket); any other is refused at once.
    http.on('upgrade', (req, socket, head) =>
      sockets.handles(req) ? sockets.handleUpgrade(req, socket, head) : socket.destroy(),
    );
    evaluations.setProgressListener((workspaceId, p) =>
      sockets.emitTo(evaluationRoom(workspaceId), 'evaluation.progress', p),
    );
    await new Promise<void>((resolveListen, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolveListen();
      });
    });
    const port = (http.address() as AddressInfo).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;

    const setupToken = await auth.issueSetupToken();
    if (setupToken) {
      (options.onSetupToken ?? printSetupToken)(setupToken, url);
      logger.warn(
        'no users yet: create the first admin with `npx finflow admin create` or the setup token printed on the console',
      );
    }

    const maintenance = setInterval(() => {
      auth.pruneLimiter();
      endpoints.pruneLimiter();
      void repo
        .deleteExpiredSessions(Date.now())
        .catch((err: unknown) => logger.error({ err }, 'session cleanup failed'));
      void auth
        .pruneInvitations()
        .catch((err: unknown) => logger.error({ err }, 'invitation cleanup failed'));
      void repo
        .deleteIdempotencyBefore(Date.now() - IDEMPOTENCY_TTL_MS)
        .catch((err: unknown) => logger.error({ err }, 'idempotency cleanup failed'));
    }, MAINTENANCE_MS);
    maintenance.unref();
    const stopIdleGc = startIdleGc({
      onCollect: (ms) => {
        // The store's threads (SQLite writer, checkpointer) and connections give theirs back too.
        repo.releaseMemory?.();
        logger.debug({ ms }, 'collected garbage after load');
      },
    });

    ctx.state.ready = true;
    logger.info(
      { url, dataDir: config.dataDir, templates: ctx.templates.length, nodeTypes: registry.list().length },
      'FinFlow is serving',
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        ctx.state.shuttingDown = true;
        clearInterval(maintenance);
        stopIdleGc();
        reviews.stop();
        await reviews.idle();
        logger.info({ runsInFlight: runs.inFlight }, 'shutting down');
        const stopped = new Promise<void>((done) => http.close(() => done()));
        http.closeIdleConnections();
        await runs.drain(config.shutdownGraceMs);
        await evaluations.stop();
        await learning.stop();
        await rollouts.stop();
        await writer.flush().catch((err: unknown) => logger.error({ err }, 'the last commit failed'));
        await sockets.close();
        await ctx.queue?.close();
        http.closeAllConnections();
        await stopped;
        // OCR workers and the like, started by nodes on first use; the code sandbox processes.
        await disposeMultimodal().catch((err: unknown) =>
          logger.error({ err }, 'stopping node workers failed'),
        );
        await codeSandbox.dispose();
        await egress
          .close()
          .catch((err: unknown) => logger.error({ err }, 'closing egress connections failed'));
        await repo.close();
        logger.info('stopped');
        logger.flush();
      })());

    return { url, port, context: ctx, http, sockets, setupToken, close };
  } catch (err) {
    await repo.close();
    throw err;
  }
}

function printSetupToken(token: string, url: string): void {
  process.stdout.write(
    [
      '',
      'FinFlow has no users yet. Create the first admin, either from a shell in the FinFlow folder:',
      '  npx finflow admin create --email you@example.com --name "Your Name"',
      `or in the browser at ${url} with this one-time setup token:`,
      `  ${token}`,
      '',
    ].join('\n') + '\n',
  );
}
