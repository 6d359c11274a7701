import { describe, expect, it } from 'vitest';
import { runNode, runNodeOk } from '@finflow/sdk/testing';
import { regulationChecklistNode } from './regulation-checklist.node.js';
import { parseChineseNumber } from './lib/cn-numerals.js';
import type { ChecklistItem } from './regulation/obligations.js';
import { readDataset, REGULATIONS } from './test-helpers/datasets.js';

interface Article {
  ref: string;
  number?: number;
  title?: string;
  chapter?: string;
  text: string;
}

async function checklist(text: string, config: Record<string, unknown> = {}) {
  const out = await runNodeOk(regulationChecklistNode, { inputs: { text }, config });
  return {
    articles: out['articles'] as unknown as Article[],
    items: out['checklist'] as unknown as ChecklistItem[],
    summary: out['summary'] as Record<string, unknown>,
  };
}

function deadlines(items: ChecklistItem[]) {
  return items
    .filter((i) => i.deadline)
    .map((i) => [i.provisionRef, i.deadline!.value, i.deadline!.unit, i.deadline!.kind]);
}

const chineseNumerals = '一 二 三 四 五 六 七 八 九 十'.split(' ');
const cn = (n: number) =>
  n <= 10
    ? chineseNumerals[n - 1]
    : n < 20
      ? `十${chineseNumerals[n - 11]}`
      : `${chineseNumerals[Math.floor(n / 10) - 1]}十${n % 10 ? chineseNumerals[(n % 10) - 1] : ''}`;

