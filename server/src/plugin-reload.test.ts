/**
 * The developer loop against a real server process started with FINFLOW_DEV_RELOAD: reloading a plugin package
 * through the API and with `finflow dev`, what runs in flight and new runs see, and a broken version that leaves
 * the previous one in place.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, Client, connected, createFlow, tempDir, waitForRun } from './test-helpers/harness.js';
import { greetFlow, greetPackage, repoTempDir, writeFiles } from './test-helpers/plugin-packages.js';
import {
  exited,
  spawnTs,
  startChildServer,
  waitForLine,
  type ChildServer,
} from './test-helpers/processes.js';

const temp = repoTempDir('reload');
const pkg = join(temp.dir, 'acme-greet');
let server: ChildServer;
let admin: Client;

/** The package with its greeting in src/, copied to dist/ by its build script (as a compiler would). */
function writePackage(options: Parameters<typeof greetPackage>[0] = {}) {
  const files = greetPackage(options);
  const manifest = JSON.parse(files['package.json']!) as Record<string, unknown>;
  writeFiles(pkg, {
    'package.json': JSON.stringify({ ...manifest, scripts: { build: 'node build.mjs' } }, null, 2),
    'build.mjs': "import { cpSync } from 'node:fs';\ncpSync('src', 'dist', { recursive: true });\n",
    'src/greeting.mjs': files['greeting.mjs']!,
    'index.mjs': files['index.mjs']!.replace("'./greeting.mjs'", "'./dist/greeting.mjs'"),
  });
  writeFiles(pkg, { 'dist/greeting.mjs': files['greeting.mjs']! });
}

async function greet(flowId: string, name = 'Li Lei'): Promise<string> {
  const r = await admin.post(`/api/flows/${flowId}/runs`, { input: { name } });
  return r.body.runId as string;
}

beforeAll(async () => {
  writePackage();
  server = await startChildServer(tempDir('finflow-reload-'), {
    FINFLOW_DEV_RELOAD: 'true',
    FINFLOW_DISCOVER_PLUGINS: 'false',
  });
  admin = new Client(server.url);
  const setup = await admin.post('/api/auth/setup', { token: server.setupToken, ...ADMIN });
  admin.csrf = setup.body.csrfToken;
}, 120_000);
afterAll(async () => {
  server?.child.kill('SIGTERM');
  if (server) await exited(server.child);
  temp.remove();
});

