import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tagLabel } from './tags.js';

const root = new URL('../../../templates/', import.meta.url);
const tags = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'src' && d.name !== 'dist' && d.name !== 'node_modules')
  .flatMap((d) => {
    try {
      return (
        JSON.parse(readFileSync(new URL(`${d.name}/template.json`, root), 'utf8')) as { tags: string[] }
      ).tags;
    } catch {
      return [];
    }
  });

describe('gallery tags', () => {
  it('shows every template tag in Chinese in the Chinese UI and without Chinese in the English UI', () => {
    expect(tags.length).toBeGreaterThan(10);
    for (const tag of tags) {
      expect(tagLabel(tag, 'zh-CN'), tag).toMatch(/[\u4e00-\u9fff]|^(GDPR|KYC|OCR)$|Regulation B（/);
      expect(tagLabel(tag, 'en'), tag).not.toMatch(/[\u4e00-\u9fff]/);
    }
  });
});
