/**
 * Text out of customer documents, page by page: PDF text layers through pdf.js (pure JavaScript, no network,
 * font evaluation off), DOCX through mammoth (tables kept as tab-separated rows, explicit page breaks kept as
 * pages), plain text as is, and pages without a text layer (scans, photos saved as PDF) rasterised with
 * Debian's pdftoppm and read by the OCR engine.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NodeError, type Services } from '@finflow/sdk';
import { kindOfMimeType, sniffMimeType } from './binary.js';
import { recognizeImage, type OcrLanguage, type PageMode } from './ocr-engine.js';
import { debianPackages, findTool, runTool, withTempDir } from './tools.js';

export interface DocumentPage {
  /** 1-based. */
  page: number;
  text: string;
  source: 'text' | 'ocr';
  /** OCR confidence 0..1 for OCR pages. */
  confidence?: number;
}

export interface DocumentResult {
  text: string;
  pages: DocumentPage[];
  pageCount: number;
  format: 'pdf' | 'docx' | 'text' | 'image';
  engine: string;
  /** Pages read by OCR. */
  ocrPages: number[];
  warnings: string[];
  ms: number;
}

export interface DocumentOptions {
  /** auto: OCR pages without a text layer; never: leave them empty; always: OCR every PDF page. */
  ocr: 'auto' | 'never' | 'always';
  ocrLanguages: readonly OcrLanguage[];
  ocrPageMode: PageMode;
  /** A PDF page with fewer non-blank characters than this counts as having no text layer. */
  minTextChars: number;
  maxPages: number;
  /** Rasterisation resolution for OCR. */
  dpi: number;
  pageSeparator: 'marker' | 'blank-line' | 'form-feed';
  signal: AbortSignal;
  services?: Partial<Services> | undefined;
}

export interface DocumentInput {
  mimeType: string;
  bytes?: Buffer | undefined;
  text?: string | undefined;
  name?: string | undefined;
}

const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

const require = createRequire(import.meta.url);

function nonBlank(text: string): number {
  return text.replace(/\s+/g, '').length;
}

/** Joins pages; markers only when there is more than one page to tell apart. */
export function joinPages(
  pages: readonly DocumentPage[],
  separator: DocumentOptions['pageSeparator'],
): string {
  const parts = pages.map((p) => p.text.trim());
  if (pages.length <= 1) return parts.join('');
  if (separator === 'form-feed') return parts.join('\n\f');
  if (separator === 'blank-line') return parts.filter(Boolean).join('\n\n');
  return pages.map((p, i) => `[Page ${p.page}]\n${parts[i]}`).join('\n\n');
}

function formatOf(input: DocumentInput): DocumentResult['format'] | 'unsupported' {
  if (input.bytes === undefined) return 'text';
  const sniffed = sniffMimeType(input.bytes);
  if (sniffed === 'application/pdf') return 'pdf';
  if (sniffed === 'application/zip') return 'docx';
  if (sniffed?.startsWith('image/')) return 'image';
  if (sniffed) return 'unsupported';
  const declared = input.mimeType.toLowerCase();
  if (declared === 'application/pdf' || declared === DOCX_MIME)
    return declared === DOCX_MIME ? 'docx' : 'pdf';
  if (kindOfMimeType(declared) === 'text') return 'text';
  return 'unsupported';
}

function unsupported(input: DocumentInput): NodeError {
  const sniffed = input.bytes ? sniffMimeType(input.bytes) : undefined;
  const what =
    sniffed === 'application/x-ole-storage'
      ? 'a legacy Office file (.doc/.xls)'
      : (sniffed ?? input.mimeType);
  return new NodeError(
    `${what} is not a supported document; send PDF, DOCX, plain text or an image`,
    'DOCUMENT_UNSUPPORTED_FORMAT',
  );
}

// --- PDF -------------------------------------------------------------------------------------------------

interface PdfTextItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

/** Rebuilds reading lines from pdf.js text items: a new line where the baseline moves, gaps become spaces or tabs. */
export function pdfItemsToText(items: readonly PdfTextItem[]): string {
  const lines: PdfTextItem[][] = [];
  let current: PdfTextItem[] = [];
  let lastY: number | undefined;
  let breakAfter = false;
  for (const item of items) {
    const y = item.transform[5] ?? 0;
    const size = Math.abs(item.transform[3] ?? item.height) || item.height || 10;
    if (item.str === '' && !item.hasEOL) continue;
    if (current.length && (breakAfter || (lastY !== undefined && Math.abs(y - lastY) > size * 0.5))) {
      lines.push(current);
      current = [];
    }
    if (item.str !== '') {
      current.push(item);
      lastY = y;
    }
    breakAfter = item.hasEOL;
  }
  if (current.length) lines.push(current);
  return lines
    .map((line) => {
      // pdf.js inserts blank items for gaps; the gap itself decides between a space and a tab.
      const sorted = line
        .filter((item) => item.str.trim() !== '')
        .sort((a, b) => (a.transform[4] ?? 0) - (b.transform[4] ?? 0));
      let out = '';
      let end: number | undefined;
      for (const item of sorted) {
        const x = item.transform[4] ?? 0;
        const size = Math.abs(item.transform[3] ?? item.height) || 10;
        if (end !== undefined && out && !/\s$/.test(out) && !/^\s/.test(item.str)) {
          const gap = x - end;
          if (gap > size * 2) out += '\t';
          else if (gap > size * 0.15) out += ' ';
        }
        out += item.str;
        end = x + item.width;
      }
      return out.replace(/[ \t]+$/, '');
    })
    .join('\n');
}

