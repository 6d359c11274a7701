/**
 * The logic of the offline default model, free of LangChain: it finds the question in a prompt, ranks the
 * sentences of the prompt's context against it with BM25, quotes the best ones verbatim in the order the context
 * gives them (keeping the [n] citation of the passage each came from) and lists the amounts, dates and
 * percentages of the context. It only ever quotes the context: never the system prompt, the question, or a
 * sentence that instructs the model ("Write at most 200 words…", "只使用用户给出的数字…"). Its structured
 * extraction fills a JSON Schema only with values it can point to in the text, and says which fields it cannot
 * fill. It never generates text of its own, and its answers say so.
 */
import { NodeError } from '@finflow/sdk';
import { compileLinear } from '@finflow/runtime';
import { buildBm25, searchBm25 } from './bm25.js';
import {
  findEntities,
  findNumbers,
  parseNumber,
  parseRange,
  toIsoDate,
  type Entities,
  type Mention,
} from './entities.js';
import { searchTerms } from './text.js';

export const OFFLINE_MARKER = '[offline extractive model: no LLM]';
export const OFFLINE_MODEL_NAME = 'offline-extractive';

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface Sentence {
  text: string;
  /** The [n] passage marker of the line the sentence came from. */
  cite?: string;
}

// A numbered passage line, `[n] (source, position) text` as model.retrieve formats it.
const citeMarker = /^\s*\[(\d{1,3})\]\s*(?:\([^()\n]{0,300}\)\s*)?/;
const questionLabel = /^\s*(?:question|q|query|问题|问|提问)\s*[:：]\s*/iu;

/**
 * Sentences of a text: split at line breaks and sentence-final punctuation (not inside 4.5 or 1,200, and not at
 * a semicolon: the clauses of one sentence belong together, and a quote must read as a complete sentence).
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n+/)) {
    for (const part of line.split(/(?<=[。！？!?])\s*|(?<=\.)\s+(?=\S)/u)) {
      const s = part.trim();
      // Numbering such as "1." or "(a)" alone is no sentence.
      if (s && /\p{L}/u.test(s) && !/^\(?[\p{L}\d]{1,3}[.)]$/u.test(s)) out.push(s);
    }
  }
  return out;
}

/**
 * Sentences with the citation of the passage they belong to: a line starting with `[n]` opens passage n, which
 * runs until the next marker or a blank line. Markdown headings are titles, not statements, and are skipped.
 */
function sentencesOf(text: string): Sentence[] {
  const out: Sentence[] = [];
  let cite: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = citeMarker.exec(line);
    if (m) cite = m[1];
    else if (!line.trim()) cite = undefined;
    const body = m ? line.slice(m[0].length) : line;
    if (/^\s*#{1,6}\s/.test(body)) continue;
    for (const s of splitSentences(body)) out.push(cite ? { text: s, cite } : { text: s });
  }
  return out;
}

// Sentences addressed to the model: a role ("You are an analyst"), a task ("Write…", "Summarise…", "请用…"), or a
// rule about the answer ("Use only…", "Do not invent…", "只使用…", "不要编造"). Imperatives aimed at a customer
// ("Freeze the card at once") are content when they come from a cited passage, and are never tested.
const instructionStart = new RegExp(
  [
    String.raw`^(?:please\s+)?(?:`,
    String.raw`you\s+are\s+(?:a|an|the)\b`,
    String.raw`|you\s+(?:must|should|will|may|need\s+to)\s+(?:not\s+|only\s+)?(?:answer|write|reply|respond|use|cite|summari[sz]e|explain|translate|extract|classify|quote|invent|guess)\b`,
    String.raw`|(?:write|answer|cite|respond|reply|summari[sz]e|explain|translate|extract|classify|identify|determine|return|output|fill|parse|choose|pick|select|give|list|tell|find|read|provide)\b`,
    String.raw`|(?:use|using|based|relying)\s+(?:only|solely)\b|only\s+use\b`,
    String.raw`|(?:do\s+not|don't|never)\s+(?:invent|make\s+up|guess|speculate|fabricate|use|add|include|mention|give|promise|guarantee|quote)\b`,
    String.raw`|(?:keep|be)\s+(?:it\s+|the\s+answer\s+|your\s+answer\s+)?(?:short|brief|concise)\b`,
    String.raw`|if\s+the\s+(?:passages|context|text|documents?|checklist)\s+(?:do|does)\s*(?:not|n't)\b`,
    String.raw`)`,
  ].join(''),
  'iu',
);
const instructionStartZh =
  /^(?:你是(?!否)|你将|你需要|你要|你的任务|请(?:你|用|以|根据|依据|只|仅|勿|不要|按照?|回答|总结|概括|说明|列出|提取|判断|分类|识别|抽取)|只(?:使用|根据|依据|用)|仅(?:使用|根据|依据|用)|不要|切勿|务必|不得编造|不编造|用[^，。；,]{0,10}(?:句|字)|提取|分类|总结|概括|判断|识别|回答|抽取)/u;
