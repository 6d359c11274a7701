/** Starting server processes (real `node` children running the TypeScript sources) for restart and CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const loader = fileURLToPath(new URL('./ts-loader.mjs', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function spawnTs(entry: string, args: string[], env: Record<string, string>): ChildProcess {
  const file = fileURLToPath(new URL(entry, import.meta.url));
  return spawn(process.execPath, ['--conditions=source', '--import', loader, file, ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and resolves when a line matches. */
export function waitForLine<T>(
  child: ChildProcess,
  match: (line: string) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error(`no expected output in ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const found = match(line);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the process exited (${code}) before the expected output; stderr: ${stderr}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  setupToken: string | null;
}

export async function startChildServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child = spawnTs('./child-server.ts', [], {
    FINFLOW_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
  const ready = await waitForLine(child, (line) => {
    if (!line.startsWith('{"finflowTest"')) return undefined;
    return (JSON.parse(line) as { finflowTest: { url: string; setupToken: string | null } }).finflowTest;
  });
  return { child, ...ready };
}
