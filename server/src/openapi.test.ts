/**
 * The OpenAPI documents of published endpoints are valid OpenAPI 3.1, as two maintained validators judge them
 * (Swagger Parser, and Redocly's linter with its recommended rules), for every template published as an endpoint;
 * and a client generated from one (openapi-typescript types + openapi-fetch) type-checks and calls the endpoint.
 * The answers the document describes are generated from the contract's schemas, and real answers parse with them.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointAcceptedSchema, endpointResultSchema, endpointRunSchema } from '@finflow/contract';
import { listTemplates } from '@finflow/templates';
import { publishedSchema } from './openapi.js';
import {
  setupAdmin,
  startTestServer,
  type Client,
  type Loose,
  type TestServer,
} from './test-helpers/harness.js';

let t: TestServer;
let admin: Client;
let key: string;
const templates = listTemplates();
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(async () => {
  t = await startTestServer();
  admin = await setupAdmin(t);
  for (const tpl of templates) {
    const created = await admin.post('/api/flows', { templateId: tpl.meta.id });
    if (created.status !== 201) throw new Error(`${tpl.meta.id}: ${created.text}`);
    const published = await admin.post('/api/endpoints', {
      flowId: created.body.flow.id,
      version: 1,
      slug: tpl.meta.id,
    });
    if (published.status !== 201) throw new Error(`${tpl.meta.id}: ${published.text}`);
  }
  key = (await admin.post('/api/keys', { name: 'openapi client', endpoints: '*' })).body.key as string;
}, 120_000);
afterAll(async () => {
  await t.destroy();
});

async function openapiOf(slug: string): Promise<Loose> {
  const res = await fetch(`${t.url}/v1/endpoints/${slug}/openapi.json`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** The `language` property of the first schema (depth first) that declares one. */
function findLanguage(value: unknown): Loose | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const props = (value as Loose).properties as Loose | undefined;
  if (props?.language) return props.language as Loose;
  for (const v of Object.values(value)) {
    const found = findLanguage(v);
    if (found) return found;
  }
  return undefined;
}

