import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forge, rewriteChain } from './test-helpers/audit.js';
import { Client, setupAdmin, startTestServer, tempDir } from './test-helpers/harness.js';
import { exited, spawnTs, waitForLine } from './test-helpers/processes.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function runCli(args: string[], stdin?: string, env: Record<string, string> = {}) {
  const child = spawnTs('./run-cli.ts', args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin?.end(stdin ?? '');
  const code = await exited(child);
  return { code, stdout, stderr };
}

describe('finflow admin create', () => {
  // Each command is a child process on the TypeScript sources: seconds apiece on a busy machine.
  it(
    'creates the first admin from the command line, with the password from stdin',
    { timeout: 120_000 },
    async () => {
      const dataDir = tempDir('finflow-admin-cli-');
      dirs.push(dataDir);
      const r = await runCli(
        [
          'admin',
          'create',
          '--email',
          'ops@bank.example',
          '--name',
          'Ops Admin',
          '--password-stdin',
          '--data-dir',
          dataDir,
        ],
        'a long admin password\n',
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/created admin ops@bank\.example \(instance owner\) in workspace "Default"/);

      // The server finds the admin: no setup token, and the password works (without the newline).
      const t = await startTestServer({ dataDir });
      try {
        expect(t.server.setupToken).toBeUndefined();
        const c = new Client(t.url);
        expect((await c.get('/api/auth/status')).body).toMatchObject({ setupRequired: false });
        expect((await c.login('ops@bank.example', 'a long admin password')).status).toBe(200);
        expect((await c.get('/api/auth/me')).body.user).toMatchObject({ role: 'admin', instanceOwner: true });
        const audit = await c.get('/api/audit');
        expect(audit.body.find((e: { action: string }) => e.action === 'user.created').actor).toMatchObject({
          type: 'cli',
        });
      } finally {
        await t.stop();
      }

      const again = await runCli(
        [
          'admin',
          'create',
          '--email',
          'ops@bank.example',
          '--name',
          'Ops',
          '--password-stdin',
          '--data-dir',
          dataDir,
        ],
        'another password 123',
      );
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/exists/);
    },
  );

  it(
    'refuses bad usage and weak passwords with a message, and never invents a password',
    { timeout: 120_000 },
    async () => {
      const dataDir = tempDir('finflow-admin-cli-');
      dirs.push(dataDir);
      const noEmail = await runCli(
        ['admin', 'create', '--name', 'X', '--password-stdin', '--data-dir', dataDir],
        'long enough password',
      );
      expect(noEmail.code).toBe(2);
      expect(noEmail.stderr).toMatch(/--email/);
      const weak = await runCli(
        [
          'admin',
          'create',
          '--email',
          'a@bank.example',
          '--name',
          'A',
          '--password-stdin',
          '--data-dir',
          dataDir,
        ],
        'short',
      );
      expect(weak.code).toBe(1);
      expect(weak.stderr).toMatch(/at least 10 characters/);
      // stdin is a pipe, not a terminal: without --password-stdin there is no way to ask.
      const noPassword = await runCli([
        'admin',
        'create',
        '--email',
        'a@bank.example',
        '--name',
        'A',
        '--data-dir',
        dataDir,
      ]);
      expect(noPassword.code).toBe(2);
    },
  );
});

describe('finflow audit', () => {
  it(
    'exports a checkpoint to keep, and verify against it names the first forged entry',
    { timeout: 120_000 },
    async () => {
      const t = await startTestServer();
      dirs.push(t.dataDir);
      const admin = await setupAdmin(t);
      for (let i = 0; i < 8; i++) await admin.put(`/api/credentials/k${i}`, { value: `secret value ${i}` });
      const workspaceId = (await admin.get('/api/auth/me')).body.workspace.id as string;
      await t.stop();

      const exported = await runCli(['audit', 'checkpoint', '--data-dir', t.dataDir]);
      expect(exported.stderr).toBe('');
      expect(exported.code).toBe(0);
      const checkpoints = JSON.parse(exported.stdout) as { workspaceId: string; seq: number }[];
      // Every workspace's chain, and the instance chain.
      expect(checkpoints.map((c) => c.workspaceId).sort()).toEqual([workspaceId, 'instance'].sort());
      const file = join(t.dataDir, 'kept-checkpoints.json');
      writeFileSync(file, exported.stdout);
      const fine = await runCli(['audit', 'verify', '--checkpoint', file, '--data-dir', t.dataDir]);
      expect(fine.code).toBe(0);

      const victim = checkpoints.find((c) => c.workspaceId === workspaceId)!.seq - 3;
      rewriteChain(t.dataDir, victim, forge);
      const caught = await runCli(['audit', 'verify', '--checkpoint', file, '--data-dir', t.dataDir]);
      expect(caught.code).toBe(1);
      const results = JSON.parse(caught.stdout) as {
        workspaceId: string;
        ok: boolean;
        firstBroken?: { seq: number };
      }[];
      expect(results.find((r) => r.workspaceId === workspaceId)).toMatchObject({
        ok: false,
        firstBroken: { seq: victim },
      });
      const refused = await runCli([
        'audit',
        'checkpoint',
        '--workspace',
        workspaceId,
        '--data-dir',
        t.dataDir,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/broken at entry/);
    },
  );
});

describe('finflow serve', () => {
  it('serves on the given port and data folder, creates the 0600 key file, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir('finflow-serve-');
    dirs.push(dataDir);
    const child = spawnTs('./run-cli.ts', ['serve', '--port', '0', '--data-dir', dataDir], {});
    const url = await waitForLine(child, (line) => /FinFlow is serving at (\S+)/.exec(line)?.[1]);
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'finflow.db')).mode & 0o077).toBe(0);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);

    const bad = await runCli(['serve', '--port', 'eighty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/PORT/);
  });
});

describe('finflow node with the code node', () => {
  it('runs user code in the sandbox from the command line and exits when done', async () => {
    const r = await runCli([
      'node',
      'code.javascript',
      '--config',
      JSON.stringify({
        inputs: [{ name: 'amount', type: 'number' }],
        outputs: [{ name: 'fee', type: 'number' }],
        code: 'export default defineRun(({ amount }) => ({ fee: Math.max(5, amount * 0.0125) }));',
      }),
      '--inputs',
      '{"amount":2000}',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', outputs: { fee: 25 } });
  }, 120_000);
});
