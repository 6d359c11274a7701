/**
 * README.zh-CN.md is the Chinese reader's README: it is linked from README.md and gives the same commands, in the
 * same order, as README.md's shell blocks (comments may be translated; the commands may not differ).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (name: string) => readFileSync(fileURLToPath(new URL(`../../${name}`, import.meta.url)), 'utf8');

/** The commands of each ```sh block: comments and blank lines dropped, trailing spaces trimmed. */
export function commandBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  for (const m of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) {
    blocks.push(
      (m[1] ?? '')
        .split('\n')
        .map((line) => line.replace(/(^|\s)#\s.*$/, '').trimEnd())
        .filter((line) => line.trim() !== ''),
    );
  }
  return blocks;
}

describe('README.zh-CN.md', () => {
  const en = read('README.md');
  const zh = read('README.zh-CN.md');

  it('is linked from README.md, and links back', () => {
    expect(en).toContain('](README.zh-CN.md)');
    expect(zh).toContain('](README.md)');
  });

  it('has the same command blocks as README.md', () => {
    const commands = commandBlocks(en);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    expect(commandBlocks(zh)).toEqual(commands);
  });

  it('covers the quick start, the templates, publishing and configuration', () => {
    for (const heading of ['## 快速开始', '## 场景模板', '## 发布与调用接口', '## 运行与配置'])
      expect(zh).toContain(heading);
    // Every template of the English table is in the Chinese one.
    for (const id of en.matchAll(/^\| `([a-z-]+)` \| /gm)) expect(zh).toContain(`| \`${id[1]}\` |`);
  });

  it('reads the comments out of a block but keeps the commands', () => {
    expect(commandBlocks('```sh\nnpm start   # 启动\n# only a comment\n\ncurl -H "#x" a\n```\n')).toEqual([
      ['npm start', 'curl -H "#x" a'],
    ]);
  });
});
