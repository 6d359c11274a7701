/**
 * Config fields shared by the multimodal nodes (OCR, speech, document settings), so `multimodal.intake`
 * offers exactly the settings of the nodes it dispatches to, with the same titles in the editor.
 */
import { legacyEndpointSchema, type ConnectionUse, type LegacyEndpoint } from '@finflow/runtime';
import { z } from '@finflow/sdk';
import { connectionField, dataClassField, type DataClassChoice } from '../net/connections.js';
import { ocrLanguages, pageModes, type PageMode } from './ocr-engine.js';
import type { SpeechOptions } from './speech-engine.js';
import type { DocumentOptions } from './document-engine.js';

export const ocrLanguagesField = z
  .array(z.enum(ocrLanguages))
  .min(1)
  .max(3)
  .default(['eng'])
  .meta({
    title: 'OCR languages',
    description:
      'Tesseract models, primary first: eng, chi_sim (简体中文), chi_tra (繁體中文). Use eng + chi_sim for Chinese documents with Latin figures.',
    group: 'OCR',
    zh: {
      title: 'OCR 识别语言',
      description:
        'Tesseract 语言模型，主语言在前：eng（英文）、chi_sim（简体中文）、chi_tra（繁体中文）。含拉丁字母和数字的中文文档请使用 eng + chi_sim。',
      options: { eng: '英文（eng）', chi_sim: '简体中文（chi_sim）', chi_tra: '繁体中文（chi_tra）' },
    },
  });

export const ocrPageModeField = z
  .enum(Object.keys(pageModes) as [PageMode, ...PageMode[]])
  .default('column')
  .meta({
    title: 'Page layout',
    description:
      'column: one column of text such as an invoice, statement or letter (keeps table rows); block: one uniform block; auto: detect columns; sparse: scattered text such as a receipt photo or form',
    group: 'OCR',
    zh: {
      title: '版面模式',
      description:
        '单栏：发票、对账单、信函等单栏文本（保留表格行）；单一文本块：统一的一整块文本；自动识别：自动检测分栏；零散文本：收据照片、表单等零散分布的文字',
      options: { column: '单栏', block: '单一文本块', auto: '自动识别', sparse: '零散文本' },
    },
  });

export const speechFields = {
  speechEngine: z
    .enum(['auto', 'offline', 'provider'])
    .default('auto')
    .meta({
      title: 'Speech engine',
      description:
        'auto: the provider when one is configured, else offline; offline: pocketsphinx on this server (English, basic quality); provider: an OpenAI-compatible transcription API',
      group: 'Speech',
      zh: {
        title: '语音识别引擎',
        description:
          '自动：已配置服务商时使用服务商，否则离线识别；离线：在本服务器上运行 pocketsphinx（仅英文，基础质量）；服务商：兼容 OpenAI 的语音转写 API',
        options: { auto: '自动', offline: '离线', provider: '服务商' },
      },
    }),
  speechLanguage: z
    .string()
    .regex(/^(auto|[a-z]{2,3}([-_][A-Za-z]{2,4})?)$/, 'a language code such as en, zh or auto')
    .default('en')
    .meta({
      title: 'Spoken language',
      description: 'en, zh, ... or auto (the provider detects it)',
      group: 'Speech',
      zh: { title: '语音语种', description: 'en、zh 等语言代码，或 auto（由服务商自动识别）' },
    }),
  providerConnection: connectionField(['openai'], {
    title: 'Transcription connection',
    group: 'Speech',
    zh: '转写服务连接',
  }),
  providerModel: z
    .string()
    .min(1)
    .max(200)
    .default('whisper-1')
    .meta({ title: 'Transcription model', group: 'Speech', zh: { title: '转写模型' } }),
  providerTimeoutMs: z
    .int()
    .min(1_000)
    .max(600_000)
    .default(60_000)
    .meta({ title: 'Provider time limit (ms)', group: 'Speech', zh: { title: '服务商超时（毫秒）' } }),
  providerPrompt: z
    .string()
    .max(1000)
    .optional()
    .meta({
      title: 'Vocabulary hint',
      description: 'Words the provider should expect (product names, account terms)',
      widget: 'textarea',
      group: 'Speech',
      zh: { title: '词汇提示', description: '服务商应预期出现的词汇（产品名称、账户术语等）' },
    }),
  speechDataClass: dataClassField('Speech').meta({
    title: 'Data sent',
    description:
      'auto: a voice is personal data, so the connection must accept personal data (or the flow says more); otherwise the most sensitive class the recordings hold',
    group: 'Speech',
    zh: {
      title: '发送的数据类别',
      description:
        '自动：语音属于个人数据，连接必须允许接收个人数据（流程声明更高类别时取流程类别）；其他选项：录音包含的最敏感数据类别',
      options: { auto: '自动', public: '公开', internal: '内部', personal: '个人数据', confidential: '机密' },
    },
  }),
  providerLegacy: legacyEndpointSchema.optional(),
};

