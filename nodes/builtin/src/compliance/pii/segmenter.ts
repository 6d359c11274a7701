/**
 * Chinese word segmentation with part-of-speech tags (jieba, through @node-rs/jieba's native binding), loaded on
 * first use: the dictionary costs about 150 ms and 40 MB, which a server that never looks for Chinese names should
 * not carry. The PERSON recogniser uses it for name boundaries: a name is one segment tagged as a person (nr) or
 * unknown to the dictionary (HMM-found), and a dictionary word that crosses a candidate's edge argues against it.
 */
import { createRequire } from 'node:module';
import { TRADITIONAL_TO_SIMPLIFIED } from './name-data.js';

export interface Segment {
  start: number;
  end: number;
  word: string;
  tag: string;
}

interface JiebaLike {
  tag(sentence: string, hmm?: boolean): { word: string; tag: string }[];
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

/** Segments a text into tagged words with UTF-16 offsets. */
export function segment(text: string): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  for (const { word, tag } of load().tag(text, true)) {
    const at = text.indexOf(word, pos);
    // jieba returns every character in order; anything else means offsets cannot be trusted.
    if (at !== pos) return [];
    out.push({ start: at, end: at + word.length, word, tag });
    pos = at + word.length;
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
