/**
 * Speech to text. Two engines, chosen by config:
 * - offline: Debian's pocketsphinx (English only) as a child process on 16 kHz mono WAV, with sox converting
 *   other formats. Its accuracy is basic (a few % word errors on clear speech, far worse on real calls), and
 *   every result says so.
 * - provider: a workspace connection to an OpenAI-compatible `/audio/transcriptions` endpoint (OpenAI, a local
 *   whisper server, vLLM), for quality and for Chinese. The connection gives the URL, the key and the egress
 *   client; a failure reports the status and a short reason, never the server's reply.
 * When neither is usable the result is an error that says what to install or configure, never an empty text.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { LegacyEndpoint } from '@finflow/runtime';
import { NodeError, type Services } from '@finflow/sdk';
import type { ConnectionCall, DataClassChoice, OpenedConnection } from '../net/connections.js';
import { sniffMimeType } from './binary.js';
import { debianPackages, findTool, runTool, withTempDir } from './tools.js';

export interface SpeechSegment {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
  /** 0..1 when the engine reports it. */
  confidence?: number;
}

export interface SpeechResult {
  text: string;
  segments: SpeechSegment[];
  /** `pocketsphinx` or `provider:<model>`. */
  engine: string;
  quality: 'basic' | 'provider';
  language: string;
  durationSec?: number;
  /** Processing time divided by audio duration. */
  realTimeFactor?: number;
  /** Conditions that make the transcript less reliable (e.g. telephone-band audio offline). */
  warnings: string[];
  ms: number;
}

export interface ProviderSettings {
  /** The workspace connection to an OpenAI-compatible transcription API. */
  connection?: string | undefined;
  /** A version-1 node's URL and credential, standing for the connection that binds them. */
  legacy?: LegacyEndpoint | undefined;
  model: string;
  requestTimeoutMs: number;
  prompt?: string | undefined;
  dataClass: DataClassChoice;
}

export interface SpeechOptions {
  engine: 'auto' | 'offline' | 'provider';
  /** ISO 639-1 code (`en`, `zh`) or `auto` (the provider detects it; offline assumes English). */
  language: string;
  provider?: ProviderSettings | undefined;
  onNoSpeech: 'error' | 'empty';
}

export interface SpeechEnv {
  signal: AbortSignal;
  /** Opens a call through a connection (`openConnection` with the node's context). */
  open(call: ConnectionCall): Promise<OpenedConnection>;
  services?: Partial<Services>;
}

export interface AudioInput {
  bytes: Buffer;
  mimeType: string;
  name?: string | undefined;
}

const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: number;
  durationSec: number;
}

/** Reads a RIFF/WAVE header (fmt and data chunks); undefined when it is not a usable WAV. */
export function wavInfo(bytes: Buffer): WavInfo | undefined {
  if (
    bytes.length < 12 ||
    bytes.toString('latin1', 0, 4) !== 'RIFF' ||
    bytes.toString('latin1', 8, 12) !== 'WAVE'
  )
    return undefined;
  let fmt: Omit<WavInfo, 'durationSec'> | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= bytes.length) {
      let format = bytes.readUInt16LE(body);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format === 0xfffe && body + 26 <= bytes.length) format = bytes.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        bitsPerSample: bytes.readUInt16LE(body + 14),
      };
    } else if (id === 'data' && fmt) {
      const dataBytes = Math.min(size, bytes.length - body);
      const frame = fmt.channels * (fmt.bitsPerSample / 8);
      if (!fmt.sampleRate || !frame) return undefined;
      return { ...fmt, durationSec: dataBytes / frame / fmt.sampleRate };
    }
    offset = body + size + (size % 2);
  }
  return undefined;
}

/** sox input type per sniffed format; formats missing here (AAC/M4A, WebM/Opus) need the provider. */
const soxTypes: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/aiff': 'aiff',
};

const fileExtensions: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/aiff': 'aiff',
  'audio/webm': 'webm',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/m4a': 'm4a',
};

function isEnglish(language: string): boolean {
  return language === 'auto' || /^en(\b|[-_])/i.test(language);
}

