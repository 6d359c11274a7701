/** multimodal.ocr: the text of an image (a scanned invoice, a photographed notice), with lines and boxes, offline. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { decodeBinary, MB } from './binary.js';
import { ocrLanguagesField, ocrPageModeField } from './config-fields.js';
import { recognizeImage } from './ocr-engine.js';

export const ocrNode = defineNode({
  type: 'multimodal.ocr',
  version: 1,
  meta: {
    title: 'OCR',
    category: 'multimodal',
    description:
      'Reads the text of an image (PNG, JPEG, WebP, TIFF; bytes or a data URL) with tesseract on this server: English, simplified and traditional Chinese. Gives the text, a confidence and each line with its box.',
    zh: {
      title: '文字识别 (OCR)',
      description:
        '在本机用 tesseract 识别图片中的文字（英文、简体中文、繁体中文），输出文本、置信度以及每行文字及其位置。',
    },
    icon: 'scan-text',
    tags: ['ocr', 'image', 'invoice', 'offline'],
  },
  config: z.object({
    languages: ocrLanguagesField,
    pageMode: ocrPageModeField,
    preprocess: z
      .boolean()
      .default(true)
      .meta({
        title: 'Clean up the image',
        description:
          'Grey-scale, stretch contrast and enlarge small images before reading (better on photos and faxes)',
        group: 'OCR',
        zh: {
          title: '图像预处理',
          description: '识别前先灰度化、拉伸对比度并放大小图（对照片和传真效果更好）',
        },
      }),
    minConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .meta({
        title: 'Minimum confidence',
        description: 'Fail with OCR_LOW_CONFIDENCE below this mean confidence (0 to 1; 0 accepts any result)',
        zh: {
          title: '最低置信度',
          description: '平均置信度低于此值时以 OCR_LOW_CONFIDENCE 失败（0 到 1；0 表示接受任何结果）',
        },
      }),
    allowEmpty: z
      .boolean()
      .default(false)
      .meta({
        title: 'Allow no text',
        description: 'Return empty text for an image without text instead of failing with OCR_NO_TEXT',
        zh: { title: '允许无文字', description: '图像中没有文字时返回空文本，而不是以 OCR_NO_TEXT 失败' },
      }),
  }),
  inputs: {
    image: port('image', {
      title: 'Image',
      zh: { title: '图像', description: '连接一个 data URL 文本即可转换' },
      description: 'Connect a data URL text to convert it',
    }),
  },
  outputs: {
    text: port('text', { title: 'Text', zh: { title: '文本' } }),
    confidence: port('number', {
      title: 'Confidence',
      zh: { title: '置信度', description: '词的平均置信度，0 到 1' },
      description: 'Mean word confidence, 0 to 1',
    }),
    lines: port('table', {
      title: 'Lines',
      zh: { title: '文本行', description: 'text、confidence 和像素坐标 bbox {x0, y0, x1, y1}' },
      description: 'text, confidence and bbox {x0, y0, x1, y1} in pixels',
    }),
    language: port('text', {
      title: 'Languages',
      zh: { title: '识别语言', description: 'Tesseract 语言组合，例如 eng+chi_sim' },
      description: 'Tesseract language set, e.g. eng+chi_sim',
    }),
    meta: port('record', { title: 'Details', zh: { title: '详情' } }),
  },
  timeoutMs: 60_000,
  retry: { nonRetryable: ['IMAGE_UNREADABLE', 'INPUT_TOO_LARGE', 'OCR_NO_TEXT', 'OCR_LOW_CONFIDENCE'] },
  async run(ctx, { image }, config) {
    const { bytes } = decodeBinary(image.data, 'image', 40 * MB);
    const result = await recognizeImage(bytes, {
      languages: config.languages,
      pageMode: config.pageMode,
      preprocess: config.preprocess,
      signal: ctx.signal,
    });
    if (!result.text && !config.allowEmpty) {
      throw new NodeError('no text was found in the image', 'OCR_NO_TEXT', {
        details: { width: result.width, height: result.height },
      });
    }
    if (result.confidence < config.minConfidence) {
      throw new NodeError(
        `the text was read with confidence ${result.confidence.toFixed(2)}, below the minimum ${config.minConfidence}`,
        'OCR_LOW_CONFIDENCE',
        { details: { confidence: result.confidence } },
      );
    }
    ctx.log.debug('ocr', { ms: result.ms, cold: result.cold, lines: result.lines.length });
    return {
      text: result.text,
      confidence: result.confidence,
      lines: result.lines.map((l) => ({ ...l, bbox: { ...l.bbox } })),
      language: result.language,
      meta: {
        engine: 'tesseract.js (LSTM)',
        width: result.width,
        height: result.height,
        ms: result.ms,
        coldStart: result.cold,
      },
    };
  },
});
