/**
 * What the templates tell customers and managers when no LLM is configured (issue 14, item 12). Every fixture
 * of every template runs with the offline default model, and:
 * - no output contains an instruction sentence of a prompt (the system prompts and the questions the flows ask
 *   their models, recorded from the same fixtures run with an LLM stand-in);
 * - every client-facing text is complete sentences in the customer's language, with no trace of the offline
 *   model's own report (its marker, numbered quotes, figures list).
 */
import { SimpleChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseMessage } from '@langchain/core/messages';
import { createRuntime, type Services } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { beforeAll, describe, expect, it } from 'vitest';
import { listTemplates, type Template, type TemplateFixture } from './index.js';
import { runFixture } from './testing.js';

type Language = 'zh' | 'en';

interface ClientText {
  where: string;
  text: unknown;
  language: Language;
  /** `sentences`: a letter, an answer or a summary; `phrase`: a reason or a factor in a list. */
  kind: 'sentences' | 'phrase';
}

type Outputs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- output shapes differ per template

const each = (list: unknown): unknown[] => (Array.isArray(list) ? list : []);
const texts = (where: string, list: unknown, language: Language, kind: ClientText['kind']): ClientText[] =>
  each(list).map((text, i) => ({ where: `${where}[${i}]`, text, language, kind }));

/** The language a request asks for (the templates' optional `language` input), or the template's default. */
const requested = (input: unknown, fallback: Language): Language => {
  const language = (input as { language?: unknown } | null)?.language;
  return language === 'zh' || language === 'en' ? language : fallback;
};

/**
 * The texts each template gives a customer (or, for the compliance summary, management), and their language:
 * the one the request asks for, else the template's documented default. A new template must be added here: the
 * test fails for a template it does not know.
 */
const clientTexts: Record<string, (o: Outputs, input: unknown) => ClientText[]> = {
  'robo-advisory': (o, input) => {
    const language = requested(input, 'zh');
    return [
      { where: 'explanation', text: o['explanation'], language, kind: 'sentences' },
      { where: 'riskDisclosure', text: o['riskDisclosure'], language, kind: 'sentences' },
      ...texts('profile.reasons', o['profile']?.reasons, language, 'sentences'),
    ];
  },
  'wealth-recommendation': (o, input) => {
    const language = requested(input, 'zh');
    return [
      { where: 'pitch', text: o['pitch'], language, kind: 'sentences' },
      { where: 'disclosure', text: o['disclosure'], language, kind: 'sentences' },
      ...each(o['recommendations']).flatMap((r, i) =>
        texts(`recommendations[${i}].reasons`, (r as Outputs)['reasons'], language, 'phrase'),
      ),
      ...each(o['excluded']).flatMap((r, i) =>
        texts(`excluded[${i}].reasons`, (r as Outputs)['reasons'], language, 'phrase'),
      ),
    ];
  },
  'compliance-automation': (o, input) => [
    {
      where: 'summary',
      text: o['summary'],
      language: requested(input, o['stats']?.language),
      kind: 'sentences',
    },
  ],
  'credit-approval': (o, input) => {
    const notice = o['adverseActionNotice'];
    const incomplete = o['incompleteNotice'];
    const language = requested(input, 'en');
    return [
      ...[notice, incomplete]
        .filter(Boolean)
        .map((n, i) => ({ where: `notice[${i}].text`, text: n.text, language, kind: 'sentences' })),
      ...(notice
        ? [
            {
              where: 'adverseActionNotice.letter.en',
              text: notice.letter?.en,
              language: 'en',
              kind: 'sentences',
            },
            {
              where: 'adverseActionNotice.letter.zh',
              text: notice.letter?.zh,
              language: 'zh',
              kind: 'sentences',
            },
            ...texts('adverseActionNotice.principalReasons', notice.principalReasons, 'en', 'phrase'),
            ...texts('adverseActionNotice.principalReasonsZh', notice.principalReasonsZh, 'zh', 'phrase'),
          ]
        : []),
      ...(incomplete
        ? [
            {
              where: 'incompleteNotice.letter.en',
              text: incomplete.letter?.en,
              language: 'en',
              kind: 'sentences',
            },
            {
              where: 'incompleteNotice.letter.zh',
              text: incomplete.letter?.zh,
              language: 'zh',
              kind: 'sentences',
            },
          ]
        : []),
    ] as ClientText[];
  },
  'anti-fraud': (o, input) =>
    each(o['decision']?.reasons).flatMap((r, i) => {
      const reason = r as Outputs;
      const language = requested(input, 'en');
      return [
        { where: `decision.reasons[${i}].message`, text: reason['message'], language, kind: 'phrase' },
        ...(reason['factors']
          ? texts(`decision.reasons[${i}].details`, reason['details'], language, 'phrase')
          : []),
        { where: `decision.reasons[${i}].text`, text: reason['text'], language: 'en', kind: 'phrase' },
        { where: `decision.reasons[${i}].textZh`, text: reason['textZh'], language: 'zh', kind: 'phrase' },
        ...texts(`decision.reasons[${i}].factors`, reason['factors'], 'en', 'phrase'),
        ...texts(`decision.reasons[${i}].factorsZh`, reason['factorsZh'], 'zh', 'phrase'),
      ] as ClientText[];
    }),
  'multimodal-customer-service': (o, input) =>
    [
      ...(o['reply']
        ? [
            {
              where: 'reply.answer',
              text: o['reply'].answer,
              language: requested(input, o['reply'].language),
              kind: 'sentences',
            },
          ]
        : []),
      ...(o['handoff']
        ? [
            {
              where: 'handoff.customerNotice',
              text: o['handoff'].customerNotice,
              language: requested(input, o['handoff'].language),
              kind: 'sentences',
            },
          ]
        : []),
    ] as ClientText[],
};

