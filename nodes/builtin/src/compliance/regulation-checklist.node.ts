/**
 * compliance.regulationChecklist: reads the text of a regulation (Chinese or English) and lists its articles and
 * the obligations, prohibitions and permissions in them, with actors and time limits. Deterministic; a model
 * node downstream may refine the wording.
 */
import { defineNode, NodeError, port, z } from '@finflow/sdk';
import { detectLanguage, parseRegulation } from './regulation/structure.js';
import { extractChecklist, type Modality } from './regulation/obligations.js';

const MODALITIES = ['must', 'must-not', 'may'] as const satisfies readonly Modality[];
const MAX_REGULATION_LENGTH = 2_000_000;

export const regulationChecklistNode = defineNode({
  type: 'compliance.regulationChecklist',
  version: 1,
  meta: {
    title: 'Regulation to checklist',
    category: 'compliance',
    description:
      'Splits a regulation into articles (第X章/第X条/（一）, Article N, § N (a)(1)(i)) and lists each obligation (shall, must, 应当, 必须), prohibition (shall not, 不得, 禁止) and permission (may, 可以, 有权) with its actor and time limit (72 hours, 30 days, 三十日, 60日内). Vague timing such as "without undue delay" is kept as words, never as a number.',
    zh: {
      title: '法规义务清单',
      description:
        '把法规全文拆分为章、条、款、项，并从“应当、必须、不得、禁止、可以、有权”等情态词中提取义务、禁止性规定和授权，标出义务主体和期限（如 72 小时、三十日、60日内）。',
    },
    icon: 'list-checks',
    badge: 'rule-based',
    tags: ['regulation', 'obligations', 'PIPL', 'GDPR'],
  },
  config: z
    .object({
      language: z
        .enum(['auto', 'zh', 'en'])
        .default('auto')
        .meta({
          title: 'Language',
          description: 'auto: decided from the text (Chinese characters vs Latin letters)',
          zh: {
            title: '语言',
            description: '自动：根据文本判断（汉字或拉丁字母）',
            options: { auto: '自动', zh: '中文', en: '英文' },
          },
        }),
      modalities: z
        .array(z.enum(MODALITIES))
        .min(1)
        .default([...MODALITIES])
        .meta({
          title: 'Include',
          description: 'must: obligations; must-not: prohibitions; may: permissions and rights',
          zh: {
            title: '包含的条款类型',
            description: '义务（应当）：义务性规定；禁止（不得）：禁止性规定；授权（可以）：授权性规定和权利',
            options: { must: '义务（应当）', 'must-not': '禁止（不得）', may: '授权（可以）' },
          },
        }),
      splitEnumerations: z
        .boolean()
        .default(true)
        .meta({
          title: 'One item per enumerated point',
          description:
            'When a duty introduces a list ("shall notify ... within: (i) 30 days ...", "应当具备下列条件：（一）…"), make one checklist item per point',
          group: 'Advanced',
          zh: {
            title: '列举事项逐条拆分',
            description:
              '当一项义务引出列举（"shall notify ... within: (i) 30 days ..."、"应当具备下列条件：（一）…"）时，每个列举项生成一条清单项',
          },
        }),
    })
    .strict(),
  inputs: { text: port('text', { title: 'Regulation text', zh: { title: '法规文本' } }) },
  outputs: {
    articles: port('table', {
      title: 'Articles',
      zh: { title: '条款', description: '每条含 ref、title、chapter、section、text' },
      description: 'ref, title, chapter, section, text',
    }),
    checklist: port('table', {
      title: 'Checklist',
      zh: {
        title: '合规清单',
        description:
          '每项义务含 id、articleRef、provisionRef、actor、modality、obligation、deadline { value, unit, kind, phrase }、timing、text',
      },
      description:
        'id, articleRef, provisionRef, actor, modality, obligation, deadline { value, unit, kind, phrase }, timing, text',
    }),
    summary: port('record', { title: 'Summary', zh: { title: '摘要' } }),
  },
  timeoutMs: 30_000,
  run(_ctx, { text }, config) {
    if (!text.trim()) throw new NodeError('the regulation text is empty', 'EMPTY_TEXT');
    if (text.length > MAX_REGULATION_LENGTH) {
      throw new NodeError(
        `the text is ${text.length} characters; the limit is ${MAX_REGULATION_LENGTH}`,
        'TEXT_TOO_LONG',
      );
    }
    const language = config.language === 'auto' ? detectLanguage(text) : config.language;
    const articles = parseRegulation(text, language);
    if (!articles.length) {
      throw new NodeError(
        language === 'zh'
          ? 'no articles found: expected lines starting with 第X条'
          : 'no articles found: expected headings such as "Article 5", "Section 3" or "§ 1002.9"',
        'NO_ARTICLES',
      );
    }
    const checklist = extractChecklist(articles, {
      language,
      modalities: config.modalities,
      splitEnumerations: config.splitEnumerations,
    });
    const chapters = new Set(articles.map((a) => a.chapter).filter((c): c is string => c !== undefined));
    const byModality: Record<string, number> = { must: 0, 'must-not': 0, may: 0 };
    for (const item of checklist) byModality[item.modality] = (byModality[item.modality] ?? 0) + 1;
    return {
      articles: articles.map(({ provisions: _provisions, ...a }) => ({ ...a })),
      checklist: checklist.map((i) => ({ ...i })),
      summary: {
        language,
        articles: articles.length,
        chapters: chapters.size,
        items: checklist.length,
        byModality,
        withDeadline: checklist.filter((i) => i.deadline).length,
      },
    };
  },
});
