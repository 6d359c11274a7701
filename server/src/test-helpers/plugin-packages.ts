/**
 * Node plugin packages written for tests, in temporary folders inside the repository (so `@finflow/sdk` resolves
 * through the workspace's node_modules, as it would from an installed package).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A temporary folder under the repository root (removed by `remove`). */
export function repoTempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(repoRoot, `.tmp-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
}

/**
 * A plugin package with one node `<type>` that greets: `{ name: text } -> { text: text }`. The greeting lives in a
 * second module of the package, so a reload that picks it up proves the package's own imports are loaded anew.
 */
export function greetPackage(options: {
  name?: string;
  version?: string;
  id?: string;
  type?: string;
  title?: string;
  greeting?: string;
  /** Milliseconds the node waits before answering (runs in flight during a reload). */
  delayMs?: number;
  /**
   * Build the definition by hand with zod alone instead of the SDK: vitest loads files under node_modules with
   * Node's own loader, which cannot read the SDK's TypeScript sources that the tests resolve to.
   */
  withoutSdk?: boolean;
}): Record<string, string> {
  const {
    name = 'acme-greet',
    version = '1.0.0',
    id = 'acme-greet',
    type = 'acme.greet',
    title = 'Greet',
    greeting = 'Hello',
    delayMs = 0,
  } = options;
  if (options.withoutSdk) {
    return {
      'package.json': JSON.stringify(
        { name, version, type: 'module', finflow: { plugin: './index.mjs' } },
        null,
        2,
      ),
      'index.mjs': `import { z } from 'zod';
export const plugin = {
  id: ${JSON.stringify(id)},
  nodes: [{
    type: ${JSON.stringify(type)}, version: 1,
    meta: { title: ${JSON.stringify(title)}, category: 'custom', description: 'Greets a customer by name', zh: { title: '问候' } },
    config: z.object({}),
    inputs: { name: { type: 'text', required: true } },
    outputs: { text: { type: 'text', required: true } },
    timeoutMs: 1000,
    retry: { maxAttempts: 1, initialDelayMs: 0, backoff: 2, maxDelayMs: 0, nonRetryable: [] },
    run: (_ctx, { name }) => ({ text: ${JSON.stringify(greeting)} + ' ' + name }),
  }],
};
`,
    };
  }
  return {
    'package.json': JSON.stringify(
      { name, version, type: 'module', finflow: { plugin: './index.mjs' } },
      null,
      2,
    ),
    'greeting.mjs': `export const greeting = ${JSON.stringify(greeting)};\n`,
    'index.mjs': `import { defineNode, definePlugin, port, z } from '@finflow/sdk';
import { greeting } from './greeting.mjs';

export const plugin = definePlugin({
  id: ${JSON.stringify(id)},
  nodes: [
    defineNode({
      type: ${JSON.stringify(type)},
      version: 1,
      meta: { title: ${JSON.stringify(title)}, category: 'custom', description: 'Greets a customer by name', zh: { title: '问候' } },
      config: z.object({}),
      inputs: { name: port('text') },
      outputs: { text: port('text') },
      async run(ctx, { name }) {
        if (${delayMs} > 0) await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
        return { text: greeting + ' ' + name };
      },
    }),
  ],
});
`,
  };
}

/** A flow: input name -> the greet node -> output `text`. */
export function greetFlow(type = 'acme.greet') {
  return {
    schemaVersion: 1,
    id: 'greet',
    name: 'Greet a customer',
    nodes: [
      {
        id: 'in',
        type: 'io.input',
        version: 1,
        config: { schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      },
      { id: 'greet', type, version: 1, config: {} },
      { id: 'out', type: 'io.output', version: 1, config: { name: 'text' } },
    ],
    edges: [
      { id: 'e1', from: { node: 'in', port: 'name' }, to: { node: 'greet', port: 'name' } },
      { id: 'e2', from: { node: 'greet', port: 'text' }, to: { node: 'out', port: 'value' } },
    ],
  };
}
