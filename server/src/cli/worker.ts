/**
 * `finflow worker`: a queue-mode worker process (FINFLOW_MODE=queue, REDIS_URL and the servers' database and
 * master key), executing the runs API servers queued. `--concurrency` overrides FINFLOW_WORKER_CONCURRENCY.
 * Resolves with the exit code after SIGINT/SIGTERM and a clean stop.
 */
import type { AnyNodeDefinition } from '@finflow/runtime';
import { loadConfig } from '../config.js';
import { startWorkerNode } from '../queue/worker-node.js';
import { checkKnown, parseArgs, stringOption, UsageError } from './args.js';

export const workerUsage = `Usage: finflow worker [--concurrency <n>] [--data-dir <dir>]

Executes the runs that API servers in queue mode (FINFLOW_MODE=queue) put on the Redis queue (REDIS_URL).
Needs the same database and master key (FINFLOW_SECRET_KEY) as the servers; see README, "Queue mode".`;

export async function workerCommand(
  argv: string[],
  extraNodes: readonly AnyNodeDefinition[] = [],
  onReady?: () => void,
): Promise<number> {
  let config;
  let concurrency: number | undefined;
  try {
    const args = parseArgs(argv, ['help']);
    if (args.options.has('help')) {
      process.stdout.write(`${workerUsage}\n`);
      return 0;
    }
    checkKnown(args, ['concurrency', 'data-dir', 'help']);
    if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    const env = { ...process.env };
    const dataDir = stringOption(args, 'data-dir');
    if (dataDir !== undefined) env['FINFLOW_DATA_DIR'] = dataDir;
    const n = stringOption(args, 'concurrency');
    if (n !== undefined) {
      if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 256)
        throw new UsageError('--concurrency is a whole number from 1 to 256');
      concurrency = Number(n);
    }
    config = loadConfig(env);
    if (!config.redisUrl) throw new UsageError('set REDIS_URL (and FINFLOW_MODE=queue on the servers)');
  } catch (err) {
    process.stderr.write(
      `finflow worker: ${(err as Error).message}\n${err instanceof UsageError ? `${workerUsage}\n` : ''}`,
    );
    return 2;
  }
  let node;
  try {
    node = await startWorkerNode({ config, extraNodes, ...(concurrency ? { concurrency } : {}) });
  } catch (err) {
    process.stderr.write(`finflow worker: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`FinFlow worker ${node.worker.owner} is taking runs\n`);
  onReady?.();
  const running = node;
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = () => {
      if (stopping) {
        resolveExit(1);
        return;
      }
      stopping = true;
      running.close().then(
        () => resolveExit(0),
        () => resolveExit(1),
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
