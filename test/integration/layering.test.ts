import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('keeps frameworks out of the runtime and nodes', async () => {
    expect(
      await restricted('runtime/src/x.ts', "import express from 'express';\nexport const a = express;\n"),
    ).toHaveLength(1);
    expect(
      await restricted(
        'nodes/builtin/src/risk/x.ts',
        "import { useState } from 'react';\nexport const a = useState;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'nodes/builtin/src/risk/x.ts',
        "import { Server } from 'socket.io';\nexport const a = Server;\n",
      ),
    ).toHaveLength(1);
  });

  it('keeps the runtime from importing what is built on it', async () => {
    expect(
      await restricted(
        'runtime/src/x.ts',
        "import { builtinNodes } from '@finflow/nodes';\nexport const a = builtinNodes;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted('runtime/src/x.ts', "import { x } from '@finflow/server';\nexport const a = x;\n"),
    ).toHaveLength(1);
  });

  it('lets the editor use the pure runtime modules only', async () => {
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { canConnect } from '@finflow/runtime/ports';\nexport const a = canConnect;\n",
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { rocAuc } from '@finflow/runtime/evaluation';\nexport const a = rocAuc;\n",
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { createRuntime } from '@finflow/runtime';\nexport const a = createRuntime;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { builtinNodes } from '@finflow/nodes';\nexport const a = builtinNodes;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { startServer } from '../../server/src/app.js';\nexport const a = startServer;\n",
      ),
    ).toHaveLength(1);
  });

  it('keeps the API contract pure, and lets the editor use it', async () => {
    expect(
      await restricted(
        'contract/src/x.ts',
        "import { z } from 'zod';\nimport type { RunState } from '@finflow/runtime/events';\nexport const a = z;\nexport type B = RunState;\n",
      ),
    ).toEqual([]);
    expect(
      await restricted(
        'contract/src/x.ts',
        "import { createRuntime } from '@finflow/runtime';\nexport const a = createRuntime;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted('contract/src/x.ts', "import express from 'express';\nexport const a = express;\n"),
    ).toHaveLength(1);
    expect(
      await restricted(
        'contract/src/x.ts',
        "import { reply } from '../../server/src/routes/common.js';\nexport const a = reply;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restricted(
        'editor/src/x.ts',
        "import { sessionSchema } from '@finflow/contract';\nexport const a = sessionSchema;\n",
      ),
    ).toEqual([]);
    // A node that calls another FinFlow server's API (the federated coordinator) parses its answers with the
    // contract's schemas, the same ones that server's routes parse requests with.
    expect(
      await restricted(
        'nodes/builtin/src/risk/federated/x.ts',
        "import { joinResponseSchema } from '@finflow/contract';\nexport const a = joinResponseSchema;\n",
      ),
    ).toEqual([]);
  });

  it('allows the server to build on everything below it', async () => {
    expect(
      await restricted(
        'server/src/x.ts',
        "import { createRuntime } from '@finflow/runtime';\nimport express from 'express';\nexport const a = [createRuntime, express];\n",
      ),
    ).toEqual([]);
  });
});
