import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { documentNode } from './document.node.js';
import { disposeOcr } from './ocr-engine.js';
import { docxHtmlToPages, pdfItemsToText } from './document-engine.js';
import {
  type DocLine,
  bankNoticeSimplified,
  bankNoticeTraditional,
  buildDocx,
  characterErrorRate,
  expectedText,
  invoiceLines,
  renderDocument,
  scannedPdf,
  textPdf,
} from './test-helpers/media.js';

const PDF = 'application/pdf';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const doc = (bytes: Buffer, mimeType: string, name?: string) => ({
  mimeType,
  data: bytes.toString('base64'),
  ...(name ? { name } : {}),
});

type Page = { page: number; text: string; source: string; confidence?: number };

const statement: DocLine[][] = [
  ['Northbank plc - Current account statement', 'Account 40-11-22 71234567', 'Period: 1 to 31 March 2024'],
  [
    {
      cells: [
        [50, 'Date'],
        [300, 'Description'],
        [900, 'Amount'],
      ],
    },
    {
      cells: [
        [50, '04 Mar'],
        [300, 'Salary ACME LTD'],
        [900, '3,250.00'],
      ],
    },
    {
      cells: [
        [50, '06 Mar'],
        [300, 'Rent payment'],
        [900, '-1,400.00'],
      ],
    },
    'Closing balance: 5,918.40 GBP',
  ],
];

let scannedInvoice: Buffer;
beforeAll(async () => {
  scannedInvoice = await renderDocument(invoiceLines, { font: 'DejaVu Sans' });
});
afterAll(() => disposeOcr());

