/**
 * Splits the text of a regulation into articles and their provisions (paragraphs, points, items), for Chinese
 * legislation (第X章 / 第X节 / 第X条, paragraphs as lines, items （一）), EU-style acts (Article N, numbered
 * paragraphs "1.", points "(a)") and US CFR sections (§ N.N with nested paragraphs (a)(1)(i)(A)). Plain text and
 * Markdown both work: heading marks, bold and italics are read, not required.
 */
import { CN_NUMERAL_CHARS, parseChineseNumber } from '../lib/cn-numerals.js';

export interface Provision {
  /** Citation of this provision, e.g. "Article 33(1)", "§ 1002.9(a)(1)(i)", "第十三条第一款第（二）项". */
  ref: string;
  /** The provision's own text, without its marker. */
  text: string;
  children: Provision[];
}

export interface Article {
  ref: string;
  /** The article number (Chinese numerals converted), when it has one. */
  number?: number;
  title?: string;
  chapter?: string;
  section?: string;
  /** The whole article text, paragraphs separated by newlines. */
  text: string;
  provisions: Provision[];
}

export type Language = 'zh' | 'en';

export function detectLanguage(text: string): Language {
  const han = text.match(/[\u4e00-\u9fff]/g)?.length ?? 0;
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  return han * 2 > latin ? 'zh' : 'en';
}

const CN_NUM = `[${CN_NUMERAL_CHARS}0-9０-９]+`;
const CN_CHAPTER = new RegExp(`^(?:#+\\s*)?(第${CN_NUM}[编章])[\\s\\u3000]*(.*)$`);
const CN_SECTION = new RegExp(`^(?:#+\\s*)?(第${CN_NUM}节)[\\s\\u3000]*(.*)$`);
const CN_ARTICLE = new RegExp(
  `^(?:#+\\s*)?(?:\\*\\*)?(第(${CN_NUM})条(?:之[${CN_NUMERAL_CHARS}]+)?)(?:\\*\\*)?(?:[\\s\\u3000]+|(?=[^\\s]))(.*)$`,
);
const CN_ITEM = new RegExp(`^[（(](${CN_NUM})[）)][\\s\\u3000]*(.*)$`);

const CN_DIGITS = '零一二三四五六七八九';

/** Writes 1..99 as Chinese numerals (for paragraph citations: 第二款). */
export function toChineseNumber(n: number): string {
  if (n < 10) return CN_DIGITS[n] as string;
  if (n < 20) return `十${n % 10 ? CN_DIGITS[n % 10] : ''}`;
  if (n < 100) return `${CN_DIGITS[Math.floor(n / 10)]}十${n % 10 ? CN_DIGITS[n % 10] : ''}`;
  return String(n);
}

function cleanLines(text: string): string[] {
  return text
    .replace(/<!--[\s\S]*?-->/g, '')
    .split(/\r?\n/)
    .map((l) => l.replace(/\u3000/g, ' ').trim());
}

function parseChinese(text: string): Article[] {
  const articles: Article[] = [];
  let chapter: string | undefined;
  let section: string | undefined;
  let current: Article | undefined;
  let paragraph: Provision | undefined;
  for (const line of cleanLines(text)) {
    if (!line) continue;
    let m = CN_CHAPTER.exec(line);
    if (m) {
      chapter = `${m[1]} ${(m[2] ?? '').replace(/\s+/g, '')}`.trim();
      section = undefined;
      current = undefined;
      continue;
    }
    m = CN_SECTION.exec(line);
    if (m) {
      section = `${m[1]} ${(m[2] ?? '').replace(/\s+/g, '')}`.trim();
      current = undefined;
      continue;
    }
    m = CN_ARTICLE.exec(line);
    if (m) {
      const ref = m[1] as string;
      let body = (m[3] ?? '').trim();
      let title: string | undefined;
      const t = /^[【〔[]([^】〕\]]{1,30})[】〕\]]\s*(.*)$/.exec(body);
      if (t) {
        title = t[1];
        body = t[2] ?? '';
      }
      current = {
        ref,
        text: body,
        provisions: [],
        ...(parseChineseNumber(m[2] as string) !== undefined
          ? { number: parseChineseNumber(m[2] as string) as number }
          : {}),
        ...(title ? { title } : {}),
        ...(chapter ? { chapter } : {}),
        ...(section ? { section } : {}),
      };
      articles.push(current);
      paragraph = { ref: `${ref}第一款`, text: body, children: [] };
      current.provisions.push(paragraph);
      continue;
    }
    if (!current || line.startsWith('#')) continue;
    current.text += `\n${line}`;
    const item = CN_ITEM.exec(line);
    if (item && paragraph) {
      paragraph.children.push({
        ref: `${paragraph.ref}第（${item[1]}）项`,
        text: item[2] ?? '',
        children: [],
      });
      continue;
    }
    paragraph = {
      ref: `${current.ref}第${toChineseNumber(current.provisions.length + 1)}款`,
      text: line,
      children: [],
    };
    current.provisions.push(paragraph);
  }
  return articles;
}

