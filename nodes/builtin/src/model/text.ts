/**
 * Text normalisation and tokenisation shared by the offline classifier, BM25 retrieval and the offline
 * extractive model. Latin-script text is split into words; Chinese (and other CJK) runs have no spaces, so
 * search uses overlapping character bigrams, the usual choice for BM25 over Chinese.
 */

const cjkRun = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

// Numbers keep their separators (1,200.50) so amounts stay one token; words keep inner apostrophes.
const tokenPattern =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|\p{N}+(?:[.,]\p{N}+)*|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}\p{M}])+(?:['’](?:(?![\p{Script=Han}])\p{L})+)*/gu;

export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Tokens of a text in order: words, numbers and whole CJK runs (lower-cased, NFKC). */
export function tokenize(text: string): string[] {
  return normalizeText(text).match(tokenPattern) ?? [];
}

export function isCjk(token: string): boolean {
  return cjkRun.test(token);
}

// Function words that carry no topic; kept short so that negations and modal verbs ("not", "must") still count.
const stopwords = new Set(
  (
    'a an the and or but if then of to in on at by for with from into onto about as is are was were be been being ' +
    'do does did doing have has had having it its this that these those there here i me my we our you your he she ' +
    'him her his they them their what which who whom whose when where why how can could would should will shall ' +
    'may might am so than too very just also any some such each other own same s t'
  ).split(' '),
);

export function isStopword(token: string): boolean {
  return stopwords.has(token);
}

/**
 * A light English suffix stripper (plural and -ing/-ed forms). Queries and documents go through the same
 * function, so it only has to be consistent, not linguistically exact.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(?:xes|ches|shes|sses)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) return w.slice(0, -3);
  if (/(?:ed|er)$/.test(w) && w.length > 5) return w.slice(0, -2);
  return w;
}

/** Character bigrams of a CJK run (the run itself when it is one character). */
export function cjkBigrams(run: string): string[] {
  const chars = [...run];
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(`${chars[i]}${chars[i + 1]}`);
  return out;
}

/** Search terms of a text: stemmed content words and CJK bigrams, in order (duplicates kept for term frequency). */
export function searchTerms(text: string): string[] {
  const out: string[] = [];
  for (const token of tokenize(text)) {
    if (isCjk(token)) out.push(...cjkBigrams(token));
    else if (!isStopword(token)) out.push(stem(token));
  }
  return out;
}
