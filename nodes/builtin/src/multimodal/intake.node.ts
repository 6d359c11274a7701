/**
 * multimodal.intake: one entry point for "whatever the customer sent". A message arrives at a published
 * endpoint as JSON, its attachments as base64 or data URLs; each part goes to the right extractor (OCR,
 * speech to text, document text) and the node returns one text for the model plus what happened to each
 * part, keeping the readable parts when one attachment is broken.
 */
import { defineNode, NodeError, port, z, type NodeContext } from '@finflow/sdk';
import { openConnection } from '../net/connections.js';
import { decodeBinary, kindOfMimeType, MB, sniffMimeType } from './binary.js';
import {
  migrateSpeechConfigV1,
  speechConnectionUses,
  documentFields,
  documentOptions,
  ocrLanguagesField,
  ocrPageModeField,
  speechFields,
  speechOptions,
  validateSpeech,
} from './config-fields.js';
import { extractDocument } from './document-engine.js';
import { recognizeImage } from './ocr-engine.js';
import { transcribe } from './speech-engine.js';

const kinds = ['text', 'image', 'audio', 'document'] as const;
type Kind = (typeof kinds)[number];

/** The JSON a client sends per part; unknown fields (ids, client metadata) are ignored. */
const partSchema = z.union([
  z.string(),
  z.looseObject({
    kind: z.enum([...kinds, 'file']).optional(),
    /** Alias of kind, including OpenAI-style content parts (`image_url`, `input_audio`). */
    type: z.string().max(40).optional(),
    text: z.string().optional(),
    /** Base64 bytes or a data URL. */
    data: z.string().optional(),
    dataUrl: z.string().optional(),
    url: z.string().optional(),
    image_url: z.object({ url: z.string() }).optional(),
    mimeType: z.string().max(200).optional(),
    name: z.string().max(255).optional(),
  }),
]);
type RawPart = z.output<typeof partSchema>;

interface Part {
  index: number;
  kind: Kind;
  name?: string | undefined;
  mimeType?: string | undefined;
  text?: string;
  bytes?: Buffer;
  /** The kind the client declared, when the bytes say otherwise. */
  declaredKind?: string;
}

export interface PartReport {
  index: number;
  kind: Kind;
  ok: boolean;
  name?: string;
  mimeType?: string;
  engine?: string;
  quality?: string;
  confidence?: number;
  pages?: number;
  durationSec?: number;
  chars: number;
  declaredKind?: string;
  error?: { code: string; message: string };
  ms: number;
}

const aliases: Record<string, Kind> = {
  text: 'text',
  input_text: 'text',
  image: 'image',
  image_url: 'image',
  input_image: 'image',
  audio: 'audio',
  input_audio: 'audio',
  document: 'document',
  file: 'document',
  input_file: 'document',
};

const aliasOf = (name: string): Kind | undefined =>
  Object.hasOwn(aliases, name) ? aliases[name] : undefined;

const MAX_PART_BYTES = 100 * MB;