/** Picks the engine for a request, or explains what is missing. */
async function chooseEngine(opts: SpeechOptions, env: SpeechEnv): Promise<'offline' | 'provider'> {
  if (opts.engine === 'provider' || (opts.engine === 'auto' && opts.provider)) {
    if (!opts.provider)
      throw new NodeError('the provider engine needs a transcription connection in config', 'INVALID_CONFIG');
    return 'provider';
  }
  if (!isEnglish(opts.language)) {
    throw new NodeError(
      `offline speech recognition covers English only; for "${opts.language}" choose a transcription connection (an OpenAI-compatible API)`,
      'SPEECH_ENGINE_UNAVAILABLE',
    );
  }
  const missing = await offlineMissing(env);
  if (missing) throw new NodeError(missing, 'SPEECH_ENGINE_UNAVAILABLE');
  return 'offline';
}

/** Why the offline engine cannot run here, or undefined when it can. */
export async function offlineMissing(env: Pick<SpeechEnv, 'services'>): Promise<string | undefined> {
  const exe = await findTool('pocketsphinx', env.services);
  const modelDir = env.services?.multimodal?.pocketsphinxModelDir ?? DEFAULT_MODEL_DIR;
  const model = await access(join(modelDir, 'en-us.lm.bin')).then(
    () => true,
    () => false,
  );
  if (exe && model) return undefined;
  return `no speech-to-text engine is available: install the Debian packages ${debianPackages.pocketsphinx} (offline English, basic quality; plus ${debianPackages.sox} for formats other than 16 kHz WAV), or choose a transcription connection`;
}

// --- offline: pocketsphinx ------------------------------------------------------------------------------

interface Word {
  word: string;
  start: number;
  end: number;
  p: number;
}

/**
 * Parses `pocketsphinx_continuous -time yes` output: per utterance a hypothesis line, then one line per word
 * `word start end posterior` framed by `<s>` and `</s>`. Fillers (`<sil>`, `[NOISE]`, `++...++`) are dropped
 * and pronunciation variants (`to(2)`) folded.
 */
export function parsePocketsphinx(stdout: string): SpeechSegment[] {
  const segments: SpeechSegment[] = [];
  let words: Word[] = [];
  const flush = () => {
    if (words.length) {
      const confidence = words.reduce((s, w) => s + Math.min(1, w.p), 0) / words.length;
      segments.push({
        start: words[0]!.start,
        end: words[words.length - 1]!.end,
        text: words.map((w) => w.word).join(' '),
        confidence: Math.round(confidence * 1000) / 1000,
      });
    }
    words = [];
  };
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m) continue;
    const token = m[1]!;
    if (token === '<s>') flush();
    else if (token === '</s>') flush();
    else if (!/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(token)) {
      words.push({
        word: token.replace(/\(\d+\)$/, ''),
        start: Number(m[2]),
        end: Number(m[3]),
        p: Number(m[4]),
      });
    }
  }
  flush();
  return segments;
}

async function toPocketsphinxWav(
  audio: AudioInput,
  dir: string,
  env: SpeechEnv,
): Promise<{ path: string; durationSec: number; sourceRate?: number }> {
  const sniffed = sniffMimeType(audio.bytes);
  const info = sniffed === 'audio/wav' ? wavInfo(audio.bytes) : undefined;
  const target = join(dir, 'speech-16k.wav');
  if (
    info &&
    info.format === 1 &&
    info.sampleRate === 16000 &&
    info.channels === 1 &&
    info.bitsPerSample === 16
  ) {
    await writeFile(target, audio.bytes);
    return { path: target, durationSec: info.durationSec, sourceRate: 16000 };
  }
  const soxType = sniffed ? soxTypes[sniffed] : undefined;
  if (!soxType) {
    throw new NodeError(
      `the audio format ${sniffed ?? audio.mimeType} is not supported offline; send WAV, FLAC, Ogg Vorbis, MP3 or AIFF, or configure a transcription provider`,
      'AUDIO_UNSUPPORTED_FORMAT',
    );
  }
  const sox = await findTool('sox', env.services);
  if (!sox) {
    throw new NodeError(
      `converting ${soxType.toUpperCase()} audio needs sox: install the Debian packages ${debianPackages.sox} (or send 16 kHz mono 16-bit WAV)`,
      'SPEECH_ENGINE_UNAVAILABLE',
    );
  }
  const source = join(dir, `input.${soxType}`);
  await writeFile(source, audio.bytes);
  const rate = await runTool(sox, ['--i', '-r', source], {
    signal: env.signal,
    failCode: 'AUDIO_UNREADABLE',
    what: 'reading the audio (sox)',
  });
  await runTool(
    sox,
    [
      '-q',
      '-t',
      soxType,
      source,
      '-r',
      '16000',
      '-c',
      '1',
      '-b',
      '16',
      '-e',
      'signed-integer',
      '-t',
      'wav',
      target,
    ],
    { signal: env.signal, failCode: 'AUDIO_UNREADABLE', what: 'converting the audio (sox)' },
  );
  const converted = wavInfo(await readFile(target));
  if (!converted) throw new NodeError('the audio could not be converted to WAV', 'AUDIO_UNREADABLE');
  const sourceRate = Number(rate.stdout.trim());
  return { path: target, durationSec: converted.durationSec, ...(sourceRate > 0 ? { sourceRate } : {}) };
}

