/**
 * `finflow create-node <name>`: scaffolds a node package that passes its own tests at once: a `defineNode` file,
 * its test with `runNodeOk` (typed outputs, checked by `tsc` before vitest runs), `definePlugin` in the entry,
 * a README, and a package.json that declares the plugin (`"finflow": { "plugin": "./dist/index.js" }`) with the
 * SDK as a peer dependency. The server loads it from node_modules or its plugins folder; `finflow dev` reloads it.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError } from './main.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const createNodeUsage = `Usage: finflow create-node <package-name> [--dir <parent folder>] [--type <category.camelName>]

Creates <parent folder>/<name without scope>/ with a node, its test, a README and package.json.
Then: cd into it, npm install, npm test, and npx finflow dev . against a server started with FINFLOW_DEV_RELOAD=true.`;

/** npm's rules for a package name (lower case, URL-safe, optional scope). */
const packageName = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]{0,200}$/;

function words(name: string): string[] {
  const bare = name.replace(/^@[^/]+\//, '').replace(/^finflow-(?:node-|nodes-|plugin-)?/, '');
  return bare.split(/[^a-z0-9]+/).filter(Boolean);
}

const camel = (w: string[]) => w.map((x, i) => (i === 0 ? x : x[0]!.toUpperCase() + x.slice(1))).join('');
const title = (w: string[]) => w.map((x) => x[0]!.toUpperCase() + x.slice(1)).join(' ');

export interface Scaffold {
  dir: string;
  files: Record<string, string>;
  nodeType: string;
}

/** The files of a new node package (pure, so it can be checked without writing anything). */
export function scaffold(
  name: string,
  parent: string,
  options: { type?: string; sdkVersion?: string } = {},
): Scaffold {
  if (!packageName.test(name))
    throw new CliError(
      `${name} is not a valid npm package name (lower case, digits, - . _ ~, optional @scope/)`,
    );
  const w = words(name);
  if (!w.length || !/^[a-z]/.test(w[0]!))
    throw new CliError(`${name}: the name needs a word starting with a letter to name the node after`);
  const nodeType = options.type ?? `custom.${camel(w)}`;
  if (!/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/.test(nodeType))
    throw new CliError(`--type ${nodeType}: node types look like category.camelName`);
  const varName = `${camel(w)}Node`;
  const file = w.join('-');
  const pluginId = w.join('-');
  const dir = resolve(parent, name.replace(/^@[^/]+\//, ''));
  const sdk = `^${options.sdkVersion ?? '0.1.0'}`;

  const pkg = {
    name,
    version: '0.1.0',
    description: `${title(w)}: a FinFlow node`,
    type: 'module',
    license: 'UNLICENSED',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist', 'README.md'],
    finflow: { plugin: './dist/index.js' },
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      test: 'tsc -p tsconfig.json && vitest run',
      dev: 'finflow dev .',
    },
    peerDependencies: { '@finflow/sdk': sdk },
    devDependencies: {
      '@finflow/sdk': sdk,
      typescript: '^5.9.3',
      vitest: '^4.1.12',
      '@types/node': '^20.19.0',
    },
  };

  const compilerOptions = {
    target: 'ES2023',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: ['node'],
  };

  const node = `/** ${nodeType}: a fee as a percentage of an amount, never below a minimum. Replace with your own logic. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';

export const ${varName} = defineNode({
  type: '${nodeType}',
  version: 1,
  meta: {
    title: '${title(w)}',
    category: 'custom',
    description: 'Computes a fee as a percentage of an amount, with a minimum fee',
    zh: { title: '${title(w)}', description: '按金额百分比计算费用，不低于最低费用' },
  },
  config: z.object({
    ratePercent: z
      .number()
      .min(0)
      .max(100)
      .default(1.25)
      .meta({ title: 'Rate (%)', zh: { title: '费率（%）' } }),
    minimum: z
      .number()
      .min(0)
      .default(5)
      .meta({ title: 'Minimum fee', zh: { title: '最低费用' } }),
  }),
  inputs: { amount: port('number', { title: 'Amount' }) },
  outputs: {
    fee: port('number', { title: 'Fee' }),
    decision: port('decision', { title: 'Decision' }),
  },
  timeoutMs: 1_000,
  run(ctx, { amount }, { ratePercent, minimum }) {
    if (amount < 0) throw new NodeError(\`the amount \${amount} is negative\`, 'NEGATIVE_AMOUNT');
    const fee = Math.max(minimum, Math.round(amount * ratePercent) / 100);
    ctx.log.info('fee computed', { amount, fee });
    return {
      fee,
      decision: {
        outcome: fee === minimum ? 'minimum' : 'percentage',
        reasons: [\`\${ratePercent}% of \${amount}, at least \${minimum}\`],
      },
    };
  },
});
`;

  const test = `import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { describe, expect, it } from 'vitest';
import { ${varName} } from './${file}.node.js';

describe('${nodeType}', () => {
  it('charges the percentage above the minimum', async () => {
    const out = await runNodeOk(${varName}, { config: { ratePercent: 1.25, minimum: 5 }, inputs: { amount: 1000 } });
    // runNodeOk returns the declared outputs with their port types: fee is a number, decision.outcome a string.
    const fee: number = out.fee;
    const outcome: string = out.decision.outcome;
    expect(fee).toBe(12.5);
    expect(outcome).toBe('percentage');
  });

  it('never charges less than the minimum', async () => {
    const out = await runNodeOk(${varName}, { inputs: { amount: 10 } });
    expect(out.fee).toBe(5);
    expect(out.decision.reasons).toEqual(['1.25% of 10, at least 5']);
  });

  it('refuses a negative amount with its own error code', async () => {
    const r = await runNode(${varName}, { inputs: { amount: -1 } });
    expect(r.status).toBe('failed');
    expect(r.error?.code).toBe('NEGATIVE_AMOUNT');
  });

  it('refuses config outside its schema, as a flow would', async () => {
    const r = await runNode(${varName}, { config: { ratePercent: 250 }, inputs: { amount: 1 } });
    expect(r.error?.code).toBe('INVALID_CONFIG');
  });
});
`;

  const index = `/** The FinFlow plugin of ${name}: every node this package offers. */
import { definePlugin } from '@finflow/sdk';
import { ${varName} } from './${file}.node.js';

export const plugin = definePlugin({ id: '${pluginId}', nodes: [${varName}] });
export { ${varName} };
`;

  const readme = `# ${name}

A FinFlow node package: \`${nodeType}\` (${title(w)}), which computes a fee as a percentage of an amount with a
minimum fee. Replace it with your own node; keep one node per \`*.node.ts\` file and add each to \`src/index.ts\`.

## Develop

\`\`\`sh
npm install
npm test          # type-checks (runNodeOk returns the node's declared output types) and runs the tests
npm run build     # compiles to dist/
npx finflow dev . # rebuilds and reloads the package into a running server on every change
\`\`\`

\`finflow dev\` talks to a server started with \`FINFLOW_DEV_RELOAD=true\` (never in production) as an admin or
developer: set \`FINFLOW_URL\` (default http://127.0.0.1:3000), \`FINFLOW_EMAIL\` and \`FINFLOW_PASSWORD\`. Runs in
flight finish on the code they started with; new runs and the editor's palette use the new code.

## Install

The server loads this package when it is installed next to it (\`npm install ${name}\`: FinFlow finds packages
whose package.json declares \`"finflow": { "plugin": "./dist/index.js" }\`), when it is copied into the data
directory's \`plugins/\` folder, or when it is named in \`FINFLOW_PLUGINS\`. The catalog shows the package and
version of each node. A plugin runs inside the server with the server's rights: install only packages you trust.

## The node contract

- \`run(ctx, inputs, config)\`: inputs and outputs are typed by their port types; config comes from the zod schema
  (its \`.meta({ title, zh: { title } })\` labels the editor's form in English and Chinese).
- Errors are \`new NodeError(message, 'SCREAMING_SNAKE_CODE')\`; \`ctx.log\` writes to the run's log.
- \`@finflow/sdk\` is a peer dependency: the server provides it.
`;

  return {
    dir,
    nodeType,
    files: {
      'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
      'tsconfig.json': `${JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, include: ['src'] }, null, 2)}\n`,
      'tsconfig.build.json': `${JSON.stringify(
        {
          compilerOptions: {
            ...compilerOptions,
            outDir: 'dist',
            rootDir: 'src',
            declaration: true,
            sourceMap: true,
          },
          include: ['src'],
          exclude: ['src/**/*.test.ts'],
        },
        null,
        2,
      )}\n`,
      'vitest.config.mjs': `// The package's own test setup (so a parent folder's vitest config is never picked up).\nimport { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { include: ['src/**/*.test.ts'] } });\n`,
      '.gitignore': 'node_modules/\ndist/\n',
      'README.md': readme,
      'src/index.ts': index,
      [`src/${file}.node.ts`]: node,
      [`src/${file}.node.test.ts`]: test,
    },
  };
}

export function createNodeCommand(argv: string[], io: Io): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, type: { type: 'string' }, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split('\n')[0]}\n\n${createNodeUsage}`);
  }
  if (parsed.values.help) {
    io.out(createNodeUsage);
    return 0;
  }
  const [name] = parsed.positionals;
  if (!name || parsed.positionals.length > 1)
    throw new CliError(`create-node takes one package name\n\n${createNodeUsage}`);
  const made = scaffold(
    name,
    parsed.values.dir ?? process.cwd(),
    parsed.values.type ? { type: parsed.values.type } : {},
  );
  if (existsSync(made.dir) && readdirSync(made.dir).length > 0)
    throw new CliError(`${made.dir} exists and is not empty; choose another name or --dir`);
  for (const [path, text] of Object.entries(made.files)) {
    const full = join(made.dir, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  io.out(`created ${name} in ${made.dir} with the node ${made.nodeType}`);
  io.out(`next: cd ${made.dir} && npm install && npm test`);
  return 0;
}
