import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { builtinNodes } from '@finflow/nodes';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverPlugins } from '../plugins.js';
import { repoTempDir } from '../test-helpers/plugin-packages.js';
import { scaffold } from './create-node.js';
import { main } from './main.js';

const run = promisify(execFile);
const temp = repoTempDir('create-node');
afterAll(() => temp.remove());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

describe('finflow create-node', () => {
  it('scaffolds a package that passes its own tests (types checked), builds, and loads as a plugin', async () => {
    const c = capture();
    expect(await main(['create-node', '@bank/fee-calc', '--dir', temp.dir], c.io)).toBe(0);
    const dir = join(temp.dir, 'fee-calc');
    expect(c.out[0]).toBe(`created @bank/fee-calc in ${dir} with the node custom.feeCalc`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: '@bank/fee-calc',
      finflow: { plugin: './dist/index.js' },
      peerDependencies: { '@finflow/sdk': '^0.1.0' },
    });
    expect(readFileSync(join(dir, 'src/fee-calc.node.test.ts'), 'utf8')).toMatch(/runNodeOk\(feeCalcNode/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/npx finflow dev \./);

    // Its own test script: tsc (runNodeOk's typed outputs must type-check) and then vitest.
    const test = await run('npm', ['test', '--silent'], { cwd: dir, timeout: 180_000 });
    expect(`${test.stdout}${test.stderr}`).toMatch(/4 passed/);

    await run('npm', ['run', 'build', '--silent'], { cwd: dir, timeout: 120_000 });
    expect(existsSync(join(dir, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist/fee-calc.node.test.js'))).toBe(false);
    const { plugins, failures } = await discoverPlugins({
      specs: [dir],
      nodeModules: false,
      taken: builtinNodes,
    });
    expect(failures).toEqual([]);
    expect(plugins.map((p) => [p.id, p.package, p.version, p.nodes.map((n) => n.type)])).toEqual([
      ['fee-calc', '@bank/fee-calc', '0.1.0', ['custom.feeCalc']],
    ]);
  }, 300_000);

  it('a wrongly typed use of the outputs fails the package tests at the type check', async () => {
    const c = capture();
    expect(await main(['create-node', 'finflow-node-fx-margin', '--dir', temp.dir], c.io)).toBe(0);
    const dir = join(temp.dir, 'finflow-node-fx-margin');
    const testFile = join(dir, 'src/fx-margin.node.test.ts');
    writeFileSync(
      testFile,
      readFileSync(testFile, 'utf8').replace('const fee: number = out.fee;', 'const fee: string = out.fee;'),
    );
    const failed = await run('npm', ['test', '--silent'], { cwd: dir, timeout: 180_000 }).then(
      () => undefined,
      (err: { stdout: string; stderr: string }) => `${err.stdout}${err.stderr}`,
    );
    expect(failed).toMatch(/Type 'number' is not assignable to type 'string'/);
  }, 300_000);

  it('refuses names npm would refuse and folders that are not empty', async () => {
    expect(() => scaffold('Bad Name', temp.dir)).toThrow(/not a valid npm package name/);
    expect(() => scaffold('../escape', temp.dir)).toThrow(/not a valid npm package name/);
    expect(() => scaffold('@scope/-', temp.dir)).toThrow(
      /not a valid npm package name|a word starting with a letter/,
    );
    expect(() => scaffold('ok-name', temp.dir, { type: 'NotAType' })).toThrow(/category.camelName/);
    expect(scaffold('finflow-node-loan-limit', temp.dir).nodeType).toBe('custom.loanLimit');
    const c = capture();
    expect(await main(['create-node', '@bank/fee-calc', '--dir', temp.dir], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/exists and is not empty/);
    expect(await main(['create-node'], capture().io)).toBe(2);
  });
});
