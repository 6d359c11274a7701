/**
 * Test media made on the spot: images of real-looking financial documents rendered from SVG with system fonts
 * (Debian fonts-dejavu-core, fonts-noto-cjk), speech synthesised by Debian flite, PDFs built with pdf-lib and
 * DOCX files zipped by hand; plus the error rates the tests and the benchmark report.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';

/** A line of a rendered document: plain text, or cells placed at x offsets (table rows). */
export type DocLine = string | { cells: [x: number, text: string][] };

export interface RenderOptions {
  font: string;
  size?: number;
  width?: number;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The text a perfect reader would produce: one line per line, cells separated by a space. */
export function expectedText(lines: readonly DocLine[]): string {
  return lines.map((l) => (typeof l === 'string' ? l : l.cells.map((c) => c[1]).join(' '))).join('\n');
}

/** Renders lines of text as a white page (PNG). */
export async function renderDocument(lines: readonly DocLine[], opts: RenderOptions): Promise<Buffer> {
  const size = opts.size ?? 26;
  const width = opts.width ?? 1240;
  const step = Math.round(size * 1.7);
  const height = 80 + lines.length * step;
  const text = lines
    .map((line, i) => {
      const y = 60 + i * step;
      const cells = typeof line === 'string' ? ([[50, line]] as [number, string][]) : line.cells;
      return cells
        .map(
          ([x, t]) =>
            `<text x="${x}" y="${y}" font-family="${opts.font}" font-size="${size}" fill="#111">${escapeXml(t)}</text>`,
        )
        .join('');
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${text}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Gaussian noise from a fixed seed (mulberry32 + Box-Muller), so degraded pages are the same every run. */
function noisePng(width: number, height: number, sigma: number, seed = 42): Promise<Buffer> {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const px = Buffer.alloc(width * height);
  for (let i = 0; i < px.length; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    px[i] = Math.max(0, Math.min(255, Math.round(128 + g * sigma)));
  }
  return sharp(px, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/**
 * A fax-like copy of a page: scanned at 60 % of the resolution, rotated 1.5 degrees, noisy, blurred and saved
 * as a JPEG of quality 35.
 */
export async function degrade(png: Buffer): Promise<Buffer> {
  const meta = await sharp(png).metadata();
  const width = Math.round(meta.width! * 0.6);
  const small = await sharp(png).rotate(1.5, { background: '#ffffff' }).resize({ width }).png().toBuffer();
  const { height } = await sharp(small).metadata();
  return sharp(small)
    .composite([{ input: await noisePng(width, height!, 50), blend: 'overlay' }])
    .blur(0.7)
    .jpeg({ quality: 35 })
    .toBuffer();
}

/** The documents the OCR tests and the benchmark render (fixtures/ocr-documents.json; the text is invented). */
const documents = JSON.parse(
  readFileSync(new URL('../fixtures/ocr-documents.json', import.meta.url), 'utf8'),
) as {
  invoice: DocLine[];
  bankNoticeSimplified: string[];
  bankNoticeTraditional: string[];
};
export const invoiceLines: DocLine[] = documents.invoice;
export const bankNoticeSimplified: DocLine[] = documents.bankNoticeSimplified;
export const bankNoticeTraditional: DocLine[] = documents.bankNoticeTraditional;

const cjk = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

/**
 * Normalises text before comparing: NFKC (full-width forms to ASCII), whitespace runs to one space, and no
 * spaces next to CJK characters (Chinese is written without them).
 */
export function normaliseForCompare(text: string): string {
  const s = text.normalize('NFKC').replace(/\s+/g, ' ').trim();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === ' ' && (cjk.test(s[i - 1] ?? '') || cjk.test(s[i + 1] ?? ''))) continue;
    out += c;
  }
  return out;
}

export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Character error rate of `actual` against `expected`, after normalisation. */
export function characterErrorRate(actual: string, expected: string): number {
  const e = [...normaliseForCompare(expected)];
  return editDistance([...normaliseForCompare(actual)], e) / e.length;
}

/** Word error rate, case and punctuation ignored. */
export function wordErrorRate(actual: string, expected: string): number {
  const words = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9' ]+/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
  const e = words(expected);
  return editDistance(words(actual), e) / e.length;
}

function withTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'finflow-media-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Speech synthesised by Debian flite (voice slt: 16 kHz mono WAV). */
export function speak(text: string, voice = 'slt'): Buffer {
  return withTemp((dir) => {
    const out = join(dir, 'speech.wav');
    execFileSync('flite', ['-voice', voice, '-t', text, '-o', out]);
    return readFileSync(out);
  });
}

/**
 * Converts audio with sox; `outOptions` are format options of the output (['-r', '44100', '-c', '2']),
 * `effects` sox effects (['vol', '0']).
 */
export function soxConvert(
  input: Buffer,
  inType: string,
  outType: string,
  outOptions: string[] = [],
  effects: string[] = [],
): Buffer {
  return withTemp((dir) => {
    const src = join(dir, `in.${inType}`);
    const dst = join(dir, `out.${outType}`);
    writeFileSync(src, input);
    execFileSync('sox', [src, ...outOptions, dst, ...effects]);
    return readFileSync(dst);
  });
}

/** A PDF with a text layer: one array of lines per page. */
export async function textPdf(pages: readonly (readonly DocLine[])[]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([595, 842]);
    lines.forEach((line, i) => {
      const y = 790 - i * 20;
      const cells = typeof line === 'string' ? ([[50, line]] as [number, string][]) : line.cells;
      for (const [x, t] of cells) page.drawText(t, { x: 50 + (x - 50) * 0.42, y, size: 11, font });
    });
  }
  return Buffer.from(await doc.save());
}

/** A PDF of image-only pages (as a scanner makes them); a string page gets that line as a text layer instead. */
export async function scannedPdf(pages: readonly (Buffer | string)[]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const content of pages) {
    const page = doc.addPage([595, 842]);
    if (typeof content === 'string') {
      page.drawText(content, { x: 50, y: 790, size: 12, font });
      continue;
    }
    const png = await doc.embedPng(content);
    const scale = 495 / png.width;
    page.drawImage(png, { x: 50, y: 792 - png.height * scale, width: 495, height: png.height * scale });
  }
  return Buffer.from(await doc.save());
}

export type DocxBlock = string | { table: string[][] } | { pageBreak: true };

/** A minimal but valid DOCX (what Word writes, without styles). */
export function buildDocx(blocks: readonly DocxBlock[]): Buffer {
  const p = (t: string) => `<w:p><w:r><w:t xml:space="preserve">${escapeXml(t)}</w:t></w:r></w:p>`;
  const body = blocks
    .map((b) => {
      if (typeof b === 'string') return p(b);
      if ('pageBreak' in b) return '<w:p><w:r><w:br w:type="page"/></w:r></w:p>';
      return `<w:tbl>${b.table.map((row) => `<w:tr>${row.map((c) => `<w:tc>${p(c)}</w:tc>`).join('')}</w:tr>`).join('')}</w:tbl>`;
    })
    .join('');
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      ),
      '_rels/.rels': strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      ),
      'word/document.xml': strToU8(
        `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
      ),
    }),
  );
}

export const dataUrl = (mimeType: string, bytes: Buffer) =>
  `data:${mimeType};base64,${bytes.toString('base64')}`;
