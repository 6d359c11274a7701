import { describe, expect, it } from 'vitest';
import { flowDocumentJsonSchema, flowDocumentSchema, migrateFlowDocument } from './document.js';
import { validateJsonSchema } from './json-schema.js';

const doc = {
  schemaVersion: 1,
  id: 'credit',
  name: 'Credit',
  nodes: [{ id: 'in', type: 'io.input', version: 1, config: {}, ui: { position: { x: 0, y: 0 } } }],
  edges: [],
};

describe('flow document', () => {
  it('parses a document and fills defaults', () => {
    const parsed = flowDocumentSchema.parse(doc);
    expect(parsed.description).toBe('');
  });

  it('exports a JSON Schema that accepts valid documents and rejects invalid ones', () => {
    const schema = flowDocumentJsonSchema();
    expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(validateJsonSchema(schema, doc)).toEqual([]);
    expect(validateJsonSchema(schema, { ...doc, nodes: [{ id: 'x' }] }).length).toBeGreaterThan(0);
    expect(validateJsonSchema(schema, { ...doc, extra: true }).length).toBeGreaterThan(0);
  });

  it('migrates older documents step by step and refuses newer ones', () => {
    const migrations = {
      1: (d: Record<string, unknown>) => ({ ...d, title: d['name'] }),
      2: (d: Record<string, unknown>) => ({ ...d, renamed: true }),
    };
    expect(migrateFlowDocument(doc, migrations, 3)).toEqual({
      ok: true,
      document: { ...doc, title: 'Credit', renamed: true, schemaVersion: 3 },
      migratedFrom: 1,
    });
    expect(migrateFlowDocument({ ...doc, schemaVersion: 2 }, {}, 3)).toEqual({
      ok: false,
      message: 'no migration from schemaVersion 2 to 3',
    });
    expect(migrateFlowDocument({ ...doc, schemaVersion: 4 }, migrations, 3)).toMatchObject({ ok: false });
    expect(migrateFlowDocument({ ...doc, schemaVersion: undefined })).toMatchObject({ ok: false });
    expect(migrateFlowDocument(doc)).toEqual({ ok: true, document: doc });
  });
});

describe('exported JSON Schema file', () => {
  it('runtime/flow-document.schema.json is up to date (regenerate with `npx finflow schema > runtime/flow-document.schema.json`)', async () => {
    const { readFileSync } = await import('node:fs');
    const file = JSON.parse(readFileSync(new URL('../flow-document.schema.json', import.meta.url), 'utf8'));
    expect(file).toEqual(flowDocumentJsonSchema());
  });
});