describe('multimodal.document', () => {
  it('extracts a PDF text layer page by page, keeping table rows on one line', async () => {
    const pdf = await textPdf(statement);
    const out = await runNodeOk(documentNode, { inputs: { document: doc(pdf, PDF, 'statement.pdf') } });
    expect(out['pageCount']).toBe(2);
    const pages = out['pages'] as Page[];
    expect(pages.map((p) => [p.page, p.source])).toEqual([
      [1, 'text'],
      [2, 'text'],
    ]);
    expect(pages[0]!.text).toBe(expectedText(statement[0]!));
    expect(pages[1]!.text.split('\n')).toEqual([
      'Date\tDescription\tAmount',
      '04 Mar\tSalary ACME LTD\t3,250.00',
      '06 Mar\tRent payment\t-1,400.00',
      'Closing balance: 5,918.40 GBP',
    ]);
    expect(out['text']).toMatch(/^\[Page 1\]\nNorthbank plc[^]*\n\n\[Page 2\]\nDate\tDescription/);
    expect(out['meta']).toMatchObject({ format: 'pdf', engine: 'pdf.js', ocrPages: [] });
  });

  it('extracts Chinese text set in embedded CID fonts (a cairo-made PDF, simplified and traditional)', async () => {
    const pdf = readFileSync(new URL('./fixtures/bank-notice-zh.pdf', import.meta.url));
    const out = await runNodeOk(documentNode, { inputs: { document: doc(pdf, PDF) } });
    const pages = out['pages'] as Page[];
    expect(pages.map((p) => p.source)).toEqual(['text', 'text']);
    expect(pages[0]!.text).toBe(expectedText(bankNoticeSimplified));
    expect(pages[1]!.text).toBe(expectedText(bankNoticeTraditional));
  });

  it('routes a scanned page to OCR and keeps the text layer of the others', async () => {
    const pdf = await scannedPdf(['Cover letter: please find the invoice attached.', scannedInvoice]);
    const out = await runNodeOk(documentNode, { inputs: { document: doc(pdf, PDF) } });
    const pages = out['pages'] as Page[];
    expect(pages[0]).toEqual({
      page: 1,
      text: 'Cover letter: please find the invoice attached.',
      source: 'text',
    });
    expect(pages[1]!.source).toBe('ocr');
    expect(pages[1]!.confidence).toBeGreaterThan(0.8);
    const cer = characterErrorRate(pages[1]!.text, expectedText(invoiceLines));
    console.info(`OCR CER, invoice scanned into a PDF (200 dpi): ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThanOrEqual(0.02);
    expect(out['meta']).toMatchObject({ engine: 'pdf.js+tesseract', ocrPages: [2] });
  });

  it('reads a scanned Chinese notice with the configured OCR languages', async () => {
    const png = await renderDocument(bankNoticeSimplified, { font: 'Noto Sans CJK SC', size: 30 });
    const out = await runNodeOk(documentNode, {
      config: { ocrLanguages: ['eng', 'chi_sim'] },
      inputs: { document: doc(await scannedPdf([png]), PDF) },
    });
    expect(characterErrorRate(out['text'] as string, expectedText(bankNoticeSimplified))).toBeLessThanOrEqual(
      0.02,
    );
  });

  it('leaves scanned pages empty with a warning when OCR is off, and fails clearly without pdftoppm', async () => {
    const pdf = await scannedPdf(['Page with text', scannedInvoice]);
    const off = await runNodeOk(documentNode, {
      config: { ocr: 'never' },
      inputs: { document: doc(pdf, PDF) },
    });
    expect((off['pages'] as Page[])[1]!.text).toBe('');
    expect((off['meta'] as { warnings: string[] }).warnings[0]).toMatch(/not read \(OCR is off\): 2/);
    const missing = await runNode(documentNode, {
      inputs: { document: doc(pdf, PDF) },
      services: { multimodal: { tools: { pdftoppm: '/nonexistent/pdftoppm' } } },
    });
    expect(missing.error?.code).toBe('DOCUMENT_OCR_UNAVAILABLE');
    expect(missing.error?.message).toMatch(/poppler-utils/);
  });

  it('extracts a DOCX with tables as tab-separated rows and page breaks as pages', async () => {
    const docx = buildDocx([
      'Loan application',
      'Applicant: Li Wei 李伟 & family',
      {
        table: [
          ['Amount', '25,000.00 CNY'],
          ['Term', '36 months'],
        ],
      },
      { pageBreak: true },
      'Declaration: the information above is true.',
    ]);
    const out = await runNodeOk(documentNode, { inputs: { document: doc(docx, DOCX, 'application.docx') } });
    const pages = out['pages'] as Page[];
    expect(pages.map((p) => p.text)).toEqual([
      'Loan application\nApplicant: Li Wei 李伟 & family\nAmount\t25,000.00 CNY\nTerm\t36 months',
      'Declaration: the information above is true.',
    ]);
    expect(out['pageCount']).toBe(2);
    expect(out['meta']).toMatchObject({ format: 'docx', engine: 'mammoth' });
  });

  it('passes plain text through and reads an image as one OCR page', async () => {
    const text = await runNodeOk(documentNode, {
      inputs: { document: { mimeType: 'text/plain', text: 'hello' } },
    });
    expect(text).toMatchObject({ text: 'hello', pageCount: 1 });
    const b64 = await runNodeOk(documentNode, {
      inputs: { document: doc(Buffer.from('\uFEFFcafé 12.50 EUR', 'utf8'), 'text/plain') },
    });
    expect(b64['text']).toBe('café 12.50 EUR');
    const image = await runNodeOk(documentNode, { inputs: { document: doc(scannedInvoice, 'image/png') } });
    expect(image['text']).toContain('INV-2024-0117');
    expect((image['pages'] as Page[])[0]!.source).toBe('ocr');
  });

  it('fails with a code on corrupt, unsupported and over-long documents', async () => {
    const corrupt = await runNode(documentNode, {
      inputs: { document: doc(Buffer.from('%PDF-1.7\n1 0 obj garbage\n%%EOF'), PDF) },
    });
    expect(corrupt.error?.code).toBe('DOCUMENT_UNREADABLE');
    const truncated = await textPdf(statement);
    const cut = await runNode(documentNode, { inputs: { document: doc(truncated.subarray(0, 300), PDF) } });
    expect(cut.error?.code).toBe('DOCUMENT_UNREADABLE');
    const badZip = await runNode(documentNode, {
      inputs: { document: doc(Buffer.from('PK\x03\x04garbage'), DOCX) },
    });
    expect(badZip.error?.code).toBe('DOCUMENT_UNREADABLE');
    const legacy = Buffer.concat([
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
      Buffer.alloc(512),
    ]);
    const doc97 = await runNode(documentNode, { inputs: { document: doc(legacy, 'application/msword') } });
    expect(doc97.error?.code).toBe('DOCUMENT_UNSUPPORTED_FORMAT');
    expect(doc97.error?.message).toMatch(/legacy Office/);
    const long = await runNode(documentNode, {
      config: { maxPages: 1 },
      inputs: { document: doc(await textPdf(statement), PDF) },
    });
    expect(long.error?.code).toBe('DOCUMENT_TOO_LONG');
    expect(long.attempts).toBe(1);
  });
});

describe('layout helpers', () => {
  it('rebuilds lines from PDF text items', () => {
    const item = (str: string, x: number, y: number, width: number, hasEOL = false) => ({
      str,
      transform: [10, 0, 0, 10, x, y],
      width,
      height: 10,
      hasEOL,
    });
    expect(
      pdfItemsToText([
        item('Total', 50, 700, 25),
        item('due', 77, 700, 15),
        item('9.00', 300, 700, 20),
        item('Next', 50, 680, 20),
      ]),
    ).toBe('Total due\t9.00\nNext');
  });

  it('turns mammoth HTML into pages of text', () => {
    expect(
      docxHtmlToPages('<h1>Title</h1><ul><li>one</li><li>two &amp; three</li></ul><p><hr /></p><p>end</p>'),
    ).toEqual(['Title\n- one\n- two & three', 'end']);
  });
});
