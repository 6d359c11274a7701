import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FlowDocument } from '../api/types.js';
import { layoutPositions } from './layout.js';
import { fromDocument, NODE_SIZE, noteViewId, type Size } from './model.js';

const antiFraud = JSON.parse(
  readFileSync(new URL('../../../templates/anti-fraud/flow.json', import.meta.url), 'utf8'),
) as FlowDocument;

function overlap(
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number; width: number; height: number },
) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

describe('auto-layout', () => {
  it('moves a note that a laid-out node would sit under, and leaves the others where they were', () => {
    const doc = fromDocument(antiFraud);
    const measured = new Map<string, Size>(doc.nodes.map((n) => [n.id, { width: 232, height: 180 }]));
    const before = layoutPositions(doc, measured);
    // A note dropped where the fraud model lands.
    const model = before.get('fraudModel');
    if (!model) throw new Error('no fraudModel');
    const notes = [
      ...doc.notes,
      { id: 'over', text: 'Model notes', position: { ...model }, width: 300, height: 200 },
    ];
    const positions = layoutPositions({ ...doc, notes }, measured);
    const nodeBoxes = doc.nodes.map((n) => ({
      ...(positions.get(n.id) ?? n.ui.position),
      ...NODE_SIZE,
      height: 180,
    }));
    for (const note of notes) {
      const p = positions.get(noteViewId(note.id)) ?? note.position;
      const box = { ...p, width: note.width ?? 220, height: note.height ?? 140 };
      for (const b of nodeBoxes) expect(overlap(box, b), `${note.id} over a node`).toBe(false);
    }
    expect(positions.has(noteViewId('over'))).toBe(true);
    // The template's own notes do not cover the laid-out nodes here, so they stay.
    expect(doc.notes.filter((n) => positions.has(noteViewId(n.id))).length).toBeLessThan(doc.notes.length);
  });
});