/** Turns one raw part into bytes or text and the kind its content really is. */
function normalise(raw: RawPart, index: number): Part {
  if (typeof raw === 'string') {
    if (/^data:/i.test(raw)) return normalise({ data: raw }, index);
    return { index, kind: 'text', text: raw };
  }
  const declared = raw.kind ?? raw.type;
  const declaredKind = declared === undefined ? undefined : aliasOf(declared);
  if (declared !== undefined && !declaredKind) {
    throw new NodeError(
      `part ${index} has an unknown kind "${declared}" (text, image, audio, document)`,
      'INVALID_INPUT',
    );
  }
  const payload = raw.data ?? raw.dataUrl ?? raw.image_url?.url ?? raw.url;
  const base = { index, name: raw.name };
  if (payload === undefined) {
    if (raw.text === undefined)
      throw new NodeError(`part ${index} has neither text nor data`, 'INVALID_INPUT');
    return { ...base, kind: 'text', text: raw.text };
  }
  const decoded = decodeBinary(payload, `part ${index}`, MAX_PART_BYTES);
  const sniffed = sniffMimeType(decoded.bytes);
  const mimeType = sniffed ?? decoded.mimeType ?? raw.mimeType?.toLowerCase();
  let kind: Kind | undefined;
  if (sniffed || mimeType) {
    const family = kindOfMimeType((sniffed ?? mimeType)!);
    // Text files and zips (DOCX) are read by the document extractor.
    kind = family === 'text' || sniffed === 'application/zip' ? 'document' : family;
  } else if (declaredKind && declaredKind !== 'text') kind = declaredKind;
  if (!kind) {
    throw new NodeError(
      `part ${index}: the content type is unknown; give a mimeType or kind`,
      'INVALID_INPUT',
    );
  }
  const part: Part = {
    ...base,
    kind,
    bytes: decoded.bytes,
    mimeType: mimeType ?? 'application/octet-stream',
  };
  if (declaredKind && declaredKind !== kind && !(declaredKind === 'document' && kind === 'image'))
    part.declaredKind = declaredKind;
  return part;
}

/** The kind a part claims to be, for reporting a part that could not be read at all. */
function claimedKind(value: unknown): Kind {
  if (typeof value === 'string') return /^data:/i.test(value) ? kindOfData(value) : 'text';
  if (!value || typeof value !== 'object') return 'text';
  const v = value as Record<string, unknown>;
  const declared = aliasOf(String(v['kind'] ?? v['type'] ?? ''));
  if (declared) return declared;
  if (typeof v['mimeType'] === 'string') return kindOfData(`data:${v['mimeType']},`);
  return v['text'] !== undefined ? 'text' : 'document';
}

function kindOfData(url: string): Kind {
  const mime = /^data:([\w.+-]+\/[\w.+-]+)/i.exec(url)?.[1];
  const family = mime ? kindOfMimeType(mime) : 'document';
  return family === 'text' ? 'document' : family;
}

function header(part: Part, report: PartReport, fromMessage: boolean): string {
  const label = fromMessage ? 'Message' : `${part.kind[0]!.toUpperCase()}${part.kind.slice(1)} ${part.index}`;
  const name = part.name ? ` "${part.name.replace(/["\n\r[\]]/g, '')}"` : '';
  if (!report.ok) return `[${label}${name}: could not be read (${report.error?.code})]`;
  const how: string[] = [];
  if (part.kind === 'image') how.push(`OCR, confidence ${report.confidence?.toFixed(2)}`);
  if (part.kind === 'audio')
    how.push(`transcript, ${report.quality === 'basic' ? 'basic quality (offline)' : report.engine}`);
  if (part.kind === 'document') how.push(`${report.pages} page${report.pages === 1 ? '' : 's'}`);
  return `[${label}${name}${how.length ? `, ${how.join(', ')}` : ''}]`;
}

const intakeConfig = z.object({
  onPartError: z
    .enum(['skip', 'fail'])
    .default('skip')
    .meta({
      title: 'When a part cannot be read',
      description: 'skip: report it and go on with the others; fail: fail the node',
      zh: {
        title: '某部分无法读取时',
        description: '跳过：记录该问题并继续处理其他部分；失败：节点执行失败',
        options: { skip: '跳过', fail: '失败' },
      },
    }),
  labelParts: z
    .boolean()
    .default(true)
    .meta({
      title: 'Label parts',
      description:
        'Put a line such as [Image 2 "invoice.png", OCR, confidence 0.93] before each part of the text',
      zh: {
        title: '标注各部分',
        description: '在文本的每个部分前加一行说明，例如 [Image 2 "invoice.png", OCR, confidence 0.93]',
      },
    }),
  maxParts: z
    .int()
    .min(1)
    .max(50)
    .default(10)
    .meta({ title: 'Maximum parts', zh: { title: '最大部分数' } }),
  ocrLanguages: ocrLanguagesField,
  ocrPageMode: ocrPageModeField,
  ...documentFields,
  ...speechFields,
});
type IntakeConfig = z.output<typeof intakeConfig>;