const instructionAnywhere =
  /\b(?:invent\s+nothing|do\s+not\s+invent|don't\s+invent|do\s+not\s+make\s+up|outside\s+knowledge)\b|不要编造|不编造|不得编造|不要臆测|不要杜撰/iu;
const listMarker = /^(?:[-*•·]\s+|\(?\d{1,2}[.)、]\s*)/u;

/** Whether a sentence instructs the model (a role, a task or a rule) rather than giving it content. */
export function isInstruction(sentence: string): boolean {
  const s = sentence.replace(listMarker, '').trim();
  return instructionStart.test(s) || instructionStartZh.test(s) || instructionAnywhere.test(s);
}

/** The sentences of the conversation the model may quote and take values from: content, never instructions. */
function contentOf(sentences: readonly Sentence[]): Sentence[] {
  // A cited passage is retrieved content even when it speaks in the imperative.
  return sentences.filter((s) => s.cite !== undefined || !isInstruction(s.text));
}

export interface PromptParts {
  question: string;
  /** The sentences that may be quoted, in the order the conversation gives them. */
  context: Sentence[];
}

/**
 * Separates the question from the context: an explicit "Question:" line wins, then the last sentence of the
 * last user message that ends with a question mark, then that message's first sentence (the instruction). The
 * system prompt is never context, and neither is a sentence that instructs the model.
 */
export function splitPrompt(messages: readonly PromptMessage[]): PromptParts {
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]?.role === 'user') {
      lastUser = i;
      break;
    }
  if (lastUser < 0) lastUser = messages.length - 1;
  const context: Sentence[] = [];
  let question = '';
  messages.forEach((message, i) => {
    if (message.role === 'system') return;
    if (i !== lastUser) {
      context.push(...contentOf(sentencesOf(message.content)));
      return;
    }
    const lines = message.content.split(/\r?\n/);
    const labelled = lines.findIndex((l) => questionLabel.test(l));
    if (labelled >= 0) {
      question = (lines[labelled] ?? '').replace(questionLabel, '').trim();
      context.push(...contentOf(sentencesOf(lines.filter((_, j) => j !== labelled).join('\n'))));
      return;
    }
    const own = sentencesOf(message.content);
    let q = -1;
    for (let j = own.length - 1; j >= 0; j--)
      if (/[?？]$/.test(own[j]?.text ?? '')) {
        q = j;
        break;
      }
    if (q < 0) q = 0;
    question = own[q]?.text ?? '';
    context.push(...contentOf(own.filter((_, j) => j !== q)));
  });
  return { question, context };
}

/**
 * Sentences ranked by BM25 against the query. A sentence from a cited passage is weighted by the passage's rank
 * ([1] fully, [5] half): retrieval already judged the passages, with more context than one sentence has.
 */
function rank(query: string, sentences: readonly Sentence[]): { sentence: Sentence; score: number }[] {
  // Weak length normalisation: among sentences, a short fragment ("... if the decision:") is rarely the answer.
  const index = buildBm25(
    sentences.map((s) => searchTerms(s.text)),
    { b: 0.5 },
  );
  return searchBm25(index, query)
    .filter((h) => h.score > 0)
    .map((h) => {
      const sentence = sentences[h.doc] as Sentence;
      const prior = sentence.cite ? 1 / (1 + 0.25 * (Number(sentence.cite) - 1)) : 1;
      return { sentence, score: h.score * prior };
    })
    .sort((a, b) => b.score - a.score);
}

