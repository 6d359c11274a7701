import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { piiMaskNode } from './pii-mask.node.js';
import { maskText, partialMask, pseudonym } from './pii/mask.js';
import type { PiiType } from './pii/detect.js';
import { hutoolCases, piiCorpus } from './test-helpers/datasets.js';

const KEY = 'k3y-for-tests-0123456789abcdef';

async function mask(
  text: string,
  config: Record<string, unknown> = {},
  secrets: Record<string, string> = {},
) {
  return runNodeOk(piiMaskNode, { inputs: { text }, config, secrets });
}

describe('partial masks follow the Hutool DesensitizedUtil cases', () => {
  const types: Record<string, [PiiType, Record<string, number>]> = {
    CHINESE_NAME: ['PERSON', {}],
    ID_CARD: ['CN_RESIDENT_ID', {}],
    FIXED_PHONE: ['PHONE_NUMBER', {}],
    MOBILE_PHONE: ['CN_MOBILE', {}],
    ADDRESS: ['ADDRESS', {}],
    'ADDRESS(sensitiveSize=5)': ['ADDRESS', { maskLast: 5 }],
    EMAIL: ['EMAIL_ADDRESS', {}],
  };
  const cases = hutoolCases().masking.cases.filter((c) => c.type in types);

  it.each(cases.map((c) => [c.type, c.input, c.expected] as const))(
    '%s %s -> %s',
    (type, input, expected) => {
      const [piiType, rule] = types[type]!;
      expect(partialMask(piiType, input, rule)).toBe(expected);
    },
  );

  it('covers every Hutool case that is a kind of PII in text', () => {
    // PASSWORD is a full mask (below); USER_ID ("100" -> "0") is a numeric id reset, not text masking.
    expect(cases).toHaveLength(9);
  });

  it('hides every character with the full strategy (Hutool PASSWORD)', async () => {
    const password = hutoolCases().masking.cases.find((c) => c.type === 'PASSWORD')!;
    const entity = {
      type: 'BANK_CARD' as const,
      start: 0,
      end: password.input.length,
      text: password.input,
      score: 1,
    };
    const masked = maskText(password.input, [entity], {
      rules: { BANK_CARD: { strategy: 'full' } },
      defaultStrategy: 'partial',
      maskChar: '*',
    });
    expect(masked.text).toBe(password.expected);
    const out = await mask('我的银行卡号是6222023369678355', { rules: { BANK_CARD: { strategy: 'full' } } });
    expect(out['text']).toBe(`我的银行卡号是${'*'.repeat(16)}`);
  });
});

describe('compliance.piiMask on the corpus', async () => {
  const corpus = piiCorpus().filter((r) => !r.id.startsWith('neg-'));
  const outputs = await Promise.all(corpus.map(async (r) => ({ r, out: await mask(r.text) })));

  it('leaves no raw value of a labelled entity in the masked text', () => {
    for (const { r, out } of outputs) {
      for (const span of r.spans) expect(out['text'] as string, r.id).not.toContain(span.value);
    }
  });

  it('keeps the text length with partial masks and reports entities without their values', () => {
    for (const { r, out } of outputs) {
      expect((out['text'] as string).length).toBe(r.text.length);
      for (const e of out['entities'] as Record<string, unknown>[]) {
        expect(e).not.toHaveProperty('text');
        expect(Object.values(e)).not.toContain(
          r.text.slice(e['originalStart'] as number, e['originalEnd'] as number),
        );
      }
    }
  });

  it('masks as a person reads it', async () => {
    const out = await mask(
      '申请人：吴刚，手机：18684981540，身份证：420111199710282158，邮箱zhang.wei@example.cn',
    );
    expect(out['text']).toBe(
      '申请人：吴*，手机：186****1540，身份证：4***************58，邮箱z********@example.cn',
    );
  });
});

describe('labelled numbers that fail their check (issue 10, finding 7)', () => {
  it('masks a card number after 卡号 that fails Luhn and an ID after 身份证 with a wrong check character', async () => {
    const out = await mask('卡号6222020531414488，身份证210102198412122876，请核实。');
    expect(out['text']).toBe('卡号6222********4488，身份证2***************76，请核实。');
    expect((out['entities'] as { type: string }[]).map((e) => e.type)).toEqual([
      'BANK_CARD',
      'CN_RESIDENT_ID',
    ]);
  });

  it('leaves unlabelled digit runs that fail every check in clear', async () => {
    const text = '订单号2024061500012345，流水 6222020531414488。';
    expect((await mask(text))['text']).toBe(text);
  });
});

describe('keyed pseudonymisation', () => {
  const config = { defaultStrategy: 'pseudonym', keyCredential: 'pii-key' };

  it('maps the same value to the same token across texts, whatever its formatting', async () => {
    const a = await mask('卡号6222 0233 6967 8355', config, { 'pii-key': KEY });
    const b = await mask('请转入银行卡6222023369678355。', config, { 'pii-key': KEY });
    const token = pseudonym('BANK_CARD', '6222023369678355', KEY);
    expect(a['text']).toBe(`卡号${token}`);
    expect(b['text']).toBe(`请转入银行卡${token}。`);
    expect(token).toMatch(/^<BANK_CARD:[0-9a-f]{16}>$/);
  });

  it('gives different tokens under a different key and for different values', () => {
    expect(pseudonym('CN_MOBILE', '13586156498', KEY)).not.toBe(
      pseudonym('CN_MOBILE', '13586156498', `${KEY}x`),
    );
    expect(pseudonym('CN_MOBILE', '13586156498', KEY)).not.toBe(pseudonym('CN_MOBILE', '13586156499', KEY));
  });

  it('mixes strategies per type', async () => {
    const out = await mask(
      '客户黄强，手机13586156498',
      {
        rules: { CN_MOBILE: { strategy: 'pseudonym' }, PERSON: { strategy: 'label' } },
        keyCredential: 'pii-key',
      },
      { 'pii-key': KEY },
    );
    expect(out['text']).toBe(`客户<PERSON>，手机${pseudonym('CN_MOBILE', '13586156498', KEY)}`);
    expect((out['entities'] as { strategy: string }[]).map((e) => e.strategy)).toEqual([
      'label',
      'pseudonym',
    ]);
  });

  it('fails clearly without a usable key', async () => {
    const missing = await runNode(piiMaskNode, { inputs: { text: '手机13586156498' }, config, secrets: {} });
    expect(missing.error?.code).toBe('SECRET_NOT_FOUND');
    const weak = await runNode(piiMaskNode, {
      inputs: { text: '手机13586156498' },
      config,
      secrets: { 'pii-key': 'short' },
    });
    expect(weak.error?.code).toBe('WEAK_KEY');
    const unnamed = await runNode(piiMaskNode, {
      inputs: { text: '手机13586156498' },
      config: { defaultStrategy: 'pseudonym' },
    });
    expect(unnamed.error?.code).toBe('INVALID_CONFIG');
  });
});

describe('reviewed entities', () => {
  it('masks exactly the entities given on the input', async () => {
    const text = '联系人：王五，电话13586156498';
    const out = await runNodeOk(piiMaskNode, {
      inputs: { text, entities: [{ type: 'PERSON', start: 4, end: 6 }] },
    });
    expect(out['text']).toBe('联系人：王*，电话13586156498');
  });

  it('refuses entities outside the text', async () => {
    const r = await runNode(piiMaskNode, {
      inputs: { text: 'abc', entities: [{ type: 'PERSON', start: 1, end: 9 }] },
    });
    expect(r.error?.code).toBe('INVALID_ENTITIES');
  });
});