describe('PIPL (个人信息保护法)', async () => {
  const { articles, items, summary } = await checklist(readDataset(REGULATIONS.pipl));

  it('finds all 74 articles, in order, in 8 chapters', () => {
    expect(articles.map((a) => a.ref)).toEqual(Array.from({ length: 74 }, (_, i) => `第${cn(i + 1)}条`));
    expect(articles.map((a) => a.number)).toEqual(Array.from({ length: 74 }, (_, i) => i + 1));
    expect(summary['chapters']).toBe(8);
    expect(articles[0]!.chapter).toBe('第一章 总则');
    expect(articles[73]!.chapter).toBe('第八章 附则');
    expect(articles.find((a) => a.ref === '第十三条')!.text).toContain(
      '（七）法律、行政法规规定的其他情形。',
    );
  });

  it('has one time limit, the three-year retention of impact assessments (art. 56), and invents none', () => {
    expect(deadlines(items)).toEqual([['第五十六条第二款', 3, 'year', 'retention']]);
  });

  it('reads actors and modalities', () => {
    const art2 = items.find((i) => i.articleRef === '第二条')!;
    expect([art2.actor, art2.modality, art2.obligation]).toEqual([
      '任何组织、个人',
      'must-not',
      '不得侵害自然人的个人信息权益',
    ]);
    const art15 = items.filter((i) => i.articleRef === '第十五条').map((i) => [i.actor, i.modality]);
    expect(art15).toEqual([
      ['个人', 'may'],
      ['个人信息处理者', 'must'],
    ]);
    const art5 = items.filter((i) => i.articleRef === '第五条').map((i) => i.modality);
    expect(art5).toEqual(['must', 'must-not']);
    // "及时" is vague timing, not a deadline with a value.
    const art45 = items.find((i) => i.provisionRef === '第四十五条第二款')!;
    expect(art45.timing).toBe('及时');
    expect(art45.deadline).toBeUndefined();
  });

  it('gives the regulator its own powers (art. 63) and the parties their duty to cooperate', () => {
    // Issue 14 item 16: the department's inspection powers were attributed to 当事人.
    const art63 = items
      .filter((i) => i.articleRef === '第六十三条')
      .map((i) => [i.provisionRef, i.actor, i.modality]);
    expect(art63).toEqual([
      ['第六十三条第一款第（一）项', '履行个人信息保护职责的部门', 'may'],
      ['第六十三条第一款第（二）项', '履行个人信息保护职责的部门', 'may'],
      ['第六十三条第一款第（三）项', '履行个人信息保护职责的部门', 'may'],
      ['第六十三条第一款第（四）项', '履行个人信息保护职责的部门', 'may'],
      ['第六十三条第二款', '当事人', 'must'],
      ['第六十三条第二款', '当事人', 'must-not'],
    ]);
    expect(items.find((i) => i.provisionRef === '第六十三条第一款第（一）项')!.obligation).toBe(
      '可以采取下列措施：询问有关当事人，调查与个人信息处理活动有关的情况;',
    );
  });

  it('reads the contents of a breach notice (art. 57) as the notice’s contents, not as a right', () => {
    // "个人信息处理者采取的补救措施和个人可以采取的减轻危害的措施" names measures; 可以 there gives no one a right.
    const items57 = items.filter((i) => i.articleRef === '第五十七条');
    expect(items57.map((i) => [i.provisionRef, i.actor, i.modality])).toEqual([
      ['第五十七条第一款', '个人信息处理者', 'must'],
      ['第五十七条第一款第（一）项', '个人信息处理者', 'must'],
      ['第五十七条第一款第（二）项', '个人信息处理者', 'must'],
      ['第五十七条第一款第（三）项', '个人信息处理者', 'must'],
      ['第五十七条第二款', '个人信息处理者', 'may'],
      ['第五十七条第二款', '履行个人信息保护职责的部门', 'may'],
    ]);
    expect(items57[2]!.obligation).toBe(
      '通知应当包括下列事项：个人信息处理者采取的补救措施和个人可以采取的减轻危害的措施；',
    );
  });

  it('keeps a lead-in and its list items apart (arts. 13, 38)', () => {
    // Was "应当具备下列条件之一依照本法第四十条…".
    const art38 = items.filter((i) => i.provisionRef.startsWith('第三十八条第一款第'));
    expect(art38.map((i) => i.obligation)).toEqual([
      '应当具备下列条件之一：依照本法第四十条的规定通过国家网信部门组织的安全评估；',
      '应当具备下列条件之一：按照国家网信部门的规定经专业机构进行个人信息保护认证；',
      '应当具备下列条件之一：按照国家网信部门制定的标准合同与境外接收方订立合同，约定双方的权利和义务；',
      '应当具备下列条件之一：法律、行政法规或者国家网信部门规定的其他条件。',
    ]);
    expect(items.find((i) => i.provisionRef === '第十三条第一款第（一）项')!.text).toBe(
      '符合下列情形之一的，个人信息处理者方可处理个人信息：取得个人的同意；',
    );
    // Rights "可以在合理的范围内…" stay rights: 在 after the modal is a preposition, not an attributive verb.
    expect(items.find((i) => i.articleRef === '第二十七条')?.modality).toBe('may');
  });

  it('does not read "不准确" or a listed "禁止" as prohibitions', () => {
    expect(items.filter((i) => i.articleRef === '第八条').map((i) => i.modality)).toEqual(['must']);
    expect(items.filter((i) => i.articleRef === '第四十三条').every((i) => i.modality !== 'must-not')).toBe(
      true,
    );
  });
});

