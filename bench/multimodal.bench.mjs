// Multimodal nodes (issue 4): OCR time per page (cold: first page of a process, including loading tesseract
// and its language models; warm: later pages on the pooled worker), speech-to-text real-time factor and word
// error rate of the offline engine, and document extraction time (PDF text layer, DOCX, scanned PDF page).
// Media are made on the spot: pages rendered from SVG with system fonts (Debian fonts-dejavu-core,
// fonts-noto-cjk), speech by Debian flite, PDFs by pdf-lib, a DOCX zipped by fflate.
// Run: npm run bench -- multimodal   (or node bench/multimodal.bench.mjs after tsc -b)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { builtinNodes, disposeMultimodal } from '@finflow/nodes';
import sharp from 'sharp';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { strToU8, zipSync } from 'fflate';

const runtime = createRuntime({ registry: createRegistry(builtinNodes) });
async function run(type, config, inputs) {
  const started = performance.now();
  const r = await runtime.runNode({ type, version: 1, config }, inputs);
  if (r.status !== 'succeeded') throw new Error(`${type}: ${r.error?.code} ${r.error?.message}`);
  return { outputs: r.outputs, ms: performance.now() - started };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${Math.round(ms)} ms`;
const b64 = (buf) => buf.toString('base64');

// --- media ----------------------------------------------------------------------------------------------

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
/** Renders lines (strings, or { cells: [[x, text], ...] } table rows) as a white page, as the tests do. */
async function page(lines, font, size = 26) {
  const step = Math.round(size * 1.7);
  const text = lines
    .map((l, i) =>
      (typeof l === 'string' ? [[50, l]] : l.cells)
        .map(
          ([x, t]) =>
            `<text x="${x}" y="${60 + i * step}" font-family="${font}" font-size="${size}">${esc(t)}</text>`,
        )
        .join(''),
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1240" height="${80 + lines.length * step}"><rect width="100%" height="100%" fill="#fff"/>${text}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
const expected = (lines) =>
  lines.map((l) => (typeof l === 'string' ? l : l.cells.map((c) => c[1]).join(' '))).join('\n');
/** Gaussian noise from a fixed seed (as in the tests), so the degraded pages are the same every run. */
function noisePng(width, height, sigma, seed = 42) {
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
/** A fax-like copy: 60 % resolution, rotated 1.5 degrees, noisy, blurred, JPEG quality 35. */
async function degrade(png) {
  const meta = await sharp(png).metadata();
  const width = Math.round(meta.width * 0.6);
  const small = await sharp(png).rotate(1.5, { background: '#ffffff' }).resize({ width }).png().toBuffer();
  const { height } = await sharp(small).metadata();
  return sharp(small)
    .composite([{ input: await noisePng(width, height, 50), blend: 'overlay' }])
    .blur(0.7)
    .jpeg({ quality: 35 })
    .toBuffer();
}
const cjk = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
function normalise(text) {
  const s = text.normalize('NFKC').replace(/\s+/g, ' ').trim();
  return [...s]
    .filter((c, i, a) => !(c === ' ' && (cjk.test(a[i - 1] ?? '') || cjk.test(a[i + 1] ?? ''))))
    .join('');
}
function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
const docs = JSON.parse(
  readFileSync(
    new URL('../nodes/builtin/src/multimodal/fixtures/ocr-documents.json', import.meta.url),
    'utf8',
  ),
);

const englishLines = Array.from(
  { length: 30 },
  (_, i) =>
    `${String(i + 1).padStart(2, '0')} Mar 2024  Card payment ${1000 + i * 37} MERCHANT ${i}  ${(i * 13.37).toFixed(2)} GBP`,
);
const chineseLines = Array.from(
  { length: 20 },
  (_, i) =>
    `2024年3月${i + 1}日 转账汇款 人民币${(1000 + i * 123.45).toFixed(2)}元 余额${(50000 - i * 321.5).toFixed(2)}元`,
);

function speak(text) {
  const dir = mkdtempSync(join(tmpdir(), 'finflow-bench-'));
  try {
    execFileSync('flite', ['-voice', 'slt', '-t', text, '-o', join(dir, 'a.wav')]);
    return readFileSync(join(dir, 'a.wav'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const wavSeconds = (wav) => wav.readUInt32LE(40) / 2 / 16000;

const sentences = [
  'I would like to check the balance of my savings account.',
  'Please transfer five hundred dollars to my checking account.',
  'My credit card was declined at the supermarket this morning.',
  'Can you tell me the interest rate on a fixed term deposit?',
  'I want to report a lost debit card and order a new one.',
  'When will the money from my salary arrive in my account?',
  'Please cancel the standing order to my landlord.',
  'I was charged twice for the same invoice last week.',
  'How do I increase the limit on my credit card?',
  'I need a statement for the last three months for my mortgage application.',
];
function wordErrors(actual, expected) {
  const words = (s) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9' ]+/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
  const e = words(expected);
  return { errors: editDistance(words(actual), e), words: e.length };
}

async function textPdf(pages) {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < pages; p++) {
    const pg = doc.addPage([595, 842]);
    englishLines.forEach((l, i) => pg.drawText(l, { x: 40, y: 800 - i * 24, size: 10, font }));
  }
  return Buffer.from(await doc.save());
}
async function scannedPdf(png) {
  const doc = await PDFDocument.create();
  const img = await doc.embedPng(png);
  const pg = doc.addPage([595, 842]);
  const scale = 515 / img.width;
  pg.drawImage(img, { x: 40, y: 802 - img.height * scale, width: 515, height: img.height * scale });
  return Buffer.from(await doc.save());
}
function docx(paragraphs) {
  const body = paragraphs.map((t) => `<w:p><w:r><w:t>${esc(t)}</w:t></w:r></w:p>`).join('');
  return Buffer.from(
    zipSync({
      '[Content_Types].xml': strToU8(
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      ),
      '_rels/.rels': strToU8(
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      ),
      'word/document.xml': strToU8(
        `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
      ),
    }),
  );
}

