import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJsonStrict } from './json-body.js';

const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

describe('JSON bodies', () => {
  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(() => parseJsonStrict(nested(MAX_JSON_DEPTH + 1))).toThrow(/deeper than 256/);
    expect(parseJsonStrict(nested(MAX_JSON_DEPTH))).toBeInstanceOf(Array);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ prompt: `${'{['.repeat(400)} and a \\" quote "${'['.repeat(400)}` });
    expect(nestsDeeperThan(text, 3)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\\\"${'['.repeat(5)}${']'.repeat(5)}}`, 3)).toBe(true);
  });
});
