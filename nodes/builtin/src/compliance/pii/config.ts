/** Config fields shared by the PII nodes (which types, how sure, what never to report, phone regions). */
import { z } from '@finflow/sdk';
import { isSupportedCountry } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';
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
    }),
  minScore: z.number().min(0).max(1).default(0.5).meta({
    title: 'Minimum score',
    description:
      'Findings scoring below this are dropped. Checksum-valid numbers score 0.8-1; names and addresses without context evidence score about 0.3',
    group: 'Advanced',
  }),
  allowList: z.array(z.string().min(1).max(200)).max(10_000).default([]).meta({
    title: 'Allow list',
    description:
      'Values never reported (case-insensitive exact match), e.g. your own hotline or published test cards',
    group: 'Advanced',
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
  regions.forEach((r, i) => {
    if (!isSupportedCountry(r)) problem(`unknown phone region ${r}`, ['phoneRegions', i]);
  });
}

export function detectOptions(config: DetectionConfig, now: Date): DetectOptions {
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