const summaryRequest = /\b(?:summari[sz]e|summary|overview|tl;?dr|gist)\b|总结|概括|摘要|归纳|概述/iu;

export interface ExtractiveOptions {
  /** How many sentences to quote (default 3). */
  maxSentences?: number;
}

export interface ExtractiveAnswer {
  text: string;
  question: string;
  /** The quoted sentences, in the order of the context (steps keep their order). */
  quoted: Sentence[];
  /** Whether any sentence matched the question (otherwise the context's first sentences are quoted). */
  matched: boolean;
  entities: Entities;
}

const show = (ms: readonly Mention[], limit = 10) => {
  const unique = [...new Set(ms.map((m) => m.text.replace(/\s+/g, ' ')))];
  return unique.length ? unique.slice(0, limit).join(', ') : 'none';
};

/** The offline model's reply to a prompt. Deterministic: the same messages always give the same text. */
export function extractiveAnswer(
  messages: readonly PromptMessage[],
  options: ExtractiveOptions = {},
): ExtractiveAnswer {
  const maxSentences = options.maxSentences ?? 3;
  const { question, context } = splitPrompt(messages);
  const entities = findEntities(context.map((s) => s.text).join('\n'));
  if (!context.length) {
    return {
      text: `${OFFLINE_MARKER} The prompt holds no context to quote from (only instructions and the question), and this model cannot compose an answer: choose an LLM provider for that.`,
      question,
      quoted: [],
      matched: false,
      entities,
    };
  }
  // Asked for a summary, the opening sentences are the honest extractive answer (the "lead" baseline).
  const summary = summaryRequest.test(question);
  const ranked = summary ? [] : rank(question, context);
  const matched = summary || ranked.length > 0;
  // The best sentences are chosen by relevance and quoted in the context's order: instructions given as steps
  // ("Freeze the card…", then "report it lost…") must not come out reversed.
  const position = new Map(context.map((s, i) => [s, i]));
  const quoted = ranked.length
    ? ranked
        .slice(0, maxSentences)
        .map((r) => r.sentence)
        .sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0))
    : context.slice(0, maxSentences);
  const head = summary
    ? `${OFFLINE_MARKER} Opening sentences of the text, quoted (an extractive summary):`
    : matched
      ? `${OFFLINE_MARKER} Sentences quoted from the prompt's context that best match the question, in their original order:`
      : `${OFFLINE_MARKER} No sentence of the prompt's context matches the question; its first sentences are:`;
  // Runs of spaces (OCR'd table columns) are collapsed so each quote reads as one line.
  const lines = quoted.map(
    (s, i) => `${i + 1}. ${s.text.replace(/[ \t]{2,}/g, ' ')}${s.cite ? ` [${s.cite}]` : ''}`,
  );
  const figures = `Amounts: ${show(entities.amounts)} | Dates: ${show(entities.dates)} | Percentages: ${show(entities.percentages)}`;
  return { text: [head, ...lines, figures].join('\n'), question, quoted, matched, entities };
}

/**
 * Quoted sentences as one paragraph a customer can read: in the given order, each run of sentences from one
 * passage followed by that passage's citation ("… [1]"), without the marker and the figures list of the model's
 * own reply (the node that shows it says elsewhere that no LLM wrote it).
 */
export function quotesAsProse(quoted: readonly Sentence[]): string {
  let out = '';
  quoted.forEach((s, i) => {
    const text = s.text.replace(/[ \t]{2,}/g, ' ');
    if (out && !/[。！？；：]$/u.test(out)) out += ' ';
    out += text;
    const next = quoted[i + 1];
    if (s.cite && next?.cite !== s.cite) out += /[。！？]$/u.test(text) ? `[${s.cite}]` : ` [${s.cite}]`;
  });
  return out;
}

/* ------------------------------------------------------------------------------------------------------------
 * Structured extraction
 * ---------------------------------------------------------------------------------------------------------- */

type JsonSchema = Record<string, unknown>;

interface Field {
  path: string;
  reason: string;
}

interface Extraction {
  text: string;
  sentences: Sentence[];
  entities: Entities;
  missing: Field[];
}

