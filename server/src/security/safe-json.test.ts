import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../hash.js';
import {
  checkJsonText,
  jsonSafeCopy,
  JsonInputError,
  parseJson,
  safeStringify,
  TOO_DEEP,
} from './safe-json.js';

const deepText = (n: number, open = '{"a":', close = '}') => `${open.repeat(n)}1${close.repeat(n)}`;
const deepValue = (n: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof JsonInputError ? err.code : `not a JsonInputError: ${String(err)}`;
  }
};

describe('checkJsonText', () => {
  it('accepts nesting up to the limit and refuses one level more, objects and arrays alike', () => {
    expect(codeOf(() => checkJsonText(deepText(64), 64))).toBeUndefined();
    expect(codeOf(() => checkJsonText(deepText(65), 64))).toBe('JSON_TOO_DEEP');
    expect(codeOf(() => checkJsonText(deepText(65, '[', ']'), 64))).toBe('JSON_TOO_DEEP');
    // Siblings do not add up: depth is nesting, not the number of containers.
    expect(codeOf(() => checkJsonText(`[${'[[1]],'.repeat(1000)}[]]`, 3))).toBeUndefined();
  });

  it('does not count brackets or numbers inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: `${'['.repeat(500)} \\" "1e999" ${'{'.repeat(500)}`, t: 'x"[[[' });
    expect(codeOf(() => checkJsonText(text, 4))).toBeUndefined();
    expect(codeOf(() => checkJsonText('{"a\\\\":[[[1]]]}', 3))).toBe('JSON_TOO_DEEP');
  });

  it('refuses numbers that overflow to ±Infinity and accepts the largest finite ones', () => {
    for (const n of ['1e309', '-1e309', '1E+400', '-2.5e308', '9'.repeat(309)])
      expect(
        codeOf(() => checkJsonText(`[${n}]`, 8)),
        n,
      ).toBe('INVALID_INPUT');
    for (const n of ['1.7976931348623157e308', '-1e308', '1e-400', '9'.repeat(308), '0.5', '-0'])
      expect(
        codeOf(() => checkJsonText(`{"n":${n}}`, 8)),
        n,
      ).toBeUndefined();
  });
});

describe('parseJson', () => {
  it('parses within the limits, and names what is wrong otherwise', () => {
    expect(parseJson('{"a":[1,2,{"b":null}]}')).toEqual({ a: [1, 2, { b: null }] });
    expect(codeOf(() => parseJson('{"a":'))).toBe('INVALID_JSON');
    expect(codeOf(() => parseJson(deepText(100_000)))).toBe('JSON_TOO_DEEP');
    expect(codeOf(() => parseJson('{"__proto__":{"x":1}}'))).toBe('FORBIDDEN_KEY');
    expect(codeOf(() => parseJson('{"constructor":{"prototype":{}}}'))).toBe('FORBIDDEN_KEY');
    expect(parseJson(deepText(200), { maxDepth: 200 })).toEqual(deepValue(200));
  });
});

describe('safeStringify and jsonSafeCopy', () => {
  it('writes what JSON.stringify writes when it can', () => {
    const v = { a: [1, 'x', { b: null }], c: true };
    expect(safeStringify(v)).toEqual({ json: JSON.stringify(v), cut: false });
  });

  it('writes values too deep for JSON.stringify, cutting below the stored depth', () => {
    const { json, cut } = safeStringify(deepValue(100_000));
    expect(cut).toBe(true);
    expect(json).toContain(TOO_DEEP);
    expect(JSON.parse(json)).toBeTruthy();
  });

  it('writes cycles and BigInts instead of throwing', () => {
    const cyclic: Record<string, unknown> = { n: 1n };
    cyclic['self'] = cyclic;
    expect(JSON.parse(safeStringify(cyclic).json)).toEqual({ n: '1', self: '[circular]' });
    expect(jsonSafeCopy({ d: new Date(0) })).toEqual({ d: '1970-01-01T00:00:00.000Z' });
  });
});

describe('canonicalJson at any depth', () => {
  it('gives the same text past its recursion limit as below it, and does not overflow', () => {
    // Single-key objects: canonical JSON equals JSON.stringify, which manages 1,000 levels.
    expect(canonicalJson(deepValue(1000))).toBe(JSON.stringify(deepValue(1000)));
    const mixed = (n: number): unknown => {
      let v: unknown = { z: [3, undefined, 1], a: 'x' };
      for (let i = 0; i < n; i++) {
        // A hole in the middle: canonical JSON leaves it empty.
        const holey: unknown[] = [i];
        holey[2] = null;
        v = i % 2 ? { b: v, a: holey } : [v, { y: 1, x: 2 }];
      }
      return v;
    };
    // A plain recursive reference (600 levels fit on the stack): keys sorted, undefined members left out,
    // undefined array items as null, holes empty.
    const reference = (v: unknown): string => {
      if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
      if (Array.isArray(v))
        return `[${Array.from({ length: v.length }, (_, i) => (i in v ? reference(v[i] ?? null) : '')).join(',')}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
    };
    expect(canonicalJson(mixed(600))).toBe(reference(mixed(600)));
    expect(canonicalJson(deepValue(200_000)).length).toBe('{"a":'.length * 200_000 + 1 + 200_000);
  });
});