async function extractPdf(bytes: Buffer, opts: DocumentOptions): Promise<Omit<DocumentResult, 'ms'>> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const root = dirname(require.resolve('pdfjs-dist/package.json'));
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice(),
    // Font programs are never compiled to JavaScript (CVE-2024-4367 class of issues) and never fetched.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
    cMapUrl: `${join(root, 'cmaps')}/`,
    cMapPacked: true,
    standardFontDataUrl: `${join(root, 'standard_fonts')}/`,
    wasmUrl: `${join(root, 'wasm')}/`,
  });
  const onAbort = () => void task.destroy();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let pdf;
    try {
      pdf = await task.promise;
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason;
      const name = (err as { name?: string }).name;
      if (name === 'PasswordException')
        throw new NodeError('the PDF is password-protected; send an unlocked copy', 'DOCUMENT_ENCRYPTED');
      throw new NodeError(
        `the PDF could not be read: ${(err as Error).message ?? String(err)}`,
        'DOCUMENT_UNREADABLE',
      );
    }
    if (pdf.numPages > opts.maxPages) {
      throw new NodeError(
        `the PDF has ${pdf.numPages} pages; this node reads at most ${opts.maxPages}`,
        'DOCUMENT_TOO_LONG',
      );
    }
    const pages: DocumentPage[] = [];
    for (let n = 1; n <= pdf.numPages; n++) {
      if (opts.signal.aborted) throw opts.signal.reason;
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      const items = content.items.flatMap((i): PdfTextItem[] => ('str' in i ? [i] : []));
      pages.push({ page: n, text: pdfItemsToText(items), source: 'text' });
      page.cleanup();
    }
    const warnings: string[] = [];
    const toOcr =
      opts.ocr === 'never'
        ? []
        : pages
            .filter((p) => opts.ocr === 'always' || nonBlank(p.text) < opts.minTextChars)
            .map((p) => p.page);
    if (opts.ocr === 'never') {
      const blank = pages.filter((p) => nonBlank(p.text) < opts.minTextChars).map((p) => p.page);
      if (blank.length)
        warnings.push(`pages without a text layer were not read (OCR is off): ${blank.join(', ')}`);
    }
    if (toOcr.length) await ocrPdfPages(bytes, toOcr, pages, opts);
    return {
      text: joinPages(pages, opts.pageSeparator),
      pages,
      pageCount: pdf.numPages,
      format: 'pdf',
      engine: toOcr.length ? 'pdf.js+tesseract' : 'pdf.js',
      ocrPages: toOcr,
      warnings,
    };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    await task.destroy().catch(() => {});
  }
}

async function ocrPdfPages(
  bytes: Buffer,
  pageNumbers: readonly number[],
  pages: DocumentPage[],
  opts: DocumentOptions,
): Promise<void> {
  const pdftoppm = await findTool('pdftoppm', opts.services);
  if (!pdftoppm) {
    throw new NodeError(
      `pages ${pageNumbers.join(', ')} have no text layer and reading them needs pdftoppm: install the Debian package ${debianPackages.pdftoppm}, or set OCR to "never"`,
      'DOCUMENT_OCR_UNAVAILABLE',
    );
  }
  await withTempDir(async (dir) => {
    const source = join(dir, 'input.pdf');
    await writeFile(source, bytes);
    for (const n of pageNumbers) {
      const prefix = join(dir, `page-${n}`);
      await runTool(
        pdftoppm,
        [
          '-r',
          String(opts.dpi),
          '-f',
          String(n),
          '-l',
          String(n),
          '-singlefile',
          '-gray',
          '-png',
          source,
          prefix,
        ],
        { signal: opts.signal, failCode: 'DOCUMENT_UNREADABLE', what: `rasterising page ${n} (pdftoppm)` },
      );
      const image = await readFile(`${prefix}.png`);
      const ocr = await recognizeImage(image, {
        languages: opts.ocrLanguages,
        pageMode: opts.ocrPageMode,
        preprocess: true,
        signal: opts.signal,
      });
      const page = pages[n - 1]!;
      page.text = ocr.text;
      page.source = 'ocr';
      page.confidence = ocr.confidence;
    }
  });
}

