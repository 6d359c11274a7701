import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, createRuntime } from '@finflow/runtime';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { withConnections } from '../model/test-helpers/connections.js';
import { speechToTextNode } from './speech-to-text.node.js';
import { parsePocketsphinx, wavInfo } from './speech-engine.js';
import { soxConvert, speak, wordErrorRate } from './test-helpers/media.js';

const sentences = [
  'Hello, I would like to check the balance of my savings account.',
  'Please transfer five hundred dollars to my checking account.',
];
const script = sentences.join(' ');
const audio = (bytes: Buffer, mimeType = 'audio/wav') => ({ mimeType, data: bytes.toString('base64') });

const shortScript = 'I would like to check the balance of my savings account.';

let wav: Buffer;
let short: Buffer;
beforeAll(() => {
  wav = speak(script);
  short = speak(shortScript);
});

describe('multimodal.speechToText offline (pocketsphinx)', () => {
  it('transcribes English speech, labelled basic quality, with timed segments', async () => {
    const out = await runNodeOk(speechToTextNode, { inputs: { audio: audio(wav) } });
    const wer = wordErrorRate(out['text'] as string, script);
    console.info(`STT WER, flite slt voice, 2 sentences: ${(wer * 100).toFixed(1)}%`);
    expect(wer).toBeLessThanOrEqual(0.1);
    expect(out['engine']).toBe('pocketsphinx');
    expect(out['quality']).toBe('basic');
    const meta = out['meta'] as Record<string, unknown>;
    expect(meta['quality']).toBe('basic');
    expect(meta['note']).toMatch(/basic accuracy/);
    const duration = wavInfo(wav)!.durationSec;
    expect(meta['durationSec']).toBeCloseTo(duration, 1);
    const segments = out['segments'] as { start: number; end: number; text: string }[];
    expect(segments.length).toBeGreaterThan(0);
    expect(segments[0]!.start).toBeLessThan(0.5);
    expect(segments.at(-1)!.end).toBeLessThanOrEqual(duration + 0.05);
    expect(segments.at(-1)!.end).toBeGreaterThan(duration - 1);
  });

  it('converts other formats first (44.1 kHz stereo WAV, FLAC)', async () => {
    const stereo = soxConvert(short, 'wav', 'wav', ['-r', '44100', '-c', '2']);
    expect(wavInfo(stereo)).toMatchObject({ sampleRate: 44100, channels: 2 });
    const a = await runNodeOk(speechToTextNode, { inputs: { audio: audio(stereo) } });
    expect(wordErrorRate(a['text'] as string, shortScript)).toBeLessThanOrEqual(0.2);
    const flac = soxConvert(short, 'wav', 'flac');
    const b = await runNodeOk(speechToTextNode, { inputs: { audio: audio(flac, 'audio/flac') } });
    expect(wordErrorRate(b['text'] as string, shortScript)).toBeLessThanOrEqual(0.2);
    expect((b['meta'] as { warnings: string[] }).warnings).toEqual([]);
  });

  it('warns that telephone-band (8 kHz) audio is beyond the offline model', async () => {
    const phone = soxConvert(short, 'wav', 'wav', ['-r', '8000']);
    const r = await runNode(speechToTextNode, {
      config: { onNoSpeech: 'empty' },
      inputs: { audio: audio(phone) },
    });
    const meta = r.outputs?.['meta'] as { warnings: string[] };
    expect(meta.warnings.join(' ')).toMatch(/8000 Hz \(telephone band\).*use a provider/);
  });

  it('refuses formats it cannot convert and audio it cannot read', async () => {
    const m4a = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(64)]);
    const r1 = await runNode(speechToTextNode, { inputs: { audio: audio(m4a, 'audio/mp4') } });
    expect(r1.error?.code).toBe('AUDIO_UNSUPPORTED_FORMAT');
    expect(r1.error?.message).toMatch(/provider/);
    const r2 = await runNode(speechToTextNode, {
      inputs: { audio: audio(Buffer.from('definitely not audio')) },
    });
    expect(r2.error?.code).toBe('AUDIO_UNSUPPORTED_FORMAT');
    const broken = Buffer.concat([
      Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'),
      Buffer.alloc(8, 0xff),
    ]);
    const r3 = await runNode(speechToTextNode, { inputs: { audio: audio(broken) } });
    expect(r3.error?.code).toBe('AUDIO_UNREADABLE');
    expect(r3.attempts).toBe(1);
  });

  it('fails on silence instead of returning an empty transcript, unless told otherwise', async () => {
    const silence = soxConvert(short, 'wav', 'wav', [], ['vol', '0']);
    const r = await runNode(speechToTextNode, { inputs: { audio: audio(silence) } });
    expect(r.error?.code).toBe('NO_SPEECH_RECOGNISED');
    const ok = await runNodeOk(speechToTextNode, {
      config: { onNoSpeech: 'empty' },
      inputs: { audio: audio(silence) },
    });
    expect(ok['text']).toBe('');
  });

  it('says what to install when no engine is available', async () => {
    const r = await runNode(speechToTextNode, {
      inputs: { audio: audio(wav) },
      services: { multimodal: { tools: { pocketsphinx: '/nonexistent/pocketsphinx_continuous' } } },
    });
    expect(r.error?.code).toBe('SPEECH_ENGINE_UNAVAILABLE');
    expect(r.error?.message).toMatch(/pocketsphinx pocketsphinx-en-us/);
    const zh = await runNode(speechToTextNode, {
      config: { speechLanguage: 'zh' },
      inputs: { audio: audio(wav) },
    });
    expect(zh.error?.code).toBe('SPEECH_ENGINE_UNAVAILABLE');
    expect(zh.error?.message).toMatch(/transcription connection/);
  });

  it('kills the recogniser when the run is cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finflow-stt-test-'));
    try {
      const fake = join(dir, 'pocketsphinx_continuous');
      const pidFile = join(dir, 'pid');
      writeFileSync(fake, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
      chmodSync(fake, 0o755);
      const controller = new AbortController();
      const pending = runNode(speechToTextNode, {
        inputs: { audio: audio(wav) },
        services: { multimodal: { tools: { pocketsphinx: fake } } },
        signal: controller.signal,
      });
      let pid = 0;
      for (let i = 0; i < 100 && !pid; i++) {
        await new Promise((r) => setTimeout(r, 20));
        pid = Number(readFileSync(pidFile, { flag: 'a+' }).toString().trim()) || 0;
      }
      expect(pid).toBeGreaterThan(0);
      controller.abort(new Error('caller hung up'));
      expect((await pending).error?.code).toBe('CANCELLED');
      await new Promise((r) => setTimeout(r, 100));
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses utterances, dropping fillers and pronunciation variants', () => {
    const segments = parsePocketsphinx(
      [
        'hello there',
        '<s> 0.000 0.100 0.999',
        'hello(2) 0.110 0.500 0.990',
        '<sil> 0.510 0.700 0.900',
        '[NOISE] 0.710 0.800 0.500',
        'there 0.810 1.200 0.900',
        '</s> 1.210 1.300 1.000',
        'yes',
        '<s> 2.000 2.100 1.000',
        'yes 2.110 2.500 1.000100',
        '</s> 2.510 2.600 1.000',
      ].join('\n'),
    );
    expect(segments).toEqual([
      { start: 0.11, end: 1.2, text: 'hello there', confidence: 0.945 },
      { start: 2.11, end: 2.5, text: 'yes', confidence: 1 },
    ]);
  });
});

