/**
 * Bytes that arrive on image, audio and document ports (base64 or data URLs, as a published endpoint receives
 * them in JSON): decoding with size limits, and recognising the real format from the first bytes, because
 * the declared MIME type of a customer upload is often missing or wrong.
 */
import { NodeError } from '@finflow/sdk';

export const MB = 1024 * 1024;

const dataUrlPattern = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w.+-]+=[\w.+-]+)*)(;base64)?,/i;

export interface DecodedBinary {
  bytes: Buffer;
  /** The MIME type a data URL declared, if the value was one. */
  mimeType?: string;
}

/** Decodes base64 (standard or URL-safe, whitespace allowed) or a base64 data URL into bytes. */
export function decodeBinary(value: string, what: string, maxBytes: number): DecodedBinary {
  let payload = value;
  let mimeType: string | undefined;
  const m = dataUrlPattern.exec(value);
  if (m) {
    if (!m[3]) throw new NodeError(`the ${what} data URL is not base64-encoded`, 'INVALID_INPUT');
    mimeType = m[1]?.toLowerCase();
    payload = value.slice(m[0].length);
  } else if (/^https?:\/\//i.test(value)) {
    // Fetching customer-supplied URLs from inside a bank's network is a server-side request forgery risk.
    throw new NodeError(
      `the ${what} is a URL; send its bytes as base64 or a data URL instead (URLs are not fetched)`,
      'UNSUPPORTED_INPUT_URL',
    );
  }
  payload = payload.replace(/\s+/g, '');
  if (payload.length === 0) throw new NodeError(`the ${what} is empty`, 'INVALID_INPUT');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(payload)) {
    throw new NodeError(`the ${what} is not valid base64`, 'INVALID_INPUT');
  }
  const estimated = Math.floor((payload.length * 3) / 4);
  if (estimated > maxBytes) {
    throw new NodeError(
      `the ${what} is ${(estimated / MB).toFixed(1)} MB; the limit is ${(maxBytes / MB).toFixed(0)} MB`,
      'INPUT_TOO_LARGE',
    );
  }
  const bytes = Buffer.from(payload, payload.includes('-') || payload.includes('_') ? 'base64url' : 'base64');
  if (bytes.length === 0) throw new NodeError(`the ${what} is empty`, 'INVALID_INPUT');
  return mimeType ? { bytes, mimeType } : { bytes };
}

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** The MIME type the bytes themselves announce, for the formats the multimodal nodes meet. */
export function sniffMimeType(bytes: Buffer): string | undefined {
  if (bytes.length < 4) return undefined;
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0x89 && ascii(bytes, 1, 4) === 'PNG') return 'image/png';
  if (b0 === 0xff && b1 === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (ascii(bytes, 0, 4) === 'GIF8') return 'image/gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WAVE') return 'audio/wav';
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') return 'image/tiff';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length > 14) return 'image/bmp';
  if (ascii(bytes, 0, 5) === '%PDF-') return 'application/pdf';
  if (ascii(bytes, 0, 4) === 'PK\x03\x04') return 'application/zip';
  if (b0 === 0xd0 && b1 === 0xcf && bytes[2] === 0x11 && bytes[3] === 0xe0)
    return 'application/x-ole-storage';
  if (ascii(bytes, 0, 4) === 'OggS') return 'audio/ogg';
  if (ascii(bytes, 0, 4) === 'fLaC') return 'audio/flac';
  if (ascii(bytes, 0, 4) === 'FORM' && /^AIF[FC]$/.test(ascii(bytes, 8, 12))) return 'audio/aiff';
  if (ascii(bytes, 0, 3) === 'ID3') return 'audio/mpeg';
  if (b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0 && (b1 & 0x06) !== 0) return 'audio/mpeg';
  if (b0 === 0x1a && b1 === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'audio/webm';
  if (ascii(bytes, 4, 8) === 'ftyp') {
    const brand = ascii(bytes, 8, 12);
    if (/^(heic|heix|mif1|msf1|avif)$/.test(brand)) return brand === 'avif' ? 'image/avif' : 'image/heic';
    return 'audio/mp4';
  }
  return undefined;
}

/** The broad kind of content a MIME type names. */
export function kindOfMimeType(mimeType: string): 'image' | 'audio' | 'document' | 'text' {
  const t = mimeType.toLowerCase();
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/') || t === 'video/webm' || t === 'video/mp4') return 'audio';
  if (t.startsWith('text/') || t === 'application/json') return 'text';
  return 'document';
}

/** A short, safe rendering of an upstream error body for an error message (no secrets are ever in it). */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
