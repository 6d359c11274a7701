/**
 * Ports and answers in the UI language (issue 14 item 8): every built-in node's ports carry Chinese titles, which
 * the canvas shows in zh-CN (English in English), beside a run form in the same language; the input node's ports
 * take its fields' titles; the inspector lists a node's ports; the run form asks for texts in the UI language, so
 * robo-advisory answers an English analyst in English. Screenshots in both languages.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, shot } from './browser.js';
import type { Catalog } from '@finflow/contract';
import { flowFromTemplate, pageApi, signedInPage, url } from './session.js';

let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const han = /[\u4e00-\u9fff]/;

describe('ports in the UI language', () => {
  it.each(['zh-CN', 'en'] as const)('names the ports on the canvas and the run form in %s', async (lang) => {
    const page = await signedInPage(browser, lang, pageErrors);
    const flowId = await flowFromTemplate(page, 'credit-approval', `ports ${lang}`);
    await page.goto(`${url}/#/flows/${flowId}`);
    await page.getByTestId('canvas').waitFor();
    await page.locator('.port-label').first().waitFor();
    await shot(page, `ports-canvas-${lang}`);
    const labels = (await page.locator('.port-label').allTextContents()).map((s) => s.trim());
    expect(labels.length).toBeGreaterThan(5);
    // The English titles of declared ports (ports a node derives from its config are named by the flow's author).
    const catalog = await pageApi<Catalog>(page, 'GET', '/api/catalog');
    const english = new Set(
      catalog.nodes.flatMap((n) => [...n.inputs, ...n.outputs].flatMap((p) => (p.title ? [p.title] : []))),
    );
    const declared = labels.filter((l) => english.has(l) || han.test(l));
    expect(declared.length).toBeGreaterThan(5);
    if (lang === 'zh-CN') {
      expect(labels).toContain('决策');
      expect(labels.filter((l) => english.has(l))).toEqual([]);
    } else {
      expect(labels).toContain('Decision');
      expect(labels.filter((l) => han.test(l))).toEqual([]);
    }
    // The tooltip names the port's type and whether it is optional in the same language.
    const tips = await page
      .locator('.port-row')
      .evaluateAll((els) => els.map((el) => (el as unknown as { title: string }).title));
    expect(tips.some((t) => t.includes(lang === 'zh-CN' ? '可选' : 'optional'))).toBe(true);

    // The run form beside it speaks the same language.
    await page.getByTestId('tab-run').click();
    const form = page.locator('.run-form');
    await form.waitFor();
    await shot(page, `ports-run-form-${lang}`);
    const fieldLabels = (await form.locator('.field-label').allTextContents()).map((s) => s.trim());
    expect(fieldLabels.length).toBeGreaterThan(5);
    if (lang === 'zh-CN') expect(fieldLabels.filter((l) => !han.test(l))).toEqual([]);
    else expect(fieldLabels.filter((l) => han.test(l))).toEqual([]);
    await page.context().close();
  });

  it.each(['zh-CN', 'en'] as const)(
    'titles the input node’s ports and lists a node’s ports in the inspector in %s',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const flowId = await flowFromTemplate(page, 'robo-advisory', `input ports ${lang}`);
      await page.goto(`${url}/#/flows/${flowId}`);
      await page.getByTestId('canvas').waitFor();
      // The input node's ports are its fields, titled as the run form titles them.
      const inputPorts = page.locator('[data-node-id="in"] .port-label');
      await inputPorts.first().waitFor();
      const titles = (await inputPorts.allTextContents()).map((s) => s.trim());
      if (lang === 'zh-CN')
        expect(titles).toEqual(expect.arrayContaining(['风险测评问卷答案', '客户说明的语言']));
      else
        expect(titles).toEqual(
          expect.arrayContaining(['Risk questionnaire answers', 'Language of the customer texts']),
        );
      expect(titles).not.toContain('answers');

      // The inspector's port list: the profile node's input and output, typed, required, and what they connect to.
      await page.locator('[data-node-id="profile"] .flow-node-header').click();
      await page.getByTestId('inspector-tab-ports').click();
      const ports = page.getByTestId('inspector-ports');
      await ports.waitFor();
      await shot(page, `ports-inspector-${lang}`);
      const input = ports.getByTestId('port-inputs-answers');
      const output = ports.getByTestId('port-outputs-profile');
      await expect(input.getByTestId('ip-links').textContent()).resolves.toContain(
        lang === 'zh-CN' ? '风险测评问卷答案' : 'Risk questionnaire answers',
      );
      await expect(input.textContent()).resolves.toContain(lang === 'zh-CN' ? '必填' : 'required');
      await expect(output.textContent()).resolves.toContain('record');
      // Port titles in the UI language (the template's own node labels, written in both languages, aside).
      const portTitles = (await ports.getByTestId('ip-title').allTextContents()).map((s) => s.trim());
      expect(portTitles.length).toBeGreaterThan(3);
      if (lang === 'zh-CN') {
        expect(portTitles.every((s) => han.test(s))).toBe(true);
        await expect(ports.textContent()).resolves.toMatch(/来自/);
      } else expect(portTitles.filter((s) => han.test(s))).toEqual([]);
      await page.context().close();
    },
  );

  it.each(['zh-CN', 'en'] as const)(
    'asks robo-advisory for its texts in the UI language and gets them in it (%s)',
    async (lang) => {
      const page = await signedInPage(browser, lang, pageErrors);
      const flowId = await flowFromTemplate(page, 'robo-advisory', `robo language ${lang}`);
      await page.goto(`${url}/#/flows/${flowId}`);
      await page.getByTestId('canvas').waitFor();
      await page.getByTestId('tab-run').click();
      // The run form's language field is filled from the UI language.
      const field = page.getByRole('radiogroup', {
        name: lang === 'zh-CN' ? '客户说明的语言' : 'Language of the customer texts',
      });
      await field.waitFor();
      const checked = field.locator('[role=radio][aria-checked=true]');
      await expect(checked.textContent()).resolves.toBe(lang === 'zh-CN' ? '中文' : 'en');
      await page.getByTestId('start-run').click();
      const summary = page.getByTestId('run-summary');
      await summary.waitFor();
      await expect
        .poll(() => summary.getAttribute('data-run-status'), { timeout: 120_000 })
        .not.toBe('running');
      expect(await summary.getAttribute('data-run-status')).toBe('succeeded');
      await shot(page, `robo-answer-${lang}`);
      const runs = await pageApi<{ id: string }[]>(page, 'GET', `/api/runs?flowId=${flowId}`);
      const detail = await pageApi<{
        run: { input: { language?: string }; outputs: Record<string, unknown> };
      }>(page, 'GET', `/api/runs/${runs[0]?.id}`);
      expect(detail.run.input.language).toBe(lang === 'zh-CN' ? 'zh' : 'en');
      const explanation = String(detail.run.outputs['explanation']);
      const disclosure = String(detail.run.outputs['riskDisclosure']);
      if (lang === 'zh-CN') {
        expect(explanation).toMatch(han);
        expect(disclosure).toContain('市场有风险，投资需谨慎');
      } else {
        // Complete English: no Chinese at all (the sleeves are named in English too).
        expect(explanation).not.toMatch(han);
        expect(explanation).toMatch(/^At your risk level C\d \(/);
        expect(disclosure).not.toMatch(han);
        expect(disclosure).toContain('Investing involves risk');
        // What the analyst reads on the page is the same English text.
        await expect(page.getByTestId('run-panel').textContent()).resolves.toContain(
          'Investing involves risk',
        );
      }
      await page.context().close();
    },
  );

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
