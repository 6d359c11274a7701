/** Entry for tests that run the server's CLI commands in a child process: `run-cli.ts serve|admin|dev ...`. */
import { adminCommand } from '../cli/admin.js';
import { main } from '../cli/main.js';
import { serveCommand } from '../cli/serve.js';

const [command, ...rest] = process.argv.slice(2);
process.exitCode =
  command === 'serve'
    ? await serveCommand(rest)
    : command === 'admin'
      ? await adminCommand(rest)
      : await main([command ?? 'help', ...rest]);
