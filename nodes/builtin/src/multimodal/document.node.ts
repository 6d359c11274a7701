/** multimodal.document: the text of a PDF, DOCX or text document, page by page, with scanned pages read by OCR. */
import { defineNode, port, z } from '@finflow/sdk';
import { decodeBinary, MB } from './binary.js';
import { documentFields, documentOptions, ocrLanguagesField, ocrPageModeField } from './config-fields.js';
import { extractDocument } from './document-engine.js';

export const documentNode = defineNode({
  type: 'multimodal.document',
  version: 1,
  meta: {
    title: 'Document text',
    category: 'multimodal',
    description:
      'Extracts the text of a PDF (text layer), DOCX or text file with page numbers; PDF pages without a text layer (scans) are read by OCR. Images are read by OCR as one page.',
    zh: {
      title: '文档文本提取',
      description: '按页提取 PDF（文本层）、DOCX 或文本文件的文字；没有文本层的扫描页通过 OCR 识别。',
    },
    icon: 'file-text',
    tags: ['pdf', 'docx', 'ocr', 'document'],
  },
  config: z.object({
    ...documentFields,
    ocrLanguages: ocrLanguagesField,
    ocrPageMode: ocrPageModeField,
  }),
  inputs: { document: port('document', { title: 'Document', zh: { title: '文件' } }) },
  outputs: {
    text: port('text', { title: 'Text', zh: { title: '文本' } }),
    pages: port('table', {
      title: 'Pages',
      zh: { title: '页面', description: 'page、text、source（text 或 ocr），OCR 页另带 confidence' },
      description: 'page, text, source (text or ocr), confidence for OCR pages',
    }),
    pageCount: port('number', { title: 'Page count', zh: { title: '页数' } }),
    meta: port('record', { title: 'Details', zh: { title: '详情' } }),
  },
  timeoutMs: 300_000,
  retry: {
    nonRetryable: [
      'DOCUMENT_UNREADABLE',
      'DOCUMENT_ENCRYPTED',
      'DOCUMENT_UNSUPPORTED_FORMAT',
      'DOCUMENT_TOO_LONG',
      'DOCUMENT_OCR_UNAVAILABLE',
      'INPUT_TOO_LARGE',
      'IMAGE_UNREADABLE',
    ],
  },
  async run(ctx, { document }, config) {
    const bytes =
      document.data === undefined ? undefined : decodeBinary(document.data, 'document', 100 * MB).bytes;
    const result = await extractDocument(
      { mimeType: document.mimeType, bytes, text: document.text, name: document.name },
      documentOptions(config, ctx.signal, ctx.services),
    );
    for (const w of result.warnings) ctx.log.info(w);
    return {
      text: result.text,
      pages: result.pages.map((p) => ({ ...p })),
      pageCount: result.pageCount,
      meta: {
        format: result.format,
        engine: result.engine,
        ocrPages: result.ocrPages,
        warnings: result.warnings,
        ms: result.ms,
      },
    };
  },
});
