/**
 * `npm start` as a newcomer runs it from a clone: the first-start hint names the command that works there
 * (`npx finflow admin create`), and stopping npm by its PID (as a supervisor, or `kill <pid>`, does) stops the
 * server too, instead of leaving `node scripts/start.mjs` serving on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'finflow-start-'));
let npm: ChildProcess | undefined;

afterAll(() => {
  if (npm?.pid && npm.exitCode === null) npm.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Whether a process runs (a zombie waiting to be reaped has ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of `pid`'s descendants, read from /proc (Linux). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields after the last ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf)
      if (parent === p) {
        out.push(child);
        walk(child);
      }
  };
  walk(pid);
  return out;
}

describe.runIf(process.platform === 'linux')('npm start', () => {
  it('prints the npx command for the first admin, and stops with npm', { timeout: 240_000 }, async () => {
    npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /serving at (http:\/\/\S+)/.exec(out);
        if (m?.[1]) {
          clearInterval(timer);
          resolve(m[1]);
        }
      }, 100);
      npm?.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`npm start exited with ${code}:\n${out}`));
      });
    });
    expect(out).toContain('npx finflow admin create --email');
    expect(out).toMatch(/one-time setup token/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const server = descendants(npm.pid as number);
    expect(server.length).toBeGreaterThan(0);
    process.kill(npm.pid as number, 'SIGTERM');
    // Every process npm started ends, and nothing answers on the port any more.
    const deadline = Date.now() + 30_000;
    while (server.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(server.filter(alive)).toEqual([]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