type MarkerKind = 'digit' | 'lower' | 'roman' | 'upper';

const ROMAN = /^(?=[ivxl]+$)l?x{0,3}(?:ix|iv|v?i{0,3})$/;

function romanValue(s: string): number {
  const v: Record<string, number> = { i: 1, v: 5, x: 10, l: 50 };
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const cur = v[s[i] as string] as number;
    const next = v[s[i + 1] as string] ?? 0;
    total += cur < next ? -cur : cur;
  }
  return total;
}

function ordinal(kind: MarkerKind, label: string): number {
  switch (kind) {
    case 'digit':
      return Number(label);
    case 'roman':
      return romanValue(label);
    default:
      return label.toLowerCase().charCodeAt(0) - 96;
  }
}

function kindsOf(label: string): MarkerKind[] {
  if (/^\d+$/.test(label)) return ['digit'];
  if (/^[A-Z]$/.test(label)) return ['upper'];
  const kinds: MarkerKind[] = [];
  if (ROMAN.test(label)) kinds.push('roman');
  if (/^[a-z]$/.test(label)) kinds.push('lower');
  return kinds;
}

interface Level {
  kind: MarkerKind;
  label: string;
  node: Provision;
}

/**
 * Places a paragraph marker in the outline: a marker continues the level whose last label it follows
 * ((h) → (i) stays a letter), or opens a deeper level when it is the first of its kind ((1) → (i) is roman).
 */
function placeMarker(stack: Level[], label: string): { depth: number; kind: MarkerKind } | undefined {
  const kinds = kindsOf(label);
  for (let d = stack.length - 1; d >= 0; d--) {
    const level = stack[d] as Level;
    if (kinds.includes(level.kind) && ordinal(level.kind, label) === ordinal(level.kind, level.label) + 1) {
      return { depth: d, kind: level.kind };
    }
  }
  for (const kind of kinds) {
    if (ordinal(kind, label) === 1 && !stack.some((l) => l.kind === kind))
      return { depth: stack.length, kind };
  }
  return undefined;
}