describe('endpoint OpenAPI documents', () => {
  it('publishes the editor’s Chinese titles as x-zh, and leaves a property named zh alone', () => {
    const schema = {
      type: 'object',
      zh: { title: '申请' },
      properties: {
        zh: { type: 'string', zh: { title: '中文' } },
        items: { type: 'array', items: { type: 'object', zh: { description: '条目' } } },
      },
      anyOf: [{ required: ['zh'], zh: { title: '甲' } }],
    };
    expect(publishedSchema(schema)).toEqual({
      type: 'object',
      'x-zh': { title: '申请' },
      properties: {
        zh: { type: 'string', 'x-zh': { title: '中文' } },
        items: { type: 'array', items: { type: 'object', 'x-zh': { description: '条目' } } },
      },
      anyOf: [{ required: ['zh'], 'x-zh': { title: '甲' } }],
    });
  });

  it.each(templates.map((tpl) => tpl.meta.id))(
    '%s: callers see the optional language of the texts (zh or en) in the request body',
    async (slug) => {
      const doc = await openapiOf(slug);
      const post = Object.values(doc.paths as Record<string, Loose>).find((p) => p.post)?.post as Loose;
      const body = JSON.stringify(post.requestBody);
      // The flow's input schema is the request body's: its language field keeps its enum and Chinese title.
      const language = findLanguage(JSON.parse(body) as unknown);
      expect(language?.enum).toEqual(['zh', 'en']);
      expect(language?.['x-zh']?.title).toMatch(/语言/);
    },
  );

  it.each(templates.map((tpl) => tpl.meta.id))('%s: Swagger Parser validates it', async (slug) => {
    const doc = await openapiOf(slug);
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
  });

  it.each(templates.map((tpl) => tpl.meta.id))(
    '%s: Redocly lints it clean with the recommended rules',
    async (slug) => {
      const doc = await openapiOf(slug);
      const config = await createConfig({ extends: ['recommended'] });
      const problems = await lintFromString({
        source: JSON.stringify(doc),
        absoluteRef: `${t.url}/v1/endpoints/${slug}/openapi.json`,
        config,
      });
      expect(
        problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`),
      ).toEqual([]);
    },
  );

  it('answers as the contract schemas its document is generated from: a result, a 202, a polled run', async () => {
    const slug = 'credit-approval';
    const doc = await openapiOf(slug);
    const schemas = doc.components.schemas as Record<string, Loose>;
    // Generated, not hand-written: what the server sends (a 202 of a reviewed call carries outputs) is documented.
    expect(Object.keys(schemas['Accepted'].properties)).toEqual(Object.keys(endpointAcceptedSchema.shape));
    expect(schemas['Run'].required).toEqual([
      'runId',
      'status',
      'flowVersion',
      'startedAt',
      'finishedAt',
      'ms',
    ]);
    expect(schemas['Result'].properties.outputs).toEqual({ $ref: '#/components/schemas/Outputs' });
    expect(Object.keys(schemas['Outputs'].properties).length).toBeGreaterThan(0);

    const input = templates.find((tpl) => tpl.meta.id === slug)?.fixtures[0]?.input;
    const call = (query = '') =>
      fetch(`${t.url}/v1/endpoints/${slug}${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
    const sync = await call();
    expect(sync.status).toBe(200);
    const result = endpointResultSchema.strict().parse(await sync.json());
    expect(Object.keys(result.outputs).length).toBeGreaterThan(0);

    const async = await call('?mode=async');
    expect(async.status).toBe(202);
    const accepted = endpointAcceptedSchema.strict().parse(await async.json());
    expect(accepted.status).toBe('running');
    let run = endpointRunSchema
      .strict()
      .parse(
        await (
          await fetch(`${t.url}${accepted.url}`, { headers: { authorization: `Bearer ${key}` } })
        ).json(),
      );
    for (let i = 0; i < 200 && (run.status === 'running' || run.status === 'queued'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = endpointRunSchema
        .strict()
        .parse(
          await (
            await fetch(`${t.url}${accepted.url}`, { headers: { authorization: `Bearer ${key}` } })
          ).json(),
        );
    }
    expect(run.status).toBe('succeeded');
    expect(Object.keys(run.outputs ?? {}).sort()).toEqual(Object.keys(result.outputs).sort());
  }, 60_000);

  it('generates a typed client (openapi-typescript + openapi-fetch) that calls the published endpoint', async () => {
    const slug = 'credit-approval';
    const doc = await openapiOf(slug);
    const types = astToString(await openapiTS(doc));
    // Under node_modules/.cache, so the generated module resolves openapi-fetch like any file of the repo.
    const dir = join(repoRoot, 'node_modules', '.cache', `finflow-openapi-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, 'api.d.ts'), types);
      const fixture = templates.find((tpl) => tpl.meta.id === slug)?.fixtures[0]?.input;
      const client = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function call(baseUrl: string, key: string, body: paths['/v1/endpoints/${slug}']['post']['requestBody']['content']['application/json']) {
  // JSON answers (the same operation streams server-sent events with Accept: text/event-stream).
  const client = createClient<paths, 'application/json'>({ baseUrl, headers: { Authorization: \`Bearer \${key}\` } });
  const { data, error, response } = await client.POST('/v1/endpoints/${slug}', { body });
  if (error) throw new Error(\`\${response.status}: \${JSON.stringify(error)}\`);
  // 202 (the async mode) answers a run to poll, without outputs.
  if (!('outputs' in data)) throw new Error(\`answered \${response.status} without outputs\`);
  // Typed from the document: a run id, the version that answered, and the flow's outputs.
  const runId: string = data.runId;
  const version: number = data.flowVersion;
  return { runId, version, outputs: data.outputs };
}
`;
      writeFileSync(join(dir, 'client.ts'), client);
      const program = ts.createProgram([join(dir, 'client.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        skipLibCheck: true,
      });
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);

      const js = ts.transpileModule(client, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(dir, 'client.mjs'), js);
      const { call } = (await import(pathToFileURL(join(dir, 'client.mjs')).href)) as {
        call: (base: string, key: string, body: unknown) => Promise<Loose>;
      };
      const answer = await call(t.url, key, fixture);
      expect(answer.runId).toEqual(expect.any(String));
      expect(answer.version).toBe(1);
      expect(Object.keys(answer.outputs).length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
