/**
 * Review tasks in the inbox: how long until a task is due (or how long it is overdue), and turning what a
 * reviewer types into corrected field values. Pure functions, tested on their own.
 */

/** A window event telling the header (its count of open tasks) that the inbox changed. */
export const REVIEWS_CHANGED = 'finflow:reviews-changed';

export type SlaState =
  { kind: 'none' } | { kind: 'due'; ms: number; urgent: boolean } | { kind: 'overdue'; ms: number };

/** A task due within this long is shown as urgent. */
export const URGENT_MS = 60 * 60_000;

export function slaState(dueAt: number | null, now: number): SlaState {
  if (dueAt === null) return { kind: 'none' };
  const ms = dueAt - now;
  return ms >= 0 ? { kind: 'due', ms, urgent: ms < URGENT_MS } : { kind: 'overdue', ms: -ms };
}

/** A duration as its two largest units: `2d 3h`, `3h 12m`, `4m 05s`, `45s` (Chinese: `3 小时 12 分`). */
export function formatDuration(ms: number, lang: 'en' | 'zh-CN'): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const sec = s % 60;
  const zh = lang === 'zh-CN';
  const unit = { d: zh ? ' 天' : 'd', h: zh ? ' 小时' : 'h', m: zh ? ' 分' : 'm', s: zh ? ' 秒' : 's' };
  if (d) return `${d}${unit.d} ${h}${unit.h}`;
  if (h) return `${h}${unit.h} ${m}${unit.m}`;
  if (m) return `${m}${unit.m} ${String(sec).padStart(2, '0')}${unit.s}`;
  return `${sec}${unit.s}`;
}

/** The value at a dotted path. */
export function valueAt(root: unknown, path: string): unknown {
  let cur = root;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * What a reviewer typed for a field, as the value to send: a number where the field held a number (undefined
 * when the text is not one), `true`/`false` for a boolean, else the text.
 */
export function correctionValue(original: unknown, text: string): unknown {
  if (typeof original === 'number') {
    const n = Number(text.trim().replace(/[,\s_]/g, ''));
    return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (typeof original === 'boolean') return text === 'true' ? true : text === 'false' ? false : undefined;
  return text;
}

/** The text a field starts from in the form. */
export function fieldText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
