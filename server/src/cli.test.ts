import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, startTestServer, tempDir } from './test-helpers/harness.js';
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
  it('creates the first admin from the command line, with the password from stdin', async () => {
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
    expect(r.stdout).toMatch(/created admin ops@bank\.example in workspace "Default"/);

    // The server finds the admin: no setup token, and the password works (without the newline).
    const t = await startTestServer({ dataDir });
    try {
      expect(t.server.setupToken).toBeUndefined();
      const c = new Client(t.url);
      expect((await c.get('/api/auth/status')).body).toEqual({ setupRequired: false });
      expect((await c.login('ops@bank.example', 'a long admin password')).status).toBe(200);
      expect((await c.get('/api/auth/me')).body.user.role).toBe('admin');
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
  });

  it('refuses bad usage and weak passwords with a message, and never invents a password', async () => {
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
  });
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
