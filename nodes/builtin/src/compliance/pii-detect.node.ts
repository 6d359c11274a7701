/** compliance.piiDetect: finds personal data (IDs, cards, phones, e-mails, IBANs, names, addresses) in a text. */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { detectPii, PII_TYPES, withSegmentation } from './pii/detect.js';
import { detectionFields, detectOptions, MAX_TEXT_LENGTH, validatePhoneRegions } from './pii/config.js';

export const piiDetectNode = defineNode({
  type: 'compliance.piiDetect',
  version: 1,
  meta: {
    title: 'Detect personal data',
    category: 'compliance',
    description:
      'Finds personal data in Chinese (simplified and traditional) and English text: resident IDs (GB 11643 check character and birth date), bank cards (Luhn), IBANs (mod 97), mobiles and phone numbers, e-mails, names and postal addresses. A number labelled as an ID, card or phone is reported even when it fails its check (valid: false). Each finding has its type, UTF-16 offsets, text and a score.',
    zh: {
      title: '个人信息识别',
      description:
        '识别中文（简体、繁体）和英文文本中的个人信息：身份证号（校验码与出生日期）、银行卡号（Luhn）、IBAN、手机号与电话、邮箱、姓名和地址，给出类型、位置和置信度。标明为身份证、卡号或电话的号码即使校验不通过也会报告（valid 为 false）。',
    },
    icon: 'scan-eye',
    tags: ['pii', 'privacy', 'PIPL', 'GDPR'],
  },
  config: z.object(detectionFields).strict(),
  inputs: { text: port('text', { title: 'Text', zh: { title: '文本' } }) },
  outputs: {
    entities: port('table', {
      title: 'Entities',
      zh: {
        title: '实体',
        description:
          '每项发现的 type、start、end、text、score；号码另带 valid（标注为身份证、银行卡或电话却未通过校验的号码为 false：照样报告、照样脱敏，但不是有效号码）',
      },
      description:
        'type, start, end, text, score per finding; numbers also carry valid (false for a number its label calls an ID, card or phone that fails its check: reported, so masked, but not a valid number)',
    }),
    counts: port('record', { title: 'Counts by type', zh: { title: '按类型计数' } }),
    hasPii: port('boolean', { title: 'Contains personal data', zh: { title: '含个人信息' } }),
  },
  timeoutMs: 30_000,
  validate(config, helpers) {
    validatePhoneRegions(config.phoneRegions, helpers.problem);
  },
  async run(ctx, { text }, config) {
    if (text.length > MAX_TEXT_LENGTH) {
      throw new NodeError(
        `text is ${text.length} characters; the limit is ${MAX_TEXT_LENGTH}`,
        'TEXT_TOO_LONG',
      );
    }
    const options = detectOptions(config, new Date(ctx.services.clock.now()));
    const entities = detectPii(text, await withSegmentation(text, options));
    const counts: Record<string, number> = {};
    for (const t of PII_TYPES) if (config.types.includes(t)) counts[t] = 0;
    for (const e of entities) counts[e.type] = (counts[e.type] ?? 0) + 1;
    return { entities: entities.map((e) => ({ ...e })), counts, hasPii: entities.length > 0 };
  },
});
