/** multimodal.speechToText: a voice message or call recording as text with timed segments. */
import { defineNode, port, z } from '@finflow/sdk';
import { decodeBinary, MB } from './binary.js';
import { openConnection } from '../net/connections.js';
import {
  migrateSpeechConfigV1,
  speechConnectionUses,
  speechFields,
  speechOptions,
  validateSpeech,
} from './config-fields.js';
import { transcribe } from './speech-engine.js';

/** Codes that a second attempt would not change. */
export const speechNonRetryable = [
  'AUDIO_UNSUPPORTED_FORMAT',
  'AUDIO_UNREADABLE',
  'INPUT_TOO_LARGE',
  'UNSUPPORTED_INPUT_URL',
  'SPEECH_ENGINE_UNAVAILABLE',
  'SPEECH_ENGINE_FAILED',
  'SPEECH_PROVIDER_AUTH',
  'SPEECH_PROVIDER_REJECTED',
  'SPEECH_PROVIDER_BAD_RESPONSE',
  'NO_SPEECH_RECOGNISED',
];

export const speechToTextNode = defineNode({
  type: 'multimodal.speechToText',
  version: 2,
  meta: {
    title: 'Speech to text',
    category: 'multimodal',
    description:
      'Transcribes audio (WAV; FLAC, Ogg, MP3 converted) into text and timed segments. Offline English runs on this server with pocketsphinx at basic quality; a transcription connection (an OpenAI-compatible API) gives better quality and Chinese.',
    zh: {
      title: '语音转文字',
      description:
        '将音频转写为文本和带时间的片段。离线英文识别在本机运行（pocketsphinx，基础质量）；中文和更高质量需选择转写服务连接（兼容 OpenAI 的 API）。',
    },
    icon: 'microphone',
    tags: ['speech', 'audio', 'transcription'],
  },
  config: z.object({
    ...speechFields,
    onNoSpeech: z
      .enum(['error', 'empty'])
      .default('error')
      .meta({
        title: 'When nothing is recognised',
        description: 'error: fail with NO_SPEECH_RECOGNISED; empty: return an empty transcript',
        zh: {
          title: '未识别到语音时',
          description: '报错：以 NO_SPEECH_RECOGNISED 失败；返回空文本：返回空的转写结果',
          options: { error: '报错', empty: '返回空文本' },
        },
      }),
  }),
  inputs: {
    audio: port('audio', {
      title: 'Audio',
      zh: { title: '音频', description: '连接一个 data URL 文本即可转换' },
      description: 'Connect a data URL text to convert it',
    }),
  },
  outputs: {
    text: port('text', { title: 'Transcript', zh: { title: '转写文本' } }),
    segments: port('table', {
      title: 'Segments',
      zh: { title: '分段', description: '起止秒数、text、confidence' },
      description: 'start and end in seconds, text, confidence',
    }),
    engine: port('text', { title: 'Engine', zh: { title: '引擎' } }),
    quality: port('text', {
      title: 'Quality',
      zh: { title: '质量', description: 'basic（离线 pocketsphinx）或 provider' },
      description: 'basic (offline pocketsphinx) or provider',
    }),
    meta: port('record', { title: 'Details', zh: { title: '详情' } }),
  },
  timeoutMs: 180_000,
  retry: { maxAttempts: 2, initialDelayMs: 1_000, nonRetryable: speechNonRetryable },
  migrations: { 1: migrateSpeechConfigV1 },
  connections: speechConnectionUses,
  validate(config, helpers) {
    validateSpeech(config, (message, path) => helpers.problem(message, path));
  },
  async run(ctx, { audio }, config) {
    const { bytes } = decodeBinary(audio.data, 'audio', 100 * MB);
    const result = await transcribe(
      { bytes, mimeType: audio.mimeType, name: audio.name },
      speechOptions(config, config.onNoSpeech),
      { signal: ctx.signal, open: (call) => openConnection(ctx, call), services: ctx.services },
    );
    for (const w of result.warnings) ctx.log.warn(w);
    return {
      text: result.text,
      segments: result.segments.map((s) => ({ ...s })),
      engine: result.engine,
      quality: result.quality,
      meta: {
        engine: result.engine,
        quality: result.quality,
        ...(result.quality === 'basic'
          ? {
              note: 'offline pocketsphinx: basic accuracy, English only; use a provider for customer-facing use',
            }
          : {}),
        language: result.language,
        ...(result.durationSec === undefined ? {} : { durationSec: result.durationSec }),
        ...(result.realTimeFactor === undefined ? {} : { realTimeFactor: result.realTimeFactor }),
        warnings: result.warnings,
        ms: result.ms,
      },
    };
  },
});