describe('征信业管理条例', async () => {
  const { articles, items, summary } = await checklist(readDataset(REGULATIONS.credit));

  it('finds all 47 articles in 8 chapters', () => {
    expect(articles.map((a) => a.number)).toEqual(Array.from({ length: 47 }, (_, i) => i + 1));
    expect(summary['chapters']).toBe(8);
  });

  it('finds every day, month and year limit exactly', () => {
    expect(deadlines(items)).toEqual([
      ['第七条第二款', 60, 'day', 'within'],
      // The 30-day filing of art. 10 governs each of the materials listed under it.
      ['第十条第一款第（一）项', 30, 'day', 'within'],
      ['第十条第一款第（二）项', 30, 'day', 'within'],
      ['第十条第一款第（三）项', 30, 'day', 'within'],
      ['第十条第一款第（四）项', 30, 'day', 'within'],
      ['第十条第二款', 30, 'day', 'within'],
      ['第十六条第一款', 5, 'year', 'retention'],
      ['第二十五条第二款', 20, 'day', 'within'],
      ['第二十六条第二款', 30, 'day', 'within'],
      ['第四十六条第一款', 6, 'month', 'within'],
      ['第四十六条第二款', 3, 'month', 'within'],
    ]);
  });

  it('does not take a look-back period ("最近3年无重大违法违规记录") for a deadline', () => {
    const art6 = items.filter((i) => i.articleRef === '第六条');
    expect(art6.length).toBe(5);
    expect(art6.every((i) => i.deadline === undefined)).toBe(true);
  });

  it('names the actor of a duty whose subject is a long noun phrase', () => {
    expect(items.find((i) => i.articleRef === '第七条')!.actor).toBe('申请设立经营个人征信业务的征信机构');
    expect(items.find((i) => i.provisionRef === '第二十六条第二款')!.actor).toBe('受理投诉的机构');
    // Two actors opening a clause before the modal: "征信机构或者信息提供者收到异议，应当…".
    expect(items.find((i) => i.provisionRef === '第二十五条第二款')!.actor).toBe('征信机构或者信息提供者');
  });

  it('reads a list of penalised acts as a list, not as prohibitions (art. 38)', () => {
    // "（二）采集禁止采集的个人信息…" names a violation; 禁止 there qualifies the information.
    expect(items.filter((i) => i.articleRef === '第三十八条')).toEqual([]);
  });
});

describe('GDPR articles 5, 22, 32, 33', async () => {
  const { articles, items } = await checklist(readDataset(REGULATIONS.gdpr));

  it('finds the four articles with their titles', () => {
    expect(articles.map((a) => [a.ref, a.title])).toEqual([
      ['Article 5', 'Principles relating to processing of personal data'],
      ['Article 22', 'Automated individual decision-making, including profiling'],
      ['Article 32', 'Security of processing'],
      ['Article 33', 'Notification of a personal data breach to the supervisory authority'],
    ]);
  });

  it('has exactly one deadline: 72 hours to notify the supervisory authority (art. 33(1))', () => {
    expect(deadlines(items)).toEqual([['Article 33(1)', 72, 'hour', 'within']]);
    const notify = items.find((i) => i.deadline)!;
    expect([notify.actor, notify.modality]).toEqual(['controller', 'must']);
    expect(notify.timing).toBe('without undue delay');
  });

  it('treats "within 72 hours" inside a condition and "without undue delay" as no deadline', () => {
    const reasons = items.find((i) => i.obligation.includes('accompanied by reasons'))!;
    expect(reasons.deadline).toBeUndefined();
    const processor = items.find((i) => i.provisionRef === 'Article 33(2)')!;
    expect([processor.actor, processor.timing, processor.deadline]).toEqual([
      'processor',
      'without undue delay',
      undefined,
    ]);
  });

  it('splits article 5(1) into one principle per point and keeps rights as permissions', () => {
    expect(
      items
        .filter((i) => /^Article 5\(1\)\([a-f]\)$/.test(i.provisionRef))
        .map((i) => i.provisionRef.slice(-3)),
    ).toEqual(['(a)', '(b)', '(c)', '(d)', '(e)', '(f)']);
    const art22 = items
      .filter((i) => i.articleRef === 'Article 22')
      .map((i) => [i.provisionRef, i.actor, i.modality]);
    expect(art22).toEqual([
      ['Article 22(1)', 'data subject', 'may'],
      ['Article 22(3)', 'data controller', 'must'],
      ['Article 22(4)', 'data controller', 'must-not'],
    ]);
  });
});

