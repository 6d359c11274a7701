/**
 * A worker process (`finflow worker`): the same storage, master key, node registry and run service as a server,
 * without HTTP; it executes the runs API servers queued. Any number of them may run, on any machine that reaches
 * the database and Redis. SIGTERM stops taking jobs and lets the runs in flight finish for the grace period; a
 * run still executing then keeps its lease, which expires, and another worker takes it over.
 */
import { createRuntime, type AnyNodeDefinition, type Services } from '@finflow/runtime';
import {
  builtinNodes,
  createEgress,
  disposeMultimodal,
  parseEgressAllowList,
  SandboxPool,
} from '@finflow/nodes';
import type { ServerConfig } from '../config.js';
import { GroupCommitter } from '../db/group-commit.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { leasesOf } from '../repo/leases.js';
import { openStorage, rolloutStorageOf } from '../repo/open.js';
import { Sealer } from '../security/crypto.js';
import { AuditService } from '../services/audit.js';
import { ConnectionService } from '../services/connections.js';
import { CredentialService } from '../services/credentials.js';
import { FlowService } from '../services/flows.js';
import { PluginService } from '../services/plugins.js';
import { RunService } from '../services/runs.js';
import { RunBus } from './bus.js';
import { closeQuietly, queueConnection, ready, requestConnection, subscriberConnection } from './redis.js';
import { RunWorker } from './worker.js';

export interface WorkerNodeOptions {
  config: ServerConfig;
  /** Runs executed at once (default: the configuration's FINFLOW_WORKER_CONCURRENCY). */
  concurrency?: number;
  extraNodes?: readonly AnyNodeDefinition[];
  services?: Partial<Services>;
  logger?: Logger;
}

export interface WorkerNode {
  worker: RunWorker;
  runs: RunService;
  close(): Promise<void>;
}

export async function startWorkerNode(options: WorkerNodeOptions): Promise<WorkerNode> {
  const { config } = options;
  if (!config.redisUrl) throw new Error('REDIS_URL is required for a worker (queue mode)');
  const logger = options.logger ?? createLogger(config.logLevel);
  // The same storage, master key check and migrations as a server: a worker with another key refuses to start.
  const { repo, masterKey, auditKeys } = await openStorage(config);
  const redis = {
    worker: queueConnection(config.redisUrl),
    queue: queueConnection(config.redisUrl),
    pub: requestConnection(config.redisUrl),
    sub: subscriberConnection(config.redisUrl),
  };
  const closeRedis = () => Promise.all(Object.values(redis).map((r) => closeQuietly(r)));
  try {
    const leases = leasesOf(repo);
    await Promise.all(Object.values(redis).map((r) => ready(r)));

    const metrics = createMetrics(false);
    const writer = new GroupCommitter(repo, config.durability);
    const sealer = new Sealer(masterKey.key);
    const plugins = await PluginService.start({
      builtins: builtinNodes,
      extra: options.extraNodes ?? [],
      specs: config.plugins,
      nodeModules: config.discoverPlugins,
      pluginsDir: config.pluginsDir,
      devReload: false,
      logger,
    });
    const codeSandbox = new SandboxPool({
      processes: config.codeSandbox.processes,
      concurrency: config.codeSandbox.concurrency,
      limits: {
        maxMemoryMb: config.codeSandbox.maxMemoryMb,
        maxCpuMs: config.codeSandbox.maxCpuMs,
        maxDataBytes: config.codeSandbox.maxDataBytes,
      },
    });
    const egressPolicy = parseEgressAllowList(config.egressAllow);
    const egress = createEgress(egressPolicy);
    const runtime = createRuntime({
      registry: plugins.registry,
      services: { codeSandbox, egress, ...options.services },
    });
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
    const bus = new RunBus(redis.pub, redis.sub, (err) =>
      logger.debug({ err: (err as Error).message }, 'run event publish failed'),
    );
    const worker = new RunWorker({
      repo,
      leases,
      writer,
      runs,
      sealer,
      bus,
      connection: redis.worker,
      queueConnection: redis.queue,
      concurrency: options.concurrency ?? config.workerConcurrency,
      leaseMs: config.runLeaseMs,
      logger,
      rollouts: rolloutStorageOf(repo),
    });
    worker.start();
    logger.info(
      { owner: worker.owner, concurrency: options.concurrency ?? config.workerConcurrency },
      'FinFlow worker is taking runs',
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        await worker.close(config.shutdownGraceMs);
        await writer.flush().catch((err: unknown) => logger.error({ err }, 'the last commit failed'));
        await disposeMultimodal().catch(() => {});
        await codeSandbox.dispose();
        await egress.close().catch(() => {});
        await closeRedis();
        await repo.close();
        logger.info('worker stopped');
        logger.flush();
      })());
    return { worker, runs, close };
  } catch (err) {
    await closeRedis();
    await repo.close();
    throw err;
  }
}