const moneyWords =
  /amount|total|price|fee|balance|cost|sum|payment|paid|due|income|salary|revenue|loan|principal|limit|金额|总额|费用|余额|价格|收入|贷款/iu;
const percentWords = /percent|rate|ratio|share|apr|yield|interest|比例|利率|百分比|占比/iu;
const dateWords = /date|day|deadline|since|until|expir|issued|due|日期|期限|截止/iu;

function words(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
}

function typeOf(schema: JsonSchema): string | undefined {
  const t = schema['type'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x): x is string => typeof x === 'string' && x !== 'null');
  if (Array.isArray(schema['enum'])) return 'enum';
  if (schema['properties']) return 'object';
  return undefined;
}

function bestSentences(x: Extraction, query: string): Sentence[] {
  return rank(query, x.sentences).map((r) => r.sentence);
}

function mentionsIn(sentence: Sentence, kind: 'amounts' | 'dates' | 'percentages' | 'numbers'): Mention[] {
  if (kind === 'numbers') return findNumbers(sentence.text);
  return findEntities(sentence.text)[kind];
}

function pickMention(
  x: Extraction,
  query: string,
  kind: 'amounts' | 'dates' | 'percentages' | 'numbers',
): string | undefined {
  for (const s of bestSentences(x, query)) {
    const found = mentionsIn(s, kind);
    if (found[0]) return found[0].text;
  }
  // One mention of the kind in the whole text is unambiguous even when no sentence names the field.
  if (kind !== 'numbers') {
    const all = [...new Set(x.entities[kind].map((m) => m.text))];
    if (all.length === 1) return all[0];
  }
  return undefined;
}

function enumValuesIn(text: string, values: readonly unknown[]): unknown[] {
  const lower = text.toLowerCase();
  return values.filter((v) => {
    if (typeof v !== 'string' && typeof v !== 'number') return false;
    const s = String(v).toLowerCase();
    if (!s) return false;
    if (/^[\p{L}\p{N}_ -]+$/u.test(s) && /^[a-z0-9]/.test(s)) {
      const escaped = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[_ -]/g, '[_ -]');
      return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'iu').test(lower);
    }
    return lower.includes(s);
  });
}