describe('reloading a plugin into a running server', () => {
  let flowId: string;

  it('loads a package on request, and new runs use it', async () => {
    const r = await admin.post('/api/plugins/reload', { dir: pkg });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      plugin: { id: 'acme-greet', package: 'acme-greet', source: 'dev' },
      added: ['acme.greet@1'],
    });
    flowId = (await createFlow(admin, greetFlow())).id;
    expect((await waitForRun(admin, await greet(flowId))).run.outputs).toEqual({ text: 'Hello Li Lei' });
    const audit = await admin.get('/api/audit');
    expect(audit.body.map((e: { action: string }) => e.action)).toContain('plugin.reloaded');
  });

  it('a run in flight finishes on the code it started with; runs after the reload use the new code', async () => {
    writePackage({ delayMs: 1_500 });
    expect((await admin.post('/api/plugins/reload', { dir: pkg })).status).toBe(200);
    const inFlight = await greet(flowId);
    await new Promise((res) => setTimeout(res, 300));
    writePackage({ greeting: 'Bonjour', title: 'Greet (French)' });
    // An editor that is open (its socket connected) is told the catalog changed.
    const socket = admin.socket();
    await connected(socket);
    const changed = new Promise((resolve) => socket.once('catalog.changed', resolve));
    const r = await admin.post('/api/plugins/reload', { dir: pkg });
    expect(r.body).toMatchObject({ replaced: ['acme.greet@1'], added: [], removed: [] });
    await changed;
    socket.close();
    expect((await waitForRun(admin, await greet(flowId))).run.outputs).toEqual({ text: 'Bonjour Li Lei' });
    expect((await waitForRun(admin, inFlight)).run.outputs).toEqual({ text: 'Hello Li Lei' });
    const catalog = await admin.get('/api/catalog');
    const entry = catalog.body.nodes.find((n: { type: string }) => n.type === 'acme.greet');
    expect(entry.meta.title).toBe('Greet (French)');
    expect(entry.origin).toMatchObject({ package: 'acme-greet', version: '1.0.0', source: 'dev' });
  });

  it('a version that does not load leaves the previous one in place', async () => {
    writeFileSync(join(pkg, 'index.mjs'), 'export const plugin = {{ broken');
    const r = await admin.post('/api/plugins/reload', { dir: pkg });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('PLUGIN_LOAD_FAILED');
    expect((await waitForRun(admin, await greet(flowId))).run.outputs).toEqual({ text: 'Bonjour Li Lei' });
    const notAPackage = await admin.post('/api/plugins/reload', { dir: temp.dir });
    expect(notAPackage.body.error.code).toBe('NOT_A_PLUGIN');
    const relative = await admin.post('/api/plugins/reload', { dir: './acme-greet' });
    expect(relative.status).toBe(400);
  });

  it('a version that renames its node reports the type it removed; flows using it stop validating', async () => {
    writePackage({ type: 'acme.salute' });
    const r = await admin.post('/api/plugins/reload', { dir: pkg });
    expect(r.body).toMatchObject({ added: ['acme.salute@1'], removed: ['acme.greet@1'] });
    const v = await admin.post('/api/flows/validate', { document: greetFlow() });
    expect(v.body.problems[0].code).toBe('UNKNOWN_NODE_TYPE');
    writePackage({ greeting: 'Bonjour' });
    expect((await admin.post('/api/plugins/reload', { dir: pkg })).status).toBe(200);
  });

  it('finflow dev builds and reloads the package on every change until stopped', async () => {
    const dev = spawnTs('./run-cli.ts', ['dev', pkg, '--server', server.url], {
      FINFLOW_EMAIL: ADMIN.email,
      FINFLOW_PASSWORD: ADMIN.password,
    });
    try {
      await waitForLine(dev, (line) => (line.startsWith('watching ') ? line : undefined), 60_000);
      const reloaded = waitForLine(
        dev,
        (line) => (/^reloaded acme-greet@1\.0\.0: 1 node$/.test(line) ? line : undefined),
        30_000,
      );
      // Node sets up the watches of subfolders just after the call returns; a person edits later than that.
      await new Promise((res) => setTimeout(res, 1_000));
      // The source changes; the build script copies it to dist/, which the package imports.
      writeFileSync(join(pkg, 'src/greeting.mjs'), 'export const greeting = "Hallo";\n');
      await reloaded;
      expect((await waitForRun(admin, await greet(flowId))).run.outputs).toEqual({ text: 'Hallo Li Lei' });
    } finally {
      dev.kill('SIGTERM');
    }
    expect(await exited(dev)).toBe(0);
  }, 120_000);

  it('finflow dev explains what it needs', async () => {
    const noLogin = spawnTs('./run-cli.ts', ['dev', pkg, '--once', '--server', server.url], {
      FINFLOW_EMAIL: '',
      FINFLOW_PASSWORD: '',
    });
    let stderr = '';
    noLogin.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exited(noLogin)).toBe(2);
    expect(stderr).toMatch(/set FINFLOW_EMAIL and FINFLOW_PASSWORD/);
    const wrong = spawnTs('./run-cli.ts', ['dev', pkg, '--once', '--server', server.url], {
      FINFLOW_EMAIL: ADMIN.email,
      FINFLOW_PASSWORD: 'not the password',
    });
    let wrongErr = '';
    wrong.stderr?.on('data', (d: Buffer) => (wrongErr += d.toString()));
    expect(await exited(wrong)).toBe(1);
    expect(wrongErr).toMatch(/signing in to .* failed/);
  }, 120_000);
});