const EN_ARTICLE =
  /^(?:#+\s*)?(?:\*\*)?(Article|Art\.|Section|Sec\.)\s+(\d+[a-z]?)\b\.?(?:\*\*)?\s*(?:[—–:-]\s*)?(.*?)(?:\*\*)?$/;
const EN_SECTION_SIGN = /^(?:#+\s*)?(?:\*\*)?§\s*(\d+(?:\.\d+)*[a-z]?)\s*(.*?)(?:\*\*)?$/;
const EN_CHAPTER = /^(?:#+\s*)?(CHAPTER|Chapter|TITLE|Title|PART|Part)\s+([IVXLC\d]+)\b[.:—–-]?\s*(.*)$/;
/** A line that opens with paragraph markers: "1. ", "(a) ", "(a) *Title*—(1) *Title.* text". */
const EN_MARKER = /^(?:\((\d+|[a-z]{1,4}|[A-Z])\)|(\d+)\.)\s*/;

function stripEmphasis(s: string): string {
  return s.replace(/\*\*?([^*]+)\*\*?/g, '$1').trim();
}

interface Unit {
  kind: 'article' | 'section';
  ref: string;
  number?: number;
  title?: string;
  chapter?: string;
  lines: string[];
}

function parseEnglish(text: string): Article[] {
  const units: Unit[] = [];
  let chapter: string | undefined;
  let current: Unit | undefined;
  for (const line of cleanLines(text)) {
    if (!line) continue;
    const c = EN_CHAPTER.exec(line);
    if (c && !EN_MARKER.test(line)) {
      chapter = `${c[1]} ${c[2]}${c[3] ? ` ${stripEmphasis(c[3])}` : ''}`;
      current = undefined;
      continue;
    }
    const a = EN_ARTICLE.exec(line);
    if (a) {
      const word = (a[1] as string).startsWith('Sec') ? 'Section' : 'Article';
      current = {
        kind: 'article',
        ref: `${word} ${a[2]}`,
        number: Number.parseInt(a[2] as string, 10),
        lines: [],
        ...(a[3] ? { title: stripEmphasis(a[3]) } : {}),
        ...(chapter ? { chapter } : {}),
      };
      units.push(current);
      continue;
    }
    const s = EN_SECTION_SIGN.exec(line);
    if (s) {
      current = {
        kind: 'section',
        ref: `§ ${s[1]}`,
        lines: [],
        ...(s[2] ? { title: stripEmphasis(s[2]).replace(/\.$/, '') } : {}),
      };
      units.push(current);
      continue;
    }
    if (line.startsWith('#')) continue;
    // A short unmarked line right after "Article N" is its title (EUR-Lex prints it on its own line).
    if (
      current &&
      current.kind === 'article' &&
      !current.title &&
      current.lines.length === 0 &&
      !EN_MARKER.test(line) &&
      line.length < 120 &&
      !/[.;:]$/.test(line)
    ) {
      current.title = stripEmphasis(line);
      continue;
    }
    current?.lines.push(line);
  }

  const articles: Article[] = [];
  for (const unit of units) {
    const outline = buildOutline(unit.ref, unit.lines);
    if (
      unit.kind === 'section' &&
      outline.roots.length > 1 &&
      outline.roots.every((r) => /\([a-z]\)$/.test(r.ref))
    ) {
      // A CFR section is cited by its top-level paragraphs: each (a), (b) ... is an article of the checklist.
      for (const root of outline.roots) {
        const heading = /^\*([^*]+)\*\s*[—–.-]*\s*/.exec(root.text);
        const title = heading ? (heading[1] as string).replace(/[.—–-]+$/, '').trim() : undefined;
        if (heading) root.text = root.text.slice(heading[0].length);
        articles.push({
          ref: root.ref,
          ...(title ? { title } : {}),
          text: outline.textOf.get(root) ?? root.text,
          provisions: [root],
          ...(unit.chapter ? { chapter: unit.chapter } : {}),
        });
      }
      continue;
    }
    articles.push({
      ref: unit.ref,
      ...(unit.number !== undefined && !Number.isNaN(unit.number) ? { number: unit.number } : {}),
      ...(unit.title ? { title: unit.title } : {}),
      ...(unit.chapter ? { chapter: unit.chapter } : {}),
      text: unit.lines.join('\n'),
      provisions: outline.roots.length
        ? outline.roots
        : [{ ref: unit.ref, text: unit.lines.join(' '), children: [] }],
    });
  }
  return articles;
}

/** Builds the paragraph tree of one article or section from its lines. */
function buildOutline(
  baseRef: string,
  lines: string[],
): { roots: Provision[]; textOf: Map<Provision, string> } {
  const roots: Provision[] = [];
  const textOf = new Map<Provision, string>();
  const stack: Level[] = [];
  let root: Provision | undefined;
  let last: Provision | undefined;
  const refOf = (depth: number, label: string) => {
    const parent = depth > 0 ? (stack[depth - 1] as Level).node.ref : baseRef;
    return `${parent}(${label})`;
  };
  for (const line of lines) {
    let rest = line;
    let opened = false;
    // A line can open several levels at once: "(a) *Title*—(1) *Title.* A creditor shall ..."
    for (;;) {
      const m = EN_MARKER.exec(rest);
      if (!m) break;
      const label = (m[1] ?? m[2]) as string;
      const place = placeMarker(stack, label);
      if (!place) break;
      stack.length = place.depth;
      const node: Provision = { ref: refOf(place.depth, label), text: '', children: [] };
      if (place.depth === 0) {
        roots.push(node);
        root = node;
      } else (stack[place.depth - 1] as Level).node.children.push(node);
      stack.push({ kind: place.kind, label, node });
      last = node;
      opened = true;
      rest = rest.slice(m[0].length);
      const inner = /^(\*[^*]+\*\s*[—–-]+\s*)(?=\((?:\d+|[a-z]{1,4}|[A-Z])\))/.exec(rest);
      if (inner) {
        // The heading belongs to the outer paragraph; the nested marker follows the dash.
        node.text = inner[1] as string;
        rest = rest.slice(inner[0].length);
        continue;
      }
      break;
    }
    if (opened && last) last.text = (last.text + rest).trim();
    else if (last) last.text = `${last.text} ${rest}`.trim();
    else {
      const node: Provision = { ref: baseRef, text: rest, children: [] };
      roots.push(node);
      root = node;
      last = node;
    }
    if (root) textOf.set(root, `${textOf.get(root) ? `${textOf.get(root)}\n` : ''}${line}`);
  }
  return { roots, textOf };
}

/** Splits a regulation into articles with their provisions. */
export function parseRegulation(text: string, language: Language = detectLanguage(text)): Article[] {
  return language === 'zh' ? parseChinese(text) : parseEnglish(text);
}
