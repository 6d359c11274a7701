/**
 * External programs of the multimodal nodes (Debian pocketsphinx, sox, pdftoppm): where to find them, and one
 * way to run them that a node's signal can stop (the child is killed on abort, so a cancelled or timed-out run
 * leaves no recogniser burning CPU) and that never lets a missing program or a crash escape as anything but
 * a NodeError.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { NodeError, type Services } from '@finflow/sdk';

export interface MultimodalServices {
  /** Paths of external programs; by default they are looked up on PATH. */
  tools?: { pocketsphinx?: string; sox?: string; pdftoppm?: string };
  /** Folder of the pocketsphinx English model (default: Debian's /usr/share/pocketsphinx/model/en-us). */
  pocketsphinxModelDir?: string;
}

declare module '@finflow/runtime' {
  interface Services {
    multimodal?: MultimodalServices;
  }
}

export type ToolName = 'pocketsphinx' | 'sox' | 'pdftoppm';

const executables: Record<ToolName, string> = {
  pocketsphinx: 'pocketsphinx_continuous',
  sox: 'sox',
  pdftoppm: 'pdftoppm',
};

/** The Debian packages that provide each program, for error messages that say what to install. */
export const debianPackages: Record<ToolName, string> = {
  pocketsphinx: 'pocketsphinx pocketsphinx-en-us',
  sox: 'sox libsox-fmt-all',
  pdftoppm: 'poppler-utils',
};

const found = new Map<string, Promise<string | undefined>>();

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of a program, or undefined when it is not installed. */
export function findTool(name: ToolName, services?: Partial<Services>): Promise<string | undefined> {
  const override = services?.multimodal?.tools?.[name];
  if (override !== undefined) return isExecutable(override).then((ok) => (ok ? override : undefined));
  const exe = executables[name];
  let hit = found.get(exe);
  if (!hit) {
    hit = (async () => {
      for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
        if (dir && (await isExecutable(join(dir, exe)))) return join(dir, exe);
      }
      return undefined;
    })();
    found.set(exe, hit);
  }
  return hit;
}

export interface ToolRun {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion. Exit status other than 0 becomes `failCode`; abort kills the child and
 * rejects with the signal's reason (the runtime turns it into TIMEOUT or CANCELLED).
 */
export function runTool(
  path: string,
  args: readonly string[],
  opts: { signal: AbortSignal; failCode: string; what: string; maxOutputBytes?: number },
): Promise<ToolRun> {
  const max = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const child = spawn(path, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(opts.signal.reason));
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        child.kill('SIGKILL');
        finish(() => reject(new NodeError(`${opts.what} produced more output than expected`, opts.failCode)));
      } else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Only the tail of stderr is kept: it is where programs say what went wrong.
      errBytes += chunk.length;
      err.push(chunk);
      while (errBytes > 64 * 1024 && err.length > 1) errBytes -= err.shift()!.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new NodeError(
            e.code === 'ENOENT'
              ? `${opts.what} is not installed (${path})`
              : `${opts.what} could not start: ${e.message}`,
            opts.failCode,
          ),
        ),
      ),
    );
    child.on('close', (code, signal) =>
      finish(() => {
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr });
        else {
          const tail = stderr.trim().split('\n').slice(-3).join(' | ');
          reject(
            new NodeError(
              `${opts.what} failed (${signal ?? `exit ${code}`})${tail ? `: ${tail.slice(0, 400)}` : ''}`,
              opts.failCode,
            ),
          );
        }
      }),
    );
  });
}

/** Runs `fn` with a fresh private temporary folder that is removed afterwards, whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'finflow-mm-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
