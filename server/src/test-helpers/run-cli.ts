/** Entry for tests that run the server's CLI commands in a child process: `run-cli.ts serve|admin|audit|dev ...`. */
import { adminCommand } from '../cli/admin.js';
import { auditCommand } from '../cli/audit.js';
import { main } from '../cli/main.js';
import { serveCommand } from '../cli/serve.js';

const [command, ...rest] = process.argv.slice(2);
process.exitCode =
  command === 'serve'
    ? await serveCommand(rest)
    : command === 'admin'
      ? await adminCommand(rest)
      : command === 'audit'
        ? await auditCommand(rest)
        : await main([command ?? 'help', ...rest]);