// --- DOCX ------------------------------------------------------------------------------------------------

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return entities[e.toLowerCase()] ?? m;
  });
}

/**
 * mammoth's HTML (a small, well-formed subset) to text: block ends become line breaks, table cells tabs,
 * `<hr>` (mapped from Word page breaks) a page boundary.
 */
export function docxHtmlToPages(html: string): string[] {
  const pages: string[] = [];
  let out = '';
  for (const token of html.split(/(<[^>]+>)/)) {
    if (!token.startsWith('<')) {
      out += decodeEntities(token);
      continue;
    }
    const tag = /^<\/?([a-z0-9]+)/i.exec(token)?.[1]?.toLowerCase() ?? '';
    const closing = token.startsWith('</');
    if (tag === 'hr') {
      pages.push(out);
      out = '';
    } else if (tag === 'br') out += '\n';
    else if (closing && /^(p|h[1-6]|li|tr|table|ul|ol)$/.test(tag)) {
      if (!out.endsWith('\n')) out += '\n';
    } else if (!closing && tag === 'td' && !/(^|\n)$/.test(out)) out += '\t';
    else if (!closing && tag === 'li') out += '- ';
    else if (closing && tag === 'td') out = out.replace(/\n$/, '');
  }
  pages.push(out);
  return pages.map((p) =>
    p
      .split('\n')
      .map((l) => l.replace(/[ \t]+$/, ''))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim(),
  );
}

async function extractDocx(bytes: Buffer, opts: DocumentOptions): Promise<Omit<DocumentResult, 'ms'>> {
  const { default: mammoth } = await import('mammoth');
  let result;
  try {
    result = await mammoth.convertToHtml(
      { buffer: bytes },
      {
        styleMap: ["br[type='page'] => hr"],
        // Embedded pictures are not needed for text; mammoth would otherwise inline them as base64.
        convertImage: mammoth.images.imgElement(async () => ({ src: '' })),
      },
    );
  } catch (err) {
    throw new NodeError(
      `the DOCX could not be read: ${err instanceof Error ? err.message : String(err)}`,
      'DOCUMENT_UNREADABLE',
    );
  }
  if (opts.signal.aborted) throw opts.signal.reason;
  const texts = docxHtmlToPages(result.value);
  if (texts.length > opts.maxPages) {
    throw new NodeError(
      `the DOCX has ${texts.length} pages; this node reads at most ${opts.maxPages}`,
      'DOCUMENT_TOO_LONG',
    );
  }
  const pages = texts.map((text, i): DocumentPage => ({ page: i + 1, text, source: 'text' }));
  const warnings = result.messages
    .filter((m) => m.type === 'error' || m.type === 'warning')
    .slice(0, 10)
    .map((m) => m.message);
  return {
    text: joinPages(pages, opts.pageSeparator),
    pages,
    pageCount: pages.length,
    format: 'docx',
    engine: 'mammoth',
    ocrPages: [],
    warnings: [
      'DOCX page numbers count explicit page breaks only (Word lays pages out when it displays them)',
      ...warnings,
    ],
  };
}

// --- entry point -----------------------------------------------------------------------------------------

/** Extracts the text of one document. */
export async function extractDocument(input: DocumentInput, opts: DocumentOptions): Promise<DocumentResult> {
  const started = performance.now();
  const format = formatOf(input);
  let result: Omit<DocumentResult, 'ms'>;
  switch (format) {
    case 'unsupported':
      throw unsupported(input);
    case 'text': {
      const text = input.text ?? decodeUtf8(input.bytes!);
      const page: DocumentPage = { page: 1, text, source: 'text' };
      result = { text, pages: [page], pageCount: 1, format, engine: 'text', ocrPages: [], warnings: [] };
      break;
    }
    case 'pdf':
      result = await extractPdf(input.bytes!, opts);
      break;
    case 'docx':
      result = await extractDocx(input.bytes!, opts);
      break;
    case 'image': {
      const ocr = await recognizeImage(input.bytes!, {
        languages: opts.ocrLanguages,
        pageMode: opts.ocrPageMode,
        preprocess: true,
        signal: opts.signal,
      });
      const page: DocumentPage = { page: 1, text: ocr.text, source: 'ocr', confidence: ocr.confidence };
      result = {
        text: ocr.text,
        pages: [page],
        pageCount: 1,
        format,
        engine: 'tesseract',
        ocrPages: [1],
        warnings: [],
      };
      break;
    }
  }
  return { ...result, ms: Math.round(performance.now() - started) };
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new NodeError('the text document is not valid UTF-8', 'DOCUMENT_UNREADABLE');
  }
}