/**
 * Version 1 of the speech nodes set a transcription URL and credential in the node; version 2 names a connection.
 * The old pair stays as `providerLegacy` and runs through the connection that binds the same destination and
 * credential, or is refused (CONNECTION_REQUIRED, CREDENTIAL_DESTINATION_MISMATCH).
 */
export function migrateSpeechConfigV1(config: Record<string, unknown>): Record<string, unknown> {
  const { providerBaseUrl, providerCredential, ...rest } = config;
  if (typeof providerBaseUrl !== 'string') return rest;
  return {
    ...rest,
    providerLegacy: {
      provider: 'openai',
      baseUrl: providerBaseUrl,
      ...(typeof providerCredential === 'string' ? { credential: providerCredential } : {}),
    },
  };
}

type SpeechConfig = {
  speechEngine: SpeechOptions['engine'];
  speechLanguage: string;
  providerConnection?: string | undefined;
  providerLegacy?: LegacyEndpoint | undefined;
  providerModel: string;
  providerTimeoutMs: number;
  providerPrompt?: string | undefined;
  speechDataClass: DataClassChoice;
};

export function speechOptions(config: SpeechConfig, onNoSpeech: SpeechOptions['onNoSpeech']): SpeechOptions {
  return {
    engine: config.speechEngine,
    language: config.speechLanguage,
    onNoSpeech,
    provider:
      config.providerConnection || config.providerLegacy
        ? {
            connection: config.providerConnection,
            legacy: config.providerConnection ? undefined : config.providerLegacy,
            model: config.providerModel,
            requestTimeoutMs: config.providerTimeoutMs,
            prompt: config.providerPrompt,
            dataClass: config.speechDataClass,
          }
        : undefined,
  };
}

/** Reports a provider engine chosen without a connection (used by the nodes' `validate`). */
export function validateSpeech(
  config: SpeechConfig,
  problem: (message: string, path: string[]) => void,
): void {
  if (config.speechEngine === 'provider' && !config.providerConnection && !config.providerLegacy) {
    problem('the provider engine needs a transcription connection', ['providerConnection']);
  }
}

/** The transcription connection a speech config calls, for validation against the workspace's connections. */
export function speechConnectionUses(config: SpeechConfig): ConnectionUse[] {
  if (config.speechEngine === 'offline') return [];
  const named = config.providerConnection !== undefined;
  if (!named && !config.providerLegacy) return [];
  return [
    {
      path: named ? ['providerConnection'] : ['providerLegacy'],
      name: config.providerConnection,
      legacy: named ? undefined : config.providerLegacy,
      kinds: ['openai'],
      model: config.providerModel,
      // A voice is personal data: `auto` needs a connection that accepts it.
      dataClass: config.speechDataClass === 'auto' ? 'personal' : config.speechDataClass,
    },
  ];
}

export const documentFields = {
  ocr: z
    .enum(['auto', 'never', 'always'])
    .default('auto')
    .meta({
      title: 'OCR for PDF pages',
      description:
        'auto: pages without a text layer (scans) are read by OCR; never: skip them; always: OCR every page',
      group: 'Document',
      zh: {
        title: 'PDF 页面 OCR',
        description: '自动：无文本层的页面（扫描件）用 OCR 识别；从不：跳过这些页面；始终：每一页都做 OCR',
        options: { auto: '自动', never: '从不', always: '始终' },
      },
    }),
  maxPages: z
    .int()
    .min(1)
    .max(2000)
    .default(100)
    .meta({ title: 'Maximum pages', group: 'Document', zh: { title: '最大页数' } }),
  pageSeparator: z
    .enum(['marker', 'blank-line', 'form-feed'])
    .default('marker')
    .meta({
      title: 'Between pages',
      description: 'marker: a "[Page n]" line before each page (for citations); blank-line; form-feed',
      group: 'Document',
      zh: {
        title: '页间分隔',
        description: '页码标记：每页前加一行 "[Page n]"（便于引用）；空行；换页符',
        options: { marker: '页码标记', 'blank-line': '空行', 'form-feed': '换页符' },
      },
    }),
};

type DocumentConfig = {
  ocr: DocumentOptions['ocr'];
  maxPages: number;
  pageSeparator: DocumentOptions['pageSeparator'];
  ocrLanguages: DocumentOptions['ocrLanguages'];
  ocrPageMode: PageMode;
};

export function documentOptions(
  config: DocumentConfig,
  signal: AbortSignal,
  services: DocumentOptions['services'],
): DocumentOptions {
  return {
    ocr: config.ocr,
    ocrLanguages: config.ocrLanguages,
    ocrPageMode: config.ocrPageMode,
    maxPages: config.maxPages,
    pageSeparator: config.pageSeparator,
    minTextChars: 10,
    dpi: 200,
    signal,
    services,
  };
}
