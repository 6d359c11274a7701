/**
 * Entry for tests that start (and kill) real queue-mode worker processes: configuration from the environment,
 * the test nodes registered, `{"finflowWorker":true}` on stdout when it takes runs.
 */
import { workerCommand } from '../cli/worker.js';
import { testNodes } from './nodes.js';

process.exitCode = await workerCommand(process.argv.slice(2), testNodes, () =>
  process.stdout.write(`${JSON.stringify({ finflowWorker: true })}\n`),
);
process.exit();
