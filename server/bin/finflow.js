#!/usr/bin/env node
// The `finflow` command. The CLI is compiled TypeScript in ../dist (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error(
    'finflow: the CLI is not built yet; run `npm install` (or `npm run build`) at the repository root.',
  );
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
