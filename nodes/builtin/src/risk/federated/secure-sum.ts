/**
 * Secure aggregation by pairwise additive masks. Each holder turns its update (a vector of numbers) into
 * fixed-point integers modulo 2^128 and adds, for every other participant, a mask drawn from a key the two of
 * them agree on by X25519 (ECDH): the lower holder id adds it, the higher one subtracts it. Every mask appears
 * once with each sign, so the masks cancel in the sum and the coordinator learns the total and nothing else;
 * one holder's masked vector is uniformly random to anyone without its peers' shared keys.
 *
 * Masks are derived per session, stage, round and attempt (HKDF-SHA256, then an AES-256-CTR keystream), so a
 * round redone after a dropout uses fresh masks; a holder refuses to answer the same (stage, round, attempt)
 * twice (see holder.ts), because two vectors under one mask would give away their difference.
 */
import {
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { publicKeyPattern } from '@finflow/contract';

/** All arithmetic is modulo 2^128: sums of masked vectors wrap, and the masks cancel exactly. */
const BITS = 128n;
const MODULUS = 1n << BITS;
const HALF = 1n << (BITS - 1n);
const WORD_BYTES = 16;
/**
 * Fixed-point scale 2^40: a resolution of 1e-12, and room for totals up to 2^87 (about 1.5e26) in magnitude,
 * far above any sum of squares a credit table gives.
 */
const SCALE_BITS = 40n;
const SCALE = 2 ** Number(SCALE_BITS);
const LIMIT = 2 ** 86;

export type Words = bigint[];

/** Fixed-point words of a vector; throws on a value that is not finite or too large to sum safely. */
export function encodeFixed(values: ArrayLike<number>): Words {
  const out: Words = new Array<bigint>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v) || Math.abs(v) >= LIMIT)
      throw new RangeError(`value ${i} cannot be summed: ${v}`);
    const scaled = BigInt(Math.round(v * SCALE));
    out[i] = ((scaled % MODULUS) + MODULUS) % MODULUS;
  }
  return out;
}

/** The numbers a vector of fixed-point words stands for (words at or above 2^127 are negative). */
export function decodeFixed(words: readonly bigint[]): number[] {
  return words.map((w) => {
    const signed = w >= HALF ? w - MODULUS : w;
    // Split to keep the precision of the integer part and the fraction apart.
    const whole = signed >> SCALE_BITS;
    const frac = signed - (whole << SCALE_BITS);
    return Number(whole) + Number(frac) / SCALE;
  });
}

export function addWords(a: Words, b: readonly bigint[]): void {
  if (a.length !== b.length) throw new RangeError(`vectors of ${a.length} and ${b.length} words`);
  for (let i = 0; i < a.length; i++) a[i] = ((a[i] as bigint) + (b[i] as bigint)) % MODULUS;
}

/** Words as base64 (16 bytes little-endian each), the wire form of a masked vector. */
export function wordsToBase64(words: readonly bigint[]): string {
  const buf = Buffer.alloc(words.length * WORD_BYTES);
  words.forEach((w, i) => {
    buf.writeBigUInt64LE(w & 0xffff_ffff_ffff_ffffn, i * WORD_BYTES);
    buf.writeBigUInt64LE(w >> 64n, i * WORD_BYTES + 8);
  });
  return buf.toString('base64');
}

export function base64ToWords(text: string, length: number): Words {
  const buf = Buffer.from(text, 'base64');
  if (buf.length !== length * WORD_BYTES)
    throw new RangeError(`expected ${length} words, got ${buf.length / WORD_BYTES}`);
  const out: Words = new Array<bigint>(length);
  for (let i = 0; i < length; i++)
    out[i] = buf.readBigUInt64LE(i * WORD_BYTES) | (buf.readBigUInt64LE(i * WORD_BYTES + 8) << 64n);
  return out;
}

export interface AgreementKeys {
  privateKey: KeyObject;
  /** The X25519 public key, base64url (the JWK `x`), as it travels. */
  publicKey: string;
}

/** A fresh X25519 key pair for one training session. */
export function newAgreementKeys(): AgreementKeys {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicKey: jwk.x as string };
}

function peerKey(x: string): KeyObject {
  if (!publicKeyPattern.test(x)) throw new RangeError('not an X25519 public key');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

export interface MaskContext {
  session: string;
  stage: string;
  round: number;
  attempt: number;
}

/** The mask two holders share for one (session, stage, round, attempt), as `length` words. */
function pairMask(secret: Buffer, low: string, high: string, at: MaskContext, length: number): Words {
  const info = `finflow-secagg|${at.stage}|${at.round}|${at.attempt}|${low}|${high}`;
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.from(at.session), Buffer.from(info), 32));
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(
    Buffer.alloc(length * WORD_BYTES),
  );
  const out: Words = new Array<bigint>(length);
  for (let i = 0; i < length; i++)
    out[i] = stream.readBigUInt64LE(i * WORD_BYTES) | (stream.readBigUInt64LE(i * WORD_BYTES + 8) << 64n);
  return out;
}

export interface Participant {
  id: string;
  publicKey: string;
}

/**
 * Masks one holder's words for the participants of a round: for each peer, + the pair's mask when this holder's
 * id sorts first, - otherwise. The sum over all participants' masked vectors is the sum of their plain ones.
 */
export function maskWords(
  words: Words,
  self: { id: string; privateKey: KeyObject },
  participants: readonly Participant[],
  at: MaskContext,
): Words {
  const out = [...words];
  for (const peer of participants) {
    if (peer.id === self.id) continue;
    const secret = diffieHellman({ privateKey: self.privateKey, publicKey: peerKey(peer.publicKey) });
    const selfFirst = self.id < peer.id;
    const mask = selfFirst
      ? pairMask(secret, self.id, peer.id, at, words.length)
      : pairMask(secret, peer.id, self.id, at, words.length);
    for (let i = 0; i < out.length; i++) {
      const m = mask[i] as bigint;
      out[i] = selfFirst ? ((out[i] as bigint) + m) % MODULUS : ((out[i] as bigint) - m + MODULUS) % MODULUS;
    }
  }
  return out;
}
