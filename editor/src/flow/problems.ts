/**
 * Validation problems in the analyst's language. The server sends each problem with a code and the values its
 * English message is made of (`params`); here they become a sentence in the UI language, naming the config field
 * by its title where the problem concerns one. Pure, so it is tested on its own.
 */
import type { TFunction } from 'i18next';
import type { CatalogEntry, JsonSchema, Problem } from '../api/types.js';
import type { Lang } from '../i18n/index.js';
import { asSchema, fieldTitle, resolveRef } from '../inspector/schema.js';

/** The sub-schema a config path points at (through properties, items and refs), if the schema says. */
export function schemaAt(root: JsonSchema, path: readonly (string | number)[]): JsonSchema | undefined {
  let cur: JsonSchema | undefined = root;
  for (const part of path) {
    if (!cur) return undefined;
    const s: JsonSchema = resolveRef(cur, root);
    const props = s['properties'] as Record<string, unknown> | undefined;
    if (typeof part === 'string' && props && part in props) cur = asSchema(props[part]);
    else if (typeof part === 'number' && s['items']) cur = asSchema(s['items']);
    else return undefined;
  }
  return cur ? resolveRef(cur, root) : undefined;
}

/** The title of the config field a problem is about, in the UI language (else its key). */
export function fieldName(
  entry: CatalogEntry | undefined,
  path: readonly (string | number)[],
  lang: Lang,
): string {
  const key = [...path].reverse().find((p): p is string => typeof p === 'string') ?? path.join('.');
  const sub = entry ? schemaAt(entry.configSchema, path) : undefined;
  return sub ? fieldTitle(sub, key, lang) : key;
}

/** What is wrong with a config value, without the field's name (shown under the field itself). */
export function configIssueText(t: TFunction, p: Problem): string {
  const params = p.params ?? {};
  switch (params['issue']) {
    case 'too_small':
      return t('problemText.tooSmall', { minimum: params['minimum'] });
    case 'too_big':
      return t('problemText.tooBig', { maximum: params['maximum'] });
    case 'invalid_type':
      return t('problemText.invalidType', { expected: params['expected'] });
    case 'invalid_value':
      return t('problemText.invalidValue');
    case 'invalid_format':
      return t('problemText.invalidFormat');
    case 'unrecognized_keys':
      return t('problemText.unrecognizedKeys');
    default:
      return t('problemText.invalidOther', { message: p.message });
  }
}

/** A problem as a sentence in the UI language. `entry` is the catalog entry of the node it is on, if any. */
export function problemText(t: TFunction, p: Problem, entry: CatalogEntry | undefined, lang: Lang): string {
  const params = p.params ?? {};
  switch (p.code) {
    case 'INVALID_CONFIG':
      return t('problemText.INVALID_CONFIG', {
        field: fieldName(entry, p.path ?? [], lang),
        issue: configIssueText(t, p),
      });
    case 'INVALID_EXPRESSION':
      if (params['reason'] === 'not-upstream')
        return t('problemText.exprNotUpstream', { ref: params['ref'] });
      if (params['reason'] === 'unknown-node')
        return t('problemText.exprUnknownNode', { ref: params['ref'] });
      return t('problemText.INVALID_EXPRESSION', {
        field: fieldName(entry, p.path ?? [], lang),
        message: p.message,
      });
    case 'UNKNOWN_PORT':
      return t(
        params['side'] === 'output' ? 'problemText.unknownOutput' : 'problemText.unknownInput',
        params,
      );
    case 'DUPLICATE_ID':
      return params['output']
        ? t('problemText.duplicateOutput', params)
        : t('problemText.DUPLICATE_ID', { id: params['id'] ?? p.nodeId ?? p.edgeId });
    case 'INVALID_DOCUMENT':
      return t('problemText.INVALID_DOCUMENT', { where: p.path?.join('.') || '—', message: p.message });
    default: {
      const key = `problemText.${p.code}`;
      const text = t(key, { ...params, defaultValue: '' });
      return text && text !== key ? text : p.message;
    }
  }
}
