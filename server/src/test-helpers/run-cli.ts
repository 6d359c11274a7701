/** Entry for tests that run the server's CLI commands in a child process: `run-cli.ts serve|admin|audit ...`. */
import { adminCommand } from '../cli/admin.js';
import { auditCommand } from '../cli/audit.js';
import { serveCommand } from '../cli/serve.js';

const [command, ...rest] = process.argv.slice(2);
process.exitCode =
  command === 'serve'
    ? await serveCommand(rest)
    : command === 'audit'
      ? await auditCommand(rest)
      : await adminCommand(rest);
