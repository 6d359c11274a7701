/**
 * `finflow serve`: starts the server with the environment's configuration (README), `--port`, `--host` and
 * `--data-dir` overriding PORT, HOST and FINFLOW_DATA_DIR. Resolves with the exit code after SIGINT/SIGTERM
 * and a clean shutdown.
 */
import { loadConfig } from '../config.js';
import { startServer } from '../server.js';
import { checkKnown, parseArgs, stringOption, UsageError } from './args.js';

export const serveUsage = `Usage: finflow serve [--port <n>] [--host <address>] [--data-dir <dir>]

Serves the FinFlow API, socket.io and the editor. Configuration comes from environment variables
(PORT, HOST, FINFLOW_DATA_DIR, FINFLOW_SECRET_KEY, LOG_LEVEL, ...; see README); options override them.`;

export async function serveCommand(argv: string[]): Promise<number> {
  let config;
  try {
    const args = parseArgs(argv, ['help']);
    if (args.options.has('help')) {
      process.stdout.write(`${serveUsage}\n`);
      return 0;
    }
    checkKnown(args, ['port', 'host', 'data-dir', 'help']);
    if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    const env = { ...process.env };
    const port = stringOption(args, 'port');
    const host = stringOption(args, 'host');
    const dataDir = stringOption(args, 'data-dir');
    if (port !== undefined) env['PORT'] = port;
    if (host !== undefined) env['HOST'] = host;
    if (dataDir !== undefined) env['FINFLOW_DATA_DIR'] = dataDir;
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(
      `finflow serve: ${(err as Error).message}\n${err instanceof UsageError ? `${serveUsage}\n` : ''}`,
    );
    return 2;
  }
  let server;
  try {
    server = await startServer({ config });
  } catch (err) {
    process.stderr.write(`finflow serve: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`FinFlow is serving at ${server.url}\n`);
  const running = server;
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: stop now, runs in flight were already marked or will be at the next start.
        process.stderr.write(`finflow serve: ${signal} again, exiting\n`);
        resolveExit(1);
        return;
      }
      stopping = true;
      running.close().then(
        () => resolveExit(0),
        (err: unknown) => {
          process.stderr.write(`finflow serve: shutdown failed: ${(err as Error).message}\n`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
