/**
 * Entry for tests that kill and restart a real server process: configuration from the environment, the test
 * nodes registered, and one JSON line `{"finflowTest":{...}}` on stdout when it listens.
 */
import { loadConfig } from '../config.js';
import { startServer } from '../server.js';
import { testNodes } from './nodes.js';

let setupToken: string | undefined;
const server = await startServer({
  config: loadConfig(),
  extraNodes: testNodes,
  onSetupToken: (token) => (setupToken = token),
});
process.stdout.write(
  `${JSON.stringify({ finflowTest: { url: server.url, setupToken: setupToken ?? null } })}\n`,
);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
