#!/usr/bin/env node
// `npm start`: builds what is out of date, then serves FinFlow (the same as `finflow serve`; arguments such as
// `--port 8080` pass through). The TypeScript packages are built incrementally with `tsc -b`; the editor is
// rebuilt (`npm run build -w @finflow/editor`) when its sources, or the runtime modules it imports, are newer
// than its last build, and skipped when the editor has no build script yet.
//
// The server runs in this process. npm runs this script through `sh -c`, and when npm itself is stopped (by its
// PID, as a supervisor or a terminal does) it passes the signal to that shell, which exits without passing it on:
// this process would be left serving, owned by init. So it also stops, as on SIGTERM, when the process that
// started it is gone.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Read before the build, which may take a while: the parent may go during it.
const startedBy = process.ppid;
const require = createRequire(import.meta.url);

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return r.status ?? 1;
}

/** Newest modification time under `path` (files and folders, skipping node_modules and dist). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const tsc = require.resolve('typescript/bin/tsc');
process.stdout.write('finflow: building the TypeScript packages (tsc -b)\n');
const tscStatus = run(process.execPath, [tsc, '-b']);
const serveModule = join(root, 'server', 'dist', 'cli', 'serve.js');
if (tscStatus !== 0) {
  if (!existsSync(serveModule)) {
    process.stderr.write('finflow: the build failed and there is no server build to run\n');
    process.exit(tscStatus);
  }
  process.stderr.write('finflow: tsc reported errors (above); serving what it emitted\n');
}

const editor = join(root, 'editor');
const editorPackage = join(editor, 'package.json');
const editorScripts = existsSync(editorPackage)
  ? (JSON.parse(readFileSync(editorPackage, 'utf8')).scripts ?? {})
  : {};
if (editorScripts.build) {
  const built = join(editor, 'dist', 'index.html');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const sources = Math.max(
    ...[
      'src',
      'index.html',
      'public',
      'vite.config.ts',
      'vite.config.js',
      'package.json',
      'tsconfig.json',
    ].map((p) => newest(join(editor, p))),
    newest(join(root, 'runtime', 'src')),
  );
  if (sources > builtAt) {
    process.stdout.write('finflow: building the editor\n');
    const status = run(process.platform === 'win32' ? 'npm.cmd' : 'npm', [
      'run',
      'build',
      '-w',
      '@finflow/editor',
    ]);
    if (status !== 0) {
      if (!builtAt)
        process.stderr.write('finflow: the editor build failed; serving the API without the editor\n');
      else process.stderr.write('finflow: the editor build failed; serving its previous build\n');
    }
  }
} else {
  process.stdout.write('finflow: the editor has no build script yet; serving the API only\n');
}

/** Sends SIGTERM to this process once its parent has gone (it was re-parented), checking twice a second. */
function stopWithParent(parent) {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write('finflow: the process that started the server has gone; stopping\n');
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}

const { serveCommand } = await import(pathToFileURL(serveModule).href);
stopWithParent(startedBy);
process.exitCode = await serveCommand(process.argv.slice(2));
