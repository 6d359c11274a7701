/**
 * compliance.piiMask: masks the personal data that compliance.piiDetect finds (or a reviewed entity list), with
 * a strategy per type: partial, full, label, or keyed pseudonymisation with a credential-store secret.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { detectPii, PII_TYPES, withSegmentation, type PiiEntity, type PiiType } from './pii/detect.js';
import {
  detectionFields,
  detectOptions,
  MAX_TEXT_LENGTH,
  piiTypeSchema,
  validatePhoneRegions,
} from './pii/config.js';
import { MASK_STRATEGIES, maskText, type MaskRule } from './pii/mask.js';

const strategySchema = z.enum(MASK_STRATEGIES);

const ruleSchema = z
  .object({
    strategy: strategySchema.meta({
      title: 'Strategy',
      description:
        'partial: keep a few characters; full: hide all; pseudonym: keyed token, equal values give equal tokens; label: the type name',
      zh: {
        title: '脱敏策略',
        description:
          '部分遮盖：保留少量字符；全部遮盖：全部隐藏；假名化：带密钥的令牌，相同的值得到相同的令牌；类型标签：替换为类型名称',
        options: { partial: '部分遮盖', full: '全部遮盖', pseudonym: '假名化', label: '类型标签' },
      },
    }),
    keepFirst: z
      .number()
      .int()
      .min(0)
      .max(64)
      .optional()
      .meta({
        title: 'Keep first',
        description: 'partial: characters kept at the start',
        zh: { title: '保留前几位', description: '部分遮盖：开头保留的字符数' },
      }),
    keepLast: z
      .number()
      .int()
      .min(0)
      .max(64)
      .optional()
      .meta({
        title: 'Keep last',
        description: 'partial: characters kept at the end',
        zh: { title: '保留后几位', description: '部分遮盖：末尾保留的字符数' },
      }),
    maskLast: z
      .number()
      .int()
      .min(1)
      .max(256)
      .optional()
      .meta({
        title: 'Hide last',
        description: 'partial: hide exactly the last N characters (addresses hide 8 by default)',
        zh: { title: '遮盖末尾位数', description: '部分遮盖：恰好遮盖最后 N 个字符（地址默认遮盖 8 个）' },
      }),
  })
  .strict();

/** The minimum pseudonymisation key length: 128 bits of a random key written as hex or base64 is ≥ 22 characters. */
const MIN_KEY_LENGTH = 16;

/** Entities given on the optional input, e.g. from a piiDetect node whose findings a person reviewed. */
const entityInput = z.array(
  z.looseObject({
    type: piiTypeSchema,
    start: z.number().int().min(0),
    end: z.number().int().min(1),
    score: z.number().min(0).max(1).optional(),
  }),
);

