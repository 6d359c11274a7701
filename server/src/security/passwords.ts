/**
 * The password rule (defined here only: the server checks it, `GET /api/auth/status` serves it, the editor shows
 * it) and password hashing with scrypt (memory-hard, in Node's crypto). The stored form names its parameters, so
 * they can be raised later and old hashes still verify.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// One of OWASP's equivalent scrypt settings: N=2^13, r=8, p=10 (8 MiB, p passes run one after another, about
// 0.1-0.2 s). The smaller block keeps a resident 32 MiB buffer from lingering after each sign-in.
const N = 1 << 13;
const R = 8;
const P = 10;
const KEY_LEN = 32;
// N * r * 128 bytes; a margin over it for OpenSSL's own allocations.
const MAX_MEM = 64 * 1024 * 1024;

/** What a new password must be. Long passphrases are welcome; past 1024 characters it is not a password. */
export const passwordPolicy = { minLength: 10, maxLength: 1024 } as const;
export const MIN_PASSWORD_LENGTH = passwordPolicy.minLength;

/** Why a new password breaks the rule (`too-short`, `too-long`), or undefined when it keeps it. */
export function passwordProblem(password: string): 'too-short' | 'too-long' | undefined {
  // Characters as people count them (code points), not UTF-16 units.
  const length = [...password.normalize('NFKC')].length;
  if (length < passwordPolicy.minLength) return 'too-short';
  if (length > passwordPolicy.maxLength) return 'too-long';
  return undefined;
}

function derive(password: string, salt: Buffer, opts: ScryptOptions, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P, maxmem: MAX_MEM }, KEY_LEN);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await derive(
    password,
    Buffer.from(saltB64, 'base64'),
    { N: Number(n), r: Number(r), p: Number(p), maxmem: MAX_MEM },
    expected.length,
  );
  return timingSafeEqual(key, expected);
}

/** A hash to verify against when the user does not exist, so timing does not reveal which emails exist. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}
