/**
 * The master key and what it protects: credentials and stored run inputs are sealed with AES-256-GCM, bound to
 * their row by associated data so a ciphertext copied to another row does not open. The key comes from
 * FINFLOW_SECRET_KEY or from a key file created with mode 0600, never from the database.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** First byte of a sealed value: the format, so the layout can change later. */
const FORMAT_V1 = 1;

function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t))
    key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new Error(
      `${where} must be ${KEY_BYTES} random bytes written as 64 hex characters or base64 (for example: openssl rand -hex 32)`,
    );
  }
  return key;
}

export interface MasterKeySource {
  /** FINFLOW_SECRET_KEY, when set. */
  secretKey: string | undefined;
  /** Key file used (and created) when no key is given. */
  keyFile: string;
}

export interface LoadedKey {
  key: Buffer;
  source: 'env' | 'file-created' | 'file';
  /** Set when the key file is readable by other users. */
  warning?: string;
}

/** Loads the master key, creating the key file (0600) on first start. */
export function loadMasterKey({ secretKey, keyFile }: MasterKeySource): LoadedKey {
  if (secretKey) return { key: decodeKey(secretKey, 'FINFLOW_SECRET_KEY'), source: 'env' };
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    const key = randomBytes(KEY_BYTES);
    // `wx` fails if another process created the file in between; then that file wins.
    try {
      writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(keyFile, 0o600);
      return { key, source: 'file-created' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const key = decodeKey(readFileSync(keyFile, 'utf8'), `the key file ${keyFile}`);
  const mode = statSync(keyFile).mode & 0o777;
  return mode & 0o077
    ? {
        key,
        source: 'file',
        warning: `the key file ${keyFile} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`,
      }
    : { key, source: 'file' };
}

/** A short fingerprint of the key, stored in the database to notice a changed key before decrypting fails. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update('finflow-master-key-check\0').update(key).digest('hex').slice(0, 32);
}

export class Sealer {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error('the master key must be 32 bytes');
  }

  /** Encrypts `plain`, binding it to `context` (for example `credential:<workspace>:<name>`). */
  seal(plain: string | Buffer, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_V1]), iv, cipher.getAuthTag(), body]);
  }

  /** Decrypts a sealed value; throws when it was altered, sealed for another context or with another key. */
  open(sealed: Buffer, context: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_V1) {
      throw new Error('not a sealed value');
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  }
}

/** A random token, URL-safe. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

/** Tokens (sessions, API keys, setup tokens) are stored as their SHA-256 only. */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Constant-time comparison of two strings. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A prefixed random id, e.g. `flw_3kq...`. */
/**
 * A time-ordered UUID (version 7, RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Records keyed by
 * it (runs and their events) are inserted at the end of their B-trees instead of at random places, so a group
 * commit dirties a few pages rather than one page per run.
 */
export function timeOrderedUuid(now = Date.now()): string {
  // randomUUID draws from a pooled buffer; its first 48 bits give way to the time, and the version nibble to 7.
  const random = randomUUID();
  const t = now.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${random.slice(15)}`;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}