/** Below this sample rate (telephone band is 8 kHz) the wide-band offline model recognises little. */
const MIN_OFFLINE_RATE = 16000;

async function transcribeOffline(audio: AudioInput, env: SpeechEnv): Promise<Omit<SpeechResult, 'ms'>> {
  const exe = (await findTool('pocketsphinx', env.services))!;
  const modelDir = env.services?.multimodal?.pocketsphinxModelDir ?? DEFAULT_MODEL_DIR;
  return withTempDir(async (dir) => {
    const wav = await toPocketsphinxWav(audio, dir, env);
    const started = performance.now();
    const { stdout } = await runTool(
      exe,
      [
        '-infile',
        wav.path,
        '-hmm',
        join(modelDir, 'en-us'),
        '-lm',
        join(modelDir, 'en-us.lm.bin'),
        '-dict',
        join(modelDir, 'cmudict-en-us.dict'),
        '-time',
        'yes',
        '-logfn',
        '/dev/null',
      ],
      { signal: env.signal, failCode: 'SPEECH_ENGINE_FAILED', what: 'speech recognition (pocketsphinx)' },
    );
    const segments = parsePocketsphinx(stdout);
    const seconds = (performance.now() - started) / 1000;
    const warnings: string[] = [];
    if (wav.sourceRate !== undefined && wav.sourceRate < MIN_OFFLINE_RATE) {
      warnings.push(
        `the audio is sampled at ${wav.sourceRate} Hz (telephone band); the offline model needs 16 kHz audio and recognises such recordings poorly: use a provider`,
      );
    }
    return {
      text: segments.map((s) => s.text).join(' '),
      segments,
      engine: 'pocketsphinx',
      quality: 'basic',
      language: 'en',
      durationSec: Math.round(wav.durationSec * 1000) / 1000,
      ...(wav.durationSec > 0
        ? { realTimeFactor: Math.round((seconds / wav.durationSec) * 1000) / 1000 }
        : {}),
      warnings,
    };
  });
}

// --- provider: OpenAI-compatible ------------------------------------------------------------------------

interface ProviderReply {
  text?: unknown;
  language?: unknown;
  duration?: unknown;
  segments?: unknown;
}

/** The provider's error code from a JSON error body, when it is a plain token; nothing else of the body. */
function errorCode(body: string): string | undefined {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; type?: unknown } }).error;
    for (const v of [error?.code, error?.type])
      if (typeof v === 'string' && /^[a-z][a-z0-9_.-]{1,63}$/i.test(v)) return v;
  } catch {
    // Not JSON: only the status is reported.
  }
  return undefined;
}

function httpError(status: number, body: string): NodeError {
  const code = errorCode(body);
  const msg = `the transcription provider answered HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}${code ? ` (${code})` : ''}`;
  if (status === 401 || status === 403) return new NodeError(msg, 'SPEECH_PROVIDER_AUTH');
  if (status === 429) return new NodeError(msg, 'SPEECH_PROVIDER_RATE_LIMITED');
  if (status >= 500) return new NodeError(msg, 'SPEECH_PROVIDER_ERROR');
  return new NodeError(msg, 'SPEECH_PROVIDER_REJECTED');
}

