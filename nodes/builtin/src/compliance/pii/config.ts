/** Config fields shared by the PII nodes (which types, how sure, what never to report, phone regions). */
import { z } from '@finflow/sdk';
import type { CountryCode } from 'libphonenumber-js/max';
import { phoneLib } from './phone-lib.js';
import { DEFAULT_PHONE_REGIONS, PII_TYPES, type DetectOptions, type PiiType } from './detect.js';

export const piiTypeSchema = z.enum(PII_TYPES);

export const detectionFields = {
  types: z
    .array(piiTypeSchema)
    .min(1)
    .default([...PII_TYPES])
    .meta({
      title: 'Entity types',
      description:
        'Which kinds of personal data to find: CN_RESIDENT_ID (居民身份证号), CN_MOBILE (手机号), BANK_CARD, EMAIL_ADDRESS, PHONE_NUMBER, IBAN_CODE, PERSON, ADDRESS',
      zh: {
        title: '个人信息类型',
        description:
          '要识别的个人信息类型：CN_RESIDENT_ID（居民身份证号）、CN_MOBILE（手机号）、BANK_CARD（银行卡号）、EMAIL_ADDRESS（电子邮箱）、PHONE_NUMBER（电话号码）、IBAN_CODE（IBAN 账号）、PERSON（姓名）、ADDRESS（地址）',
        options: {
          CN_RESIDENT_ID: '居民身份证号',
          CN_MOBILE: '手机号',
          BANK_CARD: '银行卡号',
          EMAIL_ADDRESS: '电子邮箱',
          PHONE_NUMBER: '电话号码',
          IBAN_CODE: 'IBAN 账号',
          PERSON: '姓名',
          ADDRESS: '地址',
        },
      },
    }),
  minScore: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .meta({
      title: 'Minimum score',
      description:
        'Findings scoring below this are dropped. Checksum-valid numbers score 0.8-1; names and addresses without context evidence score about 0.3',
      group: 'Advanced',
      zh: {
        title: '最低得分',
        description:
          '得分低于该值的识别结果将被丢弃。校验位正确的号码得分 0.8-1；缺少上下文佐证的姓名和地址得分约 0.3',
      },
    }),
  allowList: z
    .array(z.string().min(1).max(200))
    .max(10_000)
    .default([])
    .meta({
      title: 'Allow list',
      description:
        'Values never reported (case-insensitive exact match), e.g. your own hotline or published test cards',
      group: 'Advanced',
      zh: {
        title: '白名单',
        description: '从不报告的值（不区分大小写的精确匹配），例如本机构的客服热线或公开的测试卡号',
      },
    }),
  phoneRegions: z
    .array(z.string().regex(/^[A-Z]{2}$/, 'a two-letter region code such as CN or US'))
    .min(1)
    .default([...DEFAULT_PHONE_REGIONS])
    .meta({
      title: 'Phone regions',
      description:
        'Regions whose national phone formats are recognised (ISO 3166 codes); numbers with a +country code are found in any case',
      group: 'Advanced',
      zh: {
        title: '电话号码地区',
        description:
          '识别其本国电话号码格式的地区（ISO 3166 代码）；带 +国家代码 的号码在任何情况下都会被识别',
      },
    }),
};

export interface DetectionConfig {
  types: PiiType[];
  minScore: number;
  allowList: string[];
  phoneRegions: string[];
}

/** Reports region codes libphonenumber does not know, at config validation time. */
export function validatePhoneRegions(
  regions: readonly string[],
  problem: (message: string, path?: (string | number)[]) => void,
): void {
  const { isSupportedCountry } = phoneLib();
  regions.forEach((r, i) => {
    if (!isSupportedCountry(r)) problem(`unknown phone region ${r}`, ['phoneRegions', i]);
  });
}

export function detectOptions(config: DetectionConfig, now: Date): DetectOptions {
  const { isSupportedCountry } = phoneLib();
  return {
    types: config.types,
    minScore: config.minScore,
    allowList: config.allowList,
    phoneRegions: config.phoneRegions.filter((r): r is CountryCode => isSupportedCountry(r)),
    now,
  };
}

/** Texts longer than this are refused rather than scanned for minutes inside a flow. */
export const MAX_TEXT_LENGTH = 5_000_000;
