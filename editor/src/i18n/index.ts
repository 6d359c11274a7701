/**
 * Translations: Chinese (zh-CN) and English. The first visit follows the browser's language (Chinese for any zh-*,
 * English otherwise); after that the user's choice, kept in localStorage. Catalog entries
 * and templates carry their own Chinese text (`meta.zh`, `title.zh`), picked by the helpers below.
 */
import i18next, { type TFunction } from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import { create } from 'zustand';
import type { CatalogEntry, Localized, NamedPort } from '../api/types.js';
import { en } from './en.js';
import { zhCN } from './zh-cn.js';

export type Lang = 'zh-CN' | 'en';
const STORAGE_KEY = 'finflow.lang';

function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'zh-CN') return stored;
  } catch {
    // Storage may be unavailable (private mode); the browser's language decides.
  }
  return browserLang(typeof navigator === 'undefined' ? [] : navigator.languages);
}

/** The UI language for a browser's preferred languages: the first one we have, English when none is. */
export function browserLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const tag = l.toLowerCase();
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources: { 'zh-CN': { translation: zhCN }, en: { translation: en } },
  lng: initialLang(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
});
document.documentElement.lang = i18n.language;

/**
 * The UI language as a store, for components there are hundreds of (canvas nodes): they re-render when it changes
 * and translate with `i18n.t`, without react-i18next's hook and its per-render work.
 */
export const useLangStore = create<{ lang: Lang }>()(() => ({
  lang: i18n.language === 'en' ? 'en' : 'zh-CN',
}));
i18n.on('languageChanged', (l) => useLangStore.setState({ lang: l === 'en' ? 'en' : 'zh-CN' }));
/** `t` outside React's hooks (with `useLangStore` to re-render on a language change). */
export const tr: TFunction = i18n.t.bind(i18n);

export function setLang(lang: Lang): void {
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Not persisted; the switch still applies to this page.
  }
}

export function useLang(): Lang {
  const { i18n: inst } = useTranslation();
  return inst.language === 'en' ? 'en' : 'zh-CN';
}

export function nodeTitle(entry: CatalogEntry | undefined, type: string, lang: Lang): string {
  if (!entry) return type;
  return lang === 'zh-CN' && entry.meta.zh?.title ? entry.meta.zh.title : entry.meta.title;
}

export function nodeDescription(entry: CatalogEntry | undefined, lang: Lang): string {
  if (!entry) return '';
  return lang === 'zh-CN' && entry.meta.zh?.description ? entry.meta.zh.description : entry.meta.description;
}

/** A port's title in the UI language (the node declares `zh` beside its English title), else its name. */
export function portTitle(port: NamedPort, lang: Lang): string {
  if (lang === 'zh-CN' && port.zh?.title) return port.zh.title;
  return port.title ?? port.name;
}

/** A port's description in the UI language, when it has one. */
export function portDescription(port: NamedPort, lang: Lang): string | undefined {
  if (lang === 'zh-CN' && port.zh?.description) return port.zh.description;
  return port.description;
}

export function localized(text: Localized | string | undefined, lang: Lang): string {
  if (!text) return '';
  if (typeof text === 'string') return text;
  return lang === 'zh-CN' ? text.zh || text.en : text.en || text.zh;
}

export function formatTime(value: string | number | null | undefined, lang: Lang): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