function fill(x: Extraction, schema: JsonSchema, name: string, path: string): unknown {
  const description = typeof schema['description'] === 'string' ? schema['description'] : '';
  const title = typeof schema['title'] === 'string' ? schema['title'] : '';
  const query = `${words(name)} ${title} ${description}`.trim();
  const type = typeOf(schema);
  const miss = (reason: string) => {
    x.missing.push({ path, reason });
    return undefined;
  };

  if (Array.isArray(schema['enum'])) {
    const found = enumValuesIn(x.text, schema['enum']);
    if (found.length === 1) return found[0];
    if (!found.length) return miss('none of its allowed values appears in the text');
    for (const s of bestSentences(x, query)) {
      const here = enumValuesIn(s.text, found);
      if (here.length === 1) return here[0];
    }
    return miss(`several allowed values appear (${found.map(String).join(', ')}) and choosing needs an LLM`);
  }

  switch (type) {
    case 'object': {
      const props = schema['properties'];
      if (!props || typeof props !== 'object')
        return miss('an object without properties cannot be extracted');
      const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props as Record<string, JsonSchema>)) {
        const before = x.missing.length;
        const value = fill(x, sub ?? {}, key, path ? `${path}.${key}` : key);
        if (value !== undefined) out[key] = value;
        // An optional field the text does not hold is simply left out.
        else if (!required.has(key)) x.missing.length = before;
      }
      return out;
    }
    case 'number':
    case 'integer': {
      const kind = percentWords.test(query)
        ? 'percentages'
        : moneyWords.test(query)
          ? 'amounts'
          : type === 'integer'
            ? 'numbers'
            : 'amounts';
      const mention =
        pickMention(x, query, kind) ?? (kind === 'amounts' ? pickMention(x, query, 'numbers') : undefined);
      if (mention === undefined)
        return miss(`no ${kind === 'numbers' ? 'number' : kind.slice(0, -1)} near "${query}" in the text`);
      if (parseRange(mention)) return miss(`"${mention}" is a range, not one number`);
      const value = parseNumber(mention);
      if (value === undefined) return miss(`"${mention}" is not a number`);
      if (type === 'integer' && !Number.isInteger(value)) return miss(`"${mention}" is not a whole number`);
      return value;
    }
    case 'string': {
      const format = schema['format'];
      if (format === 'date' || format === 'date-time' || (!format && dateWords.test(words(name)))) {
        const mention = pickMention(x, query, 'dates');
        if (mention === undefined) return miss('no date in the text for it');
        const isoDate = toIsoDate(mention);
        if (format === 'date') return isoDate ?? miss(`"${mention}" is not an unambiguous calendar date`);
        if (format === 'date-time')
          return isoDate ? `${isoDate}T00:00:00Z` : miss(`"${mention}" is not a date`);
        return isoDate ?? mention;
      }
      if (typeof schema['pattern'] === 'string') {
        // The pattern is the flow author's and the text the caller's: a linear-time engine, never V8's.
        let re: ReturnType<typeof compileLinear>;
        try {
          re = compileLinear(schema['pattern'].replace(/^\^|\$$/g, ''));
        } catch {
          return miss('its pattern is not a valid regular expression for the linear-time engine');
        }
        for (const s of [...bestSentences(x, query), ...x.sentences]) {
          const m = re.exec(s.text);
          if (m) return m[0];
        }
        return miss('no text matches its pattern');
      }
      const best = bestSentences(x, query)[0];
      if (!best) return miss(`no sentence of the text mentions "${query}"`);
      const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : undefined;
      return max !== undefined && best.text.length > max ? best.text.slice(0, max) : best.text;
    }
    case 'array': {
      const items = (schema['items'] ?? {}) as JsonSchema;
      const itemType = typeOf(items);
      if (Array.isArray(items['enum'])) return enumValuesIn(x.text, items['enum']);
      if (itemType === 'number' || itemType === 'integer') {
        const kind = percentWords.test(query) ? 'percentages' : 'amounts';
        return x.entities[kind].map((m) => parseNumber(m.text)).filter((v) => v !== undefined);
      }
      if (itemType === 'string' && (items['format'] === 'date' || dateWords.test(words(name))))
        return x.entities.dates.map((m) => toIsoDate(m.text) ?? m.text);
      if (itemType === 'string')
        return bestSentences(x, query)
          .slice(0, 5)
          .map((s) => s.text);
      return miss(`a list of ${itemType ?? 'untyped'} items needs an LLM`);
    }
    case 'boolean':
      return miss('a yes/no judgement needs an LLM');
    default:
      return miss(`a field of type ${type ?? 'unspecified'} needs an LLM`);
  }
}

/**
 * Fills a JSON Schema (an object schema) from the conversation (not the system prompt, nor sentences that
 * instruct, such as "Extract the total."), with values found verbatim in it: enum
 * values that appear, amounts, percentages and dates near the field's name, the sentence that best matches a
 * text field. Throws OFFLINE_MODEL_UNSUPPORTED naming each required field it cannot fill and why.
 */
export function extractStructured(
  messages: readonly PromptMessage[],
  schema: JsonSchema,
): Record<string, unknown> {
  if (typeOf(schema) !== 'object')
    throw new NodeError('the offline model only extracts object schemas', 'OFFLINE_MODEL_UNSUPPORTED');
  // The system prompt and instruction sentences describe the task (and often list the allowed values), so
  // values are only taken from the rest of the conversation.
  const context = contentOf(
    messages.filter((m) => m.role !== 'system').flatMap((m) => sentencesOf(m.content)),
  );
  const text = context.map((s) => s.text).join('\n');
  const x: Extraction = { text, sentences: context, entities: findEntities(text), missing: [] };
  const value = fill(x, schema, '', '') as Record<string, unknown>;
  if (x.missing.length) {
    throw new NodeError(
      `the offline extractive model (no LLM) cannot fill ${x.missing
        .map((f) => `"${f.path}" (${f.reason})`)
        .join('; ')}: choose an LLM provider or make these fields optional`,
      'OFFLINE_MODEL_UNSUPPORTED',
      { details: { fields: x.missing } },
    );
  }
  return value;
}