const han = /\p{Script=Han}/gu;

/** Why a text is not in the given language, or undefined. */
export function languageProblem(text: string, language: Language): string | undefined {
  const hanCount = (text.match(han) ?? []).length;
  if (language === 'en') return hanCount ? `Chinese characters in an English text` : undefined;
  const latin = (text.match(/[A-Za-z]/g) ?? []).length;
  if (hanCount < latin) return 'more Latin letters than Chinese characters';
  // Codes and names (C3, R2, WMT, T+1, EUR, V12) are fine in Chinese; an English sentence is not.
  const english = /[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,}){3,}/.exec(text);
  return english ? `English words in a Chinese text: "${english[0]}"` : undefined;
}

const citations = String.raw`(?:\s?\[\d+\])*`;
const endsSentence = {
  en: new RegExp(String.raw`[.!?]["'’”)]?${citations}$`),
  zh: new RegExp(String.raw`[。！？]["'’”）)]?${citations}$`, 'u'),
};
const listItem = /^(?:[-•]\s|\d{1,2}\.\s)/;

/** Why a text is not complete sentences, or undefined. */
export function sentenceProblem(text: string, language: Language): string | undefined {
  if (
    /offline extractive model|Amounts: |Percentages: |\{\{|\bundefined\b|\bnull\b|NaN|\.\.\.$|…$/.test(text)
  )
    return 'a trace of a template or of the offline model';
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  let inList = false;
  for (const [i, line] of lines.entries()) {
    // A lead-in ("各类资产的安排如下：", "The principal reasons are:") introduces the list that follows it.
    if (/[:：]$/.test(line)) {
      if (!listItem.test(lines[i + 1] ?? '')) return `a lead-in without a list: "${line}"`;
      inList = true;
      continue;
    }
    const item = listItem.test(line);
    inList &&= item;
    // Items of a list under a lead-in complete its sentence and may be phrases; they still must not stop mid-way.
    if (inList) {
      if (/[,;，；、]$|\b(?:and|or|the|of)$/.test(line)) return `a list item cut off: "${line}"`;
      continue;
    }
    if (!endsSentence[language].test(line)) return `a line that does not end a sentence: "${line}"`;
    const body = line.replace(listItem, '');
    if (language === 'en' && !item && !/^[A-Z0-9"“‘(§]/.test(body))
      return `a sentence that does not start with a capital: "${line}"`;
  }
  return undefined;
}

function check(t: ClientText): string[] {
  if (typeof t.text !== 'string' || !t.text.trim()) return [`${t.where}: no text`];
  const problems = [languageProblem(t.text, t.language)];
  if (t.kind === 'sentences') problems.push(sentenceProblem(t.text, t.language));
  else if (/\{\{|\bundefined\b|\bnull\b|NaN/.test(t.text)) problems.push('a trace of a template');
  return problems.filter((p): p is string => !!p).map((p) => `${t.where} (${t.language}): ${p}`);
}

/** Records every prompt the flow's model nodes send, answering like an LLM would (so the flow runs on). */
class RecordingModel extends SimpleChatModel {
  static readonly prompts: { role: string; content: string }[][] = [];
  static override lc_name() {
    return 'RecordingModel';
  }
  _llmType(): string {
    return 'recording-test';
  }
  async _call(messages: BaseMessage[]): Promise<string> {
    RecordingModel.prompts.push(messages.map((m) => ({ role: m.type, content: m.text })));
    return 'Recorded [1].';
  }
}

/**
 * The instruction sentences of the recorded prompts: every sentence of a system prompt, and the question a flow
 * itself asks at the end of its user prompt ("问题：…", "Question: …"; a customer's own question is data).
 */
function instructionSentences(
  prompts: readonly { role: string; content: string }[][],
  flowText: string,
  inputText: string,
): Set<string> {
  const out = new Set<string>();
  for (const messages of prompts) {
    for (const m of messages) {
      const lines = m.content.split(/\r?\n/);
      const candidates =
        m.role === 'system'
          ? lines
          : lines.filter((l) => {
              const question = l.replace(/^\s*(?:question|问题)\s*[:：]\s*/iu, '').trim();
              return l !== question && flowText.includes(question) && !inputText.includes(question);
            });
      for (const line of candidates)
        for (const s of line.split(/(?<=[。！？；!?;])|(?<=\.)\s+/u)) {
          const sentence = s.trim();
          // Short fragments ("invent nothing.") would match ordinary text; a sentence is what gets quoted.
          if ((sentence.match(han) ?? []).length >= 8 || sentence.split(/\s+/).length >= 5) out.add(sentence);
        }
    }
  }
  return out;
}

function strings(value: unknown, path = '$', out: [string, string][] = []): [string, string][] {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
  return out;
}

const templates = listTemplates();

describe('the checks themselves', () => {
  it('tell complete sentences in the right language from the texts issue 14 found', () => {
    expect(
      sentenceProblem('[offline extractive model: no LLM] Sentences quoted from the prompt:\n1. x.', 'en'),
    ).toBeDefined();
    expect(languageProblem('Write at most 200 words for management.', 'zh')).toBeDefined();
    expect(languageProblem('本决定由 Demo Consumer Finance Co., Ltd. 作出。', 'zh')).toBeDefined();
    expect(
      sentenceProblem('your old card stops working as soon as the new one is activated.', 'en'),
    ).toBeDefined();
    expect(
      sentenceProblem('各类资产的安排如下：\n- 现金管理占 55.0%。\n组合年化波动约 6.2%。', 'zh'),
    ).toBeUndefined();
    expect(sentenceProblem('Freeze the card at once. Then report it lost. [1]', 'en')).toBeUndefined();
    expect(
      sentenceProblem('The principal reasons are:\n1. Checking account: below 0 DM\n\nThank you.', 'en'),
    ).toBeUndefined();
    expect(
      sentenceProblem('The principal reasons are:\n1. Checking account: below 0 DM,', 'en'),
    ).toBeDefined();
    expect(languageProblem('风险等级 R2（中低风险），T+1 到账，EUR 38.9。', 'zh')).toBeUndefined();
  });
});

describe.each(templates.map((t) => [t.meta.id, t] as const))(
  '%s without an LLM',
  (id, template: Template) => {
    let instructions = new Set<string>();
    let checked = 0;
    beforeAll(async () => {
      RecordingModel.prompts.length = 0;
      const models: NonNullable<Services['models']> = { chatModel: () => new RecordingModel({}) };
      const runtime = createRuntime({ registry: createBuiltinRegistry(), services: { models } });
      for (const f of template.fixtures) await runtime.run(template.flow, f.input);
      instructions = instructionSentences(
        RecordingModel.prompts,
        JSON.stringify(template.flow),
        JSON.stringify(template.fixtures.map((f) => f.input)),
      );
    });

    it('declares its client-facing texts', () => {
      expect(Object.keys(clientTexts), `add ${id} to clientTexts`).toContain(id);
    });

    it.each(template.fixtures.map((f) => [f.name, f] as const))(
      '%s: quotes no instruction, and its client texts are complete sentences in the right language',
      async (_name, fixture: TemplateFixture) => {
        const result = await runFixture(template, fixture, 'offline');
        expect(result.error, JSON.stringify(result.error)).toBeUndefined();
        const quoted = strings(result.outputs).flatMap(([path, text]) =>
          [...instructions].filter((s) => text.includes(s)).map((s) => `${path} quotes "${s}"`),
        );
        expect(quoted).toEqual([]);
        const declared = clientTexts[id]?.(result.outputs as Outputs, fixture.input) ?? [];
        checked += declared.length;
        expect(declared.flatMap(check)).toEqual([]);
      },
    );

    it('has fixtures asking for each language, checked in the language asked for', () => {
      const defaults: Record<string, Language> = {
        'robo-advisory': 'zh',
        'wealth-recommendation': 'zh',
        'credit-approval': 'en',
        'anti-fraud': 'en',
      };
      const fallback = defaults[id];
      if (!fallback) return; // customer service and compliance detect the language; an explicit one is optional
      const asked = new Set(template.fixtures.map((f) => requested(f.input, fallback)));
      expect([...asked].sort()).toEqual(['en', 'zh']);
    });

    it('had client texts to check', () => {
      expect(checked).toBeGreaterThan(0);
    });
  },
);