export const piiMaskNode = defineNode({
  type: 'compliance.piiMask',
  version: 1,
  meta: {
    title: 'Mask personal data',
    category: 'compliance',
    description:
      'Masks the personal data found in a text. Per type: partial (mobile 138****5678, ID 5***************1X, 张**, j*******@example.com), full, a type label, or a keyed HMAC-SHA256 pseudonym so the same value always maps to the same token ("usable but not visible"). Outputs the masked text and the findings without their values.',
    zh: {
      title: '个人信息脱敏',
      description:
        '对文本中的个人信息脱敏：按类型部分遮盖（如 138****5678、张**）、全部遮盖、类型标签，或用密钥 HMAC 假名化（同值同令牌，可用不可见）。输出脱敏文本和不含原值的实体列表。',
    },
    icon: 'eye-off',
    tags: ['pii', 'privacy', 'masking', 'pseudonymisation'],
  },
  config: z
    .object({
      ...detectionFields,
      defaultStrategy: strategySchema.default('partial').meta({
        title: 'Default strategy',
        description: 'Used for every type without its own rule',
        zh: {
          title: '默认脱敏策略',
          description: '用于所有未单独设置规则的类型',
          options: { partial: '部分遮盖', full: '全部遮盖', pseudonym: '假名化', label: '类型标签' },
        },
      }),
      rules: z
        .partialRecord(piiTypeSchema, ruleSchema)
        .default({})
        .meta({
          title: 'Rules per type',
          description:
            'e.g. { "BANK_CARD": { "strategy": "pseudonym" }, "ADDRESS": { "strategy": "partial", "maskLast": 5 } }',
          widget: 'json',
          zh: {
            title: '按类型设置规则',
            description:
              '例如 { "BANK_CARD": { "strategy": "pseudonym" }, "ADDRESS": { "strategy": "partial", "maskLast": 5 } }',
          },
        }),
      maskChar: z
        .string()
        .length(1)
        .default('*')
        .meta({ title: 'Mask character', group: 'Advanced', zh: { title: '遮盖字符' } }),
      keyCredential: z
        .string()
        .min(1)
        .optional()
        .meta({
          title: 'Pseudonymisation key',
          description:
            'Name of the credential holding the HMAC key (needed by the pseudonym strategy); rotate it to unlink old tokens',
          widget: 'secret',
          zh: {
            title: '假名化密钥',
            description: '存放 HMAC 密钥的凭证名称（假名化策略需要）；轮换密钥即可切断与旧令牌的关联',
          },
        }),
      tokenLength: z
        .number()
        .int()
        .min(8)
        .max(64)
        .default(16)
        .meta({
          title: 'Token length',
          description: 'Hex characters of the HMAC kept in each pseudonym',
          group: 'Advanced',
          zh: { title: '令牌长度', description: '每个假名令牌保留的 HMAC 十六进制字符数' },
        }),
    })
    .strict(),
  inputs: {
    text: port('text', { title: 'Text', zh: { title: '文本' } }),
    entities: port('table', {
      title: 'Entities',
      zh: { title: '实体', description: '可选：直接对这些发现（type、start、end）脱敏，不再识别' },
      description: 'Optional: mask these findings (type, start, end) instead of detecting',
      required: false,
    }),
  },
  outputs: {
    text: port('text', { title: 'Masked text', zh: { title: '脱敏文本' } }),
    entities: port('table', {
      title: 'Masked entities',
      zh: { title: '已脱敏实体', description: 'type、位置、脱敏方式和替换文本；从不含原值' },
      description: 'type, offsets, strategy and replacement; never the value',
    }),
    counts: port('record', { title: 'Counts by type', zh: { title: '按类型计数' } }),
  },
  timeoutMs: 30_000,
  validate(config, helpers) {
    validatePhoneRegions(config.phoneRegions, helpers.problem);
    const usesPseudonym =
      config.defaultStrategy === 'pseudonym' ||
      Object.values(config.rules).some((r) => r?.strategy === 'pseudonym');
    if (usesPseudonym && !config.keyCredential) {
      helpers.problem('the pseudonym strategy needs a key credential', ['keyCredential']);
    }
  },
  async run(ctx, inputs, config) {
    const { text } = inputs;
    if (text.length > MAX_TEXT_LENGTH) {
      throw new NodeError(
        `text is ${text.length} characters; the limit is ${MAX_TEXT_LENGTH}`,
        'TEXT_TOO_LONG',
      );
    }
    let entities: PiiEntity[];
    if (inputs.entities !== undefined) {
      const parsed = entityInput.safeParse(inputs.entities);
      if (!parsed.success) {
        throw new NodeError(`entities: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'INVALID_ENTITIES');
      }
      entities = parsed.data.map((e, i) => {
        if (e.end <= e.start || e.end > text.length) {
          throw new NodeError(
            `entity ${i} (${e.type} ${e.start}-${e.end}) is outside the text`,
            'INVALID_ENTITIES',
          );
        }
        return {
          type: e.type,
          start: e.start,
          end: e.end,
          text: text.slice(e.start, e.end),
          score: e.score ?? 1,
        };
      });
      entities = entities.filter((e) => config.types.includes(e.type));
    } else {
      const options = detectOptions(config, new Date(ctx.services.clock.now()));
      entities = detectPii(text, await withSegmentation(text, options));
    }

    const rules: Partial<Record<PiiType, MaskRule>> = {};
    for (const [type, rule] of Object.entries(config.rules)) if (rule) rules[type as PiiType] = rule;
    const needsKey = entities.some(
      (e) => (rules[e.type]?.strategy ?? config.defaultStrategy) === 'pseudonym',
    );
    let key: string | undefined;
    if (needsKey) {
      if (!config.keyCredential) {
        throw new NodeError('the pseudonym strategy needs keyCredential (a credential name)', 'KEY_REQUIRED');
      }
      key = await ctx.secret(config.keyCredential);
      if (key.length < MIN_KEY_LENGTH) {
        throw new NodeError(
          `the pseudonymisation key in credential "${config.keyCredential}" is shorter than ${MIN_KEY_LENGTH} characters`,
          'WEAK_KEY',
        );
      }
    }
    const result = maskText(text, entities, {
      rules,
      defaultStrategy: config.defaultStrategy,
      maskChar: config.maskChar,
      key,
      tokenLength: config.tokenLength,
    });
    const counts: Record<string, number> = {};
    for (const t of PII_TYPES) if (config.types.includes(t)) counts[t] = 0;
    for (const e of result.entities) counts[e.type] = (counts[e.type] ?? 0) + 1;
    return { text: result.text, entities: result.entities.map((e) => ({ ...e })), counts };
  },
});
