/**
 * Compliance automation: what a compliance officer checks. Every obligation of the regulation is on the
 * checklist with its provision and an owner from the mapping table; duties of public bodies are marked as such;
 * a PDF of a regulation gives the same checklist as its text; the Markdown report lists every item with its
 * article reference.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '@finflow/runtime';
import { createBuiltinRegistry } from '@finflow/nodes';
import { describe, expect, it } from 'vitest';
import { getTemplate, type TemplateFixture } from '../src/index.js';
import { deterministicModels } from '../src/testing.js';

const template = getTemplate('compliance-automation');
if (!template) throw new Error('compliance-automation template not found');
const fixture = (name: string): TemplateFixture => {
  const f = template.fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};
const regulatoryText = (file: string) =>
  readFileSync(fileURLToPath(new URL(`../../datasets/regulatory-text/${file}`, import.meta.url)), 'utf8');

interface Item {
  articleRef: string;
  provisionRef: string;
  actor: string;
  modality: 'must' | 'must-not' | 'may';
  obligation: string;
  deadline?: { value: number; unit: string; phrase: string };
  owner: string;
  ownerEn: string;
  scope: 'firm' | 'authority';
  matchedBy: { kind: string; value: string | null };
}
interface Outputs {
  checklist: Item[];
  owners: { owner: string; items: number }[];
  summary: string;
  report: string;
  stats: { language: string; articles: number; chapters: number; items: number; withDeadline: number };
}

const owners = ['数据保护官', '信息安全部', '客户服务部', '信贷管理部', '法务合规部'];

async function run(input: unknown): Promise<Outputs> {
  const runtime = createRuntime({
    registry: createBuiltinRegistry(),
    services: { models: deterministicModels },
  });
  const result = await runtime.run(template!.flow, input);
  expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
  return result.outputs as unknown as Outputs;
}

const find = (items: Item[], ref: string) => items.filter((i) => i.provisionRef === ref);

describe('compliance-automation', () => {
  it('turns the PIPL into a checklist with an owner for every obligation', async () => {
    const o = await run(fixture('pipl-zh-text').input);
    expect(o.stats).toMatchObject({ language: 'zh', articles: 74, chapters: 8 });
    expect(o.checklist.length).toBe(o.stats.items);
    for (const i of o.checklist) expect(owners, i.provisionRef).toContain(i.owner);
    // The owner table's article ranges: security and breach notification, DPO duties, individuals' rights.
    expect(find(o.checklist, '第五十七条第一款')[0]).toMatchObject({
      owner: '信息安全部',
      matchedBy: { kind: 'article', value: '个人信息保护法 57–57' },
    });
    expect(new Set(o.checklist.filter((i) => i.articleRef === '第五十一条').map((i) => i.owner))).toEqual(
      new Set(['信息安全部']),
    );
    expect(find(o.checklist, '第五十二条第一款')[0]?.owner).toBe('数据保护官');
    expect(find(o.checklist, '第四十五条第一款')[0]).toMatchObject({ actor: '个人', owner: '客户服务部' });
    // A duty of the regulator is tracked, not owned.
    expect(find(o.checklist, '第四十二条第一款')[0]).toMatchObject({
      actor: '国家网信部门',
      scope: 'authority',
      owner: '法务合规部',
    });
    // The per-owner counts add up to the checklist.
    expect(o.owners.reduce((n, x) => n + x.items, 0)).toBe(o.checklist.length);
  });

  it('writes a Markdown report with one row per obligation and its article reference', async () => {
    const o = await run(fixture('pipl-zh-text').input);
    const rows = o.report.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(rows.length).toBe(o.checklist.length);
    o.checklist.forEach((item, k) => {
      const row = rows[k] as string;
      expect(row.startsWith(`| ${k + 1} | ${item.provisionRef} |`)).toBe(true);
      // Eight cells: pipes inside a cell are escaped.
      expect(row.replace(/\\\|/g, '').split('|').length).toBe(10);
      expect(row).toContain(`| ${item.owner} |`);
    });
    expect(o.report).toMatch(/^# 中华人民共和国个人信息保护法：合规义务清单\n/);
    expect(o.report).toContain(o.summary);
    expect(o.report).toContain('| 信息安全部 |');
  });

  it('reads a PDF of the GDPR to the same checklist as its text', async () => {
    const fromPdf = await run(fixture('gdpr-en-pdf').input);
    const fromText = await run({
      title: 'GDPR (Regulation (EU) 2016/679), Articles 5, 22, 32 and 33',
      text: regulatoryText('en_GDPR_articles_5_22_32_33.md'),
    });
    const key = (i: Item) =>
      `${i.provisionRef} ${i.modality} ${i.owner} ${i.obligation.replace(/\s+/g, ' ')}`;
    expect(fromPdf.checklist.map(key)).toEqual(fromText.checklist.map(key));
    expect(fromPdf.checklist.length).toBe(27);
    const breach = find(fromPdf.checklist, 'Article 33(1)')[0];
    expect(breach?.deadline).toMatchObject({ value: 72, unit: 'hour' });
    expect(breach?.owner).toBe('信息安全部');
    expect(find(fromPdf.checklist, 'Article 22(3)')[0]?.owner).toBe('数据保护官');
    expect(fromPdf.report).toMatch(/^# GDPR .*: compliance checklist\n/);
    expect(fromPdf.report).toContain('| Information Security (信息安全部) | 17 |');
  });

  it('gives the Regulation B notice duties and their time limits to credit operations', async () => {
    const o = await run(fixture('regb-en-text').input);
    expect(new Set(o.checklist.map((i) => i.owner))).toEqual(new Set(['信贷管理部']));
    const first = find(o.checklist, '§ 1002.9(a)(1)(i)')[0];
    expect(first?.deadline).toMatchObject({ value: 30, unit: 'day' });
    expect(o.stats.withDeadline).toBe(8);
    expect(o.report).toContain('| 1 | § 1002.9(a)(1)(i) | must | creditor |');
  });

  it('needs the regulation as text or as a document', () => {
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const prepared = runtime.prepare(template.flow);
    expect(runtime.checkInput(prepared, { title: 'nothing to read' }).length).toBeGreaterThan(0);
    expect(runtime.checkInput(prepared, { text: '第一条 个人信息处理者应当采取加密措施。' })).toEqual([]);
  });

  it('runs the example input that prefills the run form in the editor', async () => {
    const input = (template.flow['nodes'] as { type: string; config: { example?: unknown } }[]).find(
      (n) => n.type === 'io.input',
    )?.config.example;
    expect(input).toBeDefined();
    const runtime = createRuntime({ registry: createBuiltinRegistry() });
    const result = await runtime.run(template.flow, input);
    expect(result.status, JSON.stringify(result.error)).toBe('succeeded');
  });
});
