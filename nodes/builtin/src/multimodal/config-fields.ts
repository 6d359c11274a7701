/**
 * Config fields shared by the multimodal nodes (OCR, speech, document settings), so `multimodal.intake`
 * offers exactly the settings of the nodes it dispatches to, with the same titles in the editor.
 */
import { z } from '@finflow/sdk';
import { ocrLanguages, pageModes, type PageMode } from './ocr-engine.js';
import type { SpeechOptions } from './speech-engine.js';
import type { DocumentOptions } from './document-engine.js';

export const ocrLanguagesField = z.array(z.enum(ocrLanguages)).min(1).max(3).default(['eng']).meta({
  title: 'OCR languages',
  description:
    'Tesseract models, primary first: eng, chi_sim (简体中文), chi_tra (繁體中文). Use eng + chi_sim for Chinese documents with Latin figures.',
  group: 'OCR',
});

export const ocrPageModeField = z
  .enum(Object.keys(pageModes) as [PageMode, ...PageMode[]])
  .default('column')
  .meta({
    title: 'Page layout',
    description:
      'column: one column of text such as an invoice, statement or letter (keeps table rows); block: one uniform block; auto: detect columns; sparse: scattered text such as a receipt photo or form',
    group: 'OCR',
  });

export const speechFields = {
  speechEngine: z.enum(['auto', 'offline', 'provider']).default('auto').meta({
    title: 'Speech engine',
    description:
      'auto: the provider when one is configured, else offline; offline: pocketsphinx on this server (English, basic quality); provider: an OpenAI-compatible transcription API',
    group: 'Speech',
  }),
  speechLanguage: z
    .string()
    .regex(/^(auto|[a-z]{2,3}([-_][A-Za-z]{2,4})?)$/, 'a language code such as en, zh or auto')
    .default('en')
    .meta({
      title: 'Spoken language',
      description: 'en, zh, ... or auto (the provider detects it)',
      group: 'Speech',
    }),
  providerBaseUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({
      title: 'Transcription provider URL',
      description:
        'Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 or a local whisper server',
      group: 'Speech',
    }),
  providerModel: z
    .string()
    .min(1)
    .max(200)
    .default('whisper-1')
    .meta({ title: 'Transcription model', group: 'Speech' }),
  providerCredential: z.string().min(1).max(200).optional().meta({
    title: 'Provider credential',
    description: 'Name of the credential holding the API key (leave empty for a local server without keys)',
    widget: 'secret',
    group: 'Speech',
  }),
  providerTimeoutMs: z
    .int()
    .min(1_000)
    .max(600_000)
    .default(60_000)
    .meta({ title: 'Provider time limit (ms)', group: 'Speech' }),
  providerPrompt: z.string().max(1000).optional().meta({
    title: 'Vocabulary hint',
    description: 'Words the provider should expect (product names, account terms)',
    widget: 'textarea',
    group: 'Speech',
  }),
};

type SpeechConfig = {
  speechEngine: SpeechOptions['engine'];
  speechLanguage: string;
  providerBaseUrl?: string | undefined;
  providerModel: string;
  providerCredential?: string | undefined;
  providerTimeoutMs: number;
  providerPrompt?: string | undefined;
};

export function speechOptions(config: SpeechConfig, onNoSpeech: SpeechOptions['onNoSpeech']): SpeechOptions {
  return {
    engine: config.speechEngine,
    language: config.speechLanguage,
    onNoSpeech,
    provider: config.providerBaseUrl
      ? {
          baseUrl: config.providerBaseUrl,
          model: config.providerModel,
          credential: config.providerCredential,
          requestTimeoutMs: config.providerTimeoutMs,
          prompt: config.providerPrompt,
        }
      : undefined,
  };
}

/** Reports a provider engine chosen without a provider URL (used by the nodes' `validate`). */
export function validateSpeech(
  config: SpeechConfig,
  problem: (message: string, path: string[]) => void,
): void {
  if (config.speechEngine === 'provider' && !config.providerBaseUrl) {
    problem('the provider engine needs a provider URL', ['providerBaseUrl']);
  }
}

export const documentFields = {
  ocr: z.enum(['auto', 'never', 'always']).default('auto').meta({
    title: 'OCR for PDF pages',
    description:
      'auto: pages without a text layer (scans) are read by OCR; never: skip them; always: OCR every page',
    group: 'Document',
  }),
  maxPages: z.int().min(1).max(2000).default(100).meta({ title: 'Maximum pages', group: 'Document' }),
  pageSeparator: z.enum(['marker', 'blank-line', 'form-feed']).default('marker').meta({
    title: 'Between pages',
    description: 'marker: a "[Page n]" line before each page (for citations); blank-line; form-feed',
    group: 'Document',
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
