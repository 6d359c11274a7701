/**
 * Template canvases as an analyst first sees them: every sticky note in a readable palette colour (dark text at
 * 7:1 or more) and clear of every node, with nodes sized as the editor draws them (a header and a row per port).
 */
import { createBuiltinRegistry } from '@finflow/nodes';
import {
  contrastRatio,
  NOTE_TEXT_COLOR,
  noteColorName,
  noteColors,
  notesOffNodes,
  type Box,
} from '@finflow/runtime/document';
import { describe, expect, it } from 'vitest';
import { listTemplates } from './index.js';

const registry = createBuiltinRegistry();

/**
 * The editor's node box, measured in chromium at 1440×900: 232 px wide, 60 px plus 20 per row of ports (inputs and
 * outputs side by side), at least 80; the flow input also lists its fields (160 px in every template). Rounded up.
 */
function nodeBox(n: { type: string; ui?: { position?: { x: number; y: number } } }): Box {
  const def = registry.get(n.type);
  const rows = Math.max(Object.keys(def?.inputs ?? {}).length, Object.keys(def?.outputs ?? {}).length);
  const height = n.type === 'io.input' ? 180 : Math.max(80, 60 + 20 * rows) + 10;
  const p = n.ui?.position ?? { x: 0, y: 0 };
  return { x: p.x, y: p.y, width: 240, height };
}

interface Note {
  id: string;
  text: string;
  position: { x: number; y: number };
  width?: number;
  height?: number;
  color?: string;
}

describe.each(listTemplates().map((t) => [t.meta.id, t] as const))('%s canvas', (_id, template) => {
  const flow = template.flow as {
    nodes: { id: string; type: string; label?: string; ui?: { position?: { x: number; y: number } } }[];
    ui?: { notes?: Note[] };
  };
  const notes = flow.ui?.notes ?? [];

  it('draws its notes in palette colours with readable text', () => {
    for (const note of notes) {
      const name = noteColorName(note.color);
      expect(contrastRatio(noteColors[name], NOTE_TEXT_COLOR), note.id).toBeGreaterThanOrEqual(4.5);
      // The template names its colours from the palette, not colours the editor would have to guess at.
      expect(
        note.color === undefined ||
          note.color in noteColors ||
          Object.values<string>(noteColors).includes(note.color),
        `${note.id}: ${note.color}`,
      ).toBe(true);
    }
  });

  it('names every labelled node in English and Chinese', () => {
    // The canvas shows a node's label as stored, whatever the UI language: an analyst working in either language
    // must be able to read every step's name.
    const oneLanguage = flow.nodes
      .filter((n) => n.label !== undefined && !(/[A-Za-z]/.test(n.label) && /\p{Script=Han}/u.test(n.label)))
      .map((n) => `${n.id}: ${n.label}`);
    expect(oneLanguage).toEqual([]);
  });

  it('keeps every note off every node', () => {
    const boxes = flow.nodes.map(nodeBox);
    const noteBoxes = notes.map((n) => ({
      id: n.id,
      x: n.position.x,
      y: n.position.y,
      width: n.width ?? 220,
      height: n.height ?? 140,
    }));
    const covering = noteBoxes.filter((nb) =>
      boxes.some(
        (b) =>
          nb.x < b.x + b.width && b.x < nb.x + nb.width && nb.y < b.y + b.height && b.y < nb.y + nb.height,
      ),
    );
    expect(covering.map((n) => n.id)).toEqual([]);
    // And the editor's auto-layout would leave them where they are.
    expect([...notesOffNodes(noteBoxes, boxes).keys()]).toEqual([]);
  });
});
