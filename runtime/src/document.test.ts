import { describe, expect, it } from 'vitest';
import {
  contrastRatio,
  flowDocumentJsonSchema,
  flowDocumentSchema,
  migrateFlowDocument,
  NOTE_TEXT_COLOR,
  noteColorName,
  noteColors,
  notesOffNodes,
  type Box,
} from './document.js';
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

describe('sticky-note colours', () => {
  it('draws names, palette hex and any older colour from the readable palette', () => {
    expect(noteColorName('blue')).toBe('blue');
    expect(noteColorName('gray')).toBe('grey');
    expect(noteColorName('#dcfce7')).toBe('green');
    // Saturated colours from older documents become the pale entry of their hue.
    expect(noteColorName('#0000ff')).toBe('blue');
    expect(noteColorName('#ffff00')).toBe('yellow');
    expect(noteColorName('#008000')).toBe('green');
    expect(noteColorName('#808080')).toBe('grey');
    expect(noteColorName('not a colour')).toBe('yellow');
    expect(noteColorName(undefined)).toBe('yellow');
    for (const bg of Object.values(noteColors))
      expect(contrastRatio(bg, NOTE_TEXT_COLOR)).toBeGreaterThanOrEqual(7);
    // The check itself: saturated blue under the same text fails AA.
    expect(contrastRatio('#0000ff', NOTE_TEXT_COLOR)).toBeLessThan(4.5);
  });

  it('moves a note that covers a node above the nodes, clear of the other notes', () => {
    const nodes = [
      { x: 0, y: 0, width: 232, height: 120 },
      { x: 300, y: 0, width: 232, height: 120 },
    ];
    const notes = [
      { id: 'a', x: 10, y: 20, width: 300, height: 200 },
      { id: 'b', x: 280, y: -10, width: 300, height: 200 },
      { id: 'c', x: 900, y: 0, width: 200, height: 100 },
    ];
    const moved = notesOffNodes(notes, nodes);
    expect([...moved.keys()]).toEqual(['a', 'b']);
    const boxes = [...moved.values()];
    for (const m of boxes) for (const n of nodes) expect(m.y + m.height).toBeLessThanOrEqual(n.y);
    const [a, b] = boxes as [Box, Box];
    expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y).toBe(true);
  });
});