// --- provider -------------------------------------------------------------------------------------------

interface Received {
  url: string;
  authorization: string | undefined;
  contentType: string;
  body: Buffer;
}

let server: Server;
let baseUrl: string;
let received: Received[] = [];
let closedEarly = 0;
let respond: (req: IncomingMessage, res: ServerResponse) => void = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      res.on('close', () => {
        if (!res.writableEnded) closedEarly++;
      });
      respond(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterEach(() => {
  received = [];
  closedEarly = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('multimodal.speechToText with an OpenAI-compatible provider', () => {
  const config = () => ({
    providerConnection: 'stt',
    providerModel: 'whisper-large-v3',
    speechLanguage: 'zh',
  });
  const stt = (extra: Record<string, unknown> = {}) =>
    withConnections({
      stt: { kind: 'openai', baseUrl, credential: 'stt-key', deployment: 'private', ...extra },
    });

  it('sends the audio as multipart with the key from the credential store and reads verbose_json', async () => {
    respond = json(200, {
      text: '您好，我想查询一下我的储蓄账户余额。',
      language: 'chinese',
      duration: 3.2,
      segments: [
        { id: 0, start: 0, end: 1.4, text: '您好，', avg_logprob: -0.1 },
        { id: 1, start: 1.4, end: 3.2, text: '我想查询一下我的储蓄账户余额。', avg_logprob: -0.2 },
      ],
    });
    const out = await runNodeOk(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'sk-test-123' },
    });
    expect(out['text']).toBe('您好，我想查询一下我的储蓄账户余额。');
    expect(out['engine']).toBe('provider:whisper-large-v3');
    expect(out['quality']).toBe('provider');
    expect(out['segments']).toEqual([
      { start: 0, end: 1.4, text: '您好，', confidence: 0.905 },
      { start: 1.4, end: 3.2, text: '我想查询一下我的储蓄账户余额。', confidence: 0.819 },
    ]);
    const [req] = received;
    expect(req!.url).toBe('/v1/audio/transcriptions');
    expect(req!.authorization).toBe('Bearer sk-test-123');
    expect(req!.contentType).toMatch(/^multipart\/form-data; boundary=/);
    const body = req!.body.toString('latin1');
    expect(body).toMatch(/name="model"\r\n\r\nwhisper-large-v3/);
    expect(body).toMatch(/name="language"\r\n\r\nzh/);
    expect(body).toMatch(/name="response_format"\r\n\r\nverbose_json/);
    expect(body).toContain('filename="audio.wav"');
    expect(req!.body.includes(wav.subarray(44, 1044))).toBe(true);
  });

  it('retries a 500 once and then fails with a code', async () => {
    respond = json(500, { error: { message: 'model overloaded' } });
    const r = await runNode(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'k' },
      retry: { initialDelayMs: 10 },
    });
    expect(r.error?.code).toBe('SPEECH_PROVIDER_ERROR');
    expect(r.error?.message).toContain('HTTP 500 Internal Server Error');
    expect(r.error?.message).not.toContain('overloaded');
    expect(received).toHaveLength(2);
  });

  it('does not retry a rejected key', async () => {
    respond = json(401, { error: { message: 'invalid api key' } });
    const r = await runNode(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'k' },
    });
    expect(r.error?.code).toBe('SPEECH_PROVIDER_AUTH');
    expect(received).toHaveLength(1);
  });

  it('gives up on a provider that hangs: its own time limit, or the node timeout', async () => {
    respond = () => {};
    const r1 = await runNode(speechToTextNode, {
      config: { ...config(), providerTimeoutMs: 1000 },
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'k' },
      retry: { maxAttempts: 1 },
    });
    expect(r1.error?.code).toBe('SPEECH_PROVIDER_TIMEOUT');
    const r2 = await runNode(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'k' },
      timeoutMs: 500,
      retry: { maxAttempts: 1 },
    });
    expect(r2.error?.code).toBe('TIMEOUT');
    await new Promise((r) => setTimeout(r, 100));
    // Both requests were abandoned by the client, not left open.
    expect(closedEarly).toBe(2);
  });

  it('reports a provider that sends something other than a transcription', async () => {
    respond = (_req, res) => res.end('<html>gateway</html>');
    const r = await runNode(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...stt(),
      secrets: { 'stt-key': 'k' },
    });
    expect(r.error?.code).toBe('SPEECH_PROVIDER_BAD_RESPONSE');
  });

  it('needs the credential to exist', async () => {
    respond = json(200, { text: 'x' });
    const r = await runNode(speechToTextNode, { config: config(), inputs: { audio: audio(wav) }, ...stt() });
    expect(r.error?.code).toBe('SECRET_NOT_FOUND');
    expect(received).toHaveLength(0);
  });

  it('reports an unreachable provider', async () => {
    const r = await runNode(speechToTextNode, {
      config: { providerConnection: 'stt' },
      inputs: { audio: audio(wav) },
      ...stt({ baseUrl: 'http://127.0.0.1:9/v1', credential: null }),
      retry: { maxAttempts: 1 },
    });
    expect(r.error?.code).toBe('SPEECH_PROVIDER_UNREACHABLE');
  });

  it('sends a voice only to a connection that may receive personal data', async () => {
    respond = json(200, { text: 'ok' });
    const cloud = stt({ deployment: 'cloud' });
    const refused = await runNode(speechToTextNode, {
      config: config(),
      inputs: { audio: audio(wav) },
      ...cloud,
      secrets: { 'stt-key': 'k' },
    });
    expect(refused.error?.code).toBe('CONNECTION_NOT_ALLOWED');
    expect(refused.error?.message).toContain('may not receive personal data');
    expect(received).toHaveLength(0);
    // A node that says its recordings hold no personal data (an IVR prompt library, say) may use it.
    const declared = await runNode(speechToTextNode, {
      config: { ...config(), speechDataClass: 'internal' },
      inputs: { audio: audio(wav) },
      ...cloud,
      secrets: { 'stt-key': 'k' },
    });
    expect(declared.status).toBe('succeeded');
    expect(received).toHaveLength(1);
  });

  it('runs a version-1 node (URL and credential in the node) through the connection that binds them', async () => {
    respond = json(200, { text: 'hello' });
    const runtime = createRuntime({
      registry: createRegistry([speechToTextNode]),
      services: { ...stt().services, secrets: { get: async () => 'sk-bound-123456' } },
    });
    const v1 = { providerBaseUrl: baseUrl, providerCredential: 'stt-key', providerModel: 'whisper-large-v3' };
    const ok = await runtime.runNode(
      { type: 'multimodal.speechToText', version: 1, config: v1 },
      { audio: audio(wav) },
    );
    expect(ok.outputs?.['text']).toBe('hello');
    expect(received[0]?.authorization).toBe('Bearer sk-bound-123456');
    const elsewhere = await runtime.runNode(
      {
        type: 'multimodal.speechToText',
        version: 1,
        config: { ...v1, providerBaseUrl: 'http://127.0.0.1:9/v1' },
      },
      { audio: audio(wav) },
    );
    expect(elsewhere.error?.code).toBe('CREDENTIAL_DESTINATION_MISMATCH');
    expect(received).toHaveLength(1);
  });
});
