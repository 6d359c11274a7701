#!/usr/bin/env node
/**
 * Typesets an English regulation from datasets/regulatory-text/ as a PDF with a real text layer (pdf-lib,
 * Helvetica, A4, lines wrapped at the margin as a word processor would) and writes it into a fixture as a
 * document part, so the template's PDF path (multimodal.document, then line reflow) is tested on a real layout.
 *
 *   node templates/compliance-automation/scripts/regulation-pdf.mjs <regulation.md> <fixture.json> [title]
 *
 * Markdown marks (#, *, **) are dropped; the words are the regulation's own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';

const [source, fixturePath, title] = process.argv.slice(2);
if (!source || !fixturePath) {
  console.error('usage: regulation-pdf.mjs <regulation.md> <fixture.json> [title]');
  process.exit(2);
}

const paragraphs = readFileSync(source, 'utf8')
  .split(/\n\s*\n/)
  .map((p) =>
    p
      .replace(/\*\*|\*/g, '')
      .replace(/^#+\s*/gm, '')
      .replace(/\s*\n\s*/g, '\n')
      .trim(),
  )
  .filter(Boolean);

const pdf = await PDFDocument.create();
// A fixed date keeps the fixture byte-identical when it is regenerated.
pdf.setCreationDate(new Date('2024-01-01T00:00:00Z'));
pdf.setModificationDate(new Date('2024-01-01T00:00:00Z'));
pdf.setProducer('FinFlow compliance-automation fixture (pdf-lib)');
if (title) pdf.setTitle(title);
const font = await pdf.embedFont(StandardFonts.Helvetica);
const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
const [width, height] = [595.28, 841.89];
const margin = 56;
const size = 10;
const leading = 13;
let page = pdf.addPage([width, height]);
let y = height - margin;

function wrap(text, f, s) {
  const lines = [];
  for (const raw of text.split('\n')) {
    let line = '';
    for (const word of raw.split(/\s+/)) {
      const next = line ? `${line} ${word}` : word;
      if (f.widthOfTextAtSize(next, s) > width - 2 * margin && line) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}

paragraphs.forEach((text, i) => {
  const f = i === 0 ? bold : font;
  const s = i === 0 ? 12 : size;
  for (const line of wrap(text, f, s)) {
    if (y < margin + leading) {
      page = pdf.addPage([width, height]);
      y = height - margin;
    }
    page.drawText(line, { x: margin, y, size: s, font: f });
    y -= i === 0 ? leading + 3 : leading;
  }
  y -= leading * 0.6;
});

const bytes = await pdf.save({ useObjectStreams: false });
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
fixture.document = {
  mimeType: 'application/pdf',
  name: `${basename(source, '.md')}.pdf`,
  data: Buffer.from(bytes).toString('base64'),
};
writeFileSync(fixturePath, `${JSON.stringify(fixture, null, 2)}\n`);
console.log(`${fixturePath}: ${pdf.getPageCount()} pages, ${bytes.length} bytes`);
