// Builds the packages, then runs the benchmarks (all, or those whose file name contains an argument).
// Each benchmark prints a Markdown table; the figures are recorded in bench/README.md.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const filters = process.argv.slice(2);
execFileSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)))
  .sort();
for (const file of benches) {
  console.log(`\n## ${file}\n`);
  execFileSync(process.execPath, ['--expose-gc', join(here, file)], { cwd: root, stdio: 'inherit' });
}
