import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { zhCN } from './zh-cn.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) && !f.endsWith('.test.ts') ? [p] : [];
  });
}

function has(dict: unknown, key: string): boolean {
  let cur = dict;
  for (const part of key.split('.')) {
    if (!cur || typeof cur !== 'object' || !(part in cur)) return false;
    cur = (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'string';
}

describe('translations', () => {
  it('has every literal key the editor uses, in Chinese and in English', () => {
    const src = join(import.meta.dirname, '..');
    const used = new Set<string>();
    for (const f of files(src))
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\(\s*'([\w.-]+)'/g)) used.add(m[1] as string);
    expect(used.size).toBeGreaterThan(100);
    const missing = [...used].filter((k) => !has(zhCN, k) || !has(en, k));
    expect(missing).toEqual([]);
  });
});
