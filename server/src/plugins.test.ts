import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { builtinNodes } from '@finflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPlugins } from './plugins.js';
import {
  addUser,
  Client,
  createFlow,
  setupAdmin,
  startTestServer,
  waitForRun,
  type TestServer,
} from './test-helpers/harness.js';
import { greetFlow, greetPackage, repoTempDir, writeFiles } from './test-helpers/plugin-packages.js';

const temp = repoTempDir('plugins');
afterAll(() => temp.remove());

/** A working folder with node_modules, a plugins folder and a loose module, each holding good and bad plugins. */
function layout(root: string) {
  writeFiles(join(root, 'node_modules', 'acme-greet'), greetPackage({ version: '1.4.2', withoutSdk: true }));
  writeFiles(join(root, 'node_modules', '@acme', 'broken'), {
    'package.json': JSON.stringify({
      name: '@acme/broken',
      version: '0.0.1',
      finflow: { plugin: './index.mjs' },
    }),
    'index.mjs': "throw new Error('cannot reach the rates service');\n",
  });
  writeFiles(join(root, 'node_modules', 'left-pad'), {
    'package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0', main: 'index.js' }),
    'index.js': 'module.exports = () => {};\n',
  });
  // A package.json may not point the server at a file outside its package.
  writeFiles(join(root, 'node_modules', 'sneaky'), {
    'package.json': JSON.stringify({
      name: 'sneaky',
      version: '1.0.0',
      finflow: { plugin: '../../outside.mjs' },
    }),
  });
  writeFiles(
    join(root, 'plugins', 'fx'),
    greetPackage({ name: '@bank/fx', version: '2.0.0', id: 'bank-fx', type: 'bank.fx', title: 'FX' }),
  );
  writeFiles(join(root, 'plugins', 'clash'), greetPackage({ name: 'clash', id: 'clash', type: 'io.input' }));
  mkdirSync(join(root, 'plugins', 'empty-folder'), { recursive: true });
  writeFiles(join(root, 'plugins'), {
    'not-a-plugin.mjs': 'export const answer = 42;\n',
  });
  writeFiles(
    join(root, 'extra'),
    greetPackage({ name: 'extra-greet', version: '0.3.0', id: 'extra', type: 'extra.greet' }),
  );
}

describe('plugin discovery', () => {
  const root = join(temp.dir, 'discovery');
  beforeAll(() => layout(root));

  it('loads packages that declare a plugin, the plugins folder and FINFLOW_PLUGINS, and reports each failure', async () => {
    const { plugins, failures } = await discoverPlugins({
      specs: ['./extra'],
      cwd: root,
      pluginsDir: join(root, 'plugins'),
      taken: builtinNodes,
    });
    expect(plugins.map((p) => [p.id, p.package, p.version, p.source, p.nodes.map((n) => n.type)])).toEqual([
      ['extra', 'extra-greet', '0.3.0', 'env', ['extra.greet']],
      ['acme-greet', 'acme-greet', '1.4.2', 'package', ['acme.greet']],
      ['bank-fx', '@bank/fx', '2.0.0', 'folder', ['bank.fx']],
    ]);
    expect(failures.map((f) => [f.source, f.spec.replace(root, '<root>'), f.message])).toEqual([
      ['package', '@acme/broken', 'cannot reach the rates service'],
      ['folder', '<root>/plugins/clash', 'node type io.input version 1 is already registered'],
      ['folder', '<root>/plugins/empty-folder', expect.stringMatching(/no package.json declaring "finflow"/)],
      ['folder', '<root>/plugins/not-a-plugin.mjs', expect.stringMatching(/exports no `plugin`/)],
    ]);
  });

  it('can leave node_modules alone', async () => {
    const { plugins } = await discoverPlugins({ cwd: root, nodeModules: false, taken: builtinNodes });
    expect(plugins).toEqual([]);
  });
});

describe('plugins in a running server', () => {
  const root = join(temp.dir, 'server');
  let t: TestServer;
  let admin: Client;
  let analyst: Client;
  let developer: Client;

  beforeAll(async () => {
    layout(root);
    t = await startTestServer({
      config: { pluginsDir: join(root, 'plugins'), plugins: [join(root, 'extra')], discoverPlugins: false },
    });
    admin = await setupAdmin(t);
    analyst = await addUser(t, admin, 'analyst');
    developer = await addUser(t, admin, 'developer');
  });
  afterAll(() => t.destroy());

  it('starts despite plugins that fail, and shows them to admins and developers', async () => {
    for (const c of [admin, developer]) {
      const r = await c.get('/api/plugins');
      expect(r.status).toBe(200);
      expect(r.body.plugins.map((p: { id: string }) => p.id)).toEqual(['extra', 'bank-fx']);
      expect(r.body.failures).toHaveLength(3);
      expect(r.body.devReload).toBe(false);
    }
    expect((await analyst.get('/api/plugins')).status).toBe(403);
    expect((await new Client(t.url).get('/api/plugins')).status).toBe(401);
  });

  it('the catalog names the package and version of every node, and plugin nodes run in flows', async () => {
    const catalog = await analyst.get('/api/catalog');
    const byType = new Map(catalog.body.nodes.map((n: { type: string }) => [n.type, n]));
    expect((byType.get('bank.fx') as { origin: unknown }).origin).toEqual({
      package: '@bank/fx',
      version: '2.0.0',
      plugin: 'bank-fx',
      source: 'folder',
    });
    expect((byType.get('logic.branch') as { origin: { package: string } }).origin.package).toBe(
      '@finflow/nodes',
    );
    expect(catalog.body.plugins).toContainEqual({
      id: 'bank-fx',
      package: '@bank/fx',
      version: '2.0.0',
      nodes: ['bank.fx'],
    });

    const { id } = await createFlow(analyst, greetFlow('bank.fx'));
    const run = await analyst.post(`/api/flows/${id}/runs`, { input: { name: 'Wang Fang' } });
    expect((await waitForRun(analyst, run.body.runId)).run.outputs).toEqual({ text: 'Hello Wang Fang' });
  });

  it('refuses to reload plugins unless the server runs in development mode, and only for admins and developers', async () => {
    const dir = join(root, 'plugins', 'fx');
    const off = await admin.post('/api/plugins/reload', { dir });
    expect(off.status).toBe(403);
    expect(off.body.error.code).toBe('DEV_RELOAD_DISABLED');
    expect((await analyst.post('/api/plugins/reload', { dir })).body.error.code).toBe('FORBIDDEN');
    const noCsrf = await developer.post('/api/plugins/reload', { dir }, { 'x-csrf-token': 'wrong' });
    expect(noCsrf.body.error.code).toBe('CSRF_FAILED');
    for (const body of [{}, { dir: 1 }, { dir: 'x'.repeat(1001) }, { dir, extra: true }]) {
      const r = await admin.post('/api/plugins/reload', body);
      expect(r.status, JSON.stringify(body).slice(0, 40)).toBe(400);
    }
  });
});
