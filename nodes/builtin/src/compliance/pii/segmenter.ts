/**
 * Chinese word segmentation with part-of-speech tags (jieba, through @node-rs/jieba's native binding). The PERSON
 * and ADDRESS recognisers use it for boundaries: a name is one segment tagged as a person (nr) or unknown to the
 * dictionary (HMM-found), a dictionary word that crosses a candidate's edge argues against it, and an address
 * starts at a word. The dictionary costs 150-400 ms of CPU and about 40 MB to load, so it is loaded on first use:
 * in a worker thread for the nodes (`segmentAsync`, so that no other run or request waits for it), or in-process
 * for direct library calls (`segment`).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TRADITIONAL_TO_SIMPLIFIED } from './name-data.js';

export interface Segment {
  start: number;
  end: number;
  word: string;
  tag: string;
}

interface Tagged {
  word: string;
  tag: string;
}

interface JiebaLike {
  tag(sentence: string, hmm?: boolean): Tagged[];
}

let jieba: JiebaLike | undefined;

function load(): JiebaLike {
  if (!jieba) {
    const require = createRequire(import.meta.url);
    const { Jieba } = require('@node-rs/jieba') as { Jieba: { withDict(dict: Uint8Array): JiebaLike } };
    const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
    jieba = Jieba.withDict(dict);
  }
  return jieba;
}

/** Appends the tagged words as segments with UTF-16 offsets; false when they do not spell the text. */
function toSegments(text: string, tags: readonly Tagged[], offset: number, out: Segment[]): boolean {
  let pos = 0;
  for (const { word, tag } of tags) {
    if (!text.startsWith(word, pos)) return false;
    out.push({ start: offset + pos, end: offset + pos + word.length, word, tag });
    pos += word.length;
  }
  return pos === text.length;
}

/** Segments a text into tagged words with UTF-16 offsets, in this thread. */
export function segment(text: string): Segment[] {
  const out: Segment[] = [];
  // Offsets that cannot be trusted are worse than none: the recognisers then go without.
  return toSegments(text, load().tag(text, true), 0, out) ? out : [];
}

/** Pieces of at most this many characters, cut after a line or sentence end, go to the worker one at a time. */
const CHUNK = 20_000;

function chunks(text: string): { offset: number; text: string }[] {
  const out: { offset: number; text: string }[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + CHUNK);
    if (end < text.length) {
      const cut = Math.max(text.lastIndexOf('\n', end), text.lastIndexOf('。', end));
      if (cut > at) end = cut + 1;
    }
    out.push({ offset: at, text: text.slice(at, end) });
    at = end;
  }
  return out;
}

let worker: Worker | undefined;
const pending = new Map<number, { resolve: (tags: Tagged[]) => void; reject: (e: Error) => void }>();
let nextId = 0;

function startWorker(): Worker {
  // The same path from src/ (tests) and dist/ (built): the worker is plain JavaScript shipped in src/.
  const w = new Worker(new URL('../../../src/compliance/pii/segmenter-worker.mjs', import.meta.url));
  w.on('message', (m: { id: number; tags?: Tagged[]; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.tags) p.resolve(m.tags);
    else p.reject(new Error(m.error ?? 'segmentation failed'));
    if (pending.size === 0) w.unref();
  });
  const fail = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    if (worker === w) worker = undefined;
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the segmentation thread stopped (${code})`)));
  w.unref();
  return w;
}

function tagInWorker(text: string): Promise<Tagged[]> {
  const w = (worker ??= startWorker());
  const id = nextId++;
  w.ref();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, text });
  });
}

/** Segments a text in the segmentation thread, so that loading the dictionary and segmenting stall nothing here. */
export async function segmentAsync(text: string): Promise<Segment[]> {
  const out: Segment[] = [];
  for (const c of chunks(text)) if (!toSegments(c.text, await tagInWorker(c.text), c.offset, out)) return [];
  return out;
}

let latinBase: Map<string, string> | undefined;
/** Letters NFD does not take apart, by their nearest ASCII letter (one for one, to keep the offsets). */
const LATIN_UNDECOMPOSED = 'ØOøoĐDđdŁLłlÆAæaŒOœoßsÞTþtĦHħhıiĸkŊNŋnŦTŧtƒf';

/**
 * The text with each Latin letter that carries a diacritic (Latin-1, Latin Extended-A and -B, Vietnamese's
 * Latin Extended Additional) replaced by its ASCII base letter: the same length and offsets, like `simplified`.
 * The English recognisers, the name statistics and the span-boundary model's features read ASCII words, so
 * without this "Lucía Fernández" was read as "Luc" and "Fern" and "Seán" as "Se" (round 7's split z).
 */
export function latinFolded(text: string): string {
  if (!/[\u00c0-\u024f\u1e00-\u1eff]/.test(text)) return text;
  let table = latinBase;
  if (!table) {
    const map = (table = latinBase = new Map<string, string>());
    const chars = [...LATIN_UNDECOMPOSED];
    for (let i = 0; i + 1 < chars.length; i += 2) map.set(chars[i] as string, chars[i + 1] as string);
    const add = (from: number, to: number) => {
      for (let c = from; c <= to; c++) {
        const ch = String.fromCharCode(c);
        const base = ch.normalize('NFD')[0] ?? ch;
        if (base !== ch && /[A-Za-z]/.test(base)) map.set(ch, base);
      }
    };
    add(0xc0, 0x24f);
    add(0x1e00, 0x1eff);
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    out += table.get(ch) ?? ch;
  }
  return out;
}

let t2s: Map<string, string> | undefined;

/**
 * The text with each traditional character replaced by its simplified form (OpenCC's character table); the
 * same length and offsets, so what is found in it is found in the original. jieba's dictionary and the
 * name statistics are simplified.
 */
export function simplified(text: string): string {
  if (!t2s) {
    t2s = new Map();
    const chars = [...TRADITIONAL_TO_SIMPLIFIED];
    for (let i = 0; i + 1 < chars.length; i += 2) t2s.set(chars[i] as string, chars[i + 1] as string);
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    out += t2s.get(ch) ?? ch;
  }
  return out;
}