// --- OCR ------------------------------------------------------------------------------------------------

const rows = [];
const accuracy = [];
for (const [label, lines, font, languages] of [
  ['English invoice', docs.invoice, 'DejaVu Sans', ['eng']],
  ['Simplified Chinese bank notice', docs.bankNoticeSimplified, 'Noto Sans CJK SC', ['eng', 'chi_sim']],
  ['Traditional Chinese bank notice', docs.bankNoticeTraditional, 'Noto Sans CJK TC', ['chi_tra', 'eng']],
]) {
  const truth = [...normalise(expected(lines))];
  const cers = [];
  for (const size of [20, 26, 32, 40]) {
    const png = await page(lines, font, size);
    for (const img of size === 26 ? [png, await degrade(png)] : [png]) {
      const { outputs } = await run(
        'multimodal.ocr',
        { languages },
        { image: { mimeType: 'image/png', data: b64(img) } },
      );
      cers.push(editDistance([...normalise(outputs.text)], truth) / truth.length);
    }
  }
  const pct = (x) => `${(x * 100).toFixed(2)}%`;
  accuracy.push([
    `OCR character error rate, ${label} (${languages.join('+')})`,
    `${cers
      .filter((_, i) => i !== 2)
      .map(pct)
      .join(' / ')} at 20/26/32/40 px; fax-quality copy of the 26 px page ${pct(cers[2])}`,
  ]);
}
await disposeMultimodal(); // the timings below start cold
const en = await page(englishLines, 'DejaVu Sans');
const zh = await page(chineseLines, 'Noto Sans CJK SC', 28);
for (const [label, png, languages] of [
  ['OCR, English statement page (30 lines)', en, ['eng']],
  ['OCR, Chinese statement page (20 lines, eng+chi_sim)', zh, ['eng', 'chi_sim']],
]) {
  const image = { mimeType: 'image/png', data: b64(png) };
  const cold = await run('multimodal.ocr', { languages }, { image });
  const warm = [];
  for (let i = 0; i < 5; i++) warm.push((await run('multimodal.ocr', { languages }, { image })).ms);
  rows.push([label, `cold ${fmt(cold.ms)} / warm ${fmt(median(warm))} per page (median of 5)`]);
}
rows.push([
  'Process memory (RSS) with two OCR workers loaded',
  `${Math.round(process.memoryUsage().rss / 2 ** 20)} MB`,
]);

// --- speech to text -------------------------------------------------------------------------------------

let audioSeconds = 0;
let processing = 0;
let errors = 0;
let words = 0;
for (const s of sentences) {
  const wav = speak(s);
  audioSeconds += wavSeconds(wav);
  const { outputs, ms } = await run(
    'multimodal.speechToText',
    {},
    { audio: { mimeType: 'audio/wav', data: b64(wav) } },
  );
  processing += ms / 1000;
  const e = wordErrors(outputs.text, s);
  errors += e.errors;
  words += e.words;
}
rows.push([
  `Speech to text, pocketsphinx offline (${sentences.length} flite sentences, ${audioSeconds.toFixed(1)} s)`,
  `real-time factor ${(processing / audioSeconds).toFixed(2)}, word error rate ${((errors / words) * 100).toFixed(1)}%`,
]);

// --- documents ------------------------------------------------------------------------------------------

const pdf20 = await textPdf(20);
await run('multimodal.document', {}, { document: { mimeType: 'application/pdf', data: b64(pdf20) } }); // load pdf.js
const pdfTimes = [];
for (let i = 0; i < 3; i++)
  pdfTimes.push(
    (await run('multimodal.document', {}, { document: { mimeType: 'application/pdf', data: b64(pdf20) } }))
      .ms,
  );
rows.push([
  'Document, PDF text layer (20 pages)',
  `${fmt(median(pdfTimes))} (${(median(pdfTimes) / 20).toFixed(1)} ms per page)`,
]);

const docxBytes = docx(Array.from({ length: 400 }, (_, i) => englishLines[i % 30]));
await run(
  'multimodal.document',
  {},
  { document: { mimeType: 'application/octet-stream', data: b64(docxBytes) } },
);
const docxTimes = [];
for (let i = 0; i < 3; i++)
  docxTimes.push(
    (
      await run(
        'multimodal.document',
        {},
        { document: { mimeType: 'application/octet-stream', data: b64(docxBytes) } },
      )
    ).ms,
  );
rows.push(['Document, DOCX (400 paragraphs)', fmt(median(docxTimes))]);

const scanned = await scannedPdf(en);
const scanTimes = [];
for (let i = 0; i < 3; i++)
  scanTimes.push(
    (await run('multimodal.document', {}, { document: { mimeType: 'application/pdf', data: b64(scanned) } }))
      .ms,
  );
rows.push(['Document, scanned PDF page (pdftoppm 200 dpi + OCR, warm)', fmt(median(scanTimes))]);

await disposeMultimodal();

console.log('| measurement | result |');
console.log('|---|---|');
for (const [k, v] of [...rows, ...accuracy]) console.log(`| ${k} | ${v} |`);
