/**
 * The language a run asks its texts in. A flow input offers it as a `language` field whose enum holds `zh` and
 * `en` (the templates' convention, see README "Languages"); the run form fills it from the UI language unless the
 * input already names one, so an analyst in the English UI gets English customer texts without thinking of it.
 */
import type { JsonSchema } from '../api/types.js';
import type { Lang } from '../i18n/index.js';

/** The request language that matches a UI language. */
export function requestLanguage(lang: Lang): 'zh' | 'en' {
  return lang === 'zh-CN' ? 'zh' : 'en';
}

/** Whether the flow input has the `language` field (a string enum offering zh and en). */
export function hasLanguageField(schema: JsonSchema): boolean {
  const props = schema['properties'];
  const field =
    props && typeof props === 'object' ? (props as Record<string, unknown>)['language'] : undefined;
  const options = field && typeof field === 'object' ? (field as JsonSchema)['enum'] : undefined;
  return Array.isArray(options) && options.includes('zh') && options.includes('en');
}

/** The input with its language filled from the UI language, when the flow offers one and the input names none. */
export function withUiLanguage(
  schema: JsonSchema,
  input: Record<string, unknown>,
  lang: Lang,
): Record<string, unknown> {
  if (!hasLanguageField(schema) || input['language'] !== undefined) return input;
  return { ...input, language: requestLanguage(lang) };
}

/**
 * The fixture to prefill: the first that does not ask for another language than the UI's (a template ships
 * fixtures in both languages, and the English one may sort first), else the first.
 */
export function fixtureForUi<F extends { input: unknown }>(
  fixtures: readonly F[],
  lang: Lang,
): F | undefined {
  const asks = (f: F) => (f.input as { language?: unknown } | null)?.language;
  return fixtures.find((f) => asks(f) === undefined || asks(f) === requestLanguage(lang)) ?? fixtures[0];
}