export const intakeNode = defineNode({
  type: 'multimodal.intake',
  version: 2,
  meta: {
    title: 'Customer message intake',
    category: 'multimodal',
    description:
      'One node for whatever a customer sent: text, images, voice notes and documents in any mix (base64 or data URLs). Each part goes to OCR, speech to text or document extraction; the result is one text for the model plus a report per part. A broken attachment does not lose the others.',
    zh: {
      title: '客户消息接入',
      description:
        '统一处理客户发送的任意内容：文字、图片、语音和文档（base64 或 data URL）。逐项调用 OCR、语音转写或文档提取，输出合并文本和每项的处理结果；某个附件损坏不影响其他内容。',
    },
    icon: 'inbox',
    tags: ['intake', 'ocr', 'speech', 'document', 'channel'],
  },
  config: intakeConfig,
  inputs: {
    text: port('text', { title: 'Message text', zh: { title: '消息文本' }, required: false }),
    parts: port('list', {
      title: 'Parts',
      zh: {
        title: '组成部分',
        description:
          '每项为 { kind: text | image | audio | document, text } 或 { kind, data: base64 或 data URL, mimeType, name }；纯字符串视为文本或 data URL',
      },
      required: false,
      description:
        'Each { kind: text | image | audio | document, text } or { kind, data: base64 or data URL, mimeType, name }; a plain string is text or a data URL',
    }),
  },
  outputs: {
    text: port('text', {
      title: 'Text',
      zh: { title: '文本', description: '所有可读内容，按部分依次排列' },
      description: 'Everything readable, part by part',
    }),
    parts: port('table', {
      title: 'Part reports',
      zh: {
        title: '各部分报告',
        description:
          '每部分的处理报告：index、kind、ok、engine、confidence、pages、durationSec、chars、error {code, message}',
      },
      description: 'index, kind, ok, engine, confidence, pages, durationSec, chars, error {code, message}',
    }),
    errorCount: port('number', { title: 'Unreadable parts', zh: { title: '无法识别的部分' } }),
  },
  timeoutMs: 600_000,
  retry: { nonRetryable: ['INTAKE_NOTHING_READABLE'] },
  migrations: { 1: migrateSpeechConfigV1 },
  connections: speechConnectionUses,
  validate(config, helpers) {
    validateSpeech(config, (message, path) => helpers.problem(message, path));
  },
  async run(ctx, inputs, config) {
    const raw: unknown[] = [];
    if (inputs.text !== undefined && inputs.text.trim()) raw.push(inputs.text);
    if (inputs.parts !== undefined) raw.push(...inputs.parts);
    if (!raw.length) throw new NodeError('the message has no text and no parts', 'INVALID_INPUT');
    if (raw.length > config.maxParts) {
      throw new NodeError(
        `the message has ${raw.length} parts; at most ${config.maxParts} are read`,
        'INVALID_INPUT',
      );
    }
    const fromMessage = inputs.text !== undefined && inputs.text.trim() !== '';
    const sections: string[] = [];
    const reports: PartReport[] = [];
    const label =
      config.labelParts && (raw.length > 1 || typeof raw[0] !== 'string' || /^data:/i.test(raw[0]));
    for (const [i, value] of raw.entries()) {
      const index = i + 1;
      const started = performance.now();
      let part: Part = { index, kind: claimedKind(value) };
      let report: PartReport;
      let body = '';
      try {
        const parsed = partSchema.safeParse(value);
        if (!parsed.success) {
          throw new NodeError(
            `part ${index} is not a part: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
            'INVALID_INPUT',
          );
        }
        part = normalise(parsed.data, index);
        ({ report, text: body } = await extract(ctx, part, config));
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const error =
          err instanceof NodeError
            ? err
            : new NodeError(err instanceof Error ? err.message : String(err), 'INTERNAL');
        if (config.onPartError === 'fail') {
          throw new NodeError(`part ${index} (${part.kind}): ${error.message}`, error.code, { cause: error });
        }
        ctx.log.warn(`part ${index} could not be read`, { kind: part.kind, code: error.code });
        report = {
          index,
          kind: part.kind,
          ok: false,
          chars: 0,
          error: { code: error.code, message: error.message },
          ms: 0,
        };
        if (part.name) report.name = part.name;
        if (part.mimeType) report.mimeType = part.mimeType;
      }
      report.ms = Math.round(performance.now() - started);
      if (part.declaredKind) report.declaredKind = part.declaredKind;
      reports.push(report);
      const head = label ? header(part, report, fromMessage && index === 1) : '';
      const section = [head, body].filter(Boolean).join('\n');
      if (section) sections.push(section);
    }
    const failed = reports.filter((r) => !r.ok);
    if (failed.length === reports.length) {
      throw new NodeError(
        `no part of the message could be read: ${failed.map((r) => `part ${r.index} ${r.error?.code}`).join(', ')}`,
        'INTAKE_NOTHING_READABLE',
        { details: { parts: failed.map((r) => ({ index: r.index, kind: r.kind, error: r.error })) } },
      );
    }
    return {
      text: sections.join('\n\n'),
      parts: reports.map((r) => ({ ...r })),
      errorCount: failed.length,
    };
  },
});

/** Reads one part; the text is returned beside the report so the report rows stay small. */
async function extract(
  ctx: NodeContext,
  part: Part,
  config: IntakeConfig,
): Promise<{ report: PartReport; text: string }> {
  const report: PartReport = { index: part.index, kind: part.kind, ok: true, chars: 0, ms: 0 };
  if (part.name) report.name = part.name;
  if (part.mimeType) report.mimeType = part.mimeType;
  let text: string;
  switch (part.kind) {
    case 'text':
      text = part.text ?? '';
      break;
    case 'image': {
      const r = await recognizeImage(part.bytes!, {
        languages: config.ocrLanguages,
        pageMode: config.ocrPageMode,
        preprocess: true,
        signal: ctx.signal,
      });
      if (!r.text) throw new NodeError('no text was found in the image', 'OCR_NO_TEXT');
      text = r.text;
      report.engine = 'tesseract';
      report.confidence = r.confidence;
      break;
    }
    case 'audio': {
      const r = await transcribe(
        { bytes: part.bytes!, mimeType: part.mimeType ?? 'audio/wav', name: part.name },
        speechOptions(config, 'error'),
        { signal: ctx.signal, open: (call) => openConnection(ctx, call), services: ctx.services },
      );
      text = r.text;
      report.engine = r.engine;
      report.quality = r.quality;
      if (r.durationSec !== undefined) report.durationSec = r.durationSec;
      const confidences = r.segments.flatMap((s) => (s.confidence === undefined ? [] : [s.confidence]));
      if (confidences.length)
        report.confidence =
          Math.round((confidences.reduce((a, b) => a + b, 0) / confidences.length) * 1000) / 1000;
      break;
    }
    case 'document': {
      const r = await extractDocument(
        {
          mimeType: part.mimeType ?? 'application/octet-stream',
          bytes: part.bytes,
          text: part.text,
          name: part.name,
        },
        documentOptions(config, ctx.signal, ctx.services),
      );
      text = r.text;
      report.engine = r.engine;
      report.pages = r.pageCount;
      const ocr = r.pages.flatMap((p) => (p.confidence === undefined ? [] : [p.confidence]));
      if (ocr.length)
        report.confidence = Math.round((ocr.reduce((a, b) => a + b, 0) / ocr.length) * 1000) / 1000;
      break;
    }
  }
  report.chars = text.length;
  return { report, text };
}
