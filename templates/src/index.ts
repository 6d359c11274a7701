/**
 * The scenario templates: each `templates/<id>/` folder holds `template.json` (gallery metadata), `flow.json`,
 * `README.md` and `fixtures/` (`<name>.json` inputs, `<name>.expected.json` expected outputs, and for a case a
 * person reviews, `<name>.review.json`: the reviewers' decisions by node id).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const localized = z.object({ en: z.string().min(1), zh: z.string().min(1) }).strict();

export const templateMetaSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/),
    title: localized,
    description: localized,
    scenario: z.string().min(1),
    tags: z.array(z.string()).default([]),
    icon: z.string().min(1),
    /** Regulations the template follows, for the gallery and README. */
    regulations: z.array(z.string()).default([]),
  })
  .strict();
export type TemplateMeta = z.output<typeof templateMetaSchema>;

export interface TemplateFixture {
  name: string;
  /** Path of the input file (what `finflow run <id> --input <file>` takes). */
  file: string;
  input: unknown;
  /** Expected outputs, when the fixture has a `<name>.expected.json`. */
  expected?: unknown;
  /**
   * For a case that waits for a human review: the decision each waiting node is resumed with, by node id, from
   * `<name>.review.json` (the shape `human.review` takes: action, outcome, reason, reviewers, decidedAt).
   */
  decisions?: Record<string, unknown>;
}

export interface Template {
  meta: TemplateMeta;
  dir: string;
  flow: Record<string, unknown>;
  fixtures: TemplateFixture[];
}

/** The folder that holds the template folders (the package root). */
export const templatesRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function loadTemplate(dir: string): Template {
  const metaResult = templateMetaSchema.safeParse(readJson(join(dir, 'template.json')));
  if (!metaResult.success) {
    throw new Error(
      `${join(dir, 'template.json')}: ${metaResult.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const flow = readJson(join(dir, 'flow.json')) as Record<string, unknown>;
  const fixturesDir = join(dir, 'fixtures');
  const fixtures: TemplateFixture[] = [];
  if (existsSync(fixturesDir)) {
    for (const file of readdirSync(fixturesDir).sort()) {
      if (!file.endsWith('.json') || file.endsWith('.expected.json') || file.endsWith('.review.json'))
        continue;
      const name = file.slice(0, -'.json'.length);
      const path = join(fixturesDir, file);
      const fixture: TemplateFixture = { name, file: path, input: readJson(path) };
      const expectedPath = join(fixturesDir, `${name}.expected.json`);
      if (existsSync(expectedPath)) fixture.expected = readJson(expectedPath);
      const reviewPath = join(fixturesDir, `${name}.review.json`);
      if (existsSync(reviewPath)) fixture.decisions = readJson(reviewPath) as Record<string, unknown>;
      fixtures.push(fixture);
    }
  }
  return { meta: metaResult.data, dir, flow, fixtures };
}

/** Every template under `root`, sorted by id. */
export function listTemplates(root: string = templatesRoot): Template[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'template.json')))
    .map((d) => loadTemplate(join(root, d.name)))
    .sort((a, b) => a.meta.id.localeCompare(b.meta.id));
}

export function getTemplate(id: string, root: string = templatesRoot): Template | undefined {
  const dir = join(root, id);
  return /^[a-z][a-z0-9-]*$/.test(id) && existsSync(join(dir, 'template.json'))
    ? loadTemplate(dir)
    : undefined;
}