async function transcribeWithProvider(
  audio: AudioInput,
  provider: ProviderSettings,
  language: string,
  env: SpeechEnv,
): Promise<Omit<SpeechResult, 'ms'>> {
  const mimeType = sniffMimeType(audio.bytes) ?? audio.mimeType;
  const ext = fileExtensions[mimeType];
  if (!ext) {
    throw new NodeError(
      `the audio format ${mimeType} is not one transcription providers accept (WAV, MP3, M4A, WebM, Ogg, FLAC)`,
      'AUDIO_UNSUPPORTED_FORMAT',
    );
  }
  const opened = await env.open({
    name: provider.connection,
    legacy: provider.legacy,
    kinds: ['openai'],
    model: provider.model,
    dataClass: provider.dataClass,
    // A voice identifies its speaker: audio is personal data unless the node says what it holds.
    assume: 'personal',
  });
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opened.apiKey) headers['authorization'] = `Bearer ${opened.apiKey}`;
  const form = new FormData();
  form.append('file', new Blob([audio.bytes], { type: mimeType }), audio.name ?? `audio.${ext}`);
  form.append('model', provider.model);
  form.append('response_format', 'verbose_json');
  form.append('temperature', '0');
  if (language !== 'auto') form.append('language', language.slice(0, 2).toLowerCase());
  if (provider.prompt) form.append('prompt', provider.prompt);
  const url = `${opened.info.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
  const timeout = AbortSignal.timeout(provider.requestTimeoutMs);
  let res: Response;
  let body: string;
  try {
    res = await opened.fetch(url, {
      method: 'POST',
      headers,
      body: form,
      signal: AbortSignal.any([env.signal, timeout]),
    });
    body = await res.text();
  } catch (err) {
    if (env.signal.aborted) throw env.signal.reason;
    if (err instanceof NodeError) throw err;
    if (timeout.aborted) {
      throw new NodeError(
        `the transcription provider did not answer within ${provider.requestTimeoutMs} ms`,
        'SPEECH_PROVIDER_TIMEOUT',
      );
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new NodeError(
      `the transcription provider at ${new URL(url).origin} is unreachable${typeof cause?.code === 'string' && /^[A-Z_]+$/.test(cause.code) ? ` (${cause.code})` : ''}`,
      'SPEECH_PROVIDER_UNREACHABLE',
    );
  }
  if (!res.ok) throw httpError(res.status, body);
  let reply: ProviderReply;
  try {
    reply = JSON.parse(body) as ProviderReply;
  } catch {
    throw new NodeError(
      `the transcription provider's reply is not JSON (HTTP ${res.status}, ${body.length} bytes)`,
      'SPEECH_PROVIDER_BAD_RESPONSE',
    );
  }
  if (typeof reply.text !== 'string') {
    throw new NodeError('the transcription provider sent no `text`', 'SPEECH_PROVIDER_BAD_RESPONSE');
  }
  const text = reply.text.trim();
  const duration = typeof reply.duration === 'number' ? reply.duration : wavInfo(audio.bytes)?.durationSec;
  const segments: SpeechSegment[] = [];
  if (Array.isArray(reply.segments)) {
    for (const s of reply.segments as Record<string, unknown>[]) {
      if (typeof s?.['text'] !== 'string' || typeof s['start'] !== 'number' || typeof s['end'] !== 'number')
        continue;
      const seg: SpeechSegment = { start: s['start'], end: s['end'], text: s['text'].trim() };
      // Whisper reports the mean log-probability of the segment's tokens.
      if (typeof s['avg_logprob'] === 'number')
        seg.confidence = Math.round(Math.exp(s['avg_logprob']) * 1000) / 1000;
      segments.push(seg);
    }
  }
  if (!segments.length && text) segments.push({ start: 0, end: duration ?? 0, text });
  return {
    text,
    segments,
    engine: `provider:${provider.model}`,
    quality: 'provider',
    language: typeof reply.language === 'string' ? reply.language : language,
    ...(duration === undefined ? {} : { durationSec: Math.round(duration * 1000) / 1000 }),
    warnings: [],
  };
}

/** Transcribes one audio clip with the engine the options select. */
export async function transcribe(
  audio: AudioInput,
  opts: SpeechOptions,
  env: SpeechEnv,
): Promise<SpeechResult> {
  const started = performance.now();
  const engine = await chooseEngine(opts, env);
  const result =
    engine === 'provider'
      ? await transcribeWithProvider(audio, opts.provider!, opts.language, env)
      : await transcribeOffline(audio, env);
  if (!result.text && opts.onNoSpeech === 'error') {
    throw new NodeError(`no speech was recognised in the audio (${result.engine})`, 'NO_SPEECH_RECOGNISED');
  }
  return { ...result, ms: Math.round(performance.now() - started) };
}