describe('Regulation B § 1002.9', async () => {
  const { articles, items } = await checklist(readDataset(REGULATIONS.regB));

  it('finds paragraphs (a) to (g) as articles with their headings', () => {
    expect(articles.map((a) => a.ref)).toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((p) => `§ 1002.9(${p})`),
    );
    expect(articles[0]!.title).toBe(
      'Notification of action taken, ECOA notice, and statement of specific reasons',
    );
    expect(articles[3]!.title).toBe('Oral notifications by small-volume creditors');
  });

  it('finds the 30- and 90-day notification limits and no condition windows', () => {
    expect(deadlines(items)).toEqual([
      ['§ 1002.9(a)(1)(i)', 30, 'day', 'within'],
      ['§ 1002.9(a)(1)(ii)', 30, 'day', 'within'],
      ['§ 1002.9(a)(1)(iii)', 30, 'day', 'within'],
      ['§ 1002.9(a)(1)(iv)', 90, 'day', 'within'],
      ['§ 1002.9(a)(2)(ii)', 30, 'day', 'within'],
      ['§ 1002.9(a)(2)(ii)', 30, 'day', 'within'],
      ['§ 1002.9(c)(1)(i)', 30, 'day', 'within'],
      ['§ 1002.9(c)(1)(ii)', 30, 'day', 'within'],
    ]);
    // "if the applicant makes a written request ... within 60 days" and "has not inquired within 30 days" are conditions.
    expect(items.some((i) => i.deadline?.value === 60)).toBe(false);
    expect(items.find((i) => i.articleRef === '§ 1002.9(e)')!.deadline).toBeUndefined();
  });

  it('carries the lead-in duty into each enumerated item', () => {
    const first = items.find((i) => i.provisionRef === '§ 1002.9(a)(1)(i)')!;
    expect(first.actor).toBe('creditor');
    expect(first.obligation).toMatch(
      /^shall notify an applicant of action taken within 30 days after receiving a completed application/,
    );
  });
});

describe('Chinese numerals and time limits', () => {
  it.each([
    ['三十', 30],
    ['六十', 60],
    ['十五', 15],
    ['十', 10],
    ['二十', 20],
    ['七十四', 74],
    ['一百二十', 120],
    ['一百零五', 105],
    ['两千', 2000],
    ['五千万', 50_000_000],
    ['一亿二千万', 120_000_000],
    ['二〇二一', 2021],
    ['30', 30],
  ])('%s = %d', (text, value) => {
    expect(parseChineseNumber(text)).toBe(value);
  });

  it('reads written-out limits in a regulation', async () => {
    const text =
      '第一条 金融机构应当自收到投诉之日起十五日内答复。\n第二条 征信机构应当在三十日内完成核查；逾期未完成的，应当在六十日内报告。\n第三条 机构可以在七个工作日内补正。';
    const { items } = await checklist(text);
    expect(deadlines(items)).toEqual([
      ['第一条第一款', 15, 'day', 'within'],
      ['第二条第一款', 30, 'day', 'within'],
      ['第二条第一款', 60, 'day', 'within'],
      ['第三条第一款', 7, 'business-day', 'within'],
    ]);
  });
});

describe('node behaviour', () => {
  it('is deterministic', async () => {
    const text = readDataset(REGULATIONS.gdpr);
    expect(await checklist(text)).toEqual(await checklist(text));
  });

  it('filters by modality', async () => {
    const { items } = await checklist(readDataset(REGULATIONS.pipl), { modalities: ['must-not'] });
    expect(items.length).toBeGreaterThan(10);
    expect(new Set(items.map((i) => i.modality))).toEqual(new Set(['must-not']));
  });

  it('says clearly when there is nothing to read', async () => {
    expect((await runNode(regulationChecklistNode, { inputs: { text: '  ' } })).error?.code).toBe(
      'EMPTY_TEXT',
    );
    const prose = await runNode(regulationChecklistNode, {
      inputs: { text: 'Banks should be nice to customers.' },
    });
    expect(prose.error?.code).toBe('NO_ARTICLES');
  });
});
