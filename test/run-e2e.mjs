#!/usr/bin/env node
// End-to-end tests of the editor against the real server (`npm run test:e2e`): builds everything, starts the
// server on a free port with a temporary data directory, creates the first admin through the documented
// setup-token path, runs the Playwright tests in test/e2e (Debian chromium through playwright-core), then stops
// the server and removes the data directory. FINFLOW_E2E_SKIP_BUILD=1 skips the build (when it was just done);
// arguments pass on to vitest (`npm run test:e2e -- drafts` runs the files whose name matches).
import { spawnSync } from 'node:child_process';
import { repoRoot, startServer } from './e2e/harness.mjs';

const admin = { email: 'analyst.admin@example.com', name: '王敏', password: 'e2e-Correct-Horse-9' };

function step(message) {
  process.stdout.write(`\n[e2e] ${message}\n`);
}

let server;
let status;
try {
  if (!process.env.FINFLOW_E2E_SKIP_BUILD) {
    step('building (tsc -b and the editor)');
    const b = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'inherit' });
    if (b.status !== 0) throw new Error(`npm run build exited with ${b.status}`);
  }
  step('starting the server with a temporary data directory and creating the first admin');
  server = await startServer({ admin });
  step(`running the browser tests against ${server.url}`);
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--config', 'test/e2e/vitest.config.ts', ...process.argv.slice(2)],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      env: {
        ...process.env,
        FINFLOW_E2E_URL: server.url,
        FINFLOW_E2E_EMAIL: admin.email,
        FINFLOW_E2E_PASSWORD: admin.password,
      },
    },
  );
  status = r.status ?? 1;
} catch (err) {
  process.stderr.write(`[e2e] ${err.message}\n`);
  status = 1;
} finally {
  if (server) {
    step('stopping the server');
    await server.stop();
  }
}
process.exit(status);
