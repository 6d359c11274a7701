import { describe, expect, it } from 'vitest';
import { fixtureForUi, hasLanguageField, withUiLanguage } from './input-language.js';

const schema = {
  type: 'object',
  properties: { amount: { type: 'number' }, language: { type: 'string', enum: ['zh', 'en'], default: 'zh' } },
};

describe('the run form language', () => {
  it('fills the language from the UI language when the input names none', () => {
    expect(withUiLanguage(schema, { amount: 1 }, 'en')).toEqual({ amount: 1, language: 'en' });
    expect(withUiLanguage(schema, { amount: 1 }, 'zh-CN')).toEqual({ amount: 1, language: 'zh' });
  });

  it('keeps a language the input (a fixture, the analyst) already names', () => {
    expect(withUiLanguage(schema, { language: 'zh' }, 'en')).toEqual({ language: 'zh' });
  });

  it('adds nothing to a flow without a zh/en language field', () => {
    expect(withUiLanguage({ type: 'object', properties: { amount: {} } }, {}, 'en')).toEqual({});
    const other = { type: 'object', properties: { language: { type: 'string', enum: ['de', 'fr'] } } };
    expect(hasLanguageField(other)).toBe(false);
    expect(withUiLanguage(other, {}, 'zh-CN')).toEqual({});
  });
});

describe('the fixture the run form starts from', () => {
  const fixtures = [
    { name: 'c1-en', input: { language: 'en' } },
    { name: 'c1', input: {} },
    { name: 'c3-zh', input: { language: 'zh' } },
  ];
  it('is the first that does not ask for another language than the UI', () => {
    expect(fixtureForUi(fixtures, 'zh-CN')?.name).toBe('c1');
    expect(fixtureForUi(fixtures, 'en')?.name).toBe('c1-en');
    expect(fixtureForUi([{ name: 'only-en', input: { language: 'en' } }], 'zh-CN')?.name).toBe('only-en');
    expect(fixtureForUi([], 'en')).toBeUndefined();
  });
});
