/**
 * Evidence from the rest of the text, applied after the recognisers and the span-boundary model have read each
 * mention on its own (detect.ts). A person named once with a cue ("Hi Ngozi", "客户经理殷浩") is the same person
 * where the name comes back without one, so every other occurrence of a found name is a mention too, and so is a
 * part of an English full name used alone later ("Desmond Achebe ... Desmond"). Lines of a list (attendees,
 * rosters, sign-offs) that hold nothing but a name are names when most of their neighbours were found as names.
 * An English name is carried through its surname particles ("Cornelius Van der Berg"). Masking is conservative:
 * each rule only adds or widens PERSON findings, never over another finding.
 */
import type { PiiEntity } from './detect.js';
import { CN_NAME_TITLES, EN_GREETINGS, EN_NAME_PREFIX_CUES, EN_NOT_NAME_WORDS } from './lexicons.js';

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/;
const WORD = /[A-Za-z0-9\u00c0-\u024f'’-]/;

/** A found name's score must reach this for its other occurrences to be taken. */
const SOURCE_SCORE = 0.6;
/** The score given to a mention found by repetition or by its list. */
const DERIVED_SCORE = 0.6;

/** Surname particles ("van der", "de la", "bin") that join the capitalised word after them into the name. */
const PARTICLES = new Set(
  'van von der den de del della di da du dos das la le ter ten bin binti al el'.split(' '),
);

let lexicon: { notName: Set<string>; titles: Set<string> } | undefined;
function words() {
  lexicon ??= {
    notName: new Set([...EN_NOT_NAME_WORDS].map((w) => w.toLowerCase())),
    titles: new Set(CN_NAME_TITLES.filter((t) => HAN.test(t))),
  };
  return lexicon;
}

/** Characters after which a repeated Chinese name may start: not a Han character, or a cue or joiner. */
const CN_BEFORE = new Set([...'叫是给让跟和与请由等、：:，, 把被对向找问将及或同']);
/** Characters a repeated Chinese name may run into: not a Han character, or one of these function words. */
const CN_AFTER = new Set([...'的说是在和与、，,：:。！？!?了也都就还已来去要会到把被对给跟向本今明']);

function isCapitalised(word: string): boolean {
  return /^[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)*$/.test(word);
}

/** Whether `word` may stand alone as a person mention when it is a part of a found full name. */
function standsAlone(word: string): boolean {
  const lower = word.toLowerCase();
  const { notName } = words();
  return (
    word.length >= 3 &&
    isCapitalised(word) &&
    !notName.has(lower) &&
    !EN_GREETINGS.has(lower) &&
    !EN_NAME_PREFIX_CUES.has(lower) &&
    !PARTICLES.has(lower)
  );
}

/** Whether text[start, end) sits on word boundaries for a name written in `form`. */
function bounded(text: string, start: number, end: number, form: string): boolean {
  const before = text[start - 1];
  const after = text[end];
  if (HAN.test(form)) {
    const { titles } = words();
    const okBefore = before === undefined || !HAN.test(before) || CN_BEFORE.has(before);
    const titleAfter = [...titles].some((t) => text.startsWith(t, end));
    const okAfter = after === undefined || !HAN.test(after) || CN_AFTER.has(after) || titleAfter;
    return okBefore && okAfter;
  }
  return (before === undefined || !WORD.test(before)) && (after === undefined || !WORD.test(after));
}

/** The findings with repeated names, list names and particle surnames added, in text order. */
export function addMentions(text: string, findings: readonly PiiEntity[]): PiiEntity[] {
  const out = findings.map((f) => ({ ...f }));
  const owner = new Int32Array(text.length).fill(-1);
  out.forEach((f, k) => owner.fill(k, f.start, f.end));
  const free = (start: number, end: number, k = -1) => {
    for (let i = start; i < end; i++) if (owner[i] !== -1 && owner[i] !== k) return false;
    return true;
  };
  const add = (start: number, end: number, score: number) => {
    owner.fill(out.length, start, end);
    out.push({ type: 'PERSON', start, end, text: text.slice(start, end), score });
  };

  // 1. Particle surnames: "Cornelius Van" + " der Berg", "Maria" + " de la Cruz".
  out.forEach((f, k) => {
    if (f.type !== 'PERSON' || HAN.test(f.text)) return;
    const lastWord = /([A-Za-z]+)$/.exec(f.text)?.[1]?.toLowerCase() ?? '';
    const tail =
      /^((?:\s+(?:van|von|der|den|de|del|della|di|da|du|dos|das|la|le|ter|ten|bin|binti|al|el))*)\s+([A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)*)/i.exec(
        text.slice(f.end, f.end + 60),
      );
    if (!tail) return;
    const hasParticle = (tail[1] ?? '').trim() !== '' || PARTICLES.has(lastWord);
    const surname = tail[2] as string;
    if (!hasParticle || !isCapitalised(surname) || !standsAlone(surname)) return;
    const end = f.end + tail[0].length;
    if (/\n/.test(tail[0]) || !free(f.end, end, k)) return;
    owner.fill(k, f.end, end);
    f.end = end;
    f.text = text.slice(f.start, end);
  });

  // 2. Lists: three or more consecutive lines that each hold only a name (an optional bullet before it, a role
  // in brackets after it); when at least half were found as names, the others are names too.
  const lines: { start: number; end: number; nameStart: number; nameEnd: number }[] = [];
  const LINE =
    /^[ \t]*(?:[-*•·][ \t]*)?([A-Z][a-z'’]+(?:[ \t]+[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?){1,2}|[\u3400-\u9fff]{2,4})[ \t]*(?:[(（][^)）\n]{1,30}[)）])?[ \t]*$/;
  let pos = 0;
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (m) {
      const nameStart = pos + raw.indexOf(m[1] as string);
      lines.push({
        start: pos,
        end: pos + raw.length,
        nameStart,
        nameEnd: nameStart + (m[1] as string).length,
      });
    } else lines.push({ start: pos, end: pos + raw.length, nameStart: -1, nameEnd: -1 });
    pos += raw.length + 1;
  }
  // Found names by start offset, so that a text of many lines is read in linear time.
  const personEnd = new Map<number, number>();
  for (const f of out) if (f.type === 'PERSON') personEnd.set(f.start, f.end);
  const isFound = (l: (typeof lines)[number]) => personEnd.get(l.nameStart) === l.nameEnd;
  for (let i = 0; i < lines.length;) {
    if ((lines[i] as (typeof lines)[number]).nameStart < 0) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < lines.length && (lines[j + 1] as (typeof lines)[number]).nameStart >= 0) j++;
    const block = lines.slice(i, j + 1);
    const found = block.filter(isFound).length;
    if (block.length >= 3 && found * 2 >= block.length)
      for (const l of block) {
        const words = text.slice(l.nameStart, l.nameEnd).split(/[ \t]+/);
        const plausible = HAN.test(words[0] as string) || words.every(standsAlone);
        if (!isFound(l) && plausible && free(l.nameStart, l.nameEnd))
          add(l.nameStart, l.nameEnd, DERIVED_SCORE);
      }
    i = j + 1;
  }

  // 2b. Lists in running text ("Marta, Joseph and Wen will cover"): an item of a list joined by commas and a
  // final "and" or "&" is a name when at least two other items, and at least half of them, were found as names.
  // At most 14 items: a bound, so that a comma-separated run without its "and" is not rescanned from every word.
  const ITEM = "[A-Z][a-z'’]+(?:[ \\t]+[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?){0,2}";
  const LIST = new RegExp(
    `(?<![A-Za-z'’-])${ITEM}(?:[ \\t]*,[ \\t]*${ITEM}){1,12},?[ \\t]+(?:and|&)[ \\t]+${ITEM}(?![A-Za-z'’-])`,
    'g',
  );
  for (const m of text.matchAll(LIST)) {
    const items = [...m[0].matchAll(new RegExp(ITEM, 'g'))].map((i) => ({
      start: m.index + i.index,
      end: m.index + i.index + i[0].length,
    }));
    const isName = (i: { start: number; end: number }) => personEnd.get(i.start) === i.end;
    const named = items.filter(isName).length;
    if (named < 2 || named * 2 < items.length) continue;
    for (const i of items) {
      const plausible = text
        .slice(i.start, i.end)
        .split(/[ \t]+/)
        .every(standsAlone);
      if (!isName(i) && plausible && free(i.start, i.end)) add(i.start, i.end, DERIVED_SCORE);
    }
  }

  // 3. Repetition: every other occurrence of a found name, and of the parts of an English full name.
  const forms = new Map<string, number>();
  for (const f of out) {
    if (f.type !== 'PERSON' || f.score < SOURCE_SCORE) continue;
    const form = f.text;
    if (HAN.test(form)) {
      if (form.length >= 2) forms.set(form, Math.max(forms.get(form) ?? 0, f.score));
      continue;
    }
    const parts = form.split(/\s+/);
    if (parts.length === 1 && !standsAlone(form)) continue;
    forms.set(form, Math.max(forms.get(form) ?? 0, f.score));
    if (parts.length > 1)
      for (const part of parts)
        if (standsAlone(part)) forms.set(part, Math.max(forms.get(part) ?? 0, f.score));
  }
  // Longer forms first, so that "Desmond Achebe" is taken whole before "Desmond" could take its first word.
  for (const form of [...forms.keys()].sort((a, b) => b.length - a.length)) {
    for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + 1)) {
      const end = at + form.length;
      if (!bounded(text, at, end, form) || !free(at, end)) continue;
      // A first name found alone ("Thanks Ngozi") that comes back with a surname ("Ngozi Eze") is taken whole.
      const surname = HAN.test(form) || form.includes(' ') ? undefined : / ([A-Z][a-z'’]+)(?![A-Za-z])/y;
      if (surname) surname.lastIndex = end;
      const more = surname?.exec(text);
      const full =
        more && standsAlone(more[1] as string) && free(end, end + more[0].length)
          ? end + more[0].length
          : end;
      add(at, full, DERIVED_SCORE);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
