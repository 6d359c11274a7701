// Starts a real FinFlow server for browser tests and benchmarks: a free port on 127.0.0.1, a temporary data
// directory, and the first admin created through the documented setup-token path (POST /api/auth/setup with the
// token the server prints at its first start). `stop()` ends the server and removes the data directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * @param {{ admin: { email: string, name: string, password: string } | null, quiet?: boolean }} options
 *   `admin: null` leaves the server without users (the setup form shows; the token is returned).
 * @returns {Promise<{ url: string, token: string, stop: () => Promise<void> }>}
 */
export async function startServer({ admin, quiet = false }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'finflow-'));
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'server/bin/finflow.js'),
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stop = () =>
    new Promise((resolveStop) => {
      const done = () => {
        rmSync(dataDir, { recursive: true, force: true });
        resolveStop();
      };
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(kill);
        done();
      });
      child.kill('SIGTERM');
    });
  let out = '';
  const echo = (stream) => (chunk) => {
    out += chunk.toString();
    if (!quiet) stream.write(chunk.toString().replace(/^(?=.)/gm, '[server] '));
  };
  child.stdout.on('data', echo(process.stdout));
  child.stderr.on('data', echo(process.stderr));
  try {
    const { url, token } = await new Promise((resolveReady, reject) => {
      const timer = setInterval(() => {
        const found = /serving at (http:\/\/\S+)/i.exec(out)?.[1];
        if (!found) return;
        clearInterval(timer);
        clearTimeout(limit);
        const lines = out.split('\n');
        const at = lines.findIndex((l) => /one-time setup token/i.test(l));
        resolveReady({ url: found.replace(/\/$/, ''), token: at >= 0 ? lines[at + 1]?.trim() : undefined });
      }, 50);
      const limit = setTimeout(() => {
        clearInterval(timer);
        reject(new Error(`the server did not start within 60 s:\n${out}`));
      }, 60_000);
      child.once('exit', (code) => {
        clearInterval(timer);
        clearTimeout(limit);
        reject(new Error(`the server exited with ${code} before it was ready:\n${out}`));
      });
    });
    if (!token) throw new Error('the server printed no setup token (is the data directory fresh?)');
    if (!admin) return { url, token, stop };
    const res = await fetch(`${url}/api/auth/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token, ...admin }),
    });
    if (!res.ok) throw new Error(`creating the first admin failed: ${res.status} ${await res.text()}`);
    return { url, token, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Signs in over HTTP and returns a tiny client with the session cookie and CSRF token (for setup in benches). */
export async function apiClient(url, email, password) {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.getSetCookie?.() ?? [res.headers.get('set-cookie') ?? ''])
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = await res.json();
  return async (method, path, body) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, 'Content-Type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}
