/** Entry for tests that run the server's CLI commands in a child process: `run-cli.ts serve|admin ...`. */
import { adminCommand } from '../cli/admin.js';
import { serveCommand } from '../cli/serve.js';

const [command, ...rest] = process.argv.slice(2);
process.exitCode = command === 'serve' ? await serveCommand(rest) : await adminCommand(rest);
