/**
 * `finflow dev <package dir>`: the developer loop for a node package. Builds the package (its `build` script, if it
 * has one), asks a running server to reload it (`POST /api/plugins/reload`, as an admin or developer, on a server
 * started with FINFLOW_DEV_RELOAD=true), then watches the package and does both again on every change. The
 * editor's palette and new runs use the new code without a restart; runs in flight finish on the old.
 */
import { spawn } from 'node:child_process';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { pluginEntryOf } from '../plugins.js';
import { CliError } from './main.js';
import { sessionFromEnv } from './session.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const devUsage = `Usage: finflow dev <package dir> [--server <url>] [--once]

Builds the node package, reloads it into a running server, and does it again whenever a file changes.
The server must run with FINFLOW_DEV_RELOAD=true. Sign-in: FINFLOW_EMAIL and FINFLOW_PASSWORD (an admin or
developer); the server: --server or FINFLOW_URL (default http://127.0.0.1:3000). --once: build and reload once.`;

/** Runs the package's build script; resolves with whether it succeeded. */
function build(dir: string, io: Io): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => {
      io.err(`build failed to start: ${err.message}`);
      done(false);
    });
    child.on('close', (code) => {
      if (code !== 0) io.err(`build failed (exit ${code}):\n${output.trim()}`);
      done(code === 0);
    });
  });
}

function hasBuildScript(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      scripts?: Record<string, unknown>;
    };
    return typeof pkg.scripts?.['build'] === 'string';
  } catch {
    return false;
  }
}

/** Files whose change should not trigger a rebuild: outputs, dependencies, editor litter. */
function ignored(dir: string, file: string): boolean {
  const rel = relative(dir, resolve(dir, file));
  const top = rel.split(sep)[0] ?? '';
  return (
    ['node_modules', 'dist', '.git', 'coverage'].includes(top) ||
    /(^|[/\\])\.|~$|\.swp$|\.tsbuildinfo$/.test(rel)
  );
}

export async function devCommand(
  argv: string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { server: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]}\n\n${devUsage}`);
  }
  if (parsed.values.help) {
    io.out(devUsage);
    return 0;
  }
  const [dirArg] = parsed.positionals;
  if (!dirArg || parsed.positionals.length > 1)
    throw new CliError(`dev takes one package folder\n\n${devUsage}`);
  const dir = resolve(dirArg);
  if (!pluginEntryOf(dir))
    throw new CliError(
      `${dir}: no package.json declaring "finflow": { "plugin": "./dist/index.js" } (see finflow create-node)`,
    );
  const session = sessionFromEnv(
    parsed.values.server,
    env,
    '(an admin or developer of the server) to reload plugins',
  );
  const withBuild = hasBuildScript(dir);

  const cycle = async (): Promise<boolean> => {
    if (withBuild && !(await build(dir, io))) return false;
    let answer;
    try {
      answer = await session.post('/api/plugins/reload', { dir });
    } catch (err) {
      if (err instanceof CliError) throw err;
      io.err(`the server at ${session.base} did not answer: ${(err as Error).message}`);
      return false;
    }
    if (answer.status !== 200) {
      const error = answer.body['error'] as { code?: string; message?: string } | undefined;
      io.err(
        `reload refused (${answer.status} ${error?.code ?? ''}): ${error?.message ?? 'no reason given'}`,
      );
      if (answer.status === 401 || answer.status === 403)
        throw new CliError(error?.message ?? 'not allowed', 1);
      return false;
    }
    const r = answer.body as {
      plugin: { package: string; version: string; nodes: unknown[] };
      added: string[];
      removed: string[];
    };
    const changes = [
      r.added.length ? `added ${r.added.join(', ')}` : '',
      r.removed.length ? `removed ${r.removed.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    io.out(
      `reloaded ${r.plugin.package}@${r.plugin.version}: ${r.plugin.nodes.length} node${r.plugin.nodes.length === 1 ? '' : 's'}${changes ? ` (${changes})` : ''}`,
    );
    if (r.removed.length) io.err(`flows using ${r.removed.join(', ')} no longer validate until they change`);
    return true;
  };

  const first = await cycle();
  if (parsed.values.once) return first ? 0 : 1;

  io.out(`watching ${dir} (Ctrl-C to stop)`);
  return new Promise<number>((done) => {
    let timer: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;
    const trigger = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            await cycle();
          } while (again);
        } catch (err) {
          io.err(`finflow dev: ${(err as Error).message}`);
          stop(1);
        } finally {
          running = false;
        }
      }, 150);
    };
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { recursive: true }, (_event, file) => {
        if (file && !ignored(dir, file.toString())) trigger();
      });
    } catch (err) {
      throw new CliError(`cannot watch ${dir}: ${(err as Error).message}`, 1);
    }
    const stop = (code: number) => {
      clearTimeout(timer);
      watcher.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      done(code);
    };
    const onSignal = () => stop(0);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
